#!/usr/bin/env python
"""The answer modules' own accuracy on decision trials: each module's latent output, mapped back through its task's
CCA (B⁻¹, + μ_y) to an answer direction, scored at the last step like a network's response.

    python tools/answer_accuracy.py PRETRAIN_CHECKPOINT_OR_MODULES_FILE SEED [PROFILE]

R² says how well a module follows its targets on average; this says whether the comparison a decision needs is
there, on the trials the tasks will ask about (8 batches of 64 trials per task, one timing per batch).
"""
import math, sys
import torch


def main(path, seed, profile="full"):
    torch.set_num_threads(1)
    from molap.pretraining import answer_primitives, latent_batch, pretraining_network
    from molap.training import get_profile
    from molap.tasks import make_batch, angular_distance
    prof, seed = get_profile(profile), int(seed)
    p = answer_primitives(prof, seed=seed)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = pretraining_network(p, prof.module_sizes, seed=seed, alpha=prof.alpha)
    if "model" in state: model.load_state_dict(state["model"]); print("checkpoint at step", state["step"])
    else:
        with torch.no_grad():
            for k in ("J", "I_T", "O_T", "b_T", "b_out"): getattr(model, k).copy_(state[k])
    model.eval()
    for task in ("MemDm1", "MemDm2", "ContextMemDm1", "ContextMemDm2", "MultiMem"):
        acc = {"M2": [], "M3": []}
        for k in range(8):
            b = make_batch(task, 64, seed=7000 + k, config=prof.task)
            with torch.no_grad(): y = model(latent_batch(b, p).inputs, 0)
            c, last = p.stats[task], y[b.length - 1, torch.arange(64)].double()
            for name, cols in (("M2", [1, 2]), ("M3", [3, 4])):
                Y = last[:, cols] @ torch.linalg.inv(c.B[1:, 1:]) + c.mu_y[1:]
                err = angular_distance(torch.atan2(Y[:, 0], Y[:, 1]) % (2 * math.pi), b.direction.double())
                acc[name].append((err < prof.task.criterion).float().mean().item())
        print(f"{task:14s}", "  ".join(f"{m} {sum(v) / len(v):.3f}" for m, v in acc.items()))


if __name__ == "__main__":
    main(*sys.argv[1:])
