"""Every multi-run command on a Dask cluster with the same results; a failed job is one line; Ctrl-C on a cluster is
one line. Also: a cluster worker killed mid-job, and its job still gives the same results. (Ctrl-C on the README's main
command with the local pool: tests/test_cli.py.)"""
import json, operator, os, re, signal, subprocess, threading, time
from dataclasses import replace
from functools import partial
from pathlib import Path
import pytest
from conftest import interruptible

distributed = pytest.importorskip("distributed")
from molap.jobs import run_jobs, JobsFailed

ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
BASELINES = ["baselines", "--profile", "quick", "--separate-steps", "20", "--joint-steps", "20", "--eval-trials", "64"]


@pytest.fixture(scope="module")
def cluster():
    "A cluster of two worker processes of one thread each, like two Slurm jobs of one core."
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def molap(*args):
    return subprocess.run(["molap", *args], capture_output=True, text=True, env=ENV)


def accuracies(folder: Path) -> dict:
    return {p.name: json.loads(p.read_text())["accuracy"] for p in sorted(folder.glob("*.json"))}


def test_cluster_gives_the_local_pools_results(tmp_path, cluster):
    here = molap(*BASELINES, "--out", str(tmp_path / "pool"), "--workers", "2")
    assert here.returncode == 0, here.stderr[-1500:]
    there = molap(*BASELINES, "--out", str(tmp_path / "dask"), "--scheduler", cluster.scheduler_address)
    assert there.returncode == 0, there.stderr[-1500:]
    a, b = accuracies(tmp_path / "pool"), accuracies(tmp_path / "dask")
    assert len(a) == 2 and a == b
    assert not list((tmp_path / "dask").glob(".molap-probe-*")), "the shared-folder probe is removed"


def test_a_failing_job_is_one_line_and_the_others_are_kept(cluster):
    for where in (dict(workers=1), dict(workers=2), dict(scheduler=cluster.scheduler_address)):
        with pytest.raises(JobsFailed) as e:
            run_jobs(operator.truediv, {"a": (1, 2), "b": (1, 0), "c": (3, 4)}, progress=False, **where)
        assert str(e.value) == ("1 of 3 jobs failed (the others' results are kept; run again to resume): "
                                "b: ZeroDivisionError: division by zero"), where
        assert e.value.results == {"a": 0.5, "c": 0.75}


def test_no_cluster_is_one_line(tmp_path):
    r = molap(*BASELINES, "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:9")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-1500:]
    assert re.fullmatch(r"molap baselines: error: cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9: .*\n", r.stderr)


def test_a_killed_worker_loses_nothing(tmp_path, cluster):
    "Kill the worker running a training after its first checkpoint: Dask reruns the job, which resumes, same results."
    from molap.reproduce import _job
    from molap.training import get_profile
    quick = get_profile("quick")
    prof = replace(quick, name="quick-kill", eval_trials=64, separate=replace(quick.separate, steps=60, checkpoint_every=10))
    job, jobs = partial(_job, device="cpu", threads=None), lambda out: {"separate": ("baseline", "separate", prof, 0, out)}
    ref = run_jobs(job, jobs(tmp_path / "ref"), workers=2, progress=False)["separate"]
    box = {}
    t = threading.Thread(target=lambda: box.update(run_jobs(job, jobs(tmp_path / "run"), scheduler=cluster.scheduler_address,
                                                            progress=False, out=tmp_path)))
    t.start()
    ck = tmp_path / "run" / "separate-quick-kill-seed0.ckpt"
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        deadline = time.time() + 120
        while not ck.exists() and time.time() < deadline: time.sleep(0.1)
        busy = [w for w, keys in client.processing().items() if keys]
        assert ck.exists() and busy, "the job did not start"
        os.kill(client.run(os.getpid, workers=busy)[busy[0]], signal.SIGKILL)
    t.join(300)
    assert box["separate"]["accuracy"] == ref["accuracy"]
    assert box["separate"]["history"]["loss"] == ref["history"]["loss"]


def test_ctrl_c_on_a_cluster_is_one_line(tmp_path, cluster):
    "Ctrl-C cancels the cluster's queued jobs and exits at once (a running job finishes there: Dask cannot stop it)."
    p = subprocess.Popen(["molap", *BASELINES, "--separate-steps", "2000", "--joint-steps", "2000", "--seeds", "0", "1",
                          "--out", str(tmp_path), "--scheduler", cluster.scheduler_address],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, **interruptible())
    deadline = time.time() + 120
    while not list(tmp_path.glob(".molap-probe-*")) and time.time() < deadline: time.sleep(0.1)
    time.sleep(3)  # the jobs run on the cluster
    t0 = time.time()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and time.time() - t0 < 5 and "Traceback" not in err, err[-1500:]
    assert err.strip().splitlines() == [f"molap baselines: interrupted; every finished step is kept: "
                                        f"run the same command again to resume from {tmp_path}"]
