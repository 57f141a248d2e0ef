"""Smoke runs of the benchmarks (they print ratios; speed itself is never asserted in tests)."""
import os, subprocess, sys
import pytest


def test_bench_tasks_smoke(root):
    pytest.importorskip("neurogym", reason="benchmark extra not installed: pip install -e '.[bench]'")
    r = subprocess.run([sys.executable, "benchmarks/bench_tasks.py", "--quick"], cwd=root, capture_output=True,
                       text=True, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert "median ratio neurogym/molap" in r.stdout


def test_bench_rnn_step_smoke(root):
    r = subprocess.run([sys.executable, "benchmarks/bench_rnn_step.py", "--quick"], cwd=root, capture_output=True,
                       text=True, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert "bare/fast" in r.stdout and "bare/naive" in r.stdout


def test_bench_separate_smoke(root):
    r = subprocess.run([sys.executable, "benchmarks/bench_separate.py", "--quick"], cwd=root, capture_output=True,
                       text=True, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert "speed-up sequential/batched" in r.stdout


def test_bench_task_stage_smoke(root):
    r = subprocess.run([sys.executable, "benchmarks/bench_task_stage.py", "--quick"], cwd=root, capture_output=True,
                       text=True, check=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert "gathered/tasks" in r.stdout and "one task/tasks" in r.stdout
