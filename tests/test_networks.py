import math
from types import SimpleNamespace

import pytest
import torch
from conftest import hessian_eigenvalues

import ggd_tutorial as g
from ggd_tutorial.networks import ConcaveEntropy, ConvexDissipation, positive_weight


def randomize(module, scale=1.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module


def test_positive_weight_is_positive_continuous_and_monotone():
    raw = torch.linspace(-30, 5, 2001)
    w = positive_weight(raw, eps=5.0)
    assert torch.all(w > 0)
    assert torch.all(w[1:] >= w[:-1])
    left, right = positive_weight(torch.tensor([-1e-12, 0.0]))
    assert math.isclose(float(left), float(right), rel_tol=1e-9)
    assert math.isclose(float(positive_weight(torch.tensor(0.0))), math.exp(-5.0))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("quadratic", [True, False])
def test_entropy_network_is_concave(seed, quadratic):
    net = randomize(ConcaveEntropy(3, hidden=(8, 8), quadratic=quadratic), seed=seed)
    x = 3 * torch.randn(12, 3)
    eig = hessian_eigenvalues(net, x)
    assert eig.max() <= 1e-9 * max(1.0, float(eig.abs().max()))
    assert eig.min() < -1e-8  # not trivially flat


def test_unconstrained_network_would_not_be_concave():
    """The check above can fail: an MLP with random weights has positive curvature somewhere."""
    mlp = randomize(torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Softplus(), torch.nn.Linear(8, 1)), seed=3)
    eig = hessian_eigenvalues(lambda z: mlp(z).squeeze(-1), 3 * torch.randn(12, 3))
    assert eig.max() > 1e-6


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rank, symmetric", [(None, False), (2, False), (None, True)])
def test_dissipation_is_convex_in_conjugate_and_vanishes_at_zero(seed, rank, symmetric):
    net = randomize(ConvexDissipation(3, hidden=(8, 8), rank=rank, symmetric=symmetric), seed=seed)
    x = 2 * torch.randn(10, 3)
    for row in x:
        eig = hessian_eigenvalues(lambda y: net(row[None].expand(y.shape[0], 3), y), 3 * torch.randn(4, 3))
        assert eig.min() >= -1e-9 * max(1.0, float(eig.abs().max()))
    zero = torch.zeros_like(x)
    assert torch.allclose(net(x, zero), torch.zeros(10), atol=1e-12)
    assert torch.allclose(net.gradient(x, zero), torch.zeros_like(x), atol=1e-12)
    y = zero.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(net(x, y).sum(), y)
    assert torch.allclose(grad, torch.zeros_like(x), atol=1e-12)
    y = 5 * torch.randn(10, 3)
    assert torch.all(net(x, y) >= -1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_symmetric_dissipation_is_even_in_the_conjugate_and_the_plain_one_is_not(seed):
    x, y = 2 * torch.randn(20, 3), 3 * torch.randn(20, 3)
    even = randomize(ConvexDissipation(3, hidden=(8, 8), symmetric=True), seed=seed)
    assert torch.allclose(even(x, y), even(x, -y), rtol=1e-12, atol=1e-12)
    assert torch.allclose(even.gradient(x, y), -even.gradient(x, -y), atol=1e-10)  # odd fluxes
    plain = randomize(ConvexDissipation(3, hidden=(8, 8)), seed=seed)
    assert (plain(x, y) - plain(x, -y)).abs().max() > 1e-3  # the option is what makes it even
    model = g.GradientDynamicsModel(3, hidden=(8,), dissipation_symmetric=True)
    assert model.dissipation_net.symmetric


def test_dissipation_gradient_matches_autograd_of_shifted_potential():
    net = randomize(ConvexDissipation(2, hidden=(6, 6)), seed=4)
    x, y = torch.randn(7, 2), torch.randn(7, 2).requires_grad_(True)
    (auto,) = torch.autograd.grad(net(x, y).sum(), y)
    assert torch.allclose(net.gradient(x, y), auto, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_entropy_production_is_nonnegative(seed):
    model = randomize(g.GradientDynamicsModel(4, hidden=(8, 8)), seed=seed)
    x = 3 * torch.randn(500, 4)
    sigma = model.entropy_production(x)
    assert sigma.min() >= -1e-10
    # and it equals x* . xdot
    assert torch.allclose(sigma, (model.conjugate(x) * model(x)).sum(-1), atol=1e-10)


def test_dynamics_invariant_under_scale_and_shift_gauge():
    model = randomize(g.GradientDynamicsModel(3, hidden=(8, 8)), scale=0.5, seed=5)
    C, K = 2.7, -4.0
    gauged = g.GradientDynamicsModel(
        3,
        entropy=lambda x: model.entropy(x) / C + K,
        dissipation=lambda x, y: model.dissipation(x, C * y) / C,
    )
    x = torch.randn(50, 3)
    assert torch.allclose(gauged(x), model(x), atol=1e-9)
    # a non-gauge change (scaling S alone) does change the dynamics
    wrong = g.GradientDynamicsModel(3, entropy=lambda x: model.entropy(x) / C, dissipation=model.dissipation)
    assert not torch.allclose(wrong(x), model(x), atol=1e-3)


def test_kinetics_linear_gauge_q_orthogonal_to_stoichiometry():
    system = g.MassActionKinetics.thesis_example()
    q = system.conservation_laws()[0] * 3.0
    shifted = g.GradientDynamicsModel(4, entropy=lambda c: system.entropy(c) + c @ q, dissipation=system.dissipation)
    c = torch.rand(40, 4) + 0.05
    assert torch.allclose(shifted(c), system.velocity(c), atol=1e-10)
    other = torch.tensor([1.0, 0.0, 0.0, 0.0])  # not orthogonal to nu
    broken = g.GradientDynamicsModel(4, entropy=lambda c: system.entropy(c) + c @ other, dissipation=system.dissipation)
    assert not torch.allclose(broken(c), system.velocity(c), atol=1e-3)


def test_rank_projection_conserves_orthogonal_quantities():
    model = randomize(g.GradientDynamicsModel(4, hidden=(8,), dissipation_rank=2), seed=6)
    P = model.dissipation_net.project.weight.detach()  # (2, 4): xdot in row space of P
    basis = torch.linalg.svd(P, full_matrices=True).Vh[2:]  # orthogonal complement
    xdot = model(torch.randn(30, 4))
    assert (xdot @ basis.T).abs().max() < 1e-10


def test_fixed_projection_uses_given_matrix():
    system = g.MassActionKinetics.thesis_example()
    model = g.GradientDynamicsModel(4, hidden=(8,), dissipation_projection=system.nu)
    xdot = model(torch.rand(20, 4))
    assert (xdot @ system.conservation_laws().T).abs().max() < 1e-10
    assert not any(p is model.dissipation_net.project.matrix for p in model.parameters())


def test_prescribed_potentials_reproduce_system():
    system = g.OverdampedParticle(2, gamma=0.7)
    model = g.GradientDynamicsModel(2, entropy=system.entropy, dissipation=system.dissipation)
    x = torch.randn(10, 2)
    assert torch.allclose(model(x), system.velocity(x))
    assert g.count_parameters(model) == 0


def test_model_works_without_grad_and_returns_detached():
    model = g.GradientDynamicsModel(2, hidden=(4,))
    x = torch.randn(5, 2)
    with torch.no_grad():
        out = model(x)
    assert not out.requires_grad
    assert torch.allclose(out, model(x).detach())


def test_checkpoint_roundtrip(tmp_path):
    model = randomize(g.GradientDynamicsModel(3, hidden=(8, 8), dissipation_rank=2), seed=7)
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    fresh = g.GradientDynamicsModel(3, hidden=(8, 8), dissipation_rank=2)
    fresh.load_state_dict(torch.load(path, weights_only=True))
    x = torch.randn(9, 3)
    assert torch.equal(fresh(x), model(x))


def test_bad_inputs_raise_clear_errors():
    model = g.GradientDynamicsModel(3, hidden=(4,))
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        model(torch.randn(5, 2))
    with pytest.raises(ValueError, match="shape"):
        model(torch.randn(3))
    with pytest.raises(ValueError, match="hidden"):
        g.GradientDynamicsModel(3, hidden=())
    with pytest.raises(TypeError, match="callable"):
        g.GradientDynamicsModel(3, entropy=3.0)
    with pytest.raises(ValueError, match="rank"):
        g.GradientDynamicsModel(3, dissipation_rank=5)


@pytest.mark.parametrize("stencil", [None, 1])
def test_quadratic_skip_terms_keep_shapes(stencil):
    model = randomize(g.GradientDynamicsModel(6, hidden=(4,), stencil=stencil), scale=0.5, seed=8)
    x = torch.randn(5, 6)
    eig_s = hessian_eigenvalues(model.entropy, x)
    assert eig_s.max() <= 1e-9
    for row in x[:2]:
        eig_xi = hessian_eigenvalues(lambda y: model.dissipation(row[None].expand(len(y), 6), y), torch.randn(3, 6))
        assert eig_xi.min() >= -1e-9


def test_stencil_quadratic_is_translation_equivariant_and_exact_for_diffusion():
    from ggd_tutorial.networks import QuadraticForm

    system = g.FickianDiffusion(points=16)
    q = QuadraticForm(16, stencil=1)
    scale = (system.D) ** 0.5 / system.h
    with torch.no_grad():
        q.weight.copy_(torch.tensor([0.0, -scale, scale]))  # forward difference
    y = torch.randn(4, 16)
    assert torch.allclose(q(y), system.dissipation(torch.ones(4, 16), y))
    assert torch.allclose(q(torch.roll(y, 3, -1)), q(y))


@pytest.mark.parametrize("stencil,dim", [(1, 6), (2, 7), (3, 5)])
def test_stencil_quadratic_is_the_periodic_convolution(stencil, dim):
    from ggd_tutorial.networks import QuadraticForm

    q = QuadraticForm(dim, stencil=stencil)
    with torch.no_grad():
        q.weight.copy_(torch.randn(2 * stencil + 1))
    z = torch.randn(3, dim, dtype=q.weight.dtype)
    bz = torch.stack(
        [sum(q.weight[k] * z[:, (i + k - stencil) % dim] for k in range(2 * stencil + 1)) for i in range(dim)], -1
    )  # (Bz)_i = sum_k w_k z_{i+k-s}, indices mod n
    assert torch.allclose(q(z), 0.5 * (bz**2).sum(-1), rtol=1e-12)


def test_entropy_maximum_and_linearization_of_a_known_model():
    system = g.OverdampedParticle(2, gamma=1.5)
    model = g.GradientDynamicsModel(2, entropy=lambda x: system.entropy(x - 0.3), dissipation=system.dissipation)
    x_eq = g.metrics.entropy_maximum(model, torch.zeros(2))
    assert torch.allclose(x_eq, torch.full((1, 2), 0.3), atol=1e-8)
    jacobian = g.metrics.linearization(model, x_eq)
    assert torch.allclose(jacobian, -1.5 * torch.eye(2), atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_ggd_model_has_a_real_nonpositive_spectrum_at_its_equilibrium(seed):
    torch.manual_seed(seed)
    model = g.GradientDynamicsModel(3, hidden=(8, 8))
    x_eq = g.metrics.entropy_maximum(model, torch.zeros(3))
    rates = torch.linalg.eigvals(g.metrics.linearization(model, x_eq))
    assert float(rates.imag.abs().max()) <= 1e-8 * float(rates.abs().max())
    assert float(rates.real.max()) < 0


def test_coercive_entropy_is_bounded_above_and_decays_along_every_ray_for_any_weights():
    directions = torch.nn.functional.normalize(torch.randn(64, 3, dtype=torch.float64), dim=-1)
    grew = 0
    for seed in range(20):
        torch.manual_seed(seed)
        plain = g.ConcaveEntropy(3, hidden=(16, 16), quadratic=False).double()
        torch.manual_seed(seed)
        coercive = g.ConcaveEntropy(3, hidden=(16, 16), quadratic=False, coercive=1e-2).double()
        far = 1e4 * directions
        assert (coercive(far) < coercive(torch.zeros(1, 3, dtype=torch.float64)) - 1e3).all()
        assert torch.allclose(coercive(far), plain(far) - 0.5e-2 * (far**2).sum(-1))
        grew += bool((plain(far) > plain(torch.zeros(1, 3, dtype=torch.float64))).any())
    assert grew >= 1  # without it, some random networks grow without bound along some ray
    with pytest.raises(ValueError, match="coercive"):
        g.ConcaveEntropy(3, coercive=-1.0)


def test_coercive_option_survives_save_and_load(tmp_path):
    model = g.GradientDynamicsModel(2, hidden=(4,), entropy_coercive=0.1).double()
    model.save(tmp_path / "m.pt")
    again = g.GradientDynamicsModel.load(tmp_path / "m.pt")
    assert again.entropy_net.coercive == 0.1
    x = torch.randn(5, 2, dtype=torch.float64)
    assert torch.equal(again(x), model(x))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mixing_entropy_is_concave_for_every_weight_value(seed):
    net = randomize(ConcaveEntropy(3, hidden=(8, 8), quadratic=False, mixing=True).double(), scale=2.0, seed=seed)
    assert net.mixing_raw is not None and net.mixing_raw.abs().max() > 0  # randomized too
    x = torch.rand(12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 2 + 1e-3
    eig = hessian_eigenvalues(net, x)
    assert eig.max() <= 1e-9 * max(1.0, float(eig.abs().max()))
    assert eig.min() < -1e-6


def test_mixing_entropy_extrapolates_the_log_and_refuses_nonpositive_states():
    plain = randomize(ConcaveEntropy(2, hidden=(8,), quadratic=False).double(), seed=3)
    mixing = randomize(ConcaveEntropy(2, hidden=(8,), quadratic=False, mixing=True).double(), seed=3)
    small = torch.tensor([[1e-8, 0.5]], dtype=torch.float64, requires_grad=True)
    (grad_mixing,) = torch.autograd.grad(mixing(small).sum(), small)
    (grad_plain,) = torch.autograd.grad(plain(small).sum(), small)
    assert grad_mixing[0, 0] > 5.0 + grad_plain[0, 0].abs()  # -a ln x: large as x -> 0; the softplus net stays bounded
    for bad in (0.0, -0.1):
        with pytest.raises(ValueError, match="positive states"):
            mixing(torch.tensor([[bad, 0.5]], dtype=torch.float64))


def test_mixing_entropy_contains_the_mass_action_entropy():
    system = g.MassActionKinetics.thesis_example()
    model = g.GradientDynamicsModel(
        4, hidden=(8, 8), quadratic=False, entropy_mixing=True, dissipation=system.dissipation
    ).double()
    net = model.entropy_net
    with torch.no_grad():  # network part affine: constant hidden units, S = sum (c - c ln c) - (1 + Q) . c + const
        for lin in net.input_maps[:-1]:
            lin.weight.zero_()
        net.input_maps[-1].weight.copy_((1 + system.Q)[None])
        net.mixing_raw.fill_(math.log(math.e - 1))  # softplus -> 1
    assert torch.allclose(net.mixing_coefficients, torch.ones(4, dtype=torch.float64))
    c = torch.rand(16, 4, dtype=torch.float64) + 0.05
    assert torch.allclose(model(c), system.velocity(c), rtol=1e-10, atol=1e-12)


def test_mixing_option_survives_save_and_load(tmp_path):
    model = randomize(g.GradientDynamicsModel(2, hidden=(4,), entropy_mixing=True).double(), scale=0.5)
    model.save(tmp_path / "m.pt")
    again = g.GradientDynamicsModel.load(tmp_path / "m.pt")
    x = torch.rand(5, 2, dtype=torch.float64) + 0.1
    assert torch.equal(again(x), model(x))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fixed", [True, False])
def test_channel_dissipation_is_convex_shifted_and_separable(seed, fixed):
    """Convex in x*, zero with zero gradient at x* = 0, and a sum of functions of the single
    affinities a_k = p_k . x*: in those coordinates its Hessian is diagonal (a joint PICNN's is not)."""
    P = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -2.0]])
    kind = {"projection": P} if fixed else {"rank": 2}
    net = randomize(ConvexDissipation(3, hidden=(8, 7, 6), channels=True, **kind), seed=seed)
    P = g.equilibria.model_projection(SimpleNamespace(dissipation_net=net)).detach()
    x = 2 * torch.randn(6, 3)
    for row in x:
        eig = hessian_eigenvalues(lambda y: net(row[None].expand(y.shape[0], 3), y), 3 * torch.randn(4, 3))
        assert eig.min() >= -1e-9 * max(1.0, float(eig.abs().max()))
        # in affinity coordinates y = P (P^T P)^-1 a the Hessian is diagonal
        lift = P @ torch.linalg.inv(P.T @ P)
        a = 3 * torch.randn(2)
        H = torch.autograd.functional.hessian(lambda a: net(row[None], (lift @ a)[None]).squeeze(), a)
        assert H.diagonal().min() > 1e-8 and H[0, 1].abs() < 1e-9 * H.abs().max()
    zero = torch.zeros_like(x)
    assert torch.allclose(net(x, zero), torch.zeros(6), atol=1e-12)
    assert torch.allclose(net.gradient(x, zero), torch.zeros_like(x), atol=1e-12)
    y = (3 * torch.randn(6, 3)).requires_grad_(True)
    (auto,) = torch.autograd.grad(net(x, y).sum(), y)
    assert torch.allclose(net.gradient(x, y), auto, atol=1e-10)
    assert torch.all(net(x, y) >= -1e-12)
    joint = randomize(ConvexDissipation(3, hidden=(8, 7, 6), quadratic=False, **kind), seed=seed)  # no masks
    if not fixed:
        joint.project.weight.data.copy_(net.project.weight.data)
    H = torch.autograd.functional.hessian(lambda a: joint(x[:1], (lift @ a)[None]).squeeze(), a)
    assert H[0, 1].abs() > 1e-6 * H.abs().max()  # the check above can fail


def test_channel_model_conserves_exactly_and_survives_save_and_load(tmp_path):
    system = g.MassActionKinetics.thesis_example()
    model = randomize(
        g.GradientDynamicsModel(
            4, hidden=(8,), dissipation_projection=system.nu, dissipation_channels=True, quadratic=False
        ),
        seed=3,
    )
    c = torch.rand(30, 4) + 0.05
    xdot = model(c)
    assert xdot.abs().max() > 1e-3
    assert (xdot @ system.conservation_laws().T).abs().max() < 1e-12
    assert torch.equal(g.equilibria.model_projection(model), system.nu.to(c.dtype))
    model.save(tmp_path / "m.pt")
    assert torch.equal(g.GradientDynamicsModel.load(tmp_path / "m.pt")(c), xdot)
    with pytest.raises(ValueError, match="channels need a projection"):
        g.GradientDynamicsModel(4, dissipation_channels=True)
    with pytest.raises(ValueError, match="at least 2 hidden units"):
        g.GradientDynamicsModel(4, hidden=(8, 1), dissipation_channels=True, dissipation_projection=system.nu)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["projection", "rank", "diagonal"])
def test_mobility_dissipation_is_convex_vanishes_at_zero_and_has_its_closed_form_gradient(seed, kind):
    """Xi = 1/2 sum_k L_k(x) (p_k . y)^2 with L > 0: convex in y (PSD Hessian P diag(L) P^T),
    Xi(x, 0) = 0 and dXi/dy(x, 0) = 0 without a shift, and the closed-form gradient is autograd's."""
    P = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -2.0]])
    options = {"projection": {"projection": P}, "rank": {"rank": 2}, "diagonal": {}}[kind]
    net = randomize(g.MobilityDissipation(3, hidden=(8, 7), log_state=True, **options), seed=seed)
    x = torch.rand(6, 3) + 0.05
    assert torch.all(net.mobility(x) > 0)
    for row in x:
        eig = hessian_eigenvalues(lambda y: net(row[None].expand(y.shape[0], 3), y), 3 * torch.randn(3, 3))
        assert eig.min() >= -1e-12 * max(1.0, float(eig.abs().max()))
        assert eig.max() > 1e-8
    zero = torch.zeros_like(x)
    assert torch.equal(net(x, zero), torch.zeros(6)) and torch.equal(net.gradient(x, zero), torch.zeros_like(x))
    y = (3 * torch.randn(6, 3)).requires_grad_(True)
    (auto,) = torch.autograd.grad(net(x, y).sum(), y)
    assert torch.allclose(net.gradient(x, y), auto, atol=1e-12, rtol=1e-12)
    assert torch.all((y * net.gradient(x, y)).sum(-1) >= 0)  # y . dXi/dy = 2 Xi >= 0: the second law


def test_mobility_model_conserves_exactly_has_a_nonnegative_entropy_production_and_survives_save_and_load(tmp_path):
    system = g.MassActionKinetics.thesis_example()
    model = randomize(
        g.GradientDynamicsModel(
            4,
            hidden=(8,),
            entropy=system.entropy,
            dissipation_projection=system.nu,
            dissipation_mobility=True,
            dissipation_log_state=True,
        ),
        seed=3,
    )
    c = torch.rand(30, 4) + 0.05
    xdot = model(c)
    assert xdot.abs().max() > 1e-3
    assert (xdot @ system.conservation_laws().T).abs().max() < 1e-12
    assert torch.all(model.entropy_production(c) >= 0)
    assert torch.equal(g.equilibria.model_projection(model), system.nu.to(c.dtype))
    model.save(tmp_path / "m.pt")
    assert torch.equal(g.GradientDynamicsModel.load(tmp_path / "m.pt", entropy=system.entropy)(c), xdot)
    with pytest.raises(ValueError, match="positive states only"):
        model.dissipation_net.mobility(c - 0.5)
    with pytest.raises(ValueError, match="needs dissipation_mobility"):
        g.GradientDynamicsModel(4, dissipation_log_state=True)
    with pytest.raises(ValueError, match="no channels, symmetric or stencil"):
        g.GradientDynamicsModel(4, dissipation_mobility=True, dissipation_channels=True, dissipation_rank=2)
    with pytest.raises(ValueError, match="rank must be in"):
        g.MobilityDissipation(4, rank=5)


def test_the_true_mobility_in_the_model_reproduces_mass_action():
    """With the mobility of MassActionKinetics in place of the learned one, the model is the
    mass-action law: the family contains the true dynamics (not its Xi values)."""
    system = g.MassActionKinetics.thesis_example()
    net = g.MobilityDissipation(4, hidden=(4,), projection=system.nu, log_state=True)
    net.mobility = system.mobility  # the exact mobility
    model = g.GradientDynamicsModel(4, entropy=system.entropy, dissipation=net)
    c = torch.rand(50, 4) + 0.001
    assert torch.allclose(model(c), system.velocity(c), atol=1e-13, rtol=1e-11)


def test_mobility_error_is_zero_for_the_true_mobility_and_refuses_a_model_without_one():
    system = g.MassActionKinetics.thesis_example()
    model = g.GradientDynamicsModel(
        4,
        hidden=(4,),
        entropy=system.entropy,
        dissipation_projection=system.nu,
        dissipation_mobility=True,
        dissipation_log_state=True,
    )
    c = torch.rand(40, 4) + 0.01
    assert g.metrics.mobility_error(model, system, c) > 0.01  # random weights: far off
    model.dissipation_net.mobility = system.mobility
    assert g.metrics.mobility_error(model, system, c) == 0.0
    with pytest.raises(TypeError, match="learned mobility"):
        g.metrics.mobility_error(g.GradientDynamicsModel(4, hidden=(4,), dissipation_rank=2), system, c)
