"""Ship a finished neurogym study (the "Beyond the corpus" lesson) into the package data.

    python -c "from molap.beyond import neurogym_study; neurogym_study(profile='quick', out='runs/gym', workers=2)"
    python tools/ship_neurogym.py runs/gym --profile quick   # -> molap/data/results/neurogym-quick.json,
                                                             #    molap/data/pretrained/gym-heads-quick-seed0.pt

The study's summary is re-made from its per-run records (nothing is trained: every run must be finished), then
copied; the MoLaP heads (I_T, b_T, O_T, b_out) of the first seed are collected from the runs' checkpoints.
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
a = p.parse_args()
for t in a.tasks:
    for m in GYM_METHODS:
        for s in a.seeds:
            f = Path(a.out) / "neurogym" / f"{t}-{m}-{a.profile}-seed{s}.json"
            if not f.exists(): raise SystemExit(f"not finished: {f}")
neurogym_study(a.tasks, seeds=a.seeds, profile=a.profile, out=a.out, progress=False)
shutil.copy(Path(a.out) / f"neurogym-{a.profile}.json", data_dir() / "results" / f"neurogym-{a.profile}.json")
print("shipped", data_dir() / "results" / f"neurogym-{a.profile}.json", "and", save_heads(a.out, a.profile, a.seeds[0], a.tasks))
