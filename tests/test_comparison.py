"""The comparison measures, the noise model, Savitzky-Golay targets and the rollout loss."""

import math

import pytest
import torch

import ggd_tutorial as g
from ggd_tutorial.book import studies as cmp
from ggd_tutorial.data import central_differences, savgol_differences
from ggd_tutorial.training import rollout_windows


def test_matched_mlp_has_about_the_same_number_of_parameters():
    model = g.GradientDynamicsModel(4, hidden=(32, 32), dissipation_rank=2, quadratic=False)
    mlp = cmp.matched_mlp(model, 4)
    assert abs(g.count_parameters(mlp) - g.count_parameters(model)) < 0.05 * g.count_parameters(model)
    assert cmp.matched_mlp(500, 2, depth=1).net[0].out_features > 1


def test_noise_is_relative_seeded_and_zero_level_is_a_copy():
    x = torch.randn(20, 300, 3) * 5
    noisy = cmp.add_noise(x, 1e-2, seed=3)
    rms = x.pow(2).mean().sqrt()
    assert float((noisy - x).std() / rms) == pytest.approx(1e-2, rel=0.05)
    assert torch.equal(noisy, cmp.add_noise(x, 1e-2, seed=3))
    assert torch.equal(cmp.add_noise(x, 0.0), x)
    with pytest.raises(ValueError):
        cmp.add_noise(x, -1.0)


def test_measures_of_the_true_system_are_perfect_and_a_reversed_field_is_caught():
    system = g.OverdampedParticle(dim=2)
    x = g.uniform_box(200, 2, -1, 1, seed=0)
    assert cmp.true_velocity_mse(system, system, x) == 0.0
    assert cmp.second_law_violations(system, system, x) == 0.0
    assert cmp.second_law_violations(lambda y: -system(y), system, x, away_from_equilibrium=1e-6) == 1.0
    h = cmp.horizon_errors(system, system, x[:10], horizon=2.0, multiples=(1, 5), dt=0.1)
    assert h.mse == (0.0, 0.0) and h.reached == 1.0 and h.settled == 1.0
    exploding = cmp.horizon_errors(lambda y: 3.0 * y, system, x[:10], horizon=2.0, multiples=(1, 20), dt=0.1)
    assert exploding.mse[-1] > 1e10 or math.isinf(exploding.mse[-1])
    assert exploding.reached == 0.0 and exploding.settled == 0.0


def test_savgol_is_exact_for_cubics_and_beats_central_differences_on_noise():
    dt = 0.01
    t = torch.arange(200, dtype=torch.float64) * dt
    cubic = (1 + t - 2 * t**2 + 0.5 * t**3)[None, :, None]
    states, slope = savgol_differences(cubic, dt, window=11)
    assert torch.allclose(slope[0, :, 0], (1 - 4 * t + 1.5 * t**2)[1:-1], atol=1e-9)
    assert torch.allclose(states, cubic[:, 1:-1], atol=1e-12)
    noisy = torch.sin(t)[None, :, None] + 1e-3 * torch.randn(1, 200, 1, generator=torch.Generator().manual_seed(0))
    exact = torch.cos(t)[1:-1]
    err_sg = ((savgol_differences(noisy, dt, window=31)[1][0, :, 0] - exact) ** 2).mean()
    err_cd = ((central_differences(noisy, dt)[1][0, :, 0] - exact) ** 2).mean()
    assert err_sg < 0.05 * err_cd
    with pytest.raises(ValueError, match="odd"):
        savgol_differences(cubic, dt, window=10)
    with pytest.raises(ValueError, match="derivative"):
        g.TrajectorySet(cubic, dt, derivative="spline")


def test_rollout_windows_pair_each_start_with_the_states_that_follow():
    traj = torch.arange(2 * 10 * 1, dtype=torch.float64).reshape(2, 10, 1)
    starts, follow = rollout_windows(g.TrajectorySet(traj, 0.1), 3, None)
    assert starts.shape == (14, 1) and follow.shape == (14, 3, 1)
    assert torch.equal(follow[:, :, 0], starts + torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="longer"):
        rollout_windows(g.TrajectorySet(traj, 0.1), 10, None)


@pytest.mark.slow
def test_rollout_loss_learns_the_overdamped_particle_from_noisy_states():
    system = g.OverdampedParticle(dim=1, gamma=1.0)
    traj = g.simulate(system, g.uniform_box(16, 1, -1, 1, seed=0), 0.01, 200)
    noisy = g.TrajectorySet(cmp.add_noise(traj, 1e-2, seed=1), 0.01)
    x = torch.linspace(-1, 1, 50)[:, None]
    errors = {}
    for window in (0, 4):  # 0: central-difference velocities, 4: rollout loss
        torch.manual_seed(0)
        model = g.GradientDynamicsModel(1, hidden=(8,))
        history = g.fit(
            model,
            noisy,
            adam_steps=100,
            lbfgs_steps=100,
            adam_lr=1e-2,
            max_points=400,
            rollout_window=window,
            progress=False,
        )
        assert history.final_loss < history.loss[0]
        errors[window] = cmp.true_velocity_mse(model, system, x)
    assert errors[4] < 0.5 * errors[0], errors
    with pytest.raises(ValueError, match="rollout_window"):
        g.fit(model, noisy, rollout_window=-1, progress=False)


def test_final_distance_and_conservation_drift_see_a_wrong_end_and_a_leak():
    system = g.MassActionKinetics.thesis_example()
    x0 = torch.rand(4, 4, dtype=torch.float64) + 0.2
    h = cmp.horizon_errors(system, system, x0, horizon=1.0, multiples=(1, 2), dt=0.05)
    assert h.final_distance < 1e-14 and cmp.conservation_drift(h, system) < 1e-12
    leak = cmp.horizon_errors(lambda x: system(x) - 0.01 * x, system, x0, horizon=1.0, multiples=(1, 2), dt=0.05)
    assert leak.final_distance > 1e-3 and cmp.conservation_drift(leak, system) > 1e-3
    blowup = cmp.horizon_errors(lambda x: x**3, system, x0, horizon=10.0, multiples=(1, 2), dt=0.05)
    assert blowup.final_distance == math.inf and cmp.conservation_drift(blowup, system) == math.inf


@pytest.mark.slow
def test_field_comparison_records_every_measure_of_the_four_models():
    result = cmp.field_comparison(seed=0, per_family=2, adam_steps=0, lbfgs_steps=30, max_points=200)
    record = result.record()
    assert list(record) == list(cmp.FIELD_MODELS)
    keys = {
        "parameters",
        "train_s",
        "polynomial",
        "discontinuous",
        "gaussian spikes",
        "fourier",
        "exact",
        "rollout_1x",
        "rollout_5x",
        "rollout_20x",
        "reached",
        "mass_drift",
        "violations_away",
    }
    assert all(set(r) == keys for r in record.values())
    assert record["local GGD"]["mass_drift"] < 1e-12  # by construction, even after 30 iterations
    assert record["local CNN"]["parameters"] < 600 and record["dense MLP"]["parameters"] > 5000
    assert result.horizons["local GGD"].predicted.shape[0] == 8  # 2 per family, 3 families + Fourier
