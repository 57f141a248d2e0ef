# %% [markdown]
# # Pre-training the modules
#
# > Three recurrent modules, the diagonal blocks of one J, each trained to turn its latent input primitive into its latent output primitive.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/04_pretraining.ipynb)

# %% [markdown]
# MoLaP's *functional* bias: before any task is learned, the modules' dynamics are shaped by the statistics of the
# whole corpus. The previous notebook found those statistics as canonical pairs (U_i, V_i); here module M_i learns
# to produce V_i from U_i, over time, in trials of every task. What the module learns is a *primitive*: a piece of
# input-output dynamics that the tasks have in common.
#
# **What is the paper's and what is ours.** From the paper's figures: three modules M1–M3 are the diagonal blocks of
# one recurrent matrix J; module i is trained to turn U[:, slice i] into V[:, slice i]; module weights are plastic
# in pre-training and the inter-module weights are drawn but "aplastic". Ours (parameters, all of them): modules are
# leaky ReLU rate networks like the baselines, of 86 + 85 + 85 = 256 units so that the whole network matches the
# 256-unit baselines; the inter-module blocks are fixed small random weights (`inter="zero"` removes them); each module
# reads its own slice of U through private input weights and writes its slice of V through private output weights,
# which train with it; the loss is the mean squared error on the time steps the task loss counts (the steps the CCA
# was fitted on), every task weighted equally.
#
# For the ablations, two alternatives of the same shape: the **v1 primitives** of the paper's first version, designed
# by hand (M1 reproduces the fixation input, M2 and M3 hold the stimulus of modality 1 and 2 in memory), and
# **random modules**, the untrained initial J.

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp pretraining

# %%
#| export
from __future__ import annotations
from dataclasses import dataclass, replace
import torch
from molap.tasks import TASK_NAMES, TaskConfig, Batch, make_batch, task_index
from molap.networks import ModularRNN
from molap.training import TrainConfig, Profile, get_profile, train, plot_history, forward_tasks, EVAL_SEED
from molap.primitives import CCA, latent_primitives, split_dimensions

# %%
#| hide
import matplotlib.pyplot as plt
from IPython.display import Markdown
from fastcore.test import *
plt.rcParams["figure.dpi"] = 72  # light notebooks: figures at screen resolution

# %%
device = "cuda" if torch.cuda.is_available() else "cpu"
device


# %% [markdown]
# ## Primitives: what each module learns
#
# A set of primitives says, for any batch of the corpus, what the modules receive and what they must produce, and
# which channels belong to which module. The CCA primitives come straight from the previous notebook: module i gets
# the canonical dimensions `split_dimensions(r)[i]` of U and must produce the same dimensions of V.

# %%
#| export
@dataclass
class Primitives:
    "What the modules are pre-trained on: latent inputs and targets per batch, and the channels of each module."
    name: str             # e.g. "cca" or "v1"
    latent: object        # function Batch -> (inputs [T, B, p], targets [T, B, q])
    in_groups: list       # slice of the p latent inputs read by module i
    out_groups: list      # slice of the q latent targets produced by module i

    @property
    def n_in(self) -> int: return self.in_groups[-1].stop
    @property
    def n_out(self) -> int: return self.out_groups[-1].stop

def cca_primitives(c: CCA, n_modules: int = 3) -> Primitives:
    "MoLaP's latent primitives: module i turns U[:, split i] into V[:, split i]."
    groups = split_dimensions(c.r, n_modules)
    return Primitives("cca", c.project, groups, groups)


# %%
quick = get_profile("quick")
c = latent_primitives(trials_per_task=quick.cca_trials, seed=0, config=quick.task)
cca_p = cca_primitives(c)
c, cca_p.in_groups


# %% [markdown]
# The v1 primitives are designed by hand. M1 autoencodes the fixation input (the instruction to hold or to respond).
# M2 and M3 hold in memory the last stimulus shown in modality 1 and 2: from a stimulus's onset until the end of the
# trial (or the next stimulus in that modality) their target is that stimulus's (s·sin θ, s·cos θ). Their targets are
# noise-free; their inputs are the noisy task inputs.

# %%
#| export
def held_stimuli(batch: Batch) -> torch.Tensor:
    "Noise-free sample-and-hold of each modality's latest stimulus, [T, B, 4] (mod 1 sin, cos, mod 2 sin, cos)."
    T = batch.inputs.shape[0]
    t = torch.arange(T, device=batch.inputs.device)[:, None]
    held = batch.inputs.new_zeros(T, batch.inputs.shape[1], 4)
    for s in batch.stimuli:  # later stimuli overwrite earlier ones from their onset
        code = (s.strength[:, :, None] * torch.stack([torch.sin(s.theta), torch.cos(s.theta)], 1)[:, None]).flatten(1)
        for m in range(2):
            on = (t >= s.on) & (s.strength[:, m] != 0)  # [T, B]
            held[:, :, 2 * m:2 * m + 2] = torch.where(on[:, :, None], code[:, 2 * m:2 * m + 2], held[:, :, 2 * m:2 * m + 2])
    return held * (t < batch.length)[:, :, None]

def v1_primitives() -> Primitives:
    "The paper's v1 hand-designed primitives: M1 autoencodes fixation, M2/M3 hold modality 1/2 in memory."
    def latent(b: Batch):
        T = b.inputs.shape[0]
        fix = (torch.arange(T, device=b.inputs.device)[:, None] < b.go).to(b.inputs)[:, :, None]
        return b.inputs[:, :, :5], torch.cat([fix, held_stimuli(b)], 2)
    groups = [slice(0, 1), slice(1, 3), slice(3, 5)]
    return Primitives("v1", latent, groups, groups)


# %%
b = make_batch("MemDm1", 4, seed=3)
x, y = v1_primitives().latent(b)
fig, axs = plt.subplots(1, 2, figsize=(10, 2.6), sharey=True, constrained_layout=True)
axs[0].plot(x[:, 0, 1:3].cpu()); axs[0].set(title="inputs: modality 1 (sin, cos)", xlabel="step")
axs[1].plot(y[:, 0, 1:3].cpu()); axs[1].set(title="v1 target of M2: the stimulus, held", xlabel="step");

# %%
test_eq(y.shape, (b.inputs.shape[0], 4, 5))
s1, s2 = b.stimuli
k = int(s2.on[0])  # after the second stimulus's onset M2 holds the second stimulus
test_close(y[k + 1:int(b.length[0]), 0, 1], (s2.strength[0, 0] * torch.sin(s2.theta[0])).expand(int(b.length[0]) - k - 1), eps=1e-5)
test_eq(y[:, :, 3:].abs().sum().item(), 0)  # MemDm1 shows nothing in modality 2


# %% [markdown]
# ## The network being pre-trained
#
# One `ModularRNN` whose J has the modules on its diagonal, plastic, and fixed random inter-module blocks. Its input
# and output weights are block-structured too: module i's units read only module i's latent inputs and only they
# write its latent targets. The blocks outside are zero and stay zero (their gradients are masked), so each module
# learns its own primitive while feeling the others only through the fixed inter-module weights.

# %%
#| export
def io_masks(model: ModularRNN, p: Primitives) -> tuple:
    "Bool masks of the input weights [n, p] and output weights [q, n] that connect each module to its own channels."
    n = model.n_rec
    mi, mo = torch.zeros(n, p.n_in, dtype=torch.bool), torch.zeros(p.n_out, n, dtype=torch.bool)
    for units, gi, go in zip(model.module_slices, p.in_groups, p.out_groups):
        mi[units, gi] = True
        mo[go, units] = True
    return mi, mo

def pretraining_network(p: Primitives,                 # the primitives to learn
                        module_sizes=(86, 85, 85),     # units per module (sum 256: the baselines' size)
                        seed: int = 0,                 # initialisation seed
                        **kw,                          # to `ModularRNN` (inter, inter_scale, activation, ...)
                       ) -> ModularRNN:
    "A modular network set up for pre-training: plastic modules, fixed inter-module blocks, private I/O per module."
    if len(module_sizes) != len(p.in_groups):
        raise ValueError(f"{len(module_sizes)} module sizes for {len(p.in_groups)} primitive groups")
    model = ModularRNN(p.n_in, tuple(module_sizes), p.n_out, n_tasks=1, plastic="modules", seed=seed, **kw)
    mi, mo = io_masks(model, p)
    with torch.no_grad():
        model.I_T.mul_(mi); model.O_T.mul_(mo)
    # off-block input/output weights get no gradient, so they stay exactly zero
    model.I_T.register_hook(lambda g, m=mi: g * m.to(g.device))
    model.O_T.register_hook(lambda g, m=mo: g * m.to(g.device))
    return model


# %%
net = pretraining_network(cca_p, seed=0)
net


# %% [markdown]
# ## The pre-training loss and score
#
# The training batches are ordinary corpus batches whose inputs and targets are replaced by the latent ones; the
# mask keeps the steps the task loss counts (weight 1 each), the same steps the CCA was fitted on. The score is the
# coefficient of determination R² of each module's output against its latent target on fixed held-out batches of
# every task: 1 is perfect, 0 is no better than the mean.

# %%
#| export
def latent_batch(b: Batch, p: Primitives) -> Batch:
    "Batch `b` with its inputs and targets replaced by the primitives' latent ones (weight 1 where the loss counts)."
    x, y = p.latent(b)
    keep = (b.mask[:, :, 1:2] > 0).to(x)
    return replace(b, inputs=x, targets=y * keep, mask=keep.expand(-1, -1, y.shape[-1]))

@torch.no_grad()
def module_r2(model: ModularRNN, p: Primitives, n_trials: int = 64, task_config=None, seed: int = EVAL_SEED) -> dict:
    "R² of each module's latent output on fixed held-out batches of every task: {'M1': ..., 'M2': ..., ...}."
    dev = model.J.device
    batches = [latent_batch(make_batch(t, n_trials, seed=seed + task_index(t), config=task_config, device=dev), p)
               for t in TASK_NAMES]
    ys, _ = forward_tasks(model, batches, TASK_NAMES, generator=torch.Generator(dev).manual_seed(seed))
    err = sum(((y[:b.targets.shape[0]] - b.targets) ** 2 * b.mask).sum((0, 1)) for y, b in zip(ys, batches))
    n = sum(b.mask.sum((0, 1)) for b in batches)
    mean = sum((b.targets * b.mask).sum((0, 1)) for b in batches) / n
    var = sum(((b.targets - mean) ** 2 * b.mask).sum((0, 1)) for b in batches)
    return {f"M{i + 1}": float(1 - err[g].sum() / var[g].sum()) for i, g in enumerate(p.out_groups)}


# %%
module_r2(net, cca_p, n_trials=16)

# %% [markdown]
# ## Pre-training
#
# `pretrain` trains the modules on batches of all nine tasks at every step, with the training engine of the
# previous notebooks (Adam, element-wise clipping, checkpoints that resume exactly). Its sizes and steps come from a
# `Profile` (the module sizes split the profile's `n_rec`; the steps are `profile.pretrain`).

# %%
#| export
def pretrain(p: Primitives,                 # primitives to learn
             profile: Profile | str = "quick",  # a `Profile` (or its name): corpus, module sizes, steps
             seed: int = 0,                 # model and data seed
             checkpoint=None,               # path to resume from / save to
             progress: bool = True,
             device=None,
             **kw,                          # to `pretraining_network`
            ):
    "Pre-train the modules of a modular network on primitives `p`; returns the `TrainResult`."
    prof = get_profile(profile)
    model = pretraining_network(p, prof.module_sizes, seed=seed, alpha=prof.alpha, **kw).to(device or "cpu")
    return train(model, TASK_NAMES, replace(prof.pretrain, seed=seed), prof.task, checkpoint=checkpoint,
                 progress=progress, transform=lambda b: latent_batch(b, p),
                 evaluate_fn=lambda m: module_r2(m, p, task_config=prof.task))


# %%
pre = {name: pretrain(p, "quick", seed=0, progress=False, device=device) for name, p in (("cca", cca_p), ("v1", v1_primitives()))}
pre

# %% [markdown]
# The pre-training loss, and each module's R² on held-out trials, as training goes:

# %%
fig, axs = plt.subplots(1, 3, figsize=(13, 3.2), constrained_layout=True)
for k, (name, r) in enumerate(pre.items()):
    axs[0].plot(r.history["step"], r.history["loss"], color=f"C{k}", lw=0.8, label=name)
    for i, (m, v) in enumerate(r.history["accuracy"].items()):
        axs[1 + k].plot(r.history["eval_step"], v, marker="o", label=m)
    axs[1 + k].set(title=f"{name} primitives: R² per module", xlabel="step", ylim=(-0.1, 1.02)); axs[1 + k].legend()
axs[0].set(yscale="log", xlabel="step", ylabel="loss", title="pre-training loss"); axs[0].legend();

# %%
for r in pre.values():
    assert r.history["loss"][-1] < r.history["loss"][0]
    assert max(r.final_accuracy.values()) > 0.3  # every run teaches at least one module something
assert min(pre["v1"].final_accuracy.values()) > max(list(pre["cca"].final_accuracy.values())[1:])  # see below


# %% [markdown]
# What the modules produce against their latent targets, on a held-out trial of each of three tasks (CCA primitives;
# dashed: targets V_i, solid: module outputs):

# %%
#| export
def plot_module_outputs(model: ModularRNN, p: Primitives, tasks=("DelayPro", "MemDm1", "ContextMemDm2"), seed: int = 1):
    "Module outputs (solid) against latent targets (dashed) on one held-out trial per task; returns the figure."
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, len(tasks), figsize=(4.2 * len(tasks), 3), sharey=True, constrained_layout=True)
    dev = model.J.device
    for ax, t in zip(axs, tasks):
        b = make_batch(t, 1, seed=seed, device=dev)
        x, v = p.latent(b)
        with torch.no_grad(): y = model(x, 0, generator=torch.Generator(dev).manual_seed(seed)).cpu()
        for i, g in enumerate(p.out_groups):
            for j in range(g.start, g.stop):
                ax.plot(v[:, 0, j].cpu(), ls="--", color=f"C{i}", lw=1)
                ax.plot(y[:, 0, j], color=f"C{i}", lw=1.2, label=f"M{i + 1}" if j == g.start else None)
        ax.axvline(int(b.go[0]), color="k", lw=0.5)
        ax.set(title=t, xlabel="step (line: go cue)")
    axs[0].legend(fontsize=8)
    return fig


# %%
plot_module_outputs(pre["cca"].model, cca_p);

# %%
Markdown("Held-out R² after quick pre-training: " + "; ".join(
    f"**{name}** primitives " + ", ".join(f"{m} {v:.2f}" for m, v in r.final_accuracy.items()) for name, r in pre.items()) + ".")


# %% [markdown]
# The two sets of primitives fare very differently, and the reason is in the previous notebook. The first canonical
# pair is fixation (U₁ is the fixation input, V₁ the fixation target, ρ₁ ≈ 1), and M1 learns it at once. The second
# and third pairs are the response direction (V₂, V₃) against what the *simultaneous* input says about it (U₂, U₃),
# and at the time the response is asked for, the input of most tasks says nothing: the stimulus is long gone. Their
# canonical correlations are near zero, so the best M2 and M3 can do is to output the mean, and R² stays near zero.
# This is a property of our reconstruction (samples are single time steps, lag 0), not necessarily of the paper's
# method; `latent_primitives(lags=...)` offers time-lagged inputs, which raise ρ₂ and ρ₃ only a little.
#
# The v1 primitives, designed by hand, ask M2 and M3 for exactly what the memory tasks need, to hold a stimulus across
# a delay, and they learn it. The full profile trains 256 units for 800 steps and ships its modules with the package
# (see `molap.load_pretrained` in the MoLaP notebook).
#
# ## Random modules
#
# The third alternative learns nothing: its J is the initial one, orthogonal modules of gain 0.5 and the fixed
# inter-module blocks. It separates what pre-training adds from what the modular structure alone gives.

# %%
#| export
def random_modules(module_sizes=(86, 85, 85), seed: int = 0, n_in: int = 3, n_out: int = 3, **kw) -> ModularRNN:
    "Untrained modules (the initial J of a pre-training network), for the ablations."
    return ModularRNN(n_in, tuple(module_sizes), n_out, n_tasks=1, plastic="modules", seed=seed, **kw)


# %%
test_eq(random_modules(seed=0).J.detach(), pretraining_network(cca_p, seed=0).J.detach())  # the same starting point
