"""Ship a finished neurogym study (the "Beyond the corpus" lesson) into the package data.

    python -c "from molap.beyond import *; neurogym_study(profile='quick', out='runs/gym', workers=2, lrs=LR_GRID)"
    python tools/ship_neurogym.py runs/gym --profile quick --lrs 1e-3 3e-3 1e-2   # -> molap/data/results/neurogym-quick.json,
                                                             #    molap/data/pretrained/gym-heads-quick-seed0.pt

The study's summary is re-made from its per-run records (with the learning rates it was tuned over; nothing is
trained: every run must be finished), then copied; the MoLaP heads (I_T, b_T, O_T, b_out) of the first seed are
collected from the runs' checkpoints.
"""
import argparse, shutil
from pathlib import Path
from molap.beyond import GYM_METHODS, GYM_TASKS, neurogym_study, save_heads
from molap.core import data_dir

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("out", help="the study's output folder")
p.add_argument("--profile", default="quick")
p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
p.add_argument("--tasks", nargs="+", default=list(GYM_TASKS))
p.add_argument("--lrs", type=float, nargs="+", default=None, help="the learning rates the study was tuned over")
a = p.parse_args()
neurogym_study(a.tasks, seeds=a.seeds, profile=a.profile, out=a.out, progress=False, lrs=a.lrs,
               workers=2)  # reads the finished records back (a missing run would be trained, resumably)
shutil.copy(Path(a.out) / f"neurogym-{a.profile}.json", data_dir() / "results" / f"neurogym-{a.profile}.json")
print("shipped", data_dir() / "results" / f"neurogym-{a.profile}.json", "and", save_heads(a.out, a.profile, a.seeds[0]))
