# %% [markdown]
# # molap
#
# > Efficient and robust multi-task learning with modular latent primitives (MoLaP), as a literate package you can read, run and reuse.

# %% [markdown]
# ## Quick start
#
# On a fresh machine with Python 3.10 or newer, from a clone of this repository. Reproduce the paper's comparison at
# the small default profile (corpus, baselines, sequential learning naive and with DNI, latent primitives, pre-training,
# MoLaP and its variants, then robustness and generalisation; minutes on a laptop CPU; figures, `report.md` and
# `results.json` in `molap-results/`):
#
# ```sh
# pip install torch==2.13.0 -e . && molap reproduce --profile quick --out molap-results --workers 2
# ```
#
# Install the development tools (and neurogym, the benchmarks' speed peer) and run the whole test suite: the notebooks,
# the property tests, the docs build and the benchmarks' smoke runs. This is what CI runs:
#
# ```sh
# pip install torch==2.13.0 -e ".[dev,bench]" && python -m pytest -n 2
# ```
#
# `torch==2.13.0` is the version our CI uses (a CPU build lies on its disk). Elsewhere pip may pull a CUDA build of
# several GB for it: if you have no GPU, first install the CPU build with
# `pip install torch --index-url https://download.pytorch.org/whl/cpu`, and if torch ≥ 2.1 is already installed (as in
# Colab), leave the pin out (`pip install -e .`). `--workers 2` runs independent trainings in two processes of one
# torch thread each; two molap runs side by side on one machine stay fast because every molap process uses one torch
# thread unless told otherwise (`--threads`).
#
# ## Use it in your own work
#
# ```sh
# pip install "molap @ git+https://github.com/molap-dev/molap"   # `pip install molap` once it is on PyPI
# ```
#
# ```python
# from molap.tasks import make_batch                 # the nine tasks, vectorised in torch
# from molap.multitask import load_pretrained, molap_network
# from molap.reproduce import load_network            # every trained network of the full profile
# ```

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %% [markdown]
# ## What MoLaP is
#
# Brains do not retrain everything for each new skill. MoLaP (Márton, Gagnon, Lajoie & Rajan, *Efficient and robust
# multi-task learning in the brain with modular latent primitives*, arXiv 2105.14108) builds a recurrent network out of
# a few separate recurrent **modules** (a *structural* bias) whose dynamics are **pre-trained** on latent variables
# extracted from the statistics of the whole task corpus (a *functional* bias). The recurrent weights are then frozen,
# and each task is learned by training only small task-specific input and output weights around them. The paper's
# claims: all nine tasks are learned well with far fewer trained parameters and updates than other multi-task
# strategies; the learned skills are more robust to perturbations; new tasks are learned more easily.
#
# molap rebuilds the method step by step, with the baselines the paper compares against, and checks each claim with
# code that runs. The paper's text was not available to us, its figures were: the notebooks say plainly which parts
# are the paper's and which are our reconstruction, and every reconstructed choice is a parameter.

# %% [markdown]
# ## A first look
#
# Every task of the corpus is one call away:

# %%
from molap.tasks import TASK_NAMES, make_batch, accuracy

# %%
batch = make_batch("ContextMemDm1", batch_size=64, seed=0)
batch

# %% [markdown]
# The targets themselves are a perfect answer under the paper's score:

# %%
accuracy(batch.targets, batch)

# %% [markdown]
# ## Where the reproduction stands
#
# MoLaP's default here is our data-driven reconstruction of the latent primitives (the *answer* primitives: a CCA, per
# task, of the inputs against the answer the task's rule gives to the stimuli shown so far; see
# [pre-training](pretraining.html)); the paper's figure read literally (a lag-0 CCA of the pooled corpus) is kept as
# `molap-lag0`, with the hand-designed primitives of the paper's first version (`molap-v1`) and untrained modules
# (`molap-random`) as ablations. Numbers shipped with the package, fraction of correct decisions on 512 fresh trials
# per task. First the quick profile (64 units, minutes on a laptop), five seeds, mean ± sd:

# %%
from molap.core import load_results
from molap.baselines import results_table
from molap.reproduce import METHOD_ORDER, claims
from IPython.display import Markdown

# %%
quick = load_results("quick")
Markdown(results_table({m: quick["methods"][m] for m in METHOD_ORDER if m in quick["methods"]}, "quick"))

# %% [markdown]
# The paper's first claim, checked on these numbers:

# %%
Markdown("\n".join(claims(quick)))

# %% [markdown]
# And the full profile (256 units; the reference scale), as far as it has run: the joint network and the ablations
# from an earlier run (one seed), MoLaP's default added later (three seeds), and the separate networks retrained
# with a decaying learning rate (three seeds; see [the reproduction](reproduce.html) for what ran when, and how it
# compares with the paper):

# %%
full = load_results("full")
Markdown(results_table({m: full["methods"][m] for m in METHOD_ORDER if m in full["methods"]}))

# %%
Markdown("\n".join(claims(full)))

# %% [markdown]
# **Where it falls short of the paper, and where it now reaches it.** The paper shows MoLaP and separate networks at
# ≈ 0.96–1.00 on every task. At the full profile, MoLaP solves the four tasks that hold a direction perfectly on every
# seed; the five decision tasks, which compare two stimuli, are the hard part. Their limit was the pre-trained decision
# primitive: the modules answer those trials about as well by themselves as MoLaP does with them
# ([the reproduction](reproduce.html)). Training the modules longer helped (800 → 3,200 steps); training them
# differently (a decaying rate, the response weighted) did not; what they read did: in the context tasks the CCA mixed
# the distractor modality into the response plane, and reading only the inputs each decision depends on lifted the
# modules' own answers on those tasks by four to five hundredths. Giving the task stage the separate networks' trials
# and schedule (3,500 × 64, decaying rate) added about half a hundredth more on the decision tasks, seen once each task
# is scored over its whole distribution of timings (2,048 trials, every trial its own timing and modality) rather than
# on the final evaluation's single timing draw. Where it stands:

# %%
m, sep = full["methods"]["molap"], full["methods"]["separate"]
over = load_results("full-over-trials")["networks"]
def over_summary(method):
    "Mean over seeds per task, scored over the task distribution: the mean, and the tasks below 0.95."
    acc = {t: sum(a[t] for a in over[method].values()) / len(over[method]) for t in TASK_NAMES}
    low = ", ".join(f"{t} {a:.3f}" for t, a in acc.items() if a < 0.95) or "none"
    return f"mean {sum(acc.values()) / 9:.3f} over {len(over[method])} seed(s), below 0.95: {low}"
below = lambda r: ", ".join(f"{t} {a:.3f}" for t, a in r["accuracy"].items() if a < 0.95) or "none"
dec = [a for t in TASK_NAMES[4:] for a in m["accuracy_per_seed"][t]]
share = m["trained_parameters_per_task"] / sep["trained_parameters_per_task"]
Markdown(f"- **MoLaP** (seeds {', '.join(map(str, m['seeds']))}): mean {m['mean_accuracy']:.3f}; below 0.95 on the mean over "
         f"seeds: {below(m)}; decision tasks {min(dec):.3f}–{max(dec):.3f} per task and seed; {share:.1%} of a separate "
         f"network's parameters trained per task.\n"
         f"- **Separate networks** (seed {', '.join(map(str, sep['seeds']))}, decaying learning rate): mean "
         f"{sep['mean_accuracy']:.3f}; below 0.95: {below(sep)}.\n"
         f"- At the quick profile MoLaP solves the four direction tasks on all five seeds, in a budget where the separate "
         f"networks learn only the two Delay tasks; the decision tasks stay well below there.\n"
         f"- **Over the whole task distribution** (`accuracy_over_trials`, every shipped network): MoLaP "
         f"{over_summary('molap')}; separate networks {over_summary('separate')}.")

# %% [markdown]
# **Generalisation, the paper's third claim**, tested at the quick profile by leaving one task out of the primitives
# and the pre-training, then learning it on the frozen modules with the same trials as the alternatives
# ([generalisation](generalisation.html); all nine tasks, three seeds, at the quick profile; at the full profile
# the two tasks `molap reproduce` holds out, one seed):

# %%
from molap.generalisation import load_generalisation, claims as generalisation_claims


# %%
def verdicts(profile):
    "(tasks facilitated, tasks not, tasks facilitated with a warm I_T, seeds) in the shipped leave-one-out results of `profile`."
    res = load_generalisation(profile); cs = generalisation_claims(res)
    return ([c["task"] for c in cs if c["facilitated"]], [c["task"] for c in cs if not c["facilitated"]],
            [c["task"] for c in cs if c["facilitated_warm"]], res["seeds"])

def _full_vs_scratch():
    "Where the held-out MoLaP (cold I_T) ends against a network from scratch at the full profile, from the numbers."
    res = load_generalisation("full")
    by = {v: [c["task"] for c in generalisation_claims(res) if c["vs"]["separate"]["verdict"] == v] for v in ("better", "worse", "no clear difference")}
    fin = lambda t, m: res["held_out"][t][m]["final"]
    worse = ", ".join(f"{t} {fin(t, 'molap'):.3f} vs {fin(t, 'separate'):.3f}" for t in by["worse"])
    return (f"At the full profile's budget the held-out MoLaP ends below a network from scratch on {len(by['worse'])} of "
            f"{len(res['held_out'])} held-out tasks ({worse or 'none'}), level on {len(by['no clear difference'])}, above on "
            f"{len(by['better'])}.")

(yes, no, warm, seeds), (yes_f, no_f, warm_f, seeds_f) = verdicts("quick"), verdicts("full")
Markdown(f"Learning a new task is facilitated (the held-out MoLaP beats a network trained from scratch on the same trials "
         f"in every seed, or matches it sooner) for {len(yes)} of {len(yes) + len(no)} tasks at the quick profile "
         f"(seeds {seeds}): {', '.join(yes) or 'none'}; not for {', '.join(no) or 'none'}. At the full profile (seed "
         f"{', '.join(map(str, seeds_f))}) for {len(yes_f)} of the {len(yes_f) + len(no_f)} held out: "
         f"{', '.join(yes_f) or 'none'}{'; not for ' + ', '.join(no_f) if no_f else ''}; with I_T warm-started from a CCA "
         f"of the new task's own trials (counted in its budget) for {len(warm)} of {len(yes) + len(no)} at the quick profile "
         f"and {len(warm_f)} of {len(yes_f) + len(no_f)} at the full. " + _full_vs_scratch())

# %% [markdown]
# **Robustness, the paper's second claim**, measured on the shipped networks with eight perturbations (weight noise,
# silenced units, extra noise, a changed time constant, longer delays; [robustness](robustness.html)). How MoLaP's
# normalised area under each curve (accuracy over the perturbation's range, divided by its unperturbed accuracy)
# compares with the separate and the joint networks' (paired 95% bootstrap intervals):

# %%
from molap.robustness import load_robustness

# %%
#| echo: false
def robustness_sentence(profile):
    "MoLaP against the separate and joint networks, per perturbation, from the shipped robustness claims."
    R = load_robustness(profile)
    out = []
    for other in ("separate", "joint"):
        v = {}
        for c in R["claims"]:
            if c["method"] == "molap" and c["other"] == other: v.setdefault(c["normalised_area"]["verdict"], []).append(c["perturbation"])
        out.append(f"against the {other} network{'s' if other == 'separate' else ''}, MoLaP is above under "
                   f"{', '.join(v.get('above', [])) or 'none'}; level under {', '.join(v.get('no clear difference', [])) or 'none'}; "
                   f"below under {', '.join(v.get('below', [])) or 'none'}")
    n = len(R["seeds"])
    return f"At the {profile} profile ({n} seed{'s' * (n > 1)}), " + "; ".join(out) + "."
def robustness_verdict(profile="full"):
    "The perturbations under which MoLaP is above (the claim holds) or below (it fails) both the separate and joint networks."
    R = load_robustness(profile)
    v = lambda o, w: {c["perturbation"] for c in R["claims"] if c["method"] == "molap" and c["other"] == o
                      and c["normalised_area"]["verdict"] == w}
    holds, fails = v("separate", "above") & v("joint", "above"), v("separate", "below") & v("joint", "below")
    order = R["perturbations"] if isinstance(R["perturbations"], list) else list(R["perturbations"])
    srt = lambda s: ", ".join(p for p in order if p in s) or "none"
    return f"At the full profile the paper's claim holds under {srt(holds)} and fails under {srt(fails)}."
Markdown(robustness_sentence("full") + " " + robustness_sentence("quick") + " " + robustness_verdict())

# %% [markdown]
# ## The lessons
#
# | notebook | what it builds |
# |---|---|
# | [Core](core.html) | plumbing: checks of settings, atomic files, shipped data, threads |
# | [The task corpus](tasks.html) | the nine tasks T1–T9, their inputs, targets, loss mask, score and loss |
# | [Recurrent networks](networks.html) | leaky RNNs, modular networks with a block-structured J, perturbations, a fast BPTT |
# | [Training](training.html) | the trainer: schedules, evaluation, exact resume, cost accounting |
# | [Latent primitives](primitives.html) | CCA of the corpus: the latent variables the modules learn |
# | [Pre-training the modules](pretraining.html) | modules trained on the answer, lag-0 CCA or hand-designed (v1) primitives, and scored by their own answers |
# | [MoLaP](molap.html) | multi-task learning on frozen modules, step by step, and the shipped pre-trained modules |
# | [Baselines](baselines.html) | separate networks and a jointly trained network |
# | [Sequential learning](sequential.html) | one network learning the tasks in order: naive fine-tuning and DNI's projected gradients, the 9 × 9 forgetting matrix |
# | [Reproducing the paper](reproduce.html) | the whole comparison in one call (`molap reproduce`), every shipped network, the full profile's results |
# | [Robustness](robustness.html) | eight perturbations of every method's trained networks, module lesions, the claim checked (`molap robustness`) |
# | [Dynamics](dynamics.html) | trajectories, a fixed-point finder, the ring attractor of the memory modules, primitives inside the trained network |
# | [Generalisation](generalisation.html) | leave one task out: primitives and modules without it, then the task learned on frozen modules against the alternatives (`molap generalise`) |
# | [The `molap` command](cli.html) | the command line |
#
# Each notebook opens in Colab from the badge under its title.
#
# ## Contributing
#
# molap is written with [nbdev](https://nbdev.fast.ai) 3: the notebooks in `nbs/` are the source of the package
# `molap/` and of this site. nbdev 3 keeps its settings in `pyproject.toml` (`[project]` for the package metadata,
# `[tool.nbdev]` for nbdev's own settings); the `settings.ini` of nbdev 2 is gone. After editing a notebook:
#
# ```sh
# nbdev-export                       # regenerate molap/ from the notebooks
# jupytext --sync nbs/*.ipynb        # refresh the py:percent mirrors in pysrc/ (for reviewable diffs)
# nbdev-clean                        # strip noisy metadata
# python tools/build_docs.py --readme   # build the site offline into _site/ and README.md from this notebook
# ```
#
# The test suite fails when the package or a mirror is out of step with its notebook, when a notebook fails to run,
# or when the site has a missing page, a broken link or a missing image.
