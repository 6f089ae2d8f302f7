"""Different (S, Xi) pairs for one ODE, and GGD pairs for flows the book's trained models miss.

* mass action: the cosh potential (large deviations) and the quadratic one with the log-mean
  mobility (Maas 2011, Mielke 2011) give the same velocity, but are different potentials;
* the porous-medium equation: the Boltzmann entropy with the mobility D Lambda (c_i + c_{i+1}) / 2,
  and the quadratic entropy with D (c_i + c_{i+1}) / 2 (Otto's Wasserstein structure); the
  diffusivity D(c) = -s'' * mobility is the same, s and xi are not;
* a driven reaction cycle with a real spectrum is an exact linear GGD;
* a smooth rank-one GGD follows the damped oscillator and the driven cycle (complex spectra) away
  from the rest point, and has a real (zero) linearization at it.
"""

import pytest
import torch

import ggd_tutorial as g
from ggd_tutorial.book.experiments import CYCLE
from ggd_tutorial.systems import MassActionKinetics, PorousMediumDiffusion, ReactionCycle, damped_oscillator


def ggd(entropy, dissipation, dim):
    return g.GradientDynamicsModel(dim, entropy=entropy, dissipation=dissipation)


def relative_error(a, b):
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("W0,Q", [(4.0, -1.0), ([2.0, 7.0], [-0.3, 0.5, -1.2, 0.1])])
def test_cosh_and_log_mean_structures_give_one_mass_action_ode(W0, Q):
    system = MassActionKinetics.thesis_example(W0=W0, Q=Q)
    nu = system.nu
    c = g.uniform_box(500, 4, 0.05, 2.0, seed=3).double()

    def log_mean_quadratic(x, y):  # Maas / Mielke: 1/2 sum_n L_n(c) (nu_n . y)^2
        return 0.5 * (system.mobility(x) * (y @ nu) ** 2).sum(-1)

    cosh_model = ggd(system.entropy, system.dissipation, 4)
    quadratic_model = ggd(system.entropy, log_mean_quadratic, 4)
    exact = system.velocity(c)
    assert relative_error(cosh_model(c).detach(), exact) < 1e-12
    assert relative_error(quadratic_model(c).detach(), exact) < 1e-12
    # one ODE: the trajectories coincide too
    c0 = c[:8]
    a = g.rollout(cosh_model, c0, 0.01, 100)
    b = g.rollout(quadratic_model, c0, 0.01, 100)
    assert relative_error(a, b) < 1e-12
    # ... but two different potentials: they differ away from x* = dS/dc
    y = 3 * system.conjugate(c)
    ratio = system.dissipation(c, y) / log_mean_quadratic(c, y)
    assert float((ratio - 1).abs().max()) > 0.1


def test_two_exact_discrete_structures_for_the_porous_medium_equation():
    system = PorousMediumDiffusion(points=32, D=3e-3)
    x = system.grid
    c = torch.stack([1 + 0.5 * torch.sin(2 * torch.pi * k * x + k) for k in (1, 2, 3)]).double()

    def wasserstein(c, y):  # quadratic entropy, edge mobility D (c_i + c_{i+1}) / 2
        mobility = system.D * 0.5 * (c + torch.roll(c, -1, -1))
        return (mobility * (torch.roll(y, -1, -1) - y) ** 2).sum(-1) / (2 * system.h**2)

    boltzmann = ggd(system.entropy, system.dissipation, system.dim)
    quadratic = ggd(lambda c: -0.5 * (c**2).sum(-1), wasserstein, system.dim)
    exact = system.velocity(c)  # (D / 2) Laplacian_h(c^2)
    assert relative_error(boltzmann(c).detach(), exact) < 1e-12
    assert relative_error(quadratic(c).detach(), exact) < 1e-12
    # the diffusivity D(c) = -s''(c) * mobility density is the same, D c, for both pairs
    c0 = torch.tensor([0.3, 1.0, 2.5], dtype=torch.float64)
    boltzmann_diffusivity = (1 / c0) * (system.D * c0**2)  # s = -c ln c, mobility D c^2
    quadratic_diffusivity = 1.0 * (system.D * c0)  # s = -c^2 / 2, mobility D c
    assert torch.allclose(boltzmann_diffusivity, system.D * c0)
    assert torch.allclose(quadratic_diffusivity, system.D * c0)
    # ... from different potentials: the two entropies' conjugates are not proportional
    ratio = (boltzmann.conjugate(c) / quadratic.conjugate(c)).detach()
    assert float(ratio.std()) > 0.1


def test_driven_cycle_with_a_real_spectrum_is_an_exact_linear_ggd():
    cycle = ReactionCycle((10.0, 1.0, 1.0), (1.0, 1.0, 0.05))
    assert cycle.affinity > 5  # driven: no detailed balance
    K = cycle.matrix
    eigenvalues, vectors = torch.linalg.eig(K)
    assert float(eigenvalues.imag.abs().max()) < 1e-12  # a real spectrum
    keep = eigenvalues.real.abs() > 1e-9
    V, lam = vectors.real[:, keep], eigenvalues.real[keep]  # the two relaxing modes, in sum(c) = 0
    M = -V @ torch.diag(lam) @ V.T  # symmetric positive semi-definite, range = range nu
    assert float(torch.linalg.eigvalsh(M).min()) > -1e-12
    G = torch.linalg.pinv(V @ V.T)
    ones = torch.ones(3, dtype=torch.float64)
    steady = cycle.steady_state(1.0)
    pi = steady / steady.sum()
    project = torch.eye(3, dtype=torch.float64) - torch.outer(pi, ones)  # c -> c - (1.c) pi

    def entropy(c):  # quadratic, maximal at the steady state of each total
        d = c @ project.T
        return -0.5 * ((d @ G) * d).sum(-1) - 0.5 * (c @ ones) ** 2

    nu = cycle.nu
    A = torch.linalg.pinv(nu) @ M @ torch.linalg.pinv(nu).T  # M = nu A nu^T: Xi sees y only through nu^T y
    assert torch.allclose(nu @ A @ nu.T, M, atol=1e-12)
    assert float(torch.linalg.eigvalsh(0.5 * (A + A.T)).min()) > -1e-12

    model = ggd(entropy, lambda c, y: 0.5 * (((y @ nu) @ A) * (y @ nu)).sum(-1), 3)
    c = g.uniform_box(400, 3, 0.05, 1.0, seed=2).double()
    assert relative_error(model(c).detach(), cycle.velocity(c)) < 1e-12  # measured 7e-16


def lyapunov(A):
    """P with A^T P + P A = -I."""
    n = A.shape[0]
    eye = torch.eye(n, dtype=A.dtype)
    At = A.T.contiguous()
    return torch.linalg.solve(torch.kron(eye, At) + torch.kron(At, eye), -eye.reshape(-1)).reshape(n, n)


def test_smooth_rank_one_ggd_follows_the_damped_oscillator():
    A = torch.tensor([[0.0, 1.0], [-1.0, -0.2]], dtype=torch.float64)
    P = lyapunov(A)
    assert torch.allclose(A.T @ P + P @ A, -torch.eye(2, dtype=torch.float64))
    traj = g.simulate(damped_oscillator, g.uniform_box(64, 2, -1, 1, seed=1).double(), 0.05, 200)
    states = g.TrajectoryData(traj, 0.05, seed=1).test.states.reshape(-1, 2)  # the negative control's test set
    exact = damped_oscillator(states)
    errors = {}
    for delta in (0.0, 1e-4, 1e-2):

        def Xi(x, y, delta=delta):
            return (damped_oscillator(x) * y).sum(-1) ** 2 / (2 * (0.5 * (x**2).sum(-1) + delta))

        model = ggd(lambda x: -0.5 * ((x @ P) * x).sum(-1), Xi, 2)
        errors[delta] = float((model(states).detach() - exact).pow(2).mean() / exact.pow(2).mean())
        if delta > 0:
            assert float(g.metrics.linearization(model, torch.zeros(2, dtype=torch.float64)).abs().max()) < 1e-12
            assert float(model.entropy_production(states).detach().min()) > 0
    # measured: 2.8e-31, 5.5e-6, 9.4e-3
    assert errors[0.0] < 1e-25
    assert errors[1e-4] < 2e-5
    assert errors[1e-2] < 2e-2


def test_smooth_rank_one_ggd_follows_the_driven_cycle():
    cycle = ReactionCycle.driven(9.0)
    K = cycle.matrix
    assert float(torch.linalg.eigvals(K).imag.abs().max()) > 0.1  # complex spectrum at the steady state
    ones = torch.ones(3, dtype=torch.float64)
    steady = cycle.steady_state(1.0)
    pi = steady / steady.sum()
    project = torch.eye(3, dtype=torch.float64) - torch.outer(pi, ones)
    basis = torch.linalg.svd(torch.eye(3, dtype=torch.float64) - torch.outer(ones, ones) / 3).U[:, :2]  # sum = 0
    P2 = lyapunov(basis.T @ K @ basis)

    def entropy(c):
        z = c @ project.T @ basis
        return -0.5 * ((z @ P2) * z).sum(-1) - 0.5 * (c @ ones) ** 2

    def Xi(c, y, delta=1e-6):
        z = c @ project.T @ basis
        return (cycle.velocity(c) * y).sum(-1) ** 2 / (2 * (0.5 * (z**2).sum(-1) + delta))

    model = ggd(entropy, Xi, 3)
    c0 = g.uniform_box(CYCLE["n"], 3, 0.05, 1.0, seed=1).double()
    data = g.TrajectoryData(g.simulate(cycle, c0, CYCLE["dt"], CYCLE["steps"]), CYCLE["dt"], seed=1)
    states = data.test.states.reshape(-1, 3)  # the kinetics chapter's cycle test set
    exact = cycle.velocity(states)
    relative = float((model(states).detach() - exact).pow(2).mean() / exact.pow(2).mean())
    assert relative < 2e-5  # measured 4.2e-6
    assert float(model.entropy_production(states).detach().min()) >= 0


def test_affinity_sign_convention_of_the_notation_page():
    """X_n = nu_n . c* is positive when reaction n runs forward, J_n = dXi/dX_n is the net forward
    rate (c_dot = nu J), and L_n = J_n / X_n >= 0 is the mobility (A <-> B at c = (0.8, 0.2))."""
    system = MassActionKinetics([[-1.0], [1.0]])
    c = torch.tensor([[0.8, 0.2]], dtype=torch.float64)
    X = (system.conjugate(c) @ system.nu)[0, 0]
    forward_rate = system.velocity(c)[0, 1]  # k_f c_A - k_b c_B with k_f = k_b = 1
    assert abs(float(X) - float(torch.log(torch.tensor(4.0)))) < 1e-12 and abs(float(forward_rate) - 0.6) < 1e-12
    affinity = X.clone().requires_grad_(True)
    weight = 4.0 * torch.sqrt(c.prod())
    (J,) = torch.autograd.grad(weight * (torch.cosh(affinity / 2) - 1), affinity)  # Xi as a function of X_n
    assert abs(float(J) - float(forward_rate)) < 1e-12
    assert abs(float(J / X) - float(system.mobility(c)[0, 0])) < 1e-12 and float(J / X) > 0


def test_rest_point_spectrum_separates_the_oscillator_from_a_smooth_ggd():
    """The local test of the class: complex at the oscillator's rest point, from the field and from
    a local linear fit of its data; real for a GGD network and for the smooth rank-one GGD."""
    expected = torch.tensor([-0.1 - 0.99499j, -0.1 + 0.99499j], dtype=torch.complex128)
    zero = torch.zeros(2, dtype=torch.float64)
    from_field = g.metrics.rest_point_spectrum(damped_oscillator, zero)
    assert torch.allclose(from_field, expected, atol=1e-4)
    assert torch.allclose(from_field.real, expected.real, atol=1e-12)
    traj = g.simulate(damped_oscillator, g.uniform_box(64, 2, -1, 1, seed=1).double(), 0.05, 200)
    data = g.TrajectoryData(traj, 0.05, seed=1)
    from_data = g.metrics.rest_point_spectrum((data.train.states, data.train.velocities), zero, neighbours=64)
    assert float((from_data - from_field).abs().max()) < 2e-3  # measured 4e-4 (central differences at dt = 0.05)
    torch.manual_seed(0)
    net = g.GradientDynamicsModel(2, hidden=(8, 8)).double()
    rest = g.metrics.entropy_maximum(net, zero)
    assert float(g.metrics.rest_point_spectrum(net, rest).imag.abs().max()) < 1e-8
    with pytest.raises(ValueError, match="neighbours"):
        g.metrics.rest_point_spectrum((data.train.states, data.train.velocities), zero, neighbours=2)


def test_fenchel_young_gap_is_zero_on_the_model_and_positive_off_it():
    particle = g.OverdampedParticle(dim=2, gamma=1.0)
    x = g.uniform_box(200, 2, -1, 1, seed=0).double()
    x_star = particle.conjugate(x)
    own = g.metrics.fenchel_young_gap(particle, x, particle.velocity(x))
    assert float(own.abs().max()) < 1e-12
    other = 2.0 * x_star  # the velocity of gamma = 2: the gap is |v - gamma x*|^2 / (2 gamma)
    gap = g.metrics.fenchel_young_gap(particle, x, other)
    assert torch.allclose(gap, ((other - x_star) ** 2).sum(-1) / 2, atol=1e-10)
    # a GGD network at random weights: zero at its own velocity, non-negative at a perturbed one
    torch.manual_seed(0)
    net = g.GradientDynamicsModel(2, hidden=(8, 8)).double()
    v = net(x).detach()
    assert float(g.metrics.fenchel_young_gap(net, x, v).max()) < 1e-8
    perturbed = g.metrics.fenchel_young_gap(net, x, v + 0.1 * torch.randn_like(v))
    assert float(perturbed.min()) >= 0 and float(perturbed.mean()) > 1e-4


def test_single_generator_form_represents_the_damped_oscillator():
    """xdot = L dS/dx + dXi/dx* with S = -|x|^2 / 2, L antisymmetric and Xi = 0.1 p*^2 (structure chapter)."""
    L = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)
    x = g.uniform_box(100, 2, -1, 1, seed=4).double()
    x_star = -x
    velocity = x_star @ L.T + torch.stack([torch.zeros(len(x), dtype=x.dtype), 0.2 * x_star[:, 1]], 1)
    assert torch.allclose(velocity, damped_oscillator(x), atol=1e-15)
    assert torch.allclose(L, -L.T) and float((x_star * velocity).sum(-1).min()) >= 0  # dS/dt = x* . dXi/dx*
