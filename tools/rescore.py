#!/usr/bin/env python
"""Score shipped networks over the whole task distribution (`molap.reproduce.accuracy_over_trials`: every trial its own
timing and modality, 2,048 trials per task), without retraining; results to molap/data/results/<profile>-over-trials.json.

    python tools/rescore.py                          # every network the full profile ships, every seed it ships
    python tools/rescore.py --run "molap (task stage 1,000 x 32)" runs/full-v3/runs/molap-answer-full-seed*.ckpt
                                                     # MoLaP task-stage checkpoints of a run (e.g. before a re-run
                                                     # replaced the shipped ones), under a label of their own

Incremental: a network already in the file is kept if its weights are the ones scored (a digest of its state dict is
stored beside the scores, so a network shipped again under the same name is scored again); --force scores every one.
"""
import argparse, json, re
from pathlib import Path
import torch
from molap.core import weights_digest

def networks(profile, run=None):
    "(label, seed, loader) of every shipped network, or of the MoLaP task-stage checkpoints `run = (label, paths)`."
    from molap.core import load_results
    from molap.reproduce import ALL_METHODS, network_file, load_network
    if run is None:  # the seeds the shipped results list (a checkpoint of another seed may be from an earlier run)
        shipped = load_results(profile)["methods"]
        return [(m, s, lambda m=m, s=s: load_network(m, profile, s)) for m in ALL_METHODS if m in shipped
                for s in shipped[m]["seeds"] if network_file(m, profile, s).exists()]
    label, paths = run
    def load(path):
        model, cfg = load_network("molap", profile, 0)  # the shipped architecture; the run's weights
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["model"])
        return model, cfg
    return [(label, int(re.search(r"seed(\d+)", Path(p).name).group(1)), lambda p=p: load(p)) for p in paths]


def main(argv=None):
    from molap.core import atomic_write, data_dir, set_threads
    from molap.reproduce import accuracy_over_trials, OVER_TRIALS_SEED
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="full")
    ap.add_argument("--run", nargs="+", metavar="LABEL CKPT", help="a label, then MoLaP task-stage checkpoints")
    ap.add_argument("--trials", type=int, default=2048)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    set_threads(1)
    path = data_dir() / "results" / f"{args.profile}-over-trials.json"
    res = json.loads(path.read_text()) if path.exists() else dict(profile=args.profile, n_trials=args.trials,
                                                                   seed=OVER_TRIALS_SEED, networks={}, weights={})
    if res["n_trials"] != args.trials: raise SystemExit(f"{path} was scored on {res['n_trials']} trials per task")
    run = (args.run[0], args.run[1:]) if args.run else None
    scored = res.setdefault("weights", {})  # label -> seed -> digest of the weights behind the scores
    for label, seed, load in networks(args.profile, run):
        model, cfg = load()
        digest = weights_digest(model)
        if scored.get(label, {}).get(str(seed)) == digest and not args.force: continue
        model.eval()
        acc = accuracy_over_trials(model, cfg, args.trials)
        res["networks"].setdefault(label, {})[str(seed)] = acc
        scored.setdefault(label, {})[str(seed)] = digest
        atomic_write(path, lambda f: Path(f).write_text(json.dumps(res, indent=1)))  # after every network: resumable
        print(f"{label:32s} seed {seed}: mean {sum(acc.values()) / len(acc):.4f}, min {min(acc.values()):.3f}", flush=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
