# %% [markdown]
# # Robustness: perturbing trained networks
#
# > The paper's second claim, measured: a suite of perturbations applied to every method's trained networks at evaluation time, curves over seeds, the claim checked from the numbers, and which module each task relies on.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/11_robustness.ipynb)

# %% [markdown]
# MoLaP's second claim is that skills learned on frozen, pre-trained modules are "more robust to a broad range of
# perturbations" than those of other multi-task strategies, and that targeted perturbations "explore the solution
# spaces". The paper's figures do not give the perturbations' exact definitions, so the suite below is ours
# (reconstructed): each perturbation is a function of one magnitude, applied to a *copy* of a trained network (or to
# the trials it is shown) with no retraining, and a magnitude means the same thing for every method. We then ask,
# for each perturbation, whether MoLaP's curve lies above each other method's, with confidence intervals, and write
# the answer from the numbers.

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp robustness

# %%
#| export
from __future__ import annotations
import copy, json, multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
import numpy as np
import torch
from tqdm.auto import tqdm
from molap.core import atomic_write, check_float, check_int, check_out_dir, set_threads, weights_digest
from molap.jobs import run_jobs
from molap.tasks import TASK_NAMES, TaskConfig, epoch_ranges
from molap.networks import ModularRNN, silence_units, perturb_weights, scale_noise
from molap.training import Profile, get_profile, evaluate
from molap.baselines import BASELINES, run_baseline
from molap.multitask import VARIANTS, method_name, run_molap
from molap.reproduce import METHOD_ORDER, CHANCE, network_file, load_network, method_colour

# %%
#| hide
import tempfile, time
import matplotlib.pyplot as plt
from IPython.display import Markdown
from fastcore.test import *
from molap.core import load_results
plt.rcParams["figure.dpi"] = 72  # light notebooks: figures at screen resolution

# %%
device = "cuda" if torch.cuda.is_available() else "cpu"
device

# %% [markdown]
# ## The suite
#
# Eight perturbations, each with magnitude 0 meaning "unperturbed". The first six change the network, the last two the
# trials:
#
# | perturbation | magnitude *m* | what changes |
# |---|---|---|
# | recurrent weights | noise std relative to the matrix | W_rec (J for MoLaP) + m·rms(W)·ε, ε ~ N(0, 1) per entry |
# | input weights | the same, relative | W_in (each task's I_T) |
# | output weights | the same, relative | W_out (each task's O_T) |
# | silenced units | fraction of units | a random m·n units held at 0 |
# | recurrent noise | extra noise | σ_rec → σ_rec·(1 + m) |
# | input noise | extra noise | σ_in → σ_in·(1 + m) |
# | time constant | relative change of α | α → α·(1 + m): faster leak, shorter memory |
# | longer delays | relative change of the delays | memory delays drawn from (1 + m)× their training range |
#
# Why these definitions. *Relative* weight noise makes one magnitude mean the same for a 64-unit and a 256-unit
# network and for matrices of different scales (MoLaP's I_T are larger than a separate network's W_in, for example).
# Unit silencing at random, rather than of chosen units, is the perturbation every method shares; the targeted
# version (whole modules) is the lesion matrix further down. The time constant and the delays perturb the task a
# network solves rather than its weights: a memory held by an attractor should survive a longer delay, a memory
# held by slow decay should not. Only the memory delays are stretched (`delay` of MemPro/MemAnti, `delay1` of the
# decision tasks; the Delay tasks keep their stimulus on, so they have nothing to hold).

# %%
#| export
PERTURBATIONS = {  # name -> default magnitudes (0 first: the unperturbed network)
    "recurrent weights": (0., .1, .2, .4, .8),
    "input weights": (0., .25, .5, 1., 2.),
    "output weights": (0., .25, .5, 1., 2.),
    "silenced units": (0., .1, .2, .3, .5),
    "recurrent noise": (0., 1., 2., 4., 8.),
    "input noise": (0., 3., 7., 15., 31.),
    "time constant": (0., .25, .5, .75, 1.),
    "longer delays": (0., .5, 1., 2., 3.),
}
DAMAGE = ("recurrent weights", "input weights", "output weights", "silenced units")  # the perturbations that damage the network
MEMORY_DELAYS = ("delay", "delay1")  # the epochs a memory must bridge (Mem and Dm families)

def _check_perturbation(name: str, magnitude) -> float:
    "The magnitude as a float, or a one-line error naming what is allowed."
    if name not in PERTURBATIONS: raise ValueError(f"unknown perturbation {name!r}; perturbations: {', '.join(PERTURBATIONS)}")
    m = check_float("magnitude", magnitude, minimum=0)
    if name == "silenced units" and m > 1: raise ValueError(f"silenced units is a fraction in [0, 1]; got {m}")
    return m


# %% [markdown]
# `perturb` returns the perturbed copy and the corpus settings to show it. It never touches the network it is given;
# every random draw comes from the generator passed in, so one seed gives one perturbation. Scaling one fixed noise
# draw ε by the magnitude (rather than drawing anew for each magnitude) makes a curve a path through one direction
# of perturbation, so its points differ only by how far they go.

# %%
#| export
def _stretch_delays(config: TaskConfig, factor: float) -> TaskConfig:
    "The corpus with its memory delays drawn from `factor` × their usual range."
    ranges = {**epoch_ranges("MemPro", config), **epoch_ranges("MemDm1", config)}
    return replace(config, durations={**config.durations,
                                      **{k: tuple(v * factor for v in ranges[k]) for k in MEMORY_DELAYS}})

def perturb(model: torch.nn.Module,      # a trained LeakyRNN (one or N networks) or ModularRNN
            task_config: TaskConfig,     # the corpus settings it reads
            name: str,                   # a key of `PERTURBATIONS`
            magnitude: float,            # 0: unperturbed
            generator: torch.Generator | None = None,  # the perturbation's randomness (weights, units)
           ) -> tuple:                   # (perturbed copy of the model, corpus settings)
    "A perturbed copy of `model` (or of the trials it sees): the perturbation `name` at `magnitude`."
    m = _check_perturbation(name, magnitude)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    block = {"recurrent weights": "rec", "input weights": "in", "output weights": "out"}.get(name)
    if block is not None: return perturb_weights(model, block, m, g, relative=True), task_config
    if name == "silenced units":
        k = round(m * model.n_rec)
        return silence_units(model, torch.randperm(model.n_rec, generator=g)[:k]), task_config
    if name == "recurrent noise": return scale_noise(model, 1 + m), task_config
    if name == "input noise": return copy.deepcopy(model), replace(task_config, sigma_in=task_config.sigma_in * (1 + m))
    if name == "time constant":
        new = copy.deepcopy(model)
        new.alpha = model.alpha * (1 + m)
        if not 0 < new.alpha <= 1: raise ValueError(f"time constant {m}: α = {new.alpha:.3g} is beyond 1 (dt > τ)")
        return new, task_config
    return copy.deepcopy(model), (task_config if m == 0 else _stretch_delays(task_config, 1 + m))


# %% [markdown]
# A network of the full profile (shipped with the package) under a few of them:

# %%
net, cfg = load_network("molap")
for name in ("recurrent weights", "silenced units", "longer delays"):
    p, c = perturb(net, cfg, name, PERTURBATIONS[name][2], torch.Generator().manual_seed(1))
    print(f"{name:18s} m = {PERTURBATIONS[name][2]:<4}", {t: round(a, 2) for t, a in evaluate(p, ["MemPro", "MemDm1"], 64, c).items()})

# %% [markdown]
# The properties that make the suite trustworthy, as tests. Magnitude 0 is exactly the unperturbed network; the
# network given is never changed; the delays really get longer; a bad name or magnitude is a one-line error.

# %%
base = evaluate(net, TASK_NAMES, 32, cfg, seed=5)
state = {k: v.clone() for k, v in net.state_dict().items()}
for name in PERTURBATIONS:
    p, c = perturb(net, cfg, name, 0.)
    test_eq(evaluate(p, TASK_NAMES, 32, c, seed=5), base)
    p, c = perturb(net, cfg, name, PERTURBATIONS[name][-1])
assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())
test_eq(_stretch_delays(cfg, 2.).durations["delay1"], (400., 3200.))
test_fail(lambda: perturb(net, cfg, "lesion", 1.), contains="perturbations: recurrent weights")
test_fail(lambda: perturb(net, cfg, "silenced units", 2.), contains="fraction in [0, 1]")
test_fail(lambda: perturb(net, cfg, "input noise", -1.), contains="magnitude")

# %% [markdown]
# And the effects are monotone where the answer is known: on a network that solves MemPro perfectly, silencing every
# unit leaves an output that no longer depends on the trial (one fixed direction: right on about the 10% of trials
# that happen to lie within 18° of it, the chance level), and more weight noise never helps much.

# %%
silent, _ = perturb(net, cfg, "silenced units", 1.)
test_eq(evaluate(silent, ["MemPro"], 512, cfg)["MemPro"] < 2 * CHANCE, True)
accs = [evaluate(perturb(net, cfg, "recurrent weights", m, torch.Generator().manual_seed(2))[0], ["MemPro"], 64, cfg)["MemPro"]
        for m in (0., .4, 1.6)]
accs

# %%
test_eq(accs[0] >= accs[1] >= accs[2] - 0.05, True)
test_eq(accs[2] < accs[0], True)


# %% [markdown]
# ## Scoring a network under the suite
#
# `robustness_curves` scores one trained network at every magnitude of every perturbation: for each of `draws`
# perturbation draws, fresh evaluation batches (a different trial timing each: the corpus draws timing per batch, so
# one batch tests one timing) and the fraction correct per task. The same draws and batches serve every magnitude and
# every method, so differences between curves are differences between networks, not between samples.

# %%
#| export
def robustness_curves(model: torch.nn.Module,  # a trained network
                      task_config: TaskConfig,  # the corpus settings it reads
                      perturbations=None,       # {name: magnitudes}; default `PERTURBATIONS`
                      draws: int = 4,           # perturbation draws, each with its own evaluation batches
                      n_trials: int = 64,       # trials per task and draw
                      seed: int = 0,            # seeds the draws (the network's seed is separate)
                      tasks=TASK_NAMES,
                      progress: bool = False,
                     ) -> dict:                 # name -> {"magnitudes", "accuracy": [magnitude][draw][task]}
    "Fraction correct per task of `model` at every magnitude of every perturbation, for `draws` draws each."
    draws, n_trials = check_int("draws", draws), check_int("n_trials", n_trials)
    perturbations = dict(PERTURBATIONS if perturbations is None else perturbations)
    out = {}
    for name, mags in tqdm(perturbations.items(), disable=not progress, desc="perturbations", leave=False):
        mags = [_check_perturbation(name, m) for m in mags]
        acc = []
        for m in mags:
            row = []
            for d in range(draws):
                p, c = perturb(model, task_config, name, m, torch.Generator().manual_seed(seed * 1000 + d))
                r = evaluate(p, tasks, n_trials, c, seed=10_000 + seed * 1000 + d)
                row.append([r[t] for t in tasks])
            acc.append(row)
        out[name] = dict(magnitudes=mags, tasks=list(tasks), accuracy=acc)
    return out


# %%
t0 = time.time()
small = robustness_curves(net, cfg, {"silenced units": (0., .3), "input noise": (0., 15.)}, draws=2, n_trials=32)
print(f"{time.time() - t0:.1f} s")
{k: np.mean(v["accuracy"], (1, 2)).round(3) for k, v in small.items()}

# %%
test_eq(np.array(small["silenced units"]["accuracy"]).shape, (2, 2, len(TASK_NAMES)))


# %% [markdown]
# ## Targeted lesions: which module does each task use?
#
# Silencing a whole module is the targeted perturbation. For MoLaP (and its v1 and random-module variants) each of
# the three modules is silenced in turn, and the result is a module × task matrix: a task that collapses when M2 is
# silenced relies on M2. An unstructured network has no modules; silencing the same number of units there asks a
# different question ("how much does any group of that size matter?"). Two versions: units at random (averaged over
# draws) and the contiguous block at the same indices. Before training, units of a separate or joint network are
# exchangeable (the initialisation is symmetric under permutation), so the two are equal in distribution and the
# random one, averaged, is the fair comparison; the contiguous one is shown because it is the literal "same units".

# %%
#| export
def unit_groups(model: torch.nn.Module,   # the network to lesion
                sizes: tuple,             # units per group (MoLaP's module sizes)
                kind: str = "modules",    # "modules" (a ModularRNN's own), "contiguous" or "random"
                generator: torch.Generator | None = None,
               ) -> list:                 # one index tensor per group
    "The unit groups of a lesion: the modules, contiguous blocks of `sizes`, or random sets of `sizes` units."
    if kind == "modules":
        if not isinstance(model, ModularRNN): raise ValueError("only a ModularRNN has modules; use 'contiguous' or 'random'")
        return [model.module_units(i) for i in range(len(model.module_sizes))]
    if sum(sizes) > model.n_rec: raise ValueError(f"groups of {sum(sizes)} units do not fit in {model.n_rec}")
    if kind == "contiguous":
        edges = np.cumsum([0, *sizes])
        return [torch.arange(a, b) for a, b in zip(edges[:-1], edges[1:])]
    if kind == "random":
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        return [torch.randperm(model.n_rec, generator=g)[:s] for s in sizes]
    raise ValueError(f"kind must be 'modules', 'contiguous' or 'random'; got {kind!r}")

def lesion_matrix(model: torch.nn.Module, task_config: TaskConfig, sizes: tuple, kind: str = "modules",
                  draws: int = 4, n_trials: int = 64, seed: int = 0, tasks=TASK_NAMES) -> list:
    "[group][task]: fraction correct with one group of units silenced (mean over `draws`)."
    rows = []
    for i in range(len(sizes)):
        acc = []
        for d in range(draws):
            groups = unit_groups(model, sizes, kind, torch.Generator().manual_seed(seed * 1000 + d))
            r = evaluate(silence_units(model, groups[i]), tasks, n_trials, task_config, seed=10_000 + seed * 1000 + d)
            acc.append([r[t] for t in tasks])
        rows.append(np.mean(acc, 0).tolist())
    return rows


# %%
sizes = tuple(load_results("full")["methods"]["molap"]["module_sizes"])
lesions = {m: lesion_matrix(*load_network(m), sizes, "modules", draws=1, n_trials=64) for m in ("molap", "molap-v1")}
np.round(lesions["molap"], 2)

# %%
test_eq(len(lesions["molap"]), 3)
test_fail(lambda: unit_groups(load_network("separate")[0], sizes, "modules"), contains="only a ModularRNN")
test_eq([len(g) for g in unit_groups(net, sizes, "random")], list(sizes))

# %% [markdown]
# ## Curves, areas and the claim
#
# A method's curve is the fraction correct averaged over tasks at each magnitude, with a 95% bootstrap interval that
# resamples the networks (seeds) and, within each, the perturbation draws: both sources of spread count. The
# *normalised* curve is the share of the method's own above-chance accuracy that survives,
# (a − chance) / (a₀ − chance) with chance = 0.1, so that a method is not called fragile for starting higher or robust
# for starting lower: dividing by a₀ alone would reward a method that sits at chance (it has nothing to lose). A curve is summarised by its area (the trapezoid rule over the magnitudes, divided by their range:
# the average fraction correct over the range). The claim is checked by the difference of areas between MoLaP and
# each other method, paired by seed: "above" when its 95% interval is above 0, "below" when it is below, otherwise
# "no clear difference". The unit that is replicated is the *network*: a method's draws on one network share its
# weights, so they are averaged first, and the interval is Student's t over the S networks' mean differences,
# mean ± t · sd / √S with t the 97.5% quantile on S − 1 degrees of freedom. With three networks t = 4.30, not 1.96: a bootstrap that resamples
# three networks cannot see how far a fourth might fall, and it gives intervals about half as wide (both ship; the
# verdicts read the t-interval). With a single network there is nothing to generalise over, and the interval is the
# bootstrap over its draws, said so in the row (`interval`).

# %%
#| export
BOOTSTRAP = 2000  # bootstrap resamples for every interval

def _bootstrap(values: np.ndarray, stat, rng) -> tuple:
    "95% interval of `stat` over resamples of axis 0 (seeds) and, within, axis 1 (draws) of `values`."
    S, D = values.shape[:2]
    reps = [stat(values[rng.integers(0, S, S)][:, rng.integers(0, D, D)]) for _ in range(BOOTSTRAP)]
    return tuple(np.percentile(reps, [2.5, 97.5], axis=0).tolist())

def area(curve: np.ndarray, magnitudes) -> float:
    "Mean height of `curve` over the magnitude range (trapezoid rule); the last axis runs over magnitudes."
    m = np.asarray(magnitudes, float)
    return np.trapezoid(curve, m, axis=-1) / (m[-1] - m[0])

def summarise_curves(curves: dict,  # method -> list over seeds of `robustness_curves` outputs
                     seeds,         # the seeds, in the order of the lists: one list for all, or {method: list}
                     seed: int = 0, # seeds the bootstrap
                    ) -> dict:      # the `perturbations` entry of robustness.json
    "Per perturbation and method: mean curve, its CI, the normalised curve and its CI, per-task curves, per-seed areas and points."
    rng = np.random.default_rng(seed)
    seeds_of = seeds if isinstance(seeds, dict) else {m: list(seeds) for m in curves}
    out = {}
    for name in next(iter(curves.values()))[0]:
        mags = curves[next(iter(curves))][0][name]["magnitudes"]
        entry = dict(magnitudes=mags, seeds=sorted(set().union(*seeds_of.values())), methods={})
        for method, runs in curves.items():
            a = np.array([r[name]["accuracy"] for r in runs])            # [seed, magnitude, draw, task]
            v = a.mean(3).transpose(0, 2, 1)                            # [seed, draw, magnitude]
            norm = lambda x: (x - CHANCE) / np.maximum(x[..., :1] - CHANCE, 1e-9)  # share of the above-chance accuracy kept
            mean = lambda x: x.mean((0, 1))
            entry["methods"][method] = dict(
                seeds=list(seeds_of[method]), mean=mean(v).tolist(), ci=_bootstrap(v, mean, rng),
                normalised=mean(norm(v)).tolist(), normalised_ci=_bootstrap(v, lambda x: mean(norm(x)), rng),
                per_task={t: a[..., k].mean((0, 2)).tolist() for k, t in enumerate(runs[0][name]["tasks"])},
                area=area(v, mags).tolist(), normalised_area=area(norm(v), mags).tolist(),  # [seed][draw]
                points=v.tolist())  # [seed][draw][magnitude]: where an interval's width comes from (below)
        out[name] = entry
    return out

def t_quantile(p: float,  # the probability, in (0.5, 1)
               df: int,   # degrees of freedom, ≥ 1
              ) -> float:
    "The p-quantile of Student's t with `df` degrees of freedom (numpy only; about 6 digits)."
    # with x = √df·tan θ the t density becomes ∝ cos^(df−1) θ on (−π/2, π/2): integrate that from 0 and invert
    theta = np.linspace(0, np.pi / 2, 200_001)
    f = np.cos(theta) ** (df - 1)
    cdf = np.concatenate([[0], np.cumsum((f[1:] + f[:-1]) / 2)]); cdf /= 2 * cdf[-1]  # P(0 < T < x(θ))
    return float(np.sqrt(df) * np.tan(np.interp(p - 0.5, cdf, theta)))

def paired_interval(d: np.ndarray,  # [network, draw]: MoLaP's area minus another method's, paired
                    rng,
                   ) -> tuple:      # (low, high, how)
    "95% interval of the mean of `d`: Student's t over networks (draws averaged within each), the draws' bootstrap for one."
    if len(d) < 2: return (*_bootstrap(d, np.mean, rng), "bootstrap over draws (one network)")
    per_net = d.mean(1)
    half = t_quantile(0.975, len(d) - 1) * per_net.std(ddof=1) / np.sqrt(len(d))
    return per_net.mean() - half, per_net.mean() + half, f"t over {len(d)} networks"

def claim_table(perturbations: dict,      # the output of `summarise_curves`
                method: str = "molap",    # the method whose claim is checked
                seed: int = 0,
               ) -> list:                 # one dict per (perturbation, other method)
    "MoLaP's area minus each other method's, paired by seed (the seeds both have), with 95% intervals and a verdict."
    rng, rows = np.random.default_rng(seed), []
    verdict = lambda lo, hi: "above" if lo > 0 else "below" if hi < 0 else "no clear difference"
    for name, e in perturbations.items():
        if method not in e["methods"]: continue
        mine = e["methods"][method]
        for other, theirs in e["methods"].items():
            common = [s for s in mine["seeds"] if s in theirs["seeds"]]
            if other == method or not common: continue
            row = dict(perturbation=name, method=method, other=other, seeds=common)
            at = lambda r, key: np.array(r[key])[[r["seeds"].index(s) for s in common]]
            for key in ("area", "normalised_area"):  # paired by seed and by draw (same seeds, same batches)
                d = at(mine, key) - at(theirs, key)
                lo, hi, how = paired_interval(d, rng)
                row[key] = dict(difference=float(d.mean()), ci=[float(lo), float(hi)], interval=how,
                                bootstrap_ci=list(_bootstrap(d, np.mean, rng)), verdict=verdict(lo, hi))
            rows.append(row)
    return rows


# %% [markdown]
# Student's quantiles against the printed tables (97.5%: 12.706 on one degree of freedom, 4.303 on two, 2.776 on four,
# 2.042 on thirty), and why three networks need them: on made-up differences whose mean is truly 0, the t-interval
# covers 0 about 95% of the time, the bootstrap over three networks far less often:

# %%
test_close([t_quantile(0.975, k) for k in (1, 2, 4, 30)], [12.706, 4.303, 2.776, 2.042], eps=1e-3)
_rng = np.random.default_rng(1)
_d = [0.05 * _rng.standard_normal((3, 1)) + 0.01 * _rng.standard_normal((3, 4)) for _ in range(400)]  # 3 networks, 4 draws
cover = {"t over networks": np.mean([lo <= 0 <= hi for lo, hi, _ in (paired_interval(d, _rng) for d in _d)]),
         "bootstrap": np.mean([lo <= 0 <= hi for lo, hi in (_bootstrap(d, np.mean, _rng) for d in _d[:100])])}
cover

# %% [markdown]
# The t-interval covers the true difference about as often as it promises; the bootstrap of three networks misses it
# about a quarter of the time, and would call a difference where there is none:

# %%
test_close(cover["t over networks"], 0.95, eps=0.04); test_eq(cover["bootstrap"] < 0.9, True)
test_eq(paired_interval(np.ones((1, 4)), _rng)[2], "bootstrap over draws (one network)")

# %% [markdown]
# ## The networks of every method
#
# The analysis needs trained networks. The full profile's ship with the package (three seeds of every method, see
# the reproduction); any other profile or seed
# is trained, or resumed, in the run folder by the same runners `molap reproduce` uses, so a robustness run after a
# reproduction on the same folder trains nothing.

# %%
#| export
VARIANT_OF = {method_name(v): v for v in VARIANTS}  # MoLaP method name -> variant

def _not_shipped(method, profile, seed):
    return (f"no shipped {method} network for {profile!r} seed {seed}; train it with train=True "
            f"(molap robustness --train)")

def trained_network(method: str,              # a method of `METHOD_ORDER`
                    profile: Profile | str,
                    seed: int = 0,
                    runs=None,                # folder to train (or resume) in when nothing ships
                    progress: bool = False,
                    device=None,
                   ) -> tuple:                # (trained model, the TaskConfig it reads)
    "The trained network of `method`: the shipped one if the package has it, else trained or resumed in `runs`."
    if method not in METHOD_ORDER: raise ValueError(f"unknown method {method!r}; methods: {', '.join(METHOD_ORDER)}")
    prof = get_profile(profile)
    if network_file(method, prof.name, seed).exists(): return load_network(method, prof, seed)
    if runs is None: raise FileNotFoundError(_not_shipped(method, prof.name, seed))
    name = f"{method if method in BASELINES else 'molap-' + VARIANT_OF[method]}-{prof.name}-seed{seed}"
    record, ckpt = Path(runs) / f"{name}.json", Path(runs) / f"{name}.ckpt"
    if record.exists() and ckpt.exists():  # a finished run (its record comes last): its weights, no resuming or evaluating
        r = json.loads(record.read_text())
        model, cfg = load_network(method, prof, seed, path=ckpt, module_sizes=r.get("module_sizes"))
        return model, replace(prof.task, rule_inputs=r["rule_inputs"]) if method in BASELINES else cfg
    if method in BASELINES:
        record, model = run_baseline(method, prof, seed, out=runs, progress=progress, device=device)
        return model, replace(prof.task, rule_inputs=record["rule_inputs"])
    return run_molap(VARIANT_OF[method], prof, seed, out=runs, progress=progress, device=device)[1], prof.task


# %% [markdown]
# ## The whole analysis
#
# `robustness` runs the suite and the lesions on every method and seed, one job per network (in parallel processes with
# `workers`, one torch thread each), keeps each finished job in `out/robustness/` so that an interrupted run resumes,
# and writes `robustness.json`, the figures and `robustness.md`. `molap robustness --profile quick|full --out DIR`
# calls it; `molap reproduce` runs it after the comparison, on the same folder.

# %%
#| export
def _job(method, prof, seed, runs, draws, n_trials, sizes, perturbations, threads=None):
    "Curves and lesion matrices of one trained network (in a worker process when `threads` is given)."
    if threads is not None: set_threads(threads)
    model, cfg = trained_network(method, prof, seed, runs)
    model.eval()
    kinds = ["modules"] if isinstance(model, ModularRNN) else ["random", "contiguous"]
    return dict(method=method, seed=seed, weights=weights_digest(model), draws=draws, n_trials=n_trials,
                curves=robustness_curves(model, cfg, perturbations, draws, n_trials, seed),
                lesions={k: lesion_matrix(model, cfg, sizes, k, draws, n_trials, seed) for k in kinds})

def _still_valid(done: dict, method: str, prof: Profile, seed: int, draws: int, n_trials: int) -> bool:
    "Whether a network's finished analysis can be reused: same draws and trials, and (if it ships) the same weights."
    if (done.get("draws"), done.get("n_trials")) != (draws, n_trials): return False
    if network_file(method, prof.name, seed).exists():
        return done.get("weights") == weights_digest(load_network(method, prof, seed)[0])
    return True

def robustness(profile: Profile | str = "quick",  # a `Profile` or its name
               out="molap-results",              # output folder (shared with `reproduce`: its runs are reused)
               seeds=(0,),                       # networks trained from these seeds (without `train`: those that ship)
               methods=METHOD_ORDER,             # methods to perturb
               draws: int = 4,                   # perturbation draws per network and magnitude
               n_trials: int = 64,               # trials per task and draw
               perturbations=None,               # {name: magnitudes}; default `PERTURBATIONS`
               workers: int = 1,                 # parallel processes (one torch thread each)
               train: bool = True,               # train (or resume) in `out/runs` the networks that do not ship
               progress: bool = True,
               scheduler=None,                   # a Dask scheduler's address (or cluster): run the networks' jobs there
              ) -> dict:                         # the contents of robustness.json
    "Perturb every method's trained networks; write robustness.json, figures and robustness.md to `out`."
    prof = get_profile(profile)
    seeds = [check_int("seed", s, minimum=0) for s in seeds]
    if not seeds: raise ValueError("give at least one seed")
    bad = [m for m in methods if m not in METHOD_ORDER]
    if bad: raise ValueError(f"unknown method {bad[0]!r}; methods: {', '.join(METHOD_ORDER)}")
    perturbations = {k: [_check_perturbation(k, m) for m in v] for k, v in (perturbations or PERTURBATIONS).items()}
    workers = check_int("workers", workers)
    draws, n_trials = check_int("draws", draws), check_int("n_trials", n_trials)  # before any training
    out = check_out_dir(out); runs, done_dir = out / "runs", out / "robustness"
    sizes = tuple(prof.module_sizes)
    # without training, a method is perturbed on the seeds whose networks ship (its claims pair on the seeds in common)
    seeds_of = {m: [s for s in seeds if train or network_file(m, prof.name, s).exists()] for m in methods}
    unseen = [m for m in methods if not seeds_of[m]]
    if unseen: raise FileNotFoundError(_not_shipped(unseen[0], prof.name, seeds[0]))
    todo, results = [], {}
    for m in methods:
        for s in seeds_of[m]:
            f = done_dir / f"{m}-{prof.name}-seed{s}.json"
            done = json.loads(f.read_text()) if f.exists() else None
            if done and _still_valid(done, m, prof, s, draws, n_trials): results[m, s] = done
            else: todo.append((m, s))
    args = lambda m, s: (m, prof, s, runs if train else None, draws, n_trials, sizes, perturbations)
    keep = lambda r: atomic_write(done_dir / f"{r['method']}-{prof.name}-seed{r['seed']}.json",
                                  lambda f: Path(f).write_text(json.dumps(r)))
    job = _job
    if workers > 1 or scheduler is not None:  # independent networks elsewhere, one torch thread each (see `run_jobs`)
        from molap.robustness import _job as job  # the package's function (picklable), also from a notebook
    results.update(run_jobs(job, {(m, s): args(m, s) for m, s in todo}, workers, scheduler, progress=progress,
                            desc="robustness (networks)", out=out, on_result=lambda key, r: keep(r)))
    curves = {m: [results[m, s]["curves"] for s in seeds_of[m]] for m in methods}
    summary = summarise_curves(curves, seeds_of)
    lesions = {m: {k: np.mean([results[m, s]["lesions"][k] for s in seeds_of[m]], 0).tolist()
                   for k in results[m, seeds_of[m][0]]["lesions"]} for m in methods}
    res = dict(profile=prof.name, primitives_source="observed",  # MoLaP's; molap-oracle reads the records
               seeds=sorted(set().union(*seeds_of.values())), method_seeds=seeds_of,
               methods=list(methods), draws=draws, n_trials=n_trials,
               weights={m: {str(s): results[m, s]["weights"] for s in seeds_of[m]} for m in methods},  # what was perturbed
               module_sizes=list(sizes), tasks=list(TASK_NAMES), perturbations=summary, lesions=lesions,
               claims=claim_table(summary) if "molap" in methods else [])
    write_robustness(res, out)
    return res


# %% [markdown]
# When a few networks are trained again (a module ablation moved to MoLaP's own task stage, say), their analysis can
# join a finished one instead of perturbing every network again: `merge_robustness` takes those methods' entries from
# a run of them alone and recomputes the claims. Each network's curves are the same either way (its perturbations are
# seeded per network); only the bootstrap intervals of the methods taken over come from their own run's stream.

# %%
#| export
def merge_robustness(base: dict,     # a finished analysis (robustness.json)
                     new: dict,      # an analysis of some methods alone, same draws, trials and perturbations
                     methods,        # the methods whose entries `new` replaces (or adds) in `base`
                    ) -> dict:       # the merged analysis, claims recomputed
    "`base` with the entries of `methods` taken from `new`, and MoLaP's claims recomputed from the merged curves."
    missing = [m for m in methods if m not in new["methods"]]
    if missing: raise ValueError(f"{missing[0]} is not in the new analysis; it has {', '.join(new['methods'])}")
    for k in ("draws", "n_trials", "tasks", "profile"):
        if base[k] != new[k]: raise ValueError(f"the analyses differ in {k}: {base[k]} and {new[k]}; they cannot be merged")
    if {n: e["magnitudes"] for n, e in base["perturbations"].items()} != {n: e["magnitudes"] for n, e in new["perturbations"].items()}:
        raise ValueError("the analyses perturb differently (perturbations or magnitudes); they cannot be merged")
    res = copy.deepcopy(base)
    for name, e in res["perturbations"].items():
        for m in methods: e["methods"][m] = new["perturbations"][name]["methods"][m]
    for key in ("lesions", "weights", "method_seeds"):
        for m in methods: res[key][m] = new[key][m]
    res["methods"] = list(dict.fromkeys(res["methods"] + list(methods)))
    res["seeds"] = sorted(set().union(*map(set, res["method_seeds"].values())))
    res["claims"] = claim_table(res["perturbations"])
    return res


# %% [markdown]
# Merging a method's own analysis back into the shipped one changes nothing:

# %%
shipped_full = load_results("robustness-full")
same = merge_robustness(shipped_full, shipped_full, ["molap-v1"])
test_eq(same["claims"], shipped_full["claims"]); test_eq(same["method_seeds"], shipped_full["method_seeds"])
test_fail(lambda: merge_robustness(shipped_full, shipped_full, ["ewc"]), contains="not in the new analysis")
test_fail(lambda: merge_robustness(shipped_full, dict(shipped_full, draws=2), ["molap-v1"]), contains="differ in draws")


# %% [markdown]
# ## Figures and the report
#
# The curves of every perturbation side by side (raw and normalised), the per-task curves of one perturbation, the
# lesion matrices, and a report with the claim table.

# %%
#| export
def seeds_text(res: dict) -> str:
    "The seeds perturbed, naming the methods that had fewer (their networks ship on fewer seeds)."
    by = res.get("method_seeds") or {m: res["seeds"] for m in res["methods"]}
    fewer = {m: s for m, s in by.items() if s != res["seeds"]}
    return f"seeds {res['seeds']}" + "".join(f"; {m}: {s}" for m, s in fewer.items())

def plot_curves(res: dict, normalised: bool = False, methods=None):
    "Fraction correct (mean over tasks) against magnitude, one panel per perturbation, error bars for the 95% CI."
    import matplotlib.pyplot as plt
    names = list(res["perturbations"])
    cols = 4
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.7 * cols, 2.2 * rows), squeeze=False, sharey=True)
    key = "normalised" if normalised else "mean"
    for ax, name in zip(axes.flat, names):
        e = res["perturbations"][name]
        for m, r in e["methods"].items():  # error bars, not bands: light notebooks (bands compress badly)
            if methods is not None and m not in methods: continue
            lo, hi = np.array(r[f"{key}_ci"] if normalised else r["ci"])
            y = np.array(r[key])
            ax.errorbar(e["magnitudes"], y, yerr=[y - lo, hi - y], marker=".", ms=4, lw=1, capsize=2, label=m,
                        color=method_colour(m))
        ax.set_title(name, fontsize=10); ax.set_xlabel("magnitude")
    for ax in axes.flat[len(names):]: ax.axis("off")
    for ax in axes[:, 0]: ax.set_ylabel("above-chance share kept" if normalised else "fraction correct")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{res['profile']} profile, {seeds_text(res)}: mean over tasks, 95% bootstrap CI", fontsize=10)
    fig.tight_layout()
    return fig

def plot_per_task(res: dict, name: str):
    "One perturbation's curves per task and method."
    import matplotlib.pyplot as plt
    e = res["perturbations"][name]
    fig, axes = plt.subplots(2, 5, figsize=(11, 4), sharex=True, sharey=True)
    for ax, t in zip(axes.flat, res["tasks"]):
        for m, r in e["methods"].items(): ax.plot(e["magnitudes"], r["per_task"][t], marker=".", label=m, color=method_colour(m))
        ax.set_title(t, fontsize=9)
    for ax in axes[-1]: ax.set_xlabel("magnitude")
    for ax in axes[:, 0]: ax.set_ylabel("fraction correct")
    axes.flat[-1].axis("off"); axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{name}: fraction correct per task ({res['profile']} profile, {seeds_text(res)})", fontsize=10)
    fig.tight_layout()
    return fig

def plot_lesions(res: dict):
    "Module (or unit group) × task matrices: fraction correct with that group silenced."
    import matplotlib.pyplot as plt
    panels = [(m, k) for m, d in res["lesions"].items() for k in d]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.0), squeeze=False, constrained_layout=True)
    for ax, (m, k) in zip(axes.flat, panels):
        im = ax.imshow(np.array(res["lesions"][m][k]), vmin=0, vmax=1, cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(res["tasks"])), [t.replace("Context", "Ctx") for t in res["tasks"]], rotation=90, fontsize=7)
        labels = [f"M{i + 1}" for i in range(len(res["module_sizes"]))]
        ax.set_yticks(range(len(labels)), labels if k == "modules" else [f"{l}-\nsized" for l in labels], fontsize=7)
        ax.set_title(f"{m} ({k})", fontsize=9)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="fraction correct")
    return fig

VERDICT_DEFINITION = ("**Area**: the fraction correct (mean over tasks) averaged over the perturbation's magnitudes. "
                      "**Normalised area**: the same, each network's curve divided by its unperturbed fraction correct, "
                      "so it measures how much of its own skill a network keeps, not how good it was to begin with. "
                      "**Verdict** (on the normalised area): MoLaP *more robust* or *less robust* than the other method "
                      "when the 95% interval of the difference, paired by network, excludes 0 (Student's t over the "
                      "networks, draws averaged within each), *as robust* otherwise.")
_WORDS = {"above": "more robust", "below": "less robust", "no clear difference": "as robust"}

def claims_markdown(claims: list) -> str:
    "The claim table: one verdict per row (normalised area), with both differences and their 95% CIs."
    f = lambda c: f"{c['difference']:+.3f} [{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}]"
    rows = ["| perturbation | MoLaP compared with | verdict: MoLaP is | Δ normalised area [95% CI] | Δ area [95% CI] |",
            "|---|---|---|---|---|"]
    rows += [f"| {c['perturbation']} | {c['other']} | {_WORDS[c['normalised_area']['verdict']]} | "
             f"{f(c['normalised_area'])} | {f(c['area'])} |" for c in claims]
    return "\n".join(rows)

def verdict_counts(claims: list, key: str = "normalised_area") -> dict:
    "{other method: {verdict: number of perturbations}}."
    out = {}
    for c in claims: out.setdefault(c["other"], {}).setdefault(c[key]["verdict"], 0); out[c["other"]][c[key]["verdict"]] += 1
    return out

def verdict_summary(claims: list) -> str:
    "One sentence per compared method: under how many perturbations MoLaP is more, as or less robust (normalised area)."
    n = len({c["perturbation"] for c in claims})
    return "Over the perturbations: " + "; ".join(
        f"compared with {o}, MoLaP is " + ", ".join(f"{_WORDS[k]} under {v} of {n}" for k, v in d.items())
        for o, d in verdict_counts(claims).items()) + "."

def write_robustness(res: dict, out) -> dict:
    "robustness.json, the figures and robustness.md in `out`; returns the figure paths."
    from molap.reproduce import _savefig
    out = Path(out); figs = out / "figures" / "robustness"
    paths = {"curves": _savefig(plot_curves(res), figs / "curves.png"),
             "normalised curves": _savefig(plot_curves(res, normalised=True), figs / "curves_normalised.png"),
             "lesions": _savefig(plot_lesions(res), figs / "lesions.png")}
    for name in ("recurrent weights", "longer delays"):
        if name in res["perturbations"]:
            paths[f"{name} per task"] = _savefig(plot_per_task(res, name), figs / f"per_task_{name.replace(' ', '_')}.png")
    atomic_write(out / "robustness.json", lambda f: Path(f).write_text(json.dumps(res, indent=1)))
    lines = [f"# Robustness ({res['profile']} profile, {seeds_text(res)})", "",
             f"{len(res['perturbations'])} perturbations, {res['draws']} draws × {res['n_trials']} trials per task and "
             f"magnitude, for {', '.join(res['methods'])}.", ""]
    if res["claims"]:
        lines += ["## Is MoLaP more robust?", "", VERDICT_DEFINITION, "", claims_markdown(res["claims"]), "",
                  verdict_summary(res["claims"]), ""]
    lines += [f"![{k}](figures/robustness/{v})" for k, v in paths.items()]
    atomic_write(out / "robustness.md", lambda f: Path(f).write_text("\n".join(lines) + "\n"))
    return paths


# %% [markdown]
# ## Run here: the shipped networks
#
# The whole pipeline runs here on the full profile's shipped networks (MoLaP and the separate networks, seed 0; no
# training): every perturbation and lesion, one draw of 16 trials per task at each magnitude. That is enough to show
# the machinery, not to decide anything; the shipped analyses below use more draws and trials, every method and,
# at the quick profile, five seeds of trained networks (`molap robustness --profile quick` trains them: seven
# methods, 35 networks, minutes on two cores; the shipped quick analysis, below, records which).

# %%
t0 = time.time()
here = robustness("full", Path(tempfile.mkdtemp()), seeds=[0], methods=("molap", "separate"), draws=1,
                  n_trials=16, workers=2, train=False, progress=False)
print(f"{time.time() - t0:.0f} s on this machine, 2 processes")
plot_curves(here, normalised=True);

# %%
Markdown(claims_markdown(here["claims"]))

# %%
test_eq(set(here["perturbations"]), set(PERTURBATIONS))
test_eq(len(here["perturbations"]["silenced units"]["methods"]["molap"]["area"]), 1)  # one row of areas per seed
test_eq({c["other"] for c in here["claims"]}, {"separate"})
for e in here["perturbations"].values():
    for r in e["methods"].values(): test_close(r["normalised"][0], 1.0, eps=1e-9)  # normalised to its own start

# %% [markdown]
# A network that is not there yet is trained first (and resumed, if interrupted) in the output folder's `runs/`.
# Here with a *smoke* profile, the quick one cut to 20 training steps (a check of the machinery: its accuracies mean
# nothing), for MoLaP on random modules, the fastest to train:

# %%
smoke = replace(get_profile("quick"), name="quick-smoke", **{k: replace(getattr(get_profile("quick"), k), steps=20, eval_every=10)
                                                             for k in ("pretrain", "molap")})
folder = Path(tempfile.mkdtemp())
trained = robustness(smoke, folder, seeds=[0], methods=("molap-random",), draws=1, n_trials=8,
                     perturbations={"silenced units": (0., .5)}, progress=False)
test_eq(trained["methods"], ["molap-random"])
assert list((folder / "runs").glob("molap-random-quick-smoke-seed0*")), "the network was trained in runs/"

# %% [markdown]
# Asked again, a finished run is read from its checkpoint, neither resumed nor evaluated again; its weights score
# exactly what its record says:

# %%
model, cfg = trained_network("molap-random", smoke, 0, folder / "runs")
rec = json.loads((folder / "runs" / "molap-random-quick-smoke-seed0.json").read_text())
test_eq(evaluate(model, TASK_NAMES, smoke.eval_trials, cfg, seed=smoke.eval_seed), rec["accuracy"])


# %% [markdown]
# ## Shipped results: every method, five seeds at the quick profile and the full profile's networks
#
# Two analyses ship with the package, so this section needs no computing: the quick profile with networks trained
# from seeds 0–4 for every method, and the full profile on every network that ships (the seeds of each method, the
# perturbation draws and the trials per task are in the table below, read from the files). They were made by
#
# ```
# molap robustness --profile quick --seeds 0 1 2 3 4 --out DIR                    # trains the networks in DIR/runs
# molap robustness --profile full --seeds 0 1 2 --draws 4 --trials 64 --out DIR   # the shipped networks
# ```

# %%
#| export
def load_robustness(profile: str = "full") -> dict:
    "The robustness analysis shipped with the package for `profile` (`molap/data/results/robustness-<profile>.json`)."
    from molap.core import load_results
    return load_results(f"robustness-{profile}")


# %%
shipped = {p: load_robustness(p) for p in ("quick", "full")}
Markdown("| profile | networks perturbed | draws × trials per task | methods |\n|---|---|---|---|\n" + "\n".join(
    f"| {p} | {seeds_text(r)} | {r['draws']} × {r['n_trials']} | {', '.join(r['methods'])} |" for p, r in shipped.items()))

# %% [markdown]
# ### The quick profile, five seeds
#
# The curves of every method are in the analysis's own report (`figures/robustness/curves.png` and
# `curves_normalised.png`; the notebook stays light); here the claim table says what they show.

# %%
Markdown(claims_markdown(shipped["quick"]["claims"]))

# %%
Markdown(verdict_summary(shipped["quick"]["claims"]))

# %% [markdown]
# **What the quick profile says**, from the file (raw area: the accuracy left; normalised: the share of the
# above-chance accuracy kept):

# %%
Q = shipped["quick"]
q0 = {m: v["mean"][0] for m, v in Q["perturbations"]["recurrent noise"]["methods"].items()}  # unperturbed
solved = {m: sum(a[0] >= 0.9 for a in v["per_task"].values())
          for m, v in Q["perturbations"]["recurrent noise"]["methods"].items()}
ORACLE = "molap-oracle"  # MoLaP itself, its primitives read from the generator's records: not an alternative
def verdicts_vs_all(claims, key):
    "perturbation -> the set of MoLaP's verdicts against every other method (the records-fed MoLaP aside)."
    out = {}
    for c in claims:
        if c["other"] != ORACLE: out.setdefault(c["perturbation"], set()).add(c[key]["verdict"])
    return out
raw, nrm = verdicts_vs_all(Q["claims"], "area"), verdicts_vs_all(Q["claims"], "normalised_area")
others = [m for m in q0 if m not in ("molap", ORACLE)]
vs_oracle = verdict_counts([c for c in Q["claims"] if c["other"] == ORACLE]).get(ORACLE, {})
weak = [m for m in others if solved[m] <= 2]  # at most the two Delay tasks
Markdown(
    f"Unperturbed, MoLaP scores {q0['molap']:.2f}, the others {min(q0[m] for m in others):.2f}–"
    f"{max(q0[m] for m in others):.2f}. In raw area MoLaP is above every other method under "
    f"{', '.join(p for p, v in raw.items() if v == {'above'}) or 'none'}. Normalised, it keeps more than every other "
    f"method under {', '.join(p for p, v in nrm.items() if v == {'above'}) or 'none'}, and less than every other under "
    f"{', '.join(p for p, v in nrm.items() if v == {'below'}) or 'none'}; under the rest the verdicts are mixed (the "
    f"table above). The comparison is lopsided at this profile, though: unperturbed, MoLaP solves "
    f"{solved['molap']} of 9 tasks at 0.9 or more, the others " + ", ".join(f"{m} {solved[m]}" for m in others) +
    f", so what {', '.join(weak)} \"keep\" is mostly the two Delay tasks, which need no memory and are hard to break. "
    "The full profile, where every method but the module ablations solves most tasks, is the fair test. "
    f"Against MoLaP whose primitives read the generator's records ({ORACLE}), MoLaP from observables is "
    + ", ".join(f"{_WORDS[k]} under {v} of {len(nrm)}" for k, v in vs_oracle.items()) + ".")

# %%
test_eq({"separate", "joint"} <= set(weak), True)  # the text's "lopsided": the baselines solve at most the Delay tasks

# %% [markdown]
# ### The full profile
#
# The networks shipped with the package (see [the reproduction](reproduce.html)), every seed that ships of each
# method, unperturbed (mean over the nine tasks and seeds; chance is 0.1) as the next cell computes. Made by
# `molap robustness --profile full --seeds 0 1 2 --draws 4 --trials 64 --out DIR` (two to three minutes on one core
# per network on this project's machine; the file does not record the time). The file records a digest of every network it perturbed, and the tests check them against the
# networks that ship, so these numbers always describe the shipped weights.

# %%
from molap.reproduce import CHANCE
from molap.multitask import MODULE_ABLATIONS

# %%
intact = {m: v["mean"][0] for m, v in shipped["full"]["perturbations"]["recurrent noise"]["methods"].items()}
Markdown("Unperturbed: " + ", ".join(f"{m} {a:.2f} ({a / CHANCE:.1f}× chance)" for m, a in intact.items()) + ".")

# %%
assert all(intact[m] >= 0.9 for m in intact if m not in MODULE_ABLATIONS)  # "every method but the ablations solves most tasks"

# %% [markdown]
# MoLaP against the separate and joint networks (the module ablations' curves are in the analysis's own figures,
# `figures/robustness/curves.png`; their verdicts in the table below):

# %%
plot_curves(shipped["full"], methods=("molap", "separate", "joint"));

# %%
plot_curves(shipped["full"], normalised=True, methods=("molap", "separate", "joint"));

# %%
Markdown(claims_markdown(shipped["full"]["claims"]))

# %%
Markdown(verdict_summary(shipped["full"]["claims"]))

# %% [markdown]
# **What the full profile says.** The perturbations fall in three groups: noise in the dynamics (recurrent noise),
# timing and input noise (a faster time constant, memory delays up to four times the trained range, extra input
# noise), and damage to the network (noise on the recurrent, input or output weights, silenced units). Against the
# separate and joint networks, which solve the corpus about as well as MoLaP here, each group's verdicts (normalised
# area for noise and timing, the share of accuracy kept; raw area for damage, what is left), with the curves' values
# at a few magnitudes:

# %%
R, V = shipped["full"]["perturbations"], {(c["perturbation"], c["other"]): c for c in shipped["full"]["claims"]}
at = lambda p, m, x: R[p]["methods"][m]["mean"][R[p]["magnitudes"].index(x)]
GROUPS = {"noise in the dynamics": (["recurrent noise"], "normalised_area"),
          "timing and input noise": (["time constant", "longer delays", "input noise"], "normalised_area"),
          "damage": (list(DAMAGE), "area")}
def group_verdicts(group, other):
    "MoLaP against `other` over a group: the verdict of each perturbation in it."
    names, key = GROUPS[group]
    return {p: V[p, other][key]["verdict"] for p in names}
def in_words(vs: dict) -> str:
    "'more robust under all 4' / 'more robust under a, b; as robust under c' (from the verdicts of a group)."
    by = {}
    for p, v in vs.items(): by.setdefault(_WORDS[v], []).append(p)
    if len(vs) == 1: return next(iter(by))
    if len(by) == 1: return f"{next(iter(by))} under all {len(vs)}"
    return "; ".join(f"{w} under {', '.join(ps)}" for w, ps in by.items())
span = lambda p, m: f"{min(R[p]['methods'][m]['mean']):.2f}–{max(R[p]['methods'][m]['mean']):.2f}"
Markdown("\n".join([
    f"- **{g}**: MoLaP compared with the separate networks is {in_words(group_verdicts(g, 'separate'))}; "
    f"with the joint network, {in_words(group_verdicts(g, 'joint'))}." for g in GROUPS] + [
    "",
    f"At four times the trained recurrent noise MoLaP keeps {at('recurrent noise', 'molap', 4.):.2f}, the separate "
    f"networks {at('recurrent noise', 'separate', 4.):.2f}, the joint network {at('recurrent noise', 'joint', 4.):.2f}. "
    f"Over memory delays up to four times the trained range MoLaP scores {span('longer delays', 'molap')}, the separate "
    f"networks {span('longer delays', 'separate')}, the joint network {span('longer delays', 'joint')}. Recurrent-weight "
    f"noise of 0.4 × the matrix's rms leaves MoLaP at {at('recurrent weights', 'molap', .4):.2f} and the separate "
    f"networks at {at('recurrent weights', 'separate', .4):.2f}; output-weight noise of 0.5 × leaves "
    f"{at('output weights', 'molap', .5):.2f} against {at('output weights', 'separate', .5):.2f}."]))


# %% [markdown]
# Why damage hurts MoLaP most: its three modules are small and every task reads the same few units through the same
# J; a separate network spreads each task over 256 units of its own, and a perturbation of one network's weights
# touches one task only. So the paper's claim, "more robust to a broad range of perturbations", holds here only for
# the groups above where MoLaP is more robust, and fails where it is less.
#
# How sure: each interval resamples the networks (seeds) and, within each, the perturbation draws, so with three
# seeds it carries the spread between networks too (with one, only that of draws and evaluation batches). How wide
# the intervals of the curves are, per method (half the width of the 95% interval, over every perturbation and
# magnitude):

# %%
def half_widths(res: dict, method: str) -> dict:
    "perturbation -> half the width of the 95% interval at each point of `method`'s mean curve."
    return {p: np.subtract(*e["methods"][method]["ci"][::-1]) / 2 for p, e in res["perturbations"].items()}
hw = {m: np.concatenate(list(half_widths(shipped["full"], m).values())) for m in shipped["full"]["methods"]}
n_seeds = lambda m: len(shipped["full"]["method_seeds"][m])
Markdown("| method | seeds | median half-width | widest | points within ±0.02 |\n|---|---|---|---|---|\n" + "\n".join(
    f"| {m} | {n_seeds(m)} | {np.median(w):.3f} | {w.max():.3f} | {np.mean(w <= 0.02):.0%} |" for m, w in hw.items()))


# %% [markdown]
# The target we set for this analysis, every point of every curve within ±0.02, is not met. Where it fails, per
# method with three seeds (the perturbations with a point wider than ±0.02, as computed):

# %%
def wide(res: dict, method: str, limit: float = 0.02) -> list:
    "The perturbations under which some point of `method`'s mean curve has a 95% interval wider than ±`limit`."
    return [p for p, w in half_widths(res, method).items() if w.max() > limit]
three = [m for m in shipped["full"]["methods"] if n_seeds(m) >= 3]
Markdown("\n".join(f"- {m}: {', '.join(wide(shipped['full'], m)) or 'none'}" for m in three))


# %% [markdown]
# ### Where the width comes from
#
# A point of a curve is a mean over networks, over perturbation draws within each network, and over the evaluation
# trials of each draw, and each level adds its own variance. From every network's and draw's point (`points` in the
# file) and the per-task fraction correct, `interval_sources` splits the variance of one point into three parts:
# between networks (the spread of the networks' own means, less what their draws add to it), between draws (the
# spread within a network, less the trials' share) and the trials, binomial: Σₜ pₜ(1 − pₜ) / (N T²) over the T
# tasks with N trials each. Taken at each task's mean $p_t$, the trials' part is an upper bound (so the draws' part
# is, if anything, understated). With S networks and D draws a point's 95% interval is then about
# ± 1.96 √(σ²(networks) / S + (σ²(draws) + σ²(trials)) / (S D)), and more trials shrink
# only the last term.

# %%
#| export
def interval_sources(entry: dict,   # one method's entry under a perturbation of `summarise_curves`' output
                     n_trials: int, # the trials per task and draw it was measured with
                    ) -> dict:      # "networks", "draws", "trials" -> the variance of one point, per magnitude
    "The variance of one network's and one draw's curve point, split by where it comes from."
    v = np.asarray(entry["points"])                       # [seed, draw, magnitude]
    S, D, M = v.shape
    p = np.asarray(list(entry["per_task"].values()))      # [task, magnitude], mean over networks and draws
    trials = (p * (1 - p)).sum(0) / n_trials / len(p) ** 2
    within = v.var(1, ddof=1).mean(0) if D > 1 else np.full(M, np.nan)        # draws and their trials
    between = np.maximum(v.mean(1).var(0, ddof=1) - within / D, 0) if S > 1 else np.full(M, np.nan)
    return dict(networks=between, draws=np.maximum(within - trials, 0), trials=trials)

def predicted_half_width(src: dict,              # `interval_sources` of a method's curve
                         networks: int, draws: int,
                         trials_factor: float = 1.,  # trials per task and draw, as a multiple of the measured ones
                        ) -> np.ndarray:
    "About half the width of the 95% interval of each point with `networks` networks and `draws` draws."
    return 1.96 * np.sqrt(src["networks"] / networks
                          + (src["draws"] + src["trials"] / trials_factor) / (networks * draws))


# %% [markdown]
# Checked on made-up points whose parts we know: networks' sd 0.05, draws' 0.02, trials at $p = 0.5$ with 64 trials
# on each of nine tasks (sd 0.021):

# %%
_rng = np.random.default_rng(0)
_S, _D, _trial_var = 400, 50, 9 * 0.25 / 64 / 81
_v = 0.5 + 0.05 * _rng.standard_normal((_S, 1, 1)) + np.sqrt(0.02**2 + _trial_var) * _rng.standard_normal((_S, _D, 1))
_src = interval_sources(dict(points=_v, per_task={t: [0.5] for t in range(9)}), 64)
{k: float(np.sqrt(v[0]).round(4)) for k, v in _src.items()}

# %%
test_close(np.sqrt(_src["networks"][0]), 0.05, eps=0.005); test_close(np.sqrt(_src["draws"][0]), 0.02, eps=0.003)
test_close(np.sqrt(_src["trials"][0]), np.sqrt(_trial_var), eps=1e-9)


# %% [markdown]
# On the shipped curves, per method with more than one network: each source's share of the variance of a point's
# *mean* (the networks' part over $S$, the others over $S D$; summed over every perturbation and magnitude), the widest
# half-width the parts predict as measured, with four times the trials and with four times the draws, and how many
# networks it would take to bring every point within ±0.02 with the same draws and trials:

# %%
def sources_of(res: dict, method: str) -> dict:
    "`interval_sources` of every perturbation of `method`, the magnitudes of all in one row."
    src = [interval_sources(e["methods"][method], res["n_trials"]) for e in res["perturbations"].values()]
    return {k: np.concatenate([s[k] for s in src]) for k in src[0]}

def networks_needed(src: dict, draws: int, limit: float = 0.02) -> int:
    "The fewest networks for which every point's predicted half-width is within ±`limit` (draws and trials as measured)."
    return int(np.ceil((1.96 / limit) ** 2 * np.max(src["networks"] + (src["draws"] + src["trials"]) / draws)))

F, D = shipped["full"], shipped["full"]["draws"]
src_of = {m: sources_of(F, m) for m in F["methods"] if n_seeds(m) > 1}
def shares(m: str) -> dict:
    "Each source's share of the variance of `m`'s curve means, over every point."
    S, s = n_seeds(m), src_of[m]
    part = dict(networks=s["networks"].sum() / S, draws=s["draws"].sum() / (S * D), trials=s["trials"].sum() / (S * D))
    return {k: v / sum(part.values()) for k, v in part.items()}
def widest(m: str, draws: int = D, trials_factor: float = 1.) -> float:
    "The widest predicted half-width of `m`'s curves with its networks, `draws` draws and trials × `trials_factor`."
    return float(predicted_half_width(src_of[m], n_seeds(m), draws, trials_factor).max())
Markdown("| method | seeds | networks | draws | trials | widest ± | with 4× trials | with 4× draws | networks for ±0.02 |\n"
         "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(
    f"| {m} | {n_seeds(m)} | " + " | ".join(f"{v:.0%}" for v in shares(m).values())
    + f" | {widest(m):.3f} | {widest(m, trials_factor=4):.3f} | {widest(m, 4 * D):.3f} | {networks_needed(src_of[m], D)} |"
    for m in src_of))

# %%
by_trials = [m for m in src_of if widest(m) > 0.02 and widest(m, trials_factor=np.inf) <= 0.02]
not_by_trials = [m for m in src_of if widest(m, trials_factor=np.inf) > 0.02]
ratio = {m: float(np.median(predicted_half_width(src_of[m], n_seeds(m), D)
                            / np.concatenate(list(half_widths(F, m).values())))) for m in src_of}
rng_of = lambda k: f"{min(shares(m)[k] for m in not_by_trials):.0%} to {max(shares(m)[k] for m in not_by_trials):.0%}"
n_nets = sorted({n_seeds(m) for m in src_of})
Markdown(f"Unlimited trials would bring every point within ±0.02 for {', '.join(by_trials) or 'no method'}. "
         f"For {', '.join(not_by_trials) or 'no method'} not even they would (the widest points stay at "
         + ", ".join(f"±{widest(m, trials_factor=np.inf):.2f} for {m}" for m in not_by_trials)
         + f"): the trials carry at most {max(shares(m)['trials'] for m in not_by_trials):.0%} of the variance of "
         f"their means; the rest is the spread between networks of one method ({rng_of('networks')}; MoLaP "
         f"{shares('molap')['networks']:.0%}), which break at different magnitudes, and between draws of one "
         f"perturbation on one network ({rng_of('draws')}). More draws narrow the second; only more networks narrow the "
         f"first. The network counts in the table are rough: each rests on a variance estimated from "
         f"{' or '.join(map(str, n_nets))} networks. The formula and the curves' bootstrap agree to within a factor of "
         f"{max(max(r, 1 / r) for r in ratio.values()):.1f} (median ratio per method, "
         f"{min(ratio.values()):.2f} to {max(ratio.values()):.2f}): the bootstrap resamples draws inside resampled "
         f"networks, and with so few networks neither is exact: a t-interval over three networks is about twice "
         f"as wide (t = 4.30 against 1.96). The bands of the curves are the bootstrap's; the verdicts use the t-interval.")

# %%
test_eq(any(wide(F, m) for m in three), True)                  # "the target ... is not met"
test_eq("molap" in not_by_trials, True)                        # more trials would not bring MoLaP's curves to ±0.02
test_eq(shares("molap")["networks"] > max(shares("molap")["draws"], shares("molap")["trials"]), True)  # "MoLaP ...%"
test_eq(max(shares(m)["trials"] for m in not_by_trials) < 0.5, True)  # "the trials carry at most ...": the rest is more
for m in src_of: test_eq(0.5 < ratio[m] < 2, True)             # the formula describes the intervals shown

# %% [markdown]
# The verdicts above come from intervals of the *difference* of areas, paired by seed and draw: pairing removes what
# the networks of two methods share, not the spread between networks of one method, and the t-interval over networks
# counts that spread as a fourth network would meet it. How much the choice of interval matters, on the shipped curves:
# the verdicts (normalised area) the paired bootstrap would give, against the t-interval's:

# %%
boot = lambda c: "above" if c["bootstrap_ci"][0] > 0 else "below" if c["bootstrap_ci"][1] < 0 else "no clear difference"
changed = [c for c in F["claims"] if boot(c["normalised_area"]) != c["normalised_area"]["verdict"]]
Markdown(f"{len(changed)} of {len(F['claims'])} verdicts differ" + (": " + "; ".join(
    f"against {c['other']} under {c['perturbation']}, {_WORDS[boot(c['normalised_area'])]} by the bootstrap, "
    f"{_WORDS[c['normalised_area']['verdict']]} by the t-interval" for c in changed) if changed else "") + ".")

# %% [markdown]
# The switch only ever moves a verdict to *as robust*: every verdict the t-interval gives, the bootstrap gives too.
# And the verdicts that ship are exactly what `claim_table` computes from the shipped curves:

# %%
test_eq(all(c["normalised_area"]["verdict"] in ("no clear difference", boot(c["normalised_area"])) for c in F["claims"]), True)
test_eq(all(c["normalised_area"]["interval"] == f"t over {len(c['seeds'])} networks" for c in F["claims"] if len(c["seeds"]) > 1), True)
# the shipped verdicts are what `claim_table` computes from the shipped curves
test_eq([(c["perturbation"], c["other"], c[k]["verdict"]) for c in claim_table(F["perturbations"]) for k in ("area", "normalised_area")],
        [(c["perturbation"], c["other"], c[k]["verdict"]) for c in F["claims"] for k in ("area", "normalised_area")])

# %%
test_eq(all(n_seeds(m) >= 3 for m in ("molap", "separate", "joint")), True)  # the text's "three seeds"
for other in ("separate", "joint"):  # the claims of the text above, as the data stand: fails when they change
    test_eq(set(group_verdicts("noise in the dynamics", other).values()), {"above"})
    test_eq("above" in group_verdicts("damage", other).values(), False)   # MoLaP is never the more robust under damage
test_eq(set(group_verdicts("damage", "separate").values()), {"below"})

# %% [markdown]
# Per task, for the longer memory delays:

# %%
plot_per_task(shipped["full"], "longer delays");

# %% [markdown]
# ### Which module does each task use?
#
# The lesion matrices of the full profile: for the modular networks, one module silenced at a time; for the separate
# and joint networks, a group of the same size at random and as a contiguous block.

# %%
plot_lesions(shipped["full"]);

# %% [markdown]
# In MoLaP's matrix the modules are not interchangeable. Each module silenced in turn, the range of fraction correct
# over three groups of tasks (the two Delay tasks, which need no memory; MemPro and MemAnti; the five decision tasks):

# %%
L = shipped["full"]["lesions"]
groups = {"Delay tasks": TASK_NAMES[:2], "MemPro, MemAnti": TASK_NAMES[2:4], "decision tasks": TASK_NAMES[4:]}
rng_ = lambda row, ts: f"{min(row[TASK_NAMES.index(t)] for t in ts):.2f}–{max(row[TASK_NAMES.index(t)] for t in ts):.2f}"
Markdown("\n".join(["| silenced | " + " | ".join(groups) + " |", "|---" * (len(groups) + 1) + "|"]
                   + [f"| M{k + 1} ({n} units) | " + " | ".join(rng_(row, ts) for ts in groups.values()) + " |"
                      for k, (n, row) in enumerate(zip(shipped["full"]["module_sizes"], L["molap"]["modules"]))]))

# %% [markdown]
# The mean over tasks of each row:

# %%
{m: {k: np.round(np.mean(v, 1), 2).tolist() for k, v in d.items()} for m, d in shipped["full"]["lesions"].items()}

# %%
whole = np.mean(L["molap"]["modules"]) > max(np.mean(L[o]["random"]) for o in ("separate", "joint"))
Markdown(f"A whole module costs MoLaP {'less' if whole else 'more'} than a group of the same size costs a separate "
         f"or joint network (mean over modules and tasks {np.mean(L['molap']['modules']):.2f}, against "
         f"{np.mean(L['separate']['random']):.2f} and {np.mean(L['joint']['random']):.2f}), while the same number of "
         f"units silenced at random (the curves above) leaves it {at('silenced units', 'molap', .1):.2f} against "
         f"{at('silenced units', 'separate', .1):.2f} for the separate networks with a tenth of the units gone. "
         "Our reading, not tested: silencing one module leaves the other two modules' attractors whole, whereas random "
         "silencing damages all three at once.")

# %%
test_eq(whole, True)  # the text's "less" while the data say so

# %%
for r in shipped.values():
    test_eq(set(r["perturbations"]), set(PERTURBATIONS))
    for e in r["perturbations"].values():
        test_eq(set(e["methods"]), set(r["methods"]))
        test_eq(len(e["magnitudes"]), len(e["methods"]["molap"]["mean"]))
test_eq(shipped["quick"]["seeds"], [0, 1, 2, 3, 4])
test_eq((len(shipped["quick"]["methods"]), sum(map(len, shipped["quick"]["method_seeds"].values()))), (7, 35))  # "seven methods, 35 networks"
