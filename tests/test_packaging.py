"""`pip install molap` from a built wheel: the modules, the console script and the package data are inside."""
import subprocess, sys, zipfile
from pathlib import Path


def test_wheel_installs_and_runs(tmp_path, root):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(root)],
                   check=True, capture_output=True)
    wheel, = (tmp_path / "dist").glob("molap-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for mod in ("core", "tasks", "cli", "_modidx", "networks", "training", "primitives", "pretraining", "multitask",
                "baselines", "reproduce"):
        assert f"molap/{mod}.py" in names
    # the full profile's results and weights ship as package data
    for f in ("results/full.json", "pretrained/modules-cca-full-seed0.pt", "pretrained/modules-v1-full-seed0.pt",
              "checkpoints/separate-full-seed0.pt", "checkpoints/joint-full-seed0.pt"):
        assert f"molap/data/{f}" in names, f
    ep = next(n for n in names if n.endswith("entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(ep).decode()
    assert "molap = molap.cli:main" in entry_points
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: torch>=2.1" in meta
    # install into an isolated target and run the command from there, not from the source tree
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import molap, molap.cli; "
            "assert molap.__file__.startswith(sys.argv[1]), molap.__file__; "
            "m, c, meta = molap.load_pretrained('cca'); assert m.J.shape == (256, 256) and c.r == 3; "
            "from molap.core import load_results; assert load_results('full')['profile'] == 'full'; "
            "sys.exit(molap.cli.main(['tasks', '--out', sys.argv[2]]))")
    subprocess.run([sys.executable, "-c", code, str(site), str(tmp_path / "out")], check=True, capture_output=True,
                   cwd=tmp_path)
    assert len(list((tmp_path / "out").glob("*.png"))) == 9
