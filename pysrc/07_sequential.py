# %% [markdown]
# # Sequential learning: naive fine-tuning and dynamical non-interference
#
# > One network learns the nine tasks one after another, with nothing protected or with DNI's projected gradients (Duncker et al. 2020): the comparison of the paper's main figure, and the forgetting MoLaP avoids by construction.

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/molap-dev/molap/blob/main/nbs/07_sequential.ipynb)

# %% [markdown]
# The paper's main figure (v1, Fig. 2) has three rows: separate networks, **dynamical non-interference** (DNI; Duncker,
# Driscoll, Shenoy, Sahani & Sussillo, NeurIPS 2020) and the modular network. DNI is a continual-learning method: one
# network learns the tasks in sequence, and after each task the gradients of every later task are projected away from
# the directions of activity the earlier tasks use, so that learning a new task disturbs the old ones as little as
# possible. Its plain reference is **naive sequential fine-tuning**: the same network, the same order, every weight
# trained on each new task with nothing protected, which forgets.
#
# The network is the baselines' (ReLU, recurrent weights 0.5 × random orthogonal, [baselines](baselines.html)) with
# one-hot rule inputs, so that it knows which task it is doing, as in Duncker's setup.

# %%
#| eval: false
#| hide
# %pip install -q "molap @ git+https://github.com/molap-dev/molap"

# %%
#| default_exp sequential

# %%
#| export
from __future__ import annotations
import json
from dataclasses import asdict, replace
from pathlib import Path
import torch
from torch import Tensor
from molap.core import atomic_write, check_float, load_weights
from molap.tasks import TASK_NAMES, make_batch
from molap.networks import LeakyRNN
from molap.training import Profile, get_profile, train, evaluate, step_seed
from molap.baselines import joint_network, joint_task_config

# %%
#| hide
import tempfile, time
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown
from fastcore.test import *
from molap.core import load_results
from molap.tasks import masked_mse
from molap.training import TrainConfig
from molap.pretraining import answer_primitives
from molap.multitask import load_pretrained, molap_network
plt.rcParams["figure.dpi"] = 72  # light notebooks: figures at screen resolution

# %%
device = "cuda" if torch.cuda.is_available() else "cpu"
device

# %% [markdown]
# ## Projectors from covariances
#
# After a task, DNI keeps for each weight matrix the (uncentred) covariance C of what the matrix acts on, averaged
# over the tasks learned so far, and turns it into a projector
#
# P = V · diag(a / (a + λ)) · Vᵀ,  C = V diag(λ) Vᵀ,
#
# with a = 0.001 as in the reference code. Directions the earlier tasks use strongly (λ ≫ a) get a factor near 0;
# directions they never visit (λ = 0) keep a factor 1. So P is symmetric, with eigenvalues in (0, 1].

# %%
#| export
DNI_A = 1e-3  # the regulariser a of the projectors (Duncker et al.'s reference code)

def second_moment(z: Tensor) -> Tensor:
    "The uncentred covariance zᵀz / N of samples z [N, d]."
    return z.T @ z / z.shape[0]

def projector(C: Tensor, a: float = DNI_A) -> Tensor:
    "P = V diag(a / (a + λ)) Vᵀ from the eigendecomposition of the covariance C = V diag(λ) Vᵀ."
    lam, V = torch.linalg.eigh(C)
    return (V * (a / (a + lam.clamp_min(0)))) @ V.T


# %%
g = torch.Generator().manual_seed(0)
z = torch.randn(500, 3, generator=g) @ torch.tensor([[3., 0, 0], [0, 0.1, 0], [0, 0, 0.]])  # a 2-D activity in 3-D
P = projector(second_moment(z))
torch.linalg.eigvalsh(P)

# %% [markdown]
# The two used directions (variances 9 and 0.01) get factors ≈ 0.0001 and ≈ 0.09; the unused third keeps 1.

# %%
test_close(P, P.T, eps=1e-6)
ev = torch.linalg.eigvalsh(P)
test_eq(bool((ev > 0).all() and (ev <= 1 + 1e-6).all()), True)
test_close(P @ torch.tensor([0., 0, 1]), torch.tensor([0., 0, 1]), eps=1e-5)  # an unused direction passes
test_eq(bool((P @ torch.tensor([1., 0, 0])).norm() < 1e-3), True)               # a used one is blocked


# %% [markdown]
# ## What each matrix sees
#
# The cell computes a_t = W_rec h_{t−1} + W_in x_t + b, i.e. one matrix [W_in, W_rec, b] acting on z_t = [x_t; h_{t−1}; 1].
# Its gradient G (units × inputs of z) is projected on **both sides**, G ← P_h G P_z: on the right by the projector of
# z's covariance (do not change how the cell responds to activity the old tasks produce), on the left by the projector
# of the hidden states' covariance, the "recurrent space" (do not push the state along directions the old tasks use).
# The readout [W_out, b_out] acts on [h_t; 1] and is projected on the right by that covariance. (We leave the readout's
# left side, the three outputs, unprojected: every task uses the same three outputs, so a left projector would block
# all readout learning after the first task.) The bias columns are included through the constant 1, so a bias is
# protected like a weight.

# %%
#| export
def _activity(model: LeakyRNN, batches: list, seed: int = 0) -> tuple:
    "(z = [x; h_prev; 1] [N, n_in + n + 1], [h; 1] [N, n + 1]) over every step of every trial of `batches`."
    zs, hs = [], []
    g = torch.Generator(batches[0].inputs.device).manual_seed(seed)  # the recurrent noise of these runs
    for b in batches:
        with torch.no_grad(): _, h = model(b.inputs, generator=g, return_hidden=True)
        inside = (torch.arange(b.inputs.shape[0], device=h.device)[:, None] < b.length)  # [T, B]
        prev = torch.cat([torch.zeros_like(h[:1]), h[:-1]])
        one = torch.ones_like(h[..., :1])
        zs.append(torch.cat([b.inputs, prev, one], -1)[inside]); hs.append(torch.cat([h, one], -1)[inside])
    return torch.cat(zs), torch.cat(hs)

class DNI:
    "Running covariances of what a LeakyRNN's matrices see over the tasks learned so far, and the gradient projection."
    def __init__(self, model: LeakyRNN, a: float = DNI_A):
        n, n_in = model.n_rec, model.n_in
        self.a, self.tasks = check_float("a", a, positive=True), 0
        self.C_z, self.C_h = torch.zeros(n_in + n + 1, n_in + n + 1), torch.zeros(n + 1, n + 1)
        self.P_z, self.P_h = torch.eye(n_in + n + 1), torch.eye(n + 1)

    def update(self, model: LeakyRNN, batches: list):
        "Add one task's activity (a running average over tasks) and rebuild the projectors."
        z, h = _activity(model, batches)
        k = self.tasks
        self.C_z = (k * self.C_z + second_moment(z.cpu())) / (k + 1)
        self.C_h = (k * self.C_h + second_moment(h.cpu())) / (k + 1)
        self.tasks = k + 1
        self.P_z, self.P_h = projector(self.C_z, self.a), projector(self.C_h, self.a)

    @torch.no_grad()
    def _apply(self, model: LeakyRNN, get, put):
        "Project the tensors `get(param)` of the weights ([W_in, W_rec, b] ← P_h · P_z, [W_out, b_out] ← · P_h), `put` back."
        dev = model.W_rec.device
        Pz, Ph, Pr = self.P_z.to(dev), self.P_h.to(dev), self.P_h[:-1, :-1].to(dev)
        n_in, n = model.n_in, model.n_rec
        G = Pr @ torch.cat([get(model.W_in), get(model.W_rec), get(model.b)[:, None]], 1) @ Pz
        put(model.W_in, G[:, :n_in]); put(model.W_rec, G[:, n_in:n_in + n]); put(model.b, G[:, -1])
        Go = torch.cat([get(model.W_out), get(model.b_out)[:, None]], 1) @ Ph
        put(model.W_out, Go[:, :-1]); put(model.b_out, Go[:, -1])

    def project(self, model: LeakyRNN):
        "Project the gradients in place (DNI as published, for SGD)."
        if self.tasks: self._apply(model, lambda p: p.grad, lambda p, v: p.grad.copy_(v))

    def remember(self, model: LeakyRNN):
        "Keep the weights before a step (for `project_step`)."
        self._before = {id(p): p.detach().clone() for p in (model.W_in, model.W_rec, model.b, model.W_out, model.b_out)}

    def project_and_remember(self, model: LeakyRNN):
        "Project the gradients and keep the weights: Adam's moments see only what is allowed, and its step is projected too."
        self.project(model); self.remember(model)

    def project_step(self, model: LeakyRNN):
        "Replace the step the optimiser just took by its projection (for Adam, whose step leaves a projected gradient's span)."
        if not self.tasks: return
        old = self._before
        self._apply(model, lambda p: p.detach() - old[id(p)], lambda p, v: p.data.copy_(old[id(p)] + v))

    def state(self) -> dict:
        return dict(a=self.a, tasks=self.tasks, C_z=self.C_z, C_h=self.C_h)

    def load(self, s: dict):
        self.a, self.tasks, self.C_z, self.C_h = s["a"], int(s["tasks"]), s["C_z"], s["C_h"]
        self.P_z, self.P_h = projector(self.C_z, self.a), projector(self.C_h, self.a)
        return self


# %% [markdown]
# The claims of the projection, as tests on a small network: covariances accumulate as running averages; and a
# projected gradient step leaves the outputs on an earlier task's trials unchanged to first order, where the same
# step unprojected changes them.

# %%
tc = joint_task_config()
small = joint_network(32, seed=0, task_config=tc)
old = [make_batch("MemPro", 16, seed=s, config=tc) for s in range(2)]
new = make_batch("DelayAnti", 16, seed=9, config=tc)
dni = DNI(small)
dni.update(small, old)
z1, _ = _activity(small, old)
test_close(dni.C_z, second_moment(z1), eps=1e-5)
dni2 = DNI(small); dni2.update(small, old); dni2.update(small, [new])
test_close(dni2.C_z, (second_moment(z1) + second_moment(_activity(small, [new])[0])) / 2, eps=1e-5)


# %% [markdown]
# Now the first-order claim: one small gradient step on a new task (DelayAnti), projected or not, and how far it moves
# the outputs on the old task's (MemPro's) trials. Noise is off so that only the weights differ.

# %%
def output_change(project: bool, lr: float = 1e-3) -> float:
    "How much one gradient step on the new task moves the outputs on the old task's trials."
    net = joint_network(32, seed=0, task_config=tc)
    net.sigma_rec = 0.
    with torch.no_grad(): before = net(old[0].inputs)
    loss = masked_mse(net(new.inputs), new)
    loss.backward()
    if project: dni.project(net)
    with torch.no_grad():
        for p in net.parameters(): p -= lr * p.grad
        return float((net(old[0].inputs) - before).abs().mean())


# %%
small.sigma_rec = 0.
dni = DNI(small); dni.update(small, old)
changes = {"unprojected": output_change(False), "projected": output_change(True)}
changes

# %% [markdown]
# The projected step moves the old task's outputs by a small fraction of what the plain step does (not zero: the
# projectors' factors a/(a+λ) are small, not 0, and the step is first order only).

# %%
test_eq(changes["projected"] < 0.05 * changes["unprojected"], True)

# %% [markdown]
# ## Learning the tasks in sequence
#
# `run_sequential` trains one network on T1, then T2, …, T9 (the corpus order, as in the paper's figure), each task with
# the profile's `sequential` settings: a step budget per task and, at the full profile, a stop once the task is learned
# (`stop_at=0.95`: training on a task ends at the first evaluation, every 500 steps, that scores it at 0.95 or more, and
# at 9,000 steps otherwise). Why stop: a task learned in 500 steps gains nothing from thousands more, and every extra
# step moves the weights the earlier tasks rely on (naive) or uses up directions the later tasks could have (DNI). Why
# so large a cap: DNI learns the decision tasks slowly inside the directions its projectors leave open, and the fixed
# 3,000 steps the full profile used before left them at 0.77–0.87 (below). The two methods' costs then differ, so each
# run records the steps it took (`optimizer_steps`, `parameter_updates`). The quick profile keeps a fixed budget (150
# steps per task): at that scale naive fine-tuning learns only the first two tasks (in well under 150 steps), and
# DNI not even the second in full, so a stop would change little. The diagonal of the accuracy matrix says whether the budget was enough. After each task it scores every task
# (a row of the 9 × 9 matrix), and for DNI adds the task's activity to the covariances. Each task's training
# checkpoints, and the state after each task (weights, covariances, rows so far) is kept, so an interrupted run resumes
# inside a task or between two.
#
# The reference optimiser is SGD with momentum 0.9, learning rate 1e-3, batches of 64, L2 1e-7 on the activity and 1e-5
# on the weights. At our budgets it learns far too slowly (measured below at the quick profile: after the first two
# tasks nothing more is learned, naive or DNI), so both profiles use Adam instead (quick 3e-3, full 1e-3, the joint
# network's rate), with the reference's L2 terms; the reference SGD stays one `config` away. Projecting Adam's
# *gradient* is not the same algorithm as projected SGD: Adam divides each coordinate by its own running scale after the
# projection, so the step leaves the protected subspace, and the small leftovers of a projected gradient are scaled back
# up to full-size steps. So with Adam, `run_sequential` projects twice (`project="both"`, our choice): the gradient
# before Adam sees it, so that its moments measure only the allowed directions, and the step Adam then takes (the
# weights move by P_h ΔW P_z), which keeps DNI's non-interference property with a different optimiser. Projecting only
# the step (`project="step"`) protects as well but learns far less, because Adam's moments are then dominated by the
# blocked directions; `project="gradient"` is the published form, and the default for SGD. The shipped comparisons below
# measure all of them, at both profiles.

# %%
#| export
SEQUENTIAL = ("sequential", "dni")  # method names: naive fine-tuning, dynamical non-interference
PROJECT = ("gradient", "step", "both")  # what DNI projects: the gradient (published), the optimiser's step, or both

def run_sequential(method: str = "dni",             # "sequential" (naive) or "dni"
                   profile: Profile | str = "quick",
                   seed: int = 0,
                   out=None,                        # folder for checkpoints and the record (resumes from it)
                   progress: bool = True,
                   device=None,
                   config=None,                     # a TrainConfig overriding `profile.sequential`
                   tasks=TASK_NAMES,                # the order in which the tasks are learned
                   project: str | None = None,      # DNI: "gradient" (the paper), "step" or "both"; None: gradient for SGD, both for Adam
                  ) -> tuple:                       # (record, trained network)
    "Learn `tasks` one after another in one network, naively or with DNI; record the accuracy after each task."
    if method not in SEQUENTIAL: raise ValueError(f"unknown sequential method {method!r}; methods: {', '.join(SEQUENTIAL)}")
    prof = get_profile(profile)
    tc = joint_task_config(prof.task)
    cfg = config or prof.sequential
    project = project or ("gradient" if cfg.optimizer == "sgd" else "both")
    if project not in PROJECT: raise ValueError(f"project must be one of {', '.join(PROJECT)}; got {project!r}")
    model = joint_network(prof.n_rec, seed=seed, task_config=tc, alpha=prof.alpha).to(device or "cpu")
    dni = DNI(model) if method == "dni" else None
    name = f"{method}-{prof.name}-seed{seed}"
    ck = (lambda s: None) if out is None else (lambda s: Path(out) / f"{name}-{s}.ckpt")
    rows, histories, seconds, steps = [], {}, 0., 0
    settings = dict(asdict(cfg), order=list(tasks), project=project if dni else None, n_rec=prof.n_rec)  # what a resume must match
    for k, task in enumerate(tasks):
        after = ck(f"after{k}")
        if after is not None and after.exists():  # this task is done: restore the state after it
            s = load_weights(after, "sequential-learning state")
            saved = s.get("settings", {})
            if saved != settings:  # a folder of another run (other settings, order or projection)
                diff = {k: (saved.get(k), v) for k, v in settings.items() if saved.get(k) != v}
                raise ValueError(f"{after} belongs to another run: settings differ (saved, asked) {diff}; "
                                 "use another output folder")
            model.load_state_dict(s["model"]); rows, seconds, steps = s["rows"], s["seconds"], s["steps"]
            histories = json.loads(s["histories"])
            if dni is not None: dni.load(s["dni"])
            continue
        res = train(model, [task], replace(cfg, seed=seed * 100 + k), tc, checkpoint=ck(f"task{k}"), progress=progress,
                    grad_transform=None if dni is None else dict(gradient=dni.project, step=dni.remember,
                                                                  both=dni.project_and_remember)[project],
                    after_step=None if dni is None or project == "gradient" else dni.project_step,
                    # every task scored while this one is learned:
                    evaluate_fn=lambda m: evaluate(m, TASK_NAMES, cfg.eval_trials, tc))  # the forgetting as it happens
        histories[task], seconds, steps = res.history, seconds + res.history["seconds"], steps + len(res.history["step"])
        if dni is not None:  # the task's activity joins the covariances (its own batches, fresh seeds)
            dni.update(model, [make_batch(task, cfg.batch_size, seed=step_seed(seed, 10**6 + k, j), config=tc,
                                          device=device) for j in range(4)])
        acc = evaluate(model, TASK_NAMES, prof.eval_trials, tc, seed=prof.eval_seed)
        rows.append([acc[t] for t in TASK_NAMES])
        if after is not None:
            state = dict(model=model.state_dict(), rows=rows, seconds=seconds, steps=steps, histories=json.dumps(histories),
                         settings=settings,
                         dni=dni.state() if dni is not None else {})
            atomic_write(after, lambda f: torch.save(state, f))
    n_params = sum(p.numel() for p in model.parameters())
    record = dict(method=method, profile=prof.name, seed=seed, order=list(tasks), project=project if dni else None, accuracy=dict(zip(TASK_NAMES, rows[-1])),
                  accuracy_after_each_task=rows, total_parameters=n_params, trained_parameters_per_task=n_params,
                  optimizer_steps=steps, parameter_updates=n_params * steps, train_seconds=seconds,
                  projector_parameters=0 if dni is None else dni.C_z.numel() + dni.C_h.numel(),
                  train_config=asdict(cfg), history=histories)
    if out is not None:
        atomic_write(Path(out) / f"{name}.json", lambda f: Path(f).write_text(json.dumps(record)))
    return record, model


# %% [markdown]
# ## The quick profile, run here
#
# Both methods, seed 0, the quick profile (64 units, 150 Adam steps of 32 trials per task):

# %%
t0 = time.time()
seq = {m: run_sequential(m, "quick", seed=0, progress=False, device=device)[0] for m in SEQUENTIAL}
print(f"{time.time() - t0:.0f} s")


# %% [markdown]
# The accuracy matrix: row k is the accuracy on every task after learning tasks 1…k. The diagonal is each task right
# after it was learned; what a row loses to the left of the diagonal is forgetting.

# %%
#| export
def plot_accuracy_matrices(records: dict):
    "Heat maps of `accuracy_after_each_task` (rows: after learning task k; columns: accuracy on each task)."
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(records), figsize=(4.2 * len(records), 3.6), squeeze=False)
    for ax, (label, r) in zip(axes.flat, records.items()):
        M = torch.tensor(r["accuracy_after_each_task"])
        im = ax.imshow(M, vmin=0, vmax=1, cmap="viridis")
        short = [t.replace("Context", "Ctx") for t in TASK_NAMES]
        ax.set_xticks(range(9), short, rotation=90, fontsize=7)
        ax.set_yticks(range(9), [f"after {t}" for t in short] if ax is axes.flat[0] else [], fontsize=7)  # rows shared
        for i in range(9):
            for j in range(9): ax.text(j, i, f"{M[i, j]:.1f}", ha="center", va="center", fontsize=6, color="w" if M[i, j] < .5 else "k")
        ax.set_title(label, fontsize=9)
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="fraction correct")
    return fig

def forgetting(record: dict) -> float:
    "Mean over the first eight tasks of (accuracy right after learning it − accuracy at the end)."
    M = torch.tensor(record["accuracy_after_each_task"])
    return float((M.diagonal()[:-1] - M[-1, :-1]).mean())


# %%
plot_accuracy_matrices({f"{m} (quick, seed 0)": r for m, r in seq.items()});


# %% [markdown]
# The same as it happens: every task's accuracy while each new task is learned (the grey lines mark where a new task
# starts). Naive fine-tuning drops an old task as soon as the next one starts; DNI slows the drop.

# %%
#| export
def plot_sequential_curves(records: dict):
    "Accuracy on every task against the steps of the whole sequence, one panel per record."
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(records), figsize=(6 * len(records), 3), squeeze=False, sharey=True)
    for ax, (label, r) in zip(axes.flat, records.items()):
        offset = 0
        for task in r["order"]:
            h = r["history"][task]
            for j, t in enumerate(TASK_NAMES):
                ax.plot([offset + s for s in h["eval_step"]], h["accuracy"][t], color=plt.cm.tab10(j), lw=1, marker=".",
                        ms=3, label=t if task == r["order"][0] else None)  # markers: a task learned in one evaluation
            offset += h["step"][-1]; ax.axvline(offset, color="0.8", lw=0.5)
        ax.set_title(label, fontsize=9); ax.set_xlabel("optimiser steps (all tasks, in order)")
    axes.flat[0].set_ylabel("fraction correct"); axes.flat[-1].legend(fontsize=6, ncol=3)
    fig.tight_layout()
    return fig


# %%
plot_sequential_curves({f"{m} (quick, seed 0)": r for m, r in seq.items()});

# %% [markdown]
# The diagonal (each task right after learning it) and the forgetting (diagonal minus final row, averaged over the
# first eight tasks):

# %%
{m: dict(diagonal=np.round(np.diag(r["accuracy_after_each_task"]), 2).tolist(), forgetting=round(forgetting(r), 3))
 for m, r in seq.items()}

# %%
for r in seq.values():
    test_eq(np.array(r["accuracy_after_each_task"]).shape, (9, 9))
    test_eq(r["accuracy"], dict(zip(TASK_NAMES, r["accuracy_after_each_task"][-1])))

# %% [markdown]
# Resuming: a tiny run to the end; then the state after the fifth task onwards is deleted, as if the run had been
# stopped there, and the run is started again on the same folder. It redoes only the last four tasks and ends with
# exactly the same numbers (inside a task, `train`'s own checkpoints resume it, as [training](training.html) tests).

# %%
quick = get_profile("quick")
tiny = replace(quick, name="tiny", n_rec=16, eval_trials=16,
               sequential=replace(quick.sequential, steps=4, eval_every=4, eval_trials=8, checkpoint_every=2))
folder = Path(tempfile.mkdtemp())
first, _ = run_sequential("dni", tiny, seed=1, out=folder, progress=False)
for k in range(5, 9):
    for f in folder.glob(f"dni-tiny-seed1-*{k}.ckpt"): f.unlink()
again, _ = run_sequential("dni", tiny, seed=1, out=folder, progress=False)
test_eq(again["accuracy_after_each_task"], first["accuracy_after_each_task"])
longer = replace(tiny, sequential=replace(tiny.sequential, steps=6))  # the same folder with other settings is refused
test_fail(lambda: run_sequential("dni", longer, seed=1, out=folder, progress=False), contains="belongs to another run")
test_fail(lambda: run_sequential("ewc", tiny), contains="methods: sequential, dni")
test_fail(lambda: run_sequential("dni", tiny, project="weights"), contains="one of gradient, step, both")

# %% [markdown]
# Stopping once learned (the full profile's rule, here with a tiny target so that the tiny network meets it): each task
# ends at the first evaluation that scores it at `stop_at` or more, and runs its whole budget if none does; the steps
# the run reports are the steps the tasks took.

# %%
eager = replace(tiny, sequential=replace(tiny.sequential, steps=8, eval_every=2, stop_at=0.25))
r, _ = run_sequential("sequential", eager, seed=1, progress=False)
taken = {t: r["history"][t]["step"][-1] for t in r["order"]}
for t in r["order"]:
    h = r["history"][t]
    reached = [s for s, a in zip(h["eval_step"], h["accuracy"][t]) if a >= 0.25]
    test_eq(taken[t], reached[0] if reached else 8)
test_eq(r["optimizer_steps"], sum(taken.values()))
assert min(taken.values()) < 8  # some task did stop early
taken

# %% [markdown]
# ## Beside the paper and beside MoLaP
#
# The final row (accuracy on every task after all nine are learned) next to the paper's DNI row, read off its figure
# (v1, Fig. 2), and MoLaP's. MoLaP cannot forget by construction: J is frozen and each task owns its I_T and O_T,
# so learning the other eight tasks does not touch a task's weights. Checked rather than assumed (further down), on
# the shipped full-profile modules: learn MemPro first (its I_T and O_T, warm-started, 30 steps), score it, then learn
# the other eight tasks (20 steps), and score MemPro again on the same trials.

# %%
#| export
PAPER_DNI = dict(zip(TASK_NAMES, (0.72, 0.71, 0.58, 0.70, 0.73, 0.64, 0.65, 0.70, 1.0)))  # read off v1 Fig. 2

def final_rows(records: dict) -> str:
    "Markdown: the final row of each record (and the paper's DNI row), with the mean and the forgetting."
    rows = ["| method | " + " | ".join(t.replace("Context", "Ctx") for t in TASK_NAMES) + " | mean | forgetting |",
            "|---|" + "---|" * (len(TASK_NAMES) + 2)]
    for label, r in records.items():
        acc = r["accuracy"]
        f = f"{forgetting(r):.3f}" if "accuracy_after_each_task" in r else "–"
        rows.append(f"| {label} | " + " | ".join(f"{acc[t]:.2f}" for t in TASK_NAMES) + f" | {sum(acc.values()) / 9:.3f} | {f} |")
    return "\n".join(rows)


# %%
full = get_profile("full")
modules, _, _ = load_pretrained("answer", "full", 0)
net, cfg = molap_network(modules, warm_start=answer_primitives(full, seed=0)), full.task
stage = TrainConfig(steps=30, batch_size=16, schedule="together", eval_every=30, eval_trials=16)
_ = train(net, ["MemPro"], stage, cfg, progress=False)
before = evaluate(net, ["MemPro"], 256, cfg, seed=3)["MemPro"]
weights = (net.I_T[TASK_NAMES.index("MemPro")].clone(), net.O_T[TASK_NAMES.index("MemPro")].clone())
others = [t for t in TASK_NAMES if t != "MemPro"]
_ = train(net, others, replace(stage, steps=20, eval_every=20), cfg, progress=False)
after = evaluate(net, ["MemPro"], 256, cfg, seed=3)["MemPro"]
before, after

# %% [markdown]
# The same number, and the same weights, to the last bit: nothing MemPro uses took part in learning the others.

# %%
test_eq(after, before)
test_eq(torch.equal(net.I_T[TASK_NAMES.index("MemPro")], weights[0]) and torch.equal(net.O_T[TASK_NAMES.index("MemPro")], weights[1]), True)

# %%
quick_molap = load_results("quick")["methods"]["molap"]
Markdown(final_rows({"naive sequential (quick, seed 0)": seq["sequential"], "DNI (quick, seed 0)": seq["dni"],
                     "DNI, paper (v1 Fig. 2)": dict(accuracy=PAPER_DNI),
                     "MoLaP (quick, 5 seeds, shipped)": quick_molap}))

# %% [markdown]
# ## Cost
#
# In the accounting of the other methods: the sequential network trains all its parameters on every task; DNI also
# keeps two covariance matrices (and their projectors) between tasks, counted below as extra stored numbers, and its
# projection costs two products per weight matrix per step.

# %%
{m: {k: r[k] for k in ("total_parameters", "trained_parameters_per_task", "optimizer_steps", "parameter_updates",
                       "projector_parameters", "train_seconds")} for m, r in seq.items()}


# %% [markdown]
# ## Five seeds, and what the quick profile's optimiser does to forgetting
#
# Shipped with the package (`results/sequential-quick.json`): both methods at the quick profile over seeds 0–4, with
# the quick profile's Adam (3e-3; DNI projecting both Adam's gradient and its step, the default: Adam's moments see
# only the allowed directions, and the step it takes is projected as well), with the reference SGD (momentum 0.9,
# lr 1e-3; DNI projecting the gradient, as published) at the same budget, DNI projecting only Adam's gradient (what a
# naive port of DNI to Adam does), and DNI projecting only Adam's step. Made by `python tools/run_sequential.py` (under a
# minute per run on one core; this machine, this code, every variant re-run in one session).

# %%
#| export
def summarise_sequential(records: list) -> dict:
    "Mean and sd over seeds of the accuracy matrix, its diagonal, the final row, the forgetting and the steps taken."
    M = torch.tensor([r["accuracy_after_each_task"] for r in records])
    f = torch.tensor([forgetting(r) for r in records])
    sd = lambda x: x.std(0).tolist() if len(records) > 1 else torch.zeros_like(x[0]).tolist()
    mean = lambda k: sum(r[k] for r in records) / len(records)  # steps differ over seeds when a task stops once learned
    return dict(seeds=[r["seed"] for r in records], accuracy_after_each_task=M.mean(0).tolist(),
                accuracy_after_each_task_sd=sd(M), accuracy=dict(zip(TASK_NAMES, M[:, -1].mean(0).tolist())),
                diagonal=M.diagonal(dim1=1, dim2=2).mean(0).tolist(),
                diagonal_per_seed=M.diagonal(dim1=1, dim2=2).tolist(), forgetting=float(f.mean()),
                forgetting_sd=float(f.std()) if len(records) > 1 else 0., forgetting_per_seed=f.tolist(),
                **{k: records[0][k] for k in ("total_parameters", "trained_parameters_per_task", "projector_parameters",
                                              "train_config")},
                optimizer_steps=mean("optimizer_steps"), parameter_updates=mean("parameter_updates"),
                steps_per_task=[[r["history"][t]["step"][-1] for t in r["order"]] for r in records],  # per seed
                train_seconds=mean("train_seconds"))


# %%
shipped = load_results("sequential-quick")
Markdown(final_rows({k: v for k, v in shipped["methods"].items()}))

# %% [markdown]
# The mean accuracy matrices over the five seeds, with the quick profile's optimiser:

# %%
plot_accuracy_matrices({k: shipped["methods"][k] for k in ("sequential (adam)", "dni (adam, projected gradient and step)")});

# %% [markdown]
# Forgetting, mean ± sd over seeds, for each method and optimiser:

# %%
{k: f"{v['forgetting']:.3f} ± {v['forgetting_sd']:.3f}" for k, v in shipped["methods"].items()}

# %%
S = shipped["methods"]
anti = lambda k: S[k]["diagonal"][1]  # DelayAnti right after it is learned (mean over seeds)
for k in ("sequential (adam)", "sequential (sgd)"): assert S[k]["forgetting"] > 0.1, k          # naive forgets
for k in ("dni (sgd, projected gradient)", "dni (adam, projected step)", "dni (adam, projected gradient and step)"):
    assert abs(S[k]["forgetting"]) < 0.02, k                                                     # these protect
assert S["dni (adam, projected gradient)"]["forgetting"] > S["sequential (adam)"]["forgetting"]  # the naive port: worse
assert anti("dni (adam, projected gradient and step)") > max(anti("dni (adam, projected step)"), anti("dni (sgd, projected gradient)")) + 0.3
assert max(max(v["diagonal"][2:]) for v in S.values()) < 0.4  # from MemPro on nothing is learned in sequence (the text)

# %% [markdown]
# **What the quick profile shows, and what it cannot.** At this budget (150 steps of 32 trials per task) one network
# learning in sequence learns the two Delay tasks and little else: every diagonal entry from MemPro on stays below
# 0.4, for every method (chance is 0.1 on the memory tasks, 0.5 on the decisions), so the quick profile can only show
# what happens to the Delay tasks once later tasks are trained, not the paper's 9 × 9 figure. On that question the
# numbers are clear:
#
# - **Naive fine-tuning forgets**: DelayPro and DelayAnti are solved right after they are learned and mostly lost by
#   the end (final 0.04–0.29), with either optimiser (forgetting 0.26 with Adam, 0.18 with SGD).
# - **DNI as published (SGD, projected gradient) does not forget at all** (forgetting 0.000 ± 0.004 over five
#   seeds): DelayPro stays at 1.0 after the other eight tasks. The price shows on the diagonal: with a = 0.001 the
#   projectors block almost every direction the first task used, and at the reference learning rate the network learns
#   almost nothing afterwards (DelayAnti 0.23 right after it is trained). The paper's DNI row (0.58–0.73 on the first
#   eight tasks) needs the full profile's budget to be compared with.
# - **Ported to Adam by projecting the gradient, DNI forgets more than naive fine-tuning** (0.34 against 0.26): Adam's
#   per-coordinate scaling blows the small leftovers of the projected gradient back up to full-size steps, in
#   directions nobody chose.
# - **Projecting Adam's step** protects (forgetting ≈ 0 on all five seeds) but learns nothing after the first task
#   (DelayAnti 0.14 right after it is trained): Adam's step is scaled by moments that the blocked directions dominate,
#   and what survives the projection is tiny. It is also fragile: an earlier run of the same comparison, on another
#   machine, protected on three seeds of five only (forgetting 0.34 and 0.49 on the other two) and learned DelayAnti
#   to 0.53; at this profile small floating-point differences tip it.
# - **Projecting both the gradient and the step** keeps the protection (forgetting ≈ 0 on every seed) and learns
#   DelayAnti to 0.77 on average: Adam's moments now measure only the allowed directions, so its steps there are full
#   size. At the quick profile it is the best trade of the Adam variants, and at the full profile (below) by far the
#   best, so it is the default with Adam (`molap reproduce`, the shipped full run).
#
# MoLaP is not in these matrices because it has nothing to forget: each task's weights are its own (checked above).
#
# The numbers of that list, checked against the shipped runs (each as the text rounds it):

# %%
said = lambda x, typed, places=2: test_eq(round(x, places), typed)  # a number of the text, as it rounds
delay_final = [S[k]["accuracy"][t] for k in ("sequential (adam)", "sequential (sgd)") for t in TASK_NAMES[:2]]
said(min(delay_final), 0.04); said(max(delay_final), 0.29)
said(S["sequential (adam)"]["forgetting"], 0.26); said(S["sequential (sgd)"]["forgetting"], 0.18)
said(S["dni (sgd, projected gradient)"]["forgetting"], 0.0, 3); said(S["dni (sgd, projected gradient)"]["forgetting_sd"], 0.004, 3)
said(S["dni (sgd, projected gradient)"]["accuracy"]["DelayPro"], 1.0); said(anti("dni (sgd, projected gradient)"), 0.23)
said(S["dni (adam, projected gradient)"]["forgetting"], 0.34)
said(anti("dni (adam, projected step)"), 0.14); said(anti("dni (adam, projected gradient and step)"), 0.77)

# %% [markdown]
# ## The full profile
#
# 256 units, Adam at 1e-3 with the reference's L2 terms, batches of 64 trials; each task trained until an evaluation
# (every 500 steps, 256 trials) scores it at 0.95 or more, or for 9,000 steps (the separate networks get 3,500 steps
# per task); seeds 0, 1 and 2: naive fine-tuning and DNI with the default projection (Adam's gradient and step). Made
# by `python tools/run_sequential.py runs/full-seq --profile full --seeds 0 1 2` (resumable; both cores, one process
# per run), shipped with the final weights of every run (`checkpoints/dni-full-seed0.pt`, …; `load_network("dni")`
# in [the reproduction](reproduce.html) returns one ready to evaluate). `molap reproduce` runs both methods beside the
# others, and the same runs sit in the full profile's results under `sequential` and `dni`, with the usual keys.
#
# Earlier rules, kept as labelled variants (seed 0; `--labels` runs one): the fixed 3,000 steps per task the profile
# used before (naive, default DNI, and DNI projecting only Adam's step), and the separate networks' schedule on each
# task (3,500 steps, the learning rate decaying as a cosine from 1e-3 to 1e-4, restarted for every task).
#
# The accuracy matrices, mean over the three seeds:

# %%
full_seq = load_results("sequential-full")
F = load_results("full")["methods"]  # the same runs, as `reproduce` summarises them
seeds = lambda r: f"seeds {', '.join(map(str, r['seeds']))}"
plot_accuracy_matrices({f"{name} (full, {seeds(F[m])})": F[m] for m, name in (("sequential", "naive"), ("dni", "DNI"))});

# %% [markdown]
# The same as it happens (seed 0): every task's accuracy while each new one is learned. A task's segment ends where
# its training stopped, so its length shows how long the task took to learn.

# %%
plot_sequential_curves({"naive (full, seed 0)": F["sequential"], "DNI (full, seed 0)": F["dni"]});

# %% [markdown]
# The final rows, beside the paper's DNI row and MoLaP:

# %%
full_molap = F["molap"]
Markdown(final_rows({**{f"{k} (full, {seeds(v)})": v for k, v in full_seq["methods"].items()},
                     "DNI, paper (v1 Fig. 2)": dict(accuracy=PAPER_DNI),
                     f"MoLaP (full, {seeds(full_molap)})": full_molap}))


# %% [markdown]
# Every variant: the lowest accuracy right after learning a task (over tasks and seeds), the final mean, the forgetting
# (mean ± sd over seeds), and the cost per run (optimiser steps over the nine tasks, minutes of one core):

# %%
def variant_table(methods: dict) -> str:
    "Markdown: per variant, the lowest diagonal entry, the final mean, the forgetting and the cost per run."
    rows = ["| variant | seeds | lowest right after learning | final mean | forgetting | steps | minutes |", "|---|---|---|---|---|---|---|"]
    for k, v in methods.items():
        low = min(min(d) for d in v.get("diagonal_per_seed", [v["diagonal"]]))
        rows.append(f"| {k} | {', '.join(map(str, v['seeds']))} | {low:.2f} | {sum(v['accuracy'].values()) / 9:.3f} | "
                    f"{v['forgetting']:.3f} ± {v['forgetting_sd']:.3f} | {v['optimizer_steps']:,.0f} | {v['train_seconds'] / 60:.0f} |")
    return "\n".join(rows)

Markdown(variant_table(full_seq["methods"]))

# %% [markdown]
# The steps each task took, per seed: a task that stopped once learned took a multiple of 500 below 9,000.

# %%
Markdown("\n".join(["| steps per task | " + " | ".join(t.replace("Context", "Ctx") for t in TASK_NAMES) + " |",
                     "|---|" + "---|" * 9] +
                    [f"| {k}, seed {s} | " + " | ".join(f"{n:,}" for n in steps) + " |"
                     for k, v in full_seq["methods"].items() if "steps_per_task" in v
                     for s, steps in zip(v["seeds"], v["steps_per_task"])]))

# %% [markdown]
# **What the full profile shows (seeds 0, 1 and 2).** Both methods learn every task when it is trained: right after
# learning it, every task scores 0.90 or more on every seed (naive: lowest 0.90, ContextMemDm1 on seed 1; DNI: lowest
# 0.92, MemDm1 on seed 0). The Delay and Mem tasks take 500–1,000 steps; the decision tasks take naive fine-tuning
# 500–8,500 steps and DNI 6,000–9,000 (eleven of its fifteen decision tasks ran to the 9,000-step cap and ended at
# 0.92–0.95 there: still learned, just not to the 0.95 on 256 trials that stops a task).
#
# - **Naive fine-tuning forgets most of what it learns** (forgetting 0.69 ± 0.02; final mean 0.35): by the end only
#   the last task is solved, and DelayPro is lost the moment DelayAnti is learned (their inputs are the same; only the
#   rule input differs).
# - **DNI keeps almost everything** (forgetting 0.054 ± 0.003; final mean 0.92, 0.91–1.00 on eight tasks). The one
#   task it loses part of is the first: DelayPro stays at 1.0 through the Mem tasks and drops to 0.84 while MemDm1 is
#   learned, then to 0.73 by the end. We have not found out why (the covariances are running averages over tasks, so
#   each new task dilutes the first one's share; that is a guess, not a measurement).
# - **Our DNI keeps far more than the paper's** (mean 0.92 against 0.71 read off its figure; above it on eight tasks,
#   0.95 against 1.0 on the last). Likely reasons, none measured here: the optimiser (Adam with its gradient and step
#   both projected, where the paper uses projected SGD), a budget that ends each task once it is learned, and a
#   figure read by eye. The paper's SGD is one `config` away; at our budgets it learns too slowly to compare (quick
#   profile, above).

# %% [markdown]
# Checked against the shipped runs, as the text rounds them:

# %%
nv, dn = full_seq["methods"]["sequential (adam)"], full_seq["methods"]["dni (adam, projected gradient and step)"]
lowest = lambda r: min((d, TASK_NAMES[i], s) for s, ds in zip(r["seeds"], r["diagonal_per_seed"]) for i, d in enumerate(ds))
mean = lambda r: sum(r["accuracy"].values()) / 9  # the final mean
test_eq((round(lowest(nv)[0], 2), lowest(nv)[1:]), (0.90, ("ContextMemDm1", 1)))
test_eq((round(lowest(dn)[0], 2), lowest(dn)[1:]), (0.92, ("MemDm1", 0)))
said(nv["forgetting"], 0.69); said(nv["forgetting_sd"], 0.02); said(mean(nv), 0.35)
said(dn["forgetting"], 0.054, 3); said(dn["forgetting_sd"], 0.003, 3); said(mean(dn), 0.92)
said(min(dn["accuracy"][t] for t in TASK_NAMES[1:]), 0.91); said(max(dn["accuracy"][t] for t in TASK_NAMES[1:]), 1.0)
said(dn["accuracy_after_each_task"][TASK_NAMES.index("MemDm1")][0], 0.84); said(dn["accuracy"]["DelayPro"], 0.73)
said(sum(PAPER_DNI.values()) / 9, 0.71); said(dn["accuracy"][TASK_NAMES[-1]], 0.95)
#
# **Why the stop, measured:** with the fixed 3,000 steps the profile used before, DNI learned the decision tasks to
# only 0.77–0.87 (its accuracy on each was still rising when the budget ended: their curves ship as the earlier run) and
# ended at 0.78, while naive fine-tuning was at 0.89–1.00; the separate networks' cosine
# schedule (3,500 steps) made DNI's decisions worse (0.72–0.80), since the decaying rate stops that climb early. So
# what held DNI back was slow progress inside the directions its projectors leave open, and a longer budget, not a
# schedule, fixes it: at a cost of 2.4 times naive fine-tuning's steps (44,700 against 18,300 per run on average).
# Projecting only Adam's step (3,000 steps) protects less well (forgetting 0.28) and learns much less (from MemDm1 on,
# below 0.5 right after each task).
#
# MoLaP needs no such trade: it cannot forget (checked above), and learns every task well (its lowest task, mean of
# its seeds in the final evaluation, below; over the whole task distribution see [the reproduction](reproduce.html)).

# %%
_molap = load_results("full")["methods"]["molap"]["accuracy"]
_lowest = min(_molap, key=_molap.get)
assert _molap[_lowest] > 0.9  # "every task well"
f"MoLaP's lowest task: {_lowest} {_molap[_lowest]:.3f}; its mean {mean(dict(accuracy=_molap)):.3f}"

# %%
low = lambda r, tasks=slice(None): min(min(d[tasks]) for d in r["diagonal_per_seed"])  # over seeds
assert low(nv) >= 0.9 and low(dn) >= 0.9                              # every task learned, every seed, both methods
assert nv["forgetting"] > dn["forgetting"] + 0.5                       # DNI forgets much less than naive fine-tuning
assert mean(dn) > sum(PAPER_DNI.values()) / 9 + 0.1                      # and keeps more than the paper's DNI
assert sum(dn["accuracy"][t] > PAPER_DNI[t] for t in TASK_NAMES) == 8       # ... on eight of the nine tasks
nv3, dn3 = full_seq["methods"]["sequential (adam, 3,000 steps)"], full_seq["methods"]["dni (adam, 3,000 steps)"]
st3 = full_seq["methods"]["dni (adam, projected step, 3,000 steps)"]
assert max(dn3["diagonal"][4:]) < 0.9 <= low(dn, slice(4, None))           # 3,000 steps: DNI's decisions short of 0.9
assert nv3["forgetting"] > dn3["forgetting"] + 0.5 and min(nv3["diagonal"]) > 0.85
assert sum(d < 0.5 for d in st3["diagonal"]) >= 4 and mean(dn3) > mean(st3) + 0.3  # projecting only the step learns less
assert sum(dn3["accuracy"][t] > PAPER_DNI[t] for t in TASK_NAMES) == 7      # above the paper's row on seven tasks
nc, dc = full_seq["methods"]["sequential (adam, cosine)"], full_seq["methods"]["dni (adam, cosine)"]
assert min(nc["diagonal"]) >= 0.9 and nc["forgetting"] > dc["forgetting"] + 0.5  # cosine: naive learns all, forgets all
assert max(dc["diagonal"][4:]) < min(dn3["diagonal"][4:]) + 0.05 < 0.9           # ... DNI's decisions no better
assert dc["forgetting"] < dn3["forgetting"] and abs(mean(dc) - mean(dn3)) < 0.02  # less forgetting, the same end
test_eq(F["dni"]["accuracy_after_each_task"], dn["accuracy_after_each_task"])
test_eq(F["sequential"]["accuracy"], nv["accuracy"])
