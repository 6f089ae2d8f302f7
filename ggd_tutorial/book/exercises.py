"""Self-checks for the book's exercises: grade an answer numerically, explain what is wrong.

Each ``check_*`` function runs the student's function on test cases and returns a
:class:`Feedback` (truthy when correct) whose message says in plain words what
went wrong, e.g. "your RK4 step is only first-order accurate", without giving the answer
away. Where the package has its own version of what an exercise asks (``rk4_step``,
``positive_weight``, ``entropy_production``, ``rate_constants``), the check refuses it and
switches it off while the student's function runs, so an answer that delegates to it fails.

These checks run in the student's own kernel and are feedback, not grading: the coursework's
grades come from ``tools/make_coursework.py grade``, which runs the answer in a separate process.
"""

from __future__ import annotations

import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
from torch import Tensor

from .. import integrators, networks
from .._utils import model_dtype_device


@dataclass
class Feedback:
    """Outcome of a check: ``passed`` and a human-readable ``message``."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return ("PASSED: " if self.passed else "NOT YET: ") + self.message


class _PackageVersionUsed(Exception):
    """Raised by a package function that a check has switched off."""


@contextmanager
def _switched_off(functions: tuple = (), attributes: tuple = ()) -> Iterator[None]:
    """While active, ``functions`` (and every alias of them in the package's modules and their
    dispatch tables) and the class ``attributes`` (``(cls, name)`` pairs) raise
    :class:`_PackageVersionUsed`; everything is restored afterwards."""

    def off(*args, **kwargs):
        raise _PackageVersionUsed()

    saved: list[tuple[object, str, object]] = []
    for module in list(sys.modules.values()):
        if not getattr(module, "__name__", "").startswith("ggd_tutorial"):
            continue
        for key, value in list(vars(module).items()):
            if any(value is f for f in functions):
                saved.append((vars(module), key, value))
            elif isinstance(value, dict):
                saved += [(value, k, v) for k, v in value.items() if any(v is f for f in functions)]
    for table, key, _ in saved:
        table[key] = off  # type: ignore[index]
    classes = [(cls, name, cls.__dict__[name]) for cls, name in attributes if name in cls.__dict__]
    for cls, name, original in classes:
        setattr(cls, name, property(off) if isinstance(original, property) else off)
    try:
        yield
    finally:
        for table, key, value in saved:
            table[key] = value  # type: ignore[index]
        for cls, name, original in classes:
            setattr(cls, name, original)


_DELEGATES = "your function calls the package's own {}, which this exercise asks you to write"


def _classical_rk4(f: Callable, x: Tensor, dt: float) -> Tensor:
    k1 = f(x)
    k2 = f(x + dt / 2 * k1)
    k3 = f(x + dt / 2 * k2)
    k4 = f(x + dt * k3)
    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def _positive(raw: Tensor, eps: float) -> Tensor:
    return torch.where(raw >= 0, raw + math.exp(-eps), torch.exp(torch.clamp(raw, max=0) - eps))


def _field(x: Tensor) -> Tensor:
    return torch.stack([-x[:, 1] - x[:, 0] ** 3, x[:, 0] - 0.5 * x[:, 1]], dim=1)


def _observed_order(step: Callable, n_list=(16, 32, 64)) -> tuple[float, float]:
    x0 = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    ref = x0
    for _ in range(4096):
        ref = _classical_rk4(_field, ref, 1.0 / 4096)
    errors = []
    for n in n_list:
        x = x0
        for _ in range(n):
            x = step(_field, x, 1.0 / n)
        errors.append(float((x - ref).norm()))
    orders = [math.log2(a / b) if b > 0 else float("inf") for a, b in zip(errors, errors[1:])]
    return min(orders), errors[-1]


def check_rk4_step(step: Callable[[Callable, Tensor, float], Tensor]) -> Feedback:
    """Check ``step(f, x, dt)``, one step of the classical fourth-order Runge--Kutta method."""
    if step is integrators.rk4_step or step is integrators.STEPPERS.get("rk4"):
        return Feedback(False, "that is the package's own rk4_step; write the step yourself")
    with _switched_off(functions=(integrators.rk4_step,)):
        try:
            out = step(_field, torch.tensor([[1.0, 0.5]], dtype=torch.float64), 0.1)
        except _PackageVersionUsed:
            return Feedback(False, _DELEGATES.format("rk4_step"))
        except Exception as err:  # the student's code may fail in any way
            return Feedback(False, f"calling step(f, x, dt) raised {type(err).__name__}: {err}")
        if not isinstance(out, Tensor) or out.shape != (1, 2):
            return Feedback(False, "step(f, x, dt) must return a tensor of the same shape as x")
        order, error = _observed_order(step)
    if order < 0.5:
        return Feedback(False, "your step does not converge as dt -> 0: check the final update x + dt * (...)")
    if order < 1.5:
        return Feedback(
            False,
            f"your RK4 step is only first-order accurate (observed order {order:.1f}); "
            "check the weights of the four slopes and the half steps",
        )
    if order < 3.5:
        return Feedback(
            False,
            f"your RK4 step is only order {order:.1f}; one of k2, k3, k4 is evaluated at the wrong point",
        )
    return Feedback(True, f"fourth-order accurate (observed order {order:.1f}, error {error:.1e} at 64 steps)")


def check_positive_weight(fn: Callable[[Tensor], Tensor], eps: float = 5.0) -> Feedback:
    """Check an implementation of the positive reparameterization (thesis eq. 3.6)."""
    if fn is networks.positive_weight:
        return Feedback(False, "that is the package's own positive_weight; write it yourself")
    raw = torch.linspace(-10, 5, 1501, dtype=torch.float64)
    with _switched_off(functions=(networks.positive_weight,)):
        try:
            out = fn(raw)
        except _PackageVersionUsed:
            return Feedback(False, _DELEGATES.format("positive_weight"))
        except Exception as err:
            return Feedback(False, f"calling your function raised {type(err).__name__}: {err}")
    ref = _positive(raw, eps)
    if not isinstance(out, Tensor) or out.shape != raw.shape:
        return Feedback(False, "the function must return a tensor of the same shape as its input")
    if (out <= 0).any():
        return Feedback(False, "some weights are not positive")
    pos, neg = raw >= 0, raw < 0
    if not torch.allclose(out[pos], ref[pos], rtol=1e-9, atol=1e-12):
        return Feedback(False, "wrong values for non-negative raw")
    if not torch.allclose(out[neg], ref[neg], rtol=1e-9, atol=1e-15):
        return Feedback(False, "wrong values for negative raw")
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
        return Feedback(False, f"Xi(x, 0) is not zero (up to {float(value0.abs().max()):.1e})")
    if grad0 is not None and grad0.abs().max() > 1e-10:
        return Feedback(False, "dXi/dx*(x, 0) is not zero")
    if far.detach().min() < -1e-10:
        return Feedback(False, "Xi takes negative values: is your Psi convex in x*?")
    return Feedback(True, "Xi(x, 0) = 0, dXi/dx*(x, 0) = 0 and Xi >= 0 on random points")


def check_entropy_production(fn: Callable, model, dim: int | None = None) -> Feedback:
    """Check ``fn(model, x)``, the entropy production of a :class:`GradientDynamicsModel` at states ``x``."""
    dim = dim or model.dim
    x = torch.randn(200, dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    dtype, device = model_dtype_device(model, x)
    x = x.to(device=device, dtype=dtype)  # the model's device and dtype, so a GPU model is graded fairly
    expected = model.entropy_production(x).detach()
    with _switched_off(attributes=((networks.GradientDynamicsModel, "entropy_production"),)):
        try:
            got = fn(model, x)
        except _PackageVersionUsed:
            return Feedback(False, _DELEGATES.format("entropy_production"))
        except Exception as err:
            return Feedback(False, f"calling fn(model, x) raised {type(err).__name__}: {err}")
    got = torch.as_tensor(got).detach().to(expected)
    if got.shape != expected.shape:
        return Feedback(False, f"expected one value per state, shape {tuple(expected.shape)}, got {tuple(got.shape)}")
    rtol, atol = (1e-6, 1e-10) if expected.dtype == torch.float64 else (1e-4, 1e-6)
    if torch.allclose(got, -expected, rtol=rtol, atol=atol) and expected.abs().max() > 0:
        return Feedback(False, "wrong sign: dS/dt = (dS/dx) . xdot is non-negative")
    if not torch.allclose(got, expected, rtol=rtol, atol=atol):
        return Feedback(False, "values differ from the entropy production")
    return Feedback(True, "matches the entropy production on 200 random states")


def check_cosh_dual(fn: Callable[[Tensor], Tensor]) -> Feedback:
    r"""Check ``fn(v)``, the Legendre dual of :math:`\Xi(y)=\cosh y-1`, on a range of ``v``."""
    v = torch.linspace(-5.0, 5.0, 101, dtype=torch.float64)
    try:
        got = torch.as_tensor(fn(v.clone()), dtype=torch.float64).detach()
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported, not raised
        return Feedback(False, f"calling fn(v) raised {type(err).__name__}: {err}")
    if got.shape != v.shape:
        return Feedback(False, f"expected one value per v, shape {tuple(v.shape)}, got {tuple(got.shape)}")
    expected = v * torch.asinh(v) - torch.sqrt(1 + v**2) + 1
    if torch.allclose(got, expected, rtol=1e-8, atol=1e-10):
        return Feedback(True, "matches the Legendre dual on [-5, 5]")
    if torch.allclose(got, expected - 1, atol=1e-8):
        return Feedback(False, "off by a constant: what is Xi*(0)?")
    if torch.allclose(got, -expected, atol=1e-8):
        return Feedback(False, "wrong sign: Xi* is a supremum over y that includes y = 0, so it is >= 0")
    if torch.allclose(got, torch.asinh(v), atol=1e-8):
        return Feedback(False, "that is the maximizing y, not the value of the supremum")
    if torch.allclose(got, v**2 / 2, atol=1e-8):
        return Feedback(False, "that is the dual of the quadratic (Onsager) approximation, right only near v = 0")
    return Feedback(False, f"wrong values, e.g. at v = 2 (yours: {float(got[60]):.4f})")


def _call(fn: Callable, *args) -> tuple[Any, Feedback | None]:
    """Call the student's function; an error becomes a :class:`Feedback`, never an exception."""
    try:
        return fn(*args), None
    except _PackageVersionUsed:
        return None, Feedback(False, _DELEGATES.format("implementation"))
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported, not raised
        return None, Feedback(False, f"calling your function raised {type(err).__name__}: {err}")


def check_log_mean(fn: Callable[[Tensor, Tensor], Tensor]) -> Feedback:
    """Check ``fn(a, b)``, the logarithmic mean of positive tensors, where ``a != b`` and where ``a == b``."""
    gen = torch.Generator().manual_seed(2)
    a = torch.exp(torch.randn(200, generator=gen, dtype=torch.float64))
    b = torch.cat([torch.exp(torch.randn(150, generator=gen, dtype=torch.float64)), a[150:]])
    got, failure = _call(fn, a.clone(), b.clone())
    if failure is not None:
        return failure
    got = torch.as_tensor(got, dtype=torch.float64).detach()
    if got.shape != a.shape:
        return Feedback(False, f"expected one value per pair, shape {tuple(a.shape)}, got {tuple(got.shape)}")
    differ = slice(0, 150)
    expected = (b - a) / (torch.log(b) - torch.log(a))
    if not torch.isfinite(got).all():
        return Feedback(False, "not finite where a == b: that case needs its limit")
    if torch.allclose(got[differ], (a + b)[differ] / 2, rtol=1e-9):
        return Feedback(
            False,
            "that is the arithmetic mean (a + b)/2: it is >= the logarithmic mean, and "
            "with it the Boltzmann form no longer gives the discrete Laplacian",
        )
    if torch.allclose(got[differ], (a * b).sqrt()[differ], rtol=1e-9):
        return Feedback(False, "that is the geometric mean sqrt(ab): it is <= the logarithmic mean")
    if (got[differ] < 0).all():
        return Feedback(False, "negative values: numerator and denominator must take a and b in the same order")
    if not torch.allclose(got[differ], expected[differ], rtol=1e-8):
        return Feedback(False, "wrong values where a != b")
    if not torch.allclose(got[150:], a[150:], rtol=1e-8):
        return Feedback(False, "wrong values where a == b")
    return Feedback(True, "the logarithmic mean, with its limit a at a == b")


def check_mode_decay_rate(fn: Callable[[int, float, float], float]) -> Feedback:
    r"""Check ``fn(k, D, h)``: the rate at which the amplitude of the Fourier mode :math:`k` decays
    under the discretized diffusion of the book (periodic unit interval, grid spacing ``h``)."""
    cases = [(k, D, 1 / n) for k in (1, 3, 8, 16, 31) for D in (3e-3, 0.1) for n in (64, 128)]
    got, expected = [], []
    for k, D, h in cases:
        value, failure = _call(fn, k, D, h)
        if failure is not None:
            return failure
        try:
            got.append(float(value))
        except (TypeError, ValueError):
            return Feedback(False, f"fn(k, D, h) must return one number, got {type(value).__name__}")
        expected.append(4 * D / h**2 * math.sin(math.pi * k * h) ** 2)
    got_t, exp_t = torch.tensor(got, dtype=torch.float64), torch.tensor(expected, dtype=torch.float64)
    continuum = torch.tensor([4 * math.pi**2 * k**2 * D for k, D, _ in cases], dtype=torch.float64)
    if torch.allclose(got_t, exp_t, rtol=1e-9):
        return Feedback(True, f"the right rate on {len(cases)} cases, long waves and short")
    if torch.allclose(got_t, -exp_t, rtol=1e-9):
        return Feedback(False, "wrong sign: the amplitude decays as exp(-lambda t) with lambda > 0")
    if torch.allclose(got_t, continuum, rtol=1e-9):
        return Feedback(False, "that is the continuum rate; on the grid, apply the three-point Laplacian to the mode")
    if torch.allclose(got_t[:2], exp_t[:2], rtol=1e-3):
        return Feedback(False, "right for long waves but wrong for short ones")
    return Feedback(False, f"wrong values, e.g. at k=1, D={cases[0][1]}, h=1/64 (yours: {got[0]:.6g})")


def check_rate_constants(fn: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]) -> Feedback:
    """Check ``fn(nu, Q, W0)`` returning the rate constants ``(k_f, k_b)`` of the GGD form of mass action."""
    from ..systems import MassActionKinetics

    gen = torch.Generator().manual_seed(3)
    nu = torch.tensor([[-1, 1], [-2, 0], [1, -1], [0, -1]], dtype=torch.float64)
    for _trial in range(4):
        Q = -1 + torch.randn(4, generator=gen, dtype=torch.float64)
        W0 = torch.exp(torch.randn(2, generator=gen, dtype=torch.float64)) * 4
        ref_f, ref_b = MassActionKinetics(nu, W0=W0, Q=Q).rate_constants
        with _switched_off(attributes=((MassActionKinetics, "rate_constants"),)):
            out, failure = _call(fn, nu.clone(), Q.clone(), W0.clone())
        if failure is not None:
            return failure
        try:
            kf, kb = (torch.as_tensor(k, dtype=torch.float64).detach().reshape(-1) for k in out)
        except (TypeError, ValueError):
            return Feedback(False, "return a pair (k_f, k_b) of tensors, one value per reaction")
        if kf.shape != ref_f.shape or kb.shape != ref_b.shape:
            return Feedback(False, f"expected one rate per reaction, {len(ref_f)} each")
        if torch.allclose(kf, ref_b, rtol=1e-9) and torch.allclose(kb, ref_f, rtol=1e-9):
            return Feedback(False, "k_f and k_b are swapped")
        if not torch.allclose(kf * kb, ref_f * ref_b, rtol=1e-9):
            return Feedback(False, "k_f k_b must equal (W0/4)^2: check the prefactor W0/4")
        if not (torch.allclose(kf, ref_f, rtol=1e-9) and torch.allclose(kb, ref_b, rtol=1e-9)):
            return Feedback(False, "wrong ratio k_f/k_b: check the +1 and the 1/2")
    return Feedback(True, "k_f, k_b match the GGD form of mass action on 4 random (Q, W0)")


def check_conserving_projection(P: Tensor, laws: Tensor) -> Feedback:
    """Check a ``dissipation_projection`` ``P`` (dim x r) against conservation laws (rows of ``laws``):
    the model must conserve every law and still move along every direction the laws allow."""
    P = torch.as_tensor(P, dtype=torch.float64).detach()
    laws = torch.as_tensor(laws, dtype=torch.float64).reshape(-1, P.shape[0] if P.ndim == 2 else -1)
    if P.ndim != 2 or P.shape[0] != laws.shape[1]:
        return Feedback(
            False, f"P must be a matrix with one row per variable ({laws.shape[1]}), got shape {tuple(P.shape)}"
        )
    leak = (laws @ P).abs().max()
    if leak > 1e-10 * max(1.0, float(P.abs().max())):
        return Feedback(
            False, f"q . P is not zero (up to {float(leak):.2g}): some column of P changes a conserved quantity"
        )
    needed = P.shape[0] - int(torch.linalg.matrix_rank(laws))
    rank = int(torch.linalg.matrix_rank(P))
    if rank < needed:
        return Feedback(
            False,
            f"P has rank {rank}, but {needed} independent directions conserve the laws: "
            "the model cannot move along all of them",
        )
    return Feedback(True, f"every law is conserved exactly and P spans all {needed} admissible directions")


def check_noise_velocity_mse(fn: Callable[[float, float], float]) -> Feedback:
    """Check ``fn(sigma, dt)``: the mean squared error that independent noise of standard deviation
    ``sigma`` on every sample adds to a central-difference velocity."""
    for sigma, dt in [(1e-2, 0.1), (1e-3, 0.01), (0.05, 0.3)]:
        value, failure = _call(fn, sigma, dt)
        if failure is not None:
            return failure
        try:
            got = float(value)
        except (TypeError, ValueError):
            return Feedback(False, f"fn(sigma, dt) must return one number, got {type(value).__name__}")
        expected = sigma**2 / (2 * dt**2)
        if math.isclose(got, expected, rel_tol=1e-9):
            continue
        if math.isclose(got, 2 * expected, rel_tol=1e-9):
            return Feedback(False, "twice too large: check the denominator")
        if math.isclose(got, expected / 2, rel_tol=1e-9):
            return Feedback(False, "half too small: both samples carry noise")
        if math.isclose(got, sigma / (math.sqrt(2) * dt), rel_tol=1e-9):
            return Feedback(False, "that is the standard deviation; the MSE is its square")
        return Feedback(False, f"wrong value at sigma={sigma}, dt={dt} (yours: {got:.4g})")
    return Feedback(True, "right on 3 cases: at sigma = 1e-2, dt = 0.1 far above the models' velocity MSE")
