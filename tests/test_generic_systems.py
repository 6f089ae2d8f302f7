"""The GENERIC ground-truth systems: exact energy conservation, the second law, the two
degeneracies, and agreement of the directly coded velocity with the assembled GENERIC form."""

import pytest
import torch

from ggd_tutorial.data import simulate
from ggd_tutorial.systems import DampedOscillatorBath, GasPiston


def oscillator_states(n=256, seed=0):
    gen = torch.Generator().manual_seed(seed)
    qp = 2 * torch.rand(n, 2, generator=gen, dtype=torch.float64) - 1
    e = 0.2 + torch.rand(n, 1, generator=gen, dtype=torch.float64)
    return torch.cat([qp, e], dim=1)


def piston_states(n=256, seed=0):
    gen = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 4, generator=gen, dtype=torch.float64)
    return torch.stack([0.5 + u[:, 0], u[:, 1] - 0.5, 0.5 + u[:, 2], 0.5 + u[:, 3]], dim=1)


SYSTEMS = {
    "oscillator-bath": (DampedOscillatorBath(gamma=0.5, heat_capacity=1.0), oscillator_states),
    "oscillator-bath-stiff": (DampedOscillatorBath(gamma=1.5, heat_capacity=0.5), oscillator_states),
    "gas-piston": (GasPiston(), piston_states),
}


@pytest.fixture(params=list(SYSTEMS))
def case(request):
    system, states = SYSTEMS[request.param]
    return system, states()


def test_generic_form_reproduces_the_velocity(case):
    system, x = case
    torch.testing.assert_close(system.generic_velocity(x), system.velocity(x), rtol=1e-12, atol=1e-12)


def test_closed_form_gradients_match_autograd(case):
    system, x = case
    torch.testing.assert_close(system.conjugate(x), system._gradient(system.entropy, x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(system.energy_gradient(x), system._gradient(system.energy, x), rtol=1e-12, atol=1e-12)


def test_energy_is_conserved_by_the_true_field(case):
    system, x = case
    rate = (system.energy_gradient(x) * system.velocity(x)).sum(-1)
    assert rate.abs().max() < 1e-13


def test_entropy_production_is_non_negative_and_zero_only_at_rest(case):
    system, x = case
    production = system.entropy_production(x)
    assert production.min() >= 0
    assert production.max() > 1e-3
    rest = system.rest_state(x)
    assert system.entropy_production(rest).abs().max() < 1e-13
    assert system.velocity(rest).abs().max() < 1e-13


def test_poisson_matrix_is_antisymmetric_and_entropy_is_a_casimir(case):
    system, x = case
    L = system.poisson(x)
    torch.testing.assert_close(L, -L.transpose(-1, -2), rtol=0, atol=0)
    assert (L @ system.conjugate(x)[..., None]).abs().max() < 1e-13  # degeneracy (i): L dS/dx = 0


def test_dissipation_is_blind_to_the_energy_gradient(case):
    """Degeneracy (ii): Xi(x, x* + lambda dE/dx) = Xi(x, x*) for all x*, so dE/dx . dXi/dx* = 0."""
    system, x = case
    gen = torch.Generator().manual_seed(3)
    y = torch.randn(x.shape, generator=gen, dtype=x.dtype)
    dE = system.energy_gradient(x)
    for lam in (-1.0, 0.3, 2.0):
        torch.testing.assert_close(
            system.dissipation(x, y + lam * dE), system.dissipation(x, y), rtol=1e-11, atol=1e-12
        )
    assert (dE * system.dissipation_gradient(x, y)).sum(-1).abs().max() < 1e-11


def test_dissipation_is_convex_and_vanishes_with_its_slope_at_zero(case):
    system, x = case
    zero = torch.zeros_like(x)
    assert system.dissipation(x, zero).abs().max() == 0
    assert system.dissipation_gradient(x, zero).abs().max() == 0
    gen = torch.Generator().manual_seed(4)
    a, b = (torch.randn(x.shape, generator=gen, dtype=x.dtype) for _ in range(2))
    for t in (0.25, 0.5, 0.75):
        mid = system.dissipation(x, t * a + (1 - t) * b)
        assert torch.all(mid <= t * system.dissipation(x, a) + (1 - t) * system.dissipation(x, b) + 1e-12)


def test_trajectories_conserve_energy_raise_entropy_and_reach_the_rest_state(case):
    system, x = case
    x0 = x[:16]
    traj = simulate(system, x0, dt=0.02, steps=3001)
    energy = system.energy(traj.reshape(-1, system.dim)).reshape(traj.shape[:2])
    entropy = system.entropy(traj.reshape(-1, system.dim)).reshape(traj.shape[:2])
    assert (energy - energy[:, :1]).abs().max() < 1e-7  # RK4 error only
    assert entropy.diff(dim=1).min() > -1e-9
    torch.testing.assert_close(traj[:, -1], system.rest_state(x0), rtol=0, atol=2e-3)


def test_oscillator_nonlinear_friction_and_rest_spectrum():
    system = DampedOscillatorBath(gamma=0.5, heat_capacity=1.0)
    x = torch.tensor([[0.0, 0.8, 0.4], [0.0, 1e-4, 0.4]])
    friction = -(system.velocity(x)[:, 1] + x[:, 0])
    ratio = friction / (system.gamma * x[:, 1])
    assert ratio[0] > 1.5 and abs(ratio[1] - 1) < 1e-6  # sinh(p/T): linear only for |p| << T
    rest = torch.tensor([[0.0, 0.0, 0.7]])
    jac = torch.autograd.functional.jacobian(lambda z: system.velocity(z[None])[0], rest[0])
    eig = torch.linalg.eigvals(jac)
    eig = eig[torch.argsort(eig.real, stable=True)]
    expected = system.rest_spectrum()
    assert torch.allclose(eig.real.sort().values, expected.real.sort().values.to(eig.real), atol=1e-12)
    assert torch.allclose(eig.imag.abs().sort().values, expected.imag.abs().sort().values.to(eig.real), atol=1e-12)
    assert expected.imag.abs().max() > 0.9


def test_piston_poisson_matrix_satisfies_jacobi():
    """L is the canonical matrix of (q, p) pushed to (q, p, e1, e2): Jacobi holds,
    L_il d_l L_jk + L_jl d_l L_ki + L_kl d_l L_ij = 0."""
    system = GasPiston()
    x = piston_states(8)
    L = system.poisson(x)
    dL = torch.stack(
        [torch.autograd.functional.jacobian(lambda z: system.poisson(z[None])[0], point) for point in x]
    )  # (batch, i, j, l) = d_l L_ij
    cyclic = (
        torch.einsum("bil,bjkl->bijk", L, dL)
        + torch.einsum("bjl,bkil->bijk", L, dL)
        + torch.einsum("bkl,bijl->bijk", L, dL)
    )
    assert cyclic.abs().max() < 1e-12


def test_invalid_states_and_parameters_are_refused():
    with pytest.raises(ValueError, match="positive"):
        DampedOscillatorBath(gamma=0)
    with pytest.raises(ValueError, match="bath energy"):
        DampedOscillatorBath().velocity(torch.tensor([[0.0, 0.0, -1.0]]))
    with pytest.raises(ValueError, match="0 < q"):
        GasPiston().velocity(torch.tensor([[2.5, 0.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        GasPiston().velocity(torch.ones(3, 3))


def test_generic_chapter_levels_keep_their_margin_over_the_study():
    """Every level asserted by the chapter "Reversible and irreversible: GENERIC" is at least twice the
    worst run of benchmarks/generic.py (upper bounds) or at most half of it (lower bounds)."""
    import json
    from pathlib import Path

    from ggd_tutorial.book import generic as gb

    raw = Path(__file__).resolve().parents[1] / "benchmarks" / "generic.jsonl"
    runs = [json.loads(line) for line in raw.read_text().splitlines() if line.strip()]
    assert {(r["seed"], r["threads"]) for r in runs} >= {(s, t) for s in range(5) for t in (1, 2)}
    for key, level in gb.LEVELS.items():
        values = [float(r["values"][key]) for r in runs]
        if level.sense == "<=":
            assert level.bound >= 2 * max(values), (key, max(values), level.bound)
        else:
            assert level.bound <= min(values) / 2, (key, min(values), level.bound)
