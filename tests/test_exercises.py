import math

import torch

import ggd_tutorial as g
from ggd_tutorial.book import exercises as ex


def rk4(f, x, dt):
    k1 = f(x)
    k2 = f(x + dt / 2 * k1)
    k3 = f(x + dt / 2 * k2)
    k4 = f(x + dt * k3)
    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def test_rk4_check_accepts_reference_and_explains_typical_mistakes():
    assert ex.check_rk4_step(rk4)
    # the package's own step is refused, by identity and through delegation, and stays usable afterwards
    assert "package" in ex.check_rk4_step(g.rk4_step).message
    assert "package" in ex.check_rk4_step(lambda f, x, dt: g.rk4_step(f, x, dt)).message
    assert "package" in ex.check_rk4_step(lambda f, x, dt: g.rollout(f, x, dt, 2)[:, -1]).message
    assert ex.check_rk4_step(rk4) and torch.equal(
        g.rk4_step(lambda x: -x, torch.ones(1, 1), 0.1), rk4(lambda x: -x, torch.ones(1, 1), 0.1)
    )
    euler = ex.check_rk4_step(lambda f, x, dt: x + dt * f(x))
    assert not euler and "first-order" in euler.message

    def midpoint_k4(f, x, dt):  # k4 at the half step: drops to lower order
        k1 = f(x)
        k2 = f(x + dt / 2 * k1)
        k3 = f(x + dt / 2 * k2)
        k4 = f(x + dt / 2 * k3)
        return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    assert not ex.check_rk4_step(midpoint_k4)
    assert not ex.check_rk4_step(lambda f, x, dt: x)
    assert "raised" in ex.check_rk4_step(lambda f, x, dt: 1 / 0).message


def test_positive_weight_check():
    good = lambda w: torch.where(w >= 0, w + math.exp(-5), torch.exp(torch.clamp(w, max=0) - 5))
    assert ex.check_positive_weight(good)
    assert "positive" in ex.check_positive_weight(lambda w: w).message
    assert not ex.check_positive_weight(lambda w: torch.where(w >= 0, w, torch.exp(w - 5)))
    assert not ex.check_positive_weight(torch.exp)
    assert "package" in ex.check_positive_weight(g.positive_weight).message
    assert "package" in ex.check_positive_weight(lambda w: g.networks.positive_weight(w, 5.0)).message
    assert (g.positive_weight(torch.zeros(1)) > 0).all()  # restored


def test_vonn_shift_check():
    def psi(x, y):
        return torch.logsumexp(y, -1) + (x * y).sum(-1)

    def shifted(x, y):
        y0 = torch.zeros_like(y, requires_grad=True)
        (g0,) = torch.autograd.grad(psi(x, y0).sum(), y0, create_graph=True)
        return psi(x, y) - psi(x, torch.zeros_like(y)) - (y * g0).sum(-1)

    assert ex.check_vonn_shift(shifted)
    no_linear = ex.check_vonn_shift(lambda x, y: psi(x, y) - psi(x, torch.zeros_like(y)))
    assert not no_linear and "dXi/dx*" in no_linear.message
    assert "Xi(x, 0)" in ex.check_vonn_shift(psi).message


def test_entropy_production_check():
    model = g.GradientDynamicsModel(2, hidden=(4,))
    right = lambda m, x: (m.conjugate(x) * m(x)).sum(-1)
    assert ex.check_entropy_production(right, model)
    assert "sign" in ex.check_entropy_production(lambda m, x: -right(m, x), model).message
    assert not ex.check_entropy_production(lambda m, x: (x * m(x)).sum(-1), model)
    assert "package" in ex.check_entropy_production(lambda m, x: m.entropy_production(x), model).message
    assert model.entropy_production(torch.zeros(1, 2)).shape == (1,)  # restored


def test_cosh_dual_check_accepts_the_reference_and_explains_typical_mistakes():
    reference = lambda v: v * torch.asinh(v) - torch.sqrt(1 + v**2) + 1  # noqa: E731
    assert g.book.exercises.check_cosh_dual(reference).passed
    mistakes = {
        "constant": lambda v: v * torch.asinh(v) - torch.sqrt(1 + v**2),
        "sign": lambda v: -(v * torch.asinh(v) - torch.sqrt(1 + v**2) + 1),
        "maximizing y": lambda v: torch.asinh(v),
        "Onsager": lambda v: v**2 / 2,
        "wrong values": lambda v: v * torch.sinh(v),
        "raised": lambda v: 1 / 0,
        "shape": lambda v: v[:3],
    }
    for word, fn in mistakes.items():
        feedback = g.book.exercises.check_cosh_dual(fn)
        assert not feedback.passed, word
        assert word.split()[0].lower() in feedback.message.lower() or word in ("wrong values", "shape"), (
            word,
            feedback,
        )


def test_log_mean_check_accepts_the_reference_and_explains_typical_mistakes():
    def log_mean(a, b):
        close = torch.isclose(a, b)
        return torch.where(close, a, (b - a) / torch.where(close, torch.ones_like(a), torch.log(b / a)))

    assert ex.check_log_mean(log_mean)
    naive = ex.check_log_mean(lambda a, b: (b - a) / (torch.log(b) - torch.log(a)))
    assert not naive and "a == b" in naive.message
    assert "arithmetic" in ex.check_log_mean(lambda a, b: (a + b) / 2).message
    assert "geometric" in ex.check_log_mean(lambda a, b: (a * b).sqrt()).message
    flipped = lambda a, b: torch.where(torch.isclose(a, b), -a, -log_mean(a, b))  # noqa: E731
    assert "same order" in ex.check_log_mean(flipped).message
    assert "raised" in ex.check_log_mean(lambda a, b: 1 / 0).message


def test_mode_decay_rate_check():
    rate = lambda k, D, h: 4 * D / h**2 * math.sin(math.pi * k * h) ** 2  # noqa: E731
    assert ex.check_mode_decay_rate(rate)
    assert "sign" in ex.check_mode_decay_rate(lambda k, D, h: -rate(k, D, h)).message
    assert "continuum" in ex.check_mode_decay_rate(lambda k, D, h: 4 * math.pi**2 * k**2 * D).message
    assert "one number" in ex.check_mode_decay_rate(lambda k, D, h: "fast").message
    # the rate the book's system actually has: a Fourier mode of FickianDiffusion decays at rate(k, D, h)
    system = g.FickianDiffusion(64, D=3e-3)
    mode = torch.cos(2 * math.pi * 5 * system.grid)
    measured = -(system.velocity(mode[None]) / mode[None]).median()
    assert math.isclose(float(measured), rate(5, 3e-3, system.h), rel_tol=1e-9)


def test_rate_constants_check():
    def rates(nu, Q, W0):
        a = ((Q + 1)[:, None] * nu).sum(0) / 2
        return W0 / 4 * torch.exp(-a), W0 / 4 * torch.exp(a)

    assert ex.check_rate_constants(rates)
    assert "swapped" in ex.check_rate_constants(lambda *a: rates(*a)[::-1]).message
    no_plus_one = lambda nu, Q, W0: rates(nu, Q - 1, W0)  # noqa: E731
    assert "+1" in ex.check_rate_constants(no_plus_one).message
    assert "W0/4" in ex.check_rate_constants(lambda nu, Q, W0: tuple(4 * k for k in rates(nu, Q, W0))).message
    package = lambda nu, Q, W0: g.MassActionKinetics(nu, W0=W0, Q=Q).rate_constants  # noqa: E731
    assert "package" in ex.check_rate_constants(package).message
    assert len(g.MassActionKinetics.thesis_example().rate_constants) == 2  # restored


def test_graders_do_not_give_the_answer_away():
    """No formula in help() of a grader or in its messages; wrong answers are told what is wrong, not the value."""
    import inspect

    for name, fn in inspect.getmembers(ex, inspect.isfunction):
        if name.startswith("check_"):
            doc = inspect.getdoc(fn) or ""
            assert not any(word in doc for word in ("asinh", "sin^2", "sigma^2", "\\exp", "sqrt")), name
    assert ex.check_cosh_dual(lambda v: v * torch.asinh(v) - torch.sqrt(1 + v**2) + 1).message.count("asinh") == 0
    assert "sin" not in ex.check_mode_decay_rate(lambda k, D, h: 4 * D / h**2 * math.sin(math.pi * k * h) ** 2).message
    assert "sigma^2" not in ex.check_noise_velocity_mse(lambda s, dt: s**2 / (2 * dt**2)).message
    wrong = ex.check_cosh_dual(lambda v: v * torch.sinh(v)).message
    expected = 2 * math.asinh(2) - math.sqrt(5) + 1
    assert f"{expected:.4f}" not in wrong


def test_conserving_projection_check_and_what_it_promises():
    laws = torch.ones(1, 3, dtype=torch.float64)
    P = torch.tensor([[1.0, 0.0], [-1.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    assert ex.check_conserving_projection(P, laws)
    assert "rank" in ex.check_conserving_projection(P[:, :1], laws).message
    assert "q . P" in ex.check_conserving_projection(torch.eye(3, dtype=torch.float64)[:, :2], laws).message
    # the promise: a model with this projection conserves the law for any weights
    model = g.GradientDynamicsModel(3, dissipation_projection=P).double()
    x = torch.randn(50, 3, dtype=torch.float64)
    assert (model(x).sum(-1).abs() < 1e-12 * model(x).abs().max()).all()


def test_noise_velocity_mse_check_against_a_simulation():
    answer = lambda s, dt: s**2 / (2 * dt**2)  # noqa: E731
    assert ex.check_noise_velocity_mse(answer)
    assert "twice" in ex.check_noise_velocity_mse(lambda s, dt: s**2 / dt**2).message
    assert "standard deviation" in ex.check_noise_velocity_mse(lambda s, dt: s / (math.sqrt(2) * dt)).message
    noise = torch.randn(200_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 1e-2
    empirical = (((noise[2:] - noise[:-2]) / (2 * 0.1)) ** 2).mean()
    assert math.isclose(float(empirical), answer(1e-2, 0.1), rel_tol=0.02)
