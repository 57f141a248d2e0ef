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
