"""Copy a finished full-profile reproduction into the package data, so users and the docs get real results.

    molap reproduce --profile full --out runs/full      # (resumable; hours on a CPU)
    python tools/ship_results.py runs/full               # -> molap/data/{results,pretrained,checkpoints}

Ships results.json (as `molap/data/results/full.json`), the pre-trained modules with their CCA (read back by
`molap.load_pretrained`), and the trained weights of every method (state dicts, loadable with weights_only=True).
"""
import json, shutil, sys
from pathlib import Path
import torch
from molap.core import atomic_write
from molap.training import get_profile
from molap.multitask import save_pretrained
from molap.pretraining import cca_primitives, v1_primitives, pretraining_network
from molap.primitives import latent_primitives

DATA = Path(__file__).resolve().parents[1] / "molap" / "data"


def main(src):
    src = Path(src)
    results = json.loads((src / "results.json").read_text())
    profile = results["profile"]
    (DATA / "results").mkdir(parents=True, exist_ok=True)
    shutil.copy(src / "results.json", DATA / "results" / f"{profile}.json")
    prof = get_profile(profile)
    sizes = prof.module_sizes
    for seed in results["seeds"]:
        for name in ("cca", "v1"):
            cca = latent_primitives(prof.cca_trials, seed=seed, config=prof.task) if name == "cca" else None
            p = cca_primitives(cca) if cca is not None else v1_primitives()
            net = pretraining_network(p, sizes, seed=seed)
            state = torch.load(src / "runs" / f"pretrain-{name}-{profile}-seed{seed}.ckpt", weights_only=True)
            net.load_state_dict(state["model"])
            save_pretrained(DATA / "pretrained" / f"modules-{name}-{profile}-seed{seed}.pt", net, cca,
                            meta=dict(profile=profile, seed=seed, primitives=name, r2=results["methods"][
                                "molap-lag0" if name == "cca" else "molap-v1"]["pretraining"]["r2"]))
        for f, dst in [(f"separate-{profile}-seed{seed}", "separate"), (f"joint-{profile}-seed{seed}", "joint"),
                       *[(f"molap-{v}-{profile}-seed{seed}", f"molap-{v}") for v in ("cca", "v1", "random")]]:
            state = torch.load(src / "runs" / f"{f}.ckpt", weights_only=True)["model"]
            atomic_write(DATA / "checkpoints" / f"{dst}-{profile}-seed{seed}.pt", lambda t: torch.save(state, t))
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    print(f"shipped {profile} results to {DATA} ({total / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/full")
