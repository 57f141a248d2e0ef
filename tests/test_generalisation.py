"""Leave-one-task-out: the held-out task's trials never reach the primitives, the pre-training or the joint network."""
import contextlib, subprocess
from dataclasses import replace
import pytest
import torch
from molap import tasks as corpus
from molap.training import get_profile
from molap.pretraining import answer_primitives, pretrain
from molap.generalisation import heldout_modules, joint_without, other_tasks, own_primitives

QUICK = get_profile("quick")
TINY = replace(QUICK, name="tiny", cca_trials=32, pretrain=replace(QUICK.pretrain, steps=5), joint=replace(QUICK.joint, steps=5),
               molap=replace(QUICK.molap, steps=5))


class Leak(Exception): pass


@contextlib.contextmanager
def unusable(task):
    "Every trial of the corpus comes from `molap.tasks._TASKS[task]`: make drawing one of `task` raise."
    real = corpus._TASKS[task]
    def boom(*a, **k): raise Leak(f"a trial of {task} was drawn")
    corpus._TASKS[task] = boom
    try: yield
    finally: corpus._TASKS[task] = real


@pytest.mark.parametrize("task", ["DelayPro", "MemDm2", "MultiMem"])
def test_held_out_trials_never_drawn(task):
    with unusable(task):
        modules, p, pre = heldout_modules(task, TINY, seed=0, progress=False)
        joint_without(task, TINY, seed=0, progress=False)
    assert task not in p.stats and pre["tasks"] == list(other_tasks(task))


def test_the_spy_catches_a_leak():
    with unusable("MemDm2"):
        with pytest.raises(Leak): answer_primitives(TINY, seed=0)               # the standard primitives use every task
        with pytest.raises(Leak): own_primitives("MemDm2", TINY)                # molap-warm fits on T's own trials


def test_statistics_of_the_others_do_not_depend_on_t():
    without = answer_primitives(TINY, seed=2, tasks=other_tasks("MemAnti")).stats
    everything = answer_primitives(TINY, seed=2).stats
    for t in other_tasks("MemAnti"):
        for k in ("A", "B", "mu_x", "mu_y", "corrs"): assert torch.equal(getattr(without[t], k), getattr(everything[t], k))


def test_default_pretraining_unchanged_by_tasks_argument():
    p = answer_primitives(TINY, seed=1)
    a, b = pretrain(p, TINY, seed=1, progress=False), pretrain(p, TINY, seed=1, progress=False, tasks=corpus.TASK_NAMES)
    assert torch.equal(a.model.J, b.model.J) and a.history["accuracy"] == b.history["accuracy"]


def test_generalise_bad_task_is_one_line(tmp_path):
    r = subprocess.run(["molap", "generalise", "--held-out", "MemPr0", "--out", str(tmp_path / "g")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "molap generalise: error: unknown task 'MemPr0'; tasks: " + ", ".join(corpus.TASK_NAMES)]
    assert not (tmp_path / "g").exists(), "nothing may be written on bad input"
