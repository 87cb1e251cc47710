#!/usr/bin/env python3
"""Optimizer trajectories from torch.optim and clip_grad_norm_, in float64, for test/core/optim.test.ts.
Each case: start params, a fixed list of gradients (one per step), the optimizer's kwargs, and the
params after every step (with clipping when max_norm is set, plus the norm clip_grad_norm_ returned)."""
import json
import torch

torch.manual_seed(7)
shapes = {"U.weight": (3, 2), "W.weight": (3, 3), "W.bias": (3,), "V.weight": (2, 3), "V.bias": (2,)}
STEPS = 5


def run(name, make, max_norm=None, grad_scale=1.0):
    params = {k: torch.randn(*s, dtype=torch.float64) for k, s in shapes.items()}
    grads = [{k: torch.randn(*s, dtype=torch.float64) * grad_scale for k, s in shapes.items()} for _ in range(STEPS)]
    ps = [torch.nn.Parameter(params[k].clone()) for k in shapes]
    opt, kwargs = make(ps)
    traj, norms = [], []
    for g in grads:
        for p, k in zip(ps, shapes):
            p.grad = g[k].clone()
        if max_norm is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(ps, max_norm)))
        opt.step()
        traj.append({k: p.detach().tolist() for p, k in zip(ps, shapes)})
    return {"name": name, "optimizer": kwargs, "maxNorm": max_norm,
            "start": {k: v.tolist() for k, v in params.items()},
            "grads": [{k: v.tolist() for k, v in g.items()} for g in grads],
            "after": traj, "norms": norms}


O = torch.optim
cases = [
    run("sgd", lambda ps: (O.SGD(ps, lr=0.1), {"name": "sgd", "lr": 0.1})),
    run("sgd-wd", lambda ps: (O.SGD(ps, lr=0.05, weight_decay=0.01), {"name": "sgd", "lr": 0.05, "weightDecay": 0.01})),
    run("momentum", lambda ps: (O.SGD(ps, lr=0.1, momentum=0.9), {"name": "momentum", "lr": 0.1})),
    run("momentum-nesterov-damp", lambda ps: (O.SGD(ps, lr=0.1, momentum=0.8, nesterov=True),
                                             {"name": "momentum", "lr": 0.1, "momentum": 0.8, "nesterov": True})),
    run("momentum-dampening", lambda ps: (O.SGD(ps, lr=0.1, momentum=0.7, dampening=0.3),
                                         {"name": "sgd", "lr": 0.1, "momentum": 0.7, "dampening": 0.3})),
    run("adam", lambda ps: (O.Adam(ps), {"name": "adam"})),
    run("adam-custom", lambda ps: (O.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
                                  {"name": "adam", "lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weightDecay": 0.1})),
    run("adam-amsgrad", lambda ps: (O.Adam(ps, lr=0.02, amsgrad=True), {"name": "adam", "lr": 0.02, "amsgrad": True})),
    run("sgd-clipped", lambda ps: (O.SGD(ps, lr=0.1), {"name": "sgd", "lr": 0.1}), max_norm=1.0, grad_scale=3.0),
    run("adam-clip-inactive", lambda ps: (O.Adam(ps, lr=0.01), {"name": "adam", "lr": 0.01}), max_norm=100.0),
]
print(json.dumps({"torch": torch.__version__, "cases": cases}))
