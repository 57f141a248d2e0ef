#!/usr/bin/env python
"""Which inputs the answer primitives' response plane reads, "all" five or the "decision" ones: pre-train the quick
profile's modules both ways and score the modules' own answers (`module_accuracy`), over seeds.

    python tools/plane_inputs_study.py 0 1 2      # -> molap/data/results/plane-inputs-quick.json (about 40 s per run)

The full profile's comparison is a reproduction run of its own (`ship_results.py --compare`); this one is the quick
profile's, where pre-training is short and the modules small.
"""
import json, statistics, sys, time
from dataclasses import replace
from pathlib import Path
from molap.core import atomic_write, data_dir, set_threads
from molap.pretraining import answer_primitives, pretrain, module_accuracy
from molap.tasks import TASK_NAMES


def run(plane_inputs: str, seed: int) -> dict:
    "One quick pre-training with the given plane inputs: module R² and the modules' own fraction correct per task."
    from molap.training import get_profile
    prof = replace(get_profile("quick"), plane_inputs=plane_inputs)
    t0 = time.time()
    p = answer_primitives(prof, seed=seed)
    pre = pretrain(p, prof, seed=seed, progress=False)
    own = module_accuracy(pre.model, p, task_config=prof.task)
    return dict(plane_inputs=plane_inputs, seed=seed, r2=pre.final_accuracy, own_accuracy=own,
                decisions=statistics.fmean(own[t] for t in TASK_NAMES[4:]), seconds=time.time() - t0)


def main(*seeds):
    set_threads(1)
    rows = []
    for seed in [int(s) for s in seeds] or [0, 1, 2]:
        for plane in ("all", "decision"):
            rows.append(run(plane, seed))
            print(plane, seed, f"decisions {rows[-1]['decisions']:.3f}", flush=True)
    path = data_dir() / "results" / "plane-inputs-quick.json"
    atomic_write(path, lambda f: Path(f).write_text(json.dumps(dict(profile="quick", primitives_source="observed", rows=rows), indent=1)))
    print("wrote", path)


if __name__ == "__main__":
    main(*sys.argv[1:])
