#!/usr/bin/env python
"""Naive sequential fine-tuning and DNI. Quick profile, seeds 0-4: the profile's Adam (DNI projecting Adam's gradient and
its step, the default), the reference SGD (DNI projecting the gradient, as published), and DNI projecting only Adam's
gradient or only its step. Full profile: the profile's Adam, naive and DNI (the default projection), for the seeds given;
`--labels` adds variants, e.g. the cosine schedule per task ("sequential (adam, cosine)", "dni (adam, cosine)") or the
full profile's former fixed 3,000 steps per task ("sequential (adam, 3,000 steps)", "dni (adam, 3,000 steps)").

    python tools/run_sequential.py [OUT]                      # quick: runs in OUT (default runs/sequential; resumable),
                                                              # summary to molap/data/results/sequential-quick.json
    python tools/run_sequential.py OUT --profile full --seeds 0   # full: summary and final weights shipped
    python tools/run_sequential.py OUT --labels "sequential (adam)" "dni (adam, projected step)"   # some variants only

The profile's own runs (naive and DNI with the profile's optimiser, what `molap reproduce` runs) also go into the
shipped results of the profile (quick.json or full.json) under `sequential` and `dni`, summarised as `reproduce` does.
Runs go to WORKERS (default 2) processes of one torch thread each.
"""
import json, multiprocessing, os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SEEDS = range(5)
SGD = dict(optimizer="sgd", lr=1e-3, momentum=0.9)
FIXED = dict(steps=3000, stop_at=None)
VARIANTS = {  # label -> (method, TrainConfig overrides, DNI projection, run folder)
    "sequential (adam)": ("sequential", {}, None, "adam"),
    "dni (adam, projected step)": ("dni", {}, "step", "adam"),
    "sequential (sgd)": ("sequential", SGD, None, "sgd"),
    "dni (sgd, projected gradient)": ("dni", SGD, "gradient", "sgd"),
    "dni (adam, projected gradient)": ("dni", {}, "gradient", "adam-gradient"),
    "dni (adam, projected gradient and step)": ("dni", {}, "both", "adam-both"),
    # full profile only. The profile's rule before it stopped once learned: a fixed 3,000 steps per task
    "sequential (adam, 3,000 steps)": ("sequential", FIXED, None, "adam-3000"),
    "dni (adam, projected step, 3,000 steps)": ("dni", FIXED, "step", "adam-3000"),
    "dni (adam, 3,000 steps)": ("dni", FIXED, "both", "adam-both-3000"),
    # the separate networks' schedule per task: 3,500 steps, cosine from 1e-3 to 1e-4
    "sequential (adam, cosine)": ("sequential", dict(steps=3500, lr_final=1e-4, stop_at=None), None, "adam-cosine"),
    "dni (adam, cosine)": ("dni", dict(steps=3500, lr_final=1e-4, stop_at=None), "both", "adam-both-cosine"),
}


QUICK = ("sequential (adam)", "dni (adam, projected step)", "sequential (sgd)", "dni (sgd, projected gradient)",
         "dni (adam, projected gradient)", "dni (adam, projected gradient and step)")  # the quick profile's comparison
FULL = ("sequential (adam)", "dni (adam, projected gradient and step)")  # the profile's own runs: its optimiser, the default projection


def job(label, seed, out, profile="quick"):
    from dataclasses import replace
    import torch
    torch.set_num_threads(1)
    from molap.training import get_profile
    from molap.sequential import run_sequential
    method, over, project, folder = VARIANTS[label]
    prof = get_profile(profile)
    return run_sequential(method, prof, seed, out=Path(out) / folder, progress=False,
                          config=replace(prof.sequential, **over), project=project)[0]


def ship_weights(out, profile, seeds):
    "The final network of every full run (after the ninth task), as weights-only state dicts."
    import torch
    from molap.core import atomic_write, data_dir
    for label in FULL:
        method, _, _, folder = VARIANTS[label]
        for s in seeds:
            state = torch.load(Path(out) / folder / f"{method}-{profile}-seed{s}-after8.ckpt", weights_only=True)["model"]
            atomic_write(data_dir() / "checkpoints" / f"{method}-{profile}-seed{s}.pt", lambda f: torch.save(state, f))


def merge_into_results(profile, records):
    "The profile's shipped results (quick.json, full.json) gain `sequential` and `dni` as `molap reproduce` writes them."
    from molap.core import atomic_write, data_dir
    from molap.reproduce import summarise
    path = data_dir() / "results" / f"{profile}.json"
    res = json.loads(path.read_text())
    for method, recs in records.items():
        new, old = summarise(recs), res["methods"].get(method)
        if old and old["train_config"] != new["train_config"]:  # a run with other settings is kept, not overwritten
            changed = {k: v for k, v in old["train_config"].items() if new["train_config"].get(k) != v}
            res.setdefault("earlier", {})[f"{method} ({', '.join(f'{k}={v}' for k, v in changed.items())})"] = old
        res["methods"][method] = new
    res.setdefault("added", {}).update({m: f"ran after the rest of this profile (tools/run_sequential.py), with the "
                                            f"settings in its train_config; seeds {[r['seed'] for r in recs]}"
                                         for m, recs in records.items()})
    atomic_write(path, lambda f: Path(f).write_text(json.dumps(res, indent=1)))
    print(f"added {', '.join(records)} to {path}")


def main(argv=None):
    import argparse
    from molap.core import atomic_write, data_dir
    from molap.sequential import summarise_sequential
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default="runs/sequential")
    ap.add_argument("--profile", choices=("quick", "full"), default="quick")
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0-4 (quick), 0 (full)")
    ap.add_argument("--labels", nargs="+", choices=list(VARIANTS), default=None,
                    help="default: the six variants of the quick comparison (quick), the profile's own (full)")
    args = ap.parse_args(argv)
    seeds = args.seeds or (list(SEEDS) if args.profile == "quick" else [0])
    labels = args.labels or (list(QUICK) if args.profile == "quick" else list(FULL))
    jobs = [(label, s) for label in labels for s in seeds]
    with ProcessPoolExecutor(int(os.environ.get("WORKERS", 2)), mp_context=multiprocessing.get_context("spawn")) as pool:
        records = list(pool.map(job, *zip(*jobs), [args.out] * len(jobs), [args.profile] * len(jobs)))
    of = lambda label: [r for (l, s), r in zip(jobs, records) if l == label]
    methods = {label: summarise_sequential(of(label)) for label in labels}
    path = data_dir() / "results" / f"sequential-{args.profile}.json"
    res = json.loads(path.read_text()) if path.exists() else dict(profile=args.profile, seeds=seeds, methods={})
    # variants may have different seeds (each summary lists its own); the file's `seeds` is their union
    res.update(seeds=sorted(set(res["seeds"]) | set(seeds)), methods=dict(res["methods"], **methods))
    atomic_write(path, lambda f: Path(f).write_text(json.dumps(res, indent=1)))
    own = [label for label in FULL if label in labels]  # the profile's own config: what `molap reproduce` runs
    if own: merge_into_results(args.profile, {VARIANTS[label][0]: of(label) for label in own})
    if args.profile == "full": ship_weights(args.out, args.profile, seeds)
    print(f"wrote {path}")
    for k, v in methods.items():
        print(f"{k:32s} diagonal {sum(v['diagonal']) / 9:.3f} final {sum(v['accuracy'].values()) / 9:.3f} "
              f"forgetting {v['forgetting']:.3f} ± {v['forgetting_sd']:.3f}")


if __name__ == "__main__":
    main()
