"""MoLaP's default primitives see only what a network's training data holds: `observe` reads a batch's inputs,
targets and mask, never the generator's records (answer, onsets, strengths), and the `oracle` source is the only one
that does."""
import math
from dataclasses import replace
import pytest
import torch

from molap.tasks import TASK_NAMES, Stimulus, TaskConfig, make_batch
from molap.pretraining import observe, seen, answer_primitives, decision_weights, answer_targets


def scrambled(b):
    "The batch with every record the generator keeps beside the time series replaced by nonsense."
    B = b.inputs.shape[1]
    junk = Stimulus(torch.full((B,), 1.234), torch.full((B, 2), 9.), torch.zeros(B, dtype=torch.long),
                    torch.ones(B, dtype=torch.long))
    return replace(b, direction=torch.full((B,), 0.5), go=torch.zeros(B, dtype=torch.long), epochs={},
                   length=torch.ones(B, dtype=torch.long), stimuli=[junk] * len(b.stimuli))


def same(a, b):
    return (torch.equal(a.direction.nan_to_num(-1), b.direction.nan_to_num(-1)) and torch.equal(a.go, b.go)
            and torch.equal(a.length, b.length) and len(a.stimuli) == len(b.stimuli)
            and all(torch.equal(x, y) for s, t in zip(a.stimuli, b.stimuli) for x, y in zip(s, t)))


@pytest.mark.parametrize("timing", ["batch", "trial"])
@pytest.mark.parametrize("task", TASK_NAMES)
def test_observe_reads_only_the_time_series(task, timing):
    b = make_batch(task, 32, seed=3, config=TaskConfig(timing=timing))
    assert same(observe(b), observe(scrambled(b)))


def test_observed_primitives_do_not_read_records():
    p = answer_primitives("quick", seed=0)
    o = answer_primitives("quick", seed=0, source="oracle")
    b = make_batch("MemDm2", 16, seed=7)
    for x, y in zip(p.latent(b), p.latent(scrambled(b))): assert torch.equal(x, y)
    for x, y in zip(o.latent(b), o.latent(scrambled(b))):  # the oracle does read them
        if not torch.equal(x, y): break
    else: pytest.fail("the oracle's latent targets ignored the records")


@pytest.mark.parametrize("task", TASK_NAMES)
def test_observed_answer_is_exact_and_targets_close(task, weights):
    errs = {True: [], False: []}
    for seed in range(4):
        b = make_batch(task, 64, seed=seed)
        o = observe(b)
        assert torch.equal(o.go, b.go) and torch.equal(o.length, b.length)
        assert torch.allclose(o.direction, b.direction, atol=1e-5)
        keep = b.mask[:, :, 1] > 0
        for strength in errs:
            w = weights if strength else None
            errs[strength].append((answer_targets(o, w) - answer_targets(b, w))[keep].norm(dim=-1))
    # a missed weak stimulus costs a unit-length answer more than one scaled by its (small) strength
    for strength, bound in ((True, 0.015), (False, 0.03)):
        err = torch.cat(errs[strength])
        assert err.median() < 0.01 and (err > 0.1).float().mean() < bound, (strength, err.median(), (err > 0.1).float().mean())


@pytest.fixture(scope="module")
def weights():
    return decision_weights(source="oracle")


def test_no_stimulus_and_no_noise():
    b = make_batch("MemPro", 8, seed=0, config=TaskConfig(sigma_in=0.))
    o = observe(b)
    assert torch.equal(o.stimuli[0].on, b.stimuli[0].on) and torch.equal(o.stimuli[0].off, b.stimuli[0].off)
    torch.testing.assert_close(o.stimuli[0].strength, b.stimuli[0].strength)
    empty = replace(b, inputs=b.inputs * torch.tensor([1., 0, 0, 0, 0]))
    assert (observe(empty).stimuli[0].strength == 0).all()


def test_decision_weights_agree_and_bad_source():
    assert decision_weights(64, source="observed") == decision_weights(64, source="oracle")
    with pytest.raises(ValueError, match="source must be one of observed, oracle"):
        seen(make_batch("MemPro", 2, seed=0), "truth")
