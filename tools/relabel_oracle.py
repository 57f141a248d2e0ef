#!/usr/bin/env python
"""One-off relabel (no numbers recomputed): the full-profile MoLaP runs shipped before the observables change read the
generator's trial records to build their primitives, so they ship on as `molap-oracle` (checkpoints, modules, results
and their scores over the task distribution), leaving `molap` to the runs whose primitives are built from observables.

    python tools/relabel_oracle.py          # idempotent: does nothing once relabelled
"""
import json
from pathlib import Path
from molap.core import atomic_write, data_dir


def main():
    d = data_dir()
    for kind, old, new in [("checkpoints", "molap-answer-full-seed{}.pt", "molap-oracle-full-seed{}.pt"),
                           ("pretrained", "modules-answer-full-seed{}.pt", "modules-oracle-full-seed{}.pt")]:
        for s in range(10):
            src, dst = d / kind / old.format(s), d / kind / new.format(s)
            if src.exists() and not dst.exists(): src.rename(dst); print(f"{src.name} -> {dst.name}")
    path = d / "results" / "full.json"
    F = json.loads(path.read_text())
    if "molap-oracle" not in F["methods"]:
        F["methods"]["molap-oracle"] = F["methods"].pop("molap")
        F.setdefault("renamed", "")
        F["renamed"] += ("; the MoLaP runs shipped until the observables change (their primitives read the generator's "
                         "trial records) are now 'molap-oracle'")
        if "added" in F and "molap" in F["added"]: F["added"]["molap-oracle"] = F["added"].pop("molap")
        atomic_write(path, lambda f: Path(f).write_text(json.dumps(F, indent=1)))
        print("full.json: molap -> molap-oracle")
    path = d / "results" / "full-over-trials.json"
    O = json.loads(path.read_text())
    if "molap-oracle" not in O["networks"] and "molap" in O["networks"]:
        for k in ("networks", "weights"): O[k]["molap-oracle"] = O[k].pop("molap")
        atomic_write(path, lambda f: Path(f).write_text(json.dumps(O, indent=1)))
        print("full-over-trials.json: molap -> molap-oracle")
    for name in ("generalisation-full", "generalisation-quick", "robustness-full", "robustness-quick", "ablation-quick"):
        path = d / "results" / f"{name}.json"
        R = json.loads(path.read_text())
        if "primitives_source" not in R:  # made before the observables change: MoLaP's primitives read the records
            R["primitives_source"] = "oracle"
            atomic_write(path, lambda f: Path(f).write_text(json.dumps(R, indent=1)))
            print(f"{name}.json: primitives_source = oracle")


if __name__ == "__main__":
    main()
