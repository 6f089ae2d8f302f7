import pytest
import torch

import ggd_tutorial as g


def test_simulate_shapes_and_initial_state():
    x0 = g.uniform_box(5, 2, seed=0)
    traj = g.simulate(g.OverdampedParticle(2), x0, 0.01, 11)
    assert traj.shape == (5, 11, 2)
    assert torch.equal(traj[:, 0], x0)
    assert torch.allclose(traj[:, -1], x0 * torch.exp(torch.tensor(-0.1)), rtol=1e-9)


def test_split_is_by_trajectory_seeded_and_disjoint():
    traj = torch.randn(20, 6, 2)
    a = g.TrajectoryData(traj, 0.1, test_fraction=0.2, seed=3)
    b = g.TrajectoryData(traj, 0.1, test_fraction=0.2, seed=3)
    c = g.TrajectoryData(traj, 0.1, test_fraction=0.2, seed=4)
    assert len(a.train) == 16 and len(a.test) == 4
    assert set(a.train_index.tolist()).isdisjoint(a.test_index.tolist())
    assert torch.equal(a.test_index, b.test_index)
    assert not torch.equal(a.test_index, c.test_index)
    assert torch.equal(a.test.trajectories, traj[a.test_index])
    assert a.train.states.shape == (16, 4, 2) and a.train.velocities.shape == (16, 4, 2)
    s, v = a.train.points(time_stride=2)
    assert s.shape == (16 * 2, 2)


@pytest.mark.parametrize(
    "traj, dt, message",
    [
        (torch.full((2, 5, 1), float("nan")), 0.1, "NaN"),
        (torch.tensor([[[0.0], [float("inf")], [1.0]]]), 0.1, "NaN or inf"),
        (torch.randn(5, 2), 0.1, "ndim"),
        (torch.randn(2, 2, 1), 0.1, "at least 3 time steps"),
        (torch.randn(2, 5, 1), 0.0, "dt"),
        (torch.randn(2, 5, 1), -1.0, "dt"),
    ],
)
def test_bad_trajectories_raise(traj, dt, message):
    with pytest.raises(ValueError, match=message):
        g.TrajectoryData(traj, dt)


def test_fit_rejects_mismatched_dimension():
    data = g.TrajectoryData(torch.randn(4, 6, 3), 0.1)
    with pytest.raises(ValueError, match="dim"):
        g.fit(g.GradientDynamicsModel(2, hidden=(4,)), data, adam_steps=1, lbfgs_steps=0, progress=False)


def test_samplers_follow_the_thesis_families():
    for make in (g.fourier_modes, g.polynomial_profiles, g.step_profiles, g.gaussian_spikes):
        c = make(16, 64, seed=0)
        assert c.shape == (16, 64)
        assert torch.allclose(c.norm(dim=-1), torch.ones(16))
        assert torch.equal(c, make(16, 64, seed=0))
        assert not torch.equal(c, make(16, 64, seed=1))
    for make in (g.polynomial_profiles, g.step_profiles, g.gaussian_spikes):
        assert make(32, 64, seed=2).min() > 0
    steps = g.step_profiles(32, 64, seed=0)
    assert (steps[:, 1:] - steps[:, :-1]).abs().max() > 0.05  # genuinely discontinuous
    box = g.uniform_box(1000, 4, 0.001, 1.0, seed=0)
    assert box.min() >= 0.001 and box.max() <= 1.0


def test_extrapolation_share_counts_the_test_trajectories_that_start_outside_the_training_range():
    x0 = torch.linspace(-1.0, 1.0, 10)[:, None]
    data = g.TrajectoryData(g.simulate(g.OverdampedParticle(1), x0, 0.01, 20), 0.01, test_fraction=0.3, seed=4)
    assert data.test_index.tolist() == [0, 4, 9]  # the two end points of [-1, 1] are test trajectories
    assert g.metrics.outside_training_range(data).tolist() == [True, False, True]
    model = lambda x: -x + 0.1 * x**3  # off everywhere, most far out
    per = g.velocity_mse(model, data, per_trajectory=True)
    assert g.metrics.extrapolation_share(model, data) == pytest.approx(float((per[0] + per[2]) / per.sum()))
    assert 0.5 < g.metrics.extrapolation_share(model, data) < 1
