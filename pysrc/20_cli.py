# %% [markdown]
# # The `molap` command
#
# > One command line for the main jobs: draw the corpus, and (as the package grows) reproduce the paper.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/20_cli.ipynb)

# %% [markdown]
# Installing molap puts a `molap` command on the path. Each sub-command is a thin layer over functions of the
# notebooks, so everything it does can also be done, and read, in Python.

# %%
#| eval: false
#| hide
# %pip install -q molap

# %%
#| default_exp cli

# %%
#| export
from __future__ import annotations
import argparse, sys
import torch
from pathlib import Path
from molap import __version__
from molap.tasks import TASK_NAMES, TaskConfig, make_batch, plot_trial, epoch_ranges
from molap.training import atomic_write

# %%
#| hide
from fastcore.test import *


# %% [markdown]
# ## `molap tasks`: draw the corpus
#
# The first job a new user runs: one batch of every task, a figure of its first trial, and a table of the epochs
# that were drawn next to the ranges they come from.

# %%
#| export
def epoch_table(batches: dict,  # task name -> `Batch`
               ) -> str:         # a Markdown table
    "Markdown table of the epochs of trial 0 of each batch: drawn duration (ms) and its range."
    rows = ["| task | steps | epochs: drawn ms (range) |", "|---|---|---|"]
    for task, b in batches.items():
        dt, ranges = b.config.dt, epoch_ranges(task, b.config)
        cells = [f"{name} {(int(e) - int(s)) * dt:g} ({lo:g}–{hi:g})"
                 for name, (s, e) in ((k, (v[0][0], v[1][0])) for k, v in b.epochs.items())
                 for lo, hi in [ranges[name]]]
        rows.append(f"| {task} | {int(b.length[0])} | {' · '.join(cells)} |")
    return "\n".join(rows)

def draw_corpus(out,                 # folder for the figures and the table
                seed: int = 0,       # seed of the first task's batch (task k uses seed + k)
                batch_size: int = 16,
                config: TaskConfig | None = None,
               ) -> str:
    "Draw every task, save a figure of each as `DIR/<task>.png` and the epoch table as `DIR/epochs.md`."
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = Path(out)
    batches = {t: make_batch(t, batch_size, seed=seed + k, config=config) for k, t in enumerate(TASK_NAMES)}
    for task, b in batches.items():
        fig = plot_trial(b)
        atomic_write(out / f"{task}.png", lambda p: fig.savefig(p, format="png", dpi=110, bbox_inches="tight"))
        plt.close(fig)
    table = epoch_table(batches)
    atomic_write(out / "epochs.md", lambda p: Path(p).write_text(table + "\n"))
    return table


# %%
import tempfile as _tf

# %%
out = Path(_tf.mkdtemp())
table = draw_corpus(out, seed=0)
print(table)

# %%
test_eq(sorted(p.name for p in out.iterdir()), sorted([f"{t}.png" for t in TASK_NAMES] + ["epochs.md"]))
test_eq(len(table.splitlines()), 2 + len(TASK_NAMES))


# %% [markdown]
# ## The command line

# %%
#| export
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="molap", description="MoLaP: multi-task learning with modular latent primitives")
    p.add_argument("--version", action="version", version=f"molap {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("tasks", help="draw every task of the corpus and print a table of its epochs")
    t.add_argument("--out", required=True, help="folder for the figures and epochs.md")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--timing", choices=["batch", "trial"], default="batch")
    t.add_argument("--sigma-in", type=float, default=0.01)
    r = sub.add_parser("reproduce", help="corpus, baselines, primitives, pre-training, MoLaP: figures, report.md, results.json")
    r.add_argument("--profile", choices=["quick", "full"], default="quick")
    r.add_argument("--out", default="molap-results", help="output folder (re-run on it to resume)")
    r.add_argument("--seeds", type=int, nargs="+", default=[0])
    r.add_argument("--device", default=None, help="e.g. cuda; default: cuda if available, else cpu")
    b = sub.add_parser("baselines", help="train the separate and joint baselines (resumes from DIR)")
    b.add_argument("--profile", choices=["quick", "full"], default="quick")
    b.add_argument("--out", required=True, help="folder for checkpoints and records (re-run to resume)")
    b.add_argument("--seeds", type=int, nargs="+", default=[0])
    b.add_argument("--methods", nargs="+", choices=["separate", "joint"], default=["separate", "joint"])
    b.add_argument("--device", default=None, help="e.g. cuda; default: cuda if available, else cpu")
    return p

def main(argv=None) -> int:
    "Entry point of the `molap` console command."
    args = _parser().parse_args(argv)
    try:
        if args.command == "tasks":
            cfg = TaskConfig(timing=args.timing, sigma_in=args.sigma_in)
            print(draw_corpus(args.out, seed=args.seed, batch_size=args.batch_size, config=cfg))
            print(f"\nwrote {len(TASK_NAMES)} figures and epochs.md to {args.out}")
        elif args.command == "reproduce":
            from molap.reproduce import reproduce
            res = reproduce(args.profile, args.out, seeds=args.seeds, device=args.device)
            print({m: round(r["mean_accuracy"], 3) for m, r in res["methods"].items()})
        elif args.command == "baselines":
            from molap.baselines import run_baseline, results_table
            device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
            records = {}
            for seed in args.seeds:
                for m in args.methods:
                    records[f"{m} seed {seed}"], _ = run_baseline(m, args.profile, seed=seed, out=args.out, device=device)
            print(results_table(records))
    except ValueError as e:
        print(f"molap {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


# %% [markdown]
# A bad argument is reported in one line, with exit status 2:

# %%
test_eq(main(["tasks", "--out", str(out), "--batch-size", "0"]), 2)
test_eq(main(["tasks", "--out", str(out), "--sigma-in", "-1"]), 2)
