"""The shipped numbers describe the shipped weights: every network scored in `full-over-trials.json` is the one that
ships (a digest of its state dict is recomputed here), and every shipped seed of every method is scored."""
import importlib.util, json
import pytest

from molap.core import data_dir, load_results
from molap.reproduce import ALL_METHODS, load_network, network_file

ROOT = data_dir().parents[1]
spec = importlib.util.spec_from_file_location("rescore", ROOT / "tools" / "rescore.py")
rescore = importlib.util.module_from_spec(spec); spec.loader.exec_module(rescore)
OVER = json.loads((data_dir() / "results" / "full-over-trials.json").read_text())
SHIPPED = load_results("full")["methods"]
PAIRS = [(m, s) for m in ALL_METHODS if m in SHIPPED for s in SHIPPED[m]["seeds"] if network_file(m, "full", s).exists()]


@pytest.mark.parametrize("method,seed", PAIRS)
def test_over_trials_scores_the_shipped_weights(method, seed):
    digest = OVER["weights"].get(method, {}).get(str(seed))
    assert digest is not None, f"{method} seed {seed} ships but is not scored over the task distribution"
    model, _ = load_network(method, "full", seed)
    assert rescore.weights_digest(model) == digest, f"{method} seed {seed}: the scores are of other weights"
    assert set(OVER["networks"][method][str(seed)]) == set(SHIPPED[method]["accuracy"])


def test_nothing_scored_that_does_not_ship():
    for method, seeds in OVER["weights"].items():
        for s in seeds: assert (method, int(s)) in PAIRS, f"{method} seed {s} is scored but does not ship"
