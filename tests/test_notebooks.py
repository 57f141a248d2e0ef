"""Run every notebook of nbs/ as a test case, the way `nbdev-test` does (IN_TEST=1: quick profile, `slow` and
`notest` cells skipped), so that CI gets one pass/fail line per notebook."""
from pathlib import Path
import pytest
from nbdev.test import test_nb as run_nb

NBS = sorted((Path(__file__).resolve().parents[1] / "nbs").glob("*.ipynb"))


@pytest.mark.parametrize("nb", NBS, ids=[p.stem for p in NBS])
def test_notebook_runs(nb):
    ok, secs = run_nb(nb, skip_flags=["notest", "slow"], showerr=True)
    assert ok, f"{nb.name} failed (see the traceback above)"
