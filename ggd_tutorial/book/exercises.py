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

from .._utils import model_dtype_device
from ..integrators import rk4_step
from ..networks import positive_weight


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
        return Feedback(
            False,
            f"your RK4 step is only first-order accurate (observed order {order:.1f}); "
            "check the weights 1/6, 2/6, 2/6, 1/6 and the half steps dt/2",
        )
    if order < 3.5:
        return Feedback(
            False,
            f"your RK4 step is only order {order:.1f}; one of k2, k3, k4 is evaluated "
            "at the wrong point (k2 and k3 at x + dt/2 * k, k4 at x + dt * k3)",
        )
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
        return Feedback(False, f"Xi(x, 0) is not zero (up to {float(value0.abs().max()):.1e}): subtract Psi(x, 0)")
    if grad0 is not None and grad0.abs().max() > 1e-10:
        return Feedback(
            False, "dXi/dx*(x, 0) is not zero: subtract x* . dPsi/dx*(x, 0) as well (computed with create_graph=True)"
        )
    if far.detach().min() < -1e-10:
        return Feedback(False, "Xi takes negative values: is your Psi convex in x*?")
    return Feedback(True, "Xi(x, 0) = 0, dXi/dx*(x, 0) = 0 and Xi >= 0 on random points")


def check_entropy_production(fn: Callable, model, dim: int | None = None) -> Feedback:
    """Check ``fn(model, x)`` against dS/dt = x* . xdot of a :class:`GradientDynamicsModel`."""
    dim = dim or model.dim
    x = torch.randn(200, dim, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    dtype, device = model_dtype_device(model, x)
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
        return Feedback(
            False, "v^2/2 is the dual of the quadratic (Onsager) approximation y^2/2, right only near v = 0"
        )
    return Feedback(False, f"wrong values, e.g. at v = 2: expected {float(expected[60]):.4f}, got {float(got[60]):.4f}")


def _call(fn: Callable, *args) -> tuple[Tensor | tuple | None, Feedback | None]:
    """Call the student's function; an error becomes a :class:`Feedback`, never an exception."""
    try:
        return fn(*args), None
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported, not raised
        return None, Feedback(False, f"calling your function raised {type(err).__name__}: {err}")


def check_log_mean(fn: Callable[[Tensor, Tensor], Tensor]) -> Feedback:
    r"""Check ``fn(a, b)`` against the logarithmic mean
    :math:`\Lambda(a,b)=(b-a)/(\ln b-\ln a)`, with :math:`\Lambda(a,a)=a`."""
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
        return Feedback(False, "not finite where a == b: 0/0 there; use the limit Lambda(a, a) = a")
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
        return Feedback(False, "wrong values where a != b: Lambda(a, b) = (b - a)/(ln b - ln a)")
    if not torch.allclose(got[150:], a[150:], rtol=1e-8):
        return Feedback(False, "wrong values where a == b: the limit is Lambda(a, a) = a")
    return Feedback(True, "the logarithmic mean, with its limit a at a == b")


def check_mode_decay_rate(fn: Callable[[int, float, float], float]) -> Feedback:
    r"""Check ``fn(k, D, h)``: the decay rate :math:`\lambda_k=\frac{4D}{h^2}\sin^2(\pi k h)` of the
    Fourier mode :math:`e^{2\pi i k x}` under :math:`\dot c=D\,\Delta_h c` on the periodic unit interval
    (grid spacing :math:`h`), so that its amplitude decays as :math:`e^{-\lambda_k t}`."""
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
        return Feedback(
            True,
            "lambda_k = 4D/h^2 sin^2(pi k h): the continuum rate 4 pi^2 k^2 D for k h << 1, "
            "and at most 4D/h^2 for the shortest modes",
        )
    if torch.allclose(got_t, -exp_t, rtol=1e-9):
        return Feedback(False, "wrong sign: the amplitude decays as exp(-lambda t) with lambda > 0")
    if torch.allclose(got_t, continuum, rtol=1e-9):
        return Feedback(
            False,
            "that is the continuum rate 4 pi^2 k^2 D; on the grid apply the three-point "
            "Laplacian to exp(2 pi i k x_j): it gives (2 cos(2 pi k h) - 2)/h^2",
        )
    if torch.allclose(got_t[:2], exp_t[:2], rtol=1e-3):
        return Feedback(False, "right for long waves but wrong for short ones: check the argument pi k h of sin^2")
    return Feedback(
        False, f"wrong values, e.g. k=1, D={cases[0][1]}, h=1/64: expected {expected[0]:.6g}, got {got[0]:.6g}"
    )


def check_rate_constants(fn: Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]) -> Feedback:
    r"""Check ``fn(nu, Q, W0)`` returning :math:`(k_f, k_b)` with
    :math:`k_{f,b}^{(n)}=\tfrac{W_0^{(n)}}{4}\exp(\mp\sum_m(Q_m+1)\nu_{mn}/2)` (the GGD form of mass action)."""
    from ..systems import MassActionKinetics

    gen = torch.Generator().manual_seed(3)
    nu = torch.tensor([[-1, 1], [-2, 0], [1, -1], [0, -1]], dtype=torch.float64)
    for _trial in range(4):
        Q = -1 + torch.randn(4, generator=gen, dtype=torch.float64)
        W0 = torch.exp(torch.randn(2, generator=gen, dtype=torch.float64)) * 4
        out, failure = _call(fn, nu.clone(), Q.clone(), W0.clone())
        if failure is not None:
            return failure
        try:
            kf, kb = (torch.as_tensor(k, dtype=torch.float64).detach().reshape(-1) for k in out)
        except (TypeError, ValueError):
            return Feedback(False, "return a pair (k_f, k_b) of tensors, one value per reaction")
        ref_f, ref_b = MassActionKinetics(nu, W0=W0, Q=Q).rate_constants
        if kf.shape != ref_f.shape or kb.shape != ref_b.shape:
            return Feedback(False, f"expected one rate per reaction, {len(ref_f)} each")
        if torch.allclose(kf, ref_b, rtol=1e-9) and torch.allclose(kb, ref_f, rtol=1e-9):
            return Feedback(False, "k_f and k_b are swapped: the forward rate has exp(-sum_m (Q_m+1) nu_mn / 2)")
        if not torch.allclose(kf * kb, ref_f * ref_b, rtol=1e-9):
            return Feedback(False, "k_f k_b must equal (W0/4)^2: check the prefactor W0/4")
        if not (torch.allclose(kf, ref_f, rtol=1e-9) and torch.allclose(kb, ref_b, rtol=1e-9)):
            return Feedback(False, "wrong ratio k_f/k_b = exp(-sum_m (Q_m + 1) nu_mn): check the +1 and the 1/2")
    return Feedback(True, "k_f, k_b match the GGD form of mass action on 4 random (Q, W0)")


def check_conserving_projection(P: Tensor, laws: Tensor) -> Feedback:
    r"""Check a ``dissipation_projection`` ``P`` (dim x r) against conservation laws (rows of ``laws``):
    :math:`\dot x=P\,\partial\Xi/\partial(P^\top x^*)` conserves every law ``q`` iff :math:`q^\top P=0`,
    and loses no admissible direction iff the columns of ``P`` span all of :math:`\{v:\ q\cdot v=0\}`."""
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
    r"""Check ``fn(sigma, dt)``: the mean squared error that independent noise of standard deviation
    :math:`\sigma` on every sample adds to a central difference,
    :math:`\mathbb E\big[((\epsilon_{i+1}-\epsilon_{i-1})/2\Delta t)^2\big]=\sigma^2/(2\Delta t^2)`."""
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
            return Feedback(
                False,
                "twice too large: the denominator is (2 dt)^2 = 4 dt^2, and the two "
                "independent noises add variance 2 sigma^2",
            )
        if math.isclose(got, expected / 2, rel_tol=1e-9):
            return Feedback(False, "half too small: both samples carry noise, so the variance is 2 sigma^2")
        if math.isclose(got, sigma / (math.sqrt(2) * dt), rel_tol=1e-9):
            return Feedback(False, "that is the standard deviation; the MSE is its square")
        return Feedback(False, f"wrong value at sigma={sigma}, dt={dt}: expected {expected:.4g}, got {got:.4g}")
    return Feedback(True, "sigma^2 / (2 dt^2): at sigma = 1e-2, dt = 0.1 that is 5e-3, far above the models' MSE")
