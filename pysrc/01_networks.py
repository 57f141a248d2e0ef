# %% [markdown]
# # Recurrent networks
#
# > Leaky rate RNNs, modular networks with block-structured J, perturbations, and a fast hand-written BPTT.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/01_networks.ipynb)

# %% [markdown]
# Every model in molap is the same kind of cell: a leaky rate network, the standard model of cortical circuits in
# the multi-task literature (Yang et al. 2019; Duncker et al. 2020). The baselines use one unstructured recurrent
# matrix; MoLaP builds its recurrent matrix `J` out of a few diagonal blocks, the *modules*, and trains only the
# task-specific input and output weights `I_T` and `O_T` around them once `J` is frozen.
#
# This notebook builds, in order: the recurrence itself and a fast backward pass for it, the plain network
# (`LeakyRNN`), the modular network (`ModularRNN`), a parameter counter, and the perturbations of the robustness
# study. Everything here is the standard model; the choices that are ours rather than the paper's (initial gains,
# the scale of the inter-module weights, task-specific biases) are marked as such where they appear.

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp networks

# %%
#| export
from __future__ import annotations
import copy, math, operator
import torch
import torch.nn.functional as F
from torch import nn, Tensor
from torch.autograd.function import once_differentiable
from molap.core import check_int, check_float
import matplotlib.pyplot as plt

# %%
#| hide
import time
from fastcore.test import *
from IPython.display import Markdown
plt.rcParams["figure.dpi"] = 72  # light notebooks: figures at screen resolution


# %%
#| hide
def test_same(a, b):
    "`test_eq` for tensors on any device, with or without grad."
    test_eq(a.detach().cpu(), b.detach().cpu())

def test_differ(a, b):
    "`test_ne` for tensors on any device, with or without grad."
    test_ne(a.detach().cpu(), b.detach().cpu())


# %% [markdown]
# The code is device-agnostic; the examples run on a GPU when there is one.

# %%
device = "cuda" if torch.cuda.is_available() else "cpu"
device

# %% [markdown]
# ## The leaky recurrence
#
# A network of `n` rate units with state h_t (one number per unit, the firing rate) follows the Euler-discretised
# rate equation τ dh/dt = −h + f(W_rec h + W_in x + b + η):
#
# $$h_t = (1-\alpha)\,h_{t-1} + \alpha\, f\big(W_{rec}\, h_{t-1} + W_{in}\, x_t + b + \eta_t\big), \qquad
#   y_t = W_{out}\, h_t + b_{out}$$
#
# with α = dt/τ = 20 ms / 100 ms = 0.2: each step moves the state a fifth of the way towards its target. The
# recurrent noise η_t ~ N(0, σ_rec²·2/α) is scaled with α so that its effect on h does not depend on dt;
# σ_rec = 0.05 by default. The initial state is h_0 = 0 unless given. All tensors are time-major: `[T, B, n]`
# for T steps of B trials.
#
# The rate function f is ReLU by default (rates are non-negative and unbounded); tanh and softplus are options.

# %%
#| export
ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "softplus": F.softplus}

def get_activation(name:str, # "relu", "tanh" or "softplus"
                  ): # the rate function f
    "The rate function f called `name`."
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; allowed: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


# %%
get_activation("softplus")(torch.tensor([-2., 0., 2.]))

# %% [markdown]
# ReLU clips at zero, and a name that is not one of the three is refused with the list of what is allowed:

# %%
test_eq(get_activation("relu")(torch.tensor([-1., 2.])), torch.tensor([0., 2.]))
test_fail(lambda: get_activation("sigmoid"), contains="allowed: relu, tanh, softplus")


# %% [markdown]
# Noise is always drawn from an explicit `torch.Generator`, never from torch's global random state: a training run
# that also samples trials or initialises another model must not change this model's noise, and vice versa. With
# no generator, a fresh one is seeded from the operating system (so two calls differ, as noise should).

# %%
#| export
def fresh_generator(device=None # where the generator lives
                   )->torch.Generator:
    "A new generator seeded non-deterministically (never touches the global RNG)."
    g = torch.Generator(device=device)
    g.seed()
    return g

def recurrent_noise(shape:tuple, # [T, B, n] (or [T, N, B, n])
                    sigma_rec:float, # σ_rec, the noise level
                    alpha:float=0.2, # α = dt/τ
                    generator:torch.Generator|None=None, # source of randomness; None: a fresh one
                    device=None, # where the noise goes (default: the generator's device)
                    dtype=None, # e.g. torch.float64 (default: torch's default float)
                   )->Tensor: # η for all steps at once
    "Recurrent noise η_t ~ N(0, σ_rec²·2/α) for all steps, drawn from `generator`."
    if generator is None: generator = fresh_generator(device)
    # draw where the generator lives (a CPU generator can feed a GPU model), then move
    # normal_ with std scales as it draws: one pass over the [T, B, n] buffer instead of two (same values as randn × std)
    eta = torch.empty(shape, device=generator.device, dtype=dtype).normal_(0, sigma_rec * math.sqrt(2 / alpha), generator=generator)
    return eta.to(device if device is not None else generator.device)


# %%
eta = recurrent_noise((150, 64, 256), 0.05, generator=torch.Generator().manual_seed(0))
eta.std()

# %% [markdown]
# Three checks: the standard deviation is σ_rec·√(2/α) ≈ 0.158; the same generator seed gives the same noise; and
# without a generator each call draws fresh noise (from the OS, not from torch's global state).

# %%
test_close(eta.std(), 0.05 * math.sqrt(2 / 0.2), eps=1e-3)
test_eq(recurrent_noise((3, 2), 0.05, generator=torch.Generator().manual_seed(1)),
        recurrent_noise((3, 2), 0.05, generator=torch.Generator().manual_seed(1)))
test_ne(recurrent_noise((3, 2), 0.05), recurrent_noise((3, 2), 0.05))


# %% [markdown]
# ### The reference: a plain autograd loop
#
# The recurrence needs the input only through its *drive* u_t = W_in x_t + b, which can be computed for all steps
# in one matrix product before the loop. The scan below takes u (and, optionally, noise already scaled, and h_0)
# and returns all states h_1 … h_T. It also runs N independent networks at once: with `W_rec` of shape `[N, n, n]`
# and u of shape `[T, N, B, n]`, network k uses `W_rec[k]` on `u[:, k]` (this trains the nine separate baseline
# networks, or many seeds, in one pass).

# %%
#| export
def _check_scan(u, W_rec, alpha, activation, h0, noise):
    "Clear errors for the arguments of the scans."
    get_activation(activation)
    if not (isinstance(u, Tensor) and isinstance(W_rec, Tensor)):
        raise TypeError(f"u and W_rec must be tensors, got {type(u).__name__} and {type(W_rec).__name__}")
    if W_rec.dim() not in (2, 3) or W_rec.shape[-1] != W_rec.shape[-2]:
        raise ValueError(f"W_rec must be [n, n] or [N, n, n] (N networks); got shape {tuple(W_rec.shape)}")
    want = "[T, B, n]" if W_rec.dim() == 2 else "[T, N, B, n]"
    if u.dim() != W_rec.dim() + 1 or u.shape[-1] != W_rec.shape[-1] or (W_rec.dim() == 3 and u.shape[1] != W_rec.shape[0]):
        raise ValueError(f"u must be {want} to match W_rec {tuple(W_rec.shape)}; got shape {tuple(u.shape)}")
    if not 0 < alpha <= 1: raise ValueError(f"alpha = dt/tau must be in (0, 1]; got {alpha}")
    if noise is not None and noise.shape != u.shape:
        raise ValueError(f"noise must have the shape of u {tuple(u.shape)}; got {tuple(noise.shape)}")
    if h0 is not None:
        try: torch.broadcast_shapes(h0.shape, u.shape[1:])
        except RuntimeError: raise ValueError(f"h0 must broadcast to {tuple(u.shape[1:])}; got {tuple(h0.shape)}") from None


# %%
#| export
def leaky_scan_naive(u:Tensor, # drive W_in x_t + b: [T, B, n], or [T, N, B, n] for N networks
                     W_rec:Tensor, # recurrent weights [n, n], or [N, n, n]
                     alpha:float=0.2, # α = dt/τ
                     activation:str="relu", # rate function f: "relu", "tanh" or "softplus"
                     h0:Tensor|None=None, # initial state, broadcastable to u[0]; None: zeros
                     noise:Tensor|None=None, # recurrent noise η (already scaled), shape of u
                    )->Tensor: # states h_1 … h_T, shape of u
    "The leaky recurrence as a plain autograd loop (the reference for `leaky_scan`)."
    _check_scan(u, W_rec, alpha, activation, h0, noise)
    f = get_activation(activation)
    h = u.new_zeros(u.shape[1:]) if h0 is None else h0.expand(u.shape[1:])
    hs = []
    for t in range(u.shape[0]):
        a = h @ W_rec.transpose(-1, -2) + u[t]
        if noise is not None: a = a + noise[t]
        h = (1 - alpha) * h + alpha * f(a)
        hs.append(h)
    return torch.stack(hs)


# %% [markdown]
# A constant drive into a network without recurrence relaxes exponentially to f(u) with time constant τ = 5 steps:

# %%
h = leaky_scan_naive(torch.ones(20, 1, 1), torch.zeros(1, 1))
h[[0, 4, 19], 0, 0]

# %%
test_close(h[:, 0, 0], 1 - 0.8 ** torch.arange(1, 21.), eps=1e-6)


# %% [markdown]
# ### A fast backward pass
#
# Autograd records every small operation of the loop above and replays them backwards, one at a time. For the
# reference network (256 units, batch 64, 150 steps) that costs several times the matrix products themselves.
# Written by hand, backpropagation through time needs only the states h_t and, for f'(a_t), the pre-activations
# a_t (for ReLU the rates f(a_t), which the forward pass computes in place anyway). With g_t = ∂L/∂h_t the total gradient at step t (through
# all later steps), ∂ℓ/∂h_t the part that comes straight from the loss at step t, and δ_t = ∂L/∂a_t:
#
# $$\delta_t = \alpha\, f'(a_t) \odot g_t, \qquad
#   g_{t-1} = \frac{\partial \ell}{\partial h_{t-1}} + (1-\alpha)\, g_t + W_{rec}^\top \delta_t, \qquad
#   \frac{\partial L}{\partial W_{rec}} = \sum_t \delta_t\, h_{t-1}^\top, \qquad
#   \frac{\partial L}{\partial u_t} = \delta_t .$$
#
# So the forward pass needs one matrix product per step, the backward pass one per step for g, and the weight
# gradient, a sum over all steps and trials, is *one* large product `[n, T·B] × [T·B, n]` at the end. At the
# reference size a step's tensors (`[T, B, n]`, 10 MB each) no longer fit in the cache, so after the products the
# cost is passes over memory, and the scan makes as few as it can:
#
# - the forward pass overwrites its drive u_t in place with a_t = u_t + W h_{t-1} (no copy), applies ReLU in place,
#   and, while a_t is still in cache, replaces it with f'(a_t), all the backward pass needs of it;
# - the backward pass carries αg_t instead of g_t, so that δ_t = f'(a_t) ⊙ αg_t comes out of one multiplication
#   and the leak and direct paths are one `lerp`: αg_{t-1} = (1-α)·αg_t + α ∂ℓ/∂h_{t-1}, plus αWᵀδ_t;
# - the model draws the recurrent noise straight into the drive and adds the input product to it in place (a
#   column of ones carries the bias): one `[T, B, n]` tensor instead of three;
# - the linear readout y_t = W_out h_t is part of the scan: its direct term W_outᵀ ∂ℓ/∂y_t joins the recurrent one
#   in the backward step's product (`[δ_t | ∂ℓ/∂y_{t-1}] × [αW; αW_out]`, three more columns), and ∂L/∂W_out comes
#   out of the weight gradient's product (Σ_t [δ_t | ∂ℓ/∂y_{t-1}]ᵀ h_{t-1}): the thin products `[T·B, 3] × [3, n]`
#   and `[3, T·B] × [T·B, n]` they replace were each slower than reading h once;
# - Wᵀ is copied once (a product with a transposed view is markedly slower).

# %%
#| export
def _outer_sum(delta: Tensor, h: Tensor) -> Tensor:
    "Σ over steps and trials of δ hᵀ: one product; for N networks one batched product per step (no copies)."
    m, n = delta.shape[-1], h.shape[-1]
    if delta.dim() == 3: return delta.reshape(-1, m).t() @ h.reshape(-1, n)
    out = delta.new_zeros(delta.shape[1], m, n)  # [T, N, B, n] can't be flattened to one product without a copy
    for t in range(delta.shape[0]): out.baddbmm_(delta[t].transpose(1, 2), h[t])
    return out

def _scan_forward(A: Tensor, W: Tensor, h0: Tensor, alpha: float, activation: str, need_grad: bool) -> Tensor:
    "States H of the leaky recurrence; A holds the drive u on entry and leaves with f'(a_t) when `need_grad`."
    batched = W.dim() == 3
    Wt = W.transpose(-1, -2).contiguous()            # a transposed view makes every product slower
    H = torch.empty_like(A)                          # states h_t
    h = h0
    for t in range(A.shape[0]):
        if batched: a = A[t].baddbmm_(h, Wt)         # a_t = u_t + W h_{t-1}, in place over u_t: no copy
        else: a = A[t].addmm_(h, Wt)
        if activation == "relu": r = a.clamp_min_(0)  # f(a_t) in place: no temporary
        elif activation == "tanh": r = torch.tanh(a)
        else: r = F.softplus(a)
        torch.lerp(h, r, alpha, out=H[t])            # h_t = (1-α) h_{t-1} + α f(a_t)
        h = H[t]
        if need_grad:                                # f'(a_t) while a_t is in cache: a pass over [T, B, n] less later
            if activation == "relu": a.sign_()       # f(a) ≥ 0: 1 where a > 0, else 0 (autograd's relu'(0) = 0)
            elif activation == "tanh": a.fill_(1).addcmul_(r, r, value=-1.0)  # 1 - tanh², no temporary
            else: a.sigmoid_()                       # softplus' = sigmoid
    return H

def _scan_backward(G: Tensor | None, GY: Tensor, W: Tensor, W_out: Tensor, h0: Tensor, A: Tensor, H: Tensor,
                   alpha: float, need_W: bool, need_h0: bool, need_out: bool
                  ) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
    "∂L/∂u (the δ's), ∂L/∂W, ∂L/∂h0 and ∂L/∂W_out from ∂L/∂H = G (or None) and ∂L/∂Y = GY, with A = f'(a)."
    batched, T, n, o = W.dim() == 3, H.shape[0], W.shape[-1], W_out.shape[-2]
    # D_t = [δ_t | ∂ℓ/∂y_{t-1}]: one product per step with [αW; αW_out] carries both the recurrent path and the
    # readout's direct term into αg_{t-1}, and Dᵀ H gives ∂L/∂W and ∂L/∂W_out together (no thin products)
    D = torch.empty(list(A.shape[:-1]) + [n + o], dtype=A.dtype, device=A.device)
    delta = D[..., :n]                               # δ_t = f'(a_t) ⊙ αg_t
    aWW = torch.cat([W, W_out], -2) * alpha
    g = torch.matmul(GY[T - 1], W_out) * alpha       # αg_T: carrying α in g puts it on every δ without a pass of its own
    if G is not None: g.add_(G[T - 1], alpha=alpha)
    buf0, buf1 = torch.empty_like(g), torch.empty_like(g)  # αg_t through all later steps, two buffers in turn
    for t in range(T - 1, 0, -1):
        torch.mul(A[t], g, out=delta[t])
        if o > 0: D[t, ..., n:] = GY[t - 1]          # here, in cache: one strided copy of [T, B, 3] is slow
        buf = buf0 if t % 2 == 0 else buf1           # αg_{t-1}: leak (1-α)·αg_t (and a direct α∂ℓ/∂h given for H) ...
        g = torch.add(g, g, alpha=-alpha, out=buf) if G is None else torch.lerp(g, G[t - 1], alpha, out=buf)
        if batched: g.baddbmm_(D[t], aWW)            # ... plus αWᵀδ_t and the readout's α W_outᵀ ∂ℓ/∂y_{t-1}
        else: g.addmm_(D[t], aWW)
    torch.mul(A[0], g, out=delta[0])
    grad_h0: Tensor | None = None                    # h_0 has no direct loss term: (1-α) g_0 + Wᵀδ_0
    if need_h0: grad_h0 = (g * ((1 - alpha) / alpha)).baddbmm_(delta[0], W) if batched else (g * ((1 - alpha) / alpha)).addmm_(delta[0], W)
    grad_W: Tensor | None = None
    grad_out: Tensor | None = None
    if need_W:                                       # Σ_t D_t h_{t-1}ᵀ, and the two terms D leaves out
        P = _outer_sum(D[1:], H[:-1])
        grad_W = P[..., :n, :] + _outer_sum(delta[:1], h0.unsqueeze(0))
        if need_out: grad_out = P[..., n:, :] + _outer_sum(GY[T - 1:], H[T - 1:])
    elif need_out: grad_out = _outer_sum(GY, H)
    return delta, grad_W, grad_h0, grad_out


# %% [markdown]
# Run from Python, the loops above pay the interpreter's overhead on every operation: at the quick profile's size
# (64 units, a batch of 32) that overhead, not arithmetic, is most of a training step. TorchScript runs the same loops
# (the same ATen operations in the same order, so the same numbers) without it, and needs no compiler. `scan_kernels`
# compiles them once per process and falls back to the plain Python functions where TorchScript is missing or fails
# (a later PyTorch may drop it: it is deprecated in favour of `torch.compile`, which would unroll the 150-step loop).
# `SCAN_BACKEND` is the one setting: `"torchscript"` (default, with the fallback) or `"python"`.

# %%
#| export
SCAN_BACKEND = "torchscript"  # how the fast scan's loops run: "torchscript" (falls back to "python") or "python"
_KERNELS = {}

def scan_kernels(backend: str | None = None, # "torchscript" or "python"; None: `SCAN_BACKEND`
                ) -> tuple:                  # (forward, backward, the backend that runs them)
    "The fast scan's forward and backward loops, compiled by TorchScript once per process where it works."
    backend = SCAN_BACKEND if backend is None else backend
    if backend not in ("torchscript", "python"): raise ValueError(f"unknown scan backend {backend!r}; allowed: torchscript, python")
    if backend not in _KERNELS:
        kernels = (_scan_forward, _scan_backward, "python")
        if backend == "torchscript":
            import warnings
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # TorchScript's deprecation notice: we keep the Python fallback
                    kernels = (torch.jit.script(_scan_forward), torch.jit.script(_scan_backward), "torchscript")
            except Exception: pass  # no TorchScript here (or no source to compile): the same loops in Python
        _KERNELS[backend] = kernels
    return _KERNELS[backend]

class _LeakyScan(torch.autograd.Function):
    "The leaky recurrence and its linear readout with a hand-written BPTT: one product per step each way, dW as one product."
    @staticmethod
    def forward(ctx, u, W, h0, W_out, alpha, activation):
        # the scan overwrites its drive u with A in place (no per-step copy): u must be a fresh tensor nobody else reads
        ctx.mark_dirty(u)
        ctx.set_materialize_grads(False)             # A's gradient is never needed: no [T, B, n] of zeros for it
        need = any(ctx.needs_input_grad[:4])
        H = scan_kernels()[0](u.view(-1, *h0.shape), W, h0, alpha, activation, need)  # u may come flat
        Y = torch.matmul(H, W_out.transpose(-1, -2))  # the readout y_t = W_out h_t (bias added outside); [.., 0] if none
        ctx.save_for_backward(W, h0, u, H, W_out)
        ctx.alpha, ctx.shape = alpha, u.shape
        return H, Y, u

    @staticmethod
    @once_differentiable
    def backward(ctx, G, GY, _):
        W, h0, A, H, W_out = ctx.saved_tensors
        if G is None and GY is None: return None, None, None, None, None, None
        A = A.view(H.shape)
        GY = H.new_zeros(H.shape[:-1] + (W_out.shape[-2],)) if GY is None else GY.contiguous()
        delta, grad_W, grad_h0, grad_out = scan_kernels()[1](None if G is None else G.contiguous(), GY, W, W_out, h0, A, H,
                                                             ctx.alpha, *ctx.needs_input_grad[1:4])
        return delta.reshape(ctx.shape), grad_W, grad_h0, grad_out, None, None


# %%
scan_kernels()[2]

# %% [markdown]
# Both backends compute the same operations; the states and gradients agree (to rounding: bit equality is only
# promised for the same computation run twice):

# %%
for act in ("relu", "tanh", "softplus"):
    for shape, Wshape in (((30, 4, 8), (8, 8)), ((30, 2, 4, 8), (2, 8, 8))):
        g = torch.Generator().manual_seed(0)
        u, W, h0 = torch.randn(shape, generator=g), torch.randn(Wshape, generator=g) * 0.3, torch.randn(shape[1:], generator=g)
        A1, A2 = u.clone(), u.clone()  # each scan overwrites its drive with what backward needs
        H1, H2 = (scan_kernels(b)[0](A, W, h0, 0.2, act, True) for b, A in (("torchscript", A1), ("python", A2)))
        test_close(H1, H2, eps=1e-6); test_close(A1, A2, eps=1e-6)
        G = torch.randn(shape, generator=g)
        W_out, GY = torch.randn(*Wshape[:-2], 3, shape[-1], generator=g), torch.randn(*shape[:-1], 3, generator=g)
        for x, y in zip(scan_kernels("torchscript")[1](G, GY, W, W_out, h0, A1, H1, 0.2, True, True, True),
                        scan_kernels("python")[1](G, GY, W, W_out, h0, A2, H2, 0.2, True, True, True)): test_close(x, y, eps=1e-5)
test_fail(lambda: scan_kernels("cuda"), contains="unknown scan backend")


# %%
#| export
def leaky_scan(u:Tensor, # drive W_in x_t + b: [T, B, n], or [T, N, B, n] for N networks
               W_rec:Tensor, # recurrent weights [n, n], or [N, n, n]
               alpha:float=0.2, # α = dt/τ
               activation:str="relu", # rate function f: "relu", "tanh" or "softplus"
               h0:Tensor|None=None, # initial state, broadcastable to u[0]; None: zeros
               noise:Tensor|None=None, # recurrent noise η (already scaled), shape of u
              )->Tensor: # states h_1 … h_T, shape of u
    "The leaky recurrence with a fast hand-written backward pass; same results as `leaky_scan_naive`."
    _check_scan(u, W_rec, alpha, activation, h0, noise)
    drive = u.clone(memory_format=torch.contiguous_format) if noise is None else u + noise  # a fresh tensor: the scan overwrites it
    return _scan_fresh(drive, W_rec, alpha, activation, h0)

def _scan_fresh(drive, W_rec, alpha, activation, h0, T=None, W_out=None):
    "`leaky_scan` of a fresh, contiguous drive that nothing else reads (overwritten: no copy); a [T·B, n] drive needs T."
    # with W_out [n_out, n] also the readout W_out h_t (no bias), folded into the scan's backward pass: (h, y)
    step = drive.shape[1:] if T is None else (drive.shape[0] // T, drive.shape[1])
    h0 = drive.new_zeros(step) if h0 is None else h0.expand(step)  # autograd sums a broadcast h0's gradient
    readout = drive.new_zeros(*W_rec.shape[:-2], 0, drive.shape[-1]) if W_out is None else W_out
    H, Y, _ = _LeakyScan.apply(drive, W_rec, h0, readout, float(alpha), activation)
    return H if W_out is None else (H, Y)


# %% [markdown]
# Both scans compute the same states:

# %%
g = torch.Generator().manual_seed(0)
u = torch.randn(150, 64, 256, generator=g).to(device)
W = (0.5 * torch.linalg.qr(torch.randn(256, 256, generator=g))[0]).to(device)
H_fast, H_naive = leaky_scan(u, W), leaky_scan_naive(u, W)
(H_fast - H_naive).abs().max()

# %%
test_close(H_fast, H_naive, eps=1e-5)
test_eq(H_fast.shape, (150, 64, 256))
test_fail(lambda: leaky_scan(u[0], W), contains="u must be [T, B, n]")
test_fail(lambda: leaky_scan(u, W, activation="elu"), contains="allowed")
test_fail(lambda: leaky_scan(u, W, alpha=1.5), contains="(0, 1]")


# %% [markdown]
# The gradients are the point. They agree with autograd's on the reference loop to float64 precision, for every
# rate function, with noise and a given initial state, and for N networks at once:

# %%
#| hide
def scan_grads(scan, u, W, h0, noise, activation):
    "States and gradients of a random projection of all states w.r.t. u, W, h0 and noise."
    leaves = [t.detach().clone().requires_grad_() for t in (u, W, h0, noise)]
    H = scan(leaves[0], leaves[1], 0.2, activation, leaves[2], leaves[3])
    proj = torch.randn(H.shape, generator=torch.Generator().manual_seed(5), dtype=H.dtype).to(H.device)
    (H * proj).sum().backward()
    return [H] + [t.grad for t in leaves]

def check_scan_grads(activation, n_nets=None, T=12, B=3, n=7):
    "Compare fast and naive scans' states and gradients in float64."
    g = torch.Generator().manual_seed(3)
    N = () if n_nets is None else (n_nets,)
    mk = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64).to(device)
    u, W, h0, noise = mk(T, *N, B, n), mk(*N, n, n) / math.sqrt(n), mk(*N, B, n).abs(), 0.1 * mk(T, *N, B, n)
    for fast, ref in zip(scan_grads(leaky_scan, u, W, h0, noise, activation),
                         scan_grads(leaky_scan_naive, u, W, h0, noise, activation)):
        test_close(fast, ref, eps=1e-10)


# %%
for act in ACTIVATIONS:
    check_scan_grads(act)               # one network
    check_scan_grads(act, n_nets=4)     # four independent networks in one pass
"all gradients agree"

# %% [markdown]
# A finite-difference check (`torch.autograd.gradcheck`) confirms them independently of autograd's loop, and a
# shared initial state of shape `[n]` (broadcast over trials) gets the summed gradient:

# %%
g = torch.Generator().manual_seed(4)
args = [torch.randn(*s, generator=g, dtype=torch.float64, requires_grad=True) for s in ((6, 2, 4), (4, 4), (4,))]
assert torch.autograd.gradcheck(lambda u, W, h0: leaky_scan(u, W, 0.2, "tanh", h0), args)
assert torch.autograd.gradcheck(lambda u, W, h0: leaky_scan(u.relu() + 0.1, W, 0.2, "relu", h0.abs()), args)


# %% [markdown]
# And it is fast. One training step (forward and backward) of the reference size, with both scans (the benchmark
# in `benchmarks/bench_rnn_step.py` measures this against the bare matrix products):

# %%
#| hide
def step_time(scan, u, W, repeats=3):
    "Median seconds of one forward+backward pass of `scan`."
    u, W = u.detach().requires_grad_(), W.detach().requires_grad_()
    times = []
    for _ in range(repeats):
        if u.is_cuda: torch.cuda.synchronize()
        t0 = time.perf_counter()
        scan(u, W).square().mean().backward()
        if u.is_cuda: torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


# %%
t_fast, t_naive = step_time(leaky_scan, u, W), step_time(leaky_scan_naive, u, W)
f"fast {1e3 * t_fast:.0f} ms, naive {1e3 * t_naive:.0f} ms per step: {t_naive / t_fast:.1f}x faster"

# %% [markdown]
# ## A leaky RNN
#
# `LeakyRNN` wraps the scan with its weights. The initialisation follows the reference networks of the
# multi-task literature:
#
# - `W_in ~ N(0, 1/n_in)`, `b = 0`, `b_out = 0`;
# - `W_rec` = gain × a random orthogonal matrix. The gain is 0.5 for ReLU and softplus (the reference of Duncker
#   et al. 2020: stable, decaying dynamics at the start). For tanh we use gain 1.0 (our choice): with α = 0.2 the
#   linearised dynamics then sit at the edge of stability, the usual starting point for tanh networks.
# - `W_out ~ N(0, 1/n_rec) × 0.1` (our choice): a small readout so the first outputs are near zero and the first
#   gradients come from the task, not from a random readout.
#
# Initialisation draws from its own generator seeded by `seed` (recorded as `model.seed`), never from torch's
# global random state. With `n_nets=N`, every weight gets a leading dimension N and the model is N independent
# networks trained in one pass; the input is then either `[T, B, n_in]` (the same trials for all networks) or
# `[T, N, B, n_in]` (each network its own), and the output is `[T, N, B, n_out]`.

# %%
#| export
REC_GAIN = {"relu": 0.5, "softplus": 0.5, "tanh": 1.0}  # gain of the orthogonal W_rec at initialisation

def random_orthogonal(n:int, # size of the square matrix
                      gain:float=1.0, # scale: all singular values equal `gain`
                      generator:torch.Generator|None=None, # source of randomness; None: a fresh one
                      batch:tuple=(), # leading dimensions, e.g. (N,) for N matrices
                     )->Tensor: # [*batch, n, n]
    "`gain` × a uniformly (Haar) distributed random orthogonal matrix."
    M = torch.randn(*batch, n, n, generator=generator or fresh_generator())
    Q, R = torch.linalg.qr(M)
    return gain * Q * torch.diagonal(R, dim1=-2, dim2=-1).sign().unsqueeze(-2)  # sign fix makes Q Haar


# %%
Q = random_orthogonal(4, 0.5, torch.Generator().manual_seed(0))
Q @ Q.T

# %% [markdown]
# Q·Qᵀ = gain²·I, and every singular value equals the gain, also for a batch of matrices:

# %%
test_close(Q @ Q.T, 0.25 * torch.eye(4), eps=1e-6)
test_close(torch.linalg.svdvals(random_orthogonal(5, 2.0, batch=(3,))), torch.full((3, 5), 2.0), eps=1e-5)


# %% [markdown]
# What the two network classes share: the noise, the choice of scan, and a mask of *silenced units* (all ones
# unless a perturbation sets some to zero, see below). Silencing unit j, i.e. forcing h_j = 0 at every step, is
# the same as removing its outgoing weights (column j of W_rec and of W_out) and reporting h_j as 0: unit j then
# influences nothing. The column form keeps the fast scan untouched.

# %%
#| export
def _check_x(x, n_in, n_nets=1):
    "Clear errors for an input of the wrong kind or shape."
    if not isinstance(x, Tensor): raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    want = "[T, B, n_in]" if n_nets == 1 else "[T, B, n_in] or [T, N, B, n_in]"
    if x.dim() not in ((3,) if n_nets == 1 else (3, 4)):
        raise ValueError(f"x must be {want} (time-major); got shape {tuple(x.shape)}")
    if x.shape[-1] != n_in:
        raise ValueError(f"x has {x.shape[-1]} input channels (last dimension); the network has n_in={n_in}")
    if x.dim() == 4 and x.shape[1] != n_nets:
        raise ValueError(f"x of shape {tuple(x.shape)} is for {x.shape[1]} networks; the model has n_nets={n_nets}")

class _LeakyBase(nn.Module):
    "What LeakyRNN and ModularRNN share: noise, silenced units, and the fast or naive scan."
    weight_names = {}  # "rec", "in", "out" -> parameter name (used by the perturbations)

    def _setup(self, alpha, sigma_rec, activation, rec_gain, seed, fast, mask_shape):
        get_activation(activation)
        self.alpha, self.sigma_rec, self.activation, self.fast = float(alpha), float(sigma_rec), activation, fast
        self.rec_gain = REC_GAIN[activation] if rec_gain is None else rec_gain
        self.seed = fresh_generator().initial_seed() if seed is None else seed
        self.register_buffer("unit_mask", torch.ones(mask_shape))  # 0 = silenced unit
        return torch.Generator().manual_seed(self.seed)

    def _mask(self):
        "The unit mask, shaped to multiply states [..., n] and weight columns."
        return self.unit_mask if self.unit_mask.dim() == 1 else self.unit_mask[:, None, :]

    def _noise(self, shape, like, generator):
        "Recurrent noise η of this network for a drive of `shape`, where and as `like` is."
        return recurrent_noise(shape, self.sigma_rec, self.alpha, generator, like.device, like.dtype)

    def _input_drive(self, x, W, b, generator):
        "W x_t + b + η_t for inputs x [T, B, n_in] through one matrix W [n, n_in]: one fresh tensor [T·B, n], noise included."
        # the noise is drawn into the drive and the input product added in place (a column of ones carries b): two
        # passes over [T, B, n] fewer than adding a separate product and noise, and no bias sum backwards
        T, B = x.shape[:2]
        xb = torch.cat([x.reshape(T * B, -1), x.new_ones(T * B, 1)], 1)
        Wb = torch.cat([W.t(), b[None]])
        return xb @ Wb if self.sigma_rec == 0 else self._noise((T * B, W.shape[0]), x, generator).addmm_(xb, Wb)

    def _run(self, u, W_rec, h0, generator, T=None, readout=None):
        "States h_1 … h_T for a fresh drive u (overwritten), silenced units cut off; noise added unless u is flat (has it)."
        # readout (W_out, b_out) of one network: returns (h, y), the readout folded into the fast scan's backward pass
        if T is None and self.sigma_rec > 0: u = self._noise(u.shape, u, generator).add_(u)
        m, h0 = self._mask(), None if h0 is None else h0 * self._mask()
        if readout is not None and self.fast:
            h, y = _scan_fresh(u, W_rec * m, self.alpha, self.activation, h0, T, readout[0] * m)
            return h, y + readout[1]
        if self.fast: h = _scan_fresh(u, W_rec * m, self.alpha, self.activation, h0, T)
        else: h = leaky_scan_naive(u if T is None else u.view(T, -1, u.shape[-1]), W_rec * m, self.alpha, self.activation, h0)
        return h if readout is None else (h, F.linear(h, readout[0] * m, readout[1]))


# %%
#| export
class LeakyRNN(_LeakyBase):
    "Leaky rate RNN: h_t = (1-α) h_{t-1} + α f(W_rec h_{t-1} + W_in x_t + b + η_t), y_t = W_out h_t + b_out."
    weight_names = {"rec": "W_rec", "in": "W_in", "out": "W_out"}

    def __init__(self,
                 n_in:int, # input channels
                 n_rec:int, # recurrent units
                 n_out:int, # outputs
                 alpha:float=0.2, # α = dt/τ (20 ms / 100 ms)
                 sigma_rec:float=0.05, # recurrent noise level σ_rec (η has std σ_rec·√(2/α))
                 activation:str="relu", # rate function f: "relu", "tanh" or "softplus"
                 n_nets:int=1, # number of independent networks run in one pass
                 rec_gain:float|None=None, # gain of the orthogonal W_rec; None: `REC_GAIN[activation]`
                 out_scale:float=0.1, # W_out ~ N(0, 1/n_rec) × out_scale
                 seed:int|None=None, # seed of the initialisation; None: a fresh one (stored as `.seed`)
                 fast:bool=True, # hand-written BPTT (`leaky_scan`) or the autograd loop (`leaky_scan_naive`)
                ):
        super().__init__()
        for name, v in dict(n_in=n_in, n_rec=n_rec, n_out=n_out, n_nets=n_nets).items():
            check_int(name, v)
        self.n_in, self.n_rec, self.n_out, self.n_nets = n_in, n_rec, n_out, n_nets
        N = () if n_nets == 1 else (n_nets,)
        g = self._setup(alpha, sigma_rec, activation, rec_gain, seed, fast, (*N, n_rec))
        self.W_in = nn.Parameter(torch.randn(*N, n_rec, n_in, generator=g) / math.sqrt(n_in))
        self.W_rec = nn.Parameter(random_orthogonal(n_rec, self.rec_gain, g, N))
        self.b = nn.Parameter(torch.zeros(*N, n_rec))
        self.W_out = nn.Parameter(torch.randn(*N, n_out, n_rec, generator=g) * (out_scale / math.sqrt(n_rec)))
        self.b_out = nn.Parameter(torch.zeros(*N, n_out))

    def forward(self,
                x:Tensor, # inputs [T, B, n_in] (or [T, N, B, n_in] for n_nets=N)
                h0:Tensor|None=None, # initial state, broadcastable to [B, n_rec]; None: zeros
                generator:torch.Generator|None=None, # source of the recurrent noise; None: a fresh one
                return_hidden:bool=False, # also return the states h
               ): # y [T, B, n_out] (and h [T, B, n_rec]); with N networks [T, N, B, ...]
        _check_x(x, self.n_in, self.n_nets)
        if self.n_nets == 1:
            u = self._input_drive(x, self.W_in, self.b, generator)
            h, y = self._run(u, self.W_rec, h0, generator, len(x), (self.W_out, self.b_out))
        else:
            u = torch.einsum("tbi,kni->tkbn" if x.dim() == 3 else "tkbi,kni->tkbn", x, self.W_in) + self.b[:, None]
            h = self._run(u, self.W_rec, h0, generator)
            y = torch.matmul(h, (self.W_out * self._mask()).transpose(-1, -2)) + self.b_out[:, None]
        return (y, h * self._mask()) if return_hidden else y

    def extra_repr(self):
        return (f"n_in={self.n_in}, n_rec={self.n_rec}, n_out={self.n_out}, n_nets={self.n_nets}, alpha={self.alpha}, "
                f"sigma_rec={self.sigma_rec}, activation={self.activation!r}, seed={self.seed}, fast={self.fast}")


# %% [markdown]
# The reference network: 256 ReLU units reading 5 input channels, writing 3 outputs. Noise comes from the generator
# given to `forward`, so a run is reproducible from two seeds (initialisation and noise):

# %%
net = LeakyRNN(5, 256, 3, seed=0).to(device)
x = torch.randn(150, 64, 5, generator=torch.Generator().manual_seed(1)).to(device)
y, h = net(x, generator=torch.Generator(device).manual_seed(2), return_hidden=True)
net, y.shape, h.shape


# %%
#| hide
def state(model):
    "A model's buffers and parameters as a list fastcore's `test_eq` can compare."
    return [(k, v.cpu()) for k, v in model.state_dict().items()]


# %%
test_eq(y.shape, (150, 64, 3)); test_eq(h.shape, (150, 64, 256))
assert (h >= 0).all()  # ReLU rates
test_eq(state(LeakyRNN(5, 256, 3, seed=0)), state(LeakyRNN(5, 256, 3, seed=0)))  # same seed, same init
test_differ(LeakyRNN(5, 256, 3, seed=0).W_rec, LeakyRNN(5, 256, 3, seed=1).W_rec)
test_same(net(x, generator=torch.Generator(device).manual_seed(2)), y)  # same noise seed, same output
test_differ(net(x), y)                                                 # fresh noise differs
test_close(torch.linalg.svdvals(net.W_rec.detach()), 0.5 * torch.ones(256, device=device), eps=1e-4)

# %% [markdown]
# The global random state is never read, and wrong inputs are refused with a message saying what is expected:

# %%
torch.manual_seed(0); a = net(x, generator=torch.Generator(device).manual_seed(2))
torch.manual_seed(1); b = net(x, generator=torch.Generator(device).manual_seed(2))
test_same(a, b)
test_fail(lambda: net(x[..., :4]), contains="the network has n_in=5")
test_fail(lambda: net(x[0]), contains="x must be [T, B, n_in]")
test_fail(lambda: net([[[0.0] * 5]]), contains="must be a torch.Tensor")
test_fail(lambda: LeakyRNN(5, 256, 3, activation="gelu"), contains="allowed: relu, tanh, softplus")
test_fail(lambda: LeakyRNN(5, 0, 3), contains="n_rec must be an integer >= 1")


# %% [markdown]
# The fast and the naive path give the same outputs and the same gradients for every parameter (checked in
# float64, with noise from the same seed and a given initial state):

# %%
#| hide
def param_grads(model, *args, **kwargs):
    "Output and gradients of all parameters for a random projection of the output."
    model.zero_grad()
    y = model(*args, generator=torch.Generator().manual_seed(7), **kwargs)
    if isinstance(y, tuple): y = torch.cat([o.flatten() for o in y])  # outputs and states: a loss on both
    (y * torch.randn(y.shape, generator=torch.Generator().manual_seed(8), dtype=y.dtype).to(y.device)).sum().backward()
    return y, {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}

def check_fast_vs_naive(model, *args, **kwargs):
    "Fast and naive path agree on outputs and all parameter gradients."
    model.fast = True;  y1, g1 = param_grads(model, *args, **kwargs)
    model.fast = False; y2, g2 = param_grads(model, *args, **kwargs)
    model.fast = True
    test_close(y1, y2, eps=1e-10); test_eq(g1.keys(), g2.keys())
    for k in g1: test_close(g1[k], g2[k], eps=1e-10)
    return g1


# %%
xs = torch.randn(20, 4, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
for act in ACTIVATIONS:
    check_fast_vs_naive(LeakyRNN(5, 16, 3, activation=act, seed=0).double(), xs, h0=0.1 * torch.ones(16, dtype=torch.float64))
check_fast_vs_naive(LeakyRNN(5, 16, 3, seed=0).double(), xs, return_hidden=True)  # a loss on the states as well
grads = check_fast_vs_naive(LeakyRNN(5, 16, 3, n_nets=3, seed=0).double(), xs)
list(grads)

# %% [markdown]
# Three independent networks in one pass are exactly three networks: network k of a batch equals a single
# network with the same weights. The batched form is meant for GPUs, where the N small products of a step become
# one kernel. On a CPU it is no faster than N separate passes (nine reference networks: about 0.6–0.8 s per
# training step, against 0.55 s for nine single passes, measured once on this project's two-core machine), so there a
# loop over networks is just as good.

# %%
nets = LeakyRNN(5, 16, 3, n_nets=3, sigma_rec=0, seed=0)
single = LeakyRNN(5, 16, 3, sigma_rec=0, seed=0)
single.load_state_dict({k: v[1] for k, v in nets.state_dict().items()})
test_close(nets(xs.float())[:, 1], single(xs.float()), eps=1e-6)
test_eq(nets(xs.float()).shape, (20, 3, 4, 3))
test_close(nets(xs.float()[:, None].expand(20, 3, 4, 5)), nets(xs.float()), eps=1e-6)  # per-network inputs: another code path, so a tolerance
test_fail(lambda: nets(xs.float()[:, None].expand(20, 2, 4, 5)), contains="n_nets=3")


# %% [markdown]
# ## A modular network
#
# MoLaP's network is the same leaky cell, but its recurrent matrix J is built from blocks: the diagonal blocks
# J_ii are the modules M1, M2, M3; the off-diagonal blocks J_ij connect module j to module i. Each task T gets its
# own input weights I_T and output weights O_T (and, our choice, its own biases b_T and b_out,T):
#
# $$h_t = (1-\alpha)\,h_{t-1} + \alpha\, f\big(J\, h_{t-1} + I_T\, x_t + b_T + \eta_t\big), \qquad
#   y_t = O_T\, h_t + b_{out,T}$$
#
# In the paper's figures the modules are plastic during pre-training and the inter-module weights are drawn but
# *aplastic* (never trained). The scale of those fixed weights is not given; we draw them N(0, g²/n) with
# g = `inter_scale` = 0.1 (our choice: weak coupling, spectral radius ≈ 0.1 against the modules' 0.5), with
# `inter="zero"` as the option of fully separate modules. The default sizes (86, 85, 85) make the 256 units of the
# baselines.
#
# A boolean `plasticity` mask [n, n] says which entries of J train (`plastic="modules"`: the diagonal blocks;
# `"all"`, `"none"` or a custom mask). It acts on the gradient: the forward pass uses
# `torch.where(plasticity, J, J.detach())`, which has J's value but lets the gradient through only where the mask
# is true. This keeps `J` one ordinary parameter (the matrix the paper calls J), works with the fast scan and with
# any device, and needs no hooks. One caveat: an optimiser's *built-in* weight decay (`weight_decay=` of SGD or
# AdamW) acts outside the gradient and would still shrink the fixed entries, so put an L2 penalty on J in the loss
# instead, or give J no weight decay. For the MoLaP stage, `freeze_J()` freezes J entirely.
#
# Several tasks share J in one batched pass: `task` is either one index for the whole batch or an integer tensor
# [B] with each trial's task, and each trial picks its own I_T and O_T.

# %%
#| export
def _check_sizes(module_sizes):
    "Module sizes as a tuple of positive ints, or a clear error."
    sizes = tuple(module_sizes) if isinstance(module_sizes, (list, tuple)) else None
    if not sizes or not all(isinstance(s, int) and s > 0 for s in sizes):
        raise ValueError(f"module_sizes must be a non-empty sequence of positive ints; got {module_sizes!r}")
    return sizes

def block_mask(module_sizes:tuple, # units per module
              )->Tensor: # bool [n, n], True on the diagonal blocks
    "Boolean mask of the diagonal (within-module) blocks of an [n, n] matrix."
    sizes = _check_sizes(module_sizes)
    labels = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return labels[:, None] == labels[None, :]


# %%
block_mask((2, 1)).int()

# %% [markdown]
# Two modules of 2 and 1 units: the mask is the two diagonal blocks. A module of 0 units is a mistake:

# %%
test_eq(block_mask((2, 1)), torch.tensor([[1, 1, 0], [1, 1, 0], [0, 0, 1]]).bool())
test_fail(lambda: block_mask((86, 0, 85)), contains="positive ints")


# %%
#| export
class ModularRNN(_LeakyBase):
    "Leaky RNN with block-structured recurrent weights J (modules on the diagonal) and task-specific I_T, O_T."
    weight_names = {"rec": "J", "in": "I_T", "out": "O_T"}

    def __init__(self,
                 n_in:int, # input channels (shared by all tasks)
                 module_sizes:tuple=(86, 85, 85), # units per module; n = their sum
                 n_out:int=3, # outputs
                 n_tasks:int=9, # number of tasks, each with its own I_T, b_T, O_T, b_out
                 alpha:float=0.2, # α = dt/τ
                 sigma_rec:float=0.05, # recurrent noise level σ_rec
                 activation:str="relu", # rate function f: "relu", "tanh" or "softplus"
                 inter:str="random", # inter-module blocks: "random" (fixed N(0, inter_scale²/n)) or "zero"
                 inter_scale:float=0.1, # g of the inter-module blocks
                 plastic="modules", # which entries of J train: "modules", "all", "none" or a bool mask [n, n]
                 rec_gain:float|None=None, # gain of each module's orthogonal block; None: `REC_GAIN[activation]`
                 out_scale:float=0.1, # O_T ~ N(0, 1/n) × out_scale
                 seed:int|None=None, # seed of the initialisation; None: a fresh one (stored as `.seed`)
                 fast:bool=True, # hand-written BPTT or the autograd loop
                ):
        super().__init__()
        self.module_sizes = _check_sizes(module_sizes)
        for name, v in dict(n_in=n_in, n_out=n_out, n_tasks=n_tasks).items():
            check_int(name, v)
        if inter not in ("random", "zero"): raise ValueError(f"inter must be 'random' or 'zero'; got {inter!r}")
        n = sum(self.module_sizes)
        self.n_in, self.n_rec, self.n_out, self.n_tasks, self.inter = n_in, n, n_out, n_tasks, inter
        edges = [0, *torch.tensor(self.module_sizes).cumsum(0).tolist()]
        self.module_slices = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]
        g = self._setup(alpha, sigma_rec, activation, rec_gain, seed, fast, (n,))
        J = torch.randn(n, n, generator=g) * (inter_scale / math.sqrt(n)) if inter == "random" else torch.zeros(n, n)
        for s, size in zip(self.module_slices, self.module_sizes): J[s, s] = random_orthogonal(size, self.rec_gain, g)
        self.J = nn.Parameter(J)
        self.I_T = nn.Parameter(torch.randn(n_tasks, n, n_in, generator=g) / math.sqrt(n_in))
        self.b_T = nn.Parameter(torch.zeros(n_tasks, n))
        self.O_T = nn.Parameter(torch.randn(n_tasks, n_out, n, generator=g) * (out_scale / math.sqrt(n)))
        self.b_out = nn.Parameter(torch.zeros(n_tasks, n_out))
        self.register_buffer("plasticity", self._plasticity(plastic))

    def _plasticity(self, plastic):
        "The bool mask of trainable entries of J for a `plastic` option."
        n = self.n_rec
        if isinstance(plastic, Tensor):
            if plastic.dtype != torch.bool or plastic.shape != (n, n):
                raise ValueError(f"a custom plastic mask must be a bool tensor [{n}, {n}]; got {plastic.dtype} {tuple(plastic.shape)}")
            return plastic.clone()
        masks = {"modules": lambda: block_mask(self.module_sizes), "all": lambda: torch.ones(n, n, dtype=torch.bool),
                 "none": lambda: torch.zeros(n, n, dtype=torch.bool)}
        if plastic not in masks: raise ValueError(f"plastic must be 'modules', 'all', 'none' or a bool mask; got {plastic!r}")
        return masks[plastic]()

    def module_units(self, i:int)->Tensor:
        "Indices of the units of module `i`."
        if not 0 <= i < len(self.module_sizes): raise ValueError(f"module {i} out of range: the network has {len(self.module_sizes)} modules")
        s = self.module_slices[i]
        return torch.arange(s.start, s.stop)

    def freeze_J(self, frozen:bool=True):
        "Freeze (or unfreeze) J for the MoLaP stage; returns the model."
        self.J.requires_grad_(not frozen)
        return self

    def _check_task(self, task, B):
        "`task` as an int or an index tensor [B] on the model's device, or a clear error; a name is looked up in `self.tasks`."
        if isinstance(task, str):
            names = list(getattr(self, "tasks", None) or [])
            if task not in names:
                raise ValueError(f"unknown task {task!r} for this network; its tasks: {', '.join(names)}" if names else
                                 f"this network has no task names (set by `molap_network`); pass a task index 0 … {self.n_tasks - 1}")
            return names.index(task)
        if isinstance(task, Tensor):
            if task.dtype.is_floating_point or task.dtype.is_complex or task.dtype == torch.bool:
                raise TypeError(f"task must hold integer task indices; got dtype {task.dtype}")
            if task.dim() == 0: task = int(task)
            elif task.shape != (B,): raise ValueError(f"task must be an int or a tensor [B] = [{B}]; got shape {tuple(task.shape)}")
        else:
            try: task = operator.index(task)
            except TypeError: raise TypeError(f"task must be an int or an integer tensor [B]; got {type(task).__name__}") from None
        lo, hi = (task, task) if isinstance(task, int) else (int(task.min()), int(task.max()))
        if lo < 0 or hi >= self.n_tasks:
            raise ValueError(f"task index out of range: got {lo if lo < 0 else hi}, allowed 0 … {self.n_tasks - 1}")
        return task if isinstance(task, int) else task.to(self.J.device)

    def forward(self,
                x:Tensor, # inputs [T, B, n_in]
                task, # which task's I_T, O_T: its index (int, or an int tensor [B], one per trial) or its name
                h0:Tensor|None=None, # initial state, broadcastable to [B, n]; None: zeros
                generator:torch.Generator|None=None, # source of the recurrent noise; None: a fresh one
                return_hidden:bool=False, # also return the states h
               ): # y [T, B, n_out] (and h [T, B, n])
        "Run the modules on inputs `x` through task `task`'s input and output weights (J shared by every task)."
        _check_x(x, self.n_in)
        task = self._check_task(task, x.shape[1])
        J = torch.where(self.plasticity, self.J, self.J.detach()) if self.J.requires_grad else self.J
        if isinstance(task, Tensor) and bool((task == task[0]).all()): task = int(task[0])  # one task: the int path
        if isinstance(task, int):
            u = self._input_drive(x, self.I_T[task], self.b_T[task], generator)
            h, y = self._run(u, J, h0, generator, len(x), (self.O_T[task], self.b_out[task]))
        else: h, y = self._run_tasks(x, task, J, h0, generator)
        return (y, h * self.unit_mask) if return_hidden else y

    def _run_tasks(self, x, task, J, h0, generator):
        "(h, y) for trials of several tasks, `task` [B]: each task's I_T on its own trials, and every present task's O_T in the scan."
        # per trial gathered I_T and O_T ([B, n, n_in], [B, n_out, n]) cost thin batched products and their copies (about
        # a fifth of MoLaP's task-stage step, profiled); instead one product per task for the drive, and the readouts of the K
        # tasks present stacked into one [K·n_out, n] readout folded into the scan, each trial then keeping its own
        T, B = x.shape[:2]
        present = task.unique()                                 # sorted
        rows = torch.arange(T, device=x.device)[:, None] * B    # trial b at step t is row t·B + b of the flat drive
        u = x.new_zeros(T * B, self.n_rec) if self.sigma_rec == 0 else self._noise((T * B, self.n_rec), x, generator)
        for k in present.tolist():
            b = (task == k).nonzero().squeeze(1)
            Wb = torch.cat([self.I_T[k].t(), self.b_T[k][None]])  # [n_in + 1, n] row-major: the fast gradient product
            xb = torch.cat([x[:, b], x.new_ones(T, len(b), 1)], 2).view(-1, self.n_in + 1)
            u.index_add_(0, (rows + b).flatten(), xb @ Wb)
        h, Y = self._run(u, J, h0, generator, T, (self.O_T[present].flatten(0, 1), self.b_out[present].flatten()))
        y = Y.view(T, B, len(present), self.n_out)[:, torch.arange(B, device=x.device), torch.searchsorted(present, task)]
        return h, y

    def extra_repr(self):
        return (f"n_in={self.n_in}, module_sizes={self.module_sizes}, n_out={self.n_out}, n_tasks={self.n_tasks}, "
                f"inter={self.inter!r}, activation={self.activation!r}, seed={self.seed}, fast={self.fast}")


# %% [markdown]
# A picture of J shows the structure: three orthogonal modules on the diagonal, weak fixed coupling elsewhere, and
# the plasticity mask of the pre-training stage.

# %%
#| export
def plot_J(model:ModularRNN, # the network to show
           figsize=(9, 4), # figure size
          ): # the matplotlib figure
    "J with its module blocks, next to its plasticity mask (dark: trained)."
    J, mask = model.J.detach().float().cpu(), model.plasticity.cpu().numpy()
    fig, axs = plt.subplots(1, 2, figsize=figsize, constrained_layout=True)
    v = J.abs().quantile(0.99).item()
    im = axs[0].imshow(J.numpy(), cmap=plt.get_cmap("RdBu_r", 11), vmin=-v, vmax=v, interpolation="nearest")  # 11 flat levels: a light figure
    fig.colorbar(im, ax=axs[0], shrink=0.8)
    axs[1].imshow(mask, cmap="Greys", vmin=0, vmax=1.5)
    for ax, title in zip(axs, ("recurrent weights J", "plasticity mask (trained = dark)")):
        for s in model.module_slices[1:]:
            ax.axhline(s.start - 0.5, color="k", lw=0.6); ax.axvline(s.start - 0.5, color="k", lw=0.6)
        ax.set(title=title, xlabel="from unit", ylabel="to unit")
    for i, s in enumerate(model.module_slices):
        axs[1].text((s.start + s.stop) / 2, (s.start + s.stop) / 2, f"M{i + 1}", ha="center", va="center", color="w")
    return fig


# %%
mod = ModularRNN(5, seed=0).to(device)
plot_J(mod);

# %%
mod

# %% [markdown]
# The shapes follow the paper's notation: one J of 256 × 256, and per task an I_T of 256 × 5 and an O_T of 3 × 256.
# Only the diagonal blocks are plastic by default, and each module starts as 0.5 × a random orthogonal matrix:

# %%
test_eq(mod.J.shape, (256, 256)); test_eq(mod.I_T.shape, (9, 256, 5)); test_eq(mod.O_T.shape, (9, 3, 256))
test_eq(mod.plasticity.sum().item(), 86**2 + 85**2 + 85**2)
for s in mod.module_slices:
    test_close(torch.linalg.svdvals(mod.J.detach()[s, s]), 0.5 * torch.ones(s.stop - s.start, device=device), eps=1e-4)
test_close(mod.J.detach()[~mod.plasticity].std(), 0.1 / 16, eps=1e-3)           # inter-module: N(0, 0.1²/256)
test_eq(ModularRNN(5, inter="zero", seed=0).J[~block_mask((86, 85, 85))].abs().max().item(), 0)
test_eq(state(ModularRNN(5, seed=3)), state(ModularRNN(5, seed=3)))  # same seed, same init

# %% [markdown]
# One pass runs a batch that mixes tasks. Each trial's output is what the network gives when that trial's task is
# run alone:

# %%
task = torch.arange(64, device=device) % 9
xm = torch.randn(150, 64, 5, generator=torch.Generator().manual_seed(1)).to(device)
y = mod(xm, task, generator=torch.Generator(device).manual_seed(2))
y.shape

# %%
quiet = ModularRNN(5, module_sizes=(6, 5, 5), n_tasks=4, sigma_rec=0, seed=0)
xq = torch.randn(10, 8, 5, generator=torch.Generator().manual_seed(0))
tq = torch.tensor([0, 1, 2, 3, 3, 2, 1, 0])
yq = quiet(xq, tq)
for b in range(8): test_close(yq[:, b], quiet(xq[:, b:b+1], int(tq[b]))[:, 0], eps=1e-6)
test_close(quiet(xq, 2), quiet(xq, torch.full((8,), 2)), eps=1e-6)  # shared vs gathered weights: different products, equal up to rounding
test_same(quiet(xq, torch.tensor(2)), quiet(xq, 2))
test_fail(lambda: quiet(xq, 4), contains="allowed 0 … 3")
test_fail(lambda: quiet(xq, torch.tensor([0, 1, 2, 3, 4, 0, 0, 0])), contains="out of range")
test_fail(lambda: quiet(xq, tq.float()), contains="integer task indices")
test_fail(lambda: quiet(xq, tq[:3]), contains="tensor [B] = [8]")
test_fail(lambda: quiet(xq, "MemPro"), contains="no task names")
quiet.tasks = ["DelayPro", "DelayAnti", "MemPro", "MemAnti"]  # names, as `molap_network` sets them
test_same(quiet(xq, "MemPro", generator=torch.Generator().manual_seed(1)), quiet(xq, 2, generator=torch.Generator().manual_seed(1)))
test_fail(lambda: quiet(xq, "MemDm1"), contains="its tasks: DelayPro, DelayAnti, MemPro, MemAnti")
test_fail(lambda: quiet(xq[..., :2], 0), contains="n_in=5")
test_fail(lambda: ModularRNN(5, module_sizes=(86, -1)), contains="positive ints")
test_fail(lambda: ModularRNN(5, module_sizes=()), contains="positive ints")
test_fail(lambda: ModularRNN(5, inter="dense"), contains="'random' or 'zero'")
test_fail(lambda: ModularRNN(5, plastic="blocks"), contains="'modules', 'all', 'none'")


# %% [markdown]
# How a mixed batch runs fast: each task's I_T is one product over that task's trials, and the O_T of the tasks present
# are stacked into one readout that the scan folds into its backward pass (each trial then keeps its own task's rows).
# Gathering each trial's weights instead (the plain formula below) costs thin batched products and copies of
# [B, n, n_in] and [B, n_out, n]; `python benchmarks/bench_task_stage.py` times the two on a step of MoLaP's task
# stage. The plain formula is the reference, gradients included (float64):

# %%
def gathered(model, x, task, generator):
    "y and h of a mixed batch with each trial's I_T, b_T, O_T, b_out gathered: the plain formula, autograd throughout."
    J = torch.where(model.plasticity, model.J, model.J.detach()) if model.J.requires_grad else model.J
    h = model._run(torch.einsum("tbi,bni->tbn", x, model.I_T[task]) + model.b_T[task], J, None, generator)
    return torch.einsum("tbn,bon->tbo", h, model.O_T[task] * model.unit_mask) + model.b_out[task], h

xd = xq.double()
for plastic in ("modules", "none"):
    ref = ModularRNN(5, (6, 5, 5), n_tasks=5, plastic=plastic, seed=0).double()
    with torch.no_grad(): ref.b_T.normal_(generator=torch.Generator().manual_seed(4)); ref.b_out.normal_(generator=torch.Generator().manual_seed(5))
    grads = []
    for run in (lambda g: ref(xd, tq, generator=g, return_hidden=True), lambda g: gathered(ref, xd, tq, g)):
        ref.zero_grad(set_to_none=True)
        y, h = run(torch.Generator().manual_seed(3))
        (y.square().sum() + h.sin().sum()).backward()       # a loss on outputs and states
        grads.append((y.detach(), {k: p.grad for k, p in ref.named_parameters() if p.grad is not None}))
    (y1, g1), (y2, g2) = grads
    test_close(y1, y2, eps=1e-12); test_eq(sorted(g1), sorted(g2))
    for k in g1: test_close(g1[k], g2[k], eps=1e-10)
    test_eq(g1["O_T"][4].abs().max().item(), 0)              # task 4 is not in the batch: no gradient

# %% [markdown]
# Under the plasticity mask, J's gradient is autograd's gradient where the mask is true and exactly zero elsewhere
# (and the fast and naive path agree on every parameter). The reference gradient comes from the same network with
# every entry plastic:

# %%
g_mod = check_fast_vs_naive(ModularRNN(5, (6, 5, 5), n_tasks=4, seed=0).double(), xd, tq)
g_all = check_fast_vs_naive(ModularRNN(5, (6, 5, 5), n_tasks=4, plastic="all", seed=0).double(), xd, tq)
check_fast_vs_naive(ModularRNN(5, (6, 5, 5), n_tasks=4, seed=0).double(), xd, 1)  # one task for all trials: the fused readout
mask = block_mask((6, 5, 5))
test_eq(g_mod["J"][~mask].abs().max().item(), 0)
test_close(g_mod["J"][mask], g_all["J"][mask], eps=1e-12)
test_ne(g_all["J"][~mask].abs().max().item(), 0)
custom = torch.zeros(16, 16, dtype=torch.bool); custom[0, 1] = True
test_eq(check_fast_vs_naive(ModularRNN(5, (6, 5, 5), n_tasks=4, plastic=custom, seed=0).double(), xd, tq)["J"].count_nonzero().item(), 1)
sorted(g_mod)

# %% [markdown]
# Frozen, J gets no gradient at all, while the task weights still train:

# %%
frozen = ModularRNN(5, (6, 5, 5), n_tasks=4, seed=0).freeze_J()
frozen(xq, tq).sum().backward()
test_is(frozen.J.grad, None)
assert frozen.I_T.grad is not None and frozen.O_T.grad is not None
assert (frozen.I_T.grad.flatten(1).abs().sum(1) > 0).all()  # every task of the batch gets a gradient
test_eq(sorted(check_fast_vs_naive(frozen.double(), xd, 2)), ["I_T", "O_T", "b_T", "b_out"])  # one task: fast and naive agree


# %% [markdown]
# ## Counting parameters
#
# MoLaP's cost claim is about *trained* parameters, so the counter knows about the plasticity mask: a partly
# plastic J counts only its plastic entries.

# %%
#| export
def count_parameters(model:nn.Module, # any module; ModularRNN's plasticity mask is honoured
                     trainable_only:bool=True, # count only what trains (requires_grad, plastic entries)
                    )->int:
    "Number of (trainable) parameters of `model`."
    n = 0
    for m in model.modules():
        masks = {"J": m.plasticity} if isinstance(m, ModularRNN) else {}
        for name, p in m.named_parameters(recurse=False):
            if trainable_only and not p.requires_grad: continue
            n += int(masks[name].sum()) if trainable_only and name in masks else p.numel()
    return n


# %%
counts = {"LeakyRNN": count_parameters(LeakyRNN(5, 256, 3, seed=0)),
          "ModularRNN, pre-training (modules plastic)": count_parameters(ModularRNN(5, seed=0)),
          "ModularRNN, MoLaP stage (J frozen)": count_parameters(ModularRNN(5, seed=0).freeze_J()),
          "ModularRNN, all": count_parameters(ModularRNN(5, seed=0), trainable_only=False)}
counts

# %% [markdown]
# The counts, written out: W_in, W_rec, b, W_out, b_out for one network; nine sets of I_T, b_T, O_T, b_out when J is
# frozen; and the frozen off-diagonal blocks are the difference between all parameters and the plastic ones.

# %%
test_eq(counts["LeakyRNN"], 256 * 5 + 256 * 256 + 256 + 3 * 256 + 3)
test_eq(counts["ModularRNN, MoLaP stage (J frozen)"], 9 * (256 * 5 + 256 + 3 * 256 + 3))
test_eq(counts["ModularRNN, all"] - counts["ModularRNN, pre-training (modules plastic)"], 256**2 - (86**2 + 2 * 85**2))
test_eq(count_parameters(nn.Sequential(LeakyRNN(2, 4, 1, seed=0))), 2 * 4 + 16 + 4 + 4 + 1)


# %% [markdown]
# Per task, the MoLaP stage trains 2,307 parameters (I_T, b_T, O_T and b_out,T of that task), about 29× fewer than
# the 67,843 of one separate network.
#
# ## Perturbations
#
# The robustness study perturbs trained networks and measures how much performance survives. Each perturbation
# returns a perturbed **copy** and leaves the original untouched, so one trained model serves a whole sweep.
#
# - `silence_units`: lesion units, their activity forced to 0 at every step (e.g. a whole module);
# - `perturb_weights`: add Gaussian noise N(0, std²) to the recurrent, input or output weights, or to one module
#   block J_ij of a modular network; `std` is absolute (compare it with the weights' own scale, e.g. 0.5/√n for
#   the entries of a 0.5-gain orthogonal matrix), or with `relative=True` a multiple of each matrix's own root mean
#   square (per network of a batched model, per task's I_T or O_T), so that one number means the same everywhere;
# - `scale_noise`: multiply the recurrent noise level σ_rec (extra input noise belongs to the task generator).

# %%
#| export
def silence_units(model:nn.Module, # a LeakyRNN or ModularRNN (with N networks: the same units in each)
                  units, # unit indices (list, range or int tensor) or a bool mask [n_rec]
                 )->nn.Module: # a silenced copy
    "A copy of `model` whose `units` have activity 0 at every step."
    idx = torch.as_tensor(units)
    if idx.dtype == torch.bool: idx = idx.nonzero().flatten()
    idx = idx.long().flatten()
    if len(idx) and (idx.min() < 0 or idx.max() >= model.n_rec):
        raise ValueError(f"units must be in 0 … {model.n_rec - 1}; got {idx.min().item()} … {idx.max().item()}")
    new = copy.deepcopy(model)
    new.unit_mask[..., idx.to(new.unit_mask.device)] = 0
    return new

def _weight_view(model, block):
    "The weight tensor (or module block of J) that `block` names."
    if isinstance(block, (tuple, list)):
        if not isinstance(model, ModularRNN): raise ValueError("module blocks (i, j) exist only in a ModularRNN")
        k = len(model.module_slices)
        if len(block) != 2 or not all(isinstance(i, int) and 0 <= i < k for i in block):
            raise ValueError(f"a module block is a pair (i, j) with i, j in 0 … {k - 1}; got {block!r}")
        return model.J[model.module_slices[block[0]], model.module_slices[block[1]]]
    if block not in model.weight_names:
        raise ValueError(f"block must be 'rec', 'in', 'out' or a module pair (i, j); got {block!r}")
    return getattr(model, model.weight_names[block])

def perturb_weights(model:nn.Module, # a LeakyRNN or ModularRNN
                    block="rec", # "rec", "in", "out", or a module pair (i, j): block J_ij of a ModularRNN
                    std:float=0.1, # standard deviation of the added noise (absolute, or relative: see below)
                    generator:torch.Generator|None=None, # source of randomness; None: a fresh one
                    relative:bool=False, # std in units of each matrix's root mean square (last two dimensions)
                   )->nn.Module: # a perturbed copy
    "A copy of `model` with Gaussian noise N(0, std²) (× each matrix's rms if `relative`) added to one group of weights."
    if std < 0: raise ValueError(f"std must be >= 0; got {std}")
    new = copy.deepcopy(model)
    W = _weight_view(new, block)
    if generator is None: generator = fresh_generator(W.device)
    noise = torch.randn(W.shape, generator=generator, device=generator.device, dtype=W.dtype).to(W.device)
    if relative: noise *= W.detach().pow(2).mean((-2, -1), keepdim=True).sqrt()
    with torch.no_grad(): W.add_(noise, alpha=std)
    return new

def scale_noise(model:nn.Module, # a LeakyRNN or ModularRNN
                recurrent:float=1.0, # factor on the recurrent noise level σ_rec
               )->nn.Module: # a copy with σ_rec × recurrent
    "A copy of `model` with its recurrent noise scaled by `recurrent`."
    if recurrent < 0: raise ValueError(f"the noise factor must be >= 0; got {recurrent}")
    new = copy.deepcopy(model)
    new.sigma_rec = model.sigma_rec * recurrent
    return new


# %% [markdown]
# Silencing module M2 of the modular network: its units fall silent, the others keep running.

# %%
before = [(k, v.clone()) for k, v in state(mod)]
lesioned = silence_units(mod, mod.module_units(1))
with torch.no_grad():
    _, h_les = lesioned(xm, task, generator=torch.Generator(device).manual_seed(2), return_hidden=True)
    _, h_mod = mod(xm, task, generator=torch.Generator(device).manual_seed(2), return_hidden=True)
fig, axs = plt.subplots(1, 2, figsize=(9, 3), sharey=True, constrained_layout=True)
for ax, hh, title in zip(axs, (h_mod, h_les), ("intact", "M2 silenced")):
    ax.imshow(hh[:, 0].T.cpu().numpy(), aspect="auto", cmap=plt.get_cmap("viridis", 12), interpolation="nearest")
    ax.set(title=title, xlabel="time step", ylabel="unit")
    for s in mod.module_slices[1:]: ax.axhline(s.start - 0.5, color="w", lw=0.6)

# %%
test_eq(h_les[..., mod.module_slices[1]].abs().max().item(), 0)
assert h_les[..., mod.module_slices[0]].abs().max() > 0
test_eq(state(mod), before)                                           # the original is untouched
test_eq(mod.unit_mask.sum().item(), 256)
test_fail(lambda: silence_units(mod, [300]), contains="units must be in 0 … 255")


# %% [markdown]
# Silencing by masks is exact: it matches a loop that sets the lesioned units to zero after every step.

# %%
#| hide
def forced_zero_reference(model, x, units):
    "States and outputs of a LeakyRNN (no noise) whose `units` are set to 0 after every step."
    keep = torch.ones(model.n_rec); keep[units] = 0
    f, h, hs = get_activation(model.activation), torch.zeros(x.shape[1], model.n_rec), []
    for t in range(x.shape[0]):
        h = keep * ((1 - model.alpha) * h + model.alpha * f(h @ model.W_rec.T + x[t] @ model.W_in.T + model.b))
        hs.append(h)
    H = torch.stack(hs)
    return H @ model.W_out.T + model.b_out, H


# %%
small = LeakyRNN(5, 16, 3, sigma_rec=0, seed=0)
with torch.no_grad():
    y_ref, h_ref = forced_zero_reference(small, xq, [2, 3, 11])
    y_sil, h_sil = silence_units(small, [2, 3, 11])(xq, return_hidden=True)
test_close(y_sil, y_ref, eps=1e-6); test_close(h_sil, h_ref, eps=1e-6)
test_eq(silence_units(small, torch.arange(16) < 2).unit_mask[:3], torch.tensor([0., 0., 1.]))
test_eq(silence_units(LeakyRNN(5, 16, 3, n_nets=2, seed=0), [1]).unit_mask[:, 1], torch.zeros(2))

# %% [markdown]
# Weight noise goes exactly where it is asked for; the same generator seed gives the same perturbation:

# %%
g = lambda: torch.Generator(device).manual_seed(0)
p12 = perturb_weights(mod, (0, 1), std=0.05, generator=g())
dJ = (p12.J - mod.J).detach()
dJ[mod.module_slices[0], mod.module_slices[1]].std(), dJ.count_nonzero().item()

# %%
test_eq(dJ.count_nonzero().item(), 86 * 85)
test_close(dJ[mod.module_slices[0], mod.module_slices[1]].std(), 0.05, eps=5e-3)
test_same(perturb_weights(mod, "out", 0.1, g()).O_T, perturb_weights(mod, "out", 0.1, g()).O_T)
test_same(perturb_weights(mod, "in", 0.1, g()).O_T, mod.O_T)                 # only I_T changes
test_differ(perturb_weights(small, "rec", 0.1).W_rec, small.W_rec)
test_eq(state(mod), before)                                            # the original is untouched
test_fail(lambda: perturb_weights(small, (0, 1), 0.1), contains="only in a ModularRNN")
test_fail(lambda: perturb_weights(mod, (0, 3), 0.1), contains="i, j in 0 … 2")
test_eq(perturb_weights(mod, [2, 2], 0.1).J.ne(mod.J).sum().item(), 85 * 85)
test_fail(lambda: perturb_weights(mod, "bias", 0.1), contains="'rec', 'in', 'out'")

# %% [markdown]
# Relative noise scales with each matrix: every task's I_T gets noise in proportion to its own size.

# %%
rel = (perturb_weights(mod, "in", 0.5, g(), relative=True).I_T - mod.I_T).detach()
rms = mod.I_T.detach().pow(2).mean((-2, -1)).sqrt()
test_close(rel.std((-2, -1)) / rms, torch.full_like(rms, 0.5), eps=0.1)
test_same(perturb_weights(mod, "in", 0., g(), relative=True).I_T, mod.I_T)

# %% [markdown]
# `scale_noise` returns a copy with σ_rec multiplied; a network without noise stays without noise, and a negative
# factor is refused:

# %%
noisier = scale_noise(mod, recurrent=3.0)
test_close(noisier.sigma_rec, 0.15); test_eq(mod.sigma_rec, 0.05)
test_same(scale_noise(small, 2.0)(xq), small(xq))  # σ_rec = 0 stays 0
test_fail(lambda: scale_noise(mod, -1), contains=">= 0")
round(noisier.sigma_rec, 6)


# %% [markdown]
# ## Where the time of a training step goes
#
# A whole training step of `LeakyRNN` (input product, recurrent noise,
# scan, readout, loss, every gradient) against what it cannot avoid: the bare matrix products of the recurrence
# (3 × 150 products `[64, 256] × [256, 256]`: forward, backward, weight gradient) and the draw of the recurrent noise
# (150 × 64 × 256 normals from torch's generator). The rest, at the reference size, is mostly memory: the thin products
# of the input (25 channels), which the matrix library runs far below its peak (the readout's are folded into the
# scan, above), and the passes over `[T, B, n]` tensors too large for the cache (the states, f'(a), the δ's), each
# of which also costs a page fault per 4 KiB unless freed memory is reused (`keep_freed_memory`, which every molap
# process turns on, as here). At the quick size it is the many small operations. Measured here, alternating the cases
# in one run (the ratios carry to other CPUs, the milliseconds do not), at the reference size and at the quick
# profile's (64 units, a batch of 32), with the scan's loops under TorchScript and in Python:

# %%
#| hide
def step_breakdown(n_rec, batch, n_in=25, T=150, repeats=3):
    "Median ms of a LeakyRNN training step (TorchScript and Python loops), its bare recurrent products and its noise draw."
    import statistics
    from molap.core import keep_freed_memory
    keep_freed_memory()  # as `set_threads` does in every molap process
    g = torch.Generator().manual_seed(0)
    net, x = LeakyRNN(n_in, n_rec, 3, seed=0), torch.randn(T, batch, n_in, generator=g)
    h, Wr, o = torch.randn(batch, n_rec, generator=g), torch.randn(n_rec, n_rec, generator=g), torch.empty(batch, n_rec)
    def step(backend):
        def run():
            global SCAN_BACKEND  # the setting `scan_kernels` reads, where LeakyRNN is defined
            SCAN_BACKEND = backend
            net.zero_grad(); net(x, generator=g).square().mean().backward()
        return run
    def bare():
        for _ in range(3 * T): torch.mm(h, Wr, out=o)
    cases = {"step (TorchScript)": step("torchscript"), "step (Python loops)": step("python"), "bare products": bare,
             "noise draw": lambda: recurrent_noise((T, batch, n_rec), 0.05, 0.2, g)}
    times = {k: [] for k in cases}
    try:
        for f in cases.values(): f()  # warm up
        for _ in range(repeats):
            for k, f in cases.items():
                t0 = time.perf_counter(); f(); times[k].append(time.perf_counter() - t0)
    finally: globals()["SCAN_BACKEND"] = "torchscript"
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


# %%
rows = {f"{n} units, batch {b}": step_breakdown(n, b) for n, b in ((256, 64), (64, 32))}
limit = lambda r: (r["bare products"] + r["noise draw"]) / r["step (TorchScript)"]
Markdown("| size | step, TorchScript (ms) | step, Python loops (ms) | bare products (ms) | noise draw (ms) | (products + noise) / step |\n"
         "|---|---|---|---|---|---|\n" + "\n".join(
             f"| {k} | {r['step (TorchScript)']:.1f} | {r['step (Python loops)']:.1f} | {r['bare products']:.1f} | "
             f"{r['noise draw']:.1f} | {limit(r):.2f} |" for k, r in rows.items()))

# %% [markdown]
# The same numbers read as TorchScript's speed-up and against the target (computed from the table above):

# %%
ref, small = rows.values()
speedup = lambda r: r["step (Python loops)"] / r["step (TorchScript)"]
Markdown(f"TorchScript makes a step {speedup(ref):.2f}× as fast at the reference size, where the products dominate, and "
         f"{speedup(small):.2f}× at the quick size, where the products are tiny and the interpreter's overhead was most "
         f"of a step. Our target, a step at 0.75 of (products + noise) at the reference size, is "
         f"{'met' if limit(ref) >= 0.75 else 'not met'} here ({limit(ref):.2f}). What is left beyond the products and "
         f"the noise is mostly the input's thin products (its gradient `[26, T·B] × [T·B, n]`, which the matrix library runs far below "
         f"its peak) and the per-step elementwise work (the rate, the leak, f'(a) and δ).")
