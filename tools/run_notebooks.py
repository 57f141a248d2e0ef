#!/usr/bin/env python
"""Execute notebooks in place (the quick profile; `slow`/`notest` cells skipped), so their saved outputs are current.

    python tools/run_notebooks.py [nbs/00_core.ipynb ...]     # default: every notebook of nbs/

It runs each notebook the way the tests do (nbdev's `test_nb`, one torch thread) and writes the outputs back only if
every cell succeeded, then cleans the metadata with `nbdev-clean`.
"""
import os, subprocess, sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main(paths):
    import torch
    torch.set_num_threads(1)
    from nbdev.test import test_nb
    root = Path(__file__).resolve().parents[1]
    nbs = [Path(p).resolve() for p in paths] or sorted((root / "nbs").glob("*.ipynb"))
    failed = []
    for nb in nbs:
        ok, secs = test_nb(nb, skip_flags=["notest", "slow"], save=True)
        print(f"{nb.name}: {'ok' if ok else 'FAILED'} in {secs:.0f} s ({nb.stat().st_size / 1e6:.2f} MB)", flush=True)
        if not ok: failed.append(nb.name)
    subprocess.run(["nbdev-clean"], cwd=root, check=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
