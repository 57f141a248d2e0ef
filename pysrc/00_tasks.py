# %% [markdown]
# # The task corpus
#
# > The nine delayed cognitive tasks of the MoLaP paper, generated in torch from their epochs: inputs, targets, loss mask and score.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/00_tasks.ipynb)

# %% [markdown]
# MoLaP is trained and tested on nine tasks, named T1–T9 in the paper's figures. They are the "delayed" half of the
# cognitive task family of Yang et al. (2019), in the form Duncker et al. (2020) used for continual learning (their
# method is one of MoLaP's baselines). Every task has the same skeleton: the network fixates while stimuli come and
# go, and when the fixation cue turns off (the *go cue*) it reports a direction. What differs is the rule that maps
# stimuli to that direction, and what must be held in memory until the go cue.
#
# This notebook builds the corpus one piece at a time: the clock, the epochs of a trial, the stimuli of each task,
# the three tensors a network sees (inputs, targets, loss mask), the score of the paper, and the loss. Every number
# comes from our written specification of the tasks, which collects the facts of Yang et al. (2019) and Duncker et
# al. (2020) on the epochs, stimuli and score; no code of either is used.

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp tasks

# %%
#| export
from __future__ import annotations
import math
from pathlib import Path
from dataclasses import dataclass, field, replace
from typing import NamedTuple
import torch
from molap.core import check_int, check_float, atomic_write, check_out_dir

# %%
#| hide
import matplotlib.pyplot as plt
from IPython.display import Markdown
from fastcore.test import *
plt.rcParams["figure.dpi"] = 72  # light notebooks: figures at screen resolution

# %% [markdown]
# ## Nine tasks
#
# The corpus, in the order of the paper (T1 to T9):

# %%
#| export
TASK_NAMES = ("DelayPro", "DelayAnti", "MemPro", "MemAnti", "MemDm1", "MemDm2",
              "ContextMemDm1", "ContextMemDm2", "MultiMem")

# %%
#| export
USER_TASKS = {}  # tasks added with `register_task`: name -> maker(batch_size, seed, config, device) -> Batch

def task_index(task: str, # a name from `TASK_NAMES` or one added with `register_task`
              ) -> int: # its position: 0 for T1 ... 8 for T9, then the added tasks in order
    "Position of `task` in the corpus, with a clear error for an unknown name."
    if task in TASK_NAMES: return TASK_NAMES.index(task)
    if task in USER_TASKS: return len(TASK_NAMES) + list(USER_TASKS).index(task)
    known = ", ".join(TASK_NAMES + tuple(USER_TASKS))
    raise ValueError(f"unknown task {task!r}; the corpus has {known} (add your own with register_task)")


# %%
task_index("MemAnti")

# %%
test_eq(task_index("MultiMem"), 8)
test_fail(lambda: task_index("DelayGo"), contains="DelayPro, DelayAnti")


# %% [markdown]
# Readers who know the older code bases will meet other names for the same tasks: Yang et al. (2019) call MemPro
# `delaygo` and the two decision tasks `delaydm1`/`delaydm2`; Duncker et al. (2020) call it `MemoryPro`. The molap
# names follow the MoLaP paper's figures.
#
# ## Settings of the corpus
#
# A trial runs on a clock of `dt = 20` ms. The networks that solve the tasks are leaky rate networks with time
# constant `τ = 100` ms, so each step moves their state a fraction `α = dt/τ = 0.2` of the way to its target.
# The input noise is scaled with the same α (`std = σ_in·√(2/α)`) so that its effect does not depend on `dt`.
#
# Everything that can be chosen lives in one frozen dataclass, `TaskConfig`. Its defaults are the reference:

# %%
#| export
@dataclass(frozen=True)
class TaskConfig:
    "Settings of the task corpus; the defaults reproduce the MoLaP / Duncker et al. reference."
    dt: float = 20.                # ms per time step
    tau: float = 100.              # ms, time constant of the networks (sets α = dt/τ for the noise scale)
    sigma_in: float = 0.01         # input noise; each channel gets N(0, σ_in²·2/α) per step (Yang's default)
    timing: str = "batch"          # "batch": one timing per batch (reference); "trial": one per trial, padded
    modality: str = "batch"        # single-modality tasks draw their modality once per "batch" (reference) or per "trial"
    rule_inputs: bool = False      # append a one-hot rule block (one channel per task of `TASK_NAMES`)
    criterion: float = 0.1 * math.pi  # max angular error of a correct response (Duncker: 0.1π; Yang: 0.2π)
    targets: str = "paper"         # "paper": fixation 1 → 0, response (sinφ, cosφ); "duncker": 0.8 fixation, 0.05 baseline
    encoding: str = "paper"        # "paper": 5 inputs, 3 outputs; "ring": Yang's 32-unit rings
    n_ring: int = 32               # units per ring in the "ring" encoding
    durations: dict = field(default_factory=dict)  # overrides of epoch ranges in ms, e.g. {"delay": (1000, 1000)}

    @property
    def alpha(self) -> float: return self.dt / self.tau

    def __post_init__(self): _check_config(self)


# %% [markdown]
# Most settings are choices between two published conventions, and the default is always the one MoLaP's figures
# show. Two need a word:
#
# - **`targets`**: the MoLaP figures show a fixation target of 1 until the go cue and 0 after it, and a response target
#   that is the unit vector (sin φ, cos φ) after the go cue and 0 before. Duncker et al.'s code uses 0.8 for fixation and
#   adds a baseline of 0.05 to every target. We default to the figures (`"paper"`), since that is what the paper shows.
# - **`timing`**: in the reference code all epoch durations are drawn once per batch, so every trial of a batch has the
#   same length. `"trial"` draws them per trial and pads the batch to its longest trial; the loss mask is zero after a
#   trial's end and the score is read at each trial's own last step.
#
# A bad setting fails at construction, with a message that says what is allowed:

# %%
#| export
_CHOICES = dict(timing=("batch", "trial"), modality=("batch", "trial"), targets=("paper", "duncker"),
                encoding=("paper", "ring"))

SIGMA_IN_MAX = 10.0  # largest input noise σ_in a TaskConfig accepts

def _check_config(c: TaskConfig):
    "Raise a `ValueError` naming the first impossible setting of `c`."
    for name, allowed in _CHOICES.items():
        if getattr(c, name) not in allowed:
            raise ValueError(f"TaskConfig.{name}={getattr(c, name)!r}; allowed: {', '.join(allowed)}")
    check_float("dt", c.dt, positive=True); check_float("tau", c.tau, positive=True)
    if c.dt > c.tau: raise ValueError(f"dt={c.dt} ms exceeds tau={c.tau} ms: α = dt/τ must be at most 1")
    # inputs are of order 1: noise beyond SIGMA_IN_MAX buries every stimulus (and a typo like 1e9 would train on noise)
    if check_float("sigma_in", c.sigma_in, minimum=0) > SIGMA_IN_MAX:
        raise ValueError(f"sigma_in must be at most {SIGMA_IN_MAX} (inputs are of order 1), got {c.sigma_in}")
    if not 0 < check_float("criterion", c.criterion) <= math.pi: raise ValueError(f"criterion must be in (0, π] radians (got {c.criterion})")
    check_int("n_ring", c.n_ring, minimum=3)
    _check_durations(c)


# %% [markdown]
# ## The epochs of a trial
#
# Each task is a sequence of epochs whose durations are drawn uniformly from a range (in ms). The three families of
# the corpus differ in their epochs:
#
# - **Delay** tasks: fixate, then a stimulus appears and *stays on*; after a random wait the go cue asks for a response.
# - **Mem** tasks: the stimulus is shown briefly and must be *remembered* across a delay.
# - **Dm** tasks (decision making): two stimuli one after the other, separated by a delay, then a short second delay.
#
# `EPOCHS` lists them in order with their ranges. The go cue is the start of the `response` epoch.

# %%
#| export
EPOCHS = {  # family -> ordered epochs -> (min, max) duration in ms, drawn uniformly
    "Delay": {"fixation": (300, 700), "stimulus": (500, 1500), "response": (300, 700)},
    "Mem":   {"fixation": (300, 700), "stimulus": (200, 600), "delay": (200, 1600), "response": (300, 700)},
    "Dm":    {"fixation": (200, 600), "stimulus1": (200, 600), "delay1": (200, 1600), "stimulus2": (200, 600),
              "delay2": (100, 300), "response": (300, 700)},
}
GRACE_MS = 100  # ms at the start of a trial and after the go cue that the loss ignores

def task_family(task: str) -> str:
    "The epoch family (`Delay`, `Mem` or `Dm`) of `task`."
    task_index(task)
    return "Delay" if task.startswith("Delay") else "Mem" if task in ("MemPro", "MemAnti") else "Dm"

def epoch_ranges(task: str, config: TaskConfig | None = None) -> dict:
    "Ordered epochs of `task` with their (min, max) durations in ms, after `config.durations` overrides."
    config = config or TaskConfig()
    return {k: tuple(config.durations.get(k, v)) for k, v in EPOCHS[task_family(task)].items()}


# %% [markdown]
# `TaskConfig.durations` overrides a range by epoch name, for every task that has that epoch, which is how one tests a
# network on longer delays than it was trained on. Not every override makes a trial: the loss ignores the first
# 100 ms of the trial and the first 100 ms after the go cue, so the fixation epoch must outlast the first grace period
# and the response must outlast the second by at least one step; every other epoch must last at least one step.

# %%
#| export
def _check_durations(c: TaskConfig):
    "Raise a `ValueError` for an override in `c.durations` that cannot make a trial."
    known = {k for fam in EPOCHS.values() for k in fam}
    for name, rng in c.durations.items():
        if name not in known: raise ValueError(f"unknown epoch {name!r} in durations; epochs: {', '.join(sorted(known))}")
        try: lo, hi = map(float, rng)
        except (TypeError, ValueError): raise ValueError(f"durations[{name!r}] must be a (min, max) pair in ms, got {rng!r}")
        shortest = GRACE_MS + c.dt if name in ("fixation", "response") else c.dt
        if not shortest <= lo <= hi:
            raise ValueError(f"durations[{name!r}]={rng!r} is impossible: need {shortest:g} <= min <= max "
                             f"({name} must last at least {shortest:g} ms with dt={c.dt:g})")


# %%
epoch_ranges("MemDm1"), epoch_ranges("MemPro", TaskConfig(durations={"delay": (3000, 3000)}))["delay"]

# %%
test_fail(lambda: TaskConfig(durations={"delay": (500, 100)}), contains="impossible")
test_fail(lambda: TaskConfig(durations={"response": (100, 300)}), contains="at least 120")
test_fail(lambda: TaskConfig(durations={"dealy": (100, 300)}), contains="unknown epoch")
test_fail(lambda: TaskConfig(timing="random"), contains="allowed: batch, trial")
test_fail(lambda: TaskConfig(sigma_in=-0.1), contains="sigma_in")
test_fail(lambda: TaskConfig(dt=200.), contains="α")


# %% [markdown]
# ### Drawing epochs
#
# All randomness goes through a `torch.Generator` made from the seed, never through torch's global random state, so one
# seed reproduces a batch exactly and generating a batch never disturbs anyone else's random numbers. Without a seed
# the generator is seeded from the operating system.
#
# Durations are drawn in milliseconds and turned into steps at the epoch boundaries: a boundary at `ms` milliseconds is
# step `int(ms / dt)`, as in the reference code. With `timing="batch"` one duration per epoch is drawn and shared by the
# batch.

# %%
#| export
def make_generator(seed: int | None = None, device=None) -> torch.Generator:
    "A `torch.Generator` on `device` seeded with `seed` (or from the OS when `seed` is None)."
    g = torch.Generator(device=device or "cpu")
    if seed is None: g.seed()
    else: g.manual_seed(int(seed))
    return g

def _uniform(g: torch.Generator, lo, hi, n: int, device=None) -> torch.Tensor:
    "`n` draws from U(lo, hi) on `device` (float32)."
    return torch.rand(n, generator=g, device=device).mul_(hi - lo).add_(lo)

def draw_epochs(task: str, n: int, g: torch.Generator, config: TaskConfig, device=None) -> dict:
    "Epoch boundaries of `n` trials of `task`: epoch name -> (start, end) steps, each a long tensor [n]."
    ranges = epoch_ranges(task, config)
    lo, hi = torch.tensor(list(ranges.values()), dtype=torch.float32, device=device).T
    k = 1 if config.timing == "batch" else n  # one draw shared by the batch, or one per trial
    ms = (lo + (hi - lo) * torch.rand(k, len(ranges), generator=g, device=device)).cumsum(1)
    steps = (torch.nn.functional.pad(ms, (1, 0)) / config.dt).long().expand(n, -1)  # boundaries, from step 0
    return {name: (steps[:, i], steps[:, i + 1]) for i, name in enumerate(ranges)}


# %%
g = make_generator(0)
draw_epochs("MemPro", 4, g, TaskConfig())

# %% [markdown]
# Every trial of a reference batch shares its timing; in `"trial"` mode each trial has its own:

# %%
ep = draw_epochs("MemPro", 6, make_generator(0), TaskConfig(timing="trial"))
ep["response"]

# %%
assert ep["response"][1].unique().numel() > 1
test_eq(draw_epochs("MemPro", 6, make_generator(0), TaskConfig())["response"][1].unique().numel(), 1)


# %% [markdown]
# ## Stimuli and the correct response
#
# A stimulus has a direction θ, a strength in each of the two modalities, and the steps during which it is on. The
# network never sees θ directly: modality *m* carries `s·sin θ, s·cos θ` on its two input channels while the stimulus
# is on, and two stimuli on at once in one modality add. Each task is a short function that draws its stimuli and
# returns them with the correct response direction φ. They read like the descriptions of the tasks.

# %%
#| export
class Stimulus(NamedTuple):
    "One stimulus per trial: direction θ [B], strength per modality [B, 2], and its on/off steps [B]."
    theta: torch.Tensor
    strength: torch.Tensor
    on: torch.Tensor
    off: torch.Tensor

def _direction(g, n, device):  return _uniform(g, 0, 2 * math.pi, n, device)
def _sign(g, n, device):       return torch.randint(0, 2, (n,), generator=g, device=device) * 2. - 1.

def _one_modality(g, n, config, device):
    "One-hot strength [n, 2] of a unit stimulus in a modality drawn per batch or per trial."
    k = 1 if config.modality == "batch" else n
    m = torch.randint(0, 2, (k,), generator=g, device=device).expand(n)
    return torch.nn.functional.one_hot(m, 2).float()

def _dm_strengths(g, n, device):
    "Strengths (s1, s2) of two stimuli: mean U(0.8, 1.2) ± coherence U(0.005, 0.8) with a random sign."
    mean, coh, sign = _uniform(g, 0.8, 1.2, n, device), _uniform(g, 0.005, 0.8, n, device), _sign(g, n, device)
    return mean + coh * sign, mean - coh * sign


# %% [markdown]
# **DelayPro / DelayAnti (T1, T2).** One stimulus in one modality appears after fixation and stays on until the end of
# the trial. At the go cue the network responds towards it (Pro) or away from it (Anti: φ = θ + π). Nothing has to be
# remembered; the Anti version asks for a fixed transformation.
#
# **MemPro / MemAnti (T3, T4).** The same, but the stimulus is on only during its epoch, so its direction must be held
# across the delay.

# %%
#| export
def _pro_anti(g, n, ep, config, device, anti: bool, memory: bool):
    "DelayPro/DelayAnti (`memory=False`) and MemPro/MemAnti (`memory=True`)."
    theta = _direction(g, n, device)
    stim = Stimulus(theta, _one_modality(g, n, config, device), ep["stimulus"][0],
                    ep["stimulus"][1] if memory else ep["response"][1])
    return [stim], (theta + math.pi * anti) % (2 * math.pi)


# %% [markdown]
# **MemDm1 / MemDm2 (T5, T6).** Two stimuli in one modality (1 or 2), shown one after the other with a delay between
# them, 90°–270° apart; respond towards the stronger. The first stimulus must be remembered, with its strength, until
# the second can be compared with it. Strengths are a mean `U(0.8, 1.2)` plus and minus a coherence `U(0.005, 0.8)`,
# so some trials are nearly impossible.
#
# **ContextMemDm1 / ContextMemDm2 (T7, T8).** Both stimuli appear in *both* modalities, with strengths drawn
# independently per modality; respond towards the stronger in modality 1 (Ctx1) or 2 (Ctx2). The other modality is a
# distractor that points the other way in about half the trials.
#
# **MultiMem (T9).** Each stimulus's strength is split unevenly across the two modalities; respond towards the
# stimulus with the larger total strength, which requires integrating both.

# %%
#| export
def _two_stimuli(g, n, ep, device):
    "Directions θ1, θ2 = θ1 + U(π/2, 3π/2) and the on/off steps of the two stimuli of a Dm trial."
    theta1 = _direction(g, n, device)
    theta2 = (theta1 + _uniform(g, math.pi / 2, 3 * math.pi / 2, n, device)) % (2 * math.pi)
    return theta1, theta2, ep["stimulus1"], ep["stimulus2"]

def _mem_dm(g, n, ep, config, device, modality: int):
    "MemDm1 / MemDm2: respond to the stronger of two stimuli in `modality`."
    th1, th2, (on1, off1), (on2, off2) = _two_stimuli(g, n, ep, device)
    s1, s2 = _dm_strengths(g, n, device)
    mod = torch.nn.functional.one_hot(torch.tensor(modality, device=device), 2).float()
    stims = [Stimulus(th1, s1[:, None] * mod, on1, off1), Stimulus(th2, s2[:, None] * mod, on2, off2)]
    return stims, torch.where(s1 > s2, th1, th2)

def _context_dm(g, n, ep, config, device, modality: int):
    "ContextMemDm1 / 2: stimuli in both modalities; respond to the stronger in the attended `modality`."
    th1, th2, (on1, off1), (on2, off2) = _two_stimuli(g, n, ep, device)
    (a1, a2), (b1, b2) = _dm_strengths(g, n, device), _dm_strengths(g, n, device)
    s1, s2 = torch.stack([a1, b1], 1), torch.stack([a2, b2], 1)
    stims = [Stimulus(th1, s1, on1, off1), Stimulus(th2, s2, on2, off2)]
    return stims, torch.where(s1[:, modality] > s2[:, modality], th1, th2)

def _multi_mem(g, n, ep, config, device):
    "MultiMem: each strength split unevenly over both modalities; respond to the larger total."
    th1, th2, (on1, off1), (on2, off2) = _two_stimuli(g, n, ep, device)
    base1, base2 = _dm_strengths(g, n, device)
    def split(s):  # s ± d/2 with d = s·U(0.2, 0.8)·(±1): the sum over modalities stays 2s
        d = s * _uniform(g, 0.2, 0.8, n, device) * _sign(g, n, device)
        return torch.stack([s + d / 2, s - d / 2], 1)
    stims = [Stimulus(th1, split(base1), on1, off1), Stimulus(th2, split(base2), on2, off2)]
    return stims, torch.where(base1 > base2, th1, th2)

_TASKS = {
    "DelayPro": lambda *a: _pro_anti(*a, anti=False, memory=False),
    "DelayAnti": lambda *a: _pro_anti(*a, anti=True, memory=False),
    "MemPro": lambda *a: _pro_anti(*a, anti=False, memory=True),
    "MemAnti": lambda *a: _pro_anti(*a, anti=True, memory=True),
    "MemDm1": lambda *a: _mem_dm(*a, modality=0),
    "MemDm2": lambda *a: _mem_dm(*a, modality=1),
    "ContextMemDm1": lambda *a: _context_dm(*a, modality=0),
    "ContextMemDm2": lambda *a: _context_dm(*a, modality=1),
    "MultiMem": _multi_mem,
}


# %% [markdown]
# ## From stimuli to tensors
#
# A network sees three time-major tensors, `[T, B, channels]`:
#
# - **inputs**: `[fixation, m1·sinθ, m1·cosθ, m2·sinθ, m2·cosθ]`, then optionally the one-hot rule block. The fixation
#   input is 1 from step 0 until the go cue and 0 afterwards: its offset *is* the go cue.
# - **targets**: `[fixation, sin φ, cos φ]`: fixate until the go cue, then point at φ.
# - **mask**: the weight of each step and channel in the loss. 0 for the first 100 ms (the network settles), 1 until
#   the go cue, 0 for 100 ms after it (a grace period to move), 5 for the rest of the response, and doubled on the
#   fixation channel, so that breaking fixation early and responding late are both expensive.
#
# The encoders write channels for all trials and steps at once: a stimulus is an on/off window `[T, B]` times its
# per-trial channel values `[B, C]`. Nothing loops over trials, which is what makes the generator fast.

# %%
#| export
def _window(on, off, t):
    "Bool [T, B]: on <= t < off, for on/off steps [B] and the step index column `t` [T, 1]."
    return (t >= on) & (t < off)

def _ring_bump(angle, n_ring):
    "Yang's ring code of `angle` [B]: 0.8·exp(-½(d/(π/8))²) on units with preferred directions 2πk/n_ring, [B, n_ring]."
    pref = torch.arange(n_ring, device=angle.device) * (2 * math.pi / n_ring)
    d = torch.remainder(angle[:, None] - pref + math.pi, 2 * math.pi) - math.pi  # circular distance
    return 0.8 * torch.exp(-0.5 * (d / (math.pi / 8)) ** 2)

def _stimulus_code(s: Stimulus, config: TaskConfig):
    "Channel values [B, 2·k] of a stimulus: per modality (s·sinθ, s·cosθ), or a ring bump of height ∝ s."
    code = (torch.stack([torch.sin(s.theta), torch.cos(s.theta)], 1) if config.encoding == "paper"
            else _ring_bump(s.theta, config.n_ring))
    return (s.strength[:, :, None] * code[:, None, :]).flatten(1)

def n_inputs(config: TaskConfig | None = None) -> int:
    "Number of input channels under `config`."
    config = config or TaskConfig()
    k = 2 if config.encoding == "paper" else config.n_ring
    return 1 + 2 * k + (len(TASK_NAMES) if config.rule_inputs else 0)

def n_outputs(config: TaskConfig | None = None) -> int:
    "Number of output channels under `config`: fixation plus (sin, cos) or a ring."
    config = config or TaskConfig()
    return 1 + (2 if config.encoding == "paper" else config.n_ring)


# %%
(n_inputs(), n_outputs()), (n_inputs(TaskConfig(rule_inputs=True)), n_outputs(TaskConfig(encoding="ring")))


# %% [markdown]
# The targets follow `TaskConfig.targets`; with the `"duncker"` convention the 0.05 baseline is added everywhere,
# and the decoder below subtracts it again before reading the direction.

# %%
#| export
def _target_levels(config: TaskConfig):
    "(fixation level, baseline) of the target convention."
    return (1., 0.) if config.targets == "paper" else (0.8, 0.05)

def _targets(phi, before, config):
    "Targets [T, B, n_out]: fixate while `before` [T, B] (before the go cue), then the response code of φ."
    fix_level, base = _target_levels(config)
    code = (torch.stack([torch.sin(phi), torch.cos(phi)], 1) if config.encoding == "paper"
            else _ring_bump(phi, config.n_ring))
    fixating = torch.tensor([fix_level] + [base] * code.shape[1], device=phi.device)        # [n_out]
    responding = torch.cat([torch.full_like(code[:, :1], base), code + base], 1)            # [B, n_out]
    return torch.where(before[:, :, None], fixating, responding)  # one broadcast op: [T, B, n_out]

def _mask(t, go, length, config):
    "Loss weights [T, B, n_out]: 0 | 1 | 0 | 5 around the go cue, 0 after the trial, fixation doubled."
    grace = int(GRACE_MS / config.dt)
    w = torch.where(_window(go + grace, length, t), 5., torch.where((t >= grace) & (t < go), 1., 0.))
    channel = torch.tensor([2.] + [1.] * (n_outputs(config) - 1), device=go.device)
    return w[:, :, None] * channel


# %% [markdown]
# ## A batch
#
# `make_batch` puts it together and returns a `Batch`: the three tensors, the response direction φ, the go-cue step
# and the length of each trial, plus what a figure or a test needs to look inside (the epochs and the stimuli).

# %%
#| export
@dataclass
class Batch:
    "A batch of trials of one task, time-major."
    task: str                 # the task's name
    inputs: torch.Tensor      # [T, B, n_in]
    targets: torch.Tensor     # [T, B, n_out]
    mask: torch.Tensor        # [T, B, n_out], loss weights (a read-only broadcast view under batch timing)
    direction: torch.Tensor   # [B], correct response φ in radians (NaN: the trial asks to keep fixating)
    go: torch.Tensor          # [B], step of the go cue (fixation offset)
    length: torch.Tensor      # [B], steps in each trial (the rest is padding)
    epochs: dict              # epoch name -> (start, end) steps, [B] each
    stimuli: list             # the `Stimulus` tuples that made the inputs
    config: TaskConfig        # the settings it was made with

    def to(self, device) -> Batch:
        "This batch with its tensors on `device`."
        mv = lambda x: x.to(device)
        return replace(self, inputs=mv(self.inputs), targets=mv(self.targets), mask=mv(self.mask),
                       direction=mv(self.direction), go=mv(self.go), length=mv(self.length),
                       epochs={k: (mv(a), mv(b)) for k, (a, b) in self.epochs.items()},
                       stimuli=[Stimulus(*map(mv, s)) for s in self.stimuli])

    def __repr__(self):
        return (f"Batch({self.task!r}, inputs={list(self.inputs.shape)}, targets={list(self.targets.shape)}, "
                f"steps {int(self.length.min())}–{int(self.length.max())})")


# %%
#| export
def make_batch(task: str,                     # a name from `TASK_NAMES`
               batch_size: int,               # trials in the batch
               seed: int | None = None,       # same seed, same batch; None draws fresh entropy
               config: TaskConfig | None = None,  # corpus settings (default: the reference)
               device=None,                   # where to generate (e.g. "cuda"); default CPU
              ) -> Batch:
    "A batch of `batch_size` trials of `task`, generated vectorised in torch on `device`."
    config = config or TaskConfig()
    idx = task_index(task)
    batch_size = check_int("batch_size", batch_size)
    if task in USER_TASKS: return _user_batch(task, batch_size, seed, config, device)
    g, n = make_generator(seed, device), batch_size
    ep = draw_epochs(task, n, g, config, device)
    stimuli, phi = _TASKS[task](g, n, ep, config, device)
    go, length = ep["response"][0], ep["response"][1]
    T, C = int(length.max()), n_inputs(config)
    # Under batch timing all trials share their epochs, so windows are computed once ([T, 1]) and broadcast.
    k = 1 if config.timing == "batch" else n
    t = torch.arange(T, device=device)[:, None]  # step index column: every window is a comparison with it
    before = t < go[:k]                          # [T, k]: fixation period
    stim = torch.zeros(T, n, C - 1 - (len(TASK_NAMES) if config.rule_inputs else 0), device=device)
    for s in stimuli:  # stim += window ⊗ code (contiguous and in place: the fast path)
        stim.addcmul_(_window(s.on[:k], s.off[:k], t)[:, :, None].float(), _stimulus_code(s, config))
    channels = [before.float()[:, :, None].expand(T, n, 1), stim]
    if config.rule_inputs:
        channels.append(torch.nn.functional.one_hot(torch.tensor(idx, device=device), len(TASK_NAMES))
                        .float().expand(T, n, -1))
    x = torch.cat(channels, 2)
    if config.sigma_in > 0:  # one draw for every channel and step
        x.add_(torch.randn(T, n, C, generator=g, device=device), alpha=config.sigma_in * math.sqrt(2 / config.alpha))
    y = _targets(phi, before, config)
    if config.timing == "trial":  # padding after a trial's end stays silent
        inside = (t < length)[:, :, None]
        x, y = x * inside, y * inside
    mask = _mask(t, go[:k], length[:k], config).expand(T, n, -1)  # a broadcast view under batch timing
    return Batch(task, x, y, mask, phi, go, length, ep, stimuli, config)


# %%
b = make_batch("MemPro", 64, seed=0)
b

# %% [markdown]
# One seed gives the same batch, bit for bit, and generating a batch leaves torch's global random state alone:

# %%
state = torch.random.get_rng_state()
b2 = make_batch("MemPro", 64, seed=0)
test_eq(torch.equal(b.inputs, b2.inputs) and torch.equal(b.mask, b2.mask), True)
test_eq(torch.equal(state, torch.random.get_rng_state()), True)
assert not torch.equal(make_batch("MemPro", 64, seed=1).inputs[:10], b.inputs[:10])

# %% [markdown]
# Bad arguments fail early and say what is allowed:

# %%
test_fail(lambda: make_batch("Memory", 8), contains="the corpus has DelayPro")
test_fail(lambda: make_batch("MemPro", 0), contains="batch_size must be an integer >= 1")


# %% [markdown]
# ## Looking at the tasks
#
# A picture of one trial says what a task asks better than its definition. `plot_trial` draws the inputs, the targets
# and the loss mask of one trial, with the epochs shaded.

# %%
#| export
def plot_trial(batch: Batch,  # a batch from `make_batch`
               i: int = 0,     # which trial to draw
               axes=None,      # three matplotlib axes to draw into (default: a new figure)
              ):
    "Inputs, targets and loss mask of trial `i` of `batch`, epochs shaded; returns the figure."
    import matplotlib.pyplot as plt
    if axes is None: fig, axes = plt.subplots(3, 1, figsize=(7, 5.2), sharex=True, constrained_layout=True)
    fig, L, dt = axes[0].figure, int(batch.length[i]), batch.config.dt
    t = (torch.arange(L) * dt).numpy()
    x, y, m = (a[:L, i].detach().float().cpu().numpy() for a in (batch.inputs, batch.targets, batch.mask))
    if batch.config.encoding == "paper":
        names = ["fixation", "mod 1 sin", "mod 1 cos", "mod 2 sin", "mod 2 cos"]
        for c, name in enumerate(names): axes[0].plot(t, x[:, c], lw=1, label=name)
        for c, name in enumerate(["fixation", "sin φ", "cos φ"]): axes[1].plot(t, y[:, c], lw=1.5, label=name)
    else:
        axes[0].imshow(x.T, aspect="auto", interpolation="nearest", extent=(0, L * dt, x.shape[1], 0), cmap="Greys")
        axes[1].imshow(y.T, aspect="auto", interpolation="nearest", extent=(0, L * dt, y.shape[1], 0), cmap="Greys")
    axes[2].step(t, m[:, 1], where="post", color="k", label="response")
    axes[2].step(t, m[:, 0], where="post", color="C3", ls="--", label="fixation")
    for k, (name, (a, b)) in enumerate(batch.epochs.items()):
        for ax in axes: ax.axvspan(int(a[i]) * dt, int(b[i]) * dt, color=f"C{k}", alpha=0.08, lw=0)
        axes[0].text((int(a[i]) + int(b[i])) / 2 * dt, 1.02, name, transform=axes[0].get_xaxis_transform(),
                     ha="center", va="bottom", fontsize=8)
    for ax, lab in zip(axes, ["inputs", "targets", "loss weight"]): ax.set_ylabel(lab)
    if batch.config.encoding == "paper":
        for ax in axes: ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    axes[-1].set_xlabel("time (ms)")
    fig.suptitle(f"{batch.task}: φ = {math.degrees(float(batch.direction[i])):.0f}°", y=1.06)
    return fig


# %% [markdown]
# ### T1 DelayPro
#
# The stimulus (here in one modality) comes on after fixation and stays on. When the fixation input drops, the target
# swings from fixation to the stimulus direction: the sin/cos targets equal the stimulus channels, scaled to unit length.

# %%
plot_trial(make_batch("DelayPro", 8, seed=1));

# %% [markdown]
# The input noise (σ_in = 0.01, std ≈ 0.03 per step) is the small jitter on the input lines above. The figures of the
# other eight tasks are drawn from the same batches without it (`sigma_in=0`), so that the epochs read clearly and
# the pages stay light:

# %%
CLEAN = TaskConfig(sigma_in=0)

# %% [markdown]
# ### T2 DelayAnti
#
# Same inputs, opposite answer: the targets are the negated stimulus channels (φ = θ + π).

# %%
plot_trial(make_batch("DelayAnti", 8, seed=1, config=CLEAN));

# %% [markdown]
# ### T3 MemPro
#
# The stimulus is gone before the delay; nothing in the input tells the network where to point when the go cue comes.

# %%
plot_trial(make_batch("MemPro", 8, seed=2, config=CLEAN));

# %% [markdown]
# ### T4 MemAnti
#
# Memory and a transformation: hold θ through the delay, answer θ + π.

# %%
plot_trial(make_batch("MemAnti", 8, seed=2, config=CLEAN));

# %% [markdown]
# ### T5 MemDm1
#
# Two stimuli in modality 1, one after the other. The answer is the direction of the stronger, so the first one's
# strength must be remembered until the second arrives.

# %%
plot_trial(make_batch("MemDm1", 8, seed=3, config=CLEAN));

# %% [markdown]
# ### T6 MemDm2
#
# The same comparison in modality 2.

# %%
plot_trial(make_batch("MemDm2", 8, seed=3, config=CLEAN));

# %% [markdown]
# ### T7 ContextMemDm1
#
# Both modalities carry both stimuli with different strengths. Only modality 1 counts; modality 2 may point the other
# way. Without rule inputs, nothing in the trial says which modality counts: the task identity lives in the
# task-specific weights (MoLaP, separate networks) or in the rule inputs (the joint baseline).

# %%
plot_trial(make_batch("ContextMemDm1", 8, seed=4, config=CLEAN));

# %% [markdown]
# ### T8 ContextMemDm2
#
# The same inputs, but modality 2 counts.

# %%
plot_trial(make_batch("ContextMemDm2", 8, seed=4, config=CLEAN));

# %% [markdown]
# ### T9 MultiMem
#
# Each stimulus is split unevenly over the two modalities; the answer is the stimulus with the larger *sum*.

# %%
plot_trial(make_batch("MultiMem", 8, seed=5, config=CLEAN));


# %% [markdown]
# ### The whole corpus on disk
#
# `draw_corpus` draws one batch of every task, saves the figure of its first trial, and writes a table of the epochs
# that were drawn next to the ranges they come from (`molap tasks` runs it from the command line):

# %%
#| export
def epoch_table(batches: dict,  # task name -> `Batch`
               ) -> str:         # a Markdown table
    "Markdown table of the epochs of trial 0 of each batch: drawn duration (ms) and its range."
    rows = ["| task | steps | epochs: drawn ms (range) |", "|---|---|---|"]
    for task, b in batches.items():
        dt, ranges = b.config.dt, epoch_ranges(task, b.config)
        cells = [f"{name} {(int(e) - int(s)) * dt:g} ({lo:g}–{hi:g})"
                 for name, (s, e) in ((k, (v[0][0], v[1][0])) for k, v in b.epochs.items())
                 for lo, hi in [ranges[name]]]
        rows.append(f"| {task} | {int(b.length[0])} | {' · '.join(cells)} |")
    return "\n".join(rows)

def draw_corpus(out,                 # folder for the figures and the table
                seed: int = 0,       # seed of the first task's batch (task k uses seed + k)
                batch_size: int = 16,
                config: TaskConfig | None = None,
               ) -> str:
    "Draw every task, save a figure of each as `DIR/<task>.png` and the epoch table as `DIR/epochs.md`."
    import matplotlib.pyplot as plt
    seed = check_int("seed", seed, minimum=0)
    batches = {t: make_batch(t, batch_size, seed=seed + k, config=config) for k, t in enumerate(TASK_NAMES)}
    out = check_out_dir(out)  # only once every batch could be drawn: a bad setting leaves no empty folder behind
    for task, b in batches.items():
        fig = plot_trial(b)
        atomic_write(out / f"{task}.png", lambda p: fig.savefig(p, format="png", dpi=110, bbox_inches="tight"))
        plt.close(fig)
    table = epoch_table(batches)
    atomic_write(out / "epochs.md", lambda p: Path(p).write_text(table + "\n"))
    return table


# %%
import tempfile as _tf

# %%
out = Path(_tf.mkdtemp())
table = draw_corpus(out, seed=0)
Markdown(table)

# %%
test_eq(sorted(p.name for p in out.iterdir()), sorted([f"{t}.png" for t in TASK_NAMES] + ["epochs.md"]))
test_eq(len(table.splitlines()), 2 + len(TASK_NAMES))


# %% [markdown]
# ## The score: % decisions correct
#
# The paper reports the fraction of trials whose decision is correct, read at the **last step** of each trial. A trial
# is correct when the network has broken fixation (fixation output < 0.5) and the direction it points to,
# `atan2(ŷ_sin, ŷ_cos)`, is within the criterion (0.1π = 18°, Duncker et al.'s; Yang et al. used 0.2π) of φ,
# circularly. A trial that should keep fixating (none of these nine, but the score supports them: φ is NaN) is correct
# when the fixation output stays above 0.5. In the ring encoding the direction is the population vector of the ring
# outputs.

# %%
#| export
def decode_direction(y: torch.Tensor,   # outputs [..., n_out] in the encoding of `config`
                     config: TaskConfig | None = None,
                    ) -> torch.Tensor:  # direction in [0, 2π), shape [...]
    "The response direction an output vector points to (baseline removed; population vector for rings)."
    config = config or TaskConfig()
    if config.encoding == "paper":
        base = _target_levels(config)[1]
        return torch.atan2(y[..., 1] - base, y[..., 2] - base) % (2 * math.pi)
    pref = torch.arange(config.n_ring, device=y.device) * (2 * math.pi / config.n_ring)
    r = y[..., 1:]
    return torch.atan2(r @ torch.sin(pref), r @ torch.cos(pref)) % (2 * math.pi)

def angular_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    "Circular distance |a - b| in [0, π]."
    return torch.abs(torch.remainder(a - b + math.pi, 2 * math.pi) - math.pi)

def _check_outputs(outputs: torch.Tensor, batch: Batch):
    T, B, C = batch.targets.shape
    if outputs.ndim != 3 or outputs.shape[1] != B or outputs.shape[2] != C or outputs.shape[0] < int(batch.length.max()):
        raise ValueError(f"outputs must have shape [T>={int(batch.length.max())}, {B}, {C}] for this batch "
                         f"(time-major, {C} output channels), got {list(outputs.shape)}")

def correct(outputs: torch.Tensor,  # network outputs [T, B, n_out]
            batch: Batch,           # the batch they answer
           ) -> torch.Tensor:       # bool [B]
    "Whether each trial's decision at its own last step is correct (the paper's score)."
    _check_outputs(outputs, batch)
    last = outputs[batch.length - 1, torch.arange(outputs.shape[1], device=outputs.device)]  # [B, n_out]
    fixating = last[:, 0] > 0.5
    respond = ~torch.isnan(batch.direction)
    err = angular_distance(decode_direction(last, batch.config), batch.direction)
    return torch.where(respond, ~fixating & (err < batch.config.criterion), fixating)

def accuracy(outputs: torch.Tensor, batch: Batch) -> float:
    "Fraction of trials of `batch` with a correct decision."
    return correct(outputs, batch).float().mean().item()


# %% [markdown]
# Three checks pin the score down: a perfect output (the targets themselves) scores 1; rotating the response by 20°
# fails the 18° criterion but passes Yang's 36°; an output that keeps fixating at the end scores 0.

# %%
#| export
def rotate_response(y: torch.Tensor, degrees: float) -> torch.Tensor:
    "Outputs `y` [..., 3] (paper encoding) with the response vector (sin, cos) rotated by `degrees`."
    a = math.radians(degrees)
    s, c = y[..., 1], y[..., 2]
    return torch.stack([y[..., 0], s * math.cos(a) + c * math.sin(a), c * math.cos(a) - s * math.sin(a)], -1)


# %%
b = make_batch("ContextMemDm1", 256, seed=0)
accuracy(b.targets, b), accuracy(rotate_response(b.targets, 20), b)

# %%
test_eq(accuracy(b.targets, b), 1.0)
test_eq(accuracy(rotate_response(b.targets, 20), b), 0.0)
test_eq(accuracy(rotate_response(b.targets, 15), b), 1.0)
b36 = make_batch("ContextMemDm1", 256, seed=0, config=TaskConfig(criterion=0.2 * math.pi))
test_eq(accuracy(rotate_response(b36.targets, 20), b36), 1.0)
fixating = b.targets.clone(); fixating[:, :, 0] = 1.
test_eq(accuracy(fixating, b), 0.0)
test_fail(lambda: accuracy(b.targets[:, :10], b), contains="shape")


# %% [markdown]
# ## The loss
#
# Both reference codes compute `mean(((y − ŷ)·mask)²)`: the mask sits *inside* the square. The effective weights on
# the squared error are therefore 1 and 25 (4 and 100 on the fixation channel), not 1 and 5. We reproduce that by
# default, and offer the mask outside the square (`squared_mask=False`) for those who want the weights as written.

# %%
#| export
def masked_mse(outputs: torch.Tensor,   # network outputs [T, B, n_out]
               batch: Batch,            # the batch they answer (targets and mask)
               squared_mask: bool = True,  # True: mean(((y−ŷ)·m)²), the reference; False: mean(m·(y−ŷ)²)
              ) -> torch.Tensor:
    "The reference masked mean-squared error, averaged over all steps, trials and channels."
    _check_outputs(outputs, batch)
    T = batch.targets.shape[0]
    err = outputs[:T] - batch.targets
    return ((err * batch.mask) ** 2).mean() if squared_mask else (batch.mask * err ** 2).mean()


# %%
b = make_batch("DelayPro", 16, seed=0)
masked_mse(b.targets, b).item(), masked_mse(torch.zeros_like(b.targets), b).item()

# %%
test_eq(masked_mse(b.targets, b).item(), 0.0)
off = b.targets + 0.1
test_close(masked_mse(off, b).item(), (0.01 * b.mask ** 2).mean().item(), eps=1e-7)

# %% [markdown]
# ## Variations
#
# **Per-trial timing.** With `timing="trial"` trials have their own lengths; the batch is padded to the longest, the
# padding is silent and weightless, and the score reads each trial at its own last step:

# %%
bt = make_batch("MemDm1", 6, seed=0, config=TaskConfig(timing="trial"))
bt.length, bt.mask[:, :, 1].sum(0)

# %%
test_eq(accuracy(bt.targets, bt), 1.0)
last = bt.length - 1
test_eq(bool((bt.mask[last, torch.arange(6), 1] == 5).all()), True)
test_eq(bool((bt.inputs[bt.length.min():, bt.length.argmin()] == 0).all()), True)

# %% [markdown]
# **Rule inputs.** A network that shares its input weights across tasks, such as the jointly trained baseline, needs
# to be told which task it is doing: `rule_inputs=True` appends one channel per task, on for the whole trial.

# %%
br = make_batch("MemAnti", 4, seed=0, config=TaskConfig(rule_inputs=True, sigma_in=0))
br.inputs[0, 0]

# %%
test_eq(br.inputs.shape[-1], 14)
test_eq(br.inputs[:, :, 5:].sum(-1).unique().tolist(), [1.0])
test_eq(int(br.inputs[0, 0, 5:].argmax()), task_index("MemAnti"))

# %% [markdown]
# **Yang's ring encoding.** Yang et al. (2019) encode a direction by a bump of activity over 32 units per modality
# with evenly spaced preferred directions, and read the response from a 32-unit output ring (targets 0.05 baseline,
# 0.8 fixation, a bump of height 0.8 around φ). Their networks pass the ring outputs through a sigmoid, and their
# criterion is 0.2π. Our ring encoding keeps the uniform epoch ranges of the MoLaP reference (Yang drew some epochs
# from short lists of values), so only the representation changes.

# %%
ring = TaskConfig(encoding="ring", targets="duncker")
bz = make_batch("MemDm2", 8, seed=3, config=ring)
plot_trial(bz);

# %%
test_eq(bz.inputs.shape[-1], 65)
test_eq(bz.targets.shape[-1], 33)
test_eq(accuracy(bz.targets, bz), 1.0)
assert angular_distance(decode_direction(bz.targets[-1], ring), bz.direction).max() < 1e-4


# %% [markdown]
# ## Properties of the corpus
#
# The specification lists properties any implementation must satisfy; they are checked here for every task (and
# again, over random configurations and seeds, by the property-based tests in `tests/test_tasks.py`).

# %%
#| export
def check_batch(batch: Batch) -> None:
    "Assert the structural properties of the reference specification on `batch` (raises `AssertionError`)."
    cfg, T = batch.config, batch.targets.shape[0]
    t = torch.arange(T)[:, None]
    go, length = batch.go.cpu(), batch.length.cpu()
    assert not torch.isnan(batch.inputs).any() and not torch.isnan(batch.targets).any(), "NaN in a batch"
    # mask: only the allowed weights; 0 in the first grace steps and after go; 5 (x2 on fixation) in the response
    m = batch.mask.cpu()
    assert set(m.unique().tolist()) <= {0., 1., 2., 5., 10.}, f"mask values {m.unique().tolist()}"
    grace = int(GRACE_MS / cfg.dt)
    assert (m[:grace] == 0).all(), "mask must be 0 in the first 100 ms"
    after_go = (t >= go) & (t < go + grace)
    assert (m[after_go] == 0).all(), "mask must be 0 in the 100 ms after the go cue"
    resp = (t >= go + grace) & (t < length)
    assert (m[:, :, 1:][resp] == 5).all() and (m[:, :, 0][resp] == 10).all(), "response weights 5 (fixation 10)"
    assert (m[t >= length] == 0).all(), "mask must be 0 after a trial's end"
    # every epoch lasts at least one step and the response outlasts its grace period
    for name, (a, b) in batch.epochs.items(): assert (b > a).all(), f"empty epoch {name}"
    assert (length - go > grace).all(), "response shorter than the grace period"
    if cfg.timing == "batch": assert length.unique().numel() == 1, "batch timing must give one length"


# %%
for task in TASK_NAMES:
    for cfg in (TaskConfig(), TaskConfig(timing="trial", modality="trial"), ring):
        check_batch(make_batch(task, 32, seed=7, config=cfg))

# %% [markdown]
# The task-specific properties: fixation input exactly 1 before the go cue and 0 after it (before noise), stimuli on
# through the response in the Delay tasks and absent after the stimulus in the Mem tasks, Anti responses opposite to
# the stimulus, and Dm directions 90°–270° apart with φ on the stronger stimulus.

# %%
clean = TaskConfig(sigma_in=0.)
for task in TASK_NAMES:
    b = make_batch(task, 64, seed=11, config=clean)
    go, L = int(b.go[0]), int(b.length[0])
    test_eq(b.inputs[:go, :, 0].unique().tolist(), [1.0])
    test_eq(b.inputs[go:, :, 0].unique().tolist(), [0.0])
    stim = b.inputs[:, :, 1:5].abs().sum(-1)
    if task.startswith("Delay"): assert (stim[L - 1] > 0.99).all()
    if task_family(task) == "Mem": assert (stim[b.epochs["delay"][0][0]:] == 0).all()
    if task_family(task) == "Dm":
        sep = angular_distance(b.stimuli[0].theta, b.stimuli[1].theta)
        assert (sep >= math.pi / 2 - 1e-5).all()
    if "Anti" in task:
        test_close(angular_distance(b.direction, b.stimuli[0].theta + math.pi), torch.zeros(64), eps=1e-5)

# %% [markdown]
# Finally, the noise: every input channel gets Gaussian noise of standard deviation σ_in·√(2/α), which is about 0.032
# at the default σ_in = 0.01 (what the MoLaP figures show):

# %%
noisy, quiet = make_batch("DelayPro", 512, seed=0), make_batch("DelayPro", 512, seed=0, config=clean)
(noisy.inputs - quiet.inputs).std().item(), 0.01 * math.sqrt(2 / 0.2)

# %%
test_close((noisy.inputs - quiet.inputs).std().item(), 0.01 * math.sqrt(10), eps=5e-4)


# %% [markdown]
# ## Your own task
#
# The corpus is open: `register_task` adds a task under a new name, and from then on `make_batch`, the trainer, the
# evaluation and MoLaP's task-specific weights treat it like the nine (they all find tasks by name through
# `task_index`). A task is a function `(batch_size, seed, config, device) -> Batch`; the easiest way to write one is
# to start from a batch of an existing task and change what differs. Its batch is checked like every other (shapes,
# loss mask, score at the last step: `check_batch` above). Rule inputs cover the nine tasks of the paper only.

# %%
#| export
def register_task(name: str,   # the new task's name (not one of the corpus)
                  make,        # (batch_size, seed, config, device) -> Batch with `task == name`
                  overwrite: bool = False,  # replace a task added before under `name` (never one of the nine)
                 ) -> str:
    "Add a task to the corpus under `name`; returns the name."
    if not isinstance(name, str) or not name: raise ValueError(f"a task name must be a non-empty string, got {name!r}")
    if name in TASK_NAMES: raise ValueError(f"task {name!r} is one of the corpus's nine; give your task another name")
    if name in USER_TASKS and not overwrite:
        raise ValueError(f"task {name!r} exists already; register_task(..., overwrite=True) replaces it")
    if not callable(make): raise ValueError("make must be a function (batch_size, seed, config, device) -> Batch")
    USER_TASKS[name] = make
    return name

def _user_batch(task, batch_size, seed, config, device) -> Batch:
    "A batch of an added task, checked against the corpus's conventions."
    if config.rule_inputs: raise ValueError(f"rule inputs cover the nine tasks of the paper, not {task!r}")
    b = USER_TASKS[task](batch_size, seed, config, device)
    if not isinstance(b, Batch) or b.task != task:
        raise ValueError(f"the maker of {task!r} must return a Batch with task={task!r}")
    if b.inputs.shape[1:] != (batch_size, n_inputs(config)) or b.targets.shape[1:] != (batch_size, n_outputs(config)):
        raise ValueError(f"the maker of {task!r} returned inputs {list(b.inputs.shape)} and targets "
                         f"{list(b.targets.shape)}; need [T, {batch_size}, {n_inputs(config)}] and [T, {batch_size}, {n_outputs(config)}]")
    check_batch(b)
    if config.encoding == "paper" and (ok := accuracy(b.targets, b)) < 1:  # the score reads `direction`: they must agree
        raise ValueError(f"the targets of {task!r} do not point to its `direction` (a perfect output would score {ok:.2f}); "
                         "the response target must be (sin φ, cos φ) with φ = direction")
    return b


# %% [markdown]
# An example: **MemProLong**, MemPro with delays of 1.6 to 3 s, longer than any delay of the corpus (up to 1.6 s).
# It asks a network to hold a direction for longer than it was ever trained to, which is the kind of new task the
# paper's generalisation claim is about; the MoLaP lesson learns it on the shipped frozen modules.

# %%
#| export
def mem_pro_long(batch_size, seed=None, config=None, device=None) -> Batch:
    "MemPro with a delay of 1600–3000 ms (the corpus's longest is 1600 ms)."
    config = replace(config or TaskConfig(), durations={"delay": (1600, 3000)})
    return replace(make_batch("MemPro", batch_size, seed=seed, config=config, device=device), task="MemProLong")


# %%
register_task("MemProLong", mem_pro_long)
bl = make_batch("MemProLong", 8, seed=0)
bl, task_index("MemProLong"), (bl.epochs["delay"][1] - bl.epochs["delay"][0])[0].item() * 20, "ms of delay"

# %% [markdown]
# The same seed gives the same batch, a perfect answer scores 1, and the mistakes a user can make are named:

# %%
test_eq(torch.equal(make_batch("MemProLong", 8, seed=0).inputs, bl.inputs), True)
test_eq(accuracy(bl.targets, bl), 1.0)
test_eq(task_index("MemProLong"), len(TASK_NAMES))
test_fail(lambda: register_task("MemPro", mem_pro_long), contains="one of the corpus's nine")
test_fail(lambda: register_task("MemProLong", mem_pro_long), contains="overwrite=True")
register_task("MemProLong", mem_pro_long, overwrite=True)  # re-running the cell above is fine this way
def rotated(n, seed, config, device):  # a task whose targets disagree with its answer: trained, it would score 0
    b = mem_pro_long(n, seed, config, device)
    return replace(b, task="Rotated", direction=b.direction + 1.)
register_task("Rotated", rotated)
test_fail(lambda: make_batch("Rotated", 4, seed=0), contains="do not point to its `direction`")
USER_TASKS.pop("Rotated")
test_fail(lambda: register_task("Other", "not a function"), contains="make must be a function")
register_task("Bad", lambda n, seed, config, device: make_batch("MemPro", n, seed=seed))
test_fail(lambda: make_batch("Bad", 4, seed=0), contains="must return a Batch with task='Bad'")
test_fail(lambda: make_batch("NoSuchTask", 4), contains="add your own with register_task")
USER_TASKS.pop("Bad"); USER_TASKS.pop("MemProLong");  # the lesson's corpus stays the nine tasks
