"""What written-out derivatives of the networks would save in training, against autograd.

Training evaluates the loss :math:`\\|\\partial_{x^*}\\Xi(x,\\partial_xS(x))-\\dot x\\|^2` and its
gradient in the weights. The package takes both inner derivatives (of the FICNN entropy and of
the PICNN dissipation) with ``torch.autograd.grad(create_graph=True)``, so the weight gradient is a
double backward. This script writes the two inner derivatives out as plain tensor operations
(the chain rule through softplus layers, :func:`entropy_gradient` and :func:`psi_gradient`), so one
ordinary backward gives the weight gradient, and times one training evaluation (loss and weight
gradient) both ways on the models and training sizes of the book's experiments, at their initial
weights. It also reports the largest difference of the two weight gradients, relative to the
largest entry (round-off only, since both are exact).

    python benchmarks/closed_form.py            # prints the table, writes closed_form.md

Time it alone: a second torch job on a 2-core machine slows both 5-20x.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as F

from ggd_tutorial import networks as nets
from ggd_tutorial.book import registry

HERE = Path(__file__).resolve().parent
REPORT = HERE / "closed_form.md"
#: Experiments whose models are a learned FICNN and/or PICNN, with their training subsample size.
CASES = ("overdamped-2d", "kinetics-prescribed-S", "kinetics-prescribed-Xi", "kinetics-free", "diffusion")
REPEATS = 20


def _softplus_slope(pre: Tensor) -> Tensor:
    """The derivative of ``F.softplus`` as torch computes it (slope 1 above its threshold 20)."""
    return torch.where(pre > 20.0, torch.ones_like(pre), torch.sigmoid(pre))


def entropy_gradient(net: nets.ConcaveEntropy, x: Tensor) -> Tensor:
    """:math:`\\partial_xS` of a :class:`~ggd_tutorial.networks.ConcaveEntropy`, written out."""
    pres, weights = [net.input_maps[0](x)], [pos.weight for pos in net.hidden_maps]
    z = F.softplus(pres[0])
    for k, lin in enumerate(net.input_maps[1:-1]):
        pres.append(F.linear(z, weights[k]) + lin(x))
        z = F.softplus(pres[-1])
    grad = net.input_maps[-1].weight.expand(x.shape[0], -1)
    gz = weights[-1].expand(x.shape[0], -1)
    for k in range(len(pres) - 1, -1, -1):
        gpre = gz * _softplus_slope(pres[k])
        grad = grad + gpre @ net.input_maps[k].weight
        if k > 0:
            gz = gpre @ weights[k - 1]
    if net.quadratic is not None:
        b = net.quadratic.matrix(x.shape[-1])
        grad = grad + F.linear(x, b) @ b
    if net.coercive:
        grad = grad + net.coercive * x
    if net.mixing_raw is not None:
        grad = grad + net.mixing_coefficients * torch.log(x)
    return -grad


def psi_gradient(net: nets.ConvexDissipation, x: Tensor, y: Tensor) -> Tensor:
    """:math:`\\partial_y\\Psi(x,y)` of a :class:`~ggd_tutorial.networks.ConvexDissipation`
    (``y`` of shape (..., batch, dim)), written out."""
    features = net._x_features(x)
    yp = y if net.project is None else net.project(y)
    last, pres, wy, wz, z = len(features) - 1, [], [], [], None
    for i, (gate_y, x_term, gate_z) in enumerate(features):
        separate = net.channels and i < last
        wy.append(net._masked("y", i) if separate else net.y_maps[i].weight)
        pre = F.linear(yp * gate_y, wy[i]) + x_term
        wz.append(None)
        if z is not None:
            wz[i] = net._masked("z", i) if separate else net.z_maps[i - 1].weight
            pre = pre + F.linear(z * gate_z, wz[i])
        pres.append(pre)
        z = F.softplus(pre) if i < last else pre
    shape = (*yp.shape[:-1], -1)
    grad = wy[last].expand(shape) * features[last][0]
    gz = wz[last].expand(shape) * features[last][2] if last > 0 else None
    for i in range(last - 1, -1, -1):
        gpre = gz * _softplus_slope(pres[i])
        grad = grad + (gpre @ wy[i]) * features[i][0]
        if i > 0:
            gz = (gpre @ wz[i]) * features[i][2]
    if isinstance(net.quadratic, nets.QuadraticForm):
        b = net.quadratic.matrix(yp.shape[-1])
        grad = grad + F.linear(yp, b) @ b
    elif net.quadratic is not None:
        grad = grad + net.quadratic.scale**2 * yp
    return grad if net.project is None else grad @ nets.projection_matrix(net.project).T


def written_out_velocity(model: nets.GradientDynamicsModel, x: Tensor) -> Tensor:
    """:math:`\\dot x=\\partial_y\\Xi(x,\\partial_xS)` with the learned networks' derivatives written out
    (a prescribed potential keeps autograd)."""
    if model.entropy_net is not None:
        x_star = entropy_gradient(model.entropy_net, x)
    else:
        x_star = model._conjugate(x, create_graph=True)
    net = model.dissipation_net
    if not isinstance(net, nets.ConvexDissipation):
        return model.dissipation_gradient(x, x_star)

    def grad(y: Tensor) -> Tensor:
        both = psi_gradient(net, x, torch.stack([y, torch.zeros_like(y)]))
        return both[0] - both[1]

    return 0.5 * (grad(x_star) - grad(-x_star)) if net.symmetric else grad(x_star)


def _evaluation(model, velocity, x: Tensor, v: Tensor) -> tuple[float, Tensor]:
    """Seconds of one loss-and-weight-gradient evaluation (mean of :data:`REPEATS`), and the gradient."""

    def once() -> Tensor:
        model.zero_grad(set_to_none=True)
        ((velocity(x) - v) ** 2).mean().backward()
        return torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

    once()
    t0 = time.perf_counter()
    for _ in range(REPEATS):
        grad = once()
    return (time.perf_counter() - t0) / REPEATS, grad


def measure(name: str) -> dict:
    """Both timings and the gradients' relative difference on experiment ``name``'s model and
    training subsample (its record's ``max_points``)."""
    record = registry.EXPERIMENTS[name]
    system, data, _ = record.data()
    model = record.model.build(system, record.seed)
    x, v = data.train.points()
    points = record.fit.max_points or x.shape[0]
    idx = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0))[:points]
    x, v = x[idx].to(torch.float64), v[idx].to(torch.float64)
    autograd_s, reference = _evaluation(model, model, x, v)
    written_s, grad = _evaluation(model, lambda xb: written_out_velocity(model, xb), x, v)
    diff = float((grad - reference).abs().max() / reference.abs().max())
    return dict(name=name, points=x.shape[0], autograd_s=autograd_s, written_s=written_s, diff=diff)


def report(rows: list[dict]) -> str:
    lines = [
        "# Written-out derivatives against autograd's double backward",
        "",
        f"Written by `python benchmarks/closed_form.py` ({platform.machine()} CPU, {torch.get_num_threads()} "
        f"torch threads, torch {torch.__version__}, float64, mean of {REPEATS} evaluations at the initial "
        "weights). One evaluation: the training loss on the experiment's training subsample and its "
        "gradient in the weights.",
        "",
        "| experiment | points | autograd (ms) | written out (ms) | saved | weight gradients, max relative difference |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        saved = 1 - r["written_s"] / r["autograd_s"]
        lines.append(
            f"| {r['name']} | {r['points']} | {1e3 * r['autograd_s']:.1f} | {1e3 * r['written_s']:.1f} "
            f"| {saved:.0%} | {r['diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    torch.set_default_dtype(torch.float64)
    text = report([measure(name) for name in CASES])
    REPORT.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
