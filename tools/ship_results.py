"""Copy finished reproductions into the package data, so users and the docs get real results without training.

    molap reproduce --profile full --out runs/full      # (resumable; hours on a CPU)
    python tools/ship_results.py runs/full               # -> molap/data/{results,pretrained,checkpoints}
    python tools/ship_results.py runs/quick --numbers-only   # a quick-profile run: results.json only (no weights)
    python tools/ship_results.py runs/full-molap --add molap  # add one method's finished runs to the shipped results
    python tools/ship_results.py runs/full-molap --add molap --merge   # ... as more seeds of the shipped ones
    python tools/ship_results.py runs/full-sep --add separate --earlier "constant lr 1e-3"  # a new recipe replaces
    python tools/ship_results.py runs/full-w --compare molap pretraining_recipe "cosine lr, task weights"  # a variant

The first form ships results.json (as `molap/data/results/<profile>.json`), the pre-trained modules (read back by
`molap.multitask.load_pretrained`) and the trained weights of every method (state dicts, weights_only=True). `--add M`
summarises the per-seed records `runs/<M's file name>-<profile>-seed*.json` of one method (e.g. MoLaP's default,
run later than the rest), puts them into the shipped results of their profile under M, and ships their weights;
every other method's numbers stay as they were. With `--merge` the new seeds join the seeds already shipped for M (their
per-seed numbers are kept as shipped, the means recomputed over all); with `--earlier LABEL` the shipped summary of M
is kept under `earlier["M (LABEL)"]` before the new runs replace it. `--compare M KEY LABEL` ships nothing but
numbers: the summary of a variant's runs of M goes under `KEY[LABEL]`, beside the shipped recipe, for a comparison.
A MoLaP summary with answer primitives also records its modules' own answers per seed (`module_accuracy`), read from the
run's pre-training checkpoints or, for a summary moved to `earlier`, from the shipped modules it is about to replace.
"""
import argparse, json, shutil, statistics
from pathlib import Path
import torch
from molap.core import atomic_write
from molap.training import get_profile
from molap.multitask import save_pretrained, load_pretrained, method_name, VARIANTS
from molap.pretraining import cca_primitives, v1_primitives, answer_primitives, pretraining_network, module_accuracy
from molap.primitives import latent_primitives
from molap.reproduce import summarise
from molap.tasks import TASK_NAMES

DATA = Path(__file__).resolve().parents[1] / "molap" / "data"
FILE = {method_name(v): f"molap-{v}" for v in VARIANTS}  # method -> its runs' file prefix


def run_modules(src: Path, variant: str, profile: str, seed: int, sizes, p):
    "The pre-trained modules of a finished run (primitives `p`), from its pre-training checkpoint."
    net = pretraining_network(p, tuple(sizes), seed=seed)
    net.load_state_dict(torch.load(src / "runs" / f"pretrain-{variant}-{profile}-seed{seed}.ckpt", weights_only=True)["model"])
    return net


def ship_modules(src: Path, variant: str, profile: str, seed: int, sizes, r2):
    "The pre-trained modules of one variant's run as a small weights-only file."
    prof = get_profile(profile)
    cca = latent_primitives(prof.cca_trials, seed=seed, config=prof.task) if variant == "cca" else None
    p = {"cca": lambda: cca_primitives(cca), "v1": v1_primitives, "answer": lambda: answer_primitives(prof, seed=seed),
         "oracle": lambda: answer_primitives(prof, seed=seed, source="oracle")}[variant]()
    save_pretrained(DATA / "pretrained" / f"modules-{variant}-{profile}-seed{seed}.pt", run_modules(src, variant, profile, seed, sizes, p),
                    cca, meta=dict(profile=profile, seed=seed, primitives=variant, r2=r2, module_sizes=list(sizes)))


def own_accuracy(summary: dict, profile: str, modules_of, source: str = "observed") -> dict:
    "{task: [fraction correct of the modules' own answers, per seed]} for an answer-primitives summary; `modules_of(seed, p)`."
    prof = get_profile(profile)
    own = {}
    for s in summary["seeds"]:
        p = answer_primitives(prof, seed=s, source=source)
        own[s] = module_accuracy(modules_of(s, p), p, task_config=prof.task)
    return {t: [own[s][t] for s in summary["seeds"]] for t in TASK_NAMES}


def ship_weights(src: Path, run: str, dst: str):
    state = torch.load(src / "runs" / f"{run}.ckpt", weights_only=True)["model"]
    atomic_write(DATA / "checkpoints" / f"{dst}.pt", lambda t: torch.save(state, t))


def ship_all(src: Path, numbers_only: bool):
    results = json.loads((src / "results.json").read_text())
    profile = results["profile"]
    atomic_write(DATA / "results" / f"{profile}.json", lambda t: shutil.copy(src / "results.json", t))
    if numbers_only: return
    for seed in results["seeds"]:
        for v in ("answer", "cca", "v1"):
            m = results["methods"][method_name(v)]
            ship_modules(src, v, profile, seed, m["module_sizes"], m["pretraining"]["r2"])
        for m in results["methods"]:
            ship_weights(src, f"{FILE.get(m, m)}-{profile}-seed{seed}", f"{FILE.get(m, m)}-{profile}-seed{seed}")


def merge_seeds(old: dict, new: dict) -> dict:
    "A shipped summary `old` joined by the summary `new` of further seeds: per-seed numbers kept, means over all seeds."
    if set(old["seeds"]) & set(new["seeds"]): raise SystemExit(f"seeds {old['seeds']} already shipped; new: {new['seeds']}")
    n_old, n_new = len(old["seeds"]), len(new["seeds"])
    wmean = lambda a, b: (a * n_old + b * n_new) / (n_old + n_new)  # means of the two groups, weighted by seeds
    acc = {t: old["accuracy_per_seed"][t] + new["accuracy_per_seed"][t] for t in TASK_NAMES}
    out = dict(old, accuracy={t: statistics.fmean(v) for t, v in acc.items()},
               accuracy_sd={t: statistics.pstdev(v) for t, v in acc.items()}, accuracy_per_seed=acc,
               mean_accuracy=statistics.fmean(statistics.fmean(v) for v in acc.values()),
               seeds=old["seeds"] + new["seeds"], train_seconds=wmean(old["train_seconds"], new["train_seconds"]))
    if "pretraining" in old:
        po, pn = old["pretraining"], new["pretraining"]
        per_seed = {m: po["r2_per_seed"][m] + pn["r2_per_seed"][m] for m in po["r2_per_seed"]}
        out["pretraining"] = dict(po, r2={m: statistics.fmean(v) for m, v in per_seed.items()}, r2_per_seed=per_seed,
                                  train_seconds=wmean(po["train_seconds"], pn["train_seconds"]))
        if "own_accuracy_per_seed" in po and "own_accuracy_per_seed" in pn:
            out["pretraining"]["own_accuracy_per_seed"] = {t: po["own_accuracy_per_seed"][t] + pn["own_accuracy_per_seed"][t]
                                                           for t in TASK_NAMES}
        else: out["pretraining"].pop("own_accuracy_per_seed", None)  # not known for every seed
    return out


def finished_runs(src: Path, method: str) -> tuple:
    "(records, their summary) of one method's finished runs in `src/runs`; answer-MoLaP summaries with own accuracy."
    records = [json.loads(p.read_text()) for p in sorted((src / "runs").glob(f"{FILE.get(method, method)}-*-seed*.json"))]
    if not records: raise SystemExit(f"no finished runs of {method} in {src / 'runs'}")
    new, profile = summarise(records), records[0]["profile"]
    variant = records[0].get("variant")
    if variant in ("answer", "oracle"):
        new["pretraining"]["own_accuracy_per_seed"] = own_accuracy(
            new, profile, lambda s, p: run_modules(src, variant, profile, s, records[0]["module_sizes"], p),
            source="oracle" if variant == "oracle" else "observed")
    return records, new


def add_comparison(src: Path, method: str, key: str, label: str):
    "Put the summary of a variant's runs under results[key][label] (numbers only; nothing else changes)."
    records, new = finished_runs(src, method)
    path = DATA / "results" / f"{records[0]['profile']}.json"
    results = json.loads(path.read_text())
    new.pop("history")
    results.setdefault(key, {})[label] = dict(new, profile_settings=records[0]["profile_settings"])
    atomic_write(path, lambda t: Path(t).write_text(json.dumps(results, indent=1)))


def add_method(src: Path, method: str, merge: bool = False, earlier: str | None = None, numbers_only: bool = False):
    records, new = finished_runs(src, method)
    profile = records[0]["profile"]
    path = DATA / "results" / f"{profile}.json"
    results = json.loads(path.read_text())
    old = results["methods"].get(method)
    if earlier:
        if old is None: raise SystemExit(f"no shipped {method} to keep as earlier")
        if records[0].get("variant") == "answer" and "own_accuracy_per_seed" not in old["pretraining"]:
            old["pretraining"]["own_accuracy_per_seed"] = own_accuracy(old, profile,
                                                                       lambda s, p: load_pretrained("answer", profile, s)[0])
        results.setdefault("earlier", {})[f"{method} ({earlier})"] = old
    results["methods"][method] = merge_seeds(old, new) if merge else new
    seeds = results["methods"][method]["seeds"]
    results.setdefault("added", {})[method] = (f"ran after the rest of this profile, with the settings in its "
                                               f"profile_settings; seeds {seeds}"
                                               + (f" (seeds {new['seeds']} added to {old['seeds']})" if merge else ""))
    results["methods"][method]["profile_settings"] = records[0]["profile_settings"]
    atomic_write(path, lambda t: Path(t).write_text(json.dumps(results, indent=1)))
    variant = records[0].get("variant")  # MoLaP's runs have pre-trained modules to ship; baselines and random don't
    for r in ([] if numbers_only else records):
        if variant not in (None, "random"):
            ship_modules(src, variant, profile, r["seed"], r["module_sizes"], r["pretraining"]["r2"])
        ship_weights(src, f"{FILE.get(method, method)}-{profile}-seed{r['seed']}", f"{FILE.get(method, method)}-{profile}-seed{r['seed']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", help="a reproduction's output folder")
    ap.add_argument("--numbers-only", action="store_true", help="ship results.json only (with --add: the numbers, no weights)")
    ap.add_argument("--add", metavar="METHOD", help="add one method's finished runs to the shipped results")
    ap.add_argument("--merge", action="store_true", help="with --add: the runs are further seeds of the shipped method")
    ap.add_argument("--earlier", metavar="LABEL", help="with --add: keep the shipped summary under earlier[METHOD (LABEL)]")
    ap.add_argument("--compare", nargs=3, metavar=("METHOD", "KEY", "LABEL"),
                    help="ship only the numbers of a variant's runs of METHOD, under KEY[LABEL]")
    args = ap.parse_args(argv)
    src = Path(args.src)
    if args.compare: add_comparison(src, *args.compare)
    elif args.add: add_method(src, args.add, args.merge, args.earlier, args.numbers_only)
    else: ship_all(src, args.numbers_only)
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    print(f"shipped to {DATA} ({total / 1e6:.1f} MB in the package data)")


if __name__ == "__main__":
    main()
