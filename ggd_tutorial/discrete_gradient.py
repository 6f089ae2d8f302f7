r"""A structure-preserving time step: Gonzalez's midpoint discrete gradient.

For a scalar :math:`F` and two states :math:`x`, :math:`y`, with :math:`m=(x+y)/2` and :math:`\delta=y-x`,

.. math:: \bar\nabla F(x,y) = \nabla F(m) + \frac{F(y)-F(x)-\nabla F(m)\cdot\delta}{|\delta|^2}\,\delta

(Gonzalez 1996) satisfies :math:`\bar\nabla F(x,y)\cdot(y-x)=F(y)-F(x)` *exactly* and
:math:`\bar\nabla F(x,y)=\nabla F(m)+O(|\delta|^2)`. The correction carries a round-off error of about
:math:`\epsilon|F|/|\delta|` (a cancelling numerator over :math:`|\delta|^2`); for :math:`|\delta|` below
:math:`\epsilon^{1/3}(1+|x|)` it is dropped, and :math:`\nabla F(m)\cdot\delta` then differs from
:math:`F(y)-F(x)` by :math:`O(|\delta|^3)`, at round-off level.

**The step.** :func:`discrete_gradient_step` solves for :math:`x_{n+1}`

* for a :class:`~ggd_tutorial.generic.GENERICModel`:
  :math:`x_{n+1}-x_n=\Delta t\,v(m;\bar e,\bar s)` with :math:`\bar e=\bar\nabla E`, :math:`\bar s=\bar\nabla S`
  and :math:`v` = :meth:`~ggd_tutorial.generic.GENERICModel.velocity_from_gradients` (state-dependent parts
  at the midpoint :math:`m`, the projectors built from :math:`\bar e`, :math:`\bar s`). Since
  :math:`\bar e\cdot v=0` and :math:`\bar s\cdot v\ge0` for *any* vectors,
  :math:`E_{n+1}-E_n=\bar e\cdot\Delta x=0` and :math:`S_{n+1}-S_n=\bar s\cdot\Delta x\ge0`;
* for a :class:`~ggd_tutorial.networks.GradientDynamicsModel`:
  :math:`x_{n+1}-x_n=\Delta t\,\partial_{x^*}\Xi(m,\bar s)`, so
  :math:`S_{n+1}-S_n=\Delta t\,\bar s\cdot\partial_{x^*}\Xi(m,\bar s)\ge0` (convexity, :math:`\Xi(m,0)=0`,
  :math:`\partial\Xi(m,0)=0`).

Both hold up to the residual :math:`r` of the nonlinear solve (:math:`\Delta E=\bar e\cdot r`) and round-off.
The scheme is symmetric and second order. It is implicit: each step runs a batched Newton iteration (Jacobian by
autograd, one backward pass per state component) started from an explicit Euler step, stopped when the
Newton update is below ``tol * (1 + |x|)`` (the residual is then about the square of that) or has reached
the round-off floor of the discrete gradient (below ``sqrt(tol) * (1 + |x|)`` and no longer shrinking), and falls back
to the fixed-point iteration :math:`y\leftarrow x+\Delta t\,v(x,y)` if Newton fails (a singular Jacobian,
non-finite values, no convergence). If neither converges, it raises.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from .generic import GENERICModel
from .networks import GradientDynamicsModel

__all__ = ["check_model", "discrete_gradient", "discrete_gradient_step"]

ScalarFn = Callable[[Tensor], Tensor]


def _value_and_gradient(fn: ScalarFn, x: Tensor, create_graph: bool) -> tuple[Tensor, Tensor]:
    with torch.enable_grad():
        xg = x if x.requires_grad else x.detach().requires_grad_(True)
        val = fn(xg)
        (grad,) = torch.autograd.grad(val.sum(), xg, create_graph=create_graph)
    return val, grad


def discrete_gradient(fn: ScalarFn, x: Tensor, y: Tensor, create_graph: bool = False) -> Tensor:
    r"""Gonzalez's midpoint discrete gradient :math:`\bar\nabla F(x,y)` of ``fn`` (batch of states -> (batch,)),
    row by row, shape (batch, dim): :math:`\bar\nabla F(x,y)\cdot(y-x)=F(y)-F(x)` to round-off.

    Parameters
    ----------
    fn:
        Scalar function of a batch of states.
    x, y:
        States, (batch, dim).
    create_graph:
        Keep the graph (for derivatives of the result with respect to ``y``, as the Newton solve needs).

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in shape or are not (batch, dim).
    """
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"x and y must both have shape (batch, dim), got {tuple(x.shape)} and {tuple(y.shape)}")
    with torch.enable_grad():
        m = 0.5 * (x + y)
        _, grad_m = _value_and_gradient(fn, m, create_graph)
        delta = y - x
        fx, fy = fn(x), fn(y)
        d2 = (delta * delta).sum(-1)
        small = d2.sqrt() <= torch.finfo(x.dtype).eps ** (1 / 3) * (1.0 + x.abs().amax(-1))
        safe = torch.where(small, torch.ones_like(d2), d2)
        coef = torch.where(small, torch.zeros_like(d2), (fy - fx - (grad_m * delta).sum(-1)) / safe)
        out = grad_m + coef[:, None] * delta
    return out if create_graph else out.detach()


def _velocity(model, x: Tensor, y: Tensor, create_graph: bool) -> Tensor:
    """The discrete-gradient velocity of ``model`` between ``x`` and ``y``."""
    m = 0.5 * (x + y)
    if isinstance(model, GENERICModel):
        ds = discrete_gradient(model.entropy, x, y, create_graph=create_graph)
        de = discrete_gradient(model.energy, x, y, create_graph=create_graph) if model.has_energy else None
        return model.velocity_from_gradients(m, de, ds, create_graph=create_graph)
    ds = discrete_gradient(model.entropy, x, y, create_graph=create_graph)
    with torch.set_grad_enabled(create_graph):
        return model.dissipation_gradient(m, ds)


def check_model(model) -> None:
    """Raise ``ValueError`` unless ``model`` has the potentials the step needs (GENERIC or GGD model)."""
    if not isinstance(model, (GENERICModel, GradientDynamicsModel)):
        raise ValueError(
            "the discrete-gradient step needs the energy and entropy of the model: pass a GENERICModel or a "
            f"GradientDynamicsModel, got {type(model).__name__} (wrap a system with known potentials in "
            "GradientDynamicsModel(dim, entropy=..., dissipation=...); use method='rk4' for a plain vector field)"
        )


def discrete_gradient_step(
    model: GENERICModel | GradientDynamicsModel,
    x: Tensor,
    dt: float,
    *,
    tol: float | None = None,
    max_iter: int = 30,
) -> Tensor:
    r"""One discrete-gradient step from ``x`` (see the module docstring): :math:`E_{n+1}=E_n` (GENERIC) and
    :math:`S_{n+1}\ge S_n` up to the solver residual and round-off.

    Parameters
    ----------
    model:
        A :class:`~ggd_tutorial.generic.GENERICModel` or a :class:`~ggd_tutorial.networks.GradientDynamicsModel`.
    x:
        States, (batch, dim), in the model's dtype.
    dt:
        Time step (positive).
    tol:
        Stop when the largest Newton update is below ``tol * (1 + |x|)``; default ``1e-12`` in float64 and
        ``100 * eps`` in lower precision.
    max_iter:
        Most Newton iterations (the fixed-point fallback gets four times as many).

    Returns
    -------
    Tensor
        The next states, (batch, dim), without a graph.

    Raises
    ------
    ValueError
        For a model without an energy and entropy (a plain callable), a non-positive ``dt``, bad shapes.
    RuntimeError
        If neither Newton nor the fixed-point iteration converges (try a smaller ``dt``).
    """
    check_model(model)
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    if x.ndim != 2 or x.shape[-1] != model.dim:
        raise ValueError(f"x must have shape (batch, {model.dim}), got {tuple(x.shape)}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter}")
    if tol is None:
        tol = max(1e-12, 100 * torch.finfo(x.dtype).eps)
    x = x.detach()
    with torch.no_grad():
        y0 = x + dt * model(x)
    scale = 1.0 + float(x.abs().amax())
    y = _newton(model, x, y0, dt, tol, int(max_iter), scale)
    if y is None:
        y, residual = _fixed_point(model, x, y0, dt, tol, 4 * int(max_iter), scale)
        if y is None:
            raise RuntimeError(
                f"the discrete-gradient step did not converge (Newton, then {4 * int(max_iter)} fixed-point "
                f"iterations; last update {residual:.3g}); try a smaller dt"
            )
    return y


def _settled(update: float, previous: float, tol: float, scale: float) -> bool:
    """Converged: the update is below ``tol * scale``, or it is below ``sqrt(tol) * scale`` and no longer
    shrinks (the round-off floor of the discrete gradient, reached before ``tol`` for slow steps)."""
    if update <= tol * scale:
        return True
    return update <= tol**0.5 * scale and update > 0.5 * previous


def _newton(model, x: Tensor, y: Tensor, dt: float, tol: float, max_iter: int, scale: float) -> Tensor | None:
    dim = x.shape[-1]
    previous = float("inf")
    for _ in range(max_iter):
        with torch.enable_grad():
            yv = y.detach().requires_grad_(True)
            r = yv - x - dt * _velocity(model, x, yv, create_graph=True)
            rows = [torch.autograd.grad(r[:, i].sum(), yv, retain_graph=i < dim - 1)[0] for i in range(dim)]
        jac = torch.stack(rows, dim=1)  # jac[b, i, :] = d r_i / d y
        try:
            update = torch.linalg.solve(jac.detach(), r.detach())
        except RuntimeError:  # singular Jacobian
            return None
        if not bool(torch.isfinite(update).all()):
            return None
        y = (y - update).detach()
        size = float(update.abs().max())
        if _settled(size, previous, tol, scale):
            return y
        previous = size
    return None


def _fixed_point(
    model, x: Tensor, y: Tensor, dt: float, tol: float, max_iter: int, scale: float
) -> tuple[Tensor | None, float]:
    change, previous = float("inf"), float("inf")
    for _ in range(max_iter):
        new = (x + dt * _velocity(model, x, y, create_graph=False)).detach()
        change = float((new - y).abs().max())
        y = new
        if not bool(torch.isfinite(y).all()):
            return None, change
        if change <= tol * scale or (change <= tol**0.5 * scale and change > 0.9 * previous):
            return y, change
        previous = change
    return None, change
