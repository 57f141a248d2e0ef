#!/usr/bin/env python
"""MoLaP variants (or a baseline: separate, joint) alone, over seeds, resumable, one torch thread per process: the
runs that `tools/ship_results.py DIR --add METHOD` ships.

    python tools/run_molap.py --profile full --variants answer --seeds 0 1 --out runs/full-obs --workers 2
    python tools/run_molap.py --profile full --variants joint --seeds 0 1 2 --out runs/joint --workers 1
"""
import argparse, multiprocessing
from pathlib import Path


def one(variant: str, profile: str, seed: int, runs: str) -> str:
    from molap.core import set_threads
    set_threads(1)
    from molap.multitask import run_molap
    from molap.baselines import BASELINES, run_baseline
    if variant in BASELINES: rec = run_baseline(variant, profile, seed=seed, out=runs, progress=False)[0]
    else: rec = run_molap(variant, profile, seed=seed, out=runs, progress=False)[0]
    return f"{variant} seed {seed}: mean {sum(rec['accuracy'].values()) / len(rec['accuracy']):.3f}"


def main(argv=None):
    from molap.core import check_out_dir
    from molap.multitask import VARIANTS
    from molap.baselines import BASELINES
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--variants", nargs="+", choices=VARIANTS + tuple(BASELINES), default=["answer"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    runs = check_out_dir(Path(a.out) / "runs")
    jobs = [(v, a.profile, s, str(runs)) for s in a.seeds for v in a.variants]
    with multiprocessing.get_context("spawn").Pool(a.workers) as pool:
        for line in pool.starmap(one, jobs): print(line, flush=True)


if __name__ == "__main__":
    main()
