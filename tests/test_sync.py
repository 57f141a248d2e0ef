"""The notebooks are the source: the exported package and the jupytext mirrors must be in step with them."""
import shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _copy_project(dst: Path):
    for f in ("pyproject.toml", "jupytext.toml"): shutil.copy(ROOT / f, dst / f)
    for d in ("nbs", "pysrc", "molap"): shutil.copytree(ROOT / d, dst / d, ignore=shutil.ignore_patterns("__pycache__"))


def _differences(a: Path, b: Path, pattern: str):
    names = {p.name for p in a.glob(pattern)} | {p.name for p in b.glob(pattern)}
    return sorted(n for n in names if not ((a / n).exists() and (b / n).exists()
                                           and (a / n).read_text() == (b / n).read_text()))


def test_package_matches_notebooks(tmp_path):
    "Re-exporting the notebooks into a copy of the project changes nothing in molap/."
    _copy_project(tmp_path)
    subprocess.run(["nbdev-export"], cwd=tmp_path, check=True, capture_output=True)
    stale = _differences(ROOT / "molap", tmp_path / "molap", "*.py")
    assert not stale, f"molap/ is out of step with nbs/ for {stale}: run nbdev-export and commit"


def test_mirrors_match_notebooks(tmp_path):
    "Every notebook has a py:percent mirror in pysrc/ equal to what jupytext writes from the notebook."
    _copy_project(tmp_path)
    nbs = sorted((tmp_path / "nbs").glob("*.ipynb"))
    for nb in nbs: nb.touch()  # the .ipynb is the source of truth: make it the newer file
    subprocess.run([sys.executable, "-m", "jupytext", "--sync", *map(str, nbs)], cwd=tmp_path, check=True,
                   capture_output=True)
    stale = _differences(ROOT / "pysrc", tmp_path / "pysrc", "*.py")
    assert not stale, f"pysrc/ mirrors out of step with nbs/ for {stale}: run jupytext --sync nbs/*.ipynb"
    assert {p.stem for p in nbs} == {p.stem for p in (ROOT / "pysrc").glob("*.py")}
