"""Ctrl-C at any moment: every finished step is kept, one line says how to resume, exit status 130, no traceback;
the resumed run ends exactly where an uninterrupted one does. Also: output files are readable like any other."""
import json, os, signal, subprocess, time
import pytest
from conftest import interruptible

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
ARGS = ["baselines", "--profile", "quick", "--methods", "separate", "--separate-steps", "60", "--eval-trials", "64"]


def molap(*args, **kw):
    return subprocess.run(["molap", *args], capture_output=True, text=True, env=ENV, **kw)


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    "The uninterrupted run, once for the whole test run (every pytest-xdist worker reads the same one: a file lock)."
    from filelock import FileLock  # a dependency of torch
    shared = tmp_path_factory.getbasetemp().parent
    with FileLock(str(shared / "interrupt-ref.lock")):
        if not (shared / "interrupt-ref" / "done").exists():
            ref = molap(*ARGS, "--out", str(shared / "interrupt-ref"))
            assert ref.returncode == 0, ref.stderr[-1500:]
            (shared / "interrupt-ref" / "done").write_text("")
    return json.loads(next((shared / "interrupt-ref").glob("*.json")).read_text())


@pytest.mark.parametrize("delay", [0.05, 0.7, 1.9])
def test_ctrl_c_keeps_finished_steps_and_resumes_exactly(tmp_path, delay, reference):
    p = subprocess.Popen(["molap", *ARGS, "--out", str(tmp_path / "run")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, **interruptible())
    seen = ""
    while "LeakyRNN" not in seen:  # training has started: its progress bar is on stderr
        c = p.stderr.read(1)
        assert c, "the run ended before training started"
        seen += c
    time.sleep(delay)  # then the signal lands at some moment of some step
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    err = seen + err
    if p.returncode == 0: pytest.skip("the run finished before the interrupt")
    assert p.returncode == 130, err[-1500:]
    assert "Traceback" not in err and "interrupted" in err and "run the same command again" in err
    ck = list((tmp_path / "run").glob("*.ckpt"))
    if ck:  # interrupted after the first step: that step and every earlier one are in the checkpoint
        import torch
        assert torch.load(ck[0], weights_only=True)["step"] >= 1
    again = molap(*ARGS, "--out", str(tmp_path / "run"))
    assert again.returncode == 0, again.stderr[-1500:]
    a, b = reference, json.loads(next((tmp_path / "run").glob("*.json")).read_text())
    assert a["accuracy"] == b["accuracy"] and a["history"]["loss"] == b["history"]["loss"]


def test_outputs_are_readable_and_bad_folders_fail_first(tmp_path):
    r = molap("tasks", "--out", str(tmp_path / "out"))
    assert r.returncode == 0
    umask = os.umask(0); os.umask(umask)
    for f in (tmp_path / "out").iterdir():
        assert f.stat().st_mode & 0o777 == 0o666 & ~umask, f
    (tmp_path / "file").write_text("")
    r = molap("reproduce", "--out", str(tmp_path / "file"))
    assert r.returncode == 2 and "is a file" in r.stderr and "Traceback" not in r.stderr


def test_missing_cuda_fails_before_work(tmp_path):
    import torch
    if torch.cuda.is_available(): pytest.skip("this machine has CUDA")
    for cmd in ("reproduce", "baselines"):
        r = molap(cmd, "--out", str(tmp_path / cmd), "--device", "cuda")
        assert r.returncode == 2 and "has no CUDA device" in r.stderr and "Traceback" not in r.stderr, r.stderr[-800:]
        assert not (tmp_path / cmd / "runs").exists()
