"""Self-checks for the book's exercises: grade an answer numerically, explain what is wrong.

Each ``check_*`` function runs the student's function on test cases and returns a
:class:`Feedback` (truthy when correct) whose message says in plain words what
went wrong, e.g. "your RK4 step is only first-order accurate".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from .integrators import _model_dtype_device, rk4_step
from .networks import positive_weight


@dataclass
class Feedback:
    """Outcome of a check: ``passed`` and a human-readable ``message``."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return ("PASSED: " if self.passed else "NOT YET: ") + self.message


def _field(x: Tensor) -> Tensor:
    return torch.stack([-x[:, 1] - x[:, 0] ** 3, x[:, 0] - 0.5 * x[:, 1]], dim=1)


def _observed_order(step: Callable, n_list=(16, 32, 64)) -> tuple[float, float]:
    x0 = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    ref = x0
    for _ in range(4096):
        ref = rk4_step(_field, ref, 1.0 / 4096)
    errors = []
    for n in n_list:
        x = x0
        for _ in range(n):
            x = step(_field, x, 1.0 / n)
        errors.append(float((x - ref).norm()))
    orders = [math.log2(a / b) if b > 0 else float("inf") for a, b in zip(errors, errors[1:])]
    return min(orders), errors[-1]


def check_rk4_step(step: Callable[[Callable, Tensor, float], Tensor]) -> Feedback:
    """Check ``step(f, x, dt)`` against the classical fourth-order Runge--Kutta step."""
    try:
        out = step(_field, torch.tensor([[1.0, 0.5]], dtype=torch.float64), 0.1)
    except Exception as err:  # the student's code may fail in any way
        return Feedback(False, f"calling step(f, x, dt) raised {type(err).__name__}: {err}")
    if not isinstance(out, Tensor) or out.shape != (1, 2):
        return Feedback(False, "step(f, x, dt) must return a tensor of the same shape as x")
    order, error = _observed_order(step)
    if order < 0.5:
        return Feedback(False, "your step does not converge as dt -> 0: check the final update x + dt * (...)")
    if order < 1.5:
        return Feedback(False, f"your RK4 step is only first-order accurate (observed order {order:.1f}); "
                               "check the weights 1/6, 2/6, 2/6, 1/6 and the half steps dt/2")
    if order < 3.5:
        return Feedback(False, f"your RK4 step is only order {order:.1f}; one of k2, k3, k4 is evaluated "
                               "at the wrong point (k2 and k3 at x + dt/2 * k, k4 at x + dt * k3)")
    return Feedback(True, f"fourth-order accurate (observed order {order:.1f}, error {error:.1e} at 64 steps)")


def check_positive_weight(fn: Callable[[Tensor], Tensor], eps: float = 5.0) -> Feedback:
    """Check an implementation of the positive reparameterization (thesis eq. 3.6)."""
    raw = torch.linspace(-10, 5, 1501, dtype=torch.float64)
    try:
        out = fn(raw)
    except Exception as err:
        return Feedback(False, f"calling your function raised {type(err).__name__}: {err}")
    ref = positive_weight(raw, eps)
    if not isinstance(out, Tensor) or out.shape != raw.shape:
        return Feedback(False, "the function must return a tensor of the same shape as its input")
    if (out <= 0).any():
        return Feedback(False, "some weights are not positive: negative raw values must map to exp(raw - eps)")
    pos, neg = raw >= 0, raw < 0
    if not torch.allclose(out[pos], ref[pos], rtol=1e-9, atol=1e-12):
        return Feedback(False, "non-negative raw values must map to raw + exp(-eps)")
    if not torch.allclose(out[neg], ref[neg], rtol=1e-9, atol=1e-15):
        return Feedback(False, "negative raw values must map to exp(raw - eps)")
    return Feedback(True, "matches eq. (3.6): positive, continuous at 0 and monotone")


def check_vonn_shift(xi: Callable[[Tensor, Tensor], Tensor], dim: int = 3) -> Feedback:
    """Check a shifted dissipation potential ``xi(x, y)``: Xi(x,0)=0, dXi/dy(x,0)=0, Xi >= 0."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, dim, generator=gen, dtype=torch.float64)
    y0 = torch.zeros(64, dim, dtype=torch.float64, requires_grad=True)
    try:
        value0 = xi(x, y0)
        (grad0,) = torch.autograd.grad(value0.sum(), y0, allow_unused=True)
        far = xi(x, 5 * torch.randn(64, dim, generator=gen, dtype=torch.float64))
    except Exception as err:
        return Feedback(False, f"calling xi(x, y) raised {type(err).__name__}: {err}")
    value0 = value0.detach()
    if value0.abs().max() > 1e-10:
        return Feedback(False, f"Xi(x, 0) is not zero (up to {float(value0.abs().max()):.1e}): "
                               "subtract Psi(x, 0)")
    if grad0 is not None and grad0.abs().max() > 1e-10:
        return Feedback(False, "dXi/dx*(x, 0) is not zero: subtract x* . dPsi/dx*(x, 0) as well "
                               "(computed with create_graph=True)")
    if far.detach().min() < -1e-10:
        return Feedback(False, "Xi takes negative values: is your Psi convex in x*?")
    return Feedback(True, "Xi(x, 0) = 0, dXi/dx*(x, 0) = 0 and Xi >= 0 on random points")


def check_entropy_production(fn: Callable, model, dim: int | None = None) -> Feedback:
    """Check ``fn(model, x)`` against dS/dt = x* . xdot of a :class:`GradientDynamicsModel`."""
    dim = dim or model.dim
    x = torch.randn(200, dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    dtype, device = _model_dtype_device(model, x)
    x = x.to(device=device, dtype=dtype)  # the model's device and dtype, so a GPU model is graded fairly
    try:
        got = fn(model, x)
    except Exception as err:
        return Feedback(False, f"calling fn(model, x) raised {type(err).__name__}: {err}")
    expected = model.entropy_production(x).detach()
    got = torch.as_tensor(got).detach().to(expected)
    if got.shape != expected.shape:
        return Feedback(False, f"expected one value per state, shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    rtol, atol = (1e-6, 1e-10) if expected.dtype == torch.float64 else (1e-4, 1e-6)
    if torch.allclose(got, -expected, rtol=rtol, atol=atol) and expected.abs().max() > 0:
        return Feedback(False, "wrong sign: dS/dt = (dS/dx) . xdot is non-negative")
    if not torch.allclose(got, expected, rtol=rtol, atol=atol):
        return Feedback(False, "values differ from x* . xdot with x* = dS/dx and xdot = model(x)")
    return Feedback(True, "matches x* . xdot on 200 random states")


def check_cosh_dual(fn: Callable[[Tensor], Tensor]) -> Feedback:
    r"""Check ``fn(v)`` against the Legendre dual of :math:`\Xi(y)=\cosh y-1`,
    :math:`\Xi^*(v)=\sup_y(vy-\Xi(y))=v\,\mathrm{asinh}\,v-\sqrt{1+v^2}+1`."""
    v = torch.linspace(-5.0, 5.0, 101, dtype=torch.float64)
    try:
        got = torch.as_tensor(fn(v.clone()), dtype=torch.float64).detach()
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported, not raised
        return Feedback(False, f"calling fn(v) raised {type(err).__name__}: {err}")
    if got.shape != v.shape:
        return Feedback(False, f"expected one value per v, shape {tuple(v.shape)}, got {tuple(got.shape)}")
    expected = v * torch.asinh(v) - torch.sqrt(1 + v**2) + 1
    if torch.allclose(got, expected, rtol=1e-8, atol=1e-10):
        return Feedback(True, "matches v asinh(v) - sqrt(1 + v^2) + 1 on [-5, 5]")
    if torch.allclose(got, expected - 1, atol=1e-8):
        return Feedback(False, "off by the constant -1: Xi*(0) = sup_y(-Xi(y)) = 0 because Xi(0) = 0")
    if torch.allclose(got, -expected, atol=1e-8):
        return Feedback(False, "wrong sign: Xi* is a supremum over y that includes y = 0, so it is >= 0")
    if torch.allclose(got, torch.asinh(v), atol=1e-8):
        return Feedback(False, "that is dXi*/dv = asinh(v), the maximizing y; Xi* is v y - Xi(y) at that y")
    if torch.allclose(got, v**2 / 2, atol=1e-8):
        return Feedback(False, "v^2/2 is the dual of the quadratic (Onsager) approximation y^2/2, right only near v = 0")
    return Feedback(False, f"wrong values, e.g. at v = 2: expected {float(expected[60]):.4f}, got {float(got[60]):.4f}")
