# %% [markdown]
# # The `molap` command
#
# > One command line for the main jobs: reproduce the paper's comparison, perturb the networks, hold tasks out, learn the field's tasks on the shipped modules.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/20_cli.ipynb)

# %% [markdown]
# Installing molap puts a `molap` command on the path. Each sub-command is a thin layer over functions of the
# notebooks, so everything it does can also be done, and read, in Python.

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp cli

# %%
#| export
from __future__ import annotations
import argparse, os, signal, sys
from dataclasses import replace
from pathlib import Path
import torch
from molap import __version__
from molap.core import set_threads, check_device, check_int, check_out_dir, DEFAULT_THREADS
from molap.jobs import JobsFailed
from molap.tasks import TASK_NAMES, TaskConfig, draw_corpus
from molap.training import PROFILES, get_profile

# %%
#| hide
import tempfile
from fastcore.test import *

# %% [markdown]
# ## The sub-commands
#
# - `molap tasks --out DIR`: a look at the corpus without training; one batch of every task, a figure of its first trial, and
#   a table of the epochs drawn next to the ranges they come from (`draw_corpus` of [the tasks](tasks.html)).
# - `molap baselines --out DIR`: trains the separate and joint baselines ([baselines](baselines.html)).
# - `molap reproduce --out DIR`: the main job, the one the home page's quick start runs; the whole comparison, figures, `report.md` and `results.json`
#   ([the reproduction](reproduce.html)), then the robustness analysis of the networks it trained, with two
#   perturbation draws per magnitude (`--no-robustness` skips it);
# - `molap robustness --out DIR`: the perturbation suite and the module lesions on every method's trained networks,
#   `robustness.json`, figures and `robustness.md` ([robustness](robustness.html)); the full profile uses the
#   shipped networks (`--train` trains other seeds, for hours), any other profile trains (or reuses) them in
#   `DIR/runs`.
# - `molap generalise --out DIR`: the leave-one-task-out experiment ([generalisation](generalisation.html)): each
#   held-out task (`--held-out`, default all nine) learned by MoLaP on modules pre-trained without it and by the
#   other learners with the same trials; `generalisation.json`, the learning-curve figure and `generalisation.md`.
#   `reproduce` runs it too, on the held-out tasks of `REPRODUCE_HELD_OUT` with the learners of `REPRODUCE_LEARNERS`
#   only (`--no-generalisation` skips it).
# - `molap learn --task ENV_ID --out DIR`: a task from neurogym, the field's task library, learned on the shipped
#   frozen modules (new input and output weights only) and, with `--methods molap joint scratch`, by the other
#   learners on the same trials ([beyond the corpus](beyond.html)); `learn-<task>-<profile>.json`, its learning
#   curve `.png`, and a table on the console. Needs `pip install "molap[neurogym]"`.
#
# Each resumes from its folder when run again, and each can be interrupted with Ctrl-C at any moment: it keeps every
# finished step, says how to resume, and exits with status 130.
#
# ## Threads and overrides
#
# Every sub-command runs one torch thread per process unless told otherwise (`--threads`): the networks are small, and
# two runs with default threads on one machine can slow each other down many times over (≈ 30× measured on a two-core
# machine, see [core](core.html)). `reproduce`
# uses the cores with `--workers`, independent runs in parallel processes of one thread each; `--scheduler ADDRESS`
# sends them to a Dask cluster instead ([jobs](jobs.html)).
#
# The settings a user reaches for first can be changed without writing a profile: the seeds, σ_in, and the steps of
# each stage. Everything else comes from the named profile, and the results file records the whole profile it ran.

# %%
#| export
STAGES = ("pretrain", "molap", "separate", "joint")  # the training stages of a profile, each with a --<stage>-steps

def _common(p):
    "Options every sub-command has."
    p.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                   help=f"torch threads per process (default {DEFAULT_THREADS}: fastest for these small networks)")
    return p

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="molap", description="MoLaP: multi-task learning with modular latent primitives")
    p.add_argument("--version", action="version", version=f"molap {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    t = _common(sub.add_parser("tasks", help="draw every task of the corpus and print a table of its epochs"))
    t.add_argument("--out", required=True, help="folder for the figures and epochs.md")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--timing", choices=["batch", "trial"], default="batch")
    t.add_argument("--sigma-in", type=float, default=0.01)
    r = _common(sub.add_parser("reproduce", help="corpus, baselines, sequential learners, primitives, pre-training, MoLaP: figures, report.md, results.json"))
    b = _common(sub.add_parser("baselines", help="train the separate and joint baselines (resumes from DIR)"))
    for q in (r, b):
        q.add_argument("--profile", choices=list(PROFILES), default="quick")
        q.add_argument("--seeds", type=int, nargs="+", default=[0])
        q.add_argument("--device", default=None, help="e.g. cuda; default: cuda if available, else cpu")
        q.add_argument("--sigma-in", type=float, default=None, help="input noise σ_in (default: the profile's)")
        q.add_argument("--eval-trials", type=int, default=None,
                       help="trials per task of the final evaluation (default: the profile's)")
        for stage in STAGES:
            q.add_argument(f"--{stage}-steps", type=int, default=None, help=f"optimiser steps of the {stage} stage")
    r.add_argument("--out", default="molap-results", help="output folder (re-run on it to resume)")
    r.add_argument("--workers", type=int, default=1, help="parallel processes for independent runs (one thread each)")
    b.add_argument("--out", required=True, help="folder for checkpoints and records (re-run to resume)")
    b.add_argument("--methods", nargs="+", choices=["separate", "joint"], default=["separate", "joint"])
    b.add_argument("--workers", type=int, default=1, help="parallel processes (one thread each)")
    r.add_argument("--no-robustness", action="store_true", help="skip the robustness analysis after the comparison")
    r.add_argument("--no-generalisation", action="store_true", help="skip the leave-one-task-out experiment at the end")
    from molap.reproduce import METHOD_ORDER
    q = _common(sub.add_parser("robustness", help="perturb every method's trained networks: robustness.json, figures, robustness.md"))
    q.add_argument("--profile", choices=list(PROFILES), default="quick")
    q.add_argument("--out", default="molap-results", help="output folder (shared with reproduce: its networks are reused)")
    q.add_argument("--seeds", type=int, nargs="+", default=[0])
    q.add_argument("--methods", nargs="+", choices=list(METHOD_ORDER), default=list(METHOD_ORDER))
    q.add_argument("--draws", type=int, default=4, help="perturbation draws per network and magnitude")
    q.add_argument("--trials", type=int, default=64, help="trials per task, draw and magnitude")
    q.add_argument("--workers", type=int, default=1, help="parallel processes (one thread each)")
    q.add_argument("--train", action="store_true",
                   help="train networks that do not ship (always on for profiles other than full, whose networks ship)")
    from molap.generalisation import METHODS
    g = _common(sub.add_parser("generalise", help="leave one task out: learn it on modules pre-trained without it, "
                                                  "against the other learners; generalisation.json, figures, .md"))
    g.add_argument("--profile", choices=list(PROFILES), default="quick")
    g.add_argument("--out", default="molap-results", help="output folder (shared with reproduce: its pre-training is reused)")
    g.add_argument("--seeds", type=int, nargs="+", default=[0])
    g.add_argument("--held-out", nargs="+", default=list(TASK_NAMES), metavar="TASK",
                   help="the tasks to hold out, one at a time (default: all nine)")
    g.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    g.add_argument("--workers", type=int, default=1, help="parallel processes (one thread each)")
    g.add_argument("--device", default=None, help="e.g. cuda; default: cuda if available, else cpu")
    from molap.beyond import GYM_METHODS, GYM_PROFILES
    n = _common(sub.add_parser("learn", help="learn a neurogym task on the shipped frozen modules (and with other "
                                             "learners): learning curve, result and a table"))
    n.add_argument("--task", required=True, metavar="ENV_ID", help='a neurogym task, e.g. PerceptualDecisionMaking-v0 '
                                                                   '(pip install "molap[neurogym]")')
    n.add_argument("--methods", nargs="+", choices=list(GYM_METHODS), default=["molap"])
    n.add_argument("--profile", choices=list(GYM_PROFILES), default="quick")
    n.add_argument("--seeds", type=int, nargs="+", default=[0])
    n.add_argument("--out", default="molap-results", help="output folder (re-run on it to resume)")
    n.add_argument("--workers", type=int, default=1, help="parallel processes (one thread each)")
    n.add_argument("--device", default=None, help="e.g. cuda; default: cuda if available, else cpu")
    for c in (r, b, q, g, n):
        c.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help='a Dask scheduler (tcp://host:8786): run the independent runs on its cluster, instead of '
                            '--workers; --out must be a folder every worker shares (pip install "molap[cluster]")')
    return p


# %%
#| export
def profile_from_args(args):
    "The named profile with the overrides given on the command line (a new name if anything changed)."
    prof, changes = get_profile(args.profile), {}
    if args.sigma_in is not None: changes["task"] = replace(prof.task, sigma_in=args.sigma_in)
    if args.eval_trials is not None: changes["eval_trials"] = check_int("eval_trials", args.eval_trials)
    for stage in STAGES:
        steps = getattr(args, f"{stage}_steps")
        if steps is not None: changes[stage] = replace(getattr(prof, stage), steps=steps)
    if not changes: return prof
    label = lambda k: (f"{k}{getattr(args, k + '_steps')}" if k in STAGES else f"sigma{args.sigma_in:g}" if k == "task"
                       else f"eval{args.eval_trials}")
    tag = "-".join(label(k) for k in changes)
    return replace(prof, name=f"{prof.name}-{tag}", **changes)

def results_summary(res: dict) -> str:
    "A short table of a reproduction's results for the console: mean, tasks ≥ 0.95 and trained parameters per method."
    rows = [f"{'method':14s} {'mean':>6s} {'tasks >= 0.95':>14s} {'trained per task':>17s}"]
    for m, r in res["methods"].items():
        ok = sum(a >= 0.95 for a in r["accuracy"].values())
        rows.append(f"{m:14s} {r['mean_accuracy']:6.3f} {ok:>10d} of 9 {r['trained_parameters_per_task']:>17,}")
    return f"Fraction correct ({res['profile']} profile, seeds {res['seeds']}):\n" + "\n".join(rows)

def robustness_summary(claims: list) -> str:
    "A console table: under how many perturbations MoLaP is more, as or less robust than each method (normalised area)."
    from molap.robustness import verdict_counts
    n = len({c["perturbation"] for c in claims})
    rows = [f"{'MoLaP compared with':20s} {'more robust':>12s} {'as robust':>10s} {'less robust':>12s}"]
    for other, d in verdict_counts(claims).items():
        rows.append(f"{other:20s} {d.get('above', 0):>12d} {d.get('no clear difference', 0):>10d} {d.get('below', 0):>12d}")
    return f"Robustness (normalised area under {n} perturbations; robustness.md):\n" + "\n".join(rows)

def generalisation_summary(res: dict) -> str:
    "A console table: each held-out task's final fraction correct, MoLaP's held-out modules against a network from scratch."
    from molap.generalisation import claims
    rows = [f"{'held-out task':16s} {'molap':>6s} {'separate':>9s}  facilitated"]
    for c in claims(res):  # (a run without the network from scratch has no facilitation verdict)
        e = res["held_out"][c["task"]]
        sep = f"{e['separate']['final']:9.3f}" if "separate" in e else f"{'–':>9s}"
        rows.append(f"{c['task']:16s} {e['molap']['final']:6.3f} {sep}  "
                    f"{ {True: 'yes', False: 'no'}.get(c.get('facilitated'), '–')}")
    return "Generalisation (a task left out of pre-training, then learned; generalisation.md):\n" + "\n".join(rows)

def main(argv=None) -> int:
    "Entry point of the `molap` console command."
    args = _parser().parse_args(argv)
    import matplotlib; matplotlib.use("Agg")  # a command draws to files only (set here, not in the library: notebooks keep inline figures)
    out = getattr(args, "out", None)
    try:
        set_threads(args.threads)
        if args.command == "tasks":
            cfg = TaskConfig(timing=args.timing, sigma_in=args.sigma_in)
            print(draw_corpus(args.out, seed=args.seed, batch_size=args.batch_size, config=cfg))
            print(f"\nwrote {len(TASK_NAMES)} figures and epochs.md to {args.out}")
        elif args.command == "reproduce":
            from molap.reproduce import reproduce
            prof = profile_from_args(args)
            res = reproduce(prof, args.out, seeds=args.seeds, device=args.device, workers=args.workers,
                            scheduler=args.scheduler)
            summary = [results_summary(res)]  # printed at the end, after the analyses' progress
            if not args.no_robustness:
                from molap.robustness import robustness
                # two draws per magnitude (molap robustness defaults to four): the main job stays within minutes
                rob = robustness(prof, args.out, seeds=args.seeds, workers=args.workers, draws=2, scheduler=args.scheduler)
                summary.append(robustness_summary(rob["claims"]))
            if not args.no_generalisation:
                from molap.generalisation import generalisation, REPRODUCE_HELD_OUT, REPRODUCE_LEARNERS
                # a subset of held-out tasks and learners keeps the main job within minutes; `molap generalise` runs all
                gen = generalisation(prof, args.out, seeds=args.seeds, held_out=REPRODUCE_HELD_OUT, methods=REPRODUCE_LEARNERS,
                                     workers=args.workers, device=args.device, scheduler=args.scheduler)
                summary.append(generalisation_summary(gen))
            print("\n" + "\n\n".join(summary) + f"\n\nreport: {Path(args.out) / 'report.md'}")
        elif args.command == "robustness":
            from molap.robustness import robustness
            rob = robustness(args.profile, args.out, seeds=args.seeds, methods=args.methods, draws=args.draws,
                             n_trials=args.trials, workers=args.workers, train=args.train or args.profile != "full",
                             scheduler=args.scheduler)
            print(f"wrote {Path(args.out) / 'robustness.md'} and robustness.json")
            if rob["claims"]: print(robustness_summary(rob["claims"]))
        elif args.command == "generalise":
            from molap.generalisation import generalisation
            gen = generalisation(args.profile, args.out, seeds=args.seeds, held_out=args.held_out, methods=args.methods,
                                 workers=args.workers, device=args.device, scheduler=args.scheduler)
            print(f"wrote {Path(args.out) / 'generalisation.md'} and generalisation.json")
            print(generalisation_summary(gen))
        elif args.command == "learn":
            from molap.beyond import neurogym_study, make_env, learn_table
            name = f"learn-{make_env(args.task).spec.id}-{args.profile}"
            res = neurogym_study([args.task], args.methods, args.seeds, args.profile, args.out, args.workers,
                                 args.scheduler, device=args.device, name=name)
            print(learn_table(res))
            print(f"wrote {Path(args.out) / name}.json and its learning curve {name}.png")
        elif args.command == "baselines":
            from functools import partial
            from molap.baselines import results_table
            from molap.jobs import run_jobs
            from molap.reproduce import _job
            prof, device = profile_from_args(args), check_device(args.device)
            folder = check_out_dir(args.out)
            jobs = {(m, seed): ("baseline", m, prof, seed, folder) for seed in args.seeds for m in args.methods}
            done = run_jobs(partial(_job, device=device, threads=None), jobs, args.workers, args.scheduler, desc=None,
                            out=folder)
            print(results_table({f"{m} seed {seed}": done[m, seed] for m, seed in jobs}))
    except (ValueError, FileNotFoundError, ImportError) as e:  # ImportError: an optional extra is missing
        print(f"molap {args.command}: error: {e}", file=sys.stderr)
        return 2
    except JobsFailed as e:  # every other job finished and kept its results
        print(f"molap {args.command}: error: {e}", file=sys.stderr)
        return 1
    except (MemoryError, RuntimeError) as e:  # torch reports a failed allocation as a RuntimeError
        if not isinstance(e, MemoryError) and "memory" not in str(e): raise
        print(f"molap {args.command}: error: out of memory; a smaller --batch-size (or fewer --trials) fits", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if argv is None: signal.signal(signal.SIGINT, signal.SIG_IGN)  # the command ends: more Ctrl-Cs print no traceback
        again = f"run the same command again to resume from {out}" if out else "nothing was saved"
        print(f"\nmolap {args.command}: interrupted; every finished step is kept: {again}", file=sys.stderr)
        if argv is None and "distributed" in sys.modules:  # after a Dask client, the interpreter's teardown takes tens of
            sys.stdout.flush(); sys.stderr.flush()           # seconds on a busy machine; every file is written: skip it
            os._exit(130)
        return 130
    return 0


# %% [markdown]
# A bad argument is reported in one line, with exit status 2:

# %%
out = Path(tempfile.mkdtemp())
test_eq(main(["tasks", "--out", str(out), "--batch-size", "0"]), 2)
test_eq(main(["tasks", "--out", str(out), "--sigma-in", "-1"]), 2)
test_eq(main(["tasks", "--out", str(out), "--threads", "0"]), 2)
(out / "file").write_text("")
test_eq(main(["reproduce", "--out", str(out / "file")]), 2)
test_eq(main(["generalise", "--out", str(out / "g"), "--held-out", "MemPr0"]), 2)  # "unknown task 'MemPr0'; tasks: ..."
test_eq(main(["generalise", "--out", str(out / "g"), "--workers", "0"]), 2)
test_eq(main(["learn", "--task", "NoSuchTask", "--out", str(out / "n")]), 2)  # "unknown neurogym task ...; tasks: ..."
test_eq(main(["learn", "--task", "ReachingDelayResponse", "--out", str(out / "n")]), 2)  # continuous actions
assert not (out / "n").exists()

# %% [markdown]
# A refused setting leaves nothing behind: no empty folder, no training started before the check. Impossible sizes
# (a batch of 10¹⁰ trials) and absurd noise are refused in the same one line:

# %%
for bad in (["--batch-size", "0"], ["--seed", "-1"], ["--sigma-in", "1e9"], ["--batch-size", "10000000000"]):
    test_eq(main(["tasks", "--out", str(out / "t"), *bad]), 2)
    assert not (out / "t").exists(), bad
for bad in (["--draws", "0"], ["--trials", "-1"]):
    test_eq(main(["robustness", "--out", str(out / "r"), *bad]), 2)
    assert not (out / "r").exists(), bad

# %% [markdown]
# Overrides make a new profile, named after what changed, so that its checkpoints never mix with the named profile's:

# %%
args = _parser().parse_args(["reproduce", "--molap-steps", "500", "--sigma-in", "0.1"])
prof = profile_from_args(args)
prof.name, prof.molap.steps, prof.task.sigma_in

# %%
test_eq(prof.name, "quick-sigma0.1-molap500")
test_eq(profile_from_args(_parser().parse_args(["baselines", "--out", "x", "--eval-trials", "64"])).name, "quick-eval64")
test_eq(prof.separate, get_profile("quick").separate)
test_eq(profile_from_args(_parser().parse_args(["reproduce"])), get_profile("quick"))
test_eq(main(["baselines", "--out", str(out / "b"), "--eval-trials", "0"]), 2)  # one line, nothing written
assert not (out / "b").exists()

# %% [markdown]
# The main job ends with tables, not sentences: the robustness verdicts counted per compared method, and the held-out
# tasks' final scores. Here on the shipped quick-profile analyses:

# %%
from molap.robustness import load_robustness
from molap.generalisation import load_generalisation
rob_q, gen_q = load_robustness("quick"), load_generalisation("quick")
print(robustness_summary(rob_q["claims"])); print(); print(generalisation_summary(gen_q))

# %%
lines = robustness_summary(rob_q["claims"]).splitlines()[2:]
test_eq(len(lines), len({c["other"] for c in rob_q["claims"]}))  # one row per compared method
for line in lines: test_eq(sum(map(int, line.split()[-3:])), len({c["perturbation"] for c in rob_q["claims"]}))
test_eq(len(generalisation_summary(gen_q).splitlines()), 2 + len(gen_q["held_out"]))
