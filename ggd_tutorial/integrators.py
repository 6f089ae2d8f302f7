r"""Explicit time steppers for :math:`\dot x=f(x)` and a batched rollout.

``f`` may be any callable on a ``(batch, dim)`` tensor -- a ground-truth system or
a :class:`~ggd_tutorial.networks.GradientDynamicsModel`, which differentiates
internally and therefore works under ``torch.no_grad()`` too.
"""

from __future__ import annotations

from typing import Callable, cast

import torch
from torch import Tensor

from ._utils import model_dtype_device

VectorField = Callable[[Tensor], Tensor]


def euler_step(f: VectorField, x: Tensor, dt: float) -> Tensor:
    r"""One forward-Euler step :math:`x+\Delta t f(x)` (first order)."""
    return x + dt * f(x)


def rk4_step(f: VectorField, x: Tensor, dt: float) -> Tensor:
    r"""One classical Runge--Kutta step (fourth order):

    .. math:: x_{n+1}=x_n+\tfrac{\Delta t}{6}(k_1+2k_2+2k_3+k_4).
    """
    k1 = f(x)
    k2 = f(x + 0.5 * dt * k1)
    k3 = f(x + 0.5 * dt * k2)
    k4 = f(x + dt * k3)
    return x + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


STEPPERS = {"euler": euler_step, "rk4": rk4_step}


def rollout(
    vector_field: VectorField,
    x0: Tensor,
    dt: float,
    steps: int,
    method: str = "rk4",
    substeps: int = 1,
) -> Tensor:
    """Integrate a batch of initial states.

    Returns a tensor of shape ``(batch, steps, dim)`` whose first time slice is
    ``x0``; consecutive slices are ``dt`` apart, each reached with ``substeps``
    steps of the chosen ``method`` ("rk4", "euler", or "discrete_gradient": the implicit
    :func:`~ggd_tutorial.discrete_gradient.discrete_gradient_step`, which keeps a
    :class:`~ggd_tutorial.generic.GENERICModel`'s energy and makes the entropy of it and of a
    :class:`~ggd_tutorial.networks.GradientDynamicsModel` non-decreasing per step). The integration runs on the
    model's device and dtype (e.g. a GPU after training); the result comes back on
    ``x0``'s device and dtype.
    """
    if method not in STEPPERS and method != "discrete_gradient":
        raise ValueError(f"method must be one of {sorted([*STEPPERS, 'discrete_gradient'])}, got {method!r}")
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    if int(steps) < 1 or int(substeps) < 1:
        raise ValueError("steps and substeps must be positive integers")
    if x0.ndim != 2:
        raise ValueError(f"x0 must have shape (batch, dim), got {tuple(x0.shape)}")
    if method == "discrete_gradient":
        from .discrete_gradient import check_model, discrete_gradient_step

        check_model(vector_field)
        step = cast(Callable[[VectorField, Tensor, float], Tensor], discrete_gradient_step)
    else:
        step = STEPPERS[method]
    h = dt / substeps
    dtype, device = model_dtype_device(vector_field, x0)
    x = x0.to(device=device, dtype=dtype)
    out = [x]
    with torch.no_grad():
        for _ in range(int(steps) - 1):
            for _ in range(int(substeps)):
                x = step(vector_field, x, h)
            out.append(x)
    return torch.stack(out, dim=1).to(x0)
