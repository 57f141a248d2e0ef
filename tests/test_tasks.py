"""Properties of the task corpus (SPEC-tasks.md, "Properties an implementation must satisfy"), over random
configurations and seeds. The ranges below are copied from the specification, not from molap's own tables."""
import math
import pytest
import torch
from hypothesis import given, settings, strategies as st, HealthCheck

from molap.tasks import (TASK_NAMES, TaskConfig, make_batch, accuracy, correct, masked_mse, rotate_response,
                         check_batch, angular_distance, n_inputs, task_family)

DT = 20.
# Spec epoch ranges (ms) per family, in order
SPEC = {
    "Delay": [("fixation", 300, 700), ("stimulus", 500, 1500), ("response", 300, 700)],
    "Mem": [("fixation", 300, 700), ("stimulus", 200, 600), ("delay", 200, 1600), ("response", 300, 700)],
    "Dm": [("fixation", 200, 600), ("stimulus1", 200, 600), ("delay1", 200, 1600), ("stimulus2", 200, 600),
           ("delay2", 100, 300), ("response", 300, 700)],
}

configs = st.builds(
    TaskConfig,
    sigma_in=st.floats(0, 0.5),
    timing=st.sampled_from(["batch", "trial"]),
    modality=st.sampled_from(["batch", "trial"]),
    rule_inputs=st.booleans(),
    targets=st.sampled_from(["paper", "duncker"]),
    encoding=st.sampled_from(["paper", "ring"]),
    dt=st.sampled_from([10., 20., 25.]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=st.sampled_from(TASK_NAMES), cfg=configs, seed=st.integers(0, 2**31 - 1),
       batch_size=st.integers(1, 17))
def test_generator_never_breaks(task, cfg, seed, batch_size):
    "No NaN, only allowed mask values, trials no shorter than their epochs, a perfect output scores 1."
    b = make_batch(task, batch_size, seed=seed, config=cfg)
    check_batch(b)  # NaN, mask values and layout, non-empty epochs
    T = b.targets.shape[0]
    assert b.inputs.shape == (T, batch_size, n_inputs(cfg))
    assert set(b.mask.unique().tolist()) <= {0., 1., 2., 5., 10.}
    shortest = sum(lo for _, lo, _ in SPEC[task_family(task)])
    assert (b.length * cfg.dt >= shortest - len(SPEC[task_family(task)]) * cfg.dt).all()
    assert accuracy(b.targets, b) == 1.0
    assert masked_mse(b.targets, b).item() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("task", TASK_NAMES)
@pytest.mark.parametrize("timing", ["batch", "trial"])
def test_epoch_lengths_within_spec(task, timing):
    "Property 3: epoch lengths inside the spec ranges (±1 step from flooring boundaries); one length per batch."
    b = make_batch(task, 256, seed=1, config=TaskConfig(timing=timing))
    assert list(b.epochs) == [name for name, _, _ in SPEC[task_family(task)]]
    for name, lo, hi in SPEC[task_family(task)]:
        a, e = b.epochs[name]
        dur = (e - a).float() * DT
        assert dur.min() >= lo - DT and dur.max() <= hi + DT, (name, dur.min(), dur.max())
    assert (b.length == b.epochs["response"][1]).all() and (b.go == b.epochs["response"][0]).all()
    if timing == "batch": assert b.length.unique().numel() == 1
    else: assert b.length.unique().numel() > 1


@pytest.mark.parametrize("task", TASK_NAMES)
def test_shapes_and_fixation_input(task):
    "Properties 1 and 2: time-major shapes; fixation input exactly 1 on [0, go) and 0 on [go, end) without noise."
    b = make_batch(task, 32, seed=3, config=TaskConfig(sigma_in=0., timing="trial"))
    T = int(b.length.max())
    assert b.inputs.shape == (T, 32, 5) and b.targets.shape == (T, 32, 3) and b.mask.shape == (T, 32, 3)
    assert b.direction.shape == b.go.shape == b.length.shape == (32,)
    t = torch.arange(T)[:, None]
    fix = b.inputs[:, :, 0]
    assert (fix[t < b.go] == 1).all() and (fix[(t >= b.go) & (t < b.length)] == 0).all()
    rb = make_batch(task, 4, seed=3, config=TaskConfig(rule_inputs=True))
    assert rb.inputs.shape[-1] == 14


@pytest.mark.parametrize("task", ["DelayPro", "DelayAnti", "MemPro", "MemAnti"])
def test_stimulus_on_off(task):
    "Property 4: Delay stimuli are on at the last step; Mem stimuli are off during delay and response."
    b = make_batch(task, 64, seed=5, config=TaskConfig(sigma_in=0., timing="trial", modality="trial"))
    stim = b.inputs[:, :, 1:5].abs().sum(-1)
    last = stim[b.length - 1, torch.arange(64)]
    t = torch.arange(stim.shape[0])[:, None]
    if task.startswith("Delay"): assert (last > 0.99).all()
    else:
        delay_start = b.epochs["delay"][0]
        assert (stim[t >= delay_start] == 0).all()
        on = (t >= b.epochs["stimulus"][0]) & (t < b.epochs["stimulus"][1])
        assert (stim[on] > 0.99).all()
    # one modality carries the stimulus, the other is silent
    m1, m2 = b.inputs[:, :, 1:3].abs().sum((0, 2)), b.inputs[:, :, 3:5].abs().sum((0, 2))
    assert ((m1 == 0) ^ (m2 == 0)).all()


@pytest.mark.parametrize("task", ["DelayAnti", "MemAnti", "DelayPro", "MemPro"])
def test_anti_is_opposite(task):
    "Property 5: φ = θ + π for Anti tasks, φ = θ for Pro tasks."
    b = make_batch(task, 128, seed=2)
    theta = b.stimuli[0].theta
    expected = theta + (math.pi if "Anti" in task else 0.)
    assert angular_distance(b.direction, expected).max() < 1e-5


def _strength(stim, modality=None):
    return stim.strength.sum(1) if modality is None else stim.strength[:, modality]


@pytest.mark.parametrize("task,modality", [("MemDm1", 0), ("MemDm2", 1), ("ContextMemDm1", 0),
                                           ("ContextMemDm2", 1), ("MultiMem", None)])
def test_decision_tasks(task, modality):
    "Property 6: separation in [π/2, 3π/2]; φ is the stronger stimulus of the attended modality or of the sum."
    b = make_batch(task, 512, seed=4)
    s1, s2 = b.stimuli
    sep = angular_distance(s1.theta, s2.theta)
    assert (sep >= math.pi / 2 - 1e-5).all()
    stronger = torch.where(_strength(s1, modality) > _strength(s2, modality), s1.theta, s2.theta)
    assert angular_distance(b.direction, stronger).max() < 1e-5
    if task.startswith("Mem"):  # single modality: the other one stays silent
        assert (s1.strength[:, 1 - modality] == 0).all()
    if task.startswith("Context"):  # the distractor disagrees in about half of the trials
        other = torch.where(_strength(s1, 1 - modality) > _strength(s2, 1 - modality), s1.theta, s2.theta)
        disagree = (angular_distance(other, b.direction) > 1e-5).float().mean()
        assert 0.3 < disagree < 0.7
    if task == "MultiMem":  # each stimulus appears in both modalities, split unevenly around its base strength
        assert (s1.strength > 0).all() and (s1.strength[:, 0] != s1.strength[:, 1]).all()


def test_mask_values():
    "Property 7: 0 in the first 5 steps and the 5 steps after go; 5 in the response; fixation x2."
    b = make_batch("MemDm1", 16, seed=0, config=TaskConfig(timing="trial"))
    for i in range(16):
        go, L = int(b.go[i]), int(b.length[i])
        m = b.mask[:, i]
        assert (m[:5] == 0).all() and (m[go:go + 5] == 0).all()
        assert (m[5:go, 1:] == 1).all() and (m[5:go, 0] == 2).all()
        assert (m[go + 5:L, 1:] == 5).all() and (m[go + 5:L, 0] == 10).all()
        assert (m[L:] == 0).all()


def test_score():
    "Property 8: perfect 1.0; rotated by 20° scores 0 at 18°; fixating at the last step scores 0."
    b = make_batch("MultiMem", 200, seed=9, config=TaskConfig(timing="trial"))
    assert accuracy(b.targets, b) == 1.0
    assert accuracy(rotate_response(b.targets, 20), b) == 0.0
    assert accuracy(rotate_response(b.targets, -20), b) == 0.0
    fix = b.targets.clone()
    fix[b.length - 1, torch.arange(200), 0] = 1.
    assert accuracy(fix, b) == 0.0
    # scored at each trial's own last step: garbage after a trial's end changes nothing
    padded = b.targets.clone()
    t = torch.arange(padded.shape[0])[:, None]
    padded[t >= b.length] = 7.
    assert accuracy(padded, b) == 1.0
    # a trial that should keep fixating (φ = NaN) is correct iff fixation > 0.5
    b.direction[:3] = float("nan")
    out = b.targets.clone()
    assert correct(out, b)[:3].tolist() == [False] * 3
    out[b.length[:3] - 1, torch.arange(3), 0] = 1.
    assert correct(out, b)[:3].tolist() == [True] * 3


@pytest.mark.parametrize("sigma_in", [0.01, 0.1])
def test_input_noise_std(sigma_in):
    "Property 9: input noise std σ_in·√(2/α)."
    cfg, clean = TaskConfig(sigma_in=sigma_in), TaskConfig(sigma_in=0.)
    noise = make_batch("MemPro", 512, seed=0, config=cfg).inputs - make_batch("MemPro", 512, seed=0, config=clean).inputs
    assert noise.std().item() == pytest.approx(sigma_in * math.sqrt(2 / 0.2), rel=0.01)
    assert abs(noise.mean().item()) < 0.01 * sigma_in * math.sqrt(10)


@given(task=st.sampled_from(TASK_NAMES), seed=st.integers(0, 2**63 - 1), cfg=configs)
@settings(max_examples=25, deadline=None)
def test_seed_reproduces_batch_without_global_state(task, seed, cfg):
    "Property 10: one seed reproduces a batch exactly; no global random state is read or changed."
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    a = make_batch(task, 8, seed=seed, config=cfg)
    torch.manual_seed(123)  # a different global state must not matter
    b = make_batch(task, 8, seed=seed, config=cfg)
    for f in ("inputs", "targets", "mask", "direction", "go", "length"):
        assert torch.equal(getattr(a, f), getattr(b, f)), f
    torch.manual_seed(0)
    make_batch(task, 8, seed=seed, config=cfg)
    assert torch.equal(before, torch.random.get_rng_state())


@pytest.mark.parametrize("bad,msg", [
    (dict(task="Nope"), "the corpus has DelayPro"),
    (dict(batch_size=0), "batch_size must be an integer >= 1"),
    (dict(batch_size=2.5), "batch_size must be an integer >= 1"),
    (dict(config=dict(sigma_in=float("nan"))), "sigma_in must be a finite number"),
    (dict(config=dict(sigma_in=-1)), "sigma_in must be >= 0"),
    (dict(config=dict(durations={"delay": (-5, 10)})), "impossible"),
    (dict(config=dict(durations={"response": (50, 50)})), "impossible"),
    (dict(config=dict(timing="per-trial")), "allowed: batch, trial"),
    (dict(config=dict(encoding="onehot")), "allowed: paper, ring"),
    (dict(config=dict(dt=0.)), "dt must be > 0"),
    (dict(config=dict(criterion=4.)), "criterion"),
])
def test_bad_input_clear_errors(bad, msg):
    kw = dict(task="MemPro", batch_size=4)
    kw.update({k: v for k, v in bad.items() if k != "config"})
    with pytest.raises(ValueError, match=msg):
        cfg = TaskConfig(**bad["config"]) if "config" in bad else None
        make_batch(kw["task"], kw["batch_size"], seed=0, config=cfg)


def test_wrong_output_shape():
    b = make_batch("MemPro", 4, seed=0)
    with pytest.raises(ValueError, match="shape"): accuracy(torch.zeros(3, 4, 3), b)
    with pytest.raises(ValueError, match="shape"): masked_mse(torch.zeros(b.targets.shape[0], 4, 5), b)


def test_durations_override():
    "A fixed delay override gives that delay in every trial (e.g. to test longer memory)."
    b = make_batch("MemPro", 16, seed=0, config=TaskConfig(durations={"delay": (3000, 3000)}, timing="trial"))
    a, e = b.epochs["delay"]
    assert ((e - a).float() * DT - 3000).abs().max() <= DT
