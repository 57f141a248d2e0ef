# %% [markdown]
# # MoLaP: multi-task learning on frozen modules
#
# > J frozen after pre-training; each task learns only its own input and output weights around it, all nine tasks in one batched pass.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/05_molap.ipynb)

# %% [markdown]
# The last stage of MoLaP. The pre-trained modules are frozen: J, modules and inter-module blocks alike, never
# changes again. Each task T gets its own input weights I_T (and bias) that drive the modules, and its own output
# weights O_T that read them out. Learning a task means learning only these, a few thousand parameters, while the
# dynamics that do the work are shared by every task. Because J is shared, all nine tasks train in one batched
# pass: each trial carries its task index and picks its own I_T and O_T.
#
# **What is the paper's and what is ours.** From the paper's figures (v2): J frozen at task time, task-specific I_T
# and O_T. Ours: the biases b_T and b_out,T train with them; training uses Adam with the reference learning rate
# 1e-3, all tasks at every step. The v1 paper trained only output weights; `train_inputs=False` offers that.

# %%
#| eval: false
#| hide
# %pip install -q molap

# %%
#| default_exp molap

# %%
#| export
from __future__ import annotations
import json, os
from dataclasses import asdict, replace
from pathlib import Path
import torch
from molap.tasks import TASK_NAMES, TaskConfig, n_inputs, n_outputs
from molap.networks import ModularRNN, count_parameters
from molap.training import TrainConfig, train, evaluate, training_cost, plot_history, atomic_write, data_dir
from molap.primitives import CCA, latent_primitives
from molap.pretraining import (PRETRAIN_PROFILES, Primitives, cca_primitives, v1_primitives, pretrain,
                               random_modules)

# %%
#| hide
import matplotlib.pyplot as plt
from IPython.display import Markdown
from fastcore.test import *

# %%
device = "cuda" if torch.cuda.is_available() else "cpu"
IN_TEST = bool(os.environ.get("IN_TEST"))
device


# %% [markdown]
# ## The MoLaP network
#
# `molap_network` takes a pre-trained (or random) modular network and builds the task-time network around its J:
# the same modules and inter-module blocks, frozen, with fresh task-specific weights for the nine tasks.

# %%
#| export
def molap_network(modules: ModularRNN,      # a pre-trained (or random) modular network: its J is reused
                  tasks=TASK_NAMES,         # one set of I_T, b_T, O_T, b_out per task
                  seed: int = 0,            # initialisation of the task-specific weights
                  train_inputs: bool = True,  # False: only O_T and b_out train (the v1 paper)
                 ) -> ModularRNN:
    "A network with the frozen J of `modules` and trainable task-specific weights I_T, O_T for `tasks`."
    net = ModularRNN(n_inputs(), modules.module_sizes, n_outputs(), n_tasks=len(tasks), alpha=modules.alpha,
                     sigma_rec=modules.sigma_rec, activation=modules.activation, plastic="none", seed=seed)
    with torch.no_grad(): net.J.copy_(modules.J)
    net.freeze_J()
    net.tasks = list(tasks)
    if not train_inputs:
        net.I_T.requires_grad_(False); net.b_T.requires_grad_(False)
    return net


# %%
net = molap_network(random_modules(seed=0), seed=0)
count_parameters(net), count_parameters(net) // 9, count_parameters(net, trainable_only=False)

# %%
test_eq(count_parameters(net) // 9, 256 * 5 + 256 + 3 * 256 + 3)
test_eq(net.J.requires_grad, False)

# %% [markdown]
# ## Profiles and the whole pipeline
#
# `run_molap` runs MoLaP end to end for one kind of modules: the latent primitives (CCA of the corpus), pre-training
# of the modules, and the task stage on the frozen J. The variants for the ablations swap the first two steps:
# `"v1"` pre-trains on the hand-designed primitives, `"random"` skips pre-training. Each stage checkpoints to `out`
# and resumes from it.

# %%
#| export
MOLAP_PROFILES = {
    "quick": dict(cca_trials=64, config=TrainConfig(steps=250, batch_size=16, schedule="together", eval_every=50,
                                                    eval_trials=128, checkpoint_every=50)),
    "full": dict(cca_trials=256, config=TrainConfig(steps=1000, batch_size=32, schedule="together", eval_every=100,
                                                    eval_trials=256, checkpoint_every=100)),
}
VARIANTS = ("cca", "v1", "random")

def run_molap(variant: str = "cca",       # "cca" (MoLaP), "v1" (hand-designed primitives) or "random" (untrained modules)
              profile: str = "quick",     # "quick" or "full"
              seed: int = 0,              # seeds the CCA samples, the modules and the task stage
              out=None,                   # folder for checkpoints and records (resumes from it)
              progress: bool = True,
              device=None,
             ) -> tuple:                  # (record, trained MoLaP network, modules)
    "Primitives → pre-training → frozen-J multi-task learning; returns a record with accuracy, cost and curves."
    if variant not in VARIANTS: raise ValueError(f"unknown variant {variant!r}; variants: {', '.join(VARIANTS)}")
    if profile not in MOLAP_PROFILES: raise ValueError(f"unknown profile {profile!r}; profiles: quick, full")
    prof, sizes = MOLAP_PROFILES[profile], PRETRAIN_PROFILES[profile]["module_sizes"]
    ck = (lambda name: None) if out is None else (lambda name: Path(out) / f"{name}-{variant}-{profile}-seed{seed}.ckpt")
    pre_record, cca = None, None
    if variant == "random":
        modules = random_modules(sizes, seed=seed).to(device or "cpu")
    else:
        if variant == "cca":
            cca = latent_primitives(trials_per_task=prof["cca_trials"], seed=seed)
            p = cca_primitives(cca)
        else:
            p = v1_primitives()
        pre = pretrain(p, profile, seed=seed, checkpoint=ck("pretrain"), progress=progress, device=device)
        modules = pre.model
        pre_record = dict(r2=pre.final_accuracy, **training_cost(pre), history=pre.history)
    net = molap_network(modules, seed=seed).to(device or "cpu")
    config = replace(prof["config"], seed=seed)
    res = train(net, TASK_NAMES, config, checkpoint=ck("molap"), progress=progress)
    acc = evaluate(net, TASK_NAMES, n_trials=512, seed=2 * 10**9)
    record = dict(method=f"molap-{variant}" if variant != "cca" else "molap", variant=variant, profile=profile,
                  seed=seed, module_sizes=list(sizes), accuracy=acc, **training_cost(res),
                  pretraining=pre_record, train_config=asdict(config), history=res.history,
                  cca_correlations=None if cca is None else cca.corrs.tolist(), torch=torch.__version__)
    if out is not None:
        atomic_write(Path(out) / f"molap-{variant}-{profile}-seed{seed}.json",
                     lambda f: Path(f).write_text(json.dumps(record)))
    return record, net, modules


# %% [markdown]
# The quick profile of MoLaP and its two variants, run here (64 units in three modules; small and short, so it shows
# the machinery and the direction of the effects at best, not the paper's numbers):

# %%
runs = {v: run_molap(v, "quick", seed=0, progress=False, device=device) for v in VARIANTS}

# %%
plot_history({r["method"]: r["history"] for r, _, _ in runs.values()});

# %%
from molap.baselines import run_baseline, results_table

# %%
base = {m: run_baseline(m, "quick", seed=0, progress=False, device=device)[0] for m in ("separate", "joint")}
records = {**{r["method"]: r for r, _, _ in runs.values()}, **base}
Markdown(results_table(records))

# %%
for r in records.values():
    test_eq(set(r["accuracy"]), set(TASK_NAMES))
test_eq(runs["cca"][0]["trained_parameters_per_task"], 64 * 5 + 64 + 3 * 64 + 3)  # I_T, b_T, O_T, b_out of 64 units
test_fail(lambda: run_molap("pca"), contains="variants: cca, v1, random")


# %% [markdown]
# The cost column is the point of MoLaP: per task it trains the input and output weights of one task (and their
# biases), a small fraction of what a separate network or the shared joint network trains for every task. Whether it
# also reaches their accuracy is what the full profile below answers.

# %% [markdown]
# ## Pre-trained modules, shipped
#
# The full profile's pre-trained modules (and its CCA) ship with the package, so that anyone can build a MoLaP network
# on them without pre-training: `load_pretrained` returns the modules as a `ModularRNN`.

# %%
#| export
def save_pretrained(path, modules: ModularRNN, cca: CCA | None = None, meta: dict | None = None):
    "Save pre-trained modules (and their CCA) as a small weights-only checkpoint."
    state = dict(format="molap-modules-v1", module_sizes=list(modules.module_sizes), n_in=modules.n_in,
                 n_out=modules.n_out, J=modules.J.detach().cpu().clone(), I_T=modules.I_T.detach().cpu().clone(),
                 O_T=modules.O_T.detach().cpu().clone(), b_T=modules.b_T.detach().cpu().clone(),
                 b_out=modules.b_out.detach().cpu().clone(), meta=json.dumps(meta or {}))
    if cca is not None:
        state["cca"] = dict(A=cca.A, B=cca.B, mu_x=cca.mu_x, mu_y=cca.mu_y, corrs=cca.corrs, lags=cca.lags,
                            channels=list(cca.channels) if cca.channels is not None else None)
    atomic_write(path, lambda f: torch.save(state, f))

def load_pretrained(name: str = "cca",       # "cca" (MoLaP's modules) or "v1"
                    profile: str = "full",
                    seed: int = 0,
                    path=None,               # load this file instead of the shipped one
                   ) -> tuple:               # (modules as a ModularRNN, CCA or None, meta dict)
    "Pre-trained modules shipped with molap (or saved by `save_pretrained`)."
    path = Path(path) if path else data_dir() / "pretrained" / f"modules-{name}-{profile}-seed{seed}.pt"
    if not path.exists():
        have = sorted(p.stem for p in path.parent.glob("*.pt")) if path.parent.exists() else []
        raise FileNotFoundError(f"no pre-trained modules at {path}; shipped: {', '.join(have) or 'none'}")
    try: s = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e: raise ValueError(f"cannot read {path}: {type(e).__name__}: {e} (corrupt or truncated?)") from None
    if not isinstance(s, dict) or s.get("format") != "molap-modules-v1":
        raise ValueError(f"{path} is not a molap pre-trained modules file")
    m = ModularRNN(s["n_in"], tuple(s["module_sizes"]), s["n_out"], n_tasks=1, plastic="modules", seed=0)
    with torch.no_grad():
        for k in ("J", "I_T", "O_T", "b_T", "b_out"): getattr(m, k).copy_(s[k])
    c = None
    if "cca" in s:
        d = s["cca"]
        c = CCA(d["A"], d["B"], d["mu_x"], d["mu_y"], d["corrs"], d["lags"],
                None if d["channels"] is None else tuple(d["channels"]))
    return m, c, json.loads(s["meta"])


# %%
import tempfile

# %%
f = Path(tempfile.mkdtemp()) / "m.pt"
save_pretrained(f, runs["cca"][2], latent_primitives(trials_per_task=16, seed=0), meta=dict(profile="quick"))
m2, c2, meta = load_pretrained(path=f)
test_eq(m2.J.detach(), runs["cca"][2].J.detach().cpu())
test_eq(meta["profile"], "quick")
f.with_name("bad.pt").write_bytes(f.read_bytes()[:100])
test_fail(lambda: load_pretrained(path=f.with_name("bad.pt")), contains="corrupt")

# %% [markdown]
# ## Results of the full profile
#
# The full profile (modules of 86 + 85 + 85 = 256 units, the size of the baselines) ran once; its numbers ship with
# the package and are shown here without retraining. Every method is scored on 512 fresh trials per task.

# %%
from molap.baselines import load_results
from molap.reproduce import plot_accuracy, plot_cost, plot_learning, METHOD_ORDER

# %%
full = load_results("full")
Markdown(results_table({m: full["methods"][m] for m in METHOD_ORDER}))

# %%
plot_accuracy(full);

# %%
plot_learning(full);

# %%
plot_cost(full);


# %% [markdown]
# **How this compares with the paper.** The paper's figure shows MoLaP at ≈0.96–1.00 correct on every task while
# training a small fraction of the parameters of the alternatives. What our reconstruction gives:

# %%
def verdict(m):
    r = full["methods"][m]
    low = {t: a for t, a in r["accuracy"].items() if a < 0.95}
    share = r["trained_parameters_per_task"] / full["methods"]["separate"]["trained_parameters_per_task"]
    acc = "≥ 0.95 on every task" if not low else f"≥ 0.95 on {9 - len(low)} of 9 tasks (below: " + \
          ", ".join(f"{t} {a:.3f}" for t, a in low.items()) + ")"
    return f"- **{m}**: {acc}; trains {r['trained_parameters_per_task']:,} parameters per task ({share:.1%} of a separate network)"
Markdown("\n".join(verdict(m) for m in METHOD_ORDER if m in full["methods"]))

# %% [markdown]
# **What this shows.** With our reconstruction of the latent primitives, MoLaP does *not* reproduce the paper's
# figure. The CCA modules solve the two Delay tasks, which need no memory, and stay far from the target on every task
# that must carry information across a delay, no better than untrained modules. The pre-training notebook showed why:
# with samples taken one time step at a time, the canonical pairs beyond fixation carry almost nothing (ρ₂, ρ₃ near
# zero), so M2 and M3 learn nothing that the tasks could use.
#
# The same frozen-J stage on the v1 hand-designed primitives, whose M2 and M3 learned to hold a stimulus, does much
# better on the memory tasks while training the same small number of parameters. Modules whose dynamics carry
# information across time are what make learning on a frozen J work; how the paper's CCA construction produces them
# (time lags? features of whole trials?) is not known to us, and is the open question of this reproduction.
#
# Two caveats from the learning curves: the task stage of every MoLaP variant saw far fewer trials per task than the
# baselines (1,000 steps of 32 trials, against 3,500 steps of 64 for the separate networks), and the v1 variant was
# still improving when it stopped; and every number here comes from one seed.

# %%
A = {m: full["methods"][m]["accuracy"] for m in full["methods"]}
memory = [t for t in TASK_NAMES if not t.startswith("Delay")]
mean = lambda m, ts: sum(A[m][t] for t in ts) / len(ts)
share = full["methods"]["molap"]["trained_parameters_per_task"] / full["methods"]["separate"]["trained_parameters_per_task"]
Markdown(f"On the seven memory tasks the mean fraction correct is {mean('molap', memory):.2f} for MoLaP with CCA modules, "
         f"{mean('molap-random', memory):.2f} with random modules, {mean('molap-v1', memory):.2f} with v1 modules, "
         f"{mean('joint', memory):.2f} for the joint network and {mean('separate', memory):.2f} for separate networks; "
         f"every MoLaP variant trains {share:.1%} of a separate network's parameters per task.")

# %%
assert all(A[m][t] > 0.95 for m in ("molap", "molap-v1", "molap-random") for t in ("DelayPro", "DelayAnti"))
assert mean("molap", memory) < 0.5 and mean("molap-v1", memory) > mean("molap", memory) + 0.2
assert share < 0.1

# %% [markdown]
# The pre-trained modules of the full profile are loaded with `molap.load_pretrained`; a MoLaP network is one call
# away from them:

# %%
import molap

# %%
modules, cca, meta = molap.load_pretrained("cca")
net = molap_network(modules, seed=0)
meta, cca
