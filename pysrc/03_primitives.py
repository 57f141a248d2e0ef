# %% [markdown]
# # Latent primitives
#
# > Canonical correlation analysis of the pooled task corpus: the latent variables U = XA and V = YB that MoLaP's modules are pre-trained on.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/03_primitives.ipynb)

# %% [markdown]
# MoLaP puts two biases into a recurrent network. The *structural* one is modularity: the recurrent matrix J is
# made of a few diagonal blocks, the modules M1–M3. The *functional* one is what those modules learn before any
# task is seen: each is pre-trained to produce one **latent primitive**, a variable extracted from the statistics
# of the whole task corpus. Once the modules are frozen, every task only has to learn how to drive them (input
# weights I_T) and how to read them out (output weights O_T).
#
# The primitives come from Canonical Correlation Analysis (CCA). Stack the input features of many samples of all
# nine tasks in a matrix X (n × p) and the matching target features in Y (n × q). CCA finds weights A (p × r) and
# B (q × r) such that the columns of U = XA and V = YB, the *canonical variates*, are as correlated as possible
# pair by pair: corr(U_1, V_1) = ρ_1 is the largest correlation any linear combination of inputs can have with any
# linear combination of targets, ρ_2 the largest among combinations uncorrelated with the first, and so on. The r
# pairs are split into three groups of sizes r1, r2, r3, one per module, and module i is pre-trained to turn
# U[:, slice i] into V[:, slice i]: the directions in which the corpus's inputs and outputs are most linearly
# related become the things the modules know how to do.
#
# This notebook builds the samples, the CCA (in torch, from its definition), the split over modules, and looks at
# what the primitives are, read the paper's figure literally: one CCA of the pooled corpus, inputs and targets at the
# same step (lag 0). It also shows why that reading cannot give the memory tasks what they need. The primitives MoLaP
# ships with are built in [pre-training](pretraining.html): the *answer* primitives, the same CCA fitted per task
# between the inputs and the answer so far (read off the targets); the lag-0 CCA stays as an ablation.

# %% [markdown]
# ### What is the paper's and what is ours
#
# **The paper's** (from its overview figure): X (n × p) and Y (n × q) pooled over the nine tasks, CCA giving
# U = XA and V = YB (n × r), the r canonical dimensions split r1, r2, r3 over three modules, module i trained to map
# U[:, slice i] to V[:, slice i].
#
# **Ours** (the paper's text was not available to us): what a sample is and what the features are. We take a
# sample to be one time step of one trial, pooled over many trials of all nine tasks, leaving out the steps the loss
# ignores (mask weight 0 on the response channels: the first 100 ms of a trial and the 100 ms after the go cue).
# X holds the five task input channels (fixation, and sin/cos of the stimulus in each modality; no rule inputs) and
# Y the three targets (fixation, sin φ, cos φ). So p = 5, q = 3, r = min(p, q) = 3, and each module gets one
# canonical pair: r1 = r2 = r3 = 1. Offered as variants: other input channels, time-lagged inputs ("time-lagged
# CCA"), a subset of the tasks (for the generalisation study), and other splits of r. What these choices give, one
# strong primitive and two weak ones, is examined below.

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp primitives

# %%
#| export
from __future__ import annotations
from dataclasses import dataclass
import torch
import torch.nn.functional as F
from torch import Tensor
from molap.tasks import TASK_NAMES, TaskConfig, Batch, make_batch, task_index, n_inputs, n_outputs

# %%
#| hide
import matplotlib.pyplot as plt
from IPython.display import Markdown
from fastcore.test import *
try: from nbdev.showdoc import show_doc  # the docs build has nbdev; a plain install (e.g. Colab) prints the docstring
except ImportError: show_doc = lambda f, **kw: print(f"{f.__qualname__}: {f.__doc__}")
plt.rcParams["figure.dpi"] = 72  # light notebooks: figures at screen resolution


# %% [markdown]
# ## The samples: X and Y
#
# ### Channels and their names
#
# In the paper's encoding a trial has five input channels and three targets. The figures below label them by name;
# in Yang's ring encoding the channels are ring units, and the rule inputs (when switched on) come last.

# %%
#| export
def input_names(config: TaskConfig | None = None, # corpus settings (default: the reference)
               ) -> list: # one name per input channel of `make_batch`
    "Names of the input channels of a batch made with `config`."
    config = config or TaskConfig()
    if config.encoding == "paper": names = ["fixation", "mod 1 sin", "mod 1 cos", "mod 2 sin", "mod 2 cos"]
    else: names = ["fixation"] + [f"mod {m} ring {k}" for m in (1, 2) for k in range(config.n_ring)]
    return names + ([f"rule {t}" for t in TASK_NAMES] if config.rule_inputs else [])

def target_names(config: TaskConfig | None = None, # corpus settings (default: the reference)
                ) -> list: # one name per target channel
    "Names of the target channels of a batch made with `config`."
    config = config or TaskConfig()
    return ["fixation", "sin φ", "cos φ"] if config.encoding == "paper" else \
           ["fixation"] + [f"ring {k}" for k in range(config.n_ring)]

def task_channels(config: TaskConfig | None = None, # corpus settings (default: the reference)
                 ) -> tuple: # indices of the input channels that are not rule inputs
    "The input channels that carry the task (fixation and stimuli), leaving out rule inputs."
    config = config or TaskConfig()
    return tuple(range(n_inputs(config) - (len(TASK_NAMES) if config.rule_inputs else 0)))


# %%
input_names(), target_names(), task_channels(TaskConfig(rule_inputs=True))

# %%
test_eq(len(input_names(TaskConfig(rule_inputs=True))), n_inputs(TaskConfig(rule_inputs=True)))
test_eq(len(target_names(TaskConfig(encoding="ring"))), n_outputs(TaskConfig(encoding="ring")))
test_eq(task_channels(), (0, 1, 2, 3, 4))


# %% [markdown]
# ### Time-lagged inputs
#
# A sample at step t sees the inputs at step t only. But most of the corpus's tasks are *memory* tasks: when the
# response is due, the stimulus that determines it is long gone. A linear map from x_t to y_t cannot see it. The
# *time-lagged* variant appends copies of the inputs delayed by 1 … `lags` steps, x_t, x_{t−1}, …, x_{t−lags}
# (zero before the start of the trial), so that CCA can relate a target to the recent history of the inputs.

# %%
#| export
def lagged(inputs: Tensor, # [T, B, C], time-major
           lags: int = 0,  # how many delayed copies to append
          ) -> Tensor: # [T, B, C·(lags+1)]: x_t, x_{t−1}, …, x_{t−lags}
    "The inputs with `lags` time-delayed copies appended along the channels (zeros before the trial start)."
    if isinstance(lags, bool) or not isinstance(lags, int) or lags < 0:
        raise ValueError(f"lags must be a non-negative integer, got {lags!r}")
    if lags == 0: return inputs
    T = inputs.shape[0]
    padded = F.pad(inputs, (0, 0, 0, 0, lags, 0))  # `lags` zero steps before step 0
    return torch.cat([padded[lags - k:lags - k + T] for k in range(lags + 1)], -1)

def feature_names(config: TaskConfig | None = None, # corpus settings (default: the reference)
                  channels=None, # input channels used (default: `task_channels(config)`)
                  lags: int = 0, # delayed copies appended by `lagged`
                 ) -> list: # one name per column of X
    "Names of the columns of X for `channels` and `lags`, e.g. 'mod 1 sin (t−2)'."
    names = input_names(config)
    channels = task_channels(config) if channels is None else channels
    return [names[c] + (f" (t−{k})" if k else "") for k in range(lags + 1) for c in channels]


# %%
x = torch.arange(1., 5.)[:, None, None]  # one channel, four steps: 1 2 3 4
lagged(x, 2)[:, 0], feature_names(channels=(0, 1), lags=1)

# %% [markdown]
# Each row holds x(t), x(t−1), x(t−2), with zeros before the trial began; with no lags the input comes back as it is:

# %%
test_eq(lagged(x, 2)[:, 0], torch.tensor([[1., 0, 0], [2, 1, 0], [3, 2, 1], [4, 3, 2]]))
test_eq(lagged(x, 0) is x, True)
test_fail(lambda: lagged(x, -1), contains="non-negative integer")


# %% [markdown]
# ### Pooling the corpus
#
# `corpus_samples` draws `trials_per_task` trials of each task, in batches of `batch_size` (in the reference corpus
# the timing of the epochs and the modality of the single-modality tasks are drawn once per batch, so many batches
# are needed to cover them), and stacks the time steps the loss counts into X and Y, in float64.
#
# The seeds are derived deterministically: task k of the corpus draws its batch seeds from a generator seeded with
# `seed·100 + k`. The samples of a task therefore do not depend on which other tasks are pooled (which the
# leave-one-task-out study needs), and torch's global random state is never touched.

# %%
#| export
def _batch_seeds(seed: int, task: str, n_batches: int) -> list:
    "Seeds of the `n_batches` batches of `task`, from a generator seeded with seed·100 + task index."
    g = torch.Generator().manual_seed(int(seed) * 100 + task_index(task))
    return torch.randint(0, 2**62, (n_batches,), generator=g).tolist()

def _check_channels(channels, config) -> tuple:
    "`channels` as a tuple of valid input channel indices (default: the task channels)."
    if channels is None: return task_channels(config)
    channels, C = tuple(int(c) for c in channels), n_inputs(config)
    if not channels or any(not 0 <= c < C for c in channels) or len(set(channels)) != len(channels):
        raise ValueError(f"channels must be distinct input channel indices in 0..{C - 1} "
                         f"({', '.join(input_names(config))}), got {channels!r}")
    return channels

def corpus_samples(trials_per_task: int = 256, # trials drawn of each task
                   seed: int = 0,              # same seed, same samples
                   config: TaskConfig | None = None, # corpus settings (default: the reference)
                   tasks=TASK_NAMES,           # which tasks to pool
                   lags: int = 0,              # delayed input copies appended (time-lagged CCA)
                   channels=None,              # input channels in X (default: all but rule inputs)
                   batch_size: int = 32,       # trials per batch (timing and modality vary across batches)
                  ) -> tuple: # (X [n, p·(lags+1)], Y [n, q]), float64
    "Input features X and target features Y: the time steps the loss counts, pooled over trials of `tasks`."
    config = config or TaskConfig()
    for name, v in (("trials_per_task", trials_per_task), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    if not tasks: raise ValueError(f"tasks must name at least one task of {', '.join(TASK_NAMES)}")
    for t in tasks: task_index(t)
    channels = _check_channels(channels, config)
    Xs, Ys = [], []
    for task in tasks:
        full, rest = divmod(trials_per_task, batch_size)
        sizes = [batch_size] * full + ([rest] if rest else [])
        for s, n in zip(_batch_seeds(seed, task, len(sizes)), sizes):
            b = make_batch(task, n, seed=s, config=config)
            keep = b.mask[:, :, 1] > 0  # [T, B]: steps the loss counts
            Xs.append(lagged(b.inputs[:, :, channels], lags)[keep].double())
            Ys.append(b.targets[keep].double())
    return torch.cat(Xs), torch.cat(Ys)


# %%
X, Y = corpus_samples()
X.shape, Y.shape

# %% [markdown]
# About a quarter of a million samples from 2304 trials, in a fraction of a second. One seed gives the same samples;
# lags widen X; a task's samples are the same whether or not other tasks are pooled with it:

# %%
test_eq(torch.equal(corpus_samples(16, seed=3)[0], corpus_samples(16, seed=3)[0]), True)
test_ne(corpus_samples(16, seed=3)[0].shape, corpus_samples(16, seed=4)[0].shape)
test_eq(corpus_samples(16, lags=2)[0].shape[1], 15)
test_eq(corpus_samples(16, channels=(1, 2))[0].shape[1], 2)
Xm, _ = corpus_samples(16, tasks=("MemPro",))
test_eq(torch.equal(corpus_samples(16, tasks=("DelayPro", "MemPro"))[0][-len(Xm):], Xm), True)
test_eq(X.dtype, torch.float64)
test_fail(lambda: corpus_samples(16, channels=(0, 7)), contains="0..4")
test_fail(lambda: corpus_samples(0), contains="positive integer")
test_fail(lambda: corpus_samples(16, tasks=()), contains="at least one task")


# %% [markdown]
# ## Canonical correlation analysis
#
# CCA looks for a direction a in input space and b in target space that maximise the correlation of Xa and Yb.
# With centred data and the covariances C_xx = XᵀX/(n−1), C_yy = YᵀY/(n−1), C_xy = XᵀY/(n−1), that is
#
# $$\rho = \max_{a, b}\ \frac{a^\top C_{xy}\, b}{\sqrt{a^\top C_{xx}\, a}\ \sqrt{b^\top C_{yy}\, b}}.$$
#
# Two steps solve it in closed form.
#
# **Whitening.** Change variables to a' = C_xx^{1/2} a and b' = C_yy^{1/2} b. The denominators become |a'| and |b'|:
# in whitened coordinates X C_xx^{−1/2} every direction has unit variance and no two are correlated, so only the
# *cross*-covariance is left, the matrix K = C_xx^{−1/2} C_xy C_yy^{−1/2}. We compute C^{−1/2} from the
# eigendecomposition C = W diag(λ) Wᵀ as W diag(λ + ε)^{−1/2} Wᵀ; the small ε (relative to the largest λ) keeps it
# finite when a channel is nearly constant or two channels are nearly copies of each other.
#
# **SVD.** Maximising a'ᵀ K b' over unit vectors is the definition of the largest singular value of K. The singular
# value decomposition K = P diag(ρ) Qᵀ therefore gives all canonical pairs at once: the singular values are the
# canonical correlations, in descending order, and the singular vectors, mapped back through the whitening, are the
# weights: A = C_xx^{−1/2} P and B = C_yy^{−1/2} Q. Because P and Q have orthonormal columns, the variates
# U = (X − μ_x)A and V = (Y − μ_y)B come out white (unit variance, uncorrelated with each other), and U_i is
# correlated only with its own partner V_i, with correlation ρ_i.
#
# Singular vectors are defined only up to a sign (flipping P_i and Q_i together changes nothing). We fix it so the
# results are deterministic: the largest-magnitude entry of each column of B is positive.

# %%
#| export
@dataclass
class CCA:
    "Canonical correlation analysis of X against Y: U = (X − μ_x)A, V = (Y − μ_y)B."
    A: Tensor          # [p, r] input weights (p = channels · (lags + 1))
    B: Tensor          # [q, r] target weights
    mu_x: Tensor       # [p] mean of X
    mu_y: Tensor       # [q] mean of Y
    corrs: Tensor      # [r] canonical correlations ρ_1 ≥ … ≥ ρ_r
    lags: int = 0      # delayed input copies in X (see `lagged`)
    channels: tuple | None = None  # input channels in X (None: every input channel of a batch)

    @property
    def r(self) -> int: return self.A.shape[1]

    def transform_x(self, X: Tensor) -> Tensor:
        "Canonical input variates U = (X − μ_x)A for samples X [..., p]."
        _check_width(X, self.A.shape[0], "X")
        return (X.to(self.A) - self.mu_x) @ self.A

    def transform_y(self, Y: Tensor) -> Tensor:
        "Canonical target variates V = (Y − μ_y)B for samples Y [..., q]."
        _check_width(Y, self.B.shape[0], "Y")
        return (Y.to(self.B) - self.mu_y) @ self.B

    def correlations(self, X: Tensor, Y: Tensor) -> Tensor:
        "corr(U_i, V_i) of each pair on samples `X`, `Y` (e.g. held-out ones), [r]."
        U, V = self.transform_x(X), self.transform_y(Y)
        U, V = U - U.mean(0), V - V.mean(0)
        return (U * V).sum(0) / (U.norm(dim=0) * V.norm(dim=0))

    def project(self, batch: Batch) -> tuple:
        "(U [T, B, r], V [T, B, r]) for every step of `batch`, in its dtype and on its device."
        channels = tuple(range(batch.inputs.shape[-1])) if self.channels is None else self.channels
        if max(channels) >= batch.inputs.shape[-1]:
            raise ValueError(f"this CCA reads input channels {channels}, the batch has {batch.inputs.shape[-1]}")
        x = lagged(batch.inputs[:, :, list(channels)], self.lags)
        U, V = self.transform_x(x.to(self.A.device)), self.transform_y(batch.targets.to(self.B.device))
        return U.to(batch.inputs), V.to(batch.targets)

    def __repr__(self):
        return (f"CCA(p={self.A.shape[0]}, q={self.B.shape[0]}, r={self.r}, lags={self.lags}, "
                f"corrs={[round(c, 4) for c in self.corrs.tolist()]})")

def _check_width(Z: Tensor, width: int, name: str):
    "Raise a `ValueError` unless the last dimension of `Z` has `width` features."
    if Z.shape[-1] != width:
        raise ValueError(f"{name} must have {width} features in its last dimension, got {list(Z.shape)}")


# %%
#| export
def _inv_sqrt(C: Tensor, eps: float) -> Tensor:
    "C^{−1/2} of a symmetric positive semi-definite C, eigenvalues regularised by eps · max eigenvalue."
    lam, W = torch.linalg.eigh(C)
    lam = lam.clamp(min=0) + eps * lam.max().clamp(min=torch.finfo(C.dtype).tiny)
    return (W * lam.rsqrt()) @ W.T

def cca(X: Tensor,          # input features [n, p]
        Y: Tensor,          # target features [n, q]
        r: int | None = None, # canonical pairs to keep (default and maximum: min(p, q))
        eps: float = 1e-8,  # regularisation of the whitening, relative to the largest variance
       ) -> CCA:
    "Canonical correlation analysis of `X` against `Y` by whitening and SVD (computed in float64)."
    if X.ndim != 2 or Y.ndim != 2:
        raise ValueError(f"X and Y must be 2-d [samples, features], got shapes {list(X.shape)} and {list(Y.shape)}")
    (n, p), (m, q) = X.shape, Y.shape
    if n != m: raise ValueError(f"X and Y must have the same number of samples (rows), got {n} and {m}")
    if n <= p + q: raise ValueError(f"CCA needs more samples than p + q = {p + q} features, got n = {n}")
    r = min(p, q) if r is None else r
    if isinstance(r, bool) or not isinstance(r, int) or not 1 <= r <= min(p, q):
        raise ValueError(f"r must be an integer in 1..min(p, q) = {min(p, q)}, got {r!r}")
    X, Y = X.double(), Y.double()
    mu_x, mu_y = X.mean(0), Y.mean(0)
    Xc, Yc = X - mu_x, Y - mu_y
    Cxx, Cyy, Cxy = Xc.T @ Xc / (n - 1), Yc.T @ Yc / (n - 1), Xc.T @ Yc / (n - 1)
    Wx, Wy = _inv_sqrt(Cxx, eps), _inv_sqrt(Cyy, eps)       # whitening
    P, rho, Qt = torch.linalg.svd(Wx @ Cxy @ Wy)            # K = P diag(ρ) Qᵀ
    A, B = Wx @ P[:, :r], Wy @ Qt.T[:, :r]
    idx = B.abs().argmax(0)                                 # sign: largest |loading| of each B column > 0
    sign = torch.sign(B[idx, torch.arange(r)])
    return CCA(A * sign, B * sign, mu_x, mu_y, rho[:r].clamp(max=1.))


# %% [markdown]
# First a problem with a known answer. Two hidden signals z_1, z_2 are observed, mixed and noisy, in a 4-dimensional X
# and a 3-dimensional Y, with noise chosen so that the canonical correlations are exactly 0.9 and 0.5 (and 0 for the
# third pair, which shares nothing):

# %%
g = torch.Generator().manual_seed(0)
n, rho_true = 200_000, torch.tensor([0.9, 0.5])
z = torch.randn(n, 2, generator=g, dtype=torch.float64)
# x_i = z_i + noise and y_i = z_i + noise with equal noise: corr(x_i, y_i) = 1/(1 + s²) = ρ_i
s = (1 / rho_true - 1).sqrt()
x_lat = torch.cat([z + s * torch.randn(n, 2, generator=g, dtype=torch.float64),
                   torch.randn(n, 2, generator=g, dtype=torch.float64)], 1)
y_lat = torch.cat([z + s * torch.randn(n, 2, generator=g, dtype=torch.float64),
                   torch.randn(n, 1, generator=g, dtype=torch.float64)], 1)
mix_x, mix_y = torch.randn(4, 4, generator=g, dtype=torch.float64), torch.randn(3, 3, generator=g, dtype=torch.float64)
toy = cca(x_lat @ mix_x + 3., y_lat @ mix_y - 1.)
toy

# %% [markdown]
# CCA does not care about the mixing or the offsets: it recovers ρ = 0.9, 0.5, 0 to sampling precision. And the
# variates have the properties the derivation promised: U and V are white, and their cross-correlation is diag(ρ).

# %%
test_close(toy.corrs, torch.tensor([0.9, 0.5, 0.0], dtype=torch.float64), eps=0.01)
Ut, Vt = toy.transform_x(x_lat @ mix_x + 3.), toy.transform_y(y_lat @ mix_y - 1.)
I3 = torch.eye(3, dtype=torch.float64)
test_close(torch.cov(Ut.T), I3, eps=1e-5)  # exact up to the regularisation ε·λ_max/λ
test_close(torch.cov(Vt.T), I3, eps=1e-5)
test_close(torch.cov(torch.cat([Ut, Vt], 1).T)[:3, 3:], torch.diag(toy.corrs), eps=1e-5)

# %% [markdown]
# Bad arguments fail with a message that says what is allowed:

# %%
test_fail(lambda: cca(X, Y, r=4), contains="1..min(p, q) = 3")
test_fail(lambda: cca(X, Y[:-1]), contains="same number of samples")
test_fail(lambda: cca(X[:8], Y[:8]), contains="more samples than p + q = 8")
test_fail(lambda: cca(X[:, 0], Y), contains="2-d")
test_fail(lambda: toy.transform_x(X), contains="4 features")
test_close(toy.correlations(x_lat @ mix_x, y_lat @ mix_y), toy.corrs, eps=1e-5)  # in-sample: ρ itself


# %% [markdown]
# ## The latent primitives of the corpus
#
# `latent_primitives` puts the two steps together: samples of the corpus, then their CCA, remembering which input
# channels and lags it used so that `project` can later build the same features from any batch.

# %%
#| export
def latent_primitives(trials_per_task: int = 256, # trials drawn of each task
                      seed: int = 0,              # same seed, same primitives
                      config: TaskConfig | None = None, # corpus settings (default: the reference)
                      lags: int = 0,              # delayed input copies in X (time-lagged CCA)
                      tasks=TASK_NAMES,           # which tasks to pool (e.g. all but a held-out one)
                      channels=None,              # input channels in X (default: all but rule inputs)
                      r: int | None = None,       # canonical pairs to keep (default: min(p, q))
                      eps: float = 1e-8,          # regularisation of the whitening
                     ) -> CCA:
    "The CCA of the pooled task corpus: the latent primitives U = XA, V = YB that the modules learn."
    config = config or TaskConfig()
    channels = _check_channels(channels, config)
    X, Y = corpus_samples(trials_per_task, seed, config, tasks=tasks, lags=lags, channels=channels)
    res = cca(X, Y, r=r, eps=eps)
    res.lags, res.channels = lags, channels
    return res


# %% [markdown]
# The figures and numbers below use the default corpus: 256 trials of each of the nine tasks (2304 trials), seed 0,
# the reference `TaskConfig`, no lags.

# %%
prim = latent_primitives(256, seed=0)
prim

# %%
X, Y = corpus_samples(256, seed=0)
U, V = prim.transform_x(X), prim.transform_y(Y)
rho = prim.corrs.tolist()
Markdown(f"On {len(X):,} samples, the canonical correlations are **ρ₁ = {rho[0]:.4f}**, ρ₂ = {rho[1]:.4f} and "
         f"ρ₃ = {rho[2]:.4f}.")

# %% [markdown]
# Again U and V are white and correlated only pair by pair:

# %%
C = torch.cov(torch.cat([U, V], 1).T)
C.diag(), C[:3, 3:]

# %%
test_close(C[:3, :3], I3, eps=1e-5)
test_close(C[3:, 3:], I3, eps=1e-5)
test_close(C[:3, 3:], torch.diag(prim.corrs), eps=1e-5)
assert (prim.corrs[:-1] >= prim.corrs[1:]).all()
test_eq(prim.B.abs().argmax(0).tolist(), prim.B.argmax(0).tolist())  # sign convention


# %% [markdown]
# ### What the primitives are
#
# The bar chart shows how unequal the three pairs are.

# %%
#| export
def plot_correlations(results: dict, # label -> `CCA` (one group of bars each)
                      ax=None,       # matplotlib axes to draw into (default: a new figure)
                     ):
    "Bar chart of the canonical correlations of one or more CCAs; returns the figure."
    import matplotlib.pyplot as plt
    if ax is None: fig, ax = plt.subplots(figsize=(5, 3), constrained_layout=True)
    r, k = max(c.r for c in results.values()), len(results)
    w = 0.8 / k
    for j, (label, c) in enumerate(results.items()):
        bars = ax.bar([i + (j - (k - 1) / 2) * w for i in range(c.r)], c.corrs.tolist(), w, label=label)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks(range(r), [f"pair {i + 1}" for i in range(r)])
    ax.set_ylabel("canonical correlation ρ"); ax.set_ylim(0, 1.1)
    if k > 1: ax.legend(fontsize=8, frameon=False)
    return ax.figure


# %%
plot_correlations({"lags = 0": prim});


# %% [markdown]
# The weights say what each variate is made of. Plotted as heatmaps with the channel names (each column is one
# canonical variate; the colour scale is shared within a panel):

# %%
#| export
def plot_loadings(c: CCA,                      # the CCA to draw
                  config: TaskConfig | None = None, # the corpus settings it was computed with (for channel names)
                 ):
    "Heatmaps of the weights A (inputs) and B (targets) of `c`, rows labelled by channel; returns the figure."
    import matplotlib.pyplot as plt
    xn = feature_names(config, c.channels, c.lags) if c.channels is not None else [f"x{i}" for i in range(c.A.shape[0])]
    yn = target_names(config) if len(target_names(config)) == c.B.shape[0] else [f"y{i}" for i in range(c.B.shape[0])]
    h = 0.28 * max(len(xn), len(yn)) + 1.2
    fig, axes = plt.subplots(1, 2, figsize=(6.5, h), constrained_layout=True)
    for ax, W, names, title in ((axes[0], c.A, xn, "A (inputs → U)"), (axes[1], c.B, yn, "B (targets → V)")):
        W = W.detach().cpu().double().numpy()
        lim = float(abs(W).max())
        im = ax.imshow(W, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_xticks(range(c.r), [f"{'U' if ax is axes[0] else 'V'}{i + 1}" for i in range(c.r)])
        ax.set_title(title, fontsize=10)
        if W.size <= 60:
            for i in range(W.shape[0]):
                for j in range(W.shape[1]):
                    v = float(W[i, j])
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                            color="w" if abs(v) > 0.6 * lim else "k")
        fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


# %%
plot_loadings(prim);


# %% [markdown]
# And over time: the three pairs during one trial of each task, U_i dashed and V_i solid, epochs shaded.

# %%
#| export
def plot_primitives(c: CCA,            # the CCA to draw
                    seed: int = 0,     # seed of the trials shown
                    config: TaskConfig | None = None, # corpus settings (must match the CCA's)
                    tasks=TASK_NAMES,  # one panel per task
                   ):
    "Canonical variates U_i (dashed) and V_i (solid) over one trial of each task, epochs shaded; returns the figure."
    import matplotlib.pyplot as plt
    cols = 3
    rows = -(-len(tasks) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(10, 2.3 * rows + 0.6), sharey=True, constrained_layout=True,
                             squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        b = make_batch(task, 1, seed=seed, config=config)
        U, V = (z[:, 0].detach().cpu().numpy() for z in c.project(b))
        L, dt = int(b.length[0]), b.config.dt
        t = (torch.arange(L) * dt).numpy()
        for k, (name, (s, e)) in enumerate(b.epochs.items()):
            ax.axvspan(int(s[0]) * dt, int(e[0]) * dt, color=f"C{k + 3}", alpha=0.1, lw=0)
        for i in range(c.r):
            ax.plot(t, V[:L, i], color=f"C{i}", lw=1.6, label=f"V{i + 1}")
            ax.plot(t, U[:L, i], color=f"C{i}", lw=1, ls="--", label=f"U{i + 1}")
        ax.axvline(int(b.go[0]) * dt, color="k", lw=0.8)
        ax.set_title(task, fontsize=10)
    for ax in axes.flat[len(tasks):]: ax.set_visible(False)
    for ax in axes[-1]: ax.set_xlabel("time (ms)")
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    fig.suptitle("canonical variates over one trial (go cue: black line)")
    return fig


# %%
plot_primitives(prim, seed=1);

# %% [markdown]
# Three numbers help to read the figures: the share of the fixation target in V₂ and V₃ (weight relative to the
# column's norm), and the levels V₁ takes before the go cue (fixation target 1) and after it (fixation target 0):

# %%
Bd = prim.B.abs()
levels = prim.transform_y(torch.tensor([[1., 0., 0.], [0., 0., 0.]]))[:, 0].tolist()
share = (Bd[0] / Bd.norm(dim=0)).tolist()
Markdown(f"Fixation share of V₂: {share[1]:.3f}, of V₃: {share[2]:.3f}; "
         f"V₁ before the go cue: {levels[0]:.2f}, after it: {levels[1]:.2f}.")

# %%
test_close(levels[1] - levels[0], -prim.B[0, 0], eps=1e-9)
assert (Bd[0, 1:] / Bd[:, 1:].norm(dim=0) < 0.1).all()
assert float(prim.A[0, 0].abs() / prim.A[:, 0].norm()) > 0.99

# %% [markdown]
# What the figures show (256 trials per task, seed 0; the time plot shows trials drawn with seed 1):
#
# - **Pair 1 is fixation.** U₁ is the fixation input alone and V₁ the fixation target alone (the first columns of A
#   and B have no other visible weight). In every panel of the time plot U₁ (dashed blue) lies on V₁ (solid blue),
#   up to the input noise: a small positive level until the go cue, then a step down to a larger negative level.
#   The levels are unequal because V₁ has mean 0 and variance 1 over the samples, and fixation steps outnumber
#   response steps. The fixation target is the fixation input without its noise, so ρ₁ is close to 1. This is
#   module M1's primitive: hold fixation, release it at the go cue.
# - **Pairs 2 and 3 are the response direction.** V₂ and V₃ (solid orange and green) are two mixtures of sin φ and
#   cos φ with almost no fixation weight: 0 until the go cue, then a level set by the trial's answer, the two
#   coordinates of φ in a frame rotated from (sin φ, cos φ). U₂ and U₃ (dashed) are mixtures of the four stimulus
#   channels, with opposite weights on the two modalities (in this sample they read modality 1 minus modality 2).
#   They move only while a stimulus is on. In the Mem and Dm panels they are back at 0 when V₂ and V₃ jump at the go
#   cue, so they have nothing to say about them. The DelayPro and DelayAnti panels show the other half of the story:
#   with the same seed the two trials have the same stimulus and timing, so U₂ and U₃ are identical in both panels,
#   while V₂ and V₃ jump to opposite levels.
#
# Why so small? At the steps where the response targets are non-zero (after the go cue), the stimulus inputs are
# mostly silent: the four Mem and the four Dm tasks switch their stimuli off before the response. Only the two Delay
# tasks keep the stimulus on, and there DelayPro asks for the stimulus direction and DelayAnti for its opposite, so
# pooled together they largely cancel. The simultaneous inputs of the corpus carry almost no linear information about
# the response direction. CCAs of subsets of the corpus (128 trials per task, seed 0) show each effect on its own:

# %%
subsets = {"DelayPro": ("DelayPro",), "DelayPro + DelayAnti": ("DelayPro", "DelayAnti"), "MemPro": ("MemPro",),
           "five Dm tasks": TASK_NAMES[4:], "all nine": TASK_NAMES}
sub = {k: latent_primitives(128, seed=0, tasks=v) for k, v in subsets.items()}
{k: [round(c, 3) for c in v.corrs.tolist()] for k, v in sub.items()}

# %%
assert sub["DelayPro"].corrs[1] > 0.5            # the stimulus that is on predicts the response
assert sub["DelayPro + DelayAnti"].corrs[1] < sub["DelayPro"].corrs[1] / 2  # Pro and Anti cancel
assert sub["MemPro"].corrs[1] < 0.05 and sub["five Dm tasks"].corrs[1] < 0.05  # nothing on at the response

# %% [markdown]
# DelayPro alone reaches only ρ₂ ≈ 0.6, not 1, because its stimulus is on for 0.5–1.5 s before the go cue while
# the response target is still 0. Pro and Anti do not cancel completely because the modality of a single-modality task
# is drawn once per batch: where a DelayPro batch and a DelayAnti batch happen to use different modalities, a linear
# map can tell them apart. MemPro and the Dm tasks, with nothing on during the response, give ρ₂ and ρ₃ near 0.
#
# ### How much of ρ₂ and ρ₃ is real?
#
# A correlation estimated on a sample and maximised over directions is biased upwards: CCA finds the directions in
# which *this* sample's inputs and targets happen to agree. The honest measure is the correlation of the same
# directions on new data. `CCA.correlations` computes corr(U_i, V_i) on any samples; below, the CCA is fitted on the
# trials of seed 0 and evaluated on the trials of seed 1 (held out), for three corpus sizes, and once with the
# modality of the single-modality tasks drawn per trial instead of per batch (`TaskConfig(modality="trial")`).

# %%
show_doc(CCA.correlations)


# %%
def fit_and_hold_out(n, config=None, lags=0):
    "In-sample and held-out (seed 1) canonical correlations of a CCA fitted on seed 0."
    c = latent_primitives(n, seed=0, config=config, lags=lags)
    held = c.correlations(*corpus_samples(n, seed=1, config=config, lags=lags))
    return dict(fitted=[round(v, 4) for v in c.corrs.tolist()], held_out=[round(v, 4) for v in held.tolist()])

sizes = {f"{n} trials/task": fit_and_hold_out(n) for n in (256, 1024, 4096)}
sizes["256 trials/task, modality per trial"] = fit_and_hold_out(256, TaskConfig(modality="trial"))
sizes

# %%
f = {k: v["fitted"] for k, v in sizes.items()}
assert f["4096 trials/task"][1] < f["256 trials/task"][1]        # ρ₂ shrinks as the corpus grows
assert all(v["held_out"][1] < 0.05 for v in sizes.values())       # and does not carry over to new trials
assert all(abs(v["held_out"][0] - v["fitted"][0]) < 1e-3 for v in sizes.values())  # ρ₁ does

# %% [markdown]
# ρ₁ is the same in and out of sample. ρ₂ and ρ₃ are not: they are near 0 on held-out trials, and they fall as the
# corpus grows, or when the modality is drawn per trial so that no batch-level imbalance between DelayPro and DelayAnti
# can arise. They are mostly a property of the sample, not of the tasks.
#
# So with samples taken one step at a time, as in our reconstruction, the corpus's inputs and targets share one
# strong primitive (fixation) and a two-dimensional response subspace that the simultaneous inputs barely predict.
# For the modules this means: M1 is pre-trained on an almost identity-like map from U₁ to V₁, while M2 and M3 are
# pre-trained to *produce* a coordinate of the response direction that their input, U₂ or U₃, predicts only weakly
# at the same step. Whatever they learn beyond that must come from their dynamics, not from copying their input.
# The paper's figures do not say how its samples were built; a design in which the response can be predicted from
# the inputs (longer input histories, below) would give M2 and M3 stronger primitives.
#
# ### Time-lagged CCA
#
# Appending the recent history of the inputs gives CCA access to the stimulus of the memory tasks. With lags of
# 5 steps (100 ms) and 25 steps (500 ms), 256 trials per task, seed 0:

# %%
lagged_prims = {f"lags = {k}": latent_primitives(256, seed=0, lags=k) for k in (0, 5, 25)}
plot_correlations(lagged_prims);

# %%
lag_held = {k: [round(v, 4) for v in c.correlations(*corpus_samples(256, seed=1, lags=c.lags)).tolist()]
            for k, c in lagged_prims.items()}
{k: dict(fitted=[round(v, 4) for v in c.corrs.tolist()], held_out=lag_held[k]) for k, c in lagged_prims.items()}

# %%
lp = lagged_prims
test_eq(lp["lags = 25"].A.shape, (5 * 26, 3))
h0, h25 = lag_held["lags = 0"], lag_held["lags = 25"]
assert h25[1] > 2 * h0[1] and h25[2] > 2 * h0[2]
test_eq(tuple(lp["lags = 5"].project(make_batch("MemPro", 4, seed=0))[0].shape[1:]), (4, 3))

# %% [markdown]
# With 25 lags, pairs 2 and 3 lose part of their correlation on held-out trials but stay well above the
# instantaneous ones there: the recent stimulus history does predict the answer a little. They stay far below
# pair 1, because the delays of the memory tasks reach 1.6 s, longer than the 500 ms window, and DelayPro and
# DelayAnti still cancel. Lagging also makes ρ₁ slightly larger: the average of several noisy copies of the fixation
# input is less noisy.
#
# ### Stability across seeds
#
# How much do the weights depend on the sample? The correlations for three seeds, the cosine between seed 0's and
# seed *s*'s weight vectors B_i (±1: the same direction), and the cosines of the principal angles between the planes
# that (B₂, B₃) span (1, 1: the same plane):

# %%
seeds = {s: latent_primitives(256, seed=s) for s in (0, 1, 2)}
def cosines(a, b): return (a.B * b.B).sum(0) / (a.B.norm(dim=0) * b.B.norm(dim=0))
def plane_cosines(a, b): return torch.linalg.svdvals(torch.linalg.qr(a.B[:, 1:])[0].T @ torch.linalg.qr(b.B[:, 1:])[0])
{s: dict(corrs=[round(c, 4) for c in v.corrs.tolist()], cos_B=[round(c, 3) for c in cosines(seeds[0], v).tolist()],
         plane=[round(c, 4) for c in plane_cosines(seeds[0], v).tolist()]) for s, v in seeds.items()}

# %%
for s in (1, 2):
    test_close(seeds[s].corrs[0], prim.corrs[0], eps=1e-3)
    test_close(cosines(seeds[0], seeds[s])[0], 1., eps=1e-3)
    test_close(plane_cosines(seeds[0], seeds[s]), torch.ones(2, dtype=torch.float64), eps=0.01)


# %% [markdown]
# Pair 1 is the same for every seed. The plane of V₂ and V₃ is the same too (it is the (sin φ, cos φ) plane), but
# the directions of V₂ and V₃ within it are not: the rotation is chosen by the weak, sample-specific correlations
# above. For pre-training this means the *subspace* given to M2 and M3 is a robust property of the corpus, and the
# way it is divided between them is arbitrary.

# %% [markdown]
# ## Splitting the dimensions over the modules
#
# The r canonical pairs are divided, in order, among the modules: module 1 gets the first r1 pairs (the most
# correlated), module 2 the next r2, and so on. With r = 3 and three modules each gets one; for larger r (time-lagged
# or ring-encoded features with more targets) the pairs are spread as evenly as possible, earlier modules taking the
# extra ones.

# %%
#| export
def split_dimensions(r: int,            # number of canonical pairs
                     n_modules: int = 3, # number of modules
                    ) -> list: # one `slice` of the r dimensions per module: r1, r2, …
    "Split r canonical dimensions over `n_modules` modules, as evenly as possible, earlier modules first."
    for name, v in (("r", r), ("n_modules", n_modules)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if r < n_modules:
        raise ValueError(f"cannot give each of {n_modules} modules at least one of r = {r} dimensions; "
                         f"use n_modules <= {r}")
    sizes = [r // n_modules + (i < r % n_modules) for i in range(n_modules)]
    starts = [sum(sizes[:i]) for i in range(n_modules)]
    return [slice(a, a + k) for a, k in zip(starts, sizes)]


# %%
split_dimensions(3), split_dimensions(8)

# %% [markdown]
# Three pairs give one per module; eight give 3 + 3 + 2 (the earlier modules take the remainder); one module takes all:

# %%
test_eq(split_dimensions(3), [slice(0, 1), slice(1, 2), slice(2, 3)])
test_eq([s.stop - s.start for s in split_dimensions(8)], [3, 3, 2])
test_eq(split_dimensions(5, 1), [slice(0, 5)])
test_fail(lambda: split_dimensions(2, 3), contains="n_modules <= 2")
test_fail(lambda: split_dimensions(0), contains="positive integer")

# %% [markdown]
# ## Module inputs and targets for any batch
#
# Pre-training needs, for a batch of trials, what each module receives and what it must produce. `CCA.project`
# returns U and V for every step of the batch (time-major, like the batch itself), and the slices pick each module's
# share. The steps the loss ignores are included; the batch's mask says which they are.

# %%
show_doc(CCA.project)

# %%
b = make_batch("MemDm1", 8, seed=0)
U_b, V_b = prim.project(b)
[(f"M{i + 1}", tuple(U_b[..., s].shape), tuple(V_b[..., s].shape)) for i, s in enumerate(split_dimensions(prim.r))]

# %% [markdown]
# `project` gives exactly what `transform_x` and `transform_y` give on the pooled samples, in the batch's dtype:

# %%
keep = b.mask[:, :, 1] > 0
test_close(U_b[keep], prim.transform_x(b.inputs[keep]).float(), eps=1e-5)
test_close(V_b[keep], prim.transform_y(b.targets[keep]).float(), eps=1e-5)
test_eq(U_b.dtype, b.inputs.dtype)
test_eq(latent_primitives(32, seed=5).A, latent_primitives(32, seed=5).A)  # deterministic
# a rule-input batch works with the default CCA (rule channels left out)
br = make_batch("MemPro", 4, seed=0, config=TaskConfig(rule_inputs=True))
test_eq(prim.project(br)[0].shape, U_b.shape[:0] + br.inputs.shape[:2] + (3,))
