"""The gradeable assignments, one per chapter with code: questions, reference solutions and tests.

Each :class:`Question` becomes three nbgrader cells: the prompt (read-only), the answer cell
(the reference between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, replaced by a stub in the
student copy) and a test cell worth ``points``. A test cell runs the public check the student
also sees (the package's self-check in :mod:`ggd_tutorial.book.exercises`, which explains a wrong
answer) and then hidden tests, independent properties that the student copy omits and
``nbgrader autograde`` puts back. Every answer runs in seconds: no training.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    """One autograded question: ``name`` is its grade id (``<name>-tests`` in the gradebook)."""

    name: str
    prompt: str
    solution: str
    public: str
    hidden: str
    points: int


def _check(call: str) -> str:
    """A public test: run a self-check, show its message, fail the cell when it does not pass."""
    return f"feedback = {call}\nprint(feedback)\nassert feedback, feedback.message"


SETUP = """\
import math
import torch
import ggd_tutorial as g
from ggd_tutorial.book import experiments as ex"""

ASSIGNMENTS: dict[str, list[Question]] = {
    "gradient_dynamics": [
        Question(
            "cosh-dual",
            "Implement the Legendre dual $\\Xi^*(v)=\\sup_y\\,(vy-\\Xi(y))$ of $\\Xi(y)=\\cosh y-1$ as "
            "`my_cosh_dual(v)` for a float64 tensor `v` (exercise `ex-cosh-dual`).",
            "def my_cosh_dual(v):\n    ### BEGIN SOLUTION\n"
            "    return v * torch.asinh(v) - torch.sqrt(1 + v**2) + 1\n    ### END SOLUTION",
            _check("g.book.exercises.check_cosh_dual(my_cosh_dual)"),
            "# Fenchel-Young holds with equality at v = Xi'(y) = sinh(y)\n"
            "y = torch.linspace(-3, 3, 61, dtype=torch.float64)\n"
            "v = torch.sinh(y)\n"
            "assert torch.allclose(my_cosh_dual(v) + torch.cosh(y) - 1, v * y, atol=1e-9)\n"
            "# and the dual is convex: non-negative second differences\n"
            "w = my_cosh_dual(torch.linspace(-20, 20, 401, dtype=torch.float64))\n"
            "assert (w[2:] - 2 * w[1:-1] + w[:-2] >= -1e-9).all()",
            3,
        ),
        Question(
            "entropy-production",
            "For a `g.GradientDynamicsModel`, write `production(model, x)` returning the entropy "
            "production $\\dot S=\\mathbf x^*\\cdot\\dot{\\mathbf x}$, one value per state, from "
            "`model.conjugate` and `model(x)`; exercise `ex-second-law` shows it is never negative.",
            "def production(model, x):\n    ### BEGIN SOLUTION\n"
            "    return (model.conjugate(x) * model(x)).sum(-1)\n    ### END SOLUTION",
            "torch.manual_seed(0)\nmodel = g.GradientDynamicsModel(3, hidden=(8,)).double()\n"
            + _check("g.book.exercises.check_entropy_production(production, model)"),
            "# the second law at random weights, in two dimensions as well\n"
            "torch.manual_seed(1)\nother = g.GradientDynamicsModel(2, hidden=(8, 8)).double()\n"
            "states = torch.randn(300, 2, dtype=torch.float64)\n"
            "assert (production(other, states) >= -1e-12).all()\n"
            "assert torch.allclose(production(other, states), other.entropy_production(states).detach())",
            2,
        ),
    ],
    "icnn": [
        Question(
            "positive-weight",
            "Implement the positive reparameterization of eq. (3.6), `my_positive(raw)`: "
            "$w = \\mathrm{raw} + e^{-\\epsilon}$ for $\\mathrm{raw}\\ge0$ and "
            "$w = e^{\\mathrm{raw}-\\epsilon}$ otherwise, with $\\epsilon = 5$ (exercise `ex-reparam`).",
            "def my_positive(raw):\n    ### BEGIN SOLUTION\n"
            "    return torch.where(raw >= 0, raw + math.exp(-5.0), torch.exp(torch.clamp(raw, max=0) - 5.0))\n"
            "    ### END SOLUTION",
            _check("g.book.exercises.check_positive_weight(my_positive)"),
            "# continuous and increasing, and gradients stay finite for large negative inputs\n"
            "raw = torch.linspace(-50, 50, 2001, dtype=torch.float64, requires_grad=True)\n"
            "w = my_positive(raw)\nassert (w[1:] > w[:-1]).all()\n"
            "(grad,) = torch.autograd.grad(w.sum(), raw)\nassert torch.isfinite(grad).all()",
            2,
        ),
        Question(
            "vonn-shift",
            "Given the convex `psi(x, y)` below, write `xi(x, y)` with $\\Xi(x,0)=0$ and "
            "$\\partial\\Xi/\\partial y(x,0)=0$ by the shift of the thesis (exercise `ex-vonn`).\n\n"
            "```python\ndef psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n```",
            "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
            "def xi(x, y):\n    ### BEGIN SOLUTION\n"
            "    y0 = torch.zeros_like(y, requires_grad=True)\n"
            "    (g0,) = torch.autograd.grad(psi(x, y0).sum(), y0, create_graph=True)\n"
            "    return psi(x, y) - psi(x, torch.zeros_like(y)) - (y * g0).sum(-1)\n    ### END SOLUTION",
            _check("g.book.exercises.check_vonn_shift(xi)"),
            "# the shift keeps the curvature: same Hessian in y as psi\n"
            "x = torch.randn(4, 3, dtype=torch.float64)\n"
            "y = torch.randn(3, dtype=torch.float64)\n"
            "for row in x:\n"
            "    h_xi = torch.autograd.functional.hessian(lambda v: xi(row[None], v[None]).sum(), y)\n"
            "    h_psi = torch.autograd.functional.hessian(lambda v: psi(row[None], v[None]).sum(), y)\n"
            "    assert torch.allclose(h_xi, h_psi, atol=1e-10)",
            3,
        ),
    ],
    "overdamped": [
        Question(
            "rk4-step",
            "Implement one classical Runge--Kutta step `my_rk4_step(f, x, dt)` (exercise `ex-rk4`).",
            "def my_rk4_step(f, x, dt):\n    ### BEGIN SOLUTION\n"
            "    k1 = f(x)\n    k2 = f(x + dt / 2 * k1)\n    k3 = f(x + dt / 2 * k2)\n    k4 = f(x + dt * k3)\n"
            "    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)\n    ### END SOLUTION",
            _check("g.book.exercises.check_rk4_step(my_rk4_step)"),
            "# exact for the linear overdamped particle up to O(dt^5) per step: one step of -x\n"
            "x = torch.tensor([[1.0, -2.0]], dtype=torch.float64)\n"
            "dt = 0.1\nexpected = x * (1 - dt + dt**2 / 2 - dt**3 / 6 + dt**4 / 24)\n"
            "assert torch.allclose(my_rk4_step(lambda z: -z, x, dt), expected, atol=1e-15)",
            3,
        ),
        Question(
            "particle-production",
            "For the overdamped particle $S=-\\tfrac12\\|x\\|^2$, $\\Xi=\\tfrac\\gamma2\\|x^*\\|^2$, "
            "derive $\\dot S$ and implement it as `particle_production(x, gamma)` for a batch `x` of "
            "shape (n, d), one value per state (the second law for this chapter's system).",
            "def particle_production(x, gamma):\n    ### BEGIN SOLUTION\n"
            "    return gamma * (x**2).sum(-1)\n    ### END SOLUTION",
            "x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)\n"
            "assert torch.allclose(particle_production(x, 1.0), torch.tensor([5.0], dtype=torch.float64))",
            "for gamma in (0.5, 3.0):\n"
            "    system = g.OverdampedParticle(3, gamma=gamma)\n"
            "    x = torch.randn(20, 3, dtype=torch.float64)\n"
            "    truth = (system.conjugate(x) * system.velocity(x)).sum(-1)\n"
            "    assert torch.allclose(particle_production(x, gamma), truth)",
            2,
        ),
    ],
    "kinetics": [
        Question(
            "rate-constants",
            "Implement `my_rate_constants(nu, Q, W0)` returning $(k_f, k_b)$, one value per reaction, with "
            "$k_{f,b}^{(n)}=\\tfrac{W_0^{(n)}}{4}\\exp(\\mp\\sum_m(Q_m+1)\\nu_{mn}/2)$ (exercise `ex-rates`).",
            "def my_rate_constants(nu, Q, W0):\n    ### BEGIN SOLUTION\n"
            "    a = ((Q + 1)[:, None] * nu).sum(0) / 2\n"
            "    return W0 / 4 * torch.exp(-a), W0 / 4 * torch.exp(a)\n    ### END SOLUTION",
            _check("g.book.exercises.check_rate_constants(my_rate_constants)"),
            "# detailed balance: k_f/k_b = exp(-sum_m (Q_m+1) nu_mn) on a 3-species cycle\n"
            "nu = torch.tensor([[-1.0, 0.0, 1.0], [1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], dtype=torch.float64)\n"
            "Q = torch.tensor([-1.0, -0.5, 0.3], dtype=torch.float64)\n"
            "kf, kb = my_rate_constants(nu, Q, torch.full((3,), 4.0, dtype=torch.float64))\n"
            "assert torch.allclose(kf / kb, torch.exp(-((Q + 1)[:, None] * nu).sum(0)))\n"
            "assert math.isclose(float(torch.prod(kf / kb)), 1.0, rel_tol=1e-12)  # Wegscheider",
            3,
        ),
        Question(
            "analytic-production",
            "Using only `system.conjugate` and `system.velocity`, write `analytic_production(system, c)`: "
            "the entropy production $\\mathbf c^*\\cdot\\dot{\\mathbf c}$ of a `g.MassActionKinetics` "
            "system at concentrations `c` of shape (n, species) (exercise `ex-production`).",
            "def analytic_production(system, c):\n    ### BEGIN SOLUTION\n"
            "    return (system.conjugate(c) * system.velocity(c)).sum(-1)\n    ### END SOLUTION",
            "system = g.MassActionKinetics.thesis_example()\n"
            "c = torch.tensor([[0.5, 0.5, 0.5, 0.5]], dtype=torch.float64)\n"
            "assert analytic_production(system, c).shape == (1,)\n"
            "assert (analytic_production(system, c) >= 0).all()",
            "system = g.MassActionKinetics.thesis_example(Q=[-1.0, -0.7, -1.2, -1.0])\n"
            "c = torch.rand(50, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) + 0.05\n"
            "with torch.enable_grad():\n"
            "    y = system.conjugate(c).requires_grad_(True)\n"
            "    (flux,) = torch.autograd.grad(system.dissipation(c, y).sum(), y)\n"
            "assert torch.allclose(analytic_production(system, c), (y.detach() * flux).sum(-1))",
            2,
        ),
    ],
    "diffusion": [
        Question(
            "log-mean",
            "Implement the logarithmic mean `my_log_mean(a, b)` for positive tensors, "
            "$\\Lambda(a,b)=(b-a)/(\\ln b-\\ln a)$ with $\\Lambda(a,a)=a$ (exercise `ex-logmean`).",
            "def my_log_mean(a, b):\n    ### BEGIN SOLUTION\n"
            "    close = torch.isclose(a, b)\n"
            "    ratio = torch.where(close, torch.ones_like(a), torch.log(b / a))\n"
            "    return torch.where(close, a, (b - a) / ratio)\n    ### END SOLUTION",
            _check("g.book.exercises.check_log_mean(my_log_mean)"),
            "# geometric <= logarithmic <= arithmetic mean, and the Boltzmann flux identity\n"
            "a = torch.rand(100, dtype=torch.float64) + 0.1\nb = torch.rand(100, dtype=torch.float64) + 0.1\n"
            "lm = my_log_mean(a, b)\n"
            "assert ((a * b).sqrt() <= lm + 1e-12).all() and (lm <= (a + b) / 2 + 1e-12).all()\n"
            "assert torch.allclose(lm * (torch.log(b) - torch.log(a)), b - a)",
            2,
        ),
        Question(
            "decay-rate",
            "Write `decay_rate(k, D, h)`: the rate $\\lambda_k$ at which the amplitude of the Fourier mode "
            "$e^{2\\pi i k x}$ decays, $\\propto e^{-\\lambda_k t}$, under $\\dot c = D\\,\\Delta_h c$ "
            "(three-point Laplacian, periodic unit interval, spacing $h$) (exercise `ex-diffusivity`).",
            "def decay_rate(k, D, h):\n    ### BEGIN SOLUTION\n"
            "    return 4 * D / h**2 * math.sin(math.pi * k * h) ** 2\n    ### END SOLUTION",
            _check("g.book.exercises.check_mode_decay_rate(decay_rate)"),
            "# the book's own system: a cosine mode decays at that rate\n"
            "system = g.FickianDiffusion(32, D=0.01)\n"
            "for k in (1, 4, 16):\n"
            "    mode = torch.cos(2 * math.pi * k * system.grid)[None]\n"
            "    assert torch.allclose(system.velocity(mode), -decay_rate(k, 0.01, system.h) * mode, atol=1e-10)",
            2,
        ),
    ],
    "structure": [
        Question(
            "noise-mse",
            "Write `noise_mse(sigma, dt)`: the mean squared error that independent noise of standard "
            "deviation $\\sigma$ on every sample adds to the central difference "
            "$(x_{t+1}-x_{t-1})/(2\\Delta t)$ (exercise `ex-structure-noise`).",
            "def noise_mse(sigma, dt):\n    ### BEGIN SOLUTION\n"
            "    return sigma**2 / (2 * dt**2)\n    ### END SOLUTION",
            _check("g.book.exercises.check_noise_velocity_mse(noise_mse)"),
            "# against a simulation of the noise alone\n"
            "noise = 0.02 * torch.randn(400_000, dtype=torch.float64, generator=torch.Generator().manual_seed(5))\n"
            "empirical = float((((noise[2:] - noise[:-2]) / 0.2) ** 2).mean())\n"
            "assert math.isclose(empirical, noise_mse(0.02, 0.1), rel_tol=0.02)",
            2,
        ),
    ],
    "own_system": [
        Question(
            "conserving-projection",
            "Build the $3\\times2$ matrix `P` whose columns are $e_1-e_2$ and $e_2-e_3$, so that "
            "`g.GradientDynamicsModel(3, dissipation_projection=P)` conserves $\\sum_i U_i$ "
            "(exercise `ex-heat-conservation`).",
            "### BEGIN SOLUTION\nP = torch.tensor([[1.0, 0.0], [-1.0, 1.0], [0.0, -1.0]], dtype=torch.float64)\n"
            "### END SOLUTION",
            _check("g.book.exercises.check_conserving_projection(P, torch.ones(1, 3))"),
            "torch.manual_seed(2)\nmodel = g.GradientDynamicsModel(3, dissipation_projection=P).double()\n"
            "U = torch.rand(40, 3, dtype=torch.float64) + 0.5\n"
            "assert (model(U).sum(-1).abs() <= 1e-12 * model(U).abs().max()).all()",
            2,
        ),
        Question(
            "heat-production",
            "For the three bodies of this chapter ($S=\\sum_i C_i\\ln(U_i/C_i)$, `ex.heat_exchange`) "
            "write `heat_production(U)`: $\\dot S=\\sum_{i<j}k_{ij}(T_iT_j)^{3/2}(1/T_i-1/T_j)^2$ with "
            "$T_i=U_i/C_i$, `C = ex.HEAT_CAPACITY` and `k = ex.CONDUCTANCE` "
            "(exercise `ex-heat-ggd`).",
            "def heat_production(U):\n    ### BEGIN SOLUTION\n"
            "    T = U / torch.tensor(ex.HEAT_CAPACITY, dtype=U.dtype)\n"
            "    total = torch.zeros(U.shape[0], dtype=U.dtype)\n"
            "    for (i, j), k in ex.CONDUCTANCE.items():\n"
            "        total = total + k * (T[:, i] * T[:, j]) ** 1.5 * (1 / T[:, i] - 1 / T[:, j]) ** 2\n"
            "    return total\n    ### END SOLUTION",
            "U = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)  # all at T = 1: equilibrium\n"
            "assert torch.allclose(heat_production(U), torch.zeros(1, dtype=torch.float64))",
            "U = torch.rand(30, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(6)) + 0.5\n"
            "U = U.requires_grad_(True)\n"
            "(dS,) = torch.autograd.grad(ex.heat_exchange_entropy(U).sum(), U)\n"
            "truth = (dS * ex.heat_exchange(U)).sum(-1).detach()\n"
            "assert torch.allclose(heat_production(U.detach()), truth)",
            2,
        ),
    ],
}
