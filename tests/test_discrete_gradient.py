"""The discrete-gradient step: E_{n+1} = E_n and S_{n+1} >= S_n along computed steps, measured against RK4
and Euler at the same step (which do not keep them), second order, and the solver's failure modes."""

import math

import pytest
import torch
from conftest import randomize

from ggd_tutorial.discrete_gradient import discrete_gradient, discrete_gradient_step
from ggd_tutorial.generic import GENERICModel
from ggd_tutorial.integrators import euler_step, rk4_step, rollout
from ggd_tutorial.networks import ConcaveEntropy, GradientDynamicsModel, MLPVectorField


def generic(poisson="constant", dissipation="picnn", floor=0.1, seed=0, **kw):
    """A GENERICModel with its initial random weights drawn from ``seed``."""
    return GENERICModel(
        3,
        poisson=poisson,
        dissipation=dissipation,
        hidden=(8, 8),
        projection_floor=floor,
        generator=torch.Generator().manual_seed(seed),
        **kw,
    )


def starts(n=4, dim=3, seed=1):
    return 1.5 * torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def along(fn, trajectory):
    """fn at every state of a (batch, steps, dim) trajectory, shape (batch, steps)."""
    b, n, d = trajectory.shape
    return fn(trajectory.reshape(-1, d)).reshape(b, n).detach()


def test_discrete_gradient_property_consistency_and_the_small_step_branch():
    f = randomize(ConcaveEntropy(3, hidden=(8, 8)), seed=2)
    x, y = starts(20, seed=3), starts(20, seed=4)
    bar = discrete_gradient(f, x, y)
    change = (f(y) - f(x)).detach()
    assert torch.allclose((bar * (y - x)).sum(-1), change, rtol=0, atol=1e-13 * float(change.abs().max()))
    # negative control: the plain midpoint gradient does not have the property
    xm = (0.5 * (x + y)).requires_grad_(True)
    (mid,) = torch.autograd.grad(f(xm).sum(), xm)
    assert ((mid * (y - x)).sum(-1) - change).abs().max() > 1e-3
    # consistency: O(h^2) from the midpoint gradient
    direction = torch.nn.functional.normalize(starts(20, seed=5), dim=-1)
    errors = []
    for h in (1e-1, 5e-2):
        yh = x + h * direction
        mh = (0.5 * (x + yh)).requires_grad_(True)
        (g,) = torch.autograd.grad(f(mh).sum(), mh)
        errors.append(float((discrete_gradient(f, x, yh) - g).abs().max()))
    assert 3.0 < errors[0] / errors[1] < 5.0
    # y == x: the gradient itself, finite (the 0/0 branch is never evaluated)
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(xg).sum(), xg)
    assert torch.allclose(discrete_gradient(f, x, x.clone()), g, atol=1e-15)
    with pytest.raises(ValueError, match="shape"):
        discrete_gradient(f, x, y[:3])


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind",
    [dict(floor=0.0), dict(poisson="state"), dict(dissipation="quadratic", seed=1), dict(poisson="state", seed=2)],
)
def test_generic_energy_conserved_and_entropy_nondecreasing_per_step_where_rk4_drifts(kind):
    model = generic(**kind)
    x0, dt, steps = starts(), 0.1, 200
    dg = rollout(model, x0, dt, steps, method="discrete_gradient")
    energy, entropy = along(model.energy, dg), along(model.entropy, dg)
    scale = energy[:, :1].abs().clamp_min(1.0)
    dg_drift = float(((energy - energy[:, :1]).abs() / scale).max())
    assert dg_drift <= 1e-10
    assert float((entropy[:, 1:] - entropy[:, :-1]).min()) >= -1e-12
    assert float((entropy[:, -1] - entropy[:, 0]).min()) > 1e-3  # it does dissipate: a real test of the sign
    rk = rollout(model, x0, dt, steps, method="rk4")
    rk_energy = along(model.energy, rk)
    rk_drift = float(((rk_energy - rk_energy[:, :1]).abs() / scale).max())
    assert rk_drift > 1e-7 and rk_drift > 1e4 * max(dg_drift, 1e-16)


@pytest.mark.slow
def test_single_generator_entropy_nondecreasing_per_step():
    model = generic(single_generator=True, poisson="state", seed=3)
    dg = rollout(model, starts(), 0.1, 100, method="discrete_gradient")
    entropy = along(model.entropy, dg)
    assert float((entropy[:, 1:] - entropy[:, :-1]).min()) >= -1e-12
    assert float((entropy[:, -1] - entropy[:, 0]).min()) > 1e-3


@pytest.mark.parametrize("seed", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_ggd_entropy_never_decreases_per_step(seed):
    torch.manual_seed(seed)
    model = GradientDynamicsModel(3, hidden=(8, 8))
    dg = rollout(model, starts(seed=seed), 0.1, 25, method="discrete_gradient")
    entropy = along(model.entropy, dg)
    assert float((entropy[:, 1:] - entropy[:, :-1]).min()) >= -1e-12
    assert float((entropy[:, -1] - entropy[:, 0]).min()) > 1e-3


def test_ggd_large_steps_keep_the_second_law_where_euler_and_rk4_break_it():
    """xdot = -x (S = -|x|^2/2, Xi = |x*|^2/2) at dt = 2.5: Euler overshoots to -1.5 x and S drops;
    the discrete gradient gives x (1 - dt/2) / (1 + dt/2), S rises, at any dt."""
    model = GradientDynamicsModel(
        2, entropy=lambda x: -0.5 * (x**2).sum(-1), dissipation=lambda x, y: 0.5 * (y**2).sum(-1)
    )
    x0 = torch.tensor([[1.0, -2.0], [0.3, 0.1]])
    dg = rollout(model, x0, 2.5, 10, method="discrete_gradient")
    assert torch.allclose(dg[:, 1], x0 * (1 - 1.25) / (1 + 1.25), atol=1e-12)
    s_dg = along(model.entropy, dg)
    assert float((s_dg[:, 1:] - s_dg[:, :-1]).min()) >= -1e-15
    s_eu = along(model.entropy, rollout(model, x0, 2.5, 10, method="euler"))
    assert float((s_eu[:, 1:] - s_eu[:, :-1]).max()) < 0  # every Euler step lowers S
    # RK4 too, beyond its stability limit: the amplification 1 - 3 + 9/2 - 9/2 + 81/24 = 1.375 at dt = 3
    s_rk = along(model.entropy, rollout(model, x0, 3.0, 10, method="rk4"))
    assert float((s_rk[:, 1:] - s_rk[:, :-1]).max()) < 0
    s_dg3 = along(model.entropy, rollout(model, x0, 3.0, 10, method="discrete_gradient"))
    assert float((s_dg3[:, 1:] - s_dg3[:, :-1]).min()) >= -1e-15


@pytest.mark.slow
def test_second_order_convergence_where_euler_is_first_order():
    model = generic(poisson="state", seed=4)
    x0, horizon = starts(2, seed=6), 0.4
    reference = rollout(model, x0, 1e-3, 401, method="rk4")[:, -1]  # error ~1e-9 (checked against dt/2)
    dg_errors, euler_errors = [], []
    for steps in (8, 16, 32):
        dt = horizon / steps
        for method, errors in (("discrete_gradient", dg_errors), ("euler", euler_errors)):
            end = rollout(model, x0, dt, steps + 1, method=method)[:, -1]
            errors.append(float((end - reference).norm(dim=-1).max()))
    dg_orders = [math.log2(a / b) for a, b in zip(dg_errors, dg_errors[1:])]
    euler_orders = [math.log2(a / b) for a, b in zip(euler_errors, euler_errors[1:])]
    assert all(1.85 < p < 2.2 for p in dg_orders), dg_orders
    assert all(0.85 < p < 1.2 for p in euler_orders), euler_orders


def test_rollout_with_the_discrete_gradient_is_the_repeated_step_and_rk4_is_unchanged():
    model = generic(seed=5)
    x0 = starts(2)
    out = rollout(model, x0, 0.05, 4, method="discrete_gradient")
    x = x0
    for n in range(1, 4):
        x = discrete_gradient_step(model, x, 0.05)
        assert torch.equal(out[:, n], x)
    x = x0
    rk = rollout(model, x0, 0.05, 4, method="rk4")
    for n in range(1, 4):
        with torch.no_grad():
            x = rk4_step(model, x, 0.05)
        assert torch.equal(rk[:, n], x)
    eu = rollout(model, x0, 0.05, 2, method="euler")
    with torch.no_grad():
        assert torch.equal(eu[:, 1], euler_step(model, x0, 0.05))


def test_plain_vector_fields_are_refused():
    with pytest.raises(ValueError, match="GENERICModel or a GradientDynamicsModel"):
        rollout(lambda x: -x, starts(), 0.1, 3, method="discrete_gradient")
    with pytest.raises(ValueError, match="GENERICModel or a GradientDynamicsModel"):
        discrete_gradient_step(MLPVectorField(3, hidden=(4,)), starts(), 0.1)
    with pytest.raises(ValueError, match="discrete_gradient"):
        rollout(generic(), starts(), 0.1, 3, method="leapfrog")
    with pytest.raises(ValueError, match="dt"):
        discrete_gradient_step(generic(), starts(), 0.0)
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        discrete_gradient_step(generic(), torch.zeros(2, 4), 0.1)


def test_a_solve_that_does_not_converge_raises():
    model = generic(poisson="state", seed=6)
    with pytest.raises(RuntimeError, match="did not converge"):
        discrete_gradient_step(model, starts(), 0.5, max_iter=1)


def test_float32_step_conserves_energy_to_its_precision():
    model = generic(seed=7).to(torch.float32)
    x0 = starts().to(torch.float32)
    dg = rollout(model, x0, 0.1, 10, method="discrete_gradient")
    assert dg.dtype == torch.float32
    energy = along(model.energy, dg)
    assert float((energy - energy[:, :1]).abs().max()) <= 1e-4 * float(energy.abs().max())
