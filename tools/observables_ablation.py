#!/usr/bin/env python
"""MoLaP's answer primitives, fed from observables or from the generator's records, with and without strength, with a
warm or a cold task stage: the quick-profile ablation of the fair test, over seeds (both cores: one process per seed).

    python tools/observables_ablation.py runs/obs-ablation 0 1 2     # -> molap/data/results/observables-quick.json

Each (source, strength) pair pre-trains its own modules (checkpointed under the output folder, resumable); each start
trains a fresh task stage on them. A row records the accuracy per task, the modules' R² and their own answers.
"""
import json, multiprocessing, statistics, sys
from pathlib import Path


def one_seed(out: str, seed: int) -> list:
    from molap.core import set_threads
    set_threads(1)
    from molap.pretraining import answer_primitives, pretrain, module_accuracy
    from molap.multitask import task_stage
    from molap.training import get_profile, run_record
    prof, out, rows = get_profile("quick"), Path(out), []
    for source in ("observed", "oracle"):
        for strength in (True, False):
            tag = f"{source}-{'strength' if strength else 'unit'}-seed{seed}"
            p = answer_primitives(prof, seed=seed, strength=strength, source=source)
            pre = pretrain(p, prof, seed=seed, checkpoint=out / f"pretrain-{tag}.ckpt", progress=False)
            own = module_accuracy(pre.model, p, task_config=prof.task)
            for warm in (True, False):
                res = task_stage(pre.model, prof, seed, checkpoint=out / f"stage-{tag}-{'warm' if warm else 'cold'}.ckpt",
                                 progress=False, warm_start=warm, primitives=p)
                rec = run_record(res, prof)
                rows.append(dict(source=source, strength=strength, warm_start=warm, seed=seed, accuracy=rec["accuracy"],
                                 mean=statistics.fmean(rec["accuracy"].values()), r2=pre.final_accuracy, own_accuracy=own))
                print(tag, "warm" if warm else "cold", f"{rows[-1]['mean']:.3f}", flush=True)
    return rows


def main(out, *seeds):
    from molap.core import atomic_write, check_out_dir, data_dir
    out, seeds = check_out_dir(out), [int(s) for s in seeds]
    with multiprocessing.get_context("spawn").Pool(min(2, len(seeds))) as pool:
        rows = [r for rs in pool.starmap(one_seed, [(str(out), s) for s in seeds]) for r in rs]
    res = dict(profile="quick", seeds=seeds, rows=rows)
    path = data_dir() / "results" / "observables-quick.json"
    atomic_write(path, lambda f: Path(f).write_text(json.dumps(res, indent=1)))
    print("wrote", path)


if __name__ == "__main__":
    main(*sys.argv[1:])
