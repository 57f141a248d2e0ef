from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_tool(name: str):
    "A script of tools/, imported as a module (its main part only runs as a script)."
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def root():
    "The repository root."
    return ROOT


def pytest_configure(config):
    "One torch thread per test worker: `pytest -n 2` on 2 cores would otherwise oversubscribe them (≈20x slower)."
    import os
    if os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("MOLAP_TEST_THREADS"):
        import torch
        torch.set_num_threads(int(os.environ.get("MOLAP_TEST_THREADS", "1")))


# The longest tests start first, so that the short ones fill the gaps at the end instead of a long one running alone.
# With `--maxschedchunk 1` (pyproject.toml) pytest-xdist hands out the tests one at a time in this order, so each
# worker takes the next long test when it is free. Measured durations on two cores (a CI run): the main job's test
# ≈ 5 min, lesson 05 ≈ 3, 07 and 10 ≈ 1.5, the others ≤ 1.
LONG_FIRST = ("test_cli.py::test_main_job_ctrl_c_resume_and_end_to_end", "test_notebooks.py::test_notebook_runs[05_",
              "test_notebooks.py::test_notebook_runs[07_", "test_notebooks.py::test_notebook_runs[10_",
              "test_notebooks.py::test_notebook_runs[12_", "test_notebooks.py::test_notebook_runs[06_",
              "test_notebooks.py::test_notebook_runs[04_", "test_notebooks.py::test_notebook_runs[11_",
              "test_jobs.py", "test_interrupt.py::test_ctrl_c", "test_notebooks.py::test_notebook_runs",
              "test_docs.py", "test_site_browser.py")


def pytest_collection_modifyitems(config, items):
    rank = lambda item: next((i for i, k in enumerate(LONG_FIRST) if k in item.nodeid), len(LONG_FIRST))
    items.sort(key=rank)  # stable: the order within each group stays as collected


def interruptible() -> dict:
    """Popen keyword arguments that give the child the default SIGINT handling, even when the tests themselves run with
    SIGINT ignored (a shell starts a background job so, e.g. `nohup pytest &`): else Python keeps ignoring it."""
    import signal
    return dict(preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
