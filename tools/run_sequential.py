#!/usr/bin/env python
"""Naive sequential fine-tuning and DNI at the quick profile, seeds 0-4: the profile's Adam (DNI projecting Adam's
step), the reference SGD (DNI projecting the gradient, as published), and DNI projecting Adam's gradient.

    python tools/run_sequential.py [OUT]     # runs in OUT (default runs/sequential; resumable), ships the summary
                                             # to molap/data/results/sequential-quick.json

Runs go to WORKERS (default 2) processes of one torch thread each.
"""
import json, multiprocessing, os, sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SEEDS = range(5)
SGD = dict(optimizer="sgd", lr=1e-3, momentum=0.9)
VARIANTS = {  # label -> (method, TrainConfig overrides, DNI projection, run folder)
    "sequential (adam)": ("sequential", {}, None, "adam"),
    "dni (adam, projected step)": ("dni", {}, "step", "adam"),
    "sequential (sgd)": ("sequential", SGD, None, "sgd"),
    "dni (sgd, projected gradient)": ("dni", SGD, "gradient", "sgd"),
    "dni (adam, projected gradient)": ("dni", {}, "gradient", "adam-gradient"),
}


def job(label, seed, out):
    from dataclasses import replace
    import torch
    torch.set_num_threads(1)
    from molap.training import get_profile
    from molap.sequential import run_sequential
    method, over, project, folder = VARIANTS[label]
    prof = get_profile("quick")
    return run_sequential(method, prof, seed, out=Path(out) / folder, progress=False,
                          config=replace(prof.sequential, **over), project=project)[0]


def main(out="runs/sequential"):
    from molap.core import atomic_write, data_dir
    from molap.sequential import summarise_sequential
    jobs = [(label, s) for label in VARIANTS for s in SEEDS]
    with ProcessPoolExecutor(int(os.environ.get("WORKERS", 2)), mp_context=multiprocessing.get_context("spawn")) as pool:
        records = list(pool.map(job, *zip(*jobs), [out] * len(jobs)))
    methods = {label: summarise_sequential([r for (l, s), r in zip(jobs, records) if l == label]) for label in VARIANTS}
    res = dict(profile="quick", seeds=list(SEEDS), methods=methods)
    path = data_dir() / "results" / "sequential-quick.json"
    atomic_write(path, lambda f: Path(f).write_text(json.dumps(res, indent=1)))
    print(f"wrote {path}")
    for k, v in methods.items():
        print(f"{k:32s} diagonal {sum(v['diagonal']) / 9:.3f} final {sum(v['accuracy'].values()) / 9:.3f} "
              f"forgetting {v['forgetting']:.3f} ± {v['forgetting_sd']:.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:])
