"""Speed of one step of MoLaP's task stage: a batch mixing the nine tasks through frozen modules.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_task_stage.py [--quick] [--repeats N]

The full profile's stage: modules (37, 110, 109), J frozen, 64 trials of each of the nine tasks in one batch (the
corpus's own trials, padded to the longest), each trial through its task's I_T and O_T. Three timings, alternated in
one run so that machine load hits them alike, medians reported:
  tasks     forward + backward of ModularRNN with the task index per trial (each task's I_T as one product, the
            present tasks' O_T stacked into the scan's readout)
  gathered  the same step by the plain formula: each trial's I_T, O_T gathered, einsum products (autograd)
  one task  the same batch through one task's weights (a lower bound: one I_T, one O_T, no per-task work)
It also prints the share of the batch's (step, trial) pairs that only pad a shorter task to the longest one: work
every path does today and a length-aware scan could skip.
Ratios, measured in one run: they carry to other CPUs, milliseconds do not.
"""
import argparse, sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's molap, installed or not
from molap.networks import ModularRNN
from molap.tasks import TASK_NAMES, make_batch
from molap.training import get_profile, stack_batches
from timing import alternated_medians

MODULES, TRIALS = (37, 110, 109), 64


def stage_batch(trials):
    "The inputs of one stage step (every task, `trials` each, full-profile timing), each trial's task index, its length."
    batches = [make_batch(t, trials, seed=k, config=get_profile("full").task) for k, t in enumerate(TASK_NAMES)]
    task = torch.arange(len(TASK_NAMES)).repeat_interleave(trials)
    lengths = torch.tensor([b.inputs.shape[0] for b in batches]).repeat_interleave(trials)
    return stack_batches(batches), task, lengths


def gathered(model, x, task, generator):
    "The plain formula: each trial's weights gathered, autograd throughout (the path the stage took before)."
    h = model._run(torch.einsum("tbi,bni->tbn", x, model.I_T[task]) + model.b_T[task], model.J, None, generator)
    return torch.einsum("tbn,bon->tbo", h, model.O_T[task] * model.unit_mask) + model.b_out[task]


def step(model, x, task, how):
    "A function running forward + backward of one stage step."
    noise = torch.Generator().manual_seed(2)
    forward = {"tasks": lambda: model(x, task, generator=noise), "one task": lambda: model(x, 0, generator=noise),
               "gathered": lambda: gathered(model, x, task, noise)}[how]
    def run():
        model.zero_grad(set_to_none=True)
        forward().square().mean().backward()
    return run


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="8 trials per task, few repeats: a smoke run of seconds")
    p.add_argument("--repeats", type=int, default=None, help="repeats of each measurement (default 9, quick 2)")
    args = p.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 9)
    from molap.core import set_threads
    set_threads(1)  # as every molap process runs
    x, task, lengths = stage_batch(8 if args.quick else TRIALS)
    model = ModularRNN(x.shape[-1], MODULES, 3, n_tasks=len(TASK_NAMES), seed=0).freeze_J()
    cases = {k: step(model, x, task, k) for k in ("tasks", "gathered", "one task")}
    med = alternated_medians(cases, repeats)
    T, B = x.shape[:2]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread, modules {MODULES}, J frozen, T={T} B={B} "
          f"({len(TASK_NAMES)} tasks x {B // len(TASK_NAMES)}), {repeats} repeats, medians")
    for k in cases: print(f"  {k:9s} {1e3 * med[k]:8.1f} ms")
    print(f"  gathered/tasks = {med['gathered'] / med['tasks']:.2f}x  (the speed-up of the per-task products)")
    print(f"  one task/tasks = {med['one task'] / med['tasks']:.2f}  (1 would be no cost for mixing tasks)")
    print(f"  padding: {1 - lengths.sum().item() / (T * B):.0%} of the batch's steps pad a shorter task to the longest "
          f"(every path computes them; their loss is masked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
