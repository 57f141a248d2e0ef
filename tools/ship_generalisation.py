"""Ship the finished held-out tasks of a (possibly still running) `molap generalise` output folder.

    molap generalise --profile full --seeds 0 --held-out DelayPro MemPro --out runs/gen-full   # resumable, hours
    python tools/ship_generalisation.py runs/gen-full --profile full   # -> molap/data/results/generalisation-full.json

Each finished job (`<out>/generalisation/<task>-<profile>-seed<s>.json`) is copied, with the shared pre-training
checkpoints it names, into a scratch folder, and `generalisation` summarises them there: it finds every job done and
trains nothing. A task ships only when all the seeds given (default: the seeds every finished task has) are done, so
the file never mixes seeds across tasks. Jobs still running in `<out>` are not touched.
"""
import argparse, shutil, tempfile
from pathlib import Path
from molap.core import atomic_write
from molap.generalisation import generalisation
from molap.tasks import TASK_NAMES

DATA = Path(__file__).resolve().parents[1] / "molap" / "data" / "results"


def finished(out: Path, profile: str) -> dict:
    "{task: [seeds whose job is done]} in the corpus's order."
    done = {}
    for t in TASK_NAMES:
        seeds = sorted(int(f.stem.rsplit("seed", 1)[1]) for f in (out / "generalisation").glob(f"{t}-{profile}-seed*.json"))
        if seeds: done[t] = seeds
    return done


def shippable(done: dict, seeds=None) -> tuple:
    "(seeds, tasks): the tasks that finished every one of `seeds` (default: the seeds all finished tasks share)."
    if not done: raise SystemExit("no finished held-out task")
    seeds = sorted(seeds or set.intersection(*(set(s) for s in done.values())))
    tasks = [t for t, s in done.items() if set(seeds) <= set(s)]
    if not seeds or not tasks: raise SystemExit(f"no held-out task has finished every seed of {seeds or 'any seed'}")
    return seeds, tasks


def ship(out: Path, profile: str, seeds=None) -> Path:
    seeds, tasks = shippable(finished(out, profile), seeds)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "generalisation").mkdir(); (d / "runs").mkdir()
        for t in tasks:
            for s in seeds:
                shutil.copy(out / "generalisation" / f"{t}-{profile}-seed{s}.json", d / "generalisation")
        for s in seeds:  # the standard modules the `molap-seen` learners start from (already trained: nothing retrains)
            shutil.copy(out / "runs" / f"pretrain-answer-{profile}-seed{s}.ckpt", d / "runs")
        generalisation(profile, d, seeds=seeds, held_out=tasks, progress=False)
        dst = DATA / f"generalisation-{profile}.json"
        atomic_write(dst, lambda f: shutil.copy(d / "generalisation.json", f))
    print(f"{dst}: {len(tasks)} held-out task(s) ({', '.join(tasks)}), seeds {seeds}")
    return dst


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="the output folder of `molap generalise`")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--seeds", type=int, nargs="*", help="ship tasks that finished all of these (default: the common ones)")
    a = ap.parse_args()
    ship(a.out, a.profile, a.seeds)
