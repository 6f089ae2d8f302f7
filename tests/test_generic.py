"""GENERICModel: the structure holds at random weights and random states, and each check can fail
(a negative control with the projections switched off, or another counterpart, next to each)."""

import math

import pytest
import torch
from conftest import hessian_eigenvalues, randomize

from ggd_tutorial.data import TrajectoryData, simulate
from ggd_tutorial.generic import GENERICModel
from ggd_tutorial.systems import DampedOscillatorBath
from ggd_tutorial.training import fit


def canonical():
    return torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])


def model_of(kind, seed, dim=3, **kw):
    poisson, dissipation = kind
    if poisson == "prescribed":
        a = torch.randn(dim, dim, generator=torch.Generator().manual_seed(seed + 100))
        poisson = a - a.T
    m = GENERICModel(dim, poisson=poisson, dissipation=dissipation, hidden=(8, 8), **kw)
    return randomize(m, seed=seed)


KINDS = [(p, d) for p in ("constant", "state", "prescribed") for d in ("picnn", "quadratic")]


def grads(model, x):
    xg = x.clone().requires_grad_(True)
    (e,) = torch.autograd.grad(model.energy(xg).sum(), xg)
    (s,) = torch.autograd.grad(model.entropy(xg).sum(), xg)
    return e, s


def states(n=16, dim=3, seed=5):
    return 1.5 * torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dim", [3, 5])
def test_energy_is_conserved_and_entropy_produced_at_random_weights(kind, seed, dim):
    model = model_of(kind, seed, dim)
    x = states(dim=dim)
    xdot = model(x).detach()
    e, s = grads(model, x)
    scale = float(e.norm(dim=-1).max() * xdot.norm(dim=-1).max())
    assert model.energy_rate(x).abs().max() <= 1e-12 * scale
    assert torch.allclose(model.energy_rate(x), (e * xdot).sum(-1), atol=1e-12 * scale)
    rate = model.entropy_production(x)
    assert rate.min() >= -1e-12 * scale
    assert rate.max() > 1e-6  # not trivially zero
    assert torch.allclose(rate, (s * xdot).sum(-1), atol=1e-12 * scale)

    control = model_of(kind, seed, dim, enforce_degeneracy=False)
    assert control.energy_rate(x).abs().max() > 1e-3 * scale  # the projections are what conserve E


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind", KINDS)
def test_poisson_is_antisymmetric_and_degenerate_and_dissipation_blind_to_the_energy_gradient(kind, seed):
    model = model_of(kind, seed, dim=4)
    x = states(dim=4)
    e, s = grads(model, x)
    lmat = model.poisson(x).detach()
    assert lmat.shape == (16, 4, 4)
    assert torch.equal(lmat, -lmat.transpose(1, 2))
    assert lmat.abs().max() > 1e-3  # not trivially zero
    assert (lmat @ s[..., None]).abs().max() <= 1e-13 * float(lmat.abs().max() * s.abs().max())
    y = 3 * torch.randn(16, 4, generator=torch.Generator().manual_seed(seed))
    flux = model.dissipation_gradient(x, y).detach()
    assert flux.abs().max() > 1e-3
    assert (e * flux).sum(-1).abs().max() <= 1e-12 * float(e.abs().max() * flux.abs().max())
    lam = torch.randn(16, 1, generator=torch.Generator().manual_seed(seed + 1))
    assert torch.allclose(model.dissipation(x, y + lam * e), model.dissipation(x, y), rtol=1e-10, atol=1e-12)

    control = model_of(kind, seed, dim=4, enforce_degeneracy=False)
    lc = control.poisson(x).detach()
    assert torch.equal(lc, -lc.transpose(1, 2))  # antisymmetric by construction anyway
    assert (lc @ s[..., None]).abs().max() > 1e-3
    assert (e * control.dissipation_gradient(x, y).detach()).sum(-1).abs().max() > 1e-3


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("dissipation", ["picnn", "quadratic"])
def test_dissipation_is_convex_in_the_conjugate_and_vanishes_with_its_gradient_at_zero(dissipation, seed):
    model = model_of(("constant", dissipation), seed)
    x = states(6)
    for row in x:
        eig = hessian_eigenvalues(
            lambda y: model.dissipation(row[None].expand(y.shape[0], 3), y), 3 * torch.randn(4, 3)
        )
        assert eig.min() >= -1e-9 * max(1.0, float(eig.abs().max()))
        assert eig.max() > 1e-6
    # the direction dE/dx is flat: one Hessian eigenvalue is zero (the projection Q_E)
    assert eig.abs().min() <= 1e-9 * float(eig.abs().max())
    zero = torch.zeros_like(x)
    assert model.dissipation(x, zero).abs().max() <= 1e-12
    assert model.dissipation_gradient(x, zero).abs().max() <= 1e-12
    y = zero.clone().requires_grad_(True)
    (g0,) = torch.autograd.grad(model.dissipation(x, y).sum(), y)
    assert g0.abs().max() <= 1e-12
    assert model.dissipation(x, 4 * torch.randn(6, 3)).min() >= -1e-12


def test_a_convexity_check_that_can_fail():
    """Negative control for the Hessian check: the energy, an unconstrained MLP, has negative curvature."""
    model = model_of(("constant", "picnn"), 0)
    eig = hessian_eigenvalues(lambda z: model.energy_net.net(z).squeeze(-1), states(8))
    assert eig.min() < -1e-6


def test_single_generator_produces_entropy_without_an_energy():
    model = randomize(GENERICModel(3, single_generator=True, poisson="state", hidden=(8, 8)), seed=2)
    x = states()
    s = grads_s(model, x)
    w = model.poisson(x).detach()
    assert torch.equal(w, -w.transpose(1, 2))
    assert w.abs().max() > 1e-2 and (w @ s[..., None]).abs().max() > 1e-3  # W is not projected: s.W s = 0 suffices
    rate = model.entropy_production(x)
    assert rate.min() >= -1e-12 and rate.max() > 1e-6
    reversible = (w @ s[..., None]).squeeze(-1)
    assert (s * reversible).sum(-1).abs().max() <= 1e-12 * float(s.abs().max() ** 2 * w.abs().max())
    assert not model.has_energy
    with pytest.raises(ValueError, match="no energy"):
        model.energy(x)
    with pytest.raises(ValueError, match="no energy"):
        model.energy_rate(x)
    with pytest.raises(ValueError, match="no energy"):
        GENERICModel(3, single_generator=True, energy=lambda z: (z**2).sum(-1))


def grads_s(model, x):
    xg = x.clone().requires_grad_(True)
    (s,) = torch.autograd.grad(model.entropy(xg).sum(), xg)
    return s


def test_in_two_dimensions_the_projected_poisson_matrix_vanishes():
    """What the module docstring says: dim 2 leaves no room for a reversible part with L dS/dx = 0."""
    model = model_of(("state", "picnn"), 0, dim=2)
    x = states(dim=2)
    assert model.poisson(x).abs().max() <= 1e-14
    assert model_of(("state", "picnn"), 0, dim=2, enforce_degeneracy=False).poisson(x).abs().max() > 1e-2


def test_jacobi_holds_in_three_dimensions_and_fails_in_four():
    x3, x4 = states(6, 3), states(6, 4)
    for kind in (("state", "picnn"), ("constant", "picnn")):
        assert model_of(kind, 0, dim=3).jacobiator(x3).abs().max() <= 1e-12
    assert model_of(("constant", "picnn"), 0, dim=4).jacobiator(x4).abs().max() > 1e-3
    # a constant matrix without projection is a Poisson matrix in any dimension
    assert model_of(("constant", "picnn"), 0, dim=4, enforce_degeneracy=False).jacobiator(x4).abs().max() == 0
    assert model_of(("state", "picnn"), 0, dim=3, enforce_degeneracy=False).jacobiator(x3).abs().max() > 1e-4


def test_prescribed_canonical_structure_reproduces_the_reversible_part_exactly():
    """With the bath's E, S and the canonical L prescribed, P_S L P_S = L: the reversible velocity is (p, -q, 0)."""
    bath = DampedOscillatorBath()
    model = GENERICModel(3, energy=bath.energy, entropy=bath.entropy, poisson=canonical(), hidden=(8,))
    x = torch.tensor([[0.3, -1.2, 1.5], [1.0, 0.4, 0.7]])
    lmat = model.poisson(x)
    assert torch.allclose(lmat, canonical().expand(2, 3, 3), atol=1e-15)
    e, s = bath.energy_gradient(x), bath.conjugate(x)
    rev = model.velocity_from_gradients(x, e, s) - model.dissipation_gradient(x, s)
    assert torch.allclose(rev, torch.stack([x[:, 1], -x[:, 0], 0 * x[:, 0]], 1), atol=1e-14)


def test_projection_floor_keeps_the_degeneracies_and_makes_the_field_continuous_at_a_critical_point():
    model = model_of(("constant", "picnn"), 0, projection_floor=0.1)
    x = states()
    e, s = grads(model, x)
    assert model.energy_rate(x).abs().max() <= 1e-12 * float(e.abs().max() * model(x).detach().abs().max())
    assert model.entropy_production(x).min() >= -1e-13
    assert (model.poisson(x) @ s[..., None]).abs().max() <= 1e-13
    # near s = 0: the plain projector's L jumps with the direction of s, the floored one goes to zero
    tiny = 1e-6 * torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    a = model.antisymmetric_part(torch.zeros(2, 3)).detach()
    plain = model_of(("constant", "picnn"), 0)
    jump = plain.poisson_from_gradient(torch.zeros(2, 3), tiny)
    floored = model.poisson_from_gradient(torch.zeros(2, 3), tiny)
    assert (jump[0] - jump[1]).abs().max() > 1e-2 * float(a.abs().max())
    assert floored.abs().max() <= 1e-9


def test_forward_under_no_grad_matches_and_returns_no_graph():
    model = model_of(("state", "picnn"), 3)
    x = states()
    with_grad = model(x)
    assert with_grad.requires_grad  # the graph that training needs
    with torch.no_grad():
        plain = model(x)
    assert not plain.requires_grad
    assert torch.allclose(plain, with_grad.detach(), rtol=0, atol=1e-14)


def test_generator_seeds_the_weights_and_leaves_the_global_rng_alone():
    before = torch.get_rng_state()
    a = GENERICModel(3, generator=torch.Generator().manual_seed(7), hidden=(8,))
    after = torch.get_rng_state()
    assert torch.equal(before, after)
    b = GENERICModel(3, generator=torch.Generator().manual_seed(7), hidden=(8,))
    c = GENERICModel(3, generator=torch.Generator().manual_seed(8), hidden=(8,))
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


def test_device_and_dtype_arguments():
    model = GENERICModel(3, poisson=canonical(), dtype=torch.float32, device="cpu", hidden=(8,))
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    assert model.poisson_matrix.dtype == torch.float32
    out = model(torch.randn(4, 3, dtype=torch.float32))
    assert out.dtype == torch.float32


@pytest.mark.parametrize("kind", [("state", "picnn"), ("prescribed", "quadratic")])
def test_save_and_load_round_trip(tmp_path, kind):
    model = model_of(kind, 4, single_generator=False)
    x = states()
    path = tmp_path / "generic.pt"
    model.save(path)
    back = GENERICModel.load(path)
    assert torch.equal(back(x).detach(), model(x).detach())
    assert torch.equal(back.poisson(x).detach(), model.poisson(x).detach())
    model.to(torch.float32).save(path)
    assert next(GENERICModel.load(path).parameters()).dtype == torch.float32


def test_load_asks_for_prescribed_potentials(tmp_path):
    bath = DampedOscillatorBath()
    model = GENERICModel(3, energy=bath.energy, entropy=bath.entropy, poisson=canonical(), hidden=(8,))
    path = tmp_path / "bath.pt"
    model.save(path)
    with pytest.raises(ValueError, match="energy"):
        GENERICModel.load(path, entropy=bath.entropy)
    back = GENERICModel.load(path, energy=bath.energy, entropy=bath.entropy)
    x = torch.tensor([[0.3, -1.2, 1.5]])
    assert torch.equal(back(x).detach(), model(x).detach())
    torch.save({"config": {}}, path)
    with pytest.raises(ValueError, match="GENERICModel"):
        GENERICModel.load(path)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dim=1), "dim"),
        (dict(dim=2.5), "dim"),
        (dict(dim=3, poisson="curved"), "poisson"),
        (dict(dim=3, poisson=torch.zeros(3, 2)), "shape"),
        (dict(dim=3, poisson=torch.ones(3, 3)), "antisymmetric"),
        (dict(dim=2, poisson=torch.tensor([[0.0, math.inf], [-math.inf, 0.0]])), "finite"),
        (dict(dim=3, dissipation="cosh"), "dissipation"),
        (dict(dim=3, energy_coercive=-1.0), "energy_coercive"),
        (dict(dim=3, projection_floor=-0.1), "projection_floor"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GENERICModel(**kwargs)


def test_bad_inputs_are_refused():
    model = GENERICModel(3, hidden=(8,))
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        model(torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r"\(batch, 3\)"):
        model(torch.zeros(3))
    with pytest.raises(ValueError, match="dE"):
        model.velocity_from_gradients(torch.zeros(2, 3), None, torch.ones(2, 3))
    with pytest.raises(TypeError):
        GENERICModel(3, energy="quadratic")


def test_coercive_energy_is_bounded_below_along_rays():
    model = randomize(GENERICModel(3, energy_coercive=0.5, quadratic=False, hidden=(8,)), scale=2.0)
    directions = torch.nn.functional.normalize(torch.randn(50, 3), dim=-1)
    far = model.energy(1e3 * directions)
    assert far.min() > 1e4  # grows like c |x|^2 / 2 = 2.5e5 minus a linear term
    plain = randomize(GENERICModel(3, quadratic=False, hidden=(8,)), scale=2.0)
    assert plain.energy(1e3 * directions).min() < 0  # the MLP alone is unbounded below along some ray


@pytest.mark.slow
def test_fit_trains_a_generic_model_on_the_bath_oscillator():
    bath = DampedOscillatorBath(gamma=0.3)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.cat([torch.randn(8, 2, generator=gen), 1.0 + torch.rand(8, 1, generator=gen)], 1)
    data = TrajectoryData(simulate(bath, x0, 0.05, 60), 0.05, test_fraction=0.25)
    model = GENERICModel(3, hidden=(16, 16), generator=torch.Generator().manual_seed(0))
    history = fit(model, data, adam_steps=60, lbfgs_steps=40, progress=False, max_points=400)
    assert history.loss[-1] < 0.2 * history.loss[0]
    x = data.test.states.reshape(-1, 3)[:50]
    assert model.energy_rate(x).abs().max() <= 1e-10  # the structure survives training
    assert model.entropy_production(x).min() >= -1e-12


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(poisson="state"),
        dict(dissipation="quadratic", projection_floor=0.1),
        dict(single_generator=True),
        dict(poisson="prescribed", energy_coercive=0.1),
    ],
)
def test_fit_runs_on_every_variant_and_lowers_the_loss(kwargs):
    if kwargs.get("poisson") == "prescribed":
        kwargs = dict(kwargs, poisson=canonical())
    bath = DampedOscillatorBath(gamma=0.3)
    gen = torch.Generator().manual_seed(1)
    x0 = torch.cat([torch.randn(4, 2, generator=gen), 1.0 + torch.rand(4, 1, generator=gen)], 1)
    data = TrajectoryData(simulate(bath, x0, 0.1, 20), 0.1, test_fraction=0.25)
    model = GENERICModel(3, hidden=(8,), generator=torch.Generator().manual_seed(0), **kwargs)
    history = fit(model, data, adam_steps=20, lbfgs_steps=0, progress=False, max_points=60, batch_size=None)
    assert all(math.isfinite(v) for v in history.loss)
    assert min(history.loss) < history.loss[0]


def test_poisson_matrix_agrees_with_the_velocity_at_a_critical_point_of_the_entropy():
    """At dS/dx = 0 exactly, P_S = I: the matrix poisson(x) and the reversible part of the velocity
    must both be A e (a matrix of zeros there would disagree with forward)."""
    from ggd_tutorial.generic import _projected_antisymmetric, _projector_apply

    torch.manual_seed(0)
    a = torch.randn(1, 3, 3, dtype=torch.float64)
    a = a - a.transpose(-1, -2)
    e = torch.randn(1, 3, dtype=torch.float64)
    zero = torch.zeros(1, 3, dtype=torch.float64)
    matrix = _projected_antisymmetric(zero, a)
    assert torch.allclose(matrix, a)
    vector = _projector_apply(zero, (a @ _projector_apply(zero, e)[..., None])[..., 0])
    assert torch.allclose((matrix @ e[..., None])[..., 0], vector)
