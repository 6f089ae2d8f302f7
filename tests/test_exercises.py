import math

import torch

import ggd_tutorial as g
from ggd_tutorial import exercises as ex


def rk4(f, x, dt):
    k1 = f(x); k2 = f(x + dt / 2 * k1); k3 = f(x + dt / 2 * k2); k4 = f(x + dt * k3)
    return x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


def test_rk4_check_accepts_reference_and_explains_typical_mistakes():
    assert ex.check_rk4_step(rk4)
    assert ex.check_rk4_step(g.rk4_step)
    euler = ex.check_rk4_step(lambda f, x, dt: x + dt * f(x))
    assert not euler and "first-order" in euler.message
    def midpoint_k4(f, x, dt):  # k4 at the half step: drops to lower order
        k1 = f(x); k2 = f(x + dt / 2 * k1); k3 = f(x + dt / 2 * k2); k4 = f(x + dt / 2 * k3)
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


def test_cosh_dual_check_accepts_the_reference_and_explains_typical_mistakes():
    reference = lambda v: v * torch.asinh(v) - torch.sqrt(1 + v**2) + 1  # noqa: E731
    assert g.exercises.check_cosh_dual(reference).passed
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
        feedback = g.exercises.check_cosh_dual(fn)
        assert not feedback.passed, word
        assert word.split()[0].lower() in feedback.message.lower() or word in ("wrong values", "shape"), (word, feedback)
