#!/usr/bin/python3
"""Prints the torch.optim reference values that tests/test_optim.cpp and tests/test_lr_scheduler.cpp
check against (PyTorch 1.13, Debian's python3-torch). Rerun to regenerate:
    /usr/bin/python3 tests/reference/optim_reference.py
Each optimizer starts from p = [0.5, -1.0, 2.0] and takes three steps with the fixed gradients
G[t]; the values after every step are printed as C++ initializers."""
import torch

P0 = [0.5, -1.0, 2.0]
G = [[0.1, -0.2, 0.3], [-0.4, 0.5, 0.05], [0.25, 0.15, -0.35]]


def run(make):
    p = torch.tensor(P0, dtype=torch.float64, requires_grad=True)
    opt = make([p])
    out = []
    for g in G:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().tolist())
    return out


configs = {
    "sgd_plain": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "sgd_momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01),
    "sgd_nesterov": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda ps: torch.optim.Adam(ps, lr=0.01),
    "adam_wd": lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
    "adamw": lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
}
for name, make in configs.items():
    steps = run(make)
    body = ", ".join("{" + ", ".join(repr(v) for v in s) + "}" for s in steps)
    print(f"// {name}\n{{{body}}}")


def one_cycle(**kw):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.Adam([p], lr=1.0) if kw.pop("adam", False) else torch.optim.SGD([p], lr=1.0, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, **kw)
    lrs, moms = [opt.param_groups[0]["lr"]], [opt.param_groups[0].get("momentum", opt.param_groups[0].get("betas", [0])[0])]
    for _ in range(kw["total_steps"] if "total_steps" in kw else kw["epochs"] * kw["steps_per_epoch"]):
        opt.step()
        sched.step()
        g = opt.param_groups[0]
        lrs.append(g["lr"])
        moms.append(g["momentum"] if "momentum" in g else g["betas"][0])
    return lrs, moms


for name, kw in {
    "onecycle_cos": dict(max_lr=0.1, total_steps=100),
    "onecycle_ref": dict(max_lr=0.02, epochs=24, steps_per_epoch=10, pct_start=5 / 24, div_factor=100,
                         final_div_factor=100, anneal_strategy="linear", adam=True),
    "onecycle_three": dict(max_lr=0.5, total_steps=50, pct_start=0.25, three_phase=True),
}.items():
    lrs, moms = one_cycle(**kw)
    peak = max(range(len(lrs)), key=lambda i: lrs[i])
    print(f"// {name}: steps 0, 1, peak={peak}, last-1, last; lr then momentum")
    for i in (0, 1, peak, len(lrs) - 2, len(lrs) - 1):
        print(f"{{{i}, {lrs[i]!r}, {moms[i]!r}}},")


def epochs(make_sched, metrics=None, n=12):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    s = make_sched(opt)
    out = []
    for e in range(n):
        opt.step()
        s.step(metrics[e]) if metrics else s.step()
        out.append(opt.param_groups[0]["lr"])
    return out


print("// steplr(step 3, gamma 0.5)", epochs(lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)))
print("// multistep([2, 5, 9], 0.1)", epochs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [2, 5, 9], 0.1)))
m = [1.0, 0.9, 0.95, 0.96, 0.97, 0.9, 0.91, 0.92, 0.93, 0.5, 0.6, 0.7]
print("// plateau(patience 2, factor 0.5, cooldown 1) metrics", m,
      epochs(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1), m))
