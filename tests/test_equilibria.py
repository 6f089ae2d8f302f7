"""Equilibria, spectra and conserved subspaces (ggd_tutorial.equilibria)."""

import math

import pytest
import torch

import ggd_tutorial as g
from ggd_tutorial import equilibria as eq


def test_relax_reaches_the_equilibrium_and_says_when_it_did_not():
    system = g.OverdampedParticle(2)
    x0 = torch.tensor([[1.0, -0.5], [0.2, 0.3]], dtype=torch.float64)
    end, ok = eq.relax(system, x0, dt=0.1, max_time=60.0, tol=1e-12)
    assert ok.all() and end.abs().max() < 1e-12
    end, ok = eq.relax(system, x0, dt=0.1, max_time=1.0, tol=1e-12)
    assert not ok.any()
    with pytest.raises(ValueError):
        eq.relax(system, x0[0], dt=0.1)


def test_principal_angles_and_conserved_subspace():
    nu = g.MassActionKinetics.thesis_example().nu
    laws = eq.conserved_subspace(nu)
    assert laws.shape == (2, 4) and (laws @ nu).abs().max() < 1e-12
    integer = g.MassActionKinetics.thesis_example().conservation_laws(integer=True).double()
    assert eq.principal_angles(laws, integer).max() < 1e-7
    e = torch.eye(4, dtype=torch.float64)
    angles = eq.principal_angles(e[:2], e[1:3])
    assert torch.allclose(angles, torch.tensor([0.0, math.pi / 2], dtype=torch.float64), atol=1e-7)


def test_model_projection_is_what_the_model_conserves():
    nu = g.MassActionKinetics.thesis_example().nu
    fixed = g.GradientDynamicsModel(4, hidden=(8,), dissipation_projection=nu).double()
    assert torch.equal(eq.model_projection(fixed), nu)
    learned = g.GradientDynamicsModel(4, hidden=(8,), dissipation_rank=2).double()
    laws = eq.conserved_subspace(eq.model_projection(learned))
    x = g.uniform_box(20, 4, 0.1, 1.0, seed=0)
    assert (learned(x) @ laws.T).abs().max() < 1e-12 * learned(x).abs().max()
    assert eq.model_projection(g.GradientDynamicsModel(4, hidden=(8,)).double()) is None


def test_an_exact_model_has_the_true_equilibria_and_spectrum():
    system = g.MassActionKinetics.thesis_example()
    exact = g.GradientDynamicsModel(4, entropy=system.entropy, dissipation=system.dissipation).double()
    x0 = g.uniform_box(4, 4, 0.05, 1.0, seed=3)
    report = eq.compare_equilibria(exact, system, x0, dt=0.05, max_time=300.0, tol=1e-10)
    assert report.true_converged.all() and report.model_converged.all()
    assert report.error.max() < 1e-9 and report.spectrum_error.max() < 1e-7
    # the true equilibrium keeps the conserved quantities of x0 and is a detailed-balance point
    laws = system.conservation_laws(integer=True).double()
    assert torch.allclose(report.true @ laws.T, x0 @ laws.T, atol=1e-10)
    assert system.velocity(report.true).abs().max() < 1e-10
    # two conserved directions: two zero eigenvalues, two negative ones
    assert report.true_spectrum.real[:, :2].max() < -1e-3
    assert report.true_spectrum.real[:, 2:].abs().max() < 1e-8


def test_learned_models_have_real_non_positive_spectra_at_equilibrium():
    """Onsager: at an equilibrium of any GGD model, J = Xi_yy S_xx has real eigenvalues <= 0."""
    for seed in range(3):
        torch.manual_seed(seed)
        model = g.GradientDynamicsModel(3, hidden=(8, 8)).double()
        end, ok = eq.relax(model, torch.randn(2, 3, dtype=torch.float64), dt=0.05, max_time=400.0, tol=1e-9)
        spectrum = eq.spectrum(model, end[ok])
        assert ok.any()
        assert spectrum.imag.abs().max() < 1e-6 and spectrum.real.max() < 1e-6
    # a vector field that rotates has a complex spectrum: the check can fail
    rotation = lambda x: torch.stack([-x[:, 1] - 0.1 * x[:, 0], x[:, 0] - 0.1 * x[:, 1]], 1)  # noqa: E731
    assert eq.spectrum(rotation, torch.zeros(1, 2, dtype=torch.float64)).imag.abs().max() > 0.5


def test_a_kinetics_model_given_nu_conserves_the_true_laws_exactly_for_any_weights():
    from ggd_tutorial.book import experiments as ex

    system = g.MassActionKinetics.thesis_example()
    laws = system.conservation_laws(integer=True).double()
    c0 = g.uniform_box(8, 4, 0.05, 1.0, seed=1)
    for seed in range(3):
        model = ex.build_model("kinetics-prescribed-S", system, seed=seed)
        assert torch.equal(eq.model_projection(model), system.nu)
        with torch.no_grad():
            velocity = model(c0)
        assert (velocity @ laws.T).abs().max() < 1e-14 * max(1.0, float(velocity.abs().max()))
    # along a rollout (as long as random weights keep the concentrations positive, which the
    # prescribed log entropy needs) the conserved quantities stay put to round-off
    with torch.no_grad():
        path = g.rollout(model, c0, 0.005, 40)
    assert path.min() > 0
    q = path @ laws.T
    assert (q - q[:, :1]).abs().max() < 1e-12


def test_a_model_that_runs_away_is_reported_as_diverged_not_a_crash():
    decay = lambda x: -x  # noqa: E731
    runaway = lambda x: torch.where(x > 0, x**2, -x)  # noqa: E731  blows up from x0 > 0 at t = 1/x0
    x0 = torch.tensor([[1.0, 0.5], [-1.0, -0.5]], dtype=torch.float64)
    report = eq.compare_equilibria(runaway, decay, x0, max_time=20.0)
    assert report.diverged.tolist() == [True, False]
    assert report.error[0] == float("inf") and report.error[1] < 1e-8
    assert torch.isnan(report.model_spectrum[0]).all() and report.spectrum_error[0] == float("inf")
    assert "DIVERGED from 1 initial states" in report.summary()
