#!/usr/bin/env python
"""The quick-profile ablation of MoLaP's modules: construction × start of the task stage, over seeds.

    molap reproduce --profile quick --seeds 0 1 2 3 4 --out runs/quick5     # the default starts (and everything else)
    python tools/ablation.py runs/quick5 0 1 2                              # the other starts -> ablation-quick.json

Each construction's default start (`WARM_START`) is the reproduction's own run; the other start trains a fresh task
stage on the same pre-trained modules (their checkpoints are copied to `<src>/other-start/`, so the two task stages
never share a checkpoint). Each row records the accuracy per task, the module R² and, for the answer primitives, the
modules' own fraction correct (`module_accuracy`). Writes molap/data/results/ablation-quick.json.
"""
import json, shutil, statistics, sys
from pathlib import Path
import torch
from molap.core import atomic_write, data_dir, set_threads
from molap.multitask import WARM_START, run_molap, method_name
from molap.pretraining import answer_primitives, pretraining_network, module_accuracy
from molap.training import get_profile

VARIANTS = ("answer", "cca", "v1")


def own_accuracy(runs: Path, seed: int) -> dict:
    "The answer modules' own fraction correct per task (the pre-training checkpoint of the run)."
    prof = get_profile("quick")
    p = answer_primitives(prof, seed=seed)
    net = pretraining_network(p, prof.module_sizes, seed=seed, alpha=prof.alpha)
    net.load_state_dict(torch.load(runs / f"pretrain-answer-quick-seed{seed}.ckpt", weights_only=True)["model"])
    return module_accuracy(net, p, task_config=prof.task)


def main(src, *seeds):
    set_threads(1)
    src, seeds = Path(src), [int(s) for s in seeds]
    runs, other = src / "runs", src / "other-start"
    other.mkdir(exist_ok=True)
    rows = []
    for seed in seeds:
        own = own_accuracy(runs, seed)
        for v in VARIANTS:
            for warm in (WARM_START[v], not WARM_START[v]):
                out = runs if warm == WARM_START[v] else other
                if out is other and not (other / f"pretrain-{v}-quick-seed{seed}.ckpt").exists():
                    shutil.copy(runs / f"pretrain-{v}-quick-seed{seed}.ckpt", other)
                rec, _, _ = run_molap(v, "quick", seed=seed, out=out, progress=False, warm_start=warm)
                row = dict(variant=v, method=method_name(v), seed=seed, warm_start=warm, accuracy=rec["accuracy"],
                           r2=rec["pretraining"]["r2"], mean=statistics.fmean(rec["accuracy"].values()))
                if v == "answer": row["own_accuracy"] = own
                rows.append(row)
                print(v, seed, "warm" if warm else "cold", f"{row['mean']:.3f}", flush=True)
    res = dict(profile="quick", primitives_source="observed", seeds=seeds, rows=rows)  # the answer modules' primitives
    path = data_dir() / "results" / "ablation-quick.json"
    atomic_write(path, lambda f: Path(f).write_text(json.dumps(res, indent=1)))
    print("wrote", path)


if __name__ == "__main__":
    main(*sys.argv[1:])
