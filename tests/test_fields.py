"""The local field model: mass conservation, translation equivariance, GGD structure and grid
independence for every weight value; the local baseline breaks what it should."""

import pytest
import torch

import ggd_tutorial as g
from ggd_tutorial.fields import LocalConvolution, LocalFieldModel


def _model(seed: int, **kwargs) -> LocalFieldModel:
    torch.manual_seed(seed)
    return LocalFieldModel(**kwargs).double()


def _heat_equation_model(D: float) -> LocalFieldModel:
    """Only the quadratic skips left: s = -c^2/2 and xi = D g^2/2, i.e. the discrete heat equation."""
    model = _model(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.fill_(float("-inf") if name.endswith("raw_weight") else 0.0)  # positive weights -> 0
        model.entropy_density.quadratic.weight.fill_(1.0)
        model.dissipation_density.quadratic.weight.fill_(D**0.5)
    return model


@pytest.mark.parametrize("points", [16, 64, 256])
def test_mass_is_conserved_and_shifts_commute_for_any_weights(points):
    c = g.fourier_modes(6, points, seed=2) * (points / 64) ** 0.5
    for seed in range(3):
        model = _model(seed)
        with torch.no_grad():
            v = model(c)
        assert v.abs().max() > 1e-3  # not trivially zero
        assert (v.sum(-1).abs() / v.abs().sum(-1)).max() < 1e-14
        with torch.no_grad():
            shifted = model(torch.roll(c, 5, -1))
        assert torch.allclose(shifted, torch.roll(v, 5, -1), rtol=1e-12, atol=1e-12 * float(v.abs().max()))


def test_the_flux_form_is_the_gradient_of_the_dissipation_and_the_second_law_holds():
    model = _model(1)
    c = g.fourier_modes(5, 32, seed=4)
    x_star = model.conjugate(c).detach().requires_grad_(True)
    (autograd,) = torch.autograd.grad(model.dissipation(c, x_star).sum(), x_star)
    assert torch.allclose(model.dissipation_gradient(c, x_star), autograd, rtol=1e-12, atol=1e-12)
    production = model.entropy_production(c)
    assert torch.allclose(production, (model.conjugate(c) * model(c)).sum(-1))
    assert production.min() >= 0
    # the local potentials: s concave, xi(., 0) = 0, d xi/dg (., 0) = 0, xi convex in g
    values = torch.linspace(-2, 2, 201, dtype=torch.float64)[:, None]
    s = model.entropy_density(values)
    assert (s[2:] - 2 * s[1:-1] + s[:-2]).max() <= 1e-12
    states = torch.randn(50, 2, dtype=torch.float64)
    zero = torch.zeros(50, 1, dtype=torch.float64)
    xi = model.dissipation_density
    assert xi(states, zero).abs().max() < 1e-12
    assert xi.gradient(states, zero).abs().max() < 1e-12
    gs = torch.linspace(-3, 3, 61, dtype=torch.float64)
    curve = torch.stack([xi(states[:1].expand(61, 2), gs[:, None])])[0]
    assert (curve[2:] - 2 * curve[1:-1] + curve[:-2]).min() >= -1e-12


@pytest.mark.parametrize("points", [32, 64, 128])
def test_the_discrete_heat_equation_is_in_the_model_class_on_every_grid(points):
    model = _heat_equation_model(3e-3)
    system = g.FickianDiffusion(points=points, D=3e-3)
    c = g.fourier_modes(4, points, seed=1)
    assert torch.allclose(model(c), system.velocity(c), rtol=1e-10, atol=1e-12)


def test_the_diffusivity_is_that_of_the_model_and_gauge_free():
    model = _heat_equation_model(3e-3)
    c = torch.linspace(0.2, 2.0, 7, dtype=torch.float64)
    assert torch.allclose(model.diffusivity(c), torch.full_like(c, 3e-3), rtol=1e-12)
    with torch.no_grad():  # rescale S by 4 and Xi's gradient argument by 1/4: the same dynamics
        model.entropy_density.quadratic.weight.mul_(2.0)
        model.dissipation_density.quadratic.weight.div_(2.0)
    assert torch.allclose(model.diffusivity(c), torch.full_like(c, 3e-3), rtol=1e-12)
    random = _model(3)
    assert (random.diffusivity(c) > 0).all()  # concave s and convex xi: never anti-diffusion


@pytest.mark.slow
def test_a_rollout_at_twenty_times_the_data_horizon_keeps_the_mass():
    model = _heat_equation_model(3e-3)
    with torch.no_grad():
        path = g.rollout(model, g.fourier_modes(2, 64, seed=1), 0.03, 1280)  # 20 x 64 steps
    mass = path.sum(-1)
    assert (mass - mass[:, :1]).abs().max() < 1e-12


def test_the_local_convolution_is_local_and_translation_equivariant_but_conserves_nothing():
    torch.manual_seed(0)
    baseline = LocalConvolution().double()
    c = g.fourier_modes(4, 64, seed=5)
    v = baseline(c)
    assert torch.allclose(baseline(torch.roll(c, 7, -1)), torch.roll(v, 7, -1), atol=1e-14)
    bumped = c.clone()
    bumped[:, 30] += 1.0
    changed = (baseline(bumped) - v).abs().amax(0) > 0
    assert changed.nonzero().flatten().tolist() == [29, 30, 31]  # stencil width 3, as the field model's
    assert (v.sum(-1).abs() / v.abs().sum(-1)).max() > 1e-3  # mass is not conserved


def test_the_field_model_reads_three_neighbours():
    model = _model(2)
    c = g.fourier_modes(3, 32, seed=6)
    bumped = c.clone()
    bumped[:, 10] += 0.5
    with torch.no_grad():
        changed = (model(bumped) - model(c)).abs().amax(0) > 0
    assert changed.nonzero().flatten().tolist() == [9, 10, 11]


def test_bad_input_is_refused_clearly():
    model = _model(0)
    with pytest.raises(ValueError, match=r"shape \(batch, points\)"):
        model(torch.zeros(64, dtype=torch.float64))
    with pytest.raises(ValueError, match="points >= 3"):
        model(torch.zeros(2, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="length must be positive"):
        LocalFieldModel(length=0.0)
    with pytest.raises(ValueError, match="radius"):
        LocalConvolution(radius=0)


def test_grid_transfer_of_the_exact_model_sits_on_each_grids_floor():
    from ggd_tutorial.book import experiments as ex

    system = g.FickianDiffusion(points=64, D=3e-3)
    transfer = ex.grid_transfer(_heat_equation_model(3e-3), system, grids=(32, 128), n_test=4, steps=8)
    assert len(transfer) == 6
    for (points, family), (mse, floor, exact) in transfer.items():
        assert exact < 1e-20 and mse == pytest.approx(floor, rel=1e-8), (points, family)
    # the finer grid needs RK4 substeps, and the profiles keep their 64-point amplitudes
    assert ex.stable_substeps(g.FickianDiffusion(points=128), 0.03) == 3
    fine = ex.field_profiles(g.gaussian_spikes, 2, g.FickianDiffusion(points=128), seed=1)
    coarse = ex.field_profiles(g.gaussian_spikes, 2, system, seed=1)
    assert torch.allclose(fine[:, ::2], coarse, rtol=1e-2)  # the same functions, up to the discrete norm


def test_porous_medium_profiles_are_positive_and_the_baseline_trains():
    from ggd_tutorial.book import experiments as ex

    porous = g.PorousMediumDiffusion()
    for make in (g.fourier_modes, g.step_profiles, g.polynomial_profiles):
        c = ex.field_profiles(make, 16, porous, seed=2)
        assert c.min() >= 0.5 - 1e-12 and c.max() <= 1.5 + 1e-12
    _, data, _ = ex.diffusion_data(n=16, n_test=2, steps=8, system=porous)
    baseline, history = ex.train_local_baseline(data, seed=0, lbfgs_steps=5)
    assert history.returned_loss < history.loss[0]


def test_evaluate_in_chunks_equals_one_batch_and_rejects_bad_chunks():
    torch.manual_seed(0)
    model = g.LocalFieldModel().double()
    c = 1 + 0.3 * torch.randn(37, 16, dtype=torch.float64)
    whole = model(c).detach()
    for elements in (1, 16, 100, 2**16):  # one row, rows not dividing the batch, one chunk
        out = g.metrics.evaluate(model, c, chunk_elements=elements)
        assert not out.requires_grad
        assert torch.allclose(out, whole, rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="chunk_elements"):
        g.metrics.evaluate(model, c, chunk_elements=0)
