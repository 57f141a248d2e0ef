"""The README's main job: the `molap` console command, installed as an entry point."""
import json, os, shutil, signal, subprocess, time
from pathlib import Path
import pytest
from conftest import interruptible
from molap.tasks import TASK_NAMES


ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
MAIN = "molap reproduce --profile quick --out molap-results --workers 2"  # the README's main command


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


def check_main_job(out: Path):
    "What the README's main job writes: every method's numbers, the report, the analyses and the figures."
    res = json.loads((out / "results.json").read_text())
    assert res["profile"] == "quick" and res["seeds"] == [0]
    for m in ("molap", "molap-lag0", "separate", "joint", "molap-v1", "molap-random"):
        entry = res["methods"][m]
        assert set(entry["accuracy"]) == set(TASK_NAMES)
        for k in ("trained_parameters_per_task", "total_parameters", "parameter_updates", "train_seconds"):
            assert entry[k] > 0
    # what the quick profile shows: MoLaP on frozen modules solves the four tasks that hold a direction across a delay
    assert all(res["methods"]["molap"]["accuracy"][t] >= 0.9 for t in TASK_NAMES[:4]), res["methods"]["molap"]["accuracy"]
    # MoLaP trains far fewer parameters per task than a separate network
    assert res["methods"]["molap"]["trained_parameters_per_task"] < 0.2 * res["methods"]["separate"]["trained_parameters_per_task"]
    report = (out / "report.md").read_text()
    assert "chance is 0.1" in report and "The paper's claims at this profile" in report
    for m in ("sequential", "dni"):  # the paper's middle row: one network learning the tasks in order
        M = res["methods"][m]["accuracy_after_each_task"]
        assert len(M) == 9 and all(len(row) == 9 for row in M) and M[-1] == [res["methods"][m]["accuracy"][t] for t in TASK_NAMES]
    rob = json.loads((out / "robustness.json").read_text())  # the robustness analysis ran on the same networks
    from molap.reproduce import METHOD_ORDER  # (the multi-task learners; the sequential ones are not perturbed)
    assert set(rob["methods"]) == set(METHOD_ORDER) and len(rob["claims"]) == 8 * (len(METHOD_ORDER) - 1)
    gen = json.loads((out / "generalisation.json").read_text())  # and the leave-one-task-out subset
    assert gen["held_out"] and all(set(v) >= {"molap", "separate"} for v in gen["held_out"].values())
    for name in ("report.md", "robustness.md", "generalisation.md"):
        for line in (out / name).read_text().splitlines():
            if line.startswith("!["):
                assert (out / line.split("(")[1].rstrip(")")).exists(), line


def descendants(pid: int) -> list:
    try: kids = [int(k) for k in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError: return []
    return kids + [g for k in kids for g in descendants(k)]


def alive(pid: int) -> bool:
    try: return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError: return False


def checkpoints(folder: Path) -> dict:
    import torch
    states = {}
    for p in folder.glob("runs/*.ckpt"):
        try: states[p.name] = torch.load(p, weights_only=True)
        except Exception: continue  # (a file replaced while read: the next poll reads it)
    return {k: s["step"] for k, s in states.items() if "step" in s}  # training checkpoints (not the sequential after-task states)


def interrupt(out: Path, ready, times: int):
    """The README's main command, SIGINT `times` times once `ready(checkpoints)` holds during its parallel runs:
    (seconds to exit, stderr, processes left, the checkpoints seen before the signal)."""
    p = subprocess.Popen(MAIN.replace("molap-results", str(out)).split(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, **interruptible())
    seen = ""
    while "[2/4]" not in seen:  # the independent runs start in the workers
        line = p.stdout.readline()
        assert line, "the command ended before its runs started"
        seen += line
    deadline = time.time() + 300  # polled, not a fixed sleep: a busy machine takes longer, an idle one is not kept waiting
    while not ready(before := checkpoints(out)):
        assert time.time() < deadline and p.poll() is None, "no run checkpointed in time"
        time.sleep(0.5)
    procs = descendants(p.pid)
    assert len(procs) >= 2, "no worker processes"
    t0 = time.time()
    for _ in range(times):
        p.send_signal(signal.SIGINT); time.sleep(0.3)
    out_, err = p.communicate(timeout=60)
    took = time.time() - t0
    assert p.returncode == 130, err[-1500:]
    time.sleep(1)
    return took, err, [q for q in procs if alive(q)], before


def test_main_job_ctrl_c_resume_and_end_to_end(tmp_path, root):
    """The README's main command: Ctrl-C (once, then three times) stops every worker within seconds, with one line, no
    traceback and no process left; the same command resumes without going back, and runs to the end."""
    assert MAIN in (root / "README.md").read_text()
    took, err, left, _ = interrupt(tmp_path, lambda ck: len(ck) > 0, 1)  # as soon as a run has checkpointed
    assert took < 5, f"took {took:.1f} s to exit"
    assert "Traceback" not in err and not left, (err[-1500:], left)
    assert err.strip().splitlines()[-1] == (f"molap reproduce: interrupted; every finished step is kept: "
                                            f"run the same command again to resume from {tmp_path}")
    first = checkpoints(tmp_path)
    assert first, "no run had checkpointed"
    # the same command resumes: once a run has gone past where it stopped, three Ctrl-Cs stop it as cleanly as one
    took, err, left, _ = interrupt(tmp_path, lambda ck: any(ck.get(k, 0) > v for k, v in first.items()), 3)
    assert took < 5 and "Traceback" not in err and not left, (took, err[-1500:], left)
    again = checkpoints(tmp_path)
    assert all(again.get(k, 0) >= v for k, v in first.items()), (first, again)  # no run went back to its start

    # ... and, resumed once more, runs to its end: the README's main job, end to end, with its console tables
    r = subprocess.run(MAIN.replace("molap-results", str(tmp_path)).split(), capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    for head in ("Fraction correct (quick profile, seeds [0]):", "Robustness (normalised area under 8 perturbations",
                 "Generalisation (a task left out of pre-training"):
        assert head in r.stdout, r.stdout[-2000:]
    assert r.stdout.rstrip().splitlines()[-1].startswith("report:")
    check_main_job(tmp_path)


def test_molap_robustness_on_shipped_networks(tmp_path):
    "The full profile's robustness runs on the shipped weights (no training); the JSON has what others plot from."
    import json
    out = tmp_path / "rob"
    r = subprocess.run(["molap", "robustness", "--profile", "full", "--methods", "molap", "molap-random",
                        "--draws", "1", "--trials", "8", "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    rob = json.loads((out / "robustness.json").read_text())
    e = rob["perturbations"]["silenced units"]
    assert e["magnitudes"][0] == 0 and set(e["methods"]) == {"molap", "molap-random"} and e["seeds"] == [0]
    for k in ("mean", "ci", "normalised", "normalised_ci", "per_task", "area"): assert k in e["methods"]["molap"]
    assert len(rob["lesions"]["molap"]["modules"]) == 3
    assert {c["other"] for c in rob["claims"]} == {"molap-random"}
    assert sorted(p.name for p in (out / "robustness").iterdir()) == ["molap-full-seed0.json", "molap-random-full-seed0.json"]


def test_molap_robustness_bad_input(tmp_path):
    r = subprocess.run(["molap", "robustness", "--profile", "full", "--seeds", "3", "--out", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "no shipped molap network for 'full' seed 3; train it with" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "robustness.json").exists()


def test_molap_learn_neurogym_task(tmp_path):
    "A neurogym task learned on the shipped frozen modules from the command line: record, curve, console table."
    pytest.importorskip("neurogym", reason='neurogym not installed: pip install "molap[neurogym]"')
    out = tmp_path / "learn"
    r = subprocess.run(["molap", "learn", "--task", "GoNogo", "--methods", "molap", "scratch", "--profile", "smoke",
                        "--out", str(out)], capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads((out / "learn-GoNogo-v0-smoke.json").read_text())
    assert set(res["tasks"]["GoNogo-v0"]["methods"]) == {"molap", "scratch"}
    assert (out / "learn-GoNogo-v0-smoke.png").stat().st_size > 1000
    lines = r.stdout.splitlines()
    assert lines[0].startswith("Fraction correct (smoke profile") and any(l.startswith("GoNogo ") and " molap " in l for l in lines)
    # a continuous-action task is refused in one line, before anything is written
    r = subprocess.run(["molap", "learn", "--task", "ReachingDelayResponse", "--out", str(tmp_path / "no")],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 2 and "continuous action space" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "no").exists()
