from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


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
LONG_FIRST = ("test_notebooks.py::test_notebook_runs", "test_cli.py::test_main_job_ctrl_c_resume_and_end_to_end",
              "test_jobs.py", "test_interrupt.py::test_ctrl_c", "test_docs.py", "test_site_browser.py")


def pytest_collection_modifyitems(config, items):
    rank = lambda item: next((i for i, k in enumerate(LONG_FIRST) if k in item.nodeid), len(LONG_FIRST))
    items.sort(key=rank)  # stable: the order within each group stays as collected


def interruptible() -> dict:
    """Popen keyword arguments that give the child the default SIGINT handling, even when the tests themselves run with
    SIGINT ignored (a shell starts a background job so, e.g. `nohup pytest &`): else Python keeps ignoring it."""
    import signal
    return dict(preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
