# %% [markdown]
# # Training
#
# > One trainer for every model of the project: masked loss on the corpus, multi-task schedules, evaluation, checkpoints that resume exactly, and the cost of learning.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/02_training.ipynb)

# %% [markdown]
# Every model in MoLaP's comparison (the separate networks, the jointly trained network, the pre-trained modules and
# the task-specific weights around them) is a leaky RNN trained by gradient descent on the masked loss of the task
# corpus. What differs is *which* weights train, on *which* tasks, in *which* order. This notebook builds the one
# training loop they all share, and the accounting (parameters, updates, seconds) that the paper's cost claims rest on.

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp training

# %%
#| export
from __future__ import annotations
import copy, json, math, os, signal, threading, time
from dataclasses import dataclass, field, asdict, replace
from pathlib import Path
import torch
from torch import nn
from tqdm.auto import tqdm
from molap.tasks import TASK_NAMES, TaskConfig, Batch, make_batch, masked_mse, accuracy, task_index, n_inputs, n_outputs
from molap.networks import LeakyRNN, ModularRNN, count_parameters
from molap.core import check_int, check_float, atomic_write, load_weights

# %%
#| hide
import tempfile as _tf
import matplotlib.pyplot as plt
from fastcore.test import *
plt.rcParams["figure.dpi"] = 72  # light notebooks: figures at screen resolution

# %%
device = "cuda" if torch.cuda.is_available() else "cpu"
device


# %% [markdown]
# ## Many tasks in one pass
#
# A multi-task step needs a batch of every task, but the tasks have different trial lengths. `stack_batches` pads
# them to the longest with silent, weightless steps, so that one forward pass of the network serves them all. Padding
# costs nothing in the loss (the mask is zero there), nothing in the score (each trial is read at its own last step),
# and nothing in the dynamics that matter (the trial is over).

# %%
#| export
def pad_time(x: torch.Tensor, T: int) -> torch.Tensor:
    "`x` [t, ...] padded with zeros to `T` steps along the first (time) dimension."
    if x.shape[0] == T: return x
    return torch.cat([x, x.new_zeros(T - x.shape[0], *x.shape[1:])], 0)

def stack_batches(batches: list, # one `Batch` per task
                  dim: int = 1,  # 1: concatenate trials (one network); "nets": a new network dimension
                 ) -> torch.Tensor:
    "The inputs of `batches` padded to a common length: [T, ΣB, n_in] (dim=1) or [T, K, B, n_in] (dim='nets')."
    T = max(b.inputs.shape[0] for b in batches)
    xs = [pad_time(b.inputs, T) for b in batches]
    return torch.cat(xs, 1) if dim == 1 else torch.stack(xs, 1)


# %%
bs = [make_batch(t, 4, seed=k) for k, t in enumerate(TASK_NAMES[:3])]
[b.inputs.shape[0] for b in bs], stack_batches(bs).shape, stack_batches(bs, "nets").shape


# %% [markdown]
# ## Models and how they meet the tasks
#
# Three ways of mapping tasks to weights appear in the paper's comparison, and `forward_tasks` knows all three:
#
# - a **shared network** (`LeakyRNN`, one network): every task goes through the same weights; the tasks are told
#   apart by the rule inputs. All trials are concatenated into one batch.
# - **separate networks** (`LeakyRNN` with `n_nets` = number of tasks): network *k* sees only task *k*; the nine
#   networks run side by side in one batched pass instead of nine sequential ones.
# - a **modular network** (`ModularRNN`): J is shared, each task has its own input and output weights I_T, O_T;
#   each trial carries its task index, so all tasks again share one pass.

# %%
#| export
def forward_tasks(model: nn.Module,      # LeakyRNN (shared or n_nets = len(tasks)) or ModularRNN
                  batches: list,         # one `Batch` per task, in the order of `tasks`
                  tasks: list,           # task names (a ModularRNN indexes its I_T, O_T by `TASK_NAMES` order)
                  generator=None,        # recurrent noise source
                 ) -> tuple:             # (outputs per batch, hidden states [T, ..., n] of the pass)
    "Run `model` on a batch of each task in one pass; returns each batch's outputs and the hidden states."
    if isinstance(model, ModularRNN):
        task = torch.cat([torch.full((b.inputs.shape[1],), model_task_index(model, t)) for b, t in zip(batches, tasks)])
        y, h = model(stack_batches(batches), task.to(batches[0].inputs.device), generator=generator, return_hidden=True)
    elif getattr(model, "n_nets", 1) > 1:
        if model.n_nets != len(batches):
            raise ValueError(f"a model of {model.n_nets} separate networks needs {model.n_nets} tasks, got {len(batches)}")
        y, h = model(stack_batches(batches, "nets"), generator=generator, return_hidden=True)
        return [y[:, k] for k in range(len(batches))], h
    else:
        y, h = model(stack_batches(batches), generator=generator, return_hidden=True)
    sizes = [b.inputs.shape[1] for b in batches]
    return list(torch.split(y, sizes, dim=1)), h

def model_task_index(model: nn.Module, task: str) -> int:
    "Which of the model's task-specific weight sets serves `task` (by `model.tasks` names when the model has them)."
    names = getattr(model, "tasks", None)
    if names is not None:  # a network that knows its tasks by name: any other task is an error, even with one set
        if task not in names: raise ValueError(f"the model has no weights for task {task!r}; it knows {', '.join(names)}")
        return list(names).index(task)
    if model.n_tasks == 1: return 0  # one shared weight set for every task (module pre-training)
    if model.n_tasks != len(TASK_NAMES):
        raise ValueError(f"the model has {model.n_tasks} task weight sets but no `tasks` names; set model.tasks")
    return task_index(task)


# %% [markdown]
# ## Evaluation
#
# The paper's score, % decisions correct, on fresh batches that no training step has seen. The evaluation seeds are
# fixed and far from the training seeds, so every evaluation of a run uses the same trials and learning curves
# compare like with like.

# %%
#| export
EVAL_SEED = 10**9  # evaluation batches use seeds EVAL_SEED + task index: never drawn in training

@torch.no_grad()
def evaluate(model: nn.Module,          # any model `forward_tasks` knows
             tasks=TASK_NAMES,          # tasks to score
             n_trials: int = 256,       # trials per task
             task_config: TaskConfig | None = None,
             seed: int = EVAL_SEED,     # batch seeds are seed + task index; noise seed is seed
             device=None,
            ) -> dict:                  # task -> fraction correct
    "Fraction of correct decisions per task on fixed evaluation batches."
    tasks = list(tasks)
    device = device or next(model.parameters()).device
    batches = [make_batch(t, n_trials, seed=seed + task_index(t), config=task_config, device=device) for t in tasks]
    n_in, C = getattr(model, "n_in", None), batches[0].inputs.shape[-1] if batches else None
    if n_in is not None and C is not None and n_in != C:  # e.g. the joint network without its rule inputs
        raise ValueError(f"the model reads {n_in} inputs, batches of this task_config have {C}: pass the task_config it "
                         "was trained with (the joint network: task_config=joint_task_config(); a shipped network: "
                         "the config `load_network` returns)")
    g = torch.Generator(device).manual_seed(seed)
    ys, _ = forward_tasks(model, batches, tasks, generator=g)
    return {t: accuracy(y, b) for t, y, b in zip(tasks, ys, batches)}


# %% [markdown]
# ## The training configuration
#
# The defaults are the reference of the jointly trained network of Yang et al. (2019), which the other baselines
# share where nothing else is known: Adam with learning rate 1e-3, batches of 64, gradients clipped element-wise to
# ±1. Duncker et al.'s networks use SGD with momentum 0.9 and L2 penalties on activity (1e-7) and weights (1e-5);
# both are options here.
#
# The `schedule` says how tasks meet the model: `"interleaved"` trains on one task per step, drawn at random
# (Yang's joint training); `"together"` trains on a batch of every task at each step and averages their losses
# (separate networks batched side by side; MoLaP's task-specific weights around a shared, frozen J).

# %%
#| export
@dataclass(frozen=True)
class TrainConfig:
    "Settings of a training run."
    steps: int = 1000              # optimiser steps
    batch_size: int = 64           # trials per task per step
    optimizer: str = "adam"        # "adam" (Yang et al.) or "sgd" (with momentum; Duncker et al.)
    lr: float = 1e-3               # learning rate
    lr_final: float | None = None  # cosine decay of the learning rate to this value over the run (None: constant)
    momentum: float = 0.9          # SGD momentum
    clip: float | None = 1.0       # element-wise gradient clipping to ±clip (None: off)
    l2_activity: float = 0.        # weight of mean(h²) in the loss
    l2_weights: float = 0.         # weight of Σ w² over trained weights in the loss
    schedule: str = "interleaved"  # "interleaved": one random task per step; "together": every task every step
    eval_every: int = 100          # steps between evaluations (and history points)
    eval_trials: int = 128         # trials per task per evaluation
    stop_at: float | None = None   # stop at the first evaluation whose mean score on the trained tasks reaches this (None: all steps)
    checkpoint_every: int = 200    # steps between checkpoints (when a checkpoint path is given)
    seed: int = 0                  # seeds batches, noise and task order; the model has its own seed

    def __post_init__(self):
        if self.optimizer not in ("adam", "sgd"): raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.schedule not in ("interleaved", "together"):
            raise ValueError(f"schedule must be 'interleaved' or 'together', got {self.schedule!r}")
        for k in ("steps", "batch_size", "eval_every", "eval_trials", "checkpoint_every"):
            object.__setattr__(self, k, check_int(k, getattr(self, k)))  # stored as a plain int (NumPy ints accepted)
        object.__setattr__(self, "seed", check_int("seed", self.seed, minimum=0))
        check_float("lr", self.lr, positive=True); check_float("momentum", self.momentum, minimum=0)
        if self.lr_final is not None: check_float("lr_final", self.lr_final, minimum=0)
        if self.clip is not None: check_float("clip", self.clip, positive=True)
        if self.stop_at is not None: check_float("stop_at", self.stop_at, positive=True)
        check_float("l2_activity", self.l2_activity, minimum=0); check_float("l2_weights", self.l2_weights, minimum=0)


# %% [markdown]
# Impossible settings fail when the configuration is made, in one line; NumPy integers are accepted where an integer
# is wanted:

# %%
import numpy as np

# %%
TrainConfig(steps=np.int64(5)).steps, type(TrainConfig(steps=np.int64(5)).steps)

# %%
test_eq(type(TrainConfig(steps=np.int64(5)).steps), int)
test_fail(lambda: TrainConfig(lr=float("nan")), contains="lr must be a finite number")
test_fail(lambda: TrainConfig(clip=-1.0), contains="clip must be > 0")
test_fail(lambda: TrainConfig(steps=0), contains="steps must be an integer >= 1")
test_fail(lambda: TrainConfig(schedule="random"), contains="schedule must be")


# %% [markdown]
# ### Randomness without hidden state
#
# A run must be reproducible from its seed, and a resumed run must continue exactly as if it had never stopped. The
# simplest way to get both is to make every random draw of step *s* a function of `(seed, s)` alone: the batches,
# the task of an interleaved step and the recurrent noise all come from seeds derived that way. Nothing random has
# to be saved in a checkpoint, and nothing reads torch's global random state.

# %%
#| export
def step_seed(seed: int, step: int, k: int = 0) -> int:
    "A seed for draw `k` of `step` of a run seeded with `seed` (distinct for distinct (step, k) up to 2**20 draws)."
    return (seed * 1_000_003 + step) * 2**20 + k

def step_batches(tasks: list, step: int, config: TrainConfig, task_config: TaskConfig, device=None,
                 transform=None) -> list:
    "The tasks and batches of one training step (each batch passed through `transform` if given)."
    if config.schedule == "interleaved":
        g = torch.Generator().manual_seed(step_seed(config.seed, step, 2**19))
        tasks = [tasks[int(torch.randint(len(tasks), (1,), generator=g))]]
    batches = [make_batch(t, config.batch_size, seed=step_seed(config.seed, step, task_index(t)),
                          config=task_config, device=device) for t in tasks]
    return tasks, batches if transform is None else [transform(b) for b in batches]


# %%
cfg = TrainConfig(steps=3, batch_size=4)
[step_batches(list(TASK_NAMES), s, cfg, TaskConfig())[0] for s in range(3)]

# %% [markdown]
# ## Checkpoints
#
# A checkpoint holds the model's and the optimiser's state, the step and the history: everything needed to resume.
# It is a dictionary of tensors, numbers and strings, so it loads with `torch.load(..., weights_only=True)`, which
# cannot run code hidden in a file. It is written with `atomic_write` ([core](core.html)), so an interrupted
# write never leaves half a checkpoint behind.

# %%
#| export
CHECKPOINT_FORMAT = "molap-train-checkpoint-v1"

def save_checkpoint(path, model: nn.Module, optimizer, step: int, history: dict, config: TrainConfig, tasks: list):
    "Atomically save everything needed to resume a run at `step`."
    state = dict(format=CHECKPOINT_FORMAT, step=step, model=model.state_dict(), optimizer=optimizer.state_dict(),
                 history=history, config=asdict(config), tasks=list(tasks))
    atomic_write(path, lambda p: torch.save(state, p))

def load_checkpoint(path, model: nn.Module | None = None, optimizer=None,
                    config: TrainConfig | None = None, tasks=None) -> dict:
    "Load a checkpoint safely; restore `model`/`optimizer` in place after checking the run matches."
    try: state = load_weights(path, "checkpoint")
    except ValueError as e: raise ValueError(f"{e}; delete it to start the run afresh") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a molap training checkpoint (expected format {CHECKPOINT_FORMAT})")
    if config is not None:
        # settings added since the checkpoint was written take their defaults
        saved, asked = {**asdict(TrainConfig()), **state["config"]}, asdict(config)
        if state["step"] <= asked["steps"] and asked["lr_final"] is None:
            saved["steps"] = asked["steps"]  # a constant-lr run may be extended (a decaying one would change its past)
        if saved != asked:
            diff = {k: (saved.get(k), v) for k, v in asked.items() if saved.get(k) != v}
            raise ValueError(f"checkpoint {path} belongs to another run: settings differ (saved, asked) {diff}")
    if tasks is not None and state["tasks"] != list(tasks):
        raise ValueError(f"checkpoint {path} trained tasks {state['tasks']}, not {list(tasks)}")
    if model is not None:
        mine = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        saved = {k: tuple(v.shape) for k, v in state["model"].items()}
        if mine != saved:
            raise ValueError(f"checkpoint {path} holds a different model: "
                             f"{sorted(set(mine.items()) ^ set(saved.items()))[:4]} ...")
        model.load_state_dict(state["model"])
    if optimizer is not None: optimizer.load_state_dict(state["optimizer"])
    return state


# %% [markdown]
# ## The training loop
#
# `train` runs the steps, evaluates every `eval_every` steps (fraction correct per task by default; an
# `evaluate_fn` returning other named scores can replace it, and `transform` can replace a batch's inputs and
# targets, as the module pre-training does), checkpoints every `checkpoint_every` steps and on
# interruption, and resumes from the checkpoint when it finds one. Only parameters with `requires_grad` train, and a
# modular network's plasticity mask is honoured by the network itself, so freezing J for the MoLaP stage is just
# `model.freeze_J()`.
#
# The loss of a step is the reference masked MSE of each task, averaged over the step's tasks, plus the optional L2
# terms. A non-finite loss stops the run at once with the step and tasks that produced it.
#
# The loop itself (optimiser step, schedule, evaluation, checkpoints, Ctrl-C) is `fit_steps`, which takes the loss of
# a step as a function: a learner with its own data and loss (the neurogym tasks of the last lesson) reuses it whole.

# %%
#| export
def lr_at(config: TrainConfig, step: int) -> float:
    "The learning rate of optimiser step `step` (from 0): `lr`, or a cosine from `lr` to `lr_final` over the run."
    if config.lr_final is None: return config.lr
    return config.lr_final + (config.lr - config.lr_final) * (1 + math.cos(math.pi * step / config.steps)) / 2

def make_optimizer(params, config: TrainConfig):
    "The optimiser of `config` over `params`."
    if config.optimizer == "adam": return torch.optim.Adam(params, lr=config.lr)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum)

def trained_weights_l2(model: nn.Module) -> torch.Tensor:
    "Σ w² over the weights that train: parameters with requires_grad, and only the plastic entries of a modular J."
    total = 0.
    for name, p in model.named_parameters():
        if not p.requires_grad: continue
        if name == "J" and hasattr(model, "plasticity"): p = p[model.plasticity]  # fixed entries must not decay
        total = total + p.pow(2).sum()
    return total

def step_loss(model, tasks, batches, config: TrainConfig, generator) -> tuple:
    "The training loss of one step (and the per-task losses)."
    ys, h = forward_tasks(model, batches, tasks, generator=generator)
    per_task = [masked_mse(y, b) for y, b in zip(ys, batches)]
    loss = torch.stack(per_task).mean()
    if config.l2_activity: loss = loss + config.l2_activity * h.pow(2).mean()
    if config.l2_weights: loss = loss + config.l2_weights * trained_weights_l2(model)
    return loss, per_task


# %%
#| export
@dataclass
class TrainResult:
    "What a run leaves: the trained model, its history and its cost."
    model: nn.Module
    history: dict     # step, loss, eval_step, accuracy (task -> list), seconds
    tasks: list
    config: TrainConfig

    @property
    def final_accuracy(self) -> dict: return {t: a[-1] for t, a in self.history["accuracy"].items()}

    def __repr__(self):
        acc = self.final_accuracy
        return (f"TrainResult({type(self.model).__name__}, {len(self.history['step'])} steps, "
                f"{self.history['seconds']:.1f} s, mean score {sum(acc.values()) / max(len(acc), 1):.3f})")


# %% [markdown]
# ### Ctrl-C at any moment
#
# A `KeyboardInterrupt` can land anywhere: in the middle of the backward pass, or between `opt.step()` updating
# one tensor and the next. Saving a checkpoint from there would save a half-made step. So while `train` runs, the
# first Ctrl-C only raises a flag; the loop finishes the step it is in (a fraction of a second), saves a checkpoint of
# it, and then raises `KeyboardInterrupt`. A second Ctrl-C interrupts at once. (Python delivers signals to the main
# thread only; elsewhere Ctrl-C behaves as usual.)

# %%
#| export
class DeferredInterrupt:
    "Context manager: the first SIGINT sets `.requested` instead of raising; a second one raises at once."
    def __enter__(self):
        self.requested, self._old = False, None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self
    def _handle(self, signum, frame):
        if self.requested: raise KeyboardInterrupt
        self.requested = True
    def __exit__(self, *exc):
        if self._old is not None: signal.signal(signal.SIGINT, self._old)
        return False


# %%
stop = DeferredInterrupt().__enter__()
stop._handle(signal.SIGINT, None)  # what the handler does on a first Ctrl-C
stop.requested

# %%
test_eq(stop.requested, True)
try: stop._handle(signal.SIGINT, None); second = "nothing"
except KeyboardInterrupt: second = "KeyboardInterrupt"
test_eq(second, "KeyboardInterrupt")  # a second Ctrl-C interrupts at once
stop.__exit__();


# %%
#| export
def learned(acc: dict,            # an evaluation: name -> score
            tasks: list,          # the tasks being trained
            stop_at: float | None,
           ) -> bool:
    "Whether the mean score on the trained `tasks` (on every score if none is named) reaches `stop_at`."
    if stop_at is None: return False
    scores = [acc[t] for t in tasks if t in acc] or list(acc.values())
    return sum(scores) / len(scores) >= stop_at

def fit_steps(model: nn.Module,        # the network
              opt,                     # its optimiser (over the parameters that train)
              config: TrainConfig,     # steps, clipping, learning-rate schedule, evaluation and checkpoint cadence
              names: list,             # what the run learns (task names): recorded in, and checked against, the checkpoint
              loss_at,                 # step -> that step's loss (a scalar tensor)
              evaluate_fn,             # model -> {name: score}, every `config.eval_every` steps and at the end
              history: dict | None = None,  # where a fresh run starts (e.g. with a score before training)
              checkpoint=None,         # path: resume from it if it exists, save to it as training goes
              progress: bool = True,   # show a tqdm bar
              desc: str = "",          # the bar's label
              grad_transform=None,     # called as grad_transform(model) on the gradients before each step
              after_step=None,         # called as after_step(model) right after each optimiser step
              callback=None,           # called as callback(steps_done, loss) after every step
             ) -> dict:                # the history: step, loss, eval_step, accuracy (name -> list), seconds
    "The resumable, interruptible training loop of `train` (and of every learner that brings its own loss)."
    params = [p for group in opt.param_groups for p in group["params"]]
    history = history or dict(step=[], loss=[], eval_step=[], accuracy={}, seconds=0.)
    start = 0
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, model, opt, config, names)
        start, history = state["step"], state["history"]
    t0, seconds0 = time.perf_counter(), history["seconds"]
    end = start if "stopped_at" in history else config.steps  # a run that stopped early stays stopped
    bar = tqdm(range(start, end), initial=start, total=config.steps, disable=not progress, desc=desc, leave=False)
    step, stop = start, DeferredInterrupt()
    try:
        with stop:
            for step in bar:
                loss = loss_at(step)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if config.clip is not None: torch.nn.utils.clip_grad_value_(params, config.clip)
                if grad_transform is not None: grad_transform(model)
                for group in opt.param_groups: group["lr"] = lr_at(config, step)
                opt.step()
                if after_step is not None: after_step(model)
                history["step"].append(step + 1); history["loss"].append(loss.item())
                if (step + 1) % config.eval_every == 0 or step + 1 == config.steps:
                    acc = evaluate_fn(model)
                    history["eval_step"].append(step + 1)
                    for k, v in acc.items(): history["accuracy"].setdefault(k, []).append(v)
                    bar.set_postfix(loss=f"{loss.item():.4f}", score=f"{sum(acc.values()) / max(len(acc), 1):.2f}")
                    if learned(acc, names, config.stop_at): history["stopped_at"] = step + 1
                history["seconds"] = seconds0 + time.perf_counter() - t0
                if checkpoint is not None and ((step + 1) % config.checkpoint_every == 0 or step + 1 == config.steps
                                               or "stopped_at" in history):
                    save_checkpoint(checkpoint, model, opt, step + 1, history, config, names)
                if callback is not None: callback(step + 1, loss.item())
                if stop.requested: raise KeyboardInterrupt  # Ctrl-C during this step: the step is whole, keep it
                if "stopped_at" in history: break
    except KeyboardInterrupt:
        # only whole steps reach here (see `DeferredInterrupt`), except on a second Ctrl-C
        if checkpoint is not None and history["step"] and history["step"][-1] == step + 1:
            save_checkpoint(checkpoint, model, opt, step + 1, history, config, names)
        raise
    finally:
        bar.close()
    return history

def train(model: nn.Module,                   # the network; trains the parameters with requires_grad
          tasks=TASK_NAMES,                   # task names
          config: TrainConfig | None = None,  # optimisation settings
          task_config: TaskConfig | None = None,  # corpus settings (e.g. rule inputs for a shared network)
          checkpoint=None,                    # path: resume from it if it exists, save to it periodically
          progress: bool = True,              # show a tqdm bar
          device=None,                        # default: the model's device
          callback=None,                      # called as callback(steps_done, loss) after every step
          transform=None,                     # Batch -> Batch applied to training batches (e.g. latent targets)
          evaluate_fn=None,                   # model -> {name: score}; default: `evaluate` (fraction correct)
          grad_transform=None,                # called as grad_transform(model) on the gradients before each step (e.g. DNI's projection)
          after_step=None,                    # called as after_step(model) right after each optimiser step
         ) -> TrainResult:
    "Train `model` on `tasks` with the masked loss; resumable from `checkpoint`."
    config, task_config, tasks = config or TrainConfig(), task_config or TaskConfig(), list(tasks)
    for t in tasks: task_index(t)
    device = device or next(model.parameters()).device
    if transform is None: _check_io(model, task_config)
    if evaluate_fn is None: evaluate_fn = lambda m: evaluate(m, tasks, config.eval_trials, task_config, device=device)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params: raise ValueError("the model has no trainable parameters (everything has requires_grad=False)")

    def loss_at(step):
        step_tasks, batches = step_batches(tasks, step, config, task_config, device, transform)
        g = torch.Generator(device).manual_seed(step_seed(config.seed, step, 2**19 + 1))
        loss = step_loss(model, step_tasks, batches, config, g)[0]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss is {loss.item()} at step {step} on task(s) {', '.join(step_tasks)}; "
                                     "try a smaller lr or gradient clipping")
        return loss
    history = fit_steps(model, make_optimizer(params, config), config, tasks, loss_at, evaluate_fn, checkpoint=checkpoint,
                        progress=progress, desc=type(model).__name__, grad_transform=grad_transform,
                        after_step=after_step, callback=callback)
    return TrainResult(model, history, tasks, config)

def _check_io(model, task_config):
    "Clear error when the model's input/output sizes do not fit the corpus settings."
    n_in, n_out = n_inputs(task_config), n_outputs(task_config)
    if (model.n_in, model.n_out) != (n_in, n_out):
        raise ValueError(f"the model has {model.n_in} inputs and {model.n_out} outputs but the corpus settings give "
                         f"{n_in} and {n_out} (rule_inputs={task_config.rule_inputs}, encoding={task_config.encoding!r})")


# %% [markdown]
# A first run: a small shared network on three tasks, interleaved, for a few hundred steps. It is far too short to
# learn them well; it shows the loop, the history and the curves.

# %%
rule = TaskConfig(rule_inputs=True)
small = LeakyRNN(n_inputs(rule), 64, 3, seed=0).to(device)
quick = TrainConfig(steps=300, batch_size=32, eval_every=50, eval_trials=128, seed=0)
res = train(small, ["DelayPro", "MemPro", "MemDm1"], quick, rule, progress=False)
res


# %% [markdown]
# `plot_history` draws the training loss and the accuracy per task; every later notebook uses it for its curves.

# %%
#| export
def plot_history(histories: dict,   # label -> history dict (from `TrainResult.history`)
                 tasks=None,        # tasks to draw (default: all in the first history)
                 axes=None,
                 trials_per_step: dict | None = None,  # label -> trials per task per step: x axis in trials per task
                 each_task: str = "lines",  # the tasks beside the mean: "lines" (one thin line each) or "worst" (the lowest, dashed)
                ):
    "Loss and accuracy curves of one or several runs (thick: mean over tasks; thin: each task, or the worst); returns the figure."
    import matplotlib.pyplot as plt
    if each_task not in ("lines", "worst"): raise ValueError(f"each_task must be 'lines' or 'worst'; got {each_task!r}")
    first = next(iter(histories.values()))
    tasks = list(tasks or first["accuracy"])
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), constrained_layout=True)
    for k, (label, h) in enumerate(histories.items()):
        c, f = f"C{k}", (trials_per_step or {}).get(label, 1)
        h = dict(h, step=[s * f for s in h["step"]], eval_step=[s * f for s in h["eval_step"]])
        loss = torch.tensor(h["loss"])
        w = max(1, min(len(loss) // 20, 50))  # moving average: interleaved tasks make the raw loss jumpy
        smooth = loss.unfold(0, w, 1).mean(1) if len(loss) >= w else loss
        every = max(1, len(loss) // 1500)  # a long run's raw loss thinned to ≤ ~1,500 points: the same cloud, lighter
        axes[0].plot(h["step"][::every], loss[::every], color=c, lw=0.5, alpha=0.25)
        axes[0].plot(h["step"][w - 1:], smooth, color=c, lw=1.5, label=label)
        acc = torch.tensor([h["accuracy"][t] for t in tasks if t in h["accuracy"]])
        axes[1].plot(h["eval_step"], acc.mean(0), color=c, lw=2, label=f"{label} (mean)")
        if each_task == "worst":  # many runs in one panel: nine thin lines each would hide the means
            axes[1].plot(h["eval_step"], acc.min(0).values, color=c, lw=0.9, ls="--")
        else:
            for row in acc: axes[1].plot(h["eval_step"], row, color=c, lw=0.6, alpha=0.35)
    xlabel = "trials per task" if trials_per_step else "step"
    axes[0].set(yscale="log", xlabel=xlabel, ylabel="training loss")
    title = "thin: each task; thick: mean" if each_task == "lines" else "solid: mean over tasks; dashed: the worst task"
    axes[1].set(xlabel=xlabel, ylabel="fraction correct", ylim=(-0.02, 1.02), title=title)
    axes[1].legend(fontsize=8, loc="lower right"); axes[0].legend(fontsize=8)
    return axes[0].figure


# %%
plot_history({"shared network, 64 units": res.history});

# %% [markdown]
# The history has one loss per step and one evaluation every 50 steps, and the loss fell: the loop trains.

# %%
test_eq(len(res.history["step"]), 300)
test_eq(res.history["eval_step"], [50, 100, 150, 200, 250, 300])
assert res.history["loss"][-1] < res.history["loss"][0] / 2  # it learns something
test_fail(lambda: plot_history({"a": res.history}, each_task="thin"), contains="'lines' or 'worst'")


# %% [markdown]
# ## Reproducible and resumable
#
# The same seeds give the same trained weights, bit for bit on the CPU:

# %%
#| export
def same_weights(a: nn.Module, b: nn.Module) -> bool:
    "Whether two models have identical parameters and buffers."
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# %%
tiny = TrainConfig(steps=40, batch_size=8, eval_every=20, eval_trials=32, checkpoint_every=10, seed=3)
tasks3 = ["MemPro", "MemAnti", "MultiMem"]
run = lambda ck=None, callback=None: train(LeakyRNN(n_inputs(rule), 32, 3, seed=1), tasks3, tiny, rule,
                                           checkpoint=ck, progress=False, callback=callback)
a, b = run(), run()
test_eq(same_weights(a.model, b.model), True)


# %% [markdown]
# An interrupted run resumed from its checkpoint ends with exactly the weights of an uninterrupted one. Two kinds of
# interruption matter: Ctrl-C (a `KeyboardInterrupt`, after which `train` saves a checkpoint at the step it reached),
# and a crash or a killed process (no chance to save: the run resumes from its last periodic checkpoint and repeats
# the steps after it). The `callback` argument of `train`, called after every step, lets us interrupt at a chosen step.

# %%
def interrupt_at(step, exc):
    "A callback that raises `exc` once `step` steps are done."
    def cb(s, loss):
        if s == step: raise exc
    return cb

def run_until_interrupted(ck, step, exc):
    try: run(ck, callback=interrupt_at(step, exc))
    except BaseException as e: return type(e).__name__


# %%
for exc, stop in ((KeyboardInterrupt(), 23), (RuntimeError("killed"), 27)):
    ck = Path(_tf.mkdtemp()) / "run.ckpt"
    print(run_until_interrupted(ck, stop, exc), "at step", stop, "-> checkpoint at step",
          load_checkpoint(ck)["step"])
    resumed = run(ck)
    test_eq(same_weights(resumed.model, a.model), True)
    test_eq(resumed.history["loss"], a.history["loss"])

# %% [markdown]
# A real Ctrl-C cannot be sent from here (this notebook's test runner executes cells outside the main thread, where
# Python delivers no signals), so `tests/test_interrupt.py` does it: it sends SIGINT to a `molap` command at random
# moments and checks that every finished step was kept, that the command says how to resume and exits with 130, and
# that the resumed run ends with the weights of an uninterrupted one.

# %% [markdown]
# A finished run can also be *extended*: asked for more steps with otherwise identical settings, `train` resumes
# from its final checkpoint, and the result is the same as if the longer run had been asked for from the start.

# %%
ck = Path(_tf.mkdtemp()) / "run.ckpt"
short = train(LeakyRNN(n_inputs(rule), 32, 3, seed=1), tasks3, replace(tiny, steps=20), rule, checkpoint=ck, progress=False)
extended = run(ck)
test_eq(same_weights(extended.model, a.model), True)

# %% [markdown]
# A checkpoint that is corrupt, or that belongs to another run, is refused with a message that says so, and the
# model is left untouched:

# %%
test_fail(lambda: train(LeakyRNN(n_inputs(rule), 32, 3, seed=1), tasks3, replace(tiny, lr=0.01), rule,
                        checkpoint=ck, progress=False), contains="settings differ")
test_fail(lambda: train(LeakyRNN(n_inputs(rule), 16, 3, seed=1), tasks3, tiny, rule, checkpoint=ck,
                        progress=False), contains="different model")
bad = ck.with_name("bad.ckpt"); bad.write_bytes(ck.read_bytes()[:200])
test_fail(lambda: load_checkpoint(bad), contains="corrupt, truncated")

# %% [markdown]
# A diverging run stops at the first non-finite loss, naming the step and the task:

# %%
blowup = LeakyRNN(n_inputs(rule), 32, 3, seed=1)
with torch.no_grad(): blowup.W_out.fill_(float("nan"))
test_fail(lambda: train(blowup, tasks3, tiny, rule, progress=False), contains="at step 0 on task")

# %% [markdown]
# ### A learning rate that decays
#
# Adam at a constant learning rate never settles: the first full-profile separate networks (constant lr 1e-3,
# 3500 steps; their numbers ship as the earlier run beside today's) swung between 0.80 and 0.97 correct on the decision tasks from one evaluation to the next, 100 steps
# apart, so their final score was partly the luck of where the last step landed. `lr_final` turns the learning rate
# into a cosine from `lr` down to `lr_final` over the run (our choice for the baselines, not the references': Yang
# and Duncker train at a constant rate for far more trials). The rate depends on the step alone, so a resumed run is
# still exact; a decaying run cannot be extended, because more steps would change the rates it already used.

# %%
cos_cfg = replace(tiny, lr=1e-2, lr_final=1e-4)
[round(lr_at(cos_cfg, s), 5) for s in (0, 10, 20, 30, 39)]

# %%
test_eq(lr_at(tiny, 17), tiny.lr)                                   # constant by default
test_close(lr_at(cos_cfg, 0), 1e-2); test_close(lr_at(cos_cfg, cos_cfg.steps), 1e-4)
test_close(lr_at(cos_cfg, cos_cfg.steps // 2), (1e-2 + 1e-4) / 2)
lrs = [lr_at(cos_cfg, s) for s in range(cos_cfg.steps)]
assert all(x > y for x, y in zip(lrs, lrs[1:]))                     # strictly decreasing
decay = lambda ck=None, callback=None, cfg=cos_cfg: train(LeakyRNN(n_inputs(rule), 32, 3, seed=1), tasks3, cfg, rule,
                                                          checkpoint=ck, progress=False, callback=callback)
full_run, ck = decay(), Path(_tf.mkdtemp()) / "decay.ckpt"
try: decay(ck, callback=interrupt_at(23, KeyboardInterrupt()))
except KeyboardInterrupt: pass
test_eq(same_weights(decay(ck).model, full_run.model), True)       # resumed mid-decay: the same weights
assert not same_weights(full_run.model, a.model)                    # and the schedule did change the run
test_fail(lambda: decay(ck, cfg=replace(cos_cfg, steps=60)), contains="settings differ")

# %% [markdown]
# ### Stopping once learned
#
# A budget of steps is the usual stopping rule; `stop_at` adds "or earlier, once learned": training ends at the first
# evaluation whose mean score on the trained tasks reaches it. Sequential learning uses it (a task that is learned in
# 500 steps need not be trained, and drift, for 9,000). The stop is recorded in the history and the checkpoint, so a
# resumed or re-run stopped run stays stopped. Here the target is the score the tiny run above had at its first
# evaluation, so the run stops there:

# %%
mean_at = lambda h, i: sum(h["accuracy"][t][i] for t in tasks3) / len(tasks3)
early_cfg = replace(tiny, stop_at=mean_at(a.history, 0))
ck = Path(_tf.mkdtemp()) / "early.ckpt"
early = train(LeakyRNN(n_inputs(rule), 32, 3, seed=1), tasks3, early_cfg, rule, checkpoint=ck, progress=False)
early.history["stopped_at"], len(early.history["step"])

# %%
test_eq(early.history["stopped_at"], tiny.eval_every)               # the first evaluation reached the target
test_eq(early.history["loss"], a.history["loss"][:tiny.eval_every])  # the same steps as the full run, up to the stop
again = train(LeakyRNN(n_inputs(rule), 32, 3, seed=1), tasks3, early_cfg, rule, checkpoint=ck, progress=False)
test_eq(len(again.history["step"]), tiny.eval_every); test_eq(same_weights(again.model, early.model), True)  # stays stopped
assert not learned({"MemPro": 0.5, "MultiMem": 0.7}, ["MemPro"], 0.6) and learned({"MemPro": 0.5}, ["MemPro"], 0.5)
test_fail(lambda: TrainConfig(stop_at=0), contains="stop_at")


# %% [markdown]
# ## The cost of learning
#
# MoLaP's first claim is about cost: how many parameters must be trained, how many updates they take, and how long
# it takes. `training_cost` measures a finished run the same way for every method:
#
# - **total parameters**: every parameter of the model (trained or frozen);
# - **trained parameters per task**: the parameters a task's loss updates (a whole network for separate networks and
#   for a shared network; only I_T, b_T, O_T and b_out of the task for MoLaP's frozen-J stage);
# - **parameter updates**: trained parameters × optimiser steps, summed over the parameters that the steps train;
# - **seconds**: wall-clock of training.

# %%
#| export
def training_cost(result: TrainResult) -> dict:
    "Parameters, trained parameters per task, parameter updates and seconds of a finished run."
    model, n_tasks = result.model, len(result.tasks)
    trained = count_parameters(model)
    if isinstance(model, ModularRNN) or getattr(model, "n_nets", 1) > 1:
        per_task = trained // n_tasks          # each task owns its share (its network, or its I_T, O_T)
    else:
        per_task = trained                      # a shared network: every task trains all of it
    return dict(total_parameters=count_parameters(model, trainable_only=False), trained_parameters=trained,
                trained_parameters_per_task=per_task, optimizer_steps=len(result.history["step"]),
                parameter_updates=trained * len(result.history["step"]), train_seconds=result.history["seconds"])


# %%
training_cost(res)

# %% [markdown]
# For a shared network every task trains all of it, and the updates are parameters × steps:

# %%
test_eq(training_cost(res)["trained_parameters_per_task"], training_cost(res)["total_parameters"])  # a shared network
test_eq(training_cost(res)["parameter_updates"], training_cost(res)["trained_parameters"] * 300)

# %% [markdown]
# ## Profiles: one experiment scale in one place
#
# An experiment of this package is the corpus, the size of the networks, and the training of each stage: module
# pre-training, MoLaP's task stage, and each baseline. A `Profile` holds all of them, so that nothing has to agree
# with anything else by hand: the networks' α comes from the corpus's `dt/τ` (the same α that scales the input
# noise), MoLaP's three module sizes are derived from the one network size that the baselines use, and the final
# evaluation (fresh trials, a seed no training run draws) is the same for every method. Two profiles ship:
#
# - **quick**: 64-unit networks trained briefly, minutes on a laptop CPU; tests, CI and the README's main job use it;
# - **full**: the reference scale (256 units), hours on a CPU.
#
# MoLaP's modules share the network size unequally (`module_split = (1, 3, 3)`): M1 only has to reproduce the
# fixation signal, while M2 and M3 hold a stimulus (its direction and strength) across a delay. A side study of this
# project measured, at the quick scale, 10 + 27 + 27 units against 22 + 21 + 21: 0.82 against 0.79 mean fraction
# correct (one seed; the four Pro/Anti tasks at 1.00 either way; the study's runs do not ship). The quick pre-training (600 steps of 8 trials per
# task, Adam lr 3e-3) is the study's too; the full profile's recipe was chosen before it and is not tuned.
#
# A user derives their own with `dataclasses.replace` and passes it to any runner (or to `molap reproduce`).

# %%
#| export
FINAL_EVAL_SEED = 2 * 10**9  # the final evaluation's batches: a seed range no training or evaluation run draws from

def split_units(n: int,                # total units
                shares=(1, 1, 1),      # relative size of each module
               ) -> tuple:
    "`n` units split in proportion to `shares`, leftover units to the first modules: 256, (1, 1, 1) → (86, 85, 85)."
    check_int("n_rec", n)
    shares = [check_float("module share", w, positive=True) for w in shares]
    if n < len(shares): raise ValueError(f"cannot split {n} units into {len(shares)} modules")
    base = [max(1, int(n * w / sum(shares))) for w in shares]
    extra = n - sum(base)
    if extra < 0: raise ValueError(f"cannot split {n} units in the proportions {tuple(shares)}")
    return tuple(b + (i < extra) for i, b in enumerate(base))

@dataclass(frozen=True)
class Profile:
    "Everything one experiment scale needs: corpus, network size, the training of every stage, the evaluation."
    name: str                                   # a label, recorded in every results file
    task: TaskConfig = TaskConfig()             # the corpus (σ_in, dt, τ; the networks' α = dt/τ)
    n_rec: int = 256                            # units of every network (MoLaP: all modules together)
    module_split: tuple = (1, 3, 3)             # relative sizes of MoLaP's modules M1..M3 (they share n_rec)
    cca_trials: int = 256                       # trials per task for the corpus statistics (CCA)
    pretrain_weights: str = "uniform"           # pre-training loss: "uniform" steps, or the "task" mask (response ×5)
    plane_inputs: str = "all"                   # answer primitives: the response plane reads "all" inputs or the "decision" ones
    pretrain: TrainConfig = TrainConfig(steps=3200, batch_size=32, schedule="together", eval_every=100,
                                        checkpoint_every=100)  # 800 left the decision primitive short (see reproduce)
    molap: TrainConfig = TrainConfig(steps=3500, batch_size=64, lr_final=1e-4, schedule="together", eval_every=100,
                                     eval_trials=256, checkpoint_every=100)  # the separate networks' trials (see reproduce)
    separate: TrainConfig = TrainConfig(steps=3500, batch_size=64, lr_final=1e-4, schedule="together",
                                        eval_every=100, eval_trials=256, checkpoint_every=100)  # cosine: see above
    joint: TrainConfig = TrainConfig(steps=30000, batch_size=64, lr_final=1e-4, schedule="interleaved", eval_every=500,
                                     eval_trials=256, checkpoint_every=500)  # cosine, as the separate networks (tuned alike)
    sequential: TrainConfig = TrainConfig(steps=9000, stop_at=0.95, batch_size=64, lr=1e-3, l2_activity=1e-7,
                                          l2_weights=1e-5, schedule="together", eval_every=500, eval_trials=256,
                                          checkpoint_every=500)  # per task: up to 9,000 steps, stopping once learned;
                                          # Adam: Duncker's SGD learns too slowly; 3,000 fixed steps left DNI's decisions < 0.9 (see sequential)
    eval_trials: int = 512                      # final evaluation: fresh trials per task
    eval_seed: int = FINAL_EVAL_SEED

    def __post_init__(self):
        split_units(self.n_rec, self.module_split); check_int("cca_trials", self.cca_trials)
        if self.pretrain_weights not in ("uniform", "task"):
            raise ValueError(f"pretrain_weights must be 'uniform' or 'task', got {self.pretrain_weights!r}")
        if self.plane_inputs not in ("all", "decision"):
            raise ValueError(f"plane_inputs must be 'all' or 'decision', got {self.plane_inputs!r}")
        check_int("eval_trials", self.eval_trials); check_int("eval_seed", self.eval_seed, minimum=0)

    @property
    def alpha(self) -> float: return self.task.alpha
    @property
    def module_sizes(self) -> tuple: return split_units(self.n_rec, self.module_split)

    def to_dict(self) -> dict:
        "The whole profile as plain JSON-able values (what a results file records)."
        return json.loads(json.dumps(asdict(self), default=str))


# %%
#| export
PROFILES = {
    "quick": Profile("quick", n_rec=64, cca_trials=256,  # 64 trials (2 batches) could miss a modality: see pretraining
                     pretrain=TrainConfig(steps=600, batch_size=8, lr=3e-3, schedule="together", eval_every=100,
                                          checkpoint_every=100),
                     molap=TrainConfig(steps=250, batch_size=16, schedule="together", eval_every=50,
                                       eval_trials=128, checkpoint_every=50),
                     separate=TrainConfig(steps=250, batch_size=32, schedule="together", eval_every=50,
                                          eval_trials=128),
                     joint=TrainConfig(steps=600, batch_size=32, schedule="interleaved", eval_every=100,
                                       eval_trials=128),
                     sequential=TrainConfig(steps=150, batch_size=32, lr=3e-3, l2_activity=1e-7, l2_weights=1e-5,
                                            schedule="together", eval_every=50, eval_trials=128)),
    "full": Profile("full", plane_inputs="decision"),  # the context tasks' distractor modality: see pretraining
}

def get_profile(profile,   # a name from `PROFILES`, or a `Profile`
               ) -> Profile:
    "The `Profile` a runner was given: names are looked up once, here."
    if isinstance(profile, Profile): return profile
    if profile not in PROFILES: raise ValueError(f"unknown profile {profile!r}; profiles: {', '.join(PROFILES)}")
    return PROFILES[profile]


# %%
quick_profile = get_profile("quick")
quick_profile.module_sizes, quick_profile.alpha, quick_profile.molap.steps

# %% [markdown]
# The module sizes always add up to the baselines' size, and a name that is not a profile, or a size that cannot be split,
# is refused:

# %%
test_eq(get_profile("full").module_sizes, (37, 110, 109))
test_eq(sum(quick_profile.module_sizes), quick_profile.n_rec)
test_fail(lambda: get_profile("huge"), contains="profiles: quick, full")
test_fail(lambda: Profile("tiny", n_rec=2), contains="cannot split 2 units")
test_fail(lambda: Profile("tiny", pretrain_weights="response"), contains="'uniform' or 'task'")
test_eq(split_units(64, (1, 3, 3)), (10, 27, 27))
test_eq(split_units(64), (22, 21, 21))

# %% [markdown]
# A custom profile changes one thing and keeps the rest; here, noisier inputs and a longer MoLaP stage:

# %%
noisy = replace(quick_profile, name="quick-noisy", task=TaskConfig(sigma_in=0.1),
                molap=replace(quick_profile.molap, steps=500))
noisy.task.sigma_in, noisy.molap.steps, noisy.to_dict()["task"]["sigma_in"]

# %%
test_eq(noisy.separate, quick_profile.separate)
test_eq(json.loads(json.dumps(noisy.to_dict()))["molap"]["steps"], 500)


# %% [markdown]
# ### The record of a run
#
# Every runner of the package (each baseline, MoLaP and its variants) ends the same way: the trained network is
# scored on the profile's final evaluation batches (fresh trials, `FINAL_EVAL_SEED`), and a record of the run
# (accuracy per task, cost, settings, curves) is returned and, given a folder, written to `<name>.json` in it.

# %%
#| export
def run_record(result: TrainResult,         # a finished run
               profile: Profile,            # gives the final evaluation's trials and seed
               task_config: TaskConfig | None = None,  # the corpus the model reads (default: the profile's)
               **fields,                    # what identifies the run: method, seed, ...
              ) -> dict:
    "The record of a finished run: final fraction correct per task on fresh trials, cost, settings and curves."
    acc = evaluate(result.model, result.tasks, n_trials=profile.eval_trials, task_config=task_config or profile.task,
                   seed=profile.eval_seed)
    return dict(fields, profile=profile.name, accuracy=acc, **training_cost(result), train_config=asdict(result.config),
                history=result.history, profile_settings=profile.to_dict(), torch=torch.__version__,
                device=str(next(result.model.parameters()).device))

def save_record(out, name: str, record: dict) -> Path:
    "Write `record` to `out/<name>.json` atomically."
    return atomic_write(Path(out) / f"{name}.json", lambda f: Path(f).write_text(json.dumps(record)))


# %%
rec = run_record(res, quick_profile, rule, method="shared, 3 tasks", seed=0)
{k: rec[k] for k in ("method", "profile", "accuracy", "trained_parameters_per_task")}

# %% [markdown]
# The record scores every task the run trained, and it survives the round trip through its JSON file:

# %%
test_eq(set(rec["accuracy"]), set(res.tasks))
f = save_record(_tf.mkdtemp(), "shared", rec)
test_eq(json.loads(f.read_text())["accuracy"], rec["accuracy"])
