"""Every notebook of nbs/ runs, as a test case, the way a reader runs it in Colab: against the installed wheel in a
fresh virtual environment that has only molap's own requirements (with the `neurogym` extra the "Beyond the corpus"
lesson installs) and a notebook kernel, not the dev extras. Cells
marked `#| slow` or `#| notest` (nbdev's `tst_flags`) and `#| eval: false` (the install cell) are skipped, as
`nbdev-test` skips them. One run per notebook: the wheel holds the same code the notebooks export, so a second run in
the development environment would test nothing more."""
import os, re, subprocess, sys, tomllib, venv
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT / "nbs").glob("*.ipynb"))
TST_FLAGS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["nbdev"]["tst_flags"].split()
SKIP = re.compile(r"^#\|\s*(eval:\s*false|" + "|".join(TST_FLAGS) + r")\b", re.M)

RUNNER = r'''
import sys, re, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells = [c for c in nb.cells if c.cell_type != "code" or not re.search(sys.argv[2], c.source, re.M)]
NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": sys.argv[3]}}).execute()
'''


def installed_closure(name: str) -> set:
    "The top-level files and folders (packages, dist-info) of an installed distribution and of everything it requires."
    from importlib import metadata
    from packaging.requirements import Requirement
    seen, todo, tops = set(), [name], set()
    while todo:
        d = metadata.distribution(todo.pop())
        key = d.metadata["Name"].lower().replace("_", "-")
        if key in seen or key in ("pip", "setuptools"): continue  # a new venv has its own
        seen.add(key)
        tops |= {Path(d.locate_file(f.parts[0])) for f in d.files or () if f.parts[0] != ".."}
        for req in map(Requirement, d.requires or ()):
            if req.marker is None or req.marker.evaluate({"extra": ""}): todo.append(req.name)
    return {t for t in tops if t.exists() and t.name != "__pycache__"}


@pytest.fixture(scope="session")
def wheel_env(tmp_path_factory):
    "One wheel environment for the whole run, built by whichever test worker gets here first (a file lock)."
    from filelock import FileLock  # a dependency of torch
    shared = tmp_path_factory.getbasetemp().parent  # common to every pytest-xdist worker of this run
    tmp, py = shared / "colab", shared / "colab" / "venv" / "bin" / "python"
    with FileLock(str(shared / "colab.lock")):
        if not (tmp / "ready").exists():
            tmp.mkdir(exist_ok=True)
            subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(ROOT)],
                           check=True, capture_output=True)
            wheel, = (tmp / "dist").glob("molap-*.whl")
            venv.create(tmp / "venv", with_pip=True)
            # torch comes preinstalled, as in Colab: this interpreter's torch and what it requires, linked (installing it
            # again is a minute of unpacking that tests nothing of ours); then the wheel and a kernel
            site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                       capture_output=True, text=True, check=True).stdout.strip())
            for top in installed_closure("torch"):
                (site / top.name).symlink_to(top)
            r = subprocess.run([str(py), "-m", "pip", "install", "-q", f"{wheel}[neurogym]", "nbclient", "ipykernel",
                                "nbformat"], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr[-3000:]
            (tmp / "ready").write_text("")
    return py


def test_skip_flags_are_nbdevs():
    "The runner skips exactly what `nbdev-test` skips (its `tst_flags`), plus the never-run install cells."
    assert set(TST_FLAGS) == {"notest", "slow"}
    assert SKIP.search("#| slow\nx = 1") and SKIP.search("#| eval: false\n%pip install x") and not SKIP.search("#| export")


def test_wheel_env_has_no_dev_extras(wheel_env):
    r = subprocess.run([str(wheel_env), "-c", "import importlib.util as u; print([m for m in ('nbdev', 'sklearn', "
                        "'hypothesis', 'distributed') if u.find_spec(m)])"], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]", r.stdout


@pytest.mark.parametrize("nb", NBS, ids=lambda p: p.stem)
def test_notebook_runs(wheel_env, nb, tmp_path):
    (tmp_path / "runner.py").write_text(RUNNER)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(OMP_NUM_THREADS="1", MPLBACKEND="Agg", PATH=f"{wheel_env.parent}:{env.get('PATH', '')}")
    r = subprocess.run([str(wheel_env), str(tmp_path / "runner.py"), str(nb), SKIP.pattern, str(tmp_path)],
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, f"{nb.name} failed:\n" + r.stderr[-4000:]
