"""Nine separate networks: one training step batched in one `LeakyRNN(n_nets=9)` against nine networks in turn.

Run: OMP_NUM_THREADS=1 python benchmarks/bench_separate.py [--quick] [--repeats N]

Both timings alternate in one run (so machine load hits them alike); the ratio is what to compare across machines.
"""
import argparse, sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's molap, installed or not
from molap.tasks import TASK_NAMES, TaskConfig, n_inputs, n_outputs
from molap.networks import LeakyRNN
from molap.training import TrainConfig, step_batches, step_loss
from molap.baselines import separate_networks
from timing import alternated_medians


def step_functions(n_rec: int, batch_size: int, seed: int = 0):
    "The batched and the sequential training step, on the same batches."
    cfg = TrainConfig(batch_size=batch_size, schedule="together")
    tasks, batches = step_batches(list(TASK_NAMES), 0, cfg, TaskConfig())
    g = lambda: torch.Generator().manual_seed(seed)
    nets = separate_networks(n_rec, seed=seed)
    singles = [LeakyRNN(n_inputs(), n_rec, n_outputs(), seed=seed + k) for k in range(len(TASK_NAMES))]
    def batched():
        loss, _ = step_loss(nets, tasks, batches, cfg, g()); loss.backward()
    def sequential():
        for m, t, b in zip(singles, tasks, batches):
            loss, _ = step_loss(m, [t], [b], cfg, g()); loss.backward()
    return batched, sequential


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one small size, two repeats (a smoke run)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    sizes = [(64, 32)] if args.quick else [(64, 32), (256, 64)]
    repeats = 2 if args.quick else args.repeats
    for n_rec, batch in sizes:
        fs = dict(zip(("batched", "sequential"), step_functions(n_rec, batch)))
        med = alternated_medians(fs, repeats)
        print(f"{n_rec} units, batch {batch}: batched {med['batched'] * 1e3:.0f} ms, sequential "
              f"{med['sequential'] * 1e3:.0f} ms, speed-up sequential/batched {med['sequential'] / med['batched']:.2f}")


if __name__ == "__main__":
    main()
