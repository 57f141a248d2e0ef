#!/usr/bin/env python
"""Execute notebooks in place (the quick profile; `slow`/`notest` cells skipped), so their saved outputs are current.

    python tools/run_notebooks.py [nbs/00_core.ipynb ...]     # default: every notebook of nbs/

It runs each notebook the way the tests do (nbdev's `test_nb`, one torch thread) and writes the outputs back only if
every cell succeeded, stores its figures as 256-colour PNGs (line plots look the same at about a third of the
bytes, which keeps each notebook well under the 1 MB a lesson may weigh), then cleans the metadata with `nbdev-clean`.

    python tools/run_notebooks.py --figures-only [nbs/...]   # only lighten the figures already saved
"""
import base64, io, json, os, subprocess, sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def lighten_figures(nb: Path) -> int:
    "Re-encode `nb`'s opaque PNG outputs with a 256-colour palette where that is smaller; returns the bytes saved."
    from PIL import Image
    book, saved = json.loads(nb.read_text()), 0
    for cell in book["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" not in data: continue
            raw = base64.b64decode(data["image/png"])
            im = Image.open(io.BytesIO(raw))
            if im.mode == "P" or (im.mode == "RGBA" and im.getextrema()[3][0] < 255): continue  # done, or see-through
            small = io.BytesIO()
            im.convert("RGB").quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(small, "PNG", optimize=True)
            if len(small.getvalue()) < len(raw):
                data["image/png"], saved = base64.b64encode(small.getvalue()).decode(), saved + len(raw) - len(small.getvalue())
    if saved: nb.write_text(json.dumps(book, indent=1, ensure_ascii=False) + "\n")
    return saved


def main(paths):
    figures_only = "--figures-only" in paths
    paths = [p for p in paths if p != "--figures-only"]
    root = Path(__file__).resolve().parents[1]
    nbs = [Path(p).resolve() for p in paths] or sorted((root / "nbs").glob("*.ipynb"))
    if figures_only:
        for nb in nbs: print(f"{nb.name}: {lighten_figures(nb) / 1e3:.0f} kB lighter", flush=True)
        subprocess.run(["nbdev-clean"], cwd=root, check=True)
        return 0
    import torch
    torch.set_num_threads(1)
    from nbdev.test import test_nb
    failed = []
    for nb in nbs:
        ok, secs = test_nb(nb, skip_flags=["notest", "slow"], save=True)
        if ok: lighten_figures(nb)
        print(f"{nb.name}: {'ok' if ok else 'FAILED'} in {secs:.0f} s ({nb.stat().st_size / 1e6:.2f} MB)", flush=True)
        if not ok: failed.append(nb.name)
    subprocess.run(["nbdev-clean"], cwd=root, check=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
