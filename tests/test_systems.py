import math

import pytest
import torch

import ggd_tutorial as g


def mass_action_reference(nu, kf, kb, c):
    """Textbook law of mass action written out with explicit loops."""
    nu = torch.as_tensor(nu, dtype=torch.float64)
    out = torch.zeros_like(c)
    for n in range(nu.shape[1]):
        fwd = torch.ones(c.shape[0])
        bwd = torch.ones(c.shape[0])
        for m in range(nu.shape[0]):
            if nu[m, n] < 0:
                fwd = fwd * c[:, m] ** (-nu[m, n])
            elif nu[m, n] > 0:
                bwd = bwd * c[:, m] ** nu[m, n]
        rate = kf[n] * fwd - kb[n] * bwd
        out += rate[:, None] * nu[:, n]
    return out


NETWORKS = {
    "A<->B": [[-1], [1]],
    "2A<->B": [[-2], [1]],
    "A+B<->C": [[-1], [-1], [1]],
    "thesis": [[-1, 1], [-2, 0], [1, -1], [0, -1]],
    "chain": [[-1, 0, 1], [1, -1, 0], [0, 1, -1], [0, 0, 0]],
}


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("params", [(4.0, -1.0), (2.5, 0.3)])
def test_ggd_and_mobility_forms_reproduce_mass_action(name, params):
    nu = NETWORKS[name]
    W0, Q = params
    system = g.MassActionKinetics(nu, W0=W0, Q=torch.linspace(-1, Q, len(nu)))
    c = torch.rand(64, len(nu)) * 2 + 0.01
    kf, kb = system.rate_constants
    expected = mass_action_reference(nu, kf, kb, c)
    assert torch.allclose(system.velocity(c), expected, rtol=1e-10, atol=1e-12)
    assert torch.allclose(system.ggd_velocity(c), expected, rtol=1e-8, atol=1e-10)
    # the Onsager mobility: L_n = (r_f - r_b) / ln(r_f / r_b) > 0, and nu diag(L) nu^T c* is mass action too
    nu_t = torch.as_tensor(nu, dtype=torch.float64)
    fwd = kf * torch.prod(c[:, :, None] ** (-nu_t).clamp(min=0), dim=1)
    bwd = kb * torch.prod(c[:, :, None] ** nu_t.clamp(min=0), dim=1)
    L = system.mobility(c)
    assert torch.all(L > 0) and torch.allclose(L, (fwd - bwd) / torch.log(fwd / bwd), rtol=1e-9)
    velocity = (L * (system.conjugate(c) @ system.nu)) @ system.nu.T
    assert torch.allclose(velocity, expected, rtol=1e-9, atol=1e-12)


def test_mobility_at_and_near_rest_is_the_common_rate():
    """At equilibrium (X = 0) the log mean is the common rate W/4, with no 0/0."""
    system = g.MassActionKinetics.thesis_example()  # k_f = k_b = 1: c = 1 is at rest
    c = torch.ones(1, 4) + torch.tensor([[0.0], [1e-9], [1e-3]]).expand(3, 4) * torch.tensor([1.0, 0, 0, 0])
    L = system.mobility(c)
    assert torch.allclose(L[0], torch.ones(2), rtol=0, atol=1e-15)
    assert torch.allclose(L, torch.ones(3, 2), rtol=1e-3) and torch.all(torch.isfinite(L))


def test_thesis_units_give_unit_rate_constants():
    kf, kb = g.MassActionKinetics.thesis_example().rate_constants
    assert torch.allclose(kf, torch.ones(2)) and torch.allclose(kb, torch.ones(2))


def test_conservation_laws_are_conserved():
    system = g.MassActionKinetics.thesis_example()
    q = system.conservation_laws()
    assert q.shape == (2, 4)
    assert torch.allclose(q @ system.nu, torch.zeros(2, 2), atol=1e-12)
    traj = g.simulate(system, torch.rand(5, 4) + 0.1, 0.01, 200)
    drift = (traj @ q.T) - (traj[:, :1] @ q.T)
    assert drift.abs().max() < 1e-10


def test_kinetics_entropy_increases_along_trajectories():
    system = g.MassActionKinetics.thesis_example()
    traj = g.simulate(system, torch.rand(8, 4) + 0.01, 0.01, 300)
    s = system.entropy(traj.reshape(-1, 4)).reshape(8, 300)
    assert (s[:, 1:] - s[:, :-1]).min() > -1e-12


def test_kinetics_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        g.MassActionKinetics([1.0, -1.0])
    with pytest.raises(ValueError, match="non-zero"):
        g.MassActionKinetics([[1.0, 0.0], [-1.0, 0.0]])
    system = g.MassActionKinetics.thesis_example()
    with pytest.raises(ValueError, match="strictly positive"):
        system.entropy(torch.tensor([[0.5, 0.0, 0.2, 0.1]]))
    with pytest.raises(ValueError, match="strictly positive"):
        system.conjugate(torch.tensor([[0.5, -0.1, 0.2, 0.1]]))
    with pytest.raises(ValueError, match=r"shape \(batch, 4\)"):
        system.velocity(torch.rand(3, 3))


@pytest.mark.parametrize("form", ["quadratic", "boltzmann"])
def test_diffusion_potentials_reproduce_discrete_laplacian(form):
    system = g.FickianDiffusion(points=32, D=3e-3, entropy=form)
    c = g.fourier_modes(6, 32, seed=3) + 0.5  # positive
    h = 1 / 32
    lap = (torch.roll(c, -1, -1) - 2 * c + torch.roll(c, 1, -1)) / h**2
    assert torch.allclose(system.velocity(c), 3e-3 * lap, atol=1e-12)
    assert torch.allclose(system.ggd_velocity(c), 3e-3 * lap, rtol=1e-7, atol=1e-9)


def test_diffusion_conserves_mass_and_boltzmann_needs_positive():
    system = g.FickianDiffusion()
    traj = g.simulate(system, g.fourier_modes(3, 64, seed=0), 0.03, 20)
    mass = traj.sum(-1)
    assert torch.allclose(mass, mass[:, :1].expand_as(mass), atol=1e-12)
    with pytest.raises(ValueError, match="strictly positive"):
        g.FickianDiffusion(entropy="boltzmann").entropy(-torch.ones(1, 64))
    with pytest.raises(ValueError, match="entropy"):
        g.FickianDiffusion(entropy="gibbs")


def test_porous_medium_diffusion_is_an_exact_discrete_ggd_that_keeps_mass_and_positivity():
    system = g.PorousMediumDiffusion(points=32, D=3e-3)
    c = 1.0 + 0.8 * g.fourier_modes(6, 32, seed=3) / g.fourier_modes(6, 32, seed=3).abs().amax(-1, keepdim=True)
    h = 1 / 32
    expected = 0.5 * 3e-3 * (torch.roll(c, -1, -1) ** 2 - 2 * c**2 + torch.roll(c, 1, -1) ** 2) / h**2
    assert torch.allclose(system.velocity(c), expected, atol=1e-12)
    assert torch.allclose(system.ggd_velocity(c), expected, rtol=1e-7, atol=1e-9)
    # genuinely nonlinear: doubling c quadruples the velocity, unlike linear diffusion
    assert torch.allclose(system.velocity(2 * c), 4 * system.velocity(c), atol=1e-12)
    traj = g.simulate(system, c, 0.03, 64)
    mass = traj.sum(-1)
    assert (mass - mass[:, :1]).abs().max() < 1e-12
    assert traj.min() > 0
    entropy = system.entropy(traj.reshape(-1, 32)).reshape(6, -1)
    assert (entropy.diff(dim=1) >= -1e-12).all()  # the second law along the discrete trajectories


def test_overdamped_particle():
    system = g.OverdampedParticle(3, gamma=2.0)
    x = torch.randn(5, 3)
    assert torch.allclose(system.velocity(x), -2 * x)
    assert torch.allclose(system.ggd_velocity(x), -2 * x)
    with pytest.raises(ValueError, match="gamma"):
        g.OverdampedParticle(1, gamma=0.0)


def test_heat_exchange_is_the_ggd_of_its_stated_potentials_and_conserves_energy():
    from ggd_tutorial.book import experiments as ex

    C = torch.tensor(ex.HEAT_CAPACITY)
    U = C * (0.5 + 1.5 * torch.rand(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64))

    def dissipation(U, U_star):
        T = U / C
        return sum(
            0.5 * k * (T[:, i] * T[:, j]) ** 1.5 * (U_star[:, i] - U_star[:, j]) ** 2
            for (i, j), k in ex.CONDUCTANCE.items()
        )

    model = g.GradientDynamicsModel(3, entropy=ex.heat_exchange_entropy, dissipation=dissipation)
    assert torch.allclose(model(U), ex.heat_exchange(U), atol=1e-12)
    assert float(ex.heat_exchange(U).sum(-1).abs().max()) < 1e-12
    traj, dt = ex.heat_exchange_trajectories(n=4, steps=50)
    S = ex.heat_exchange_entropy(traj.reshape(-1, 3)).reshape(traj.shape[:2])
    assert float(S.diff(dim=1).min()) > 0


def test_integer_conservation_laws_of_the_thesis_network_are_not_atom_balances():
    system = g.MassActionKinetics.thesis_example()
    laws = system.conservation_laws(integer=True)
    assert laws.tolist() == [[1, 0, 1, 0], [0, 1, 2, -2]]
    assert system.describe_conservation_laws() == ["A + C", "B + 2C - 2D"]
    assert (laws.double() @ system.nu).abs().max() == 0
    # no positive conservation law: the two reactions together are 2B + D -> 0
    assert system.nu.sum(1).tolist() == [0.0, -2.0, 0.0, -1.0]
    cycle = g.MassActionKinetics([[-1, 0, 1], [1, -1, 0], [0, 1, -1]], species=["A", "B", "C"])
    assert cycle.describe_conservation_laws() == ["A + B + C"]


def test_species_on_both_sides_need_reactants_and_products():
    """A + B <-> 2B has the nu of A <-> B; with its orders given, the cosh form is mass action again."""
    auto = g.MassActionKinetics([[-1], [1]], reactants=[[1], [1]], products=[[0], [2]], species=["A", "B"])
    plain = g.MassActionKinetics([[-1], [1]], species=["A", "B"])
    c = g.uniform_box(50, 2, 0.05, 1.0, seed=0)
    kf, kb = auto.rate_constants
    mass_action = (kf * c[:, 0] * c[:, 1] - kb * c[:, 1] ** 2)[:, None] * torch.tensor([[-1.0, 1.0]], dtype=c.dtype)
    assert torch.allclose(auto.velocity(c), mass_action)
    assert torch.allclose(auto.ggd_velocity(c), mass_action)
    assert not torch.allclose(plain.velocity(c), mass_action)
    with pytest.raises(ValueError, match="products - reactants"):
        g.MassActionKinetics([[-1], [1]], reactants=[[1], [0]], products=[[0], [2]])
    with pytest.raises(ValueError, match="both"):
        g.MassActionKinetics([[-1], [1]], reactants=[[1], [1]])


def test_rate_constants_satisfy_wegscheider_for_any_parameters():
    gen = torch.Generator().manual_seed(0)
    nu = torch.tensor([[-1.0, 0.0, 1.0], [1.0, -1.0, 0.0], [0.0, 1.0, -1.0]], dtype=torch.float64)
    for _ in range(5):
        Q = torch.randn(3, generator=gen, dtype=torch.float64)
        W0 = torch.rand(3, generator=gen, dtype=torch.float64) + 0.1
        kf, kb = g.MassActionKinetics(nu, W0=W0, Q=Q).rate_constants
        assert abs(float(torch.log(kf / kb).sum())) < 1e-12  # around the cycle the product of K's is 1


def test_reaction_cycle_conserves_the_total_and_breaks_detailed_balance_exactly_when_driven():
    from ggd_tutorial.systems import ReactionCycle

    c = torch.rand(16, 3, dtype=torch.float64) + 0.1
    for affinity in (0.0, 3.0, 9.0):
        cycle = ReactionCycle.driven(affinity)
        assert cycle.affinity == pytest.approx(affinity, abs=1e-12)
        v = cycle(c)
        assert torch.allclose(v, cycle.reaction_rates(c) @ cycle.nu.T, atol=1e-14)  # xdot = nu r
        assert float(v.sum(-1).abs().max()) < 1e-14  # total conserved
        ss = cycle.steady_state(total=2.0)
        assert float(ss.sum()) == pytest.approx(2.0) and float(cycle(ss[None]).abs().max()) < 1e-13
        J = cycle.reaction_rates(ss[None])[0]
        assert torch.allclose(J, J[0].expand(3), atol=1e-13)  # one flux J around the cycle
        if affinity == 0:
            assert float(J.abs().max()) < 1e-13  # detailed balance: every reaction at rest
        else:
            assert float(J.min()) > 1e-3  # a circulating flux, forever
    kf, kb = 1.0, math.exp(-9.0 / 3)
    values = torch.linalg.eigvals(ReactionCycle.driven(9.0).matrix)
    values = values[values.abs().argsort()[1:]]
    expected = complex(-1.5 * (kf + kb), math.sqrt(3) / 2 * (kf - kb))
    assert all(min(abs(complex(v) - e) for e in (expected, expected.conjugate())) < 1e-12 for v in values)


def test_reaction_cycle_bad_input():
    from ggd_tutorial.systems import ReactionCycle

    with pytest.raises(ValueError, match="three"):
        ReactionCycle((1.0, 1.0), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="positive"):
        ReactionCycle((1.0, 0.0, 1.0), (1.0, 1.0, 1.0))
