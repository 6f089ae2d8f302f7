import math

import pytest
import torch

import ggd_tutorial as g
from ggd_tutorial.data import central_differences


def nonlinear(x):
    return torch.stack([-x[:, 1] - x[:, 0] ** 3, x[:, 0] - 0.5 * x[:, 1]], dim=1)


def observed_order(method):
    x0 = torch.tensor([[1.0, 0.5]])
    T = 1.0
    ref = x0
    for _ in range(8192):
        ref = g.rk4_step(nonlinear, ref, T / 8192)
    errs = []
    for n in (16, 32, 64):
        traj = g.rollout(nonlinear, x0, T / n, n + 1, method=method)
        errs.append(float((traj[:, -1] - ref).norm()))
    return [math.log2(a / b) for a, b in zip(errs[:-1], errs[1:])]


def test_rk4_is_fourth_order():
    orders = observed_order("rk4")
    assert all(3.7 < p < 4.3 for p in orders), orders


def test_euler_is_first_order():
    orders = observed_order("euler")
    assert all(0.8 < p < 1.2 for p in orders), orders


def test_central_differences_are_second_order():
    errs = []
    for dt in (0.1, 0.05, 0.025):
        t = torch.arange(0, 40) * dt
        traj = torch.sin(t)[None, :, None]
        states, vel = central_differences(traj, dt)
        errs.append(float((vel[0, :, 0] - torch.cos(t[1:-1])).abs().max()))
    orders = [math.log2(a / b) for a, b in zip(errs[:-1], errs[1:])]
    assert all(1.8 < p < 2.2 for p in orders), orders


def test_rollout_shape_and_first_slice():
    x0 = torch.randn(3, 2)
    traj = g.rollout(nonlinear, x0, 0.1, 7)
    assert traj.shape == (3, 7, 2)
    assert torch.equal(traj[:, 0], x0)


def test_rollout_of_a_model_that_needs_autograd_matches_the_exact_solution():
    # a GGD model with the overdamped particle's potentials prescribed: xdot = -gamma x, computed
    # by autograd through S and Xi inside rollout's no_grad; exact solution x0 exp(-gamma t)
    system = g.OverdampedParticle(2, gamma=1.5)
    model = g.GradientDynamicsModel(2, entropy=system.entropy, dissipation=system.dissipation)
    x0 = torch.tensor([[1.0, -0.5], [0.2, 0.7]], dtype=torch.float64)
    traj = g.rollout(model, x0, 0.05, 41)
    exact = x0[:, None] * torch.exp(-1.5 * 0.05 * torch.arange(41.0))[None, :, None]
    err = float((traj - exact).abs().max())
    assert err < 1e-6, err  # RK4 at h*gamma = 0.075: global error ~ 1e-7
    assert err > 0  # not the identity by accident


def test_rollout_bad_input():
    with pytest.raises(ValueError, match="method"):
        g.rollout(nonlinear, torch.randn(2, 2), 0.1, 3, method="rk2")
    with pytest.raises(ValueError, match="dt"):
        g.rollout(nonlinear, torch.randn(2, 2), 0.0, 3)


def test_rollout_runs_on_the_models_dtype_and_returns_the_callers():
    import ggd_tutorial as g

    torch.manual_seed(0)
    model64 = g.GradientDynamicsModel(2, hidden=(8,)).to(torch.float64)
    model32 = g.GradientDynamicsModel(2, hidden=(8,)).to(torch.float32)
    model32.load_state_dict({k: v.float() for k, v in model64.state_dict().items()})
    x64 = torch.tensor([[0.3, -0.2], [0.5, 0.1]], dtype=torch.float64)
    reference = g.rollout(model64, x64, 0.05, 20)
    mixed = g.rollout(model32, x64, 0.05, 20)  # float32 model, float64 states
    assert mixed.dtype == torch.float64 and mixed.device == x64.device
    assert torch.allclose(mixed, reference, atol=1e-5)
    back = g.rollout(model64, x64.float(), 0.05, 20)  # float64 model, float32 states
    assert back.dtype == torch.float32
    assert torch.allclose(back.double(), reference, atol=1e-6)


def test_entropy_steps_along_discrete_gradient_and_rk4_rollouts():
    """Per step, the discrete-gradient rollout never lowers a GGD model's entropy; RK4 beyond its stability
    limit does (negative control); the function checks its input."""
    from ggd_tutorial.metrics import entropy_steps

    torch.manual_seed(0)
    model = g.GradientDynamicsModel(2, hidden=(8,))
    x0 = torch.rand(3, 2) - 0.5
    dg = entropy_steps(model, g.rollout(model, x0, 0.05, 20, method="discrete_gradient"))
    assert dg.shape == (3, 19) and float(dg.min()) >= -1e-12
    linear = g.GradientDynamicsModel(
        1, entropy=lambda x: -0.5 * (x**2).sum(-1), dissipation=lambda x, y: 0.5 * (y**2).sum(-1)
    )
    rk4 = entropy_steps(linear, g.rollout(linear, torch.ones(1, 1), 3.0, 5))  # xdot = -x, RK4 at dt = 3: unstable
    assert float(rk4.max()) < 0
    with pytest.raises(TypeError):
        entropy_steps(lambda x: x, torch.zeros(1, 2, 1))
    with pytest.raises(ValueError):
        entropy_steps(model, torch.zeros(2, 2))
