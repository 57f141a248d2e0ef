"""The Colab / `pip install molap` route: every notebook runs against the installed wheel in a fresh virtual
environment that has only molap's own requirements and a notebook kernel (as Colab has), not the dev extras."""
import os, re, subprocess, sys, venv
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP = re.compile(r"^#\|\s*(eval:\s*false|slow|notest)\b", re.M)

RUNNER = r'''
import sys, json, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells = [c for c in nb.cells if c.cell_type != "code" or not __import__("re").search(sys.argv[2], c.source, __import__("re").M)]
NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[3]}}).execute()
'''


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("colab")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(ROOT)],
                   check=True, capture_output=True)
    wheel, = (tmp / "dist").glob("molap-*.whl")
    venv.create(tmp / "venv", with_pip=True)
    py = tmp / "venv" / "bin" / "python"
    # torch first from the CI machine's pin (elsewhere: whatever torch>=2.1 the user has), then the wheel and a kernel
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "torch==2.13.0", str(wheel), "nbclient", "ipykernel",
                        "nbformat"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return py, tmp


def test_wheel_env_has_no_dev_extras(wheel_env):
    py, _ = wheel_env
    r = subprocess.run([str(py), "-c", "import importlib.util as u; print([m for m in ('nbdev', 'sklearn', 'hypothesis') "
                        "if u.find_spec(m)])"], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]", r.stdout


@pytest.mark.parametrize("nb", sorted((ROOT / "nbs").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_runs_on_installed_wheel(wheel_env, nb, tmp_path):
    py, _ = wheel_env
    (tmp_path / "runner.py").write_text(RUNNER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", MPLBACKEND="Agg", PATH=f"{py.parent}:{env.get('PATH', '')}")
    r = subprocess.run([str(py), str(tmp_path / "runner.py"), str(nb), SKIP.pattern, str(tmp_path)],
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-4000:]
