# %% [markdown]
# # Jobs: here, on both cores, or on a cluster
#
# > One function runs a list of independent runs in this process, in a local pool of processes, or on a Dask cluster; a failed run is one line, Ctrl-C stops them all.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/09_jobs.ipynb)

# %% [markdown]
# The evidence for the paper's claims is many independent trainings: every method, every seed, every held-out task.
# They share nothing while they run (each writes its own checkpoint and record under the output folder), so they can
# run anywhere. This page is the one place that decides *where*: `reproduce`, `robustness`, `generalisation` and the
# `baselines` command hand their list of runs to `run_jobs`, and choose with two settings:
#
# - `workers=1` (the default): one after the other, in this process, with their progress bars;
# - `workers=N`: in N spawned processes of this machine, one torch thread each (two small torch jobs with default
#   threads on two cores slowed each other down ≈ 30× where we measured it, [core](core.html); with one thread each
#   they run side by side at full speed);
# - `scheduler=ADDRESS`: on a [Dask distributed](https://distributed.dask.org) cluster, a laptop's `LocalCluster` or
#   hundreds of Slurm jobs alike.
#
# We do not write a scheduler. Dask was chosen because it runs locally with no set-up, reaches Slurm, PBS, SGE and LSF
# through `dask-jobqueue` and Kubernetes through `dask-kubernetes`, reruns a lost worker's task elsewhere, and is an
# optional dependency: `pip install "molap[cluster]"`.

# %%
#| eval: false
#| hide
# %pip install -q "molap[cluster] @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp jobs

# %%
#| export
from __future__ import annotations
import contextlib, inspect, multiprocessing, os, signal, socket, sys, threading, time, uuid
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures import as_completed as futures_completed
from pathlib import Path
from tqdm.auto import tqdm
from molap.core import atomic_write, check_int, set_threads

# %%
#| hide
import operator, tempfile, time
from dataclasses import replace
from fastcore.test import *
from IPython.display import Markdown
from molap.baselines import run_baseline
from molap.training import get_profile


# %% [markdown]
# ## Naming a job and its failure
#
# A job is a key and the arguments of one call: `{("separate", 0): (...), ("joint", 0): (...)}`. The key names it in
# messages and in the results. When a run fails, a user needs which one and why, in a line, not a remote traceback:

# %%
#| export
def job_name(key) -> str:
    "How a job is named in messages: the words of its key."
    return " ".join(map(str, key)) if isinstance(key, tuple) else str(key)

def one_line(e: BaseException) -> str:
    "An exception as `Type: first line of its message`."
    first = str(e).strip().splitlines()
    return f"{type(e).__name__}: {first[0]}" if first else type(e).__name__

class JobsFailed(RuntimeError):
    "Some jobs raised: the message names each with its error; `.results` keeps the other jobs' results."
    def __init__(self, message: str, results: dict, errors: dict):
        super().__init__(message)
        self.results, self.errors = results, errors


# %%
test_eq(job_name(("molap", "lag0", 1)), "molap lag0 1")
test_eq(one_line(ValueError("bad seed\nmore detail")), "ValueError: bad seed")
test_eq(one_line(KeyboardInterrupt()), "KeyboardInterrupt")

# %% [markdown]
# ## Inside a worker
#
# Each job runs through the private function <code>_call</code>, in whatever process runs it. It sets the worker's torch threads, checks (on a
# cluster) that the worker sees the output folder, and keeps the worker's state for Ctrl-C.
#
# Ctrl-C must stop every run within a second or two and lose nothing. The trainings already know how: on SIGINT,
# `train` finishes its current step, writes its checkpoint (atomically: `atomic_write` moves a complete file into
# place, so a kill at any moment leaves the previous checkpoint) and raises `KeyboardInterrupt`. So the main process
# sends each local worker one SIGINT. A worker outside `train` (evaluating, or writing a record) stops at once; a
# worker whose job is queued but not started never starts it. Local workers get their own process group, so a
# terminal's Ctrl-C reaches the main process only, which then forwards exactly one SIGINT per worker: two would make
# `train` stop mid-step, losing the work since its last checkpoint.

# %%
#| export
_worker = dict(running=False, stopping=False)  # this process's state, when it is a worker of a local pool

def _on_sigint(signum, frame):
    "SIGINT in a local worker (the main process's request to stop): stop the job that runs, start no other."
    _worker["stopping"] = True
    if _worker["running"]: raise KeyboardInterrupt

def _init_worker():
    "Start of each local worker: its own process group (a terminal's Ctrl-C reaches only the main process), `_on_sigint`."
    if hasattr(os, "setpgrp"): os.setpgrp()
    signal.signal(signal.SIGINT, _on_sigint)

def _check_probe(folder: str, token: str) -> str | None:
    "None if this process sees `folder` as the main process does (it holds the probe file `token`) and may write to it."
    where = f"on {socket.gethostname()}"
    if not Path(folder).is_dir(): return f"{folder} does not exist {where}"
    if not (Path(folder) / f".molap-probe-{token}").exists(): return f"{folder} {where} is another folder of that name"
    if not os.access(folder, os.W_OK | os.X_OK): return f"{folder} is not writable {where}"
    return None

def _call(fn, args: tuple, kwargs: dict, threads: int | None = None, probe: tuple | None = None):
    "One job in a worker: its torch threads, a check that it sees the output folder (on a cluster), then `fn(*args)`."
    if _worker["stopping"]: raise KeyboardInterrupt  # queued before Ctrl-C: never started
    if threads is not None: set_threads(threads)
    if probe is not None and (why := _check_probe(*probe)):
        raise ValueError(f"a Dask worker cannot use the output folder: {why}; give an --out every worker shares")
    _worker["running"] = True
    try: return fn(*args, **kwargs)
    except KeyboardInterrupt:
        _worker["stopping"] = True
        raise
    finally: _worker["running"] = False


# %% [markdown]
# <code>_call</code> runs anywhere, also here:

# %%
test_eq(_call(operator.add, (2, 3), {}), 5)
with tempfile.TemporaryDirectory() as d:
    test_eq(_check_probe(d, "abc"), f"{d} on {socket.gethostname()} is another folder of that name")
    Path(d, ".molap-probe-abc").touch()
    test_eq(_check_probe(d, "abc"), None)
    test_fail(lambda: _call(operator.add, (2, 3), {}, probe=(d, "xyz")), contains="another folder of that name")


# %% [markdown]
# ## The three places a job can run
#
# Each is a generator of `(key, result, error)` in the order the jobs finish. Here, a job's exception is caught and
# reported like a worker's, so a failed run does not throw away the runs after it; `KeyboardInterrupt` is not an
# `Exception` and goes straight up.

# %%
#| export
def _here(fn, jobs: dict, kwargs: dict):
    "Every job in this process, one after the other."
    for key, args in jobs.items():
        try: r = fn(*args, **kwargs)
        except Exception as e: yield key, None, e
        else: yield key, r, None


# %% [markdown]
# In a local pool, Ctrl-C (or anything else that ends the loop early) drops the queued jobs, sends each worker its
# one SIGINT, gives the running jobs `GRACE` seconds to write their checkpoint and stop, then ends whatever process is
# left, so no process outlives the command. While that happens, further Ctrl-Cs are ignored: pressing three times
# stops as cleanly as once. The workers are started with SIGINT ignored (an ignored signal is inherited by a new
# process; a handler is not), so a Ctrl-C while a worker is still importing torch cannot print its traceback.

# %%
#| export
GRACE = 3.0  # seconds the running jobs get after Ctrl-C to checkpoint their step, before their processes are ended

@contextlib.contextmanager
def _sigint_ignored():
    "Ignore SIGINT in this (main) thread's process for the block; elsewhere signals never arrive anyway."
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try: yield
    finally:
        if main and old is not None: signal.signal(signal.SIGINT, old)

def _stop_pool(pool, futures):
    "Drop the queued jobs, ask the running ones to checkpoint and stop (one SIGINT each), end every worker process."
    with _sigint_ignored():
        for f in futures: f.cancel()
        procs = list((pool._processes or {}).values())
        for p in procs:
            with contextlib.suppress(OSError): os.kill(p.pid, signal.SIGINT)
        wait([f for f in futures if not f.done()], timeout=GRACE)
        pool.shutdown(wait=False, cancel_futures=True)
        end = time.monotonic() + 1
        for p in procs: p.join(max(0., end - time.monotonic()))
        for p in procs:
            if p.is_alive(): p.kill()
            p.join(1)

def _pool(fn, jobs: dict, kwargs: dict, workers: int, threads: int | None):
    "The jobs in `workers` spawned processes of this machine, one torch thread each."
    from molap.jobs import _call, _init_worker  # the package's functions (picklable), also when run from this notebook
    pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker)
    futures = {}
    try:
        with _sigint_ignored():  # the workers start with SIGINT ignored until `_init_worker` sets their handler
            futures = {pool.submit(_call, fn, args, kwargs, threads): key for key, args in jobs.items()}
        for f in futures_completed(futures):
            e = f.exception()
            yield futures[f], None if e else f.result(), e
    except BaseException:  # Ctrl-C, or the caller stopped early
        _stop_pool(pool, futures)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# %% [markdown]
# On a cluster, the jobs go to a Dask scheduler, given by its address (`tcp://host:8786`), a cluster object
# (`LocalCluster`, `SLURMCluster`, ...) or a connected `Client`. The workers write under the same output folder as
# this process, so it must be a shared filesystem mounted at the same path everywhere. Before the first job, a probe
# file written here must be visible from every worker; if it is not, one line says so, before any work. Paths in the
# jobs' arguments are made absolute (a worker has its own working folder). Dask reruns the job of a worker that dies
# (up to `distributed.scheduler.allowed-failures` times, 3 by default); the rerun resumes from the job's last
# checkpoint, so nothing but the steps since then is lost and the results are the same.
#
# Ctrl-C cancels the queued jobs; a job that already runs on a cluster worker runs to its end (Dask cannot stop a
# running task without restarting its worker), and a rerun of the command picks up its result.

# %%
#| export
def _distributed():
    "The `distributed` package, or one line saying how to install it."
    try: import distributed
    except ImportError: raise ValueError('running on a Dask cluster needs Dask distributed: pip install "molap[cluster]"') from None
    return distributed

def _connect(distributed, scheduler):
    "A client for `scheduler` (address, cluster object or Client), and whether we own it (and close it at the end)."
    if isinstance(scheduler, distributed.Client): return scheduler, False
    address = getattr(scheduler, "scheduler_address", scheduler)
    try:
        host, _, port = str(address).removeprefix("tcp://").rpartition(":")
        if str(address).startswith("tcp://") and port.isdigit():  # a refused port fails now, not after Dask's retries
            socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
        return distributed.Client(address, timeout=10, set_as_default=False), True
    except (OSError, TimeoutError, ValueError) as e:
        raise ValueError(f"cannot reach the Dask scheduler at {address}: {one_line(e)}") from None

def _share_out(client, out: Path, token: str) -> tuple:
    "Write a probe file in `out` and check every connected worker sees it: (folder, token) for the jobs to check too."
    folder = str(out)
    atomic_write(out / f".molap-probe-{token}", lambda f: Path(f).write_text(token))
    try: seen = client.run(_check_probe, folder, token)
    except Exception as e:
        raise ValueError(f"the Dask workers cannot run molap ({one_line(e)}); install molap where they run") from None
    bad = [why for why in seen.values() if why]
    if bad:
        raise ValueError(f"{len(bad)} of {len(seen)} Dask workers cannot use the output folder: {bad[0]}; "
                         "--out must be a folder every worker shares, at the same path")
    return folder, token

def _cluster(fn, jobs: dict, kwargs: dict, scheduler, threads: int | None, out):
    "The jobs on a Dask cluster, each a task of one worker thread."
    distributed = _distributed()
    from molap.jobs import _call  # picklable by reference, also from this notebook
    client, own = _connect(distributed, scheduler)
    token, futures, probe = uuid.uuid4().hex[:12], {}, None
    try:
        if out is not None: probe = _share_out(client, Path(out).resolve(), token)
        for i, (key, args) in enumerate(jobs.items()):
            args = tuple(a.resolve() if isinstance(a, Path) else a for a in args)
            name = f"molap-{job_name(key).replace(' ', '-')}-{token}-{i}"
            futures[client.submit(_call, fn, args, kwargs, threads, probe, key=name, pure=False)] = key
        for f in distributed.as_completed(futures, loop=client.loop):
            try: r = f.result()
            except Exception as e: yield futures[f], None, e
            else: yield futures[f], r, None
    except BaseException:
        with _sigint_ignored(): client.cancel(list(futures))
        raise
    finally:
        if probe is not None: (Path(probe[0]) / f".molap-probe-{token}").unlink(missing_ok=True)
        futures.clear()  # release them while the client is connected: a future released at exit would wait for it
        if own: client.close()


# %% [markdown]
# ## `run_jobs`
#
# The one entry point. It hands `progress=` to the job function only if the function has that parameter, and only
# true when the job runs here: progress bars from several processes would interleave. `on_result(key, result)` is
# called as each job finishes, so a caller can save each result at once (a crash or Ctrl-C later keeps it). Failed
# jobs are reported as they fail and, at the end, together in one `JobsFailed` whose message has one entry per job.

# %%
#| export
def run_jobs(fn,                        # a top-level (picklable) function, called as fn(*args)
             jobs: dict,                # {key: args}, one entry per independent job
             workers: int = 1,          # 1: here, one job after the other; N: N local processes, one torch thread each
             scheduler=None,            # a Dask scheduler's address, cluster or Client: run there (workers is ignored)
             progress: bool = True,     # a bar over the jobs (if `desc`), the jobs' own bars when they run here
             desc: str | None = "jobs", # the bar's label; None: no bar
             threads: int | None = 1,   # torch threads per worker (not here: this process keeps its setting)
             out=None,                  # the output folder the jobs write to: checked to be shared on a cluster
             on_result=None,            # called as on_result(key, result) when each job finishes
            ) -> dict:                  # {key: result}, in the order of `jobs`
    "Run independent jobs here, in a local process pool or on a Dask cluster; raise `JobsFailed` if any failed."
    workers, jobs = check_int("workers", workers), dict(jobs)
    if not jobs: return {}
    here = workers == 1 and scheduler is None
    try: kwargs = {"progress": progress and here} if "progress" in inspect.signature(fn).parameters else {}
    except (TypeError, ValueError): kwargs = {}
    outcomes = (_here(fn, jobs, kwargs) if here else _pool(fn, jobs, kwargs, workers, threads) if scheduler is None
                else _cluster(fn, jobs, kwargs, scheduler, threads, out))
    results, errors = {}, {}
    bar = tqdm(total=len(jobs), desc=desc, disable=not progress or desc is None)
    try:
        for key, r, e in outcomes:
            if e is None:
                results[key] = r
                if on_result is not None: on_result(key, r)
            else:
                errors[key] = e
                if progress: tqdm.write(f"job {job_name(key)} failed: {one_line(e)}", file=sys.stderr)
            bar.update()
    finally:
        outcomes.close()  # if the loop ended early (Ctrl-C, an error in on_result): stop the workers
        bar.close()
    results = {k: results[k] for k in jobs if k in results}
    if errors:
        raise JobsFailed(f"{len(errors)} of {len(jobs)} jobs failed (the others' results are kept; run again to resume): "
                         + "; ".join(f"{job_name(k)}: {one_line(e)}" for k, e in errors.items()), results, errors)
    return results


# %% [markdown]
# Here, with a function of the standard library standing in for a training. A failing job is named, with its error,
# and the other results are kept on the exception:

# %%
test_eq(run_jobs(operator.truediv, {"a": (1, 2), "b": (3, 4)}, progress=False), {"a": 0.5, "b": 0.75})
try: run_jobs(operator.truediv, {"a": (1, 2), "b": (1, 0), "c": (3, 4)}, progress=False)
except JobsFailed as e: failed = e
test_eq(str(failed).split(": ", 1)[1], "b: ZeroDivisionError: division by zero")
test_eq(failed.results, {"a": 0.5, "c": 0.75})

# %% [markdown]
# The same jobs in two local processes give the same results, in the order of the jobs whatever order they finish in:

# %%
from molap.jobs import run_jobs as package_run_jobs  # workers need the package's functions, not this notebook's

# %%
test_eq(package_run_jobs(operator.truediv, {"a": (1, 2), "b": (3, 4), "c": (5, 8)}, workers=2, progress=False),
        {"a": 0.5, "b": 0.75, "c": 0.625})


# %% [markdown]
# A real job: a baseline trained for a few steps, saving its checkpoint and record in the output folder. In the
# package, `reproduce`, `robustness`, `generalisation` and `molap baselines` build such a list and call `run_jobs`.

# %%
def tiny_baselines(out, seeds=(0, 1)):
    "Two separate-network baselines of a few steps: the job list of the examples and the timing below."
    prof = get_profile("quick")
    prof = replace(prof, name="quick-tiny", separate=replace(prof.separate, steps=10))
    return {("separate", s): ("separate", prof, s, Path(out)) for s in seeds}

with tempfile.TemporaryDirectory() as d:
    here = run_jobs(run_baseline, tiny_baselines(d), progress=False)
    test_eq(sorted(p.name for p in Path(d).glob("*.json")), ["separate-quick-tiny-seed0.json", "separate-quick-tiny-seed1.json"])
{k: round(sum(rec["accuracy"].values()) / len(rec["accuracy"]), 3) for k, (rec, model) in here.items()}


# %% [markdown]
# ## On a Dask cluster
#
# **On this machine.** A `LocalCluster` of worker processes, one thread each, is the smallest cluster; it is also
# how the tests check that a cluster gives the same results as the local pool:
#
# ```python
# from distributed import LocalCluster
# with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
#     reproduce("quick", out="W", scheduler=cluster)      # or scheduler=cluster.scheduler_address
# ```
#
# **Attaching to a running cluster.** Start a scheduler and workers in two shells (or on two machines that share
# the output folder), each worker one process of one thread:
#
# ```sh
# dask scheduler                                                # prints: Scheduler at: tcp://10.0.0.5:8786
# OMP_NUM_THREADS=1 dask worker tcp://10.0.0.5:8786 --nworkers 2 --nthreads 1
# ```
#
# then give its address to any command that runs several trainings:
#
# ```sh
# molap generalise --profile quick --held-out MemPro --seeds 0 --out /shared/W --scheduler tcp://10.0.0.5:8786
# molap reproduce --profile full --seeds 0 1 2 --out /shared/W --scheduler tcp://10.0.0.5:8786
# ```
#
# The workers need molap installed (the same version) and the output folder at the same path; if a worker cannot see
# it, the command says so in one line before any work.
#
# **Slurm, with [dask-jobqueue](https://jobqueue.dask.org).** Each job is one training of one core. A full-profile
# job holds ≈ 0.6 GB resident (measured on a full training here), so 2 GB leaves room; the longest full job (the job
# list below names it and its measured minutes; a test there holds every job under three hours of one core) fits a
# three-hour limit per Slurm job, and a lost worker's task restarts from its checkpoint anyway:
#
# ```python
# from dask_jobqueue import SLURMCluster            # pip install dask-jobqueue
# cluster = SLURMCluster(cores=1, processes=1, memory="2GB", walltime="03:00:00",
#                        job_script_prologue=["source ~/molap-env/bin/activate", "export OMP_NUM_THREADS=1"])
# cluster.adapt(minimum_jobs=0, maximum_jobs=27)    # up to one Slurm job per molap job (nine tasks x three seeds)
# generalisation("full", out="/scratch/me/W", seeds=(0, 1, 2), scheduler=cluster)
# ```
#
# or, without Python on the login node's side, a scheduler there and a Slurm array of workers:
#
# ```sh
# !/bin/bash
# #SBATCH --job-name=molap-workers --array=1-16
# #SBATCH --cpus-per-task=1 --mem=2G --time=03:00:00
# source ~/molap-env/bin/activate
# export OMP_NUM_THREADS=1
# dask worker tcp://login1:8786 --nworkers 1 --nthreads 1 --memory-limit 2GB --death-timeout 300
# ```

# %% [markdown]
# ## The full profile's job list, with its measured cost
#
# What a cluster buys depends on the jobs. The shipped full-profile results record each job's own seconds (one core,
# measured on this project's two-core machines, often beside other runs: read them as upper bounds). `full_jobs`
# lists them per command: one row per kind of job, its seconds per job (mean over the seeds that ran), and the
# core-hours of three seeds.

# %%
#| export
def full_jobs(seeds: int = 3) -> list[dict]:
    "The full profile's jobs with their measured seconds (shipped results): command, job, jobs per seed, seconds each."
    from molap.core import load_results
    rows = []
    for m, r in load_results("full")["methods"].items():  # `molap reproduce --profile full`: one job per method and seed
        pre = (r.get("pretraining") or {}).get("train_seconds", 0.)  # a MoLaP job pre-trains its own modules first
        rows.append(dict(command="reproduce", job=m, per_seed=1, seconds=r["train_seconds"] + pre, measured=len(r["seeds"])))
    gen = load_results("generalisation-full")  # `molap generalise --profile full`: one job per held-out task and seed
    # the stages' training seconds, summed over resumes (`job_seconds` is only the last process's wall time)
    secs = [sum(st.values()) for v in gen["stage_seconds"].values() for st in v]
    rows.append(dict(command="generalise", job="one held-out task, every learner", per_seed=9,
                     seconds=sum(secs) / len(secs), measured=len(secs)))
    for r in rows: r["core_hours"] = r["seconds"] * r["per_seed"] * seeds / 3600
    return rows

def jobs_table(rows: list[dict], seeds: int = 3) -> str:
    "A Markdown table of `full_jobs`, with the total core-hours and the longest job (the wall-clock floor on any cluster)."
    out = [f"| command | job | jobs per seed | minutes each (one core) | runs measured | core-hours ({seeds} seeds) |",
           "|---|---|---|---|---|---|"]
    out += [f"| {r['command']} | {r['job']} | {r['per_seed']} | {r['seconds'] / 60:.0f} | {r['measured']} | {r['core_hours']:.1f} |"
            for r in rows]
    total, longest = sum(r["core_hours"] for r in rows), max(rows, key=lambda r: r["seconds"])
    out.append(f"| **all** | {sum(r['per_seed'] for r in rows) * seeds} jobs | | | | **{total:.1f}** |")
    return "\n".join(out) + (f"\n\nOn as many workers as jobs, the wall-clock time is the longest job's: "
                              f"{longest['job']} ({longest['command']}), about {longest['seconds'] / 60:.0f} minutes.")


# %%
Markdown(jobs_table(full_jobs()))

# %%
rows = full_jobs()
assert {r["command"] for r in rows} == {"reproduce", "generalise"} and all(r["seconds"] > 0 for r in rows)
test_eq(sum(r["per_seed"] for r in rows if r["command"] == "reproduce"), len(rows) - 1)
assert abs(sum(r["core_hours"] for r in full_jobs(seeds=1)) * 3 - sum(r["core_hours"] for r in rows)) < 1e-9
assert max(r["seconds"] for r in rows) < 3 * 3600  # the Slurm examples' three-hour limit holds for every kind of job
assert min(r["seconds"] for r in rows) > 10 * 60   # "tens of minutes or more" per job (the Dask comparison below)

# %% [markdown]
# Two notes. A module ablation measured on an earlier, shorter task stage than MoLaP's (see the reproduction lesson's
# recipe table) would understate its cost; whether any of the shipped ones did, from the shipped results:

# %%
from molap.core import load_results
from molap.multitask import MODULE_ABLATIONS, on_molap_stage

# %%
older = [m for m in MODULE_ABLATIONS if not on_molap_stage(load_results("full"), m)]
Markdown(f"On the older stage: {', '.join(older) or 'none'}. Robustness at full evaluates the shipped networks only "
         "(no training): minutes, not hours, and not listed.")

# %% [markdown]
# ## What a cluster costs
#
# Dask adds a scheduler, the serialisation of every job's arguments and result, and its own worker processes. The
# same four tiny baselines (10 steps each), on the local pool of two processes and on a two-worker `LocalCluster`,
# give the same records; the times below include starting the processes (the pool's, the cluster's):

# %%
#| slow
from distributed import LocalCluster

# %%
#| slow
with tempfile.TemporaryDirectory() as d:
    t0 = time.perf_counter()
    pool = package_run_jobs(run_baseline, tiny_baselines(d, seeds=range(4)), workers=2, progress=False)
    t_pool = time.perf_counter() - t0
with tempfile.TemporaryDirectory() as d:
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        t_start = time.perf_counter() - t0
        there = package_run_jobs(run_baseline, tiny_baselines(d, seeds=range(4)), scheduler=cluster, out=d, progress=False)
        t_dask = time.perf_counter() - t0
test_eq({k: rec["accuracy"] for k, (rec, m) in there.items()}, {k: rec["accuracy"] for k, (rec, m) in pool.items()})
print(f"local pool {t_pool:.1f} s; LocalCluster {t_dask:.1f} s, of which {t_start:.1f} s to start it: ratio {t_dask / t_pool:.2f}")

# %% [markdown]
# Measured here in three runs (two cores, both also busy with two other trainings): the local pool 17.0–20.0 s, the
# `LocalCluster` 17.9–19.5 s including 0.8–4.3 s to start it, a ratio of 0.95–1.10. So on one machine Dask costs
# about what the pool's own start-up costs (spawning processes that import torch): a few seconds per command, not
# per job. For real trainings (each of the full profile's jobs in the list above takes tens of minutes or more),
# either overhead is noise; what matters is that each job gets one core.
