# %% [markdown]
# # molap
#
# > Efficient and robust multi-task learning with modular latent primitives (MoLaP), as a literate package you can read, run and reuse.

# %% [markdown]
# **Quick start** on a fresh machine with Python ≥ 3.10, from a clone of this repository: the first command reproduces
# the paper's comparison at the small default profile (minutes on a laptop CPU; a report, figures and the numbers in
# `molap-results/`), the second installs the development tools and runs the whole test suite, as CI does.
#
# ```sh
# pip install torch==2.13.0 -e . && molap reproduce --profile quick --out molap-results --workers 2
# pip install torch==2.13.0 -e ".[dev,bench]" && python -m pytest -n 2
# ```

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| echo: false
from IPython.display import Markdown
from molap.core import load_results
from molap.training import get_profile
from molap.jobs import full_jobs
_Q, _F = load_results("quick")["methods"], load_results("full")["methods"]
Markdown(f"What to expect: the quick profile trains small networks ({get_profile('quick').n_rec} units) for a few "
         f"hundred steps, so its numbers show the machinery, not the paper's (MoLaP {_Q['molap']['mean_accuracy']:.2f} "
         f"mean fraction correct there, against {_F['molap']['mean_accuracy']:.3f} at the reference scale). Everything "
         f"below reads the full profile, whose networks and numbers ship with the package; retraining all of it on three "
         f"seeds is about {sum(r['core_hours'] for r in full_jobs()):.0f} core-hours ([jobs](jobs.html) lists each job "
         f"and runs them on a Dask cluster).")

# %% [markdown]
# ## What MoLaP is
#
# Brains do not retrain everything for each new skill. MoLaP (Márton, Gagnon, Lajoie & Rajan, *Efficient and robust
# multi-task learning in the brain with modular latent primitives*, [arXiv 2105.14108](https://arxiv.org/abs/2105.14108)) builds a recurrent network out
# of a few separate recurrent **modules** (a *structural* bias) whose dynamics are **pre-trained** on latent variables
# extracted from the statistics of the whole task corpus (a *functional* bias). The recurrent weights J are then
# frozen, and each task T learns only small input and output weights I_T and O_T around them:

# %%
#| echo: false
import matplotlib.pyplot as plt
from molap.reproduce import plot_overview, plot_headline, plot_total_cost
from molap.generalisation import paper_claims, claims_table
from molap.beyond import gym_claims_markdown, load_neurogym

# %%
#| echo: false
plot_overview();

# %% [markdown]
# The paper claims that all nine tasks are learned well with far fewer trained parameters and updates than other
# multi-task strategies, that the skills are more robust to perturbations, and that new tasks are learned more
# easily. molap rebuilds the method step by step with the baselines the paper compares against, and checks each
# claim with code that runs. The paper's figures were available to us, its text was not: the lessons say which parts
# are the paper's and which are our reconstruction, and every reconstructed choice is a parameter. Our latent
# primitives are the *answer* primitives ([pre-training](pretraining.html)): for each task, a CCA between the inputs
# and the answer so far, the direction the targets will report once the response is due. They are built only from
# what a network's training data holds, the trials' input and target time series; a variant that reads the task
# generator's records instead ships beside it as `molap-oracle`, an upper bound. The paper's figure read literally, a
# single CCA of the pooled corpus at lag 0 (`molap-lag0`), and hand-designed primitives (`molap-v1`, after the paper's
# first version) ship as ablations.
#
# ## What we find
#
# At the reference scale (256 units, the full profile; mean over the seeds each method ships), per task: MoLaP against
# a separate network per task, one network trained on all tasks jointly, and dynamical non-interference (DNI) after
# learning the nine tasks one after another. The shaded band is what the paper's figure shows for MoLaP, the black
# bars what it shows for DNI.

# %%
#| echo: false
full = load_results("full")
plot_headline(full);

# %% [markdown]
# The paper's claims, each checked on the shipped results (every cell is computed from them; the evidence pages hold
# the details and the seeds):

# %%
#| echo: false
Markdown(claims_table(paper_claims(full)))

# %% [markdown]
# What each method costs, MoLaP's pre-training counted (once, for all nine tasks):

# %%
#| echo: false
plot_total_cost(full);

# %% [markdown]
# ## Beyond the paper: the field's own tasks
#
# Eight tasks from [neurogym](https://github.com/neurogym/neurogym), none of them in the corpus, learned on the shipped
# frozen modules with new input and output weights only, against a network of the same size trained from scratch and
# the joint network's frozen recurrent weights, on the same trials, each learner's learning rate tuned per task the
# same way ([beyond the corpus](beyond.html); quick profile, three seeds):

# %%
#| echo: false
Markdown(gym_claims_markdown(load_neurogym("quick")))

# %% [markdown]
# ## Install
#
# From the repository (PyPI publication is pending: `pip install molap` does not work yet):
#
# ```sh
# pip install "molap @ git+https://github.com/molap-dev/molap"
# ```
#
# `torch==2.13.0` in the quick-start commands is the version our CI uses (a CPU build lies on its disk). Elsewhere pip
# may pull a CUDA build of several GB for it: without a GPU, first install the CPU build with
# `pip install torch --index-url https://download.pytorch.org/whl/cpu`; where torch ≥ 2.1 is installed (as in Colab),
# leave the pin out. `--workers 2` runs independent trainings in two processes of one torch thread each.
#
# ## Use it in your own work
#
# Every task of the corpus is one call away, and every trained network of the full profile ships with the package:

# %%
from molap.tasks import make_batch, accuracy
from molap.reproduce import load_network

# %%
batch = make_batch("ContextMemDm1", batch_size=64, seed=0)
net, config = load_network("molap", "full", seed=0)
batch, net.tasks[:3]

# %% [markdown]
# The targets themselves are a perfect answer under the paper's score, and MoLaP's shipped network answers nearly
# as well:

# %%
from molap.training import evaluate
accuracy(batch.targets, batch), evaluate(net, ["ContextMemDm1"], task_config=config)

# %% [markdown]
# ## The lessons
#
# | notebook | what it builds |
# |---|---|
# | [Core](core.html) | plumbing: checks of settings, atomic files, shipped data, threads |
# | [The task corpus](tasks.html) | the nine tasks T1–T9, their inputs, targets, loss mask, score and loss |
# | [Recurrent networks](networks.html) | leaky RNNs, modular networks with a block-structured J, perturbations, a fast BPTT |
# | [Training](training.html) | the trainer: schedules, evaluation, exact resume, cost accounting |
# | [Latent primitives](primitives.html) | CCA, the paper's figure read literally (pooled, lag 0), and why the memory tasks need more |
# | [Pre-training the modules](pretraining.html) | modules trained on the answer, lag-0 CCA or hand-designed (v1) primitives, and scored by their own answers |
# | [MoLaP](molap.html) | multi-task learning on frozen modules, step by step, and the shipped pre-trained modules |
# | [Baselines](baselines.html) | separate networks and a jointly trained network |
# | [Sequential learning](sequential.html) | one network learning the tasks in order: naive fine-tuning and DNI's projected gradients, the 9 × 9 forgetting matrix |
# | [Jobs](jobs.html) | where the runs go: this process, local processes, or a Dask cluster (`--scheduler`); Ctrl-C and failures |
# | [Reproducing the paper](reproduce.html) | the whole comparison in one call (`molap reproduce`), every shipped network, the full profile's results |
# | [Robustness](robustness.html) | eight perturbations of every method's trained networks, module lesions, the claim checked (`molap robustness`) |
# | [Dynamics](dynamics.html) | trajectories, a fixed-point finder, the ring attractor of the memory modules, primitives inside the trained network |
# | [Generalisation](generalisation.html) | leave one task out: primitives and modules without it, then the task learned on frozen modules against the alternatives (`molap generalise`) |
# | [Beyond the corpus](beyond.html) | the field's own tasks (neurogym) learned on the shipped frozen modules, against a network from scratch and the joint network (`molap learn`) |
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
