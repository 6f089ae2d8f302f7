"""Answers the coursework grader must not give full marks: typical mistakes and tampering, per question.

``WRONG[question]`` lists (label, answer cell) pairs: each is a whole answer cell as a student
would write it, and each must lose points on its own question and no other. ``TAMPERING`` lists
answers that try to get marks without the work: patching what a check relies on (``torch.allclose``,
a checker, the Hessian, the kernel's input transformers), calling the package's own implementation
of what the question asks, exiting early or printing a fake result. ``CORRECT`` has answers that
differ from the reference and are right: they must keep full marks.
"""

WRONG: dict[str, list[tuple[str, str]]] = {
    "cosh-dual": [
        ("no +1", "def my_cosh_dual(v):\n    return v * torch.asinh(v) - torch.sqrt(1 + v**2)"),
        ("sign", "def my_cosh_dual(v):\n    return -(v * torch.asinh(v) - torch.sqrt(1 + v**2) + 1)"),
        ("the maximizer", "def my_cosh_dual(v):\n    return torch.asinh(v)"),
        ("Onsager", "def my_cosh_dual(v):\n    return v**2 / 2"),
        (
            "grid supremum",
            "def my_cosh_dual(v):\n    y = torch.linspace(-6, 6, 2001, dtype=v.dtype)\n"
            "    return (v[:, None] * y - torch.cosh(y) + 1).max(-1).values",
        ),
    ],
    "entropy-production": [
        ("x for x*", "def production(model, x):\n    return (x * model(x)).sum(-1)"),
        ("sign", "def production(model, x):\n    return -(model.conjugate(x) * model(x)).sum(-1)"),
        ("conjugate squared", "def production(model, x):\n    return (model.conjugate(x) ** 2).sum(-1)"),
        ("one number", "def production(model, x):\n    return (model.conjugate(x) * model(x)).sum()"),
    ],
    "positive-weight": [
        ("no shift", "def my_positive(raw):\n    return torch.where(raw >= 0, raw, torch.exp(raw - 5.0))"),
        (
            "no clamp: NaN gradients",
            "def my_positive(raw):\n    return torch.where(raw >= 0, raw + math.exp(-5.0), torch.exp(raw - 5.0))",
        ),
        ("exp", "def my_positive(raw):\n    return torch.exp(raw - 5.0)"),
        ("softplus", "def my_positive(raw):\n    return torch.nn.functional.softplus(raw) + math.exp(-5.0)"),
    ],
    "vonn-shift": [
        (
            "no linear term",
            "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
            "def xi(x, y):\n    return psi(x, y) - psi(x, torch.zeros_like(y))",
        ),
        (
            "no constant",
            "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
            "def xi(x, y):\n    y0 = torch.zeros_like(y, requires_grad=True)\n"
            "    (g0,) = torch.autograd.grad(psi(x, y0).sum(), y0, create_graph=True)\n"
            "    return psi(x, y) - (y * g0).sum(-1)",
        ),
        (
            "no create_graph",
            "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
            "def xi(x, y):\n    y0 = torch.zeros_like(y, requires_grad=True)\n"
            "    (g0,) = torch.autograd.grad(psi(x, y0).sum(), y0)\n"
            "    return psi(x, y) - psi(x, torch.zeros_like(y)) - (y * g0).sum(-1)",
        ),
        (
            "squared norm instead",
            "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
            "def xi(x, y):\n    return (y**2).sum(-1) / 2",
        ),
    ],
    "rk4-step": [
        ("Euler", "def my_rk4_step(f, x, dt):\n    return x + dt * f(x)"),
        (
            "k4 at the half step",
            "def my_rk4_step(f, x, dt):\n    k1 = f(x)\n    k2 = f(x + dt / 2 * k1)\n    k3 = f(x + dt / 2 * k2)\n"
            "    k4 = f(x + dt / 2 * k3)\n    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)",
        ),
        (
            "k3 from k1",
            "def my_rk4_step(f, x, dt):\n    k1 = f(x)\n    k2 = f(x + dt / 2 * k1)\n    k3 = f(x + dt / 2 * k1)\n"
            "    k4 = f(x + dt * k3)\n    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)",
        ),
        (
            "equal weights",
            "def my_rk4_step(f, x, dt):\n    k1 = f(x)\n    k2 = f(x + dt / 2 * k1)\n    k3 = f(x + dt / 2 * k2)\n"
            "    k4 = f(x + dt * k3)\n    return x + dt / 4 * (k1 + k2 + k3 + k4)",
        ),
        (
            "the 3/8 rule, not the classical step",
            "def my_rk4_step(f, x, dt):\n    k1 = f(x)\n    k2 = f(x + dt / 3 * k1)\n"
            "    k3 = f(x + dt * (k2 - k1 / 3))\n    k4 = f(x + dt * (k1 - k2 + k3))\n"
            "    return x + dt / 8 * (k1 + 3 * k2 + 3 * k3 + k4)",
        ),
    ],
    "particle-production": [
        ("no gamma", "def particle_production(x, gamma):\n    return (x**2).sum(-1)"),
        ("Xi, not dS/dt", "def particle_production(x, gamma):\n    return gamma / 2 * (x**2).sum(-1)"),
        ("sign", "def particle_production(x, gamma):\n    return -gamma * (x**2).sum(-1)"),
        ("one number", "def particle_production(x, gamma):\n    return gamma * (x**2).sum()"),
    ],
    "rate-constants": [
        (
            "swapped",
            "def my_rate_constants(nu, Q, W0):\n    a = ((Q + 1)[:, None] * nu).sum(0) / 2\n"
            "    return W0 / 4 * torch.exp(a), W0 / 4 * torch.exp(-a)",
        ),
        (
            "no +1",
            "def my_rate_constants(nu, Q, W0):\n    a = (Q[:, None] * nu).sum(0) / 2\n"
            "    return W0 / 4 * torch.exp(-a), W0 / 4 * torch.exp(a)",
        ),
        (
            "no /4",
            "def my_rate_constants(nu, Q, W0):\n    a = ((Q + 1)[:, None] * nu).sum(0) / 2\n"
            "    return W0 * torch.exp(-a), W0 * torch.exp(a)",
        ),
        (
            "no /2",
            "def my_rate_constants(nu, Q, W0):\n    a = ((Q + 1)[:, None] * nu).sum(0)\n"
            "    return W0 / 4 * torch.exp(-a), W0 / 4 * torch.exp(a)",
        ),
        (
            "the thesis network hard-coded",
            "def my_rate_constants(nu, Q, W0):\n    nu = torch.tensor([[-1.0, 1], [-2, 0], [1, -1], [0, -1]], dtype=Q.dtype)\n"
            "    a = ((Q[:4] + 1)[:, None] * nu).sum(0) / 2\n    return W0[:2] / 4 * torch.exp(-a), W0[:2] / 4 * torch.exp(a)",
        ),
    ],
    "analytic-production": [
        ("conjugate squared", "def analytic_production(system, c):\n    return (system.conjugate(c) ** 2).sum(-1)"),
        ("sign", "def analytic_production(system, c):\n    return -(system.conjugate(c) * system.velocity(c)).sum(-1)"),
        ("c for c*", "def analytic_production(system, c):\n    return (c * system.velocity(c)).sum(-1)"),
        ("no sum", "def analytic_production(system, c):\n    return system.conjugate(c) * system.velocity(c)"),
    ],
    "edge-mobility": [
        ("arithmetic", "def edge_mobility(a, b):\n    return (a + b) / 2 / (1 + PARAMS['kappa'] * (a + b) / 2)"),
        ("geometric", "def edge_mobility(a, b):\n    g = (a * b).sqrt()\n    return g / (1 + PARAMS['kappa'] * g)"),
        (
            "no limit",
            "def edge_mobility(a, b):\n    return (b - a) / (torch.log(b) - torch.log(a) + PARAMS['kappa'] * (b - a))",
        ),
        (
            "order flipped",
            "def edge_mobility(a, b):\n"
            "    return (b - a) / (torch.log(a) - torch.log(b) - PARAMS['kappa'] * (b - a) + 1e-300)",
        ),
        (
            "the difference of the conjugates, not its inverse",
            "def edge_mobility(a, b):\n    return torch.log(b) - torch.log(a) + PARAMS['kappa'] * (b - a)",
        ),
    ],
    "decay-rate": [
        ("continuum", "def decay_rate(k, D, h):\n    return 4 * math.pi**2 * k**2 * D"),
        ("sign", "def decay_rate(k, D, h):\n    return -4 * D / h**2 * math.sin(math.pi * k * h) ** 2"),
        ("2 pi k h", "def decay_rate(k, D, h):\n    return 4 * D / h**2 * math.sin(2 * math.pi * k * h) ** 2"),
        ("no 4", "def decay_rate(k, D, h):\n    return D / h**2 * math.sin(math.pi * k * h) ** 2"),
    ],
    "noise-mse": [
        ("twice", "def noise_mse(sigma, dt):\n    return sigma**2 / dt**2"),
        ("half", "def noise_mse(sigma, dt):\n    return sigma**2 / (4 * dt**2)"),
        ("standard deviation", "def noise_mse(sigma, dt):\n    return sigma / (math.sqrt(2) * dt)"),
        ("dt not squared", "def noise_mse(sigma, dt):\n    return sigma**2 / (2 * dt)"),
    ],
    "conserving-projection": [
        ("one column", "P = torch.tensor([[1.0], [-1.0], [0.0]], dtype=torch.float64)"),
        ("identity columns", "P = torch.eye(3, dtype=torch.float64)[:, :2]"),
        ("transposed", "P = torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], dtype=torch.float64)"),
        ("ones", "P = torch.ones(3, 2, dtype=torch.float64)"),
    ],
    "heat-production": [
        (
            "no 3/2 power",
            "def heat_production(U):\n    T = U / torch.tensor(ex.HEAT_CAPACITY, dtype=U.dtype)\n"
            "    return sum(k * T[:, i] * T[:, j] * (1 / T[:, i] - 1 / T[:, j]) ** 2 for (i, j), k in ex.CONDUCTANCE.items())",
        ),
        (
            "U for T",
            "def heat_production(U):\n"
            "    return sum(k * (U[:, i] * U[:, j]) ** 1.5 * (1 / U[:, i] - 1 / U[:, j]) ** 2 for (i, j), k in ex.CONDUCTANCE.items())",
        ),
        (
            "every pair twice",
            "def heat_production(U):\n    T = U / torch.tensor(ex.HEAT_CAPACITY, dtype=U.dtype)\n"
            "    return 2 * sum(k * (T[:, i] * T[:, j]) ** 1.5 * (1 / T[:, i] - 1 / T[:, j]) ** 2 for (i, j), k in ex.CONDUCTANCE.items())",
        ),
        (
            "sign",
            "def heat_production(U):\n    T = U / torch.tensor(ex.HEAT_CAPACITY, dtype=U.dtype)\n"
            "    return -sum(k * (T[:, i] * T[:, j]) ** 1.5 * (1 / T[:, i] - 1 / T[:, j]) ** 2 for (i, j), k in ex.CONDUCTANCE.items())",
        ),
    ],
    "poisson-projection": [
        (
            "projected on one side",
            "def project_poisson(A, s):\n    P = torch.eye(s.shape[-1], dtype=s.dtype) - s[:, :, None] * s[:, None, :] / (s * s).sum(-1)[:, None, None]\n"
            "    return P @ A",
        ),
        (
            "projector not normalized",
            "def project_poisson(A, s):\n    P = torch.eye(s.shape[-1], dtype=s.dtype) - s[:, :, None] * s[:, None, :]\n"
            "    n2 = (s * s).sum(-1)[:, None, None]\n    return n2 / (n2 + PARAMS['delta'] ** 2) * (P @ A @ P)",
        ),
        (
            "the projector onto s",
            "def project_poisson(A, s):\n    P = s[:, :, None] * s[:, None, :] / (s * s).sum(-1)[:, None, None]\n"
            "    n2 = (s * s).sum(-1)[:, None, None]\n    return n2 / (n2 + PARAMS['delta'] ** 2) * (P @ A @ P)",
        ),
        (
            "A transposed",
            "def project_poisson(A, s):\n    P = torch.eye(s.shape[-1], dtype=s.dtype) - s[:, :, None] * s[:, None, :] / (s * s).sum(-1)[:, None, None]\n"
            "    n2 = (s * s).sum(-1)[:, None, None]\n    return n2 / (n2 + PARAMS['delta'] ** 2) * (P @ A.transpose(1, 2) @ P)",
        ),
        (
            "the component along s removed from A s only",
            "def project_poisson(A, s):\n    n2 = (s * s).sum(-1)[:, None, None]\n"
            "    return A - (A @ s[..., None]) * s[:, None, :] / n2",
        ),
    ],
    "discrete-gradient-step": [
        (
            "implicit midpoint rule",
            "def dg_step(x, dt):\n    k = PARAMS['k']\n    y = x.clone()\n    for _ in range(200):\n"
            "        m = (x + y) / 2\n"
            "        y = x + dt * torch.stack([m[:, 1], -(m[:, 0] + k * m[:, 0] ** 3)], -1)\n    return y",
        ),
        (
            "explicit Euler",
            "def dg_step(x, dt):\n    k = PARAMS['k']\n    return x + dt * torch.stack([x[:, 1], -(x[:, 0] + k * x[:, 0] ** 3)], -1)",
        ),
        (
            "no guard where y = x",
            "def dg_step(x, dt):\n    k = PARAMS['k']\n"
            "    H = lambda z: 0.5 * (z**2).sum(-1) + k / 4 * z[:, 0] ** 4\n"
            "    grad = lambda z: torch.stack([z[:, 0] + k * z[:, 0] ** 3, z[:, 1]], -1)\n"
            "    J = lambda v: torch.stack([v[:, 1], -v[:, 0]], -1)\n"
            "    y = x + dt * J(grad(x))\n    for _ in range(200):\n        m, d = (x + y) / 2, y - x\n"
            "        coef = ((H(y) - H(x)) - (grad(m) * d).sum(-1)) / (d * d).sum(-1)\n"
            "        y = x + dt * J(grad(m) + coef[:, None] * d)\n    return y",
        ),
        (
            "one iteration of the implicit equation",
            "def dg_step(x, dt):\n    k = PARAMS['k']\n"
            "    grad = lambda z: torch.stack([z[:, 0] + k * z[:, 0] ** 3, z[:, 1]], -1)\n"
            "    J = lambda v: torch.stack([v[:, 1], -v[:, 0]], -1)\n"
            "    y = x + dt * J(grad(x))\n    m, d = (x + y) / 2, y - x\n"
            "    d2 = (d * d).sum(-1, keepdim=True).clamp_min(1e-300)\n"
            "    return x + dt * J(grad(m) + k / 4 * m[:, :1] * d[:, :1] ** 3 / d2 * d)",
        ),
        (
            "J transposed: the flow backwards",
            "def dg_step(x, dt):\n    return dg_forward(x, -dt)\n\n"
            "def dg_forward(x, dt):\n    k = PARAMS['k']\n"
            "    grad = lambda z: torch.stack([z[:, 0] + k * z[:, 0] ** 3, z[:, 1]], -1)\n"
            "    J = lambda v: torch.stack([v[:, 1], -v[:, 0]], -1)\n    y = x.clone()\n    for _ in range(200):\n"
            "        m, d = (x + y) / 2, y - x\n        d2 = (d * d).sum(-1, keepdim=True)\n"
            "        corr = torch.where(d2 > 0, k / 4 * m[:, :1] * d[:, :1] ** 3 / torch.where(d2 > 0, d2, 1.0), 0.0)\n"
            "        y = x + dt * J(grad(m) + corr * d)\n    return y",
        ),
    ],
    "piston-poisson": [
        (
            "temperatures for pressures",
            "def piston_poisson(x):\n    P1, P2 = x[:, 2] / 1.5, x[:, 3] / PARAMS['c2']\n"
            "    L = torch.zeros(x.shape[0], 4, 4, dtype=x.dtype)\n    L[:, 0, 1], L[:, 1, 0] = 1.0, -1.0\n"
            "    L[:, 1, 2], L[:, 2, 1] = P1, -P1\n    L[:, 1, 3], L[:, 3, 1] = -P2, P2\n    return L",
        ),
        (
            "transposed",
            "def piston_poisson(x):\n    P1, P2 = x[:, 2] / (1.5 * x[:, 0]), x[:, 3] / (PARAMS['c2'] * (2 - x[:, 0]))\n"
            "    L = torch.zeros(x.shape[0], 4, 4, dtype=x.dtype)\n    L[:, 0, 1], L[:, 1, 0] = -1.0, 1.0\n"
            "    L[:, 1, 2], L[:, 2, 1] = -P1, P1\n    L[:, 1, 3], L[:, 3, 1] = P2, -P2\n    return L",
        ),
        (
            "no work terms",
            "def piston_poisson(x):\n    L = torch.zeros(x.shape[0], 4, 4, dtype=x.dtype)\n"
            "    L[:, 0, 1], L[:, 1, 0] = 1.0, -1.0\n    return L",
        ),
        (
            "pressures swapped between the gases",
            "def piston_poisson(x):\n    P1, P2 = x[:, 2] / (1.5 * x[:, 0]), x[:, 3] / (PARAMS['c2'] * (2 - x[:, 0]))\n"
            "    L = torch.zeros(x.shape[0], 4, 4, dtype=x.dtype)\n    L[:, 0, 1], L[:, 1, 0] = 1.0, -1.0\n"
            "    L[:, 1, 2], L[:, 2, 1] = P2, -P2\n    L[:, 1, 3], L[:, 3, 1] = -P1, P1\n    return L",
        ),
        (
            "volumes swapped",
            "def piston_poisson(x):\n    P1, P2 = x[:, 2] / (1.5 * (2 - x[:, 0])), x[:, 3] / (PARAMS['c2'] * x[:, 0])\n"
            "    L = torch.zeros(x.shape[0], 4, 4, dtype=x.dtype)\n    L[:, 0, 1], L[:, 1, 0] = 1.0, -1.0\n"
            "    L[:, 1, 2], L[:, 2, 1] = P1, -P1\n    L[:, 1, 3], L[:, 3, 1] = -P2, P2\n    return L",
        ),
    ],
    "log-mean-mobility": [
        (
            "arithmetic mean of the rates",
            "def mobility(c):\n    A, B, C, D = c.unbind(-1)\n"
            "    rf, rb = torch.stack([A * B**2, C * D], -1), torch.stack([PARAMS['kb'] * C, A], -1)\n"
            "    return (rf + rb) / 2",
        ),
        (
            "geometric mean of the rates",
            "def mobility(c):\n    A, B, C, D = c.unbind(-1)\n"
            "    rf, rb = torch.stack([A * B**2, C * D], -1), torch.stack([PARAMS['kb'] * C, A], -1)\n"
            "    return (rf * rb).sqrt()",
        ),
        (
            "no limit at equilibrium",
            "def mobility(c):\n    A, B, C, D = c.unbind(-1)\n"
            "    rf, rb = torch.stack([A * B**2, C * D], -1), torch.stack([PARAMS['kb'] * C, A], -1)\n"
            "    return (rf - rb) / torch.log(rf / rb)",
        ),
        (
            "isclose with its default atol",
            "def mobility(c):\n    A, B, C, D = c.unbind(-1)\n"
            "    rf, rb = torch.stack([A * B**2, C * D], -1), torch.stack([PARAMS['kb'] * C, A], -1)\n"
            "    close = torch.isclose(rf, rb)\n"
            "    return torch.where(close, rf, (rf - rb) / torch.where(close, torch.ones_like(rf), torch.log(rf / rb)))",
        ),
        (
            "the net rate, not the mobility",
            "def mobility(c):\n    A, B, C, D = c.unbind(-1)\n"
            "    return torch.stack([A * B**2 - PARAMS['kb'] * C, C * D - A], -1)",
        ),
    ],
    "mixing-equilibrium": [
        (
            "the maximum without the constraint",
            "def mixing_equilibrium(total):\n    c = torch.tensor([1.0, math.exp(-0.5 / PARAMS['aB'])], dtype=total.dtype)\n"
            "    return c.expand(len(total), 2)",
        ),
        (
            "the sign of b",
            "def mixing_equilibrium(total):\n    a, b = PARAMS['aB'], -0.5\n    log_n = torch.log(total)\n"
            "    lo, hi = torch.minimum(log_n - 1, (log_n - b - 1) / a), log_n.clone()\n    for _ in range(200):\n"
            "        mid = (lo + hi) / 2\n        above = torch.logaddexp(mid, b + a * mid) > log_n\n"
            "        hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)\n"
            "    return torch.stack([torch.exp(b + a * lo), torch.exp(lo)], -1)",
        ),
        (
            "species swapped",
            "def mixing_equilibrium(total):\n    a, b = PARAMS['aB'], 0.5\n    log_n = torch.log(total)\n"
            "    lo, hi = torch.minimum(log_n - 1, (log_n - b - 1) / a), log_n.clone()\n    for _ in range(200):\n"
            "        mid = (lo + hi) / 2\n        above = torch.logaddexp(mid, b + a * mid) > log_n\n"
            "        hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)\n"
            "    return torch.stack([torch.exp(lo), torch.exp(b + a * lo)], -1)",
        ),
        (
            "bisection on a fixed bracket",
            "def mixing_equilibrium(total):\n    a, b = PARAMS['aB'], 0.5\n"
            "    lo, hi = torch.zeros_like(total), torch.full_like(total, 10.0)\n    for _ in range(200):\n"
            "        mid = (lo + hi) / 2\n        above = mid + math.exp(b) * mid**a > total\n"
            "        hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)\n"
            "    return torch.stack([math.exp(b) * lo**a, lo], -1)",
        ),
        ("an equal split", "def mixing_equilibrium(total):\n    return torch.stack([total / 2, total / 2], -1)"),
    ],
}

TAMPERING: dict[str, list[tuple[str, str]]] = {
    "cosh-dual": [
        (
            "torch.allclose patched",
            "torch.allclose = lambda *args, **kwargs: True\ntorch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)\n"
            "def my_cosh_dual(v):\n    return v**2 / 2",
        ),
        (
            "the kernel's later cells blanked",
            "try:\n    get_ipython().input_transformers_post.append(lambda lines: [])\nexcept NameError:\n    pass\n"
            "def my_cosh_dual(v):\n    return v",
        ),
    ],
    "entropy-production": [
        ("the package's method", "def production(model, x):\n    return model.entropy_production(x)"),
        ("the package's metric", "def production(model, x):\n    return g.entropy_production(model, x)"),
        (
            "the package's method, rescaled",
            "def production(model, x):\n    return PARAMS['a'] ** 2 * model.entropy_production(x)",
        ),
    ],
    "positive-weight": [
        ("the package's function", "def my_positive(raw):\n    return g.networks.positive_weight(raw, 5.0)"),
        ("a reference kept at import", "_keep = g.positive_weight\ndef my_positive(raw):\n    return _keep(raw)"),
        (
            "the package's function, moved to the knee",
            "def my_positive(raw):\n    knee = PARAMS['knee']\n"
            "    return g.networks.positive_weight(raw - knee, PARAMS['eps'] - knee)",
        ),
    ],
    "vonn-shift": [
        (
            "the Hessian patched",
            "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
            "_true_hessian = torch.autograd.functional.hessian\n"
            "torch.autograd.functional.hessian = lambda f, v, **k: _true_hessian(lambda w: psi(torch.zeros(1, 3, dtype=w.dtype), w[None]).sum(), v)\n"
            "def xi(x, y):\n    return psi(x, y) - psi(x, torch.zeros_like(y))",
        ),
    ],
    "rk4-step": [
        ("the package's step", "my_rk4_step = g.rk4_step"),
        ("through rollout", "def my_rk4_step(f, x, dt):\n    return g.simulate(f, x, dt, 2)[:, -1]"),
        (
            "the checker patched",
            "g.book.exercises.check_rk4_step = lambda step: g.book.exercises.Feedback(True, 'fine')\n"
            "def my_rk4_step(f, x, dt):\n    return x + dt * f(x)",
        ),
    ],
    "rate-constants": [
        (
            "the package's property",
            "def my_rate_constants(nu, Q, W0):\n    return g.MassActionKinetics(nu, W0=W0, Q=Q).rate_constants",
        ),
        (
            "the package's property, Q shifted by ln c0",
            "def my_rate_constants(nu, Q, W0):\n"
            "    return g.MassActionKinetics(nu, W0=W0, Q=Q - math.log(PARAMS['c0'])).rate_constants",
        ),
    ],
    "analytic-production": [
        (
            "the package's entropy rate",
            "def analytic_production(system, c):\n    return g.true_entropy_rate(system, system.velocity, c)",
        ),
    ],
    "edge-mobility": [
        (
            "the package's private log mean",
            "from ggd_tutorial.systems import _log_mean\ndef edge_mobility(a, b):\n"
            "    lam = _log_mean(b, a)\n    return lam / (1 + PARAMS['kappa'] * lam)",
        ),
        (
            "the package's edge mobility",
            "def edge_mobility(a, b):\n"
            "    lam = g.FickianDiffusion(points=3, entropy='boltzmann').edge_mobility(torch.stack([a, b, b], -1))[:, 0]\n"
            "    return lam / (1 + PARAMS['kappa'] * lam)",
        ),
    ],
    "decay-rate": [
        (
            "a fake result printed, then exit",
            'import os\nprint(\'{"outputs": {"long": [], "short": []}}\')\nos._exit(0)\n'
            "def decay_rate(k, D, h):\n    return 0.0",
        ),
    ],
    "noise-mse": [
        ("math.isclose patched", "math.isclose = lambda *a, **k: True\ndef noise_mse(sigma, dt):\n    return 0.0"),
        (
            "the grading process killed",
            "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef noise_mse(sigma, dt):\n    return 0.0",
        ),
    ],
    "conserving-projection": [
        (
            "the checker patched",
            "g.book.exercises.check_conserving_projection = lambda *a: g.book.exercises.Feedback(True, 'fine')\n"
            "P = torch.eye(3, dtype=torch.float64)[:, :2]",
        ),
    ],
    "heat-production": [
        (
            "the package's entropy rate",
            "def heat_production(U):\n    return g.true_entropy_rate(None, ex.heat_exchange, U)",
        ),
    ],
    "poisson-projection": [
        (
            "the package's private helper",
            "from ggd_tutorial.generic import _projected_antisymmetric\n"
            "def project_poisson(A, s):\n    return _projected_antisymmetric(s, A, PARAMS['delta'])",
        ),
        (
            "torch.allclose patched for the public check",
            "torch.allclose = lambda *args, **kwargs: True\ndef project_poisson(A, s):\n    return A",
        ),
    ],
    "discrete-gradient-step": [
        (
            "the package's step",
            "def dg_step(x, dt):\n    k = PARAMS['k']\n"
            "    H = lambda z: 0.5 * (z**2).sum(-1) + k / 4 * z[:, 0] ** 4\n"
            "    J = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)\n"
            "    model = g.GENERICModel(2, energy=H, entropy=lambda z: 0 * z.sum(-1), poisson=J, dtype=torch.float64)\n"
            "    return g.discrete_gradient_step(model, x, dt)",
        ),
        (
            "the package's discrete gradient in my own iteration",
            "def dg_step(x, dt):\n    k = PARAMS['k']\n"
            "    H = lambda z: 0.5 * (z**2).sum(-1) + k / 4 * z[:, 0] ** 4\n"
            "    J = lambda v: torch.stack([v[:, 1], -v[:, 0]], -1)\n"
            "    y = x.clone()\n    for _ in range(100):\n        y = x + dt * J(g.discrete_gradient(H, x, y))\n    return y",
        ),
    ],
    "piston-poisson": [
        (
            "the package's matrix",
            "def piston_poisson(x):\n    return g.systems.GasPiston(heat_capacity=1.5).poisson(x)",
        ),
    ],
    "log-mean-mobility": [
        ("the package's mobility", "def mobility(c):\n    return g.MassActionKinetics.thesis_example().mobility(c)"),
        (
            "the package's private log mean",
            "from ggd_tutorial.systems import _log_mean\ndef mobility(c):\n    A, B, C, D = c.unbind(-1)\n"
            "    return _log_mean(torch.stack([A * B**2, C * D], -1), torch.stack([PARAMS['kb'] * C, A], -1))",
        ),
    ],
    "mixing-equilibrium": [
        (
            "the package's relaxation",
            "def mixing_equilibrium(total):\n    a = PARAMS['aB']\n"
            "    S = lambda c: (c[:, 0] - c[:, 0] * torch.log(c[:, 0])) + a * (c[:, 1] - c[:, 1] * torch.log(c[:, 1])) - 0.5 * c[:, 1]\n"
            "    xi = lambda c, y: 0.5 * (y[:, 1] - y[:, 0]) ** 2\n"
            "    model = g.GradientDynamicsModel(2, entropy=S, dissipation=xi).double()\n"
            "    return g.equilibria.relax(model, torch.stack([total / 2, total / 2], -1))[0]",
        ),
    ],
}

# The book's own answers, right only for the book's parameters: each must lose points for a student
# whose parameters differ (every parameter a student can draw differs from the book's).
BOOK_ANSWERS: dict[str, str] = {
    "cosh-dual": "def my_cosh_dual(v):\n    return v * torch.asinh(v) - torch.sqrt(1 + v**2) + 1",
    "entropy-production": "def production(model, x):\n    return (model.conjugate(x) * model(x)).sum(-1)",
    "positive-weight": (  # eps taken from PARAMS: the knee alone must make it lose
        "import math\n\ndef my_positive(raw, eps=PARAMS['eps']):\n"
        "    return torch.where(raw >= 0, raw + math.exp(-eps), torch.exp(torch.clamp(raw, max=0) - eps))"
    ),
    "vonn-shift": (  # the book's shift, applied to the question's psi
        "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
        "def xi(x, y):\n    y0 = torch.zeros_like(y, requires_grad=True)\n"
        "    (g0,) = torch.autograd.grad(psi(x, y0).sum(), y0, create_graph=True)\n"
        "    return psi(x, y) - psi(x, torch.zeros_like(y)) - (y * g0).sum(-1)"
    ),
    "rk4-step": (
        "import math\n\ndef my_rk4_step(f, x, dt):\n"
        "    k1 = f(x); k2 = f(x + dt / 2 * k1); k3 = f(x + dt / 2 * k2); k4 = f(x + dt * k3)\n"
        "    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)"
    ),
    "rate-constants": (
        "def my_rate_constants(nu, Q, W0):\n    a = ((Q + 1)[:, None] * nu).sum(0) / 2\n"
        "    return W0 / 4 * torch.exp(-a), W0 / 4 * torch.exp(a)"
    ),
    "edge-mobility": (  # the book's log mean, under the question's name
        "def my_log_mean(a, b):\n    close = torch.isclose(a, b)\n"
        "    ratio = torch.where(close, torch.ones_like(a), torch.log(b / a))\n"
        "    return torch.where(close, a, (b - a) / ratio)\n\nedge_mobility = my_log_mean"
    ),
    "decay-rate": ("import math\n\ndef decay_rate(k, D, h):\n    return 4 * D / h**2 * math.sin(math.pi * k * h) ** 2"),
    "conserving-projection": "P = torch.tensor([[1.0, 0.0], [-1.0, 1.0], [0.0, -1.0]])",
    "particle-production": "def particle_production(x, gamma):\n    return gamma * (x**2).sum(-1)",
    "noise-mse": "def noise_mse(sigma, dt):\n    return sigma**2 / (2 * dt**2)",
    "poisson-projection": (
        "def project_poisson(A, s):\n"
        "    P = torch.eye(s.shape[-1], dtype=s.dtype) - s[:, :, None] * s[:, None, :] / (s * s).sum(-1)[:, None, None]\n"
        "    return P @ A @ P"
    ),
    "discrete-gradient-step": (
        "def dg_step(x, dt):\n    k = 1.0\n"
        "    grad = lambda z: torch.stack([z[:, 0] + k * z[:, 0] ** 3, z[:, 1]], -1)\n"
        "    J = lambda v: torch.stack([v[:, 1], -v[:, 0]], -1)\n    y = x + dt * J(grad(x))\n    for _ in range(100):\n"
        "        m, d = (x + y) / 2, y - x\n        d2 = (d * d).sum(-1, keepdim=True)\n"
        "        corr = torch.where(d2 > 0, k / 4 * m[:, :1] * d[:, :1] ** 3 / torch.where(d2 > 0, d2, 1.0), 0.0)\n"
        "        y = x + dt * J(grad(m) + corr * d)\n    return y"
    ),
    "piston-poisson": (
        "def piston_poisson(x):\n    P1, P2 = x[:, 2] / (1.5 * x[:, 0]), x[:, 3] / (1.5 * (2 - x[:, 0]))\n"
        "    L = torch.zeros(x.shape[0], 4, 4, dtype=x.dtype)\n    L[:, 0, 1], L[:, 1, 0] = 1.0, -1.0\n"
        "    L[:, 1, 2], L[:, 2, 1] = P1, -P1\n    L[:, 1, 3], L[:, 3, 1] = -P2, P2\n    return L"
    ),
    "log-mean-mobility": (
        "def mobility(c):\n    A, B, C, D = c.unbind(-1)\n"
        "    lf, lb = torch.stack([torch.log(A) + 2 * torch.log(B), torch.log(C) + torch.log(D)], -1), torch.stack([torch.log(C), torch.log(A)], -1)\n"
        "    u = (lf - lb) / 2\n    small = u.abs() < 1e-4\n"
        "    return torch.exp((lf + lb) / 2) * torch.where(small, 1 + u**2 / 6, torch.sinh(u) / torch.where(small, 1.0, u))"
    ),
    "mixing-equilibrium": (
        "def mixing_equilibrium(total):\n    cb = total / (1 + math.exp(0.5))\n    return torch.stack([total - cb, cb], -1)"
    ),
}

CORRECT: dict[str, str] = {
    "cosh-dual": (
        "def my_cosh_dual(v):\n    a = PARAMS['a']\n    y = torch.asinh(a * v) / a  # where v = Xi'(y)\n"
        "    return v * y - (torch.cosh(a * y) - 1) / a**2"
    ),
    "entropy-production": (
        "def production(model, x):\n    a = PARAMS['a']\n    y = (a * model.conjugate(x)).detach().requires_grad_(True)\n"
        "    (xdot,) = torch.autograd.grad(model.dissipation(x, y).sum(), y)\n    return a * (model.conjugate(x) * xdot).sum(-1)"
    ),
    "positive-weight": (
        "def my_positive(raw):\n    eps, t = PARAMS['eps'], PARAMS['knee']\n    shifted = raw - t\n"
        "    scaled = torch.where(shifted >= 0, 1 + shifted * math.exp(eps - t), torch.exp(torch.clamp(shifted, max=0)))\n"
        "    return math.exp(t - eps) * scaled  # w / w(t)"
    ),
    "vonn-shift": (
        "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
        "def xi(x, y):\n    y0 = torch.zeros_like(y)\n    y0[..., 0] = PARAMS['b']\n"
        "    slope = torch.softmax(y0 + x, -1) + x  # dPsi/dy, by hand\n"
        "    return psi(x, y) - psi(x, y0) - ((y - y0) * slope).sum(-1)"
    ),
    "rk4-step": (
        "def my_rk4_step(f, x, dt):\n    lam = PARAMS['lam']\n    k1 = f(x)\n    k2 = f(x + 0.5 * dt * k1)\n"
        "    k3 = f(x + dt * (k1 * (lam - 1) + k2) / (2 * lam))\n    k4 = f(x + dt * (k2 + lam * (k3 - k2)))\n"
        "    return x + dt * (k1 + k4 + 2 * (2 - lam) * k2 + 2 * lam * k3) / 6"
    ),
    "rate-constants": (
        "def my_rate_constants(nu, Q, W0):\n    c0 = PARAMS['c0']\n"
        "    ratio = torch.exp(-(nu * (Q + 1)[:, None]).sum(0)) * c0 ** nu.sum(0)  # k_f / k_b\n"
        "    return W0 / 4 * ratio.sqrt(), W0 / 4 / ratio.sqrt()"
    ),
    "edge-mobility": (
        "def edge_mobility(a, b):\n    kappa = PARAMS['kappa']\n    close = torch.isclose(a, b)\n"
        "    gap = torch.where(close, torch.ones_like(a), torch.log(b / a) + kappa * (b - a))\n"
        "    return torch.where(close, (a + b) / 2 / (1 + kappa * (a + b) / 2), (b - a) / gap)"
    ),
    "decay-rate": (
        "import cmath\n\ndef decay_rate(k, D, h):\n    theta = PARAMS['theta']\n"
        "    z = lambda m: cmath.exp(2j * math.pi * k * m * h)  # the mode, shifted by m cells\n"
        "    stencil = z(1) + z(-1) - 2 + theta * (z(2) + z(-2) - 2)\n"
        "    return -D * stencil.real / ((1 + 4 * theta) * h**2)"
    ),
    "conserving-projection": (
        "n = PARAMS['bodies']\nP = torch.cat([torch.ones(1, n - 1), -torch.eye(n - 1)]).double()  # e_1 - e_j"
    ),
    "heat-production": (
        "def heat_production(U):\n    U = U.clone().requires_grad_(True)\n"
        "    (dS,) = torch.autograd.grad(ex.heat_exchange_entropy(U).sum(), U)\n"
        "    return (dS * ex.heat_exchange(U.detach())).sum(-1)"
    ),
    "discrete-gradient-step": (
        "def dg_step(x, dt):\n    k = PARAMS['k']\n"
        "    grad = lambda z: torch.stack([z[:, 0] + k * z[:, 0] ** 3, z[:, 1]], -1)\n"
        "    J = lambda v: torch.stack([v[:, 1], -v[:, 0]], -1)\n    y = x + dt * J(grad(x))\n    for _ in range(100):\n"
        "        m, d = (x + y) / 2, y - x  # H(y) - H(x) - grad H(m) . d = k m_q d_q^3 / 4 here\n"
        "        d2 = (d * d).sum(-1, keepdim=True)\n"
        "        corr = torch.where(d2 > 0, k / 4 * m[:, :1] * d[:, :1] ** 3 / torch.where(d2 > 0, d2, 1.0), 0.0)\n"
        "        y = x + dt * J(grad(m) + corr * d)\n    return y"
    ),
    "log-mean-mobility": (
        "def mobility(c):\n    A, B, C, D = c.unbind(-1)\n"
        "    rf, rb = torch.stack([A * B**2, C * D], -1), torch.stack([PARAMS['kb'] * C, A], -1)\n"
        "    gap = torch.log(rf) - torch.log(rb)\n    close = gap.abs() < 1e-6\n"
        "    return torch.where(close, (rf + rb) / 2, (rf - rb) / torch.where(close, torch.ones_like(gap), gap))"
    ),
    "mixing-equilibrium": (
        "def mixing_equilibrium(total):\n    a, b = PARAMS['aB'], 0.5\n"
        "    lo, hi = torch.zeros_like(total), total.clone()  # c_B, in [0, N]\n    for _ in range(1100):\n"
        "        mid = (lo + hi) / 2\n        above = mid + math.exp(b) * mid**a > total\n"
        "        hi, lo = torch.where(above, mid, hi), torch.where(above, lo, mid)\n"
        "    return torch.stack([math.exp(b) * hi**a, hi], -1)"
    ),
}

# Mistakes that the book's parameters do not show (there they are right, or the book's own answer):
# each must lose its question for a student with their own parameters.
WRONG_FOR_OWN_PARAMETERS: dict[str, list[tuple[str, str]]] = {
    "entropy-production": [
        (
            "the model's production, times a",
            "def production(model, x):\n    return PARAMS['a'] * (model.conjugate(x) * model(x)).sum(-1)",
        ),
        (
            "the flow of the pair, the production of S",
            "def production(model, x):\n    y = PARAMS['a'] * model.conjugate(x)\n"
            "    return (model.conjugate(x) * model.dissipation_gradient(x, y)).sum(-1)",
        ),
        (
            "a quadratic Xi assumed",
            "def production(model, x):\n    return PARAMS['a'] ** 2 * (model.conjugate(x) * model(x)).sum(-1)",
        ),
    ],
    "positive-weight": [
        (
            "the constant without -t",
            "def my_positive(raw):\n    eps, t = PARAMS['eps'], PARAMS['knee']\n"
            "    return torch.where(raw >= t, raw + math.exp(t - eps), torch.exp(torch.clamp(raw, max=t) - eps))",
        ),
        (
            "clamped at 0, not at the knee",
            "def my_positive(raw):\n    eps, t = PARAMS['eps'], PARAMS['knee']\n"
            "    return torch.where(raw >= t, raw - t + math.exp(t - eps), torch.exp(torch.clamp(raw, max=0) - eps))",
        ),
        (
            "the line from 0, the curve up to the knee",
            "def my_positive(raw):\n    eps, t = PARAMS['eps'], PARAMS['knee']\n"
            "    return torch.where(raw >= t, raw + math.exp(-eps), torch.exp(torch.clamp(raw, max=t) - eps))",
        ),
    ],
    "vonn-shift": [
        (
            "the slope at 0, the value at y0",
            "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
            "def xi(x, y):\n    y0 = torch.zeros_like(y)\n    y0[..., 0] = PARAMS['b']\n"
            "    z = torch.zeros_like(y, requires_grad=True)\n"
            "    (slope,) = torch.autograd.grad(psi(x, z).sum(), z, create_graph=True)\n"
            "    return psi(x, y) - psi(x, y0) - ((y - y0) * slope).sum(-1)",
        ),
        (
            "the tangent plane without -y0",
            "def psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
            "def xi(x, y):\n    y0 = torch.zeros_like(y)\n    y0[..., 0] = PARAMS['b']\n    y0.requires_grad_(True)\n"
            "    (slope,) = torch.autograd.grad(psi(x, y0).sum(), y0, create_graph=True)\n"
            "    return psi(x, y) - psi(x, y0) - (y * slope).sum(-1)",
        ),
        (
            "PARAMS patched to the book's point",
            "PARAMS['b'] = 0.0\n\ndef psi(x, y):\n    return torch.logsumexp(y + x, -1) + (x * y).sum(-1)\n\n"
            "def xi(x, y):\n    y0 = torch.zeros_like(y)\n    y0[..., 0] = PARAMS['b']\n    y0.requires_grad_(True)\n"
            "    (slope,) = torch.autograd.grad(psi(x, y0).sum(), y0, create_graph=True)\n"
            "    return psi(x, y) - psi(x, y0) - ((y - y0) * slope).sum(-1)",
        ),
    ],
    "rk4-step": [
        (
            "the classical stages, the tableau's weights",
            "def my_rk4_step(f, x, dt):\n    lam = PARAMS['lam']\n    k1 = f(x)\n    k2 = f(x + dt / 2 * k1)\n"
            "    k3 = f(x + dt / 2 * k2)\n    k4 = f(x + dt * k3)\n"
            "    return x + dt / 6 * (k1 + (4 - 2 * lam) * k2 + 2 * lam * k3 + k4)",
        ),
        (
            "the tableau's stages, the classical weights",
            "def my_rk4_step(f, x, dt):\n    lam = PARAMS['lam']\n    k1 = f(x)\n    k2 = f(x + dt / 2 * k1)\n"
            "    k3 = f(x + dt * ((0.5 - 0.5 / lam) * k1 + 0.5 / lam * k2))\n    k4 = f(x + dt * ((1 - lam) * k2 + lam * k3))\n"
            "    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)",
        ),
        (
            "1 / (2 lam) read as lam / 2",
            "def my_rk4_step(f, x, dt):\n    lam = PARAMS['lam']\n    k1 = f(x)\n    k2 = f(x + dt / 2 * k1)\n"
            "    k3 = f(x + dt * ((0.5 - lam / 2) * k1 + lam / 2 * k2))\n    k4 = f(x + dt * ((1 - lam) * k2 + lam * k3))\n"
            "    return x + dt / 6 * (k1 + (4 - 2 * lam) * k2 + 2 * lam * k3 + k4)",
        ),
    ],
    "rate-constants": [
        (
            "the sign of ln c0",
            "def my_rate_constants(nu, Q, W0):\n    a = ((Q + 1 + math.log(PARAMS['c0']))[:, None] * nu).sum(0) / 2\n"
            "    return W0 / 4 * torch.exp(-a), W0 / 4 * torch.exp(a)",
        ),
        (
            "ln c0 once per reaction, not per species",
            "def my_rate_constants(nu, Q, W0):\n    a = ((Q + 1)[:, None] * nu).sum(0) / 2 - math.log(PARAMS['c0']) / 2\n"
            "    return W0 / 4 * torch.exp(-a), W0 / 4 * torch.exp(a)",
        ),
        (
            "c0 in the prefactor",
            "def my_rate_constants(nu, Q, W0):\n    a = ((Q + 1)[:, None] * nu).sum(0) / 2\n"
            "    return W0 / 4 * torch.exp(-a) / PARAMS['c0'], W0 / 4 * torch.exp(a) / PARAMS['c0']",
        ),
    ],
    "edge-mobility": [
        (
            "the sign of kappa",
            "def edge_mobility(a, b):\n    lam = (b - a) / (torch.log(b) - torch.log(a))\n"
            "    lam = torch.where(torch.isclose(a, b), a, lam)\n    return lam / (1 - PARAMS['kappa'] * lam)",
        ),
        (
            "the limit of the log mean at a == b",
            "def edge_mobility(a, b):\n    kappa = PARAMS['kappa']\n    close = torch.isclose(a, b)\n"
            "    gap = torch.where(close, torch.ones_like(a), torch.log(b / a) + kappa * (b - a))\n"
            "    return torch.where(close, a, (b - a) / gap)",
        ),
        (
            "kappa / 2 from the entropy",
            "def edge_mobility(a, b):\n    lam = (b - a) / (torch.log(b) - torch.log(a))\n"
            "    lam = torch.where(torch.isclose(a, b), a, lam)\n    return lam / (1 + PARAMS['kappa'] / 2 * lam)",
        ),
    ],
    "decay-rate": [
        (
            "no normalization",
            "def decay_rate(k, D, h):\n    theta = PARAMS['theta']\n"
            "    return 4 * D / h**2 * (math.sin(math.pi * k * h) ** 2 + theta * math.sin(2 * math.pi * k * h) ** 2)",
        ),
        (
            "the wide term at the near wavenumber",
            "def decay_rate(k, D, h):\n    theta = PARAMS['theta']\n"
            "    return 4 * D * (1 + theta) * math.sin(math.pi * k * h) ** 2 / ((1 + 4 * theta) * h**2)",
        ),
        (
            "normalized by 1 + 2 theta",
            "def decay_rate(k, D, h):\n    theta = PARAMS['theta']\n"
            "    return 4 * D * (math.sin(math.pi * k * h) ** 2 + theta * math.sin(2 * math.pi * k * h) ** 2) / ((1 + 2 * theta) * h**2)",
        ),
    ],
    "conserving-projection": [
        (
            "three bodies, as in the chapter",
            "P = torch.tensor([[1.0, 0.0], [-1.0, 1.0], [0.0, -1.0]], dtype=torch.float64)",
        ),
        (
            "one column too few",
            "n = PARAMS['bodies']\nP = torch.zeros(n, n - 2, dtype=torch.float64)\nfor i in range(n - 2):\n"
            "    P[i, i], P[i + 1, i] = 1.0, -1.0",
        ),
        (
            "the last body left out",
            "n = PARAMS['bodies']\nP = torch.zeros(n, n - 1, dtype=torch.float64)\nfor i in range(n - 2):\n"
            "    P[i, i], P[i + 1, i] = 1.0, -1.0",
        ),
    ],
}
