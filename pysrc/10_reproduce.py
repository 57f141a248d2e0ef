# %% [markdown]
# # Reproducing the paper
#
# > One call (or `molap reproduce`) runs corpus → baselines → primitives → pre-training → MoLaP, and writes every figure, a report and the numbers.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/10_reproduce.ipynb)

# %% [markdown]
# The previous notebooks build each piece and run it small. This one strings them together into the experiment of the
# paper's main figure: learn the nine tasks with every method, and compare accuracy and cost. Each stage checkpoints
# into the output folder, so an interrupted reproduction picks up where it stopped when run again on the same folder.
# It writes:
#
# - `figures/*.png`: the corpus, the canonical correlations, the learning curves, accuracy per task and method, cost;
# - `results.json`: the numbers (profile, seeds, and per method: accuracy per task, parameters, updates, seconds);
# - `report.md`: the tables and figures together, for reading.

# %%
#| eval: false
#| hide
# %pip install -q molap

# %%
#| default_exp reproduce

# %%
#| export
from __future__ import annotations
import json, platform, statistics
from pathlib import Path
import torch
import molap
from molap.tasks import TASK_NAMES
from molap.training import atomic_write, plot_history
from molap.primitives import latent_primitives, plot_correlations
from molap.baselines import BASELINES, run_baseline, trials_per_step
from molap.molap import VARIANTS, MOLAP_PROFILES, run_molap

# %%
#| hide
import os, tempfile
from fastcore.test import *

# %%
device = "cuda" if torch.cuda.is_available() else "cpu"
device

# %% [markdown]
# ## Summarising runs
#
# A method's entry in `results.json` averages its seeds: accuracy per task is the mean over seeds (with the standard
# deviation and every seed's value alongside), costs are those of one run (they do not depend on the seed, except the
# seconds, which are averaged).

# %%
#| export
METHOD_ORDER = ("molap", "molap-v1", "molap-random", "separate", "joint")
COST_KEYS = ("total_parameters", "trained_parameters_per_task", "parameter_updates", "optimizer_steps")

def compact_history(h: dict, points: int = 400) -> dict:
    "A history with the per-step loss averaged into at most `points` bins (evaluations kept): small enough to ship."
    k = max(1, -(-len(h["loss"]) // points))  # steps per bin
    n = len(h["loss"]) // k * k                # whole bins only
    return dict(h, step=h["step"][k - 1:n:k], loss=[statistics.fmean(h["loss"][i:i + k]) for i in range(0, n, k)])

def summarise(records: list) -> dict:
    "results.json entry of one method from its per-seed records."
    acc = {t: [r["accuracy"][t] for r in records] for t in TASK_NAMES}
    out = dict(accuracy={t: statistics.fmean(v) for t, v in acc.items()},
               accuracy_sd={t: statistics.pstdev(v) for t, v in acc.items()},
               accuracy_per_seed={t: v for t, v in acc.items()},
               mean_accuracy=statistics.fmean(statistics.fmean(v) for v in acc.values()),
               seeds=[r["seed"] for r in records],
               history=compact_history(records[0]["history"]),
               trials_per_step=trials_per_step(records[0]),
               train_seconds=statistics.fmean(r["train_seconds"] for r in records),
               **{k: records[0][k] for k in COST_KEYS})
    if records[0].get("pretraining"):
        pre = [r["pretraining"] for r in records]
        out["pretraining"] = dict(parameter_updates=pre[0]["parameter_updates"],
                                  trained_parameters=pre[0]["trained_parameters"],
                                  train_seconds=statistics.fmean(p["train_seconds"] for p in pre),
                                  r2={m: statistics.fmean(p["r2"][m] for p in pre) for m in pre[0]["r2"]})
    return out


# %% [markdown]
# ## Figures

# %%
#| export
def plot_accuracy(results: dict):
    "Fraction correct per task, one bar per method (error bars: sd over seeds); returns the figure."
    import matplotlib.pyplot as plt
    methods = [m for m in METHOD_ORDER if m in results["methods"]]
    fig, ax = plt.subplots(figsize=(11, 3.4), constrained_layout=True)
    w = 0.8 / len(methods)
    for k, m in enumerate(methods):
        r = results["methods"][m]
        xs = [i + (k - (len(methods) - 1) / 2) * w for i in range(len(TASK_NAMES))]
        ax.bar(xs, [r["accuracy"][t] for t in TASK_NAMES], w, yerr=[r["accuracy_sd"][t] for t in TASK_NAMES],
               label=m, color=f"C{k}")
    ax.axhline(0.95, color="k", lw=0.6, ls=":")
    ax.set_xticks(range(len(TASK_NAMES)), [f"T{i + 1}\n{t}" for i, t in enumerate(TASK_NAMES)], fontsize=7)
    ax.set(ylabel="fraction correct", ylim=(0, 1.05), title=f"{results['profile']} profile, seeds {results['seeds']}")
    ax.legend(fontsize=7, ncol=len(methods), loc="upper right")
    return fig

def plot_learning(results: dict):
    "Training loss and fraction correct against trials per task, every method (first seed); returns the figure."
    M = results["methods"]
    methods = [m for m in METHOD_ORDER if m in M]
    return plot_history({m: M[m]["history"] for m in methods}, trials_per_step={m: M[m]["trials_per_step"] for m in methods})

def plot_cost(results: dict):
    "Trained parameters per task and parameter updates per method (log scale); returns the figure."
    import matplotlib.pyplot as plt
    methods = [m for m in METHOD_ORDER if m in results["methods"]]
    fig, axs = plt.subplots(1, 2, figsize=(10, 3), constrained_layout=True)
    for ax, key in zip(axs, ("trained_parameters_per_task", "parameter_updates")):
        ax.bar(methods, [results["methods"][m][key] for m in methods], color=[f"C{k}" for k in range(len(methods))])
        ax.set(yscale="log", title=key.replace("_", " ")); ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return fig


# %% [markdown]
# ## The report

# %%
#| export
def report_markdown(results: dict, figures: dict) -> str:
    "report.md: the accuracy and cost tables, and the figures."
    methods = [m for m in METHOD_ORDER if m in results["methods"]]
    R = results["methods"]
    lines = [f"# molap reproduction: {results['profile']} profile", "",
             f"molap {results['molap_version']}, torch {results['torch']}, seeds {results['seeds']}, "
             f"device {results['device']}. Accuracy is the fraction of correct decisions on 512 fresh trials per task "
             "(mean over seeds, ± sd).", ""]
    if results["profile"] == "quick":
        lines += ["**Quick profile:** small networks trained briefly; it checks the pipeline and shows early learning. "
                  "It is not the paper's experiment; see the full profile's results shipped with molap.", ""]
    lines += ["## Accuracy", "", "| task | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for t in TASK_NAMES:
        lines.append(f"| {t} | " + " | ".join(f"{R[m]['accuracy'][t]:.3f} ± {R[m]['accuracy_sd'][t]:.3f}"
                                             for m in methods) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{R[m]['mean_accuracy']:.3f}**" for m in methods) + " |")
    lines += ["", "## Cost", "", "| | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for k in ("total_parameters", "trained_parameters_per_task", "optimizer_steps", "parameter_updates", "train_seconds"):
        fmt = (lambda v: f"{v:,.0f}") if k != "parameter_updates" else (lambda v: f"{v:.3g}")
        lines.append(f"| {k.replace('_', ' ')} | " + " | ".join(fmt(R[m][k]) for m in methods) + " |")
    pre = {m: R[m]["pretraining"] for m in methods if R[m].get("pretraining")}
    if pre:
        lines += ["", "Pre-training of the modules (a one-off cost shared by all tasks):", "",
                  "| | parameter updates | seconds | R² per module |", "|---|---|---|---|"]
        for m, p in pre.items():
            r2 = ", ".join(f"{k} {v:.2f}" for k, v in p["r2"].items())
            lines.append(f"| {m} | {p['parameter_updates']:.3g} | {p['train_seconds']:.0f} | {r2} |")
    if results.get("cca_correlations"):
        lines += ["", "Canonical correlations of the corpus: " + ", ".join(f"{c:.3f}" for c in results["cca_correlations"])]
    lines += ["", "## Figures", ""] + [f"![{k}]({v})" for k, v in figures.items()]
    return "\n".join(lines) + "\n"


# %% [markdown]
# ## The pipeline

# %%
#| export
def _savefig(fig, path: Path) -> str:
    import matplotlib.pyplot as plt
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path.name

def reproduce(profile: str = "quick",   # "quick" (minutes on a CPU) or "full" (the reference scale)
              out="molap-results",      # output folder; re-running on it resumes from its checkpoints
              seeds=(0,),               # one run of every method per seed
              progress: bool = True,    # stage messages and tqdm bars
              device=None,              # default: cuda if available, else cpu
             ) -> dict:                 # the contents of results.json
    "Run the whole comparison of the paper at a profile; write figures, report.md and results.json to `out`."
    import matplotlib; matplotlib.use("Agg")
    from molap.cli import draw_corpus
    if profile not in MOLAP_PROFILES: raise ValueError(f"unknown profile {profile!r}; profiles: quick, full")
    seeds = [int(s) for s in seeds]
    if not seeds: raise ValueError("give at least one seed")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(out); runs, figs = out / "runs", out / "figures"
    say = print if progress else (lambda *a, **k: None)
    say(f"[1/4] corpus figures -> {figs / 'tasks'}")
    draw_corpus(figs / "tasks", seed=0)
    records = {m: [] for m in METHOD_ORDER}
    for seed in seeds:
        for m in BASELINES:
            say(f"[2/4] baseline {m}, seed {seed}")
            records[m].append(run_baseline(m, profile, seed=seed, out=runs, progress=progress, device=device)[0])
        for v in VARIANTS:
            say(f"[3/4] MoLaP ({v} modules), seed {seed}: primitives, pre-training, task stage")
            rec = run_molap(v, profile, seed=seed, out=runs, progress=progress, device=device)[0]
            records[rec["method"]].append(rec)
    say("[4/4] figures, report.md, results.json")
    cca = latent_primitives(trials_per_task=MOLAP_PROFILES[profile]["cca_trials"], seed=seeds[0])
    results = dict(profile=profile, seeds=seeds, molap_version=molap.__version__, torch=torch.__version__,
                   device=device, machine=platform.machine(), cca_correlations=cca.corrs.tolist(),
                   methods={m: summarise(r) for m, r in records.items()})
    figures = {"accuracy per task": _savefig(plot_accuracy(results), figs / "accuracy.png"),
               "cost": _savefig(plot_cost(results), figs / "cost.png"),
               "learning curves": _savefig(plot_learning(results), figs / "learning_curves.png"),
               "canonical correlations": _savefig(plot_correlations({"corpus": cca}), figs / "cca.png")}
    figures = {k: f"figures/{v}" for k, v in figures.items()}
    figures.update({t: f"figures/tasks/{t}.png" for t in TASK_NAMES})
    atomic_write(out / "results.json", lambda f: Path(f).write_text(json.dumps(results, indent=1)))
    atomic_write(out / "report.md", lambda f: Path(f).write_text(report_markdown(results, figures)))
    say(f"wrote {out / 'report.md'} and {out / 'results.json'}")
    return results


# %% [markdown]
# The quick profile, end to end, into a temporary folder (the same as `molap reproduce --profile quick --out DIR`):

# %%
out = Path(tempfile.mkdtemp())
results = reproduce("quick", out, progress=False, device=device)
{m: round(r["mean_accuracy"], 3) for m, r in results["methods"].items()}

# %%
print((out / "report.md").read_text()[:1500])

# %%
test_eq(set(results["methods"]), set(METHOD_ORDER))
for m, r in results["methods"].items():
    test_eq(set(r["accuracy"]), set(TASK_NAMES))
    for k in ("trained_parameters_per_task", "total_parameters", "parameter_updates", "train_seconds"): assert k in r
for f in ("results.json", "report.md", "figures/accuracy.png", "figures/cost.png", "figures/learning_curves.png",
          "figures/cca.png", "figures/tasks/MultiMem.png"):
    assert (out / f).exists(), f

# %% [markdown]
# Run again on the same folder, it resumes: every stage finds its finished checkpoint, nothing is retrained, and the
# numbers are the same.

# %%
import time

# %%
t0 = time.perf_counter()
again = reproduce("quick", out, progress=False, device=device)
test_eq(again["methods"]["molap"]["accuracy"], results["methods"]["molap"]["accuracy"])
test_eq(again["methods"]["separate"]["accuracy"], results["methods"]["separate"]["accuracy"])
round(time.perf_counter() - t0, 1)
