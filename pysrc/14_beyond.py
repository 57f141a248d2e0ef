# %% [markdown]
# # Beyond the corpus: the field's own tasks on MoLaP's modules
#
# > Tasks from neurogym, the field's shared task library, learned on the shipped frozen modules (new input and output weights only), against a network trained from scratch and the joint network's frozen recurrent weights.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/14_beyond.ipynb)

# %% [markdown]
# The generalisation lesson left one of the nine corpus tasks out and learned it on modules pre-trained on the other
# eight. Those nine tasks are a family of near-identical tasks (one ring of directions, one answer format), so that is
# a mild test. The stronger one, and the first thing a researcher will try, is a task from *outside* the corpus:
# **neurogym** (Molano-Mazón et al.) is the field's shared library of cognitive tasks. Its tasks have their own input
# channels, their own action sets and their own scoring.
#
# This lesson builds what that takes: tasks of any shape on the shipped modules (each task its own I_T: n × n_in_T
# and O_T: n_actions × n), a neurogym source that turns an environment into batches, a categorical loss and
# neurogym's way of scoring a trial, and then the experiment: eight neurogym tasks, three learners, three seeds.
#
# Nothing in this experiment is in the paper. Every choice below is ours and is a parameter.

# %%
#| eval: false
#| hide
# %pip install -q "molap[neurogym] @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp beyond

# %%
#| export
from __future__ import annotations
import copy, json, math, statistics, warnings
from dataclasses import dataclass, replace
from pathlib import Path
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from molap.core import atomic_write, check_int, check_float, check_out_dir, check_device, load_results, weights_digest
from molap.jobs import run_jobs
from molap.networks import ModularRNN, LeakyRNN, count_parameters
from molap.training import TrainConfig, EVAL_SEED, FINAL_EVAL_SEED, make_optimizer, fit_steps, load_checkpoint, step_seed
from molap.generalisation import MARGIN, trials_to

# %%
#| hide
import contextlib, io, tempfile
import matplotlib.pyplot as plt
from IPython.display import Markdown
from fastcore.test import *
from molap.core import load_results, data_dir, load_weights
from molap.reproduce import load_network
from molap.tasks import make_batch
plt.rcParams["figure.dpi"] = 72  # light notebooks: figures at screen resolution

# %%
device = "cuda" if torch.cuda.is_available() else "cpu"
device

# %% [markdown]
# ## A neurogym environment as a source of batches
#
# A neurogym environment makes one trial at a time: `new_trial()` fills `ob` (the observations, [T, n_in]) and `gt`
# (the correct action at every step, [T]), and names the trial's periods (`start_ind`, `end_ind`). Its actions are
# discrete: 0 is "fixate", the others are choices. That is all a network's training data holds here, and all we use.
#
# Two settings tie an environment to our modules. The time step: the modules were trained with dt = 20 ms and
# τ = 100 ms (α = dt/τ = 0.2), so the environment runs at dt = 20 ms too (neurogym's defaults range from 20 to 100
# ms). And the scored period: neurogym scores a trial by the action taken in its response period, which most
# environments call "decision"; the others name it differently.

# %%
#| export
GYM_DT = 20.0  # ms per step: the modules' dt (α = dt/τ = 20/100, as in the corpus)
RESPONSE_PERIODS = ("decision", "production", "response", "test2", "test")  # the scored period: the first of these the task has

def _neurogym():
    "The neurogym package, or a one-line error saying how to get it."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import neurogym
            from neurogym.envs.registration import all_envs
    except ImportError:
        raise ImportError('neurogym is not installed: pip install "molap[neurogym]"') from None
    return neurogym, all_envs

def make_env(env_id: str,           # a neurogym id, e.g. "PerceptualDecisionMaking-v0" (the "-v0" may be left out)
             dt: float = GYM_DT,    # ms per step
             seed: int | None = None,  # seeds the environment's trials
             **kwargs,              # the environment's own settings (e.g. timing=...)
            ):
    "A neurogym environment (unwrapped) at time step `dt`, seeded; a one-line error for what it cannot take."
    neurogym, all_envs = _neurogym()
    ids = sorted(all_envs())
    env_id = env_id if env_id in ids or f"{env_id}-v0" not in ids else f"{env_id}-v0"
    if env_id not in ids: raise ValueError(f"unknown neurogym task {env_id!r}; tasks: {', '.join(ids)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try: env = neurogym.make(env_id, dt=dt, **kwargs).unwrapped
        except TypeError as e: raise ValueError(f"{env_id} does not take these settings: {e}") from None
    if not hasattr(env.action_space, "n"):
        raise ValueError(f"{env_id} has a continuous action space ({env.action_space}); molap learns tasks with "
                         "discrete actions (0 = fixate), e.g. PerceptualDecisionMaking, DelayMatchSample, GoNogo")
    if not hasattr(env, "new_trial"):
        raise ValueError(f"{env_id} is not a trial-based task (no new_trial); molap learns neurogym's TrialEnv tasks")
    env.seed(seed)
    return env

def response_period(env) -> str:
    "The period whose action scores a trial: the first of `RESPONSE_PERIODS` the environment has."
    if not getattr(env, "start_ind", None): env.new_trial()  # periods are known after a trial
    name = next((p for p in RESPONSE_PERIODS if p in env.start_ind), None)
    if name is None:
        raise ValueError(f"{type(env).__name__} has no response period (periods: {', '.join(env.start_ind)}); "
                         f"molap scores trials in one of: {', '.join(RESPONSE_PERIODS)}")
    return name


# %% [markdown]
# A batch stacks trials of different lengths, time-major like the corpus's, and pads the short ones. Besides inputs
# and the correct actions, it carries two things the loss and the score need, both read from the environment's own
# trial description: which steps are real (not padding) and which are in the response period.

# %%
#| export
RESPONSE_WEIGHT = 5.0  # loss weight of response-period steps (the corpus weights its response steps 5 too)

@dataclass
class EnvBatch:
    "A batch of trials of a neurogym task, time-major: what a network's training data holds."
    task: str                 # the environment's id
    inputs: torch.Tensor      # [T, B, n_in] observations (padding: 0)
    labels: torch.Tensor      # [T, B] correct action at every step (int64; 0 = fixate)
    mask: torch.Tensor        # [T, B] loss weights: 1 per step, RESPONSE_WEIGHT in the response period, 0 in padding
    window: torch.Tensor      # [T, B] bool: the response period, where the trial is scored
    length: torch.Tensor      # [B] steps of each trial
    n_actions: int            # actions, 0 = fixate
    dt: float                 # ms per step

    def __repr__(self):
        return (f"EnvBatch({self.task!r}, inputs={list(self.inputs.shape)}, {self.n_actions} actions, "
                f"steps {int(self.length.min())}–{int(self.length.max())})")

def env_seed(seed: int) -> int:
    "A 32-bit seed for neurogym (NumPy's `RandomState` takes no more) from any seed ≥ 0, by NumPy's `SeedSequence` hash."
    return int(np.random.SeedSequence(check_int("seed", seed, minimum=0)).generate_state(1)[0])

def env_batch(env_id: str,          # a neurogym id
              batch_size: int,      # trials
              seed: int,            # same seed, same batch
              dt: float = GYM_DT,
              device=None,
              **kwargs,             # the environment's settings
             ) -> EnvBatch:
    "`batch_size` trials of a neurogym task from a fresh environment seeded with `seed`."
    batch_size = check_int("batch_size", batch_size)
    env = make_env(env_id, dt, env_seed(seed), **kwargs)
    period = response_period(env)
    env.seed(env_seed(seed))  # `response_period` may have drawn a trial
    obs, gts, wins = [], [], []
    for _ in range(batch_size):
        env.new_trial()
        obs.append(np.asarray(env.ob, np.float32)); gts.append(np.asarray(env.gt, np.int64))
        wins.append((env.start_ind[period], env.end_ind[period]))
    T, B, n_in = max(len(o) for o in obs), batch_size, obs[0].shape[1]
    x, y = np.zeros((T, B, n_in), np.float32), np.zeros((T, B), np.int64)
    for i, (o, g) in enumerate(zip(obs, gts)): x[:len(o), i], y[:len(g), i] = o, g
    length = torch.tensor([len(o) for o in obs])
    t = torch.arange(T)[:, None]
    a, b = torch.tensor(wins).T
    window = (t >= a) & (t < b)
    mask = (t < length).float() * torch.where(window, RESPONSE_WEIGHT, 1.0)
    mv = lambda v: v.to(device) if device is not None else v
    return EnvBatch(env.spec.id if env.spec else env_id, mv(torch.from_numpy(x)), mv(torch.from_numpy(y)), mv(mask),
                    mv(window), mv(length), int(env.action_space.n), float(dt))


# %% [markdown]
# Same seed, same batch (any seed ≥ 0: neurogym takes 32-bit seeds, so `env_seed` hashes ours to 32 bits), and each
# batch's trials follow the environment's own rules. An example:

# %%
b = env_batch("PerceptualDecisionMaking", 4, seed=0)
b

# %%
test_eq(env_batch("PerceptualDecisionMaking", 4, seed=0).inputs, b.inputs)
test_ne(env_batch("PerceptualDecisionMaking", 4, seed=1).inputs, b.inputs)
test_ne(env_batch("PerceptualDecisionMaking", 4, seed=2**40).inputs, env_batch("PerceptualDecisionMaking", 4, seed=2**40 + 2**32).inputs)
assert (b.labels[b.window] > 0).all() and (b.labels[~b.window] == 0).all()  # a choice in the decision period only
with contextlib.redirect_stderr(io.StringIO()):
    test_fail(lambda: env_batch("NoSuchTask", 4, seed=0), contains="unknown neurogym task")
    test_fail(lambda: env_batch("ReachingDelayResponse", 4, seed=0), contains="continuous action space")

# %% [markdown]
# ## The loss and the score
#
# The corpus's tasks have continuous targets (a fixation level and a direction) and an MSE loss. A neurogym task has
# a correct *action* at every step, so the network's outputs are action logits and the loss is the cross-entropy,
# weighted by the batch's mask (response steps 5×, as in the corpus; padding 0).
#
# The score follows neurogym's environments: a trial is decided by the first non-fixation action in the response
# period, which must be the correct one; a trial whose correct action is to keep fixating (no-go) is correct if the
# network never responds there. Timing tasks (ReadySetGo, MotorTiming) ask for a response at one step: neurogym's
# ReadySetGo accepts it within 0.2 × the interval + 25 ms, and so do we, for every task whose correct response is
# shorter than its period. Fixation breaks before the response period are not penalised (neurogym's default,
# `abort=False`).

# %%
#| export
TIMING_MARGIN = (0.2, 25.0)  # a timed response counts within 0.2 × (its time in the period) + 25 ms (neurogym's ReadySetGo)

def _check_logits(logits: torch.Tensor, batch: EnvBatch):
    T, B = batch.labels.shape
    if logits.ndim != 3 or logits.shape[0] != T or logits.shape[1] != B or logits.shape[2] != batch.n_actions:
        raise ValueError(f"outputs must have shape [{T}, {B}, {batch.n_actions}] (time, trials, actions) for this batch; "
                         f"got {list(logits.shape)}")

def action_loss(logits: torch.Tensor,  # network outputs [T, B, n_actions]
                batch: EnvBatch,
               ) -> torch.Tensor:
    "Cross-entropy of the correct action at every step, weighted by the batch's mask (mean over steps and trials)."
    _check_logits(logits, batch)
    ce = F.cross_entropy(logits.reshape(-1, batch.n_actions), batch.labels.reshape(-1), reduction="none")
    return (ce * batch.mask.reshape(-1)).sum() / batch.mask.sum()

def _first(flags: torch.Tensor) -> torch.Tensor:
    "[T, B] bool -> [B] index of the first True (T if none)."
    T = flags.shape[0]
    idx = torch.arange(T, device=flags.device)[:, None].expand_as(flags)
    return torch.where(flags, idx, T).min(0).values

def action_correct(logits: torch.Tensor,  # network outputs [T, B, n_actions]
                   batch: EnvBatch,
                  ) -> torch.Tensor:      # bool [B]
    "Whether each trial's response is correct, as neurogym scores it (see above)."
    _check_logits(logits, batch)
    act, gt, w = logits.argmax(-1), batch.labels, batch.window
    B = gt.shape[1]
    r, g = _first(w & (act != 0)), _first(w & (gt != 0))  # first response / first correct response step
    T = gt.shape[0]
    responded, expected = r < T, g < T
    cols = torch.arange(B, device=gt.device)
    same = act[r.clamp(max=T - 1), cols] == gt[g.clamp(max=T - 1), cols]
    start = _first(w)
    timed = (w & (gt != 0)).sum(0) < w.sum(0)  # the correct response is a moment, not the whole period
    margin = (TIMING_MARGIN[0] * (g - start).float() * batch.dt + TIMING_MARGIN[1]) / batch.dt
    on_time = ~timed | ((r - g).abs().float() <= margin)
    return torch.where(expected, responded & same & on_time, ~responded)

def action_accuracy(logits: torch.Tensor, batch: EnvBatch) -> float:
    "Fraction of trials of `batch` with a correct response."
    return action_correct(logits, batch).float().mean().item()


# %% [markdown]
# The correct actions score 1 on every task, a network that always fixates scores the fraction of no-go trials, and
# a response at the wrong moment of a timing task is wrong:

# %%
def one_hot_logits(labels, n): return F.one_hot(labels, n).float() * 10

for env_id in ("PerceptualDecisionMaking", "GoNogo", "ReadySetGo", "DualDelayMatchSample"):
    bb = env_batch(env_id, 32, seed=0)
    test_eq(action_accuracy(one_hot_logits(bb.labels, bb.n_actions), bb), 1.0)
    fixate = one_hot_logits(torch.zeros_like(bb.labels), bb.n_actions)
    nogo = (bb.labels * bb.window).sum(0).eq(0).float().mean().item()
    test_close(action_accuracy(fixate, bb), nogo)
rsg = env_batch("ReadySetGo", 32, seed=0)
late = one_hot_logits(torch.roll(rsg.labels, 40, 0), 2)  # every response 800 ms late
assert action_accuracy(late, rsg) < 0.2


# %% [markdown]
# The vectorised score agrees with the rule written as a plain loop over trials and steps, on random outputs (each
# step's action drawn at random, so responses fall everywhere) of every kind of task:

# %%
def correct_by_loop(act, b):
    "The scoring rule, one trial at a time: first response in the period, its action, its moment."
    out = []
    for i in range(act.shape[1]):
        steps = [t for t in range(act.shape[0]) if b.window[t, i]]
        r = next((t for t in steps if act[t, i] != 0), None)
        g = next((t for t in steps if b.labels[t, i] != 0), None)
        if g is None: out.append(r is None); continue
        if r is None or act[r, i] != b.labels[g, i]: out.append(False); continue
        timed = sum(b.labels[t, i] != 0 for t in steps) < len(steps)
        margin = (TIMING_MARGIN[0] * (g - steps[0]) * b.dt + TIMING_MARGIN[1]) / b.dt
        out.append(not timed or abs(r - g) <= margin)
    return torch.tensor(out)

g = torch.Generator().manual_seed(0)
for env_id in ("PerceptualDecisionMaking", "GoNogo", "ReadySetGo", "DualDelayMatchSample"):
    bb = env_batch(env_id, 64, seed=1)
    for p_respond in (0.02, 0.2):  # rare and frequent responses
        act = torch.where(torch.rand(bb.labels.shape, generator=g) < p_respond,
                          torch.randint(1, bb.n_actions, bb.labels.shape, generator=g), 0)
        act = torch.where(torch.rand(bb.labels.shape, generator=g) < 0.3, bb.labels, act)  # some right answers too
        test_eq(action_correct(one_hot_logits(act, bb.n_actions), bb), correct_by_loop(act, bb))

# %% [markdown]
# ## Three learners of a new task
#
# Each learner meets the task for the first time and learns it from the same stream of trials (same seed, same
# batches), with the same optimiser settings:
#
# - **molap**: the shipped MoLaP network's modules J, frozen; a new I_T (n × n_in_T), b_T, O_T (n_actions × n) and
#   b_out are all that train. A task of any shape is a new set of these four; J stays as shipped.
# - **joint**: the shipped joint network's recurrent weights, frozen, with new input and output weights: what the
#   monolithic network trained on all nine tasks offers a new task.
# - **scratch**: a network of the same size and dynamics, every weight trained.
#
# The frozen weights come from the shipped full-profile networks (MoLaP's primitives from observables), the run's own
# seed where it ships, else seed 0; both MoLaP and the joint network ship three seeds, so each seed's runs read a
# different frozen network (checked below, from the seeds each run recorded).

# %%
#| export
GYM_METHODS = {
    "molap": "the shipped MoLaP modules J (frozen); new I_T, b_T, O_T, b_out trained",
    "joint": "the shipped joint network's recurrent weights (frozen); new input and output weights trained",
    "scratch": "a network of the same size and dynamics, every weight trained from scratch",
}

def _shipped(method: str, seed: int):
    "A shipped full-profile network: `method`'s own seed if it ships, else its seed 0."
    from molap.reproduce import load_network, network_file
    s = seed if network_file(method, "full", seed).exists() else 0
    return load_network(method, "full", s)[0], s

def env_learner(method: str,   # a key of `GYM_METHODS`
                n_in: int,     # the task's input channels
                n_out: int,    # its actions
                seed: int = 0, # initialisation of what trains (and which shipped modules)
               ) -> tuple:     # (network, the shipped seed its frozen weights come from, or None)
    "The network that learns a new task for `method`, with only the weights the method trains left trainable."
    if method not in GYM_METHODS: raise ValueError(f"unknown method {method!r}; methods: {', '.join(GYM_METHODS)}")
    ref, s = _shipped("molap", seed)
    kw = dict(alpha=ref.alpha, sigma_rec=ref.sigma_rec, activation=ref.activation, seed=seed)
    if method == "scratch": return LeakyRNN(n_in, ref.n_rec, n_out, **kw), None
    if method == "joint":
        joint, s = _shipped("joint", seed)
        net, J = ModularRNN(n_in, (joint.n_rec,), n_out, n_tasks=1, **kw), joint.W_rec
    else: net, J = ModularRNN(n_in, ref.module_sizes, n_out, n_tasks=1, **kw), ref.J
    with torch.no_grad(): net.J.copy_(J)
    return net.freeze_J(), s


# %% [markdown]
# What each learner trains, for a task with 3 inputs and 3 actions (the shipped network has 256 units in three
# modules):

# %%
for m in GYM_METHODS:
    net, s = env_learner(m, 3, 3)
    print(f"{m:8s} trains {count_parameters(net):6,} parameters (frozen weights from seed {s})")

# %% [markdown]
# ## Learning one task
#
# The loop is the corpus's (`train`), for a different kind of batch: the profile's steps and batch size, Adam with
# the learning rate decaying on a cosine, element-wise gradient clipping, an evaluation every few steps on a fixed
# batch of the task, a checkpoint that makes a run resumable after Ctrl-C, and a final evaluation on 512 trials no
# run trains on. The *quick* profile (400 steps of 32 trials) is what the shipped results use at three seeds; the
# *full* profile is the corpus's MoLaP stage (3,500 steps of 64 trials). Every learner gets the same settings, and
# in the shipped quick study each learner's learning rate is tuned the same way, per task (below).

# %%
#| export
GYM_PROFILES = {
    "smoke": TrainConfig(steps=20, batch_size=8, lr=3e-3, lr_final=3e-4, eval_every=10, eval_trials=32, checkpoint_every=10),
    "quick": TrainConfig(steps=400, batch_size=32, lr=3e-3, lr_final=3e-4, eval_every=40, eval_trials=128, checkpoint_every=40),
    "full": TrainConfig(steps=3500, batch_size=64, lr=1e-3, lr_final=1e-4, eval_every=250, eval_trials=256, checkpoint_every=250),
}
GYM_FINAL_TRIALS = 512  # trials of the final evaluation
LR_GRID = (1e-3, 3e-3, 1e-2)  # learning rates each learner is tuned over, per task (the quick study)
CRITERION = 0.8         # fraction correct whose first crossing counts as "learned" (neurogym tasks cap below 1: zero-coherence trials)

def gym_config(profile: str, seed: int = 0, lr: float | None = None) -> TrainConfig:
    "The training settings of `profile` (a key of `GYM_PROFILES`) with `seed`, and learning rate `lr` (decaying to lr/10)."
    if profile not in GYM_PROFILES: raise ValueError(f"unknown profile {profile!r}; profiles: {', '.join(GYM_PROFILES)}")
    c = replace(GYM_PROFILES[profile], seed=check_int("seed", seed, minimum=0))
    return c if lr is None else replace(c, lr=lr, lr_final=lr / 10)

@torch.no_grad()
def evaluate_env(net, env_id: str, n_trials: int, seed: int, device=None, **kwargs) -> float:
    "Fraction correct of `net` on `n_trials` trials of `env_id` drawn with `seed` (noise seeded too)."
    device = device or next(net.parameters()).device
    b = env_batch(env_id, n_trials, seed, device=device, **kwargs)
    return action_accuracy(_forward(net, b, torch.Generator(device).manual_seed(seed)), b)

def _forward(net, b: EnvBatch, g):
    return net(b.inputs, 0, generator=g) if isinstance(net, ModularRNN) else net(b.inputs, generator=g)


# %% [markdown]
# `learn_env` runs one learner on one task and returns its record: the curve (trials seen, fraction correct), the
# final score, the trials to the criterion, what it trained and how long it took.

# %%
#| export
def learn_env(env_id: str,                # a neurogym id
              method: str = "molap",      # a key of `GYM_METHODS`
              profile: str = "quick",     # a key of `GYM_PROFILES`
              seed: int = 0,
              checkpoint=None,            # path: resume from it if it exists, save to it as training goes
              progress: bool = True,
              device=None,
              lr: float | None = None,    # learning rate, decaying to a tenth of it (None: the profile's)
              **kwargs,                   # the environment's settings
             ) -> dict:
    "Learn a neurogym task with `method`; the record: curve, final fraction correct, trials to criterion, cost."
    config, device = gym_config(profile, seed, lr), check_device(device)
    probe = env_batch(env_id, 1, 0, **kwargs)
    net, shipped_seed = env_learner(method, probe.inputs.shape[-1], probe.n_actions, seed)
    net = net.to(device)
    opt = make_optimizer([p for p in net.parameters() if p.requires_grad], config)
    ev = lambda: evaluate_env(net, env_id, config.eval_trials, EVAL_SEED, device, **kwargs)

    def loss_at(step):
        b = env_batch(env_id, config.batch_size, step_seed(seed, step), device=device, **kwargs)
        return action_loss(_forward(net, b, torch.Generator(device).manual_seed(step_seed(seed, step, 1))), b)
    fresh = None if checkpoint is not None and Path(checkpoint).exists() else \
        dict(step=[], loss=[], eval_step=[0], accuracy={env_id: [ev()]}, seconds=0.)  # a score before training
    history = fit_steps(net, opt, config, [env_id], loss_at, lambda m: {env_id: ev()}, fresh, checkpoint, progress,
                        f"{method} {probe.task}")
    trials = [s * config.batch_size for s in history["eval_step"]]
    acc = history["accuracy"][env_id]
    final = evaluate_env(net, env_id, GYM_FINAL_TRIALS, FINAL_EVAL_SEED, device, **kwargs)
    frozen = None if shipped_seed is None else weights_digest(_shipped(method, shipped_seed)[0])  # what J it read
    return dict(task=probe.task, method=method, seed=seed, profile=profile, shipped_seed=shipped_seed, lr=config.lr,
                frozen_weights=frozen, trials=trials, accuracy=acc, final=final, trials_to_criterion=trials_to(trials, acc, CRITERION),
                trained_parameters=count_parameters(net), n_in=probe.inputs.shape[-1], n_actions=probe.n_actions,
                steps=config.steps, batch_size=config.batch_size, seconds=history["seconds"], model=net)


# %% [markdown]
# A smoke run of each learner on a short task (the profile with 20 steps of 8 trials: it shows the plumbing, not
# learning):

# %%
with tempfile.TemporaryDirectory() as d:
    rec = learn_env("GoNogo", "molap", "smoke", seed=0, checkpoint=Path(d) / "run.ckpt", progress=False)
    again = learn_env("GoNogo", "molap", "smoke", seed=0, checkpoint=Path(d) / "run.ckpt", progress=False)  # resumes: nothing left
print({k: rec[k] for k in ("task", "method", "final", "trained_parameters", "trials")})
test_eq(again["accuracy"], rec["accuracy"])
test_eq(rec["trials"][-1], 20 * 8)

# %% [markdown]
# ## The experiment: eight neurogym tasks, three learners, three seeds
#
# Eight tasks from neurogym, none of them in our corpus, chosen to span what the field asks of a network: a
# perceptual decision, a context-dependent decision, three working-memory tasks (comparing two frequencies across a
# delay, matching a sample, holding two samples with cues), go/no-go, and two timing tasks (discriminating two
# durations; producing an interval, ReadySetGo). Each runs with neurogym's own settings except dt = 20 ms.

# %%
#| export
GYM_TASKS = {  # neurogym id -> the kind of task (what it asks of a network)
    "PerceptualDecisionMaking-v0": "decision",
    "ContextDecisionMaking-v0": "context-dependent decision",
    "DelayComparison-v0": "working memory: compare two values",
    "DelayMatchSample-v0": "working memory: match to sample",
    "DualDelayMatchSample-v0": "working memory: two samples, cued",
    "GoNogo-v0": "go/no-go",
    "IntervalDiscrimination-v0": "timing: compare two durations",
    "ReadySetGo-v0": "timing: produce an interval",
}

# %% [markdown]
# One job is one learner on one task with one seed: it writes its record (without the network) to
# `neurogym/<task>-<method>-<profile>-seed<s>.json` when it finishes and keeps a checkpoint in `runs/` while it
# trains, so an interrupted study resumes where it stopped. The jobs are independent: `run_jobs` spreads them over
# local processes or a Dask cluster (`workers=`, `scheduler=`, as in the jobs lesson).

# %%
#| export
STYLE = {"molap": "C0", "joint": "C1", "scratch": "C2"}

def plot_gym_curves(res: dict):
    "Fraction correct against trials seen, per task (mean over seeds, the seeds' range shaded)."
    import matplotlib.pyplot as plt
    tasks = list(res["tasks"])
    cols = min(4, len(tasks)); rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.5 * rows), sharey=True, squeeze=False)
    for ax, t in zip(axes.flat, tasks):
        for m, r in res["tasks"][t]["methods"].items():
            a = np.array(r["accuracy"])
            ax.plot(r["trials"], a.mean(0), color=STYLE.get(m), label=m)
            ax.fill_between(r["trials"], a.min(0), a.max(0), color=STYLE.get(m), alpha=0.2, lw=0)
        ax.axhline(res["criterion"], color="k", lw=0.5, ls=":")
        ax.set_title(t.removesuffix("-v0"), fontsize=9); ax.set_xlabel("trials seen", fontsize=8)
    for ax in axes.flat[len(tasks):]: ax.axis("off")
    axes[0, 0].set_ylabel("fraction correct"); axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig

def _run_name(task: str, method: str, profile: str, seed: int, lr: float | None = None) -> str:
    "A run's file name: the profile's learning rate unnamed, another one named."
    return f"{task}-{method}-{profile}{'' if lr is None or lr == GYM_PROFILES[profile].lr else f'-lr{lr:g}'}-seed{seed}"

def _record_file(out: Path, task: str, method: str, profile: str, seed: int, lr: float | None = None) -> Path:
    return out / "neurogym" / f"{_run_name(task, method, profile, seed, lr)}.json"

def gym_job(task: str, method: str, profile: str, seed: int, out, device=None, lr: float | None = None,
            progress: bool = True) -> dict:
    "One learner on one task: its record (the network left out), written to the study's folder; resumable."
    out = Path(out)
    (out / "runs").mkdir(exist_ok=True); (out / "neurogym").mkdir(exist_ok=True)
    ck = out / "runs" / f"gym-{_run_name(task, method, profile, seed, lr)}.ckpt"
    rec = learn_env(task, method, profile, seed, checkpoint=ck, progress=progress, device=device, lr=lr)
    rec.pop("model")
    atomic_write(_record_file(out, task, method, profile, seed, lr), lambda f: Path(f).write_text(json.dumps(rec)))
    return rec

def validation_score(rec: dict) -> float:
    "A run's mean fraction correct over its learning curve (the evaluation batches, never the final test): speed and level."
    return statistics.mean(rec["accuracy"])

def _summarise(recs: list) -> dict:
    "The records of one task and method, one per seed, as lists over seeds."
    return dict(final=[r["final"] for r in recs], trials_to_criterion=[r["trials_to_criterion"] for r in recs],
                trials=recs[0]["trials"], accuracy=[r["accuracy"] for r in recs],
                trained_parameters=recs[0]["trained_parameters"], seconds=[r["seconds"] for r in recs],
                shipped_seed=[r["shipped_seed"] for r in recs], frozen_weights=[r.get("frozen_weights") for r in recs])

def frozen_provenance(res: dict) -> dict:
    "Per learner with frozen weights: how many of its runs read the network that ships now (by weights digest)."
    out = {}
    for m in ("molap", "joint"):
        runs = [(d, s) for v in res["tasks"].values() if m in v["methods"]
                for d, s in zip(v["methods"][m].get("frozen_weights", [None] * len(v["methods"][m]["final"])),
                                v["methods"][m]["shipped_seed"])]
        now = {s: weights_digest(_shipped(m, s)[0]) for s in {s for _, s in runs}}
        out[m] = dict(runs=len(runs), shipped=sum(d == now[s] for d, s in runs), unrecorded=sum(d is None for d, _ in runs))
    return out

def neurogym_study(tasks=tuple(GYM_TASKS),  # neurogym ids
                   methods=tuple(GYM_METHODS),
                   seeds=(0, 1, 2),
                   profile: str = "quick",  # a key of `GYM_PROFILES`
                   out="molap-results",     # output folder: neurogym-<profile>.json, records, checkpoints
                   workers: int = 1,        # parallel processes (one torch thread each)
                   scheduler=None,          # a Dask scheduler's address: run the jobs there
                   progress: bool = True,
                   device=None,
                   name: str | None = None, # the summary's file name (default neurogym-<profile>); `molap learn`: learn-<task>-<profile>
                   lrs=None,                # learning rates to tune over, per task and learner, on the first seed (None: the profile's)
                  ) -> dict:                # the contents of <name>.json
    "Learn every task with every learner and seed on the same trials; write <name>.json and its curves (resumable)."
    gym_config(profile)
    seeds = [check_int("seed", s, minimum=0) for s in seeds]
    if not seeds: raise ValueError("give at least one seed")
    bad = [m for m in methods if m not in GYM_METHODS]
    if bad: raise ValueError(f"unknown method {bad[0]!r}; methods: {', '.join(GYM_METHODS)}")
    tasks = [make_env(t).spec.id for t in tasks]  # checks each (neurogym installed, id known, discrete actions)
    out, device = check_out_dir(out), check_device(device)
    fn = gym_job
    if workers > 1 or scheduler is not None: from molap.beyond import gym_job as fn  # picklable, also from a notebook
    def runs(keys, desc):  # key (task, method, seed, lr) -> record: finished ones read back, the others run
        done = {k: json.loads(f.read_text()) for k in keys if (f := _record_file(out, k[0], k[1], profile, k[2], k[3])).exists()}
        todo = {k: (k[0], k[1], profile, k[2], out, device, k[3]) for k in keys if k not in done}
        return done | run_jobs(fn, todo, workers, scheduler, progress=progress, desc=desc, out=out)
    tuning, chosen = None, {(t, m): None for t in tasks for m in methods}
    if lrs is not None:  # each learner its best learning rate per task, on the first seed's learning curve
        lrs = [check_float("lr", x, positive=True) for x in lrs]
        tried = runs([(t, m, seeds[0], x) for t in tasks for m in methods for x in lrs], "learning rates × tasks × learners")
        tuning = {t: {m: {f"{x:g}": validation_score(tried[t, m, seeds[0], x]) for x in lrs} for m in methods} for t in tasks}
        chosen = {(t, m): max(lrs, key=lambda x: tuning[t][m][f"{x:g}"]) for t in tasks for m in methods}
    got = runs([(t, m, s, chosen[t, m]) for t in tasks for m in methods for s in seeds], "neurogym tasks × learners × seeds")
    done = {(t, m, s): r for (t, m, s, _), r in got.items()}
    res = dict(profile=profile, settings={k: v for k, v in GYM_PROFILES[profile].__dict__.items()}, seeds=seeds,
               methods=list(methods), descriptions={m: GYM_METHODS[m] for m in methods}, criterion=CRITERION, dt=GYM_DT,
               response_weight=RESPONSE_WEIGHT, timing_margin=list(TIMING_MARGIN), margin=MARGIN,
               final_trials=GYM_FINAL_TRIALS, torch=torch.__version__, device=device,
               lrs=lrs, tuning=tuning,  # the learning rates tried and each one's validation score (first seed)
               tasks={t: dict(kind=GYM_TASKS.get(t, "other"), n_in=done[t, methods[0], seeds[0]]["n_in"],
                              n_actions=done[t, methods[0], seeds[0]]["n_actions"],
                              methods={m: _summarise([done[t, m, s] for s in seeds]) | dict(lr=chosen[t, m] or GYM_PROFILES[profile].lr)
                                       for m in methods}) for t in tasks})
    name = name or f"neurogym-{profile}"
    atomic_write(out / f"{name}.json", lambda f: Path(f).write_text(json.dumps(res, indent=1)))
    fig = plot_gym_curves(res)
    atomic_write(out / f"{name}.png", lambda f: fig.savefig(f, format="png", dpi=100))
    fig.clf()  # not kept open: a study may run many times in one process
    return res

def load_neurogym(profile: str = "quick") -> dict:
    "The shipped results of the neurogym study at `profile`."
    return load_results(f"neurogym-{profile}")


# %% [markdown]
# A small study runs here (two tasks, the smoke profile, one seed) to show the output; the shipped results are the
# quick profile's eight tasks × three learners × three seeds, made with
# `neurogym_study(profile="quick", out=..., workers=2, lrs=LR_GRID)`.
#
# **Tuned alike.** A learning rate that suits one learner may not suit another: a network trained from scratch
# has tens of times more weights to move than MoLaP's new I_T and O_T. So with `lrs=` every learner is tuned the
# same way, per task: one run per learning rate of `LR_GRID` on the first seed, and the rate with the best mean
# fraction correct over the learning curve (the evaluation batches, never the final test trials; a mean over the
# curve rewards both speed and level) is the one its three seeds use. The tuning scores ship with the results.

# %%
with tempfile.TemporaryDirectory() as d:
    small = neurogym_study(["GoNogo", "PerceptualDecisionMaking"], seeds=[0], profile="smoke", out=d, progress=False)
    test_eq(sorted(small["tasks"]), ["GoNogo-v0", "PerceptualDecisionMaking-v0"])
    test_eq(json.loads((Path(d) / "neurogym-smoke.json").read_text())["tasks"].keys(), small["tasks"].keys())
{t: {m: r["final"] for m, r in v["methods"].items()} for t, v in small["tasks"].items()}


# %% [markdown]
# ## Verdicts
#
# A difference between two learners counts only when every seed agrees beyond `MARGIN` (0.02, about the standard
# deviation of a fraction correct measured on 512 trials), the rule of the generalisation lesson. Two questions per
# task: does MoLaP *end* better or worse than the other learner (final fraction correct), and does it get there
# *faster* (trials to the criterion, 0.8 correct)? The primitives **help** on a task when MoLaP ends better than the
# network from scratch, or ends no worse and reaches the criterion sooner in every seed; they **cannot** carry a task
# when MoLaP ends worse than the network from scratch.

# %%
#| export
def final_verdict(res: dict, task: str, other: str, method: str = "molap") -> str:
    "'better' / 'worse' if `method`'s final score beats / trails `other`'s by more than `MARGIN` in every seed."
    ms = res["tasks"][task]["methods"]
    d = [a - b for a, b in zip(ms[method]["final"], ms[other]["final"])]
    return "better" if min(d) > res["margin"] else "worse" if max(d) < -res["margin"] else "no clear difference"

def speed_verdict(res: dict, task: str, other: str, method: str = "molap") -> str:
    "'faster' if `method` reached the criterion sooner than `other` (or `other` never did) in every seed; 'slower' the reverse."
    ms = res["tasks"][task]["methods"]
    never = float("inf")
    pairs = [(a if a is not None else never, b if b is not None else never)
             for a, b in zip(ms[method]["trials_to_criterion"], ms[other]["trials_to_criterion"])]
    if all(a == b == never for a, b in pairs): return "neither reached it"
    if all(a < b for a, b in pairs): return "faster"
    if all(a > b for a, b in pairs): return "slower"
    return "no clear difference"

def gym_claims(res: dict, method: str = "molap") -> list:
    "Per task: MoLaP against each other learner, and whether its primitives help (or cannot carry the task)."
    rows = []
    for t, v in res["tasks"].items():
        others = [m for m in v["methods"] if m != method]
        row = dict(task=t, kind=v["kind"], mean={m: statistics.mean(r["final"]) for m, r in v["methods"].items()},
                   final={o: final_verdict(res, t, o, method) for o in others},
                   speed={o: speed_verdict(res, t, o, method) for o in others})
        if "scratch" in others:
            row["helps"] = row["final"]["scratch"] == "better" or (
                row["final"]["scratch"] == "no clear difference" and row["speed"]["scratch"] == "faster")
            row["cannot"] = row["final"]["scratch"] == "worse"
        row["unlearned"] = all(x is None for r in v["methods"].values() for x in r["trials_to_criterion"])
        rows.append(row)
    return rows


# %% [markdown]
# The verdicts on the smoke study above (one seed, twenty steps: the format, not a result):

# %%
[(c["task"], c["final"], c["speed"]) for c in gym_claims(small)]


# %% [markdown]
# ## The shipped results
#
# The quick profile's study ships as `neurogym-quick.json`. Its table: the final fraction correct (mean over seeds,
# and the range), the trials each learner needed to reach 0.8 correct (median over seeds; "–" where a seed never
# did within the budget) and how many weights it trained. `molap learn` prints the same per task, one line a learner.

# %%
#| export
def _median_trials(v: list):
    reached = [x for x in v if x is not None]
    return None if len(reached) < len(v) else statistics.median(reached)

def gym_table(res: dict) -> str:
    "Markdown: per task, each learner's final fraction correct (mean and range over seeds), trials to criterion, weights."
    ms = res["methods"]
    rows = ["| task | " + " | ".join(f"{m}: final" for m in ms) + f" | trials to {res['criterion']} ({' / '.join(ms)}) | "
            f"trained weights ({' / '.join(ms)}) |", "|---|" + "---|" * (len(ms) + 2)]
    for t, v in res["tasks"].items():
        r = v["methods"]
        fin = [f"{statistics.mean(r[m]['final']):.2f} ({min(r[m]['final']):.2f}–{max(r[m]['final']):.2f})" for m in ms]
        to = [f"{x:,.0f}" if (x := _median_trials(r[m]["trials_to_criterion"])) is not None else "–" for m in ms]
        rows.append(f"| {t.removesuffix('-v0')} | " + " | ".join(fin) + " | " + " / ".join(to) + " | "
                    + " / ".join(f"{r[m]['trained_parameters']:,}" for m in ms) + " |")
    return "\n".join(rows)


# %% [markdown]
# `molap learn` prints a short table of one task's learners:

# %%
#| export
def learn_table(res: dict) -> str:
    "A console table: per task and learner, final fraction correct (mean over seeds), trials to criterion, cost."
    rows = [f"{'task':24s} {'learner':7s} {'final':>5s} {'to ' + str(res['criterion']):>7s} {'trained':>7s} {'sec':>4s}"]
    for t, v in res["tasks"].items():
        for m, r in v["methods"].items():
            to = _median_trials(r["trials_to_criterion"])
            rows.append(f"{t.removesuffix('-v0'):24s} {m:7s} {statistics.mean(r['final']):5.2f} "
                        f"{'never' if to is None else f'{to:,.0f}':>7s} {r['trained_parameters']:7,} {statistics.mean(r['seconds']):4.0f}")
    return f"Fraction correct ({res['profile']} profile, seeds {res['seeds']}):\n" + "\n".join(rows)


# %%
print(learn_table(small))


# %% [markdown]
# The verdicts, as sentences computed from the results (the home page and this lesson print these; a test checks each
# against the data):

# %%
#| export
def _names(cs: list) -> str:
    "Task names with their kind; a task no learner learned (no seed of any learner reached the criterion) says so."
    return ", ".join(f"{c['task'].removesuffix('-v0')} ({c['kind']}{'; no learner reached the criterion' if c['unlearned'] else ''})"
                     for c in cs) or "none"

def gym_claims_markdown(res: dict) -> str:
    "The study's verdicts as Markdown sentences, each computed from `res`."
    cs, n = gym_claims(res), len(res["tasks"])
    helps, cannot = [c for c in cs if c["helps"]], [c for c in cs if c["cannot"]]
    rest = [c for c in cs if not c["helps"] and not c["cannot"]]
    seeds = f"every one of {len(res['seeds'])} seeds" if len(res["seeds"]) > 1 else "its one seed"
    out = [f"- **The primitives help on {len(helps)} of {n} tasks**: {_names(helps)}. MoLaP on the frozen modules ends "
           f"better than a network trained from scratch on the same trials, or as good and sooner to "
           f"{res['criterion']} correct, in {seeds}.",
           (f"- **They cannot carry {len(cannot)} of {n}**: {_names(cannot)}: MoLaP ends below the network from scratch "
            "in every seed (" + "; ".join(f"{c['task'].removesuffix('-v0')} {c['mean']['molap']:.2f} vs "
                                        f"{c['mean']['scratch']:.2f}" for c in cannot) + ")." if cannot else
            f"- **No task where MoLaP is behind in every seed**: on none does it end below the network from scratch in {seeds}."),
           f"- **Neither, within the seeds' spread**: {_names(rest)}."]
    if "joint" in res["methods"]:
        by = {v: [c for c in cs if c["final"]["joint"] == v] for v in ("better", "worse", "no clear difference")}
        count = lambda v: (f"{len(by[v])} (" + ", ".join(c["task"].removesuffix("-v0") for c in by[v]) + ")") if by[v] else "none"
        out.append(f"- **Against the joint network's frozen recurrent weights** (same new input and output weights), "
                   f"MoLaP's modules end better on {count('better')}, worse on {count('worse')}, and alike on "
                   f"{len(by['no clear difference'])} of {n} tasks.")
    p = {m: [v["methods"][m]["trained_parameters"] for v in res["tasks"].values()] for m in res["methods"]}
    if "scratch" in p:
        frac = [a / b for a, b in zip(p["molap"], p["scratch"])]
        span = lambda v, f="{:,}": f.format(min(v)) if min(v) == max(v) else f"{f.format(min(v))}–{f.format(max(v))}"
        out.append(f"- MoLaP trains {span(p['molap'])} weights per task, {span([100 * x for x in frac], '{:.1f}')}% "
                   f"of what the network from scratch trains ({span(p['scratch'])}); the modules' pre-training is "
                   "spent once, on the corpus.")
    return "\n".join(out)


# %% [markdown]
# The shipped study, its table, its curves and its verdicts:

# %%
res = load_neurogym("quick")
Markdown(gym_table(res))

# %%
plot_gym_curves(res);

# %%
Markdown(gym_claims_markdown(res))


# %% [markdown]
# Which frozen weights the learners read: every run records a digest of the shipped network its J (or the joint
# network's W_rec) came from. A network shipped again later (the joint network was re-trained with the separate
# networks' learning-rate schedule after part of this study ran) makes those runs describe earlier weights, and this
# line says so:

# %%
def provenance_line(res):
    return "; ".join(f"{m}: {p['shipped']} of {p['runs']} runs read the network that ships now"
                     + (", the others earlier weights" if p["shipped"] + p["unrecorded"] < p["runs"] else "")
                     + (f" ({p['unrecorded']} not recorded)" if p["unrecorded"] else "")
                     for m, p in frozen_provenance(res).items())
Markdown(provenance_line(res))

# %%
for v in res["tasks"].values():  # each seed's run read its own seed's frozen network (MoLaP's and the joint one's)
    for m in ("molap", "joint"):
        test_eq(v["methods"][m]["shipped_seed"], res["seeds"])
        test_eq(len(set(v["methods"][m]["frozen_weights"])), len(res["seeds"]))

# %% [markdown]
# The study is complete (every task, learner and seed), and each verdict holds in the per-seed data, checked here
# directly rather than through `gym_claims`:

# %%
assert len(res["tasks"]) >= 8 and len(res["seeds"]) >= 3 and set(res["methods"]) == set(GYM_METHODS)
for t, v in res["tasks"].items():
    for m, r in v["methods"].items(): test_eq(len(r["final"]), len(res["seeds"]))
for c in gym_claims(res):
    mo, sc = (res["tasks"][c["task"]]["methods"][m] for m in ("molap", "scratch"))
    diffs = [a - b for a, b in zip(mo["final"], sc["final"])]
    if c["cannot"]: assert all(d < -MARGIN for d in diffs), c["task"]
    if c["helps"]:
        assert all(d > MARGIN for d in diffs) or (all(abs(d) <= MARGIN or d > 0 for d in diffs) and all(
            a is not None and (b is None or a < b) for a, b in zip(mo["trials_to_criterion"], sc["trials_to_criterion"]))), c["task"]
text = gym_claims_markdown(res)
assert f"help on {sum(c['helps'] for c in gym_claims(res))} of {len(res['tasks'])} tasks" in text


# %% [markdown]
# The learning rate each learner was tuned to, per task (its validation score over the learning curve beside it):

# %%
def tuned(t, m):
    lr = res["tasks"][t]["methods"][m]["lr"]
    return f"{lr:g} ({res['tuning'][t][m][f'{lr:g}']:.2f})"
Markdown("| task | " + " | ".join(res["methods"]) + " |\n|---|" + "---|" * len(res["methods"]) + "\n" + "\n".join(
    f"| {t.removesuffix('-v0')} | " + " | ".join(tuned(t, m) for m in res["methods"]) + " |" for t in res["tasks"]))

# %%
test_eq(res["lrs"], list(LR_GRID))
for t, v in res["tasks"].items():
    for m, r in v["methods"].items():
        scores = res["tuning"][t][m]
        test_eq(scores[f"{r['lr']:g}"], max(scores.values()))  # each learner runs at its best rate on this task

# %% [markdown]
# ## The learned weights ship
#
# What MoLaP learns for a new task is small: I_T, b_T, O_T and b_out, under three thousand numbers per task (checked
# below on the study). The package ships them for the first seed of the study (`gym-heads-<profile>-seed0.pt`); with
# the shipped modules they rebuild each trained learner exactly, for the analyses below and for anyone's own.

# %%
assert max(v["methods"]["molap"]["trained_parameters"] for v in res["tasks"].values()) < 3000

# %%
#| export
HEADS = ("I_T", "b_T", "O_T", "b_out")  # what MoLaP trains for a new task

def heads_file(profile: str = "quick", seed: int = 0) -> Path:
    from molap.core import data_dir
    return data_dir() / "pretrained" / f"gym-heads-{profile}-seed{seed}.pt"

def save_heads(out, profile: str = "quick", seed: int = 0, path=None) -> Path:
    "Collect the trained MoLaP heads of a finished study (`out/neurogym-<profile>.json`) into one file (default: the shipped one)."
    res, heads = json.loads((Path(out) / f"neurogym-{profile}.json").read_text()), {}
    for t, v in res["tasks"].items():
        ck = Path(out) / "runs" / f"gym-{_run_name(t, 'molap', profile, seed, v['methods']['molap']['lr'])}.ckpt"
        state = load_checkpoint(ck)
        if state["step"] != state["config"]["steps"]: raise ValueError(f"{ck} is not finished (step {state['step']})")
        heads[t] = {k: state["model"][k] for k in HEADS}
    path = Path(path) if path is not None else heads_file(profile, seed)
    atomic_write(path, lambda f: torch.save(dict(format="molap-gym-heads-v1", profile=profile, seed=seed, heads=heads), f))
    return path

def load_learner(task: str, profile: str = "quick", seed: int = 0) -> ModularRNN:
    "The MoLaP learner of a neurogym task as the study trained it: the shipped modules and the shipped heads."
    from molap.core import load_weights
    f = heads_file(profile, seed)
    if not f.exists(): raise FileNotFoundError(f"no shipped heads for profile {profile!r}, seed {seed}")
    state = load_weights(f, "gym heads")
    task = make_env(task).spec.id
    if task not in state["heads"]: raise ValueError(f"no shipped head for {task}; shipped: {', '.join(state['heads'])}")
    h = state["heads"][task]
    net, _ = env_learner("molap", h["I_T"].shape[-1], h["O_T"].shape[1], seed)
    net.load_state_dict({**net.state_dict(), **h})
    return net


# %% [markdown]
# ## One network, tasks of every shape
#
# Each learner above is its own network: a copy of the shipped J with one task's weights. MoLaP's network is one J
# shared by all its tasks, so the natural home for a new task is *beside* the nine: `ShapedMoLaP` holds the frozen
# modules once and, by name, each task's I_T (n × n_in_T), b_T, O_T (n_out_T × n) and b_out, of any sizes. It starts
# from a shipped MoLaP network (its nine corpus tasks, their weights copied) and takes new tasks with `add_task`.

# %%
#| export
class ShapedMoLaP(torch.nn.Module):
    "Frozen modules J shared by tasks of any shape; each task, by name, its own I_T, b_T, O_T, b_out."
    def __init__(self, modules: ModularRNN,    # its J (frozen) and dynamics (α, σ_rec, f) serve every task
                 out_scale: float = 0.1):      # O_T ~ N(0, 1/n) × out_scale, as in ModularRNN
        super().__init__()
        self.core = copy.deepcopy(modules).requires_grad_(False)  # J and its dynamics; its own task weights unused
        self.out_scale, self.n_rec = out_scale, modules.n_rec
        self.I_T, self.b_T = torch.nn.ParameterDict(), torch.nn.ParameterDict()
        self.O_T, self.b_out = torch.nn.ParameterDict(), torch.nn.ParameterDict()

    @classmethod
    def from_molap(cls, net: ModularRNN) -> "ShapedMoLaP":
        "A trained MoLaP network's modules and its tasks (named by `net.tasks`), weights copied."
        me = cls(net)
        for k, t in enumerate(net.tasks):
            me.add_task(t, weights=dict(I_T=net.I_T[k], b_T=net.b_T[k], O_T=net.O_T[k], b_out=net.b_out[k]))
        return me

    @property
    def tasks(self) -> list: return list(self.I_T)

    def add_task(self, name: str,           # the task's name (no "."; e.g. a neurogym id)
                 n_in: int | None = None,   # its input channels (or from `weights`)
                 n_out: int | None = None,  # its outputs (or from `weights`)
                 seed: int = 0,             # initialisation of its weights
                 weights: dict | None = None,  # I_T, b_T, O_T, b_out to start from (e.g. shipped heads)
                ) -> "ShapedMoLaP":
        "Add a task of any shape with fresh (or given) weights; the modules stay as they are."
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"a task name must be a non-empty string without '.', got {name!r}")
        if name in self.I_T: raise ValueError(f"task {name!r} exists already; tasks: {', '.join(self.tasks)}")
        n = self.n_rec
        if weights is None:
            n_in, n_out = check_int("n_in", n_in), check_int("n_out", n_out)
            g = torch.Generator().manual_seed(seed)
            weights = dict(I_T=torch.randn(n, n_in, generator=g) / math.sqrt(n_in), b_T=torch.zeros(n),
                           O_T=torch.randn(n_out, n, generator=g) * (self.out_scale / math.sqrt(n)), b_out=torch.zeros(n_out))
        I, O = weights["I_T"], weights["O_T"]
        if I.shape[0] != n or O.shape[-1] != n or weights["b_T"].shape != (n,) or weights["b_out"].shape != (O.shape[0],):
            raise ValueError(f"weights for {name!r} must be I_T [{n}, n_in], b_T [{n}], O_T [n_out, {n}], b_out [n_out]; got "
                             + ", ".join(f"{k} {list(v.shape)}" for k, v in weights.items()))
        dev = self.core.J.device
        for d, k in ((self.I_T, "I_T"), (self.b_T, "b_T"), (self.O_T, "O_T"), (self.b_out, "b_out")):
            d[name] = torch.nn.Parameter(weights[k].detach().clone().to(dev))
        return self

    def forward(self, x: Tensor,             # inputs [T, B, n_in of the task]
                task: str,                   # the task's name
                h0: Tensor | None = None,
                generator: torch.Generator | None = None,
                return_hidden: bool = False,
               ):                            # y [T, B, n_out of the task] (and h [T, B, n])
        "Run the frozen modules on `x` through task `task`'s own input and output weights."
        if task not in self.I_T: raise ValueError(f"unknown task {task!r}; tasks: {', '.join(self.tasks)}")
        I = self.I_T[task]
        if x.ndim != 3 or x.shape[-1] != I.shape[1]:
            raise ValueError(f"task {task!r} reads inputs [T, B, {I.shape[1]}]; got {list(x.shape)}")
        h = self.core._run(F.linear(x, I, self.b_T[task]), self.core.J, h0, generator)
        m = self.core.unit_mask
        y = F.linear(h, self.O_T[task] * m, self.b_out[task])
        return (y, h * m) if return_hidden else y


# %% [markdown]
# The shipped MoLaP network's nine tasks answer exactly as in the shipped network (same noise, outputs equal to
# rounding), and the eight neurogym tasks join them with their shipped heads, scoring what the study recorded:

# %%
shipped, cfg = load_network("molap", "full", 0)
one = ShapedMoLaP.from_molap(shipped)
for k, t in enumerate(shipped.tasks):
    xb = make_batch(t, 16, seed=k, config=cfg).inputs
    a = shipped(xb, k, generator=torch.Generator().manual_seed(k))
    b_ = one(xb, t, generator=torch.Generator().manual_seed(k))
    test_close(a, b_, eps=1e-5)
heads = load_weights(heads_file("quick", 0), "gym heads")["heads"]
for t, h in heads.items(): one.add_task(t, weights={k: v[0] for k, v in h.items()})  # the study's learners hold one task each
print(len(one.tasks), "tasks:", ", ".join(f"{t} ({one.I_T[t].shape[1]} in, {one.O_T[t].shape[0]} out)" for t in one.tasks[-3:]), "...")
bb = env_batch("DelayMatchSample", GYM_FINAL_TRIALS, FINAL_EVAL_SEED)
acc = action_accuracy(one(bb.inputs, "DelayMatchSample-v0", generator=torch.Generator().manual_seed(FINAL_EVAL_SEED)), bb)
test_close(acc, res["tasks"]["DelayMatchSample-v0"]["methods"]["molap"]["final"][0], eps=0.01)
with contextlib.redirect_stderr(io.StringIO()):
    test_fail(lambda: one(bb.inputs, "MemPro"), contains="reads inputs [T, B, 5]")
    test_fail(lambda: one.add_task("GoNogo-v0", 3, 2), contains="exists already")


# %% [markdown]
# ## Why: what the modules' activity holds
#
# A new task's I_T can only *steer* the frozen modules, and O_T can only *read* them: MoLaP learns a task when the
# modules, driven by the task's inputs, already carry what the response needs. So the question "where can the
# primitives help" has a direct measure: how well can the variable a task needs be read out, linearly, from each
# module's activity in the trained learner?
#
# For the choice tasks the variable is the correct choice, read at the first step of the response period (the
# network must hold it there: the evidence, the sample or the comparison lie behind it). For ReadySetGo, whose correct
# response is a moment, the variables are the time elapsed since the production period began and the time left to
# the correct response, read at every third step of the period up to that response (a clock, and a countdown).
# The readout is a ridge regression, cross-validated over four folds; the score is the fraction of held-out trials
# whose choice it gets right (chance: one over the choices), or the R² of the times.

# %%
#| export
def module_states(net: ModularRNN, b: EnvBatch, seed: int = 0) -> torch.Tensor:
    "The learner's states h [T, B, n] on batch `b` (noise seeded)."
    with torch.no_grad():
        _, h = net(b.inputs, 0, generator=torch.Generator().manual_seed(seed), return_hidden=True)
    return h

def ridge_cv(X: torch.Tensor,      # [N, d] features
             y: torch.Tensor,      # [N] labels (classify=True) or values
             classify: bool = True,
             folds: int = 4,
             lam: float = 1e-2,    # ridge penalty (times N)
            ) -> float:            # held-out fraction correct, or R²
    "Cross-validated linear readout of `y` from `X`: fraction correct (one-hot ridge, argmax) or R²."
    N = X.shape[0]
    X = torch.cat([(X - X.mean(0)) / (X.std(0) + 1e-6), torch.ones(N, 1)], 1).double()
    Y = F.one_hot(y.long()).double() if classify else y.double()[:, None]
    idx, score = torch.arange(N), []
    for k in range(folds):
        test = idx % folds == k
        A, B = X[~test], Y[~test]
        W = torch.linalg.solve(A.T @ A + lam * len(A) * torch.eye(A.shape[1], dtype=A.dtype), A.T @ B)
        P = X[test] @ W
        if classify: score.append((P.argmax(1) == Y[test].argmax(1)).double().mean())
        else: score.append(1 - ((P - Y[test]) ** 2).sum() / ((Y[test] - Y[test].mean()) ** 2).sum())
    return float(torch.stack(score).mean())

def choice_readout(net: ModularRNN, env_id: str, n_trials: int = 512, seed: int = FINAL_EVAL_SEED) -> dict:
    "Per module (and all units): how well the correct choice reads out at the start of the response period."
    b = env_batch(env_id, n_trials, seed)
    h = module_states(net, b, seed)
    start = _first(b.window)
    choice = b.labels[start, torch.arange(n_trials)]  # 0 on a no-go trial
    at = h[start, torch.arange(n_trials)]              # [B, n]
    parts = {f"module {i + 1}": at[:, s] for i, s in enumerate(net.module_slices)} | {"all units": at}
    return {k: ridge_cv(v, choice) for k, v in parts.items()}

def timing_readout(net: ModularRNN, env_id: str = "ReadySetGo", n_trials: int = 256, seed: int = FINAL_EVAL_SEED,
                   every: int = 3,  # read every `every`-th step of the response period, up to the correct response
                  ) -> dict:        # variable -> {module: R²}, and the learner's largest P(respond) per trial (mean)
    "Per module: R² of the time elapsed in the response period and of the time left to the correct response."
    b = env_batch(env_id, n_trials, seed)
    h = module_states(net, b, seed)
    start, go = _first(b.window), _first(b.window & (b.labels != 0))
    rows = [(i, k) for i in range(n_trials) for k in range(0, int(go[i] - start[i]) + 1, every)]
    i, k = torch.tensor(rows).T
    X = h[start[i] + k, i]
    ys = {"time elapsed": k.double() * b.dt, "time left": (go[i] - start[i] - k).double() * b.dt}
    parts = {f"module {j + 1}": s for j, s in enumerate(net.module_slices)} | {"all units": slice(None)}
    out = {v: {p: ridge_cv(X[:, s], y, classify=False) for p, s in parts.items()} for v, y in ys.items()}
    with torch.no_grad(): p = _forward(net, b, torch.Generator().manual_seed(seed)).softmax(-1)[..., 1:].sum(-1)
    out["peak P(respond)"] = float((p * b.window).max(0).values.mean())
    return out


# %% [markdown]
# The readouts on the shipped learners (seed 0), every task; and for ReadySetGo, the time to produce:

# %%
choice_tasks = [t for t in res["tasks"] if t != "ReadySetGo-v0"]
readouts = {t: choice_readout(load_learner(t), t) for t in choice_tasks}
Markdown("| task | MoLaP final | " + " | ".join(next(iter(readouts.values()))) + " |\n|---|---|" + "---|" * 4 + "\n" + "\n".join(
    f"| {t.removesuffix('-v0')} | {statistics.mean(res['tasks'][t]['methods']['molap']['final']):.2f} | "
    + " | ".join(f"{v:.2f}" for v in r.values()) + " |" for t, r in readouts.items()))

# %%
rsg = timing_readout(load_learner("ReadySetGo"))
Markdown("| ReadySetGo, R² of | " + " | ".join(rsg["time elapsed"]) + " |\n|---|" + "---|" * 4 + "\n" + "\n".join(
    f"| {v} | " + " | ".join(f"{x:.2f}" for x in rsg[v].values()) + " |" for v in ("time elapsed", "time left")))


# %% [markdown]
# What the readouts say, in sentences computed from them and from the shipped results:

# %%
def readout_markdown(res, readouts, rsg, gap=0.1):
    "The readouts' verdicts: where the modules hold what a task needs, and where MoLaP's learner does not use it."
    final = {t: statistics.mean(res["tasks"][t]["methods"]["molap"]["final"]) for t in readouts}
    allu = {t: r["all units"] for t, r in readouts.items()}
    unused = [t for t in readouts if allu[t] - final[t] > gap]
    name = lambda t: t.removesuffix("-v0")
    out = [f"- The correct choice reads out of the modules' activity (all units) at the start of the response period "
           f"with {min(allu.values()):.2f}–{max(allu.values()):.2f} of held-out trials right, on every choice task."]
    if unused:
        out.append("- MoLaP's learner scores well below what its own modules hold on " + ", ".join(
            f"{name(t)} (final {final[t]:.2f}, readout {allu[t]:.2f})" for t in unused) + ": the information is there; "
            "what the budget did not give is output weights that act on it inside a short response period.")
    clock = rsg["time elapsed"]["all units"]; left = rsg["time left"]["all units"]
    verdict = "carry a clock and a countdown" if min(clock, left) >= 0.9 else "do not carry the time a response needs"
    out.append(f"- On ReadySetGo the modules {verdict} (R² {clock:.2f} for the time elapsed, {left:.2f} for the time "
               f"left), yet the learner's largest probability of responding, per trial, averages {rsg['peak P(respond)']:.2f}.")
    return "\n".join(out), unused

text, unused = readout_markdown(res, readouts, rsg)
Markdown(text)

# %%
for t in unused: assert readouts[t]["all units"] - statistics.mean(res["tasks"][t]["methods"]["molap"]["final"]) > 0.1
assert ("carry a clock" in text) == (min(rsg["time elapsed"]["all units"], rsg["time left"]["all units"]) >= 0.9)

# %% [markdown]
# Where the modules keep time and the learner still does not respond at the right moment, the limit is the response,
# not a missing primitive. neurogym's target for ReadySetGo is "respond" at one step and "fixate" before and after
# it. A linear readout O_T of a clock makes a ramp, which crosses into "respond" at one moment and stays there; the
# cross-entropy of a one-step target pulls the whole ramp down. What each learner reached on ReadySetGo:

# %%
rsg_final = {m: r["final"] for m, r in res["tasks"]["ReadySetGo-v0"]["methods"].items()}
rsg_final

# %% [markdown]
# ## At the reference scale
#
# The full profile gives each learner the corpus's MoLaP-stage budget: 3,500 steps of 64 trials (224,000 trials, 17×
# the quick profile's), one seed, minutes per run (the median is below); the tasks whose three learners have
# finished ship in `neurogym-full.json` (the others are listed below), with their verdicts. With one seed, "every
# seed agrees" is one comparison: weaker evidence than the quick profile's three.

# %%
full = load_neurogym("full")
Markdown(gym_table(full) + "\n\n" + gym_claims_markdown(full) + "\n\nNot yet run at this scale: "
         + (", ".join(t.removesuffix("-v0") for t in GYM_TASKS if t not in full["tasks"]) or "none") + ". Median wall "
         f"time of a run: {statistics.median(x for v in full['tasks'].values() for r in v['methods'].values() for x in r['seconds']) / 60:.0f} "
         "min on one core (measured beside other runs: an upper bound). Frozen weights read: " + provenance_line(full) + ".")

# %%
assert full["seeds"] == [0] and all(set(v["methods"]) == set(GYM_METHODS) for v in full["tasks"].values())

# %% [markdown]
# ## Limits
#
# - **Our reconstruction.** The tasks run at dt = 20 ms instead of their own default; the score follows neurogym's
#   environments (first response in the response period, timing margin of ReadySetGo), the loss weights response
#   steps 5× as the corpus does. Other choices (a loss on the response period only, neurogym's own dt) may rank the
#   learners differently; each is a setting here.
# - **A copy of the modules per learner.** The study trains each new task in its own network (a copy of the shipped
#   J with one task's weights: the same computation as a `ShapedMoLaP` with that task); `ShapedMoLaP` gathers the
#   results in one network afterwards. Learning several new tasks at once, on one J, is not run here.
# - **Tuning on the first seed.** Each learner's learning rate is chosen on its first seed's learning curve, and that
#   run is the first seed's result: a small optimistic bias, the same for every learner. The reference-scale runs use
#   the corpus's MoLaP-stage rate (1e-3) for every learner, untuned.

# %%
unl = [c["task"].removesuffix("-v0") for c in gym_claims(res) if c["unlearned"]]
ratio = min(v["methods"]["scratch"]["trained_parameters"] / v["methods"]["molap"]["trained_parameters"] for v in res["tasks"].values())
Markdown(f"- **A small budget.** The quick profile ({res['settings']['steps'] * res['settings']['batch_size']:,} trials) "
         f"is small: on {', '.join(unl) or 'no task'} no learner reached {res['criterion']} correct in any seed, and a "
         f"larger budget may favour the network from scratch, which trains at least {ratio:.0f}× more weights.")
