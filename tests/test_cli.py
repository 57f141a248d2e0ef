"""The README's main job: the `molap` console command, installed as an entry point."""
import shutil, subprocess
from molap.tasks import TASK_NAMES


def test_molap_tasks_command(tmp_path):
    exe = shutil.which("molap")
    assert exe, "the molap console script is not installed (pip install -e .)"
    r = subprocess.run([exe, "tasks", "--out", str(tmp_path / "out")], capture_output=True, text=True, check=True)
    for t in TASK_NAMES: assert f"| {t} |" in r.stdout
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == sorted([f"{t}.png" for t in TASK_NAMES] + ["epochs.md"])
    assert all((tmp_path / "out" / f).stat().st_size > 1000 for f in files if f.endswith(".png"))


def test_molap_bad_argument_is_one_clear_line(tmp_path):
    r = subprocess.run(["molap", "tasks", "--out", str(tmp_path), "--sigma-in", "-1"], capture_output=True, text=True)
    assert r.returncode == 2 and "sigma_in must be >= 0" in r.stderr
    assert not any(tmp_path.iterdir()), "nothing may be written on bad input"


def test_readme_and_ci_agree(root):
    "CI runs exactly the README's test command."
    readme, ci = (root / "README.md").read_text(), (root / ".ci/run").read_text()
    cmd = 'pip install torch==2.13.0 -e ".[dev,bench]" && python -m pytest -n 2'
    assert cmd in readme and cmd in ci
