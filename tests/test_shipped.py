"""The shipped numbers describe the shipped weights: every network scored in `full-over-trials.json` is the one that
ships (a digest of its state dict is recomputed here), and every shipped seed of every method is scored."""
import json
import pytest
from conftest import load_tool

from molap.core import data_dir, load_results, weights_digest
from molap.reproduce import ALL_METHODS, load_network, network_file

OVER = json.loads((data_dir() / "results" / "full-over-trials.json").read_text())
SHIPPED = load_results("full")["methods"]
PAIRS = [(m, s) for m in ALL_METHODS if m in SHIPPED for s in SHIPPED[m]["seeds"] if network_file(m, "full", s).exists()]


@pytest.mark.parametrize("method,seed", PAIRS)
def test_over_trials_scores_the_shipped_weights(method, seed):
    digest = OVER["weights"].get(method, {}).get(str(seed))
    assert digest is not None, f"{method} seed {seed} ships but is not scored over the task distribution"
    model, _ = load_network(method, "full", seed)
    assert weights_digest(model) == digest, f"{method} seed {seed}: the scores are of other weights"
    assert set(OVER["networks"][method][str(seed)]) == set(SHIPPED[method]["accuracy"])


def test_nothing_scored_that_does_not_ship():
    for method, seeds in OVER["weights"].items():
        for s in seeds: assert (method, int(s)) in PAIRS, f"{method} seed {s} is scored but does not ship"


def test_neurogym_study_ships_complete():
    "neurogym-quick.json: >= 8 tasks x 3 learners x >= 3 seeds, each seed's record from the modules of its own seed."
    pytest.importorskip("neurogym")
    from molap.beyond import GYM_METHODS, load_neurogym
    res = load_neurogym("quick")
    assert len(res["tasks"]) >= 8 and len(res["seeds"]) >= 3 and set(res["methods"]) == set(GYM_METHODS)
    for t, v in res["tasks"].items():
        for m, r in v["methods"].items():
            assert len(r["final"]) == len(r["accuracy"]) == len(res["seeds"]), (t, m)
        assert v["methods"]["molap"]["shipped_seed"] == res["seeds"], f"{t}: MoLaP seeds must use their own modules"


def test_neurogym_heads_are_the_trained_ones():
    "The shipped heads rebuild the study's MoLaP learners: their final score is the record's (to rounding)."
    pytest.importorskip("neurogym")
    from molap.beyond import load_learner, load_neurogym, evaluate_env, GYM_FINAL_TRIALS
    from molap.training import FINAL_EVAL_SEED
    res = load_neurogym("quick")
    for t in ("PerceptualDecisionMaking-v0", "ReadySetGo-v0"):
        acc = evaluate_env(load_learner(t), t, GYM_FINAL_TRIALS, FINAL_EVAL_SEED)
        assert abs(acc - res["tasks"][t]["methods"]["molap"]["final"][0]) <= 0.01, t


def test_robustness_perturbed_the_shipped_weights():
    "The full profile's robustness analysis describes the networks that ship: every digest it records matches them."
    rob = load_results("robustness-full")
    assert set(rob["weights"]) == set(rob["methods"])
    for method, seeds in rob["weights"].items():
        for s, digest in seeds.items():
            model, _ = load_network(method, "full", int(s))
            assert weights_digest(model) == digest, f"robustness-full perturbed other {method} seed {s} weights than ship"


def test_ship_generalisation_never_mixes_seeds(tmp_path):
    "Only tasks that finished every seed ship, in the corpus's order; nothing finished is a one-line exit."
    tool = load_tool("ship_generalisation")
    (tmp_path / "generalisation").mkdir()
    for t, seeds in {"MemPro": [0, 1], "DelayPro": [0], "MemDm1": [0, 1]}.items():
        for s in seeds: (tmp_path / "generalisation" / f"{t}-full-seed{s}.json").write_text("{}")
    (tmp_path / "generalisation" / "MemPro-quick-seed2.json").write_text("{}")  # another profile: not counted
    done = tool.finished(tmp_path, "full")
    assert done == {"DelayPro": [0], "MemPro": [0, 1], "MemDm1": [0, 1]}
    assert tool.shippable(done) == ([0], ["DelayPro", "MemPro", "MemDm1"])
    assert tool.shippable(done, [0, 1]) == ([0, 1], ["MemPro", "MemDm1"])
    with pytest.raises(SystemExit, match="every seed of"): tool.shippable(done, [3])
    with pytest.raises(SystemExit, match="no finished"): tool.shippable({})
