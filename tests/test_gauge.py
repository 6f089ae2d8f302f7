import torch

import ggd_tutorial as g


def test_gauge_recovers_known_scale_shift_for_overdamped():
    system = g.OverdampedParticle(2, gamma=1.5)
    C, K = 3.0, 0.7
    model = g.GradientDynamicsModel(
        2, entropy=lambda x: system.entropy(x) / C + K, dissipation=lambda x, y: system.dissipation(x, C * y) / C
    )
    states = g.uniform_box(200, 2, -1, 1, seed=0)
    fit = g.fix_gauge(model, system, states, fit_scale=True)
    assert abs(fit.scale - C) < 1e-10
    assert abs(fit.shift + C * K) < 1e-9
    assert fit.entropy_error < 1e-10 and fit.dissipation_error < 1e-10


def test_gauge_recovers_q_for_kinetics_and_reports_errors():
    system = g.MassActionKinetics.thesis_example()
    q = 0.8 * system.conservation_laws()[1]
    model = g.GradientDynamicsModel(
        4, entropy=lambda c: system.entropy(c) + c @ q + 2.0, dissipation=system.dissipation
    )
    states = g.uniform_box(300, 4, 0.01, 1.0, seed=1)
    fit = g.fix_gauge(model, system, states, fit_scale=False)
    assert torch.allclose(fit.linear, q, atol=1e-10)
    assert fit.entropy_error < 1e-10
    # a potential outside the gauge orbit gives a clearly non-zero error
    wrong = g.GradientDynamicsModel(4, entropy=lambda c: -0.5 * (c**2).sum(-1), dissipation=system.dissipation)
    assert g.fix_gauge(wrong, system, states, fit_scale=False).entropy_error > 0.05


def test_monotone_reparameterization_is_a_gauge_and_rank_correlation_sees_it():
    system = g.OverdampedParticle(2)
    phi = lambda s: -torch.exp(-s)  # increasing; S' = -exp(|x|^2/2) stays concave
    dphi = lambda s: torch.exp(-s)
    model = g.GradientDynamicsModel(
        2,
        entropy=lambda x: phi(system.entropy(x)),
        dissipation=lambda x, y: dphi(system.entropy(x)) * system.dissipation(x, y / dphi(system.entropy(x))[:, None]),
    )
    x = g.uniform_box(300, 2, -1, 1, seed=2)
    assert torch.allclose(model(x), system.velocity(x), atol=1e-10)
    fit = g.fix_gauge(model, system, x, fit_scale=True)
    assert fit.entropy_rank_correlation > 0.999
    assert fit.entropy_error > 0.01  # not a mere scale and shift
