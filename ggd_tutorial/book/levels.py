r"""The levels the book asserts, and the measurements they bound.

Training amplifies round-off: another CPU, thread count, BLAS build or GPU, or another seed,
gives another trained model. A level asserted in a chapter therefore has to hold for *every*
such run, not for the one on the author's machine. ``benchmarks/robustness.py`` re-trains
every experiment over seeds and thread counts and records each quantity below;
``benchmarks/robustness.md`` holds the minimum, median and maximum over the runs, and a test
checks that every level here keeps a margin of :data:`MARGIN` from the worst run:

* an upper level ``"<="`` (an error) must be at least ``MARGIN`` times the worst run;
* a lower level ``">="`` (e.g. "the data do not fix the values of Xi") at most the worst run
  divided by ``MARGIN``.

:func:`measure` computes the quantities of a trained :class:`~ggd_tutorial.book.experiments.Result`
exactly as the chapters do; :func:`check` is the assert the chapters use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..equilibria import compare_equilibria, conserved_subspace, model_projection, principal_angles
from .experiments import FIELD_EXPERIMENTS, grid_transfer, mass_drift, train_local_baseline
from ..gauge import fix_gauge
from ..metrics import (
    extrapolation_share,
    mobility_error,
    predict_trajectories,
    rollout_mse,
    true_entropy_rate,
    velocity_mse,
)

#: Factor between an asserted level and the worst run of the robustness study.
MARGIN = 2.0


@dataclass(frozen=True)
class Level:
    """An asserted bound: ``value <= bound`` (``"<="``) or ``value >= bound`` (``">="``)."""

    sense: str
    bound: float
    what: str

    def holds(self, value: float) -> bool:
        return value <= self.bound if self.sense == "<=" else value >= self.bound


def _up(bound: float, what: str) -> Level:
    return Level("<=", bound, what)


def _low(bound: float, what: str) -> Level:
    return Level(">=", bound, what)


#: Every level a chapter asserts about a trained model (key: "experiment.quantity").
LEVELS: dict[str, Level] = {
    "overdamped-1d.test_mse": _up(2e-7, "test velocity MSE"),
    "overdamped-1d.S_rank_deficit": _up(0.02, "1 - rank correlation of learned and true S"),
    "overdamped-2d.test_mse": _up(3e-7, "test velocity MSE"),
    "overdamped-2d.rollout_mse": _up(1e-7, "rollout MSE over all test trajectories"),
    "overdamped-2d.S_rank_deficit": _up(0.25, "1 - rank correlation of learned and true S"),
    "kinetics-prescribed-S.test_mse": _up(6e-6, "test velocity MSE (stoichiometry given, one channel per reaction)"),
    "kinetics-prescribed-S.rollout_mse": _up(2e-5, "rollout MSE over all test trajectories"),
    "kinetics-prescribed-S.Xi_error": _low(0.1, "relative error of the values of Xi (not fixed by data)"),
    "kinetics-prescribed-S.equilibrium_error": _up(1e-7, "worst RMS distance of model and true equilibria"),
    "kinetics-prescribed-S-mobility.test_mse": _up(
        3e-7, "test velocity MSE with a learned mobility of ln c per reaction (below a fiftieth of the thesis value)"
    ),
    "kinetics-prescribed-S-mobility.rollout_mse": _up(2e-7, "rollout MSE over all test trajectories, mobility prior"),
    "kinetics-prescribed-S-mobility.mobility_error": _up(5e-3, "median relative error of the learned mobility"),
    "kinetics-prescribed-S-mobility.equilibrium_error": _up(
        1e-9, "worst RMS distance of model and true equilibria, mobility prior"
    ),
    "kinetics-prescribed-S-mobility.extrapolation_share": _low(
        0.25, "share of the test MSE from the 2 of 26 test trajectories starting outside the training range"
    ),
    "kinetics-prescribed-Xi.equilibrium_error": _up(0.1, "worst RMS distance of model and true equilibria"),
    "kinetics-prescribed-Xi.test_mse": _up(1e-4, "test velocity MSE"),
    "kinetics-prescribed-Xi.rollout_mse": _up(4e-5, "rollout MSE over all test trajectories"),
    "kinetics-prescribed-S.extrapolation_share": _low(
        0.05, "share of the test MSE from the 2 of 26 test trajectories starting outside the training range"
    ),
    "kinetics-prescribed-Xi-mixing.test_mse": _up(
        7e-7, "test velocity MSE with the ideal-mixing prior (a hundredth of the thesis value)"
    ),
    "kinetics-prescribed-Xi-mixing.S_error": _up(0.02, "relative error of S after gauge fixing, mixing prior"),
    "kinetics-prescribed-Xi-mixing.equilibrium_error": _up(
        2e-3, "worst RMS distance of model and true equilibria, mixing prior"
    ),
    "kinetics-free.test_mse": _up(5e-4, "test velocity MSE"),
    "kinetics-free.median_trajectory_mse": _up(4e-4, "median per-trajectory test MSE"),
    "kinetics-free.rollout_mse": _up(2e-3, "rollout MSE over all test trajectories"),
    "kinetics-free.S_error": _low(0.04, "relative error of S after gauge fixing (another valid S)"),
    "kinetics-free.true_entropy_decrease": _up(3e-4, "largest decrease rate of the true entropy"),
    "kinetics-free.conserved_angle": _up(0.01, "largest angle between learned and true conserved subspaces (rad)"),
    "kinetics-free-priors.test_mse": _up(
        1e-6,
        "test velocity MSE, both learned with the mixing entropy and the "
        "mobility of ln c (a twentieth of the thesis value)",
    ),
    "kinetics-free-priors.S_error": _up(0.1, "relative error of S after gauge fixing, both priors"),
    "kinetics-free-priors.conserved_angle": _up(
        1e-3, "largest angle between learned and true conserved subspaces (rad), both priors"
    ),
    "kinetics-free-priors.equilibrium_error": _up(3e-3, "worst RMS distance of model and true equilibria, both priors"),
    "diffusion.polynomial": _up(1.5e-5, "test velocity MSE, polynomial profiles"),
    "diffusion.gaussian_spikes": _up(1.5e-5, "test velocity MSE, Gaussian spikes"),
    "diffusion.discontinuous": _up(5e-3, "test velocity MSE, steps"),
    "diffusion.rollout_mse": _up(2e-4, "rollout MSE, worst of the three test families"),
    "diffusion.boltzmann_decrease": _up(1e-10, "largest decrease of the Boltzmann entropy along positive predictions"),
    "diffusion-local.polynomial": _up(2e-7, "local model: test velocity MSE, polynomial profiles"),
    "diffusion-local.gaussian_spikes": _up(1e-6, "local model: test velocity MSE, Gaussian spikes"),
    "diffusion-local.discontinuous": _up(1e-4, "local model: test velocity MSE, steps"),
    "diffusion-local.grid32": _up(1e-4, "local model on 32 points: worst family's velocity MSE"),
    "diffusion-local.grid128": _up(2e-3, "local model on 128 points: worst family's velocity MSE (FD floor 6e-4)"),
    "diffusion-local.grid256": _up(3e-3, "local model on 256 points: worst family's velocity MSE (FD floor 1.1e-3)"),
    "diffusion-local.mass_drift": _up(1e-13, "local model: relative mass drift over 20x rollouts (round-off)"),
    "diffusion-local.cnn.mass_drift": _low(1e-2, "local CNN: relative mass drift over 20x rollouts"),
    "diffusion-local.cnn.grid32": _low(1e-2, "local CNN on 32 points: worst family's velocity MSE"),
    "porous-local.polynomial": _up(1e-5, "porous medium, local model: test velocity MSE, polynomial profiles"),
    "porous-local.gaussian_spikes": _up(5e-5, "porous medium, local model: test velocity MSE, Gaussian spikes"),
    "porous-local.discontinuous": _up(5e-3, "porous medium, local model: test velocity MSE, steps"),
    "porous-local.mass_drift": _up(1e-13, "porous medium, local model: relative mass drift over 20x rollouts"),
    "porous-local.diffusivity_error": _up(0.1, "largest relative error of the learned diffusivity on [0.5, 1.5]"),
    "porous-local.grid32": _up(3e-3, "porous medium on 32 points: worst family's velocity MSE"),
    "porous-local.grid128": _up(2e-2, "porous medium on 128 points: worst family's velocity MSE"),
    "porous-local.grid256": _up(3e-2, "porous medium on 256 points: worst family's velocity MSE"),
    "cycle.balanced.relative_mse": _up(5e-3, "GGD on the balanced cycle: test MSE / mean square velocity"),
    "cycle.driven.relative_mse": _low(0.02, "the same GGD model on the driven cycle: test MSE / mean square velocity"),
    "cycle.driven.true_imaginary_share": _low(0.25, "driven cycle: |imaginary| / |real| part of its eigenvalues"),
    "cycle.driven.model_imaginary_share": _up(1e-6, "GGD model at its equilibrium: |imaginary| / |real| part"),
    "structure.overdamped-2d.test_mse": _up(1e-6, "GGD test MSE at the study budget"),
    "structure.kinetics.test_mse": _up(1e-3, "GGD test MSE at the study budget"),
    "structure.diffusion.test_mse": _up(5e-4, "GGD test MSE at the study budget"),
    "heat-exchange.test_mse": _up(1.5e-4, "test velocity MSE with fit's defaults"),
    "heat-exchange.rollout_mse": _up(2e-4, "rollout MSE over all test trajectories"),
    "heat-exchange.energy_drift": _up(0.05, "largest relative drift of the total energy along rollouts"),
}


def check(key: str, value: float) -> None:
    """Assert that ``value`` meets the level ``LEVELS[key]``, with a message that says which."""
    level = LEVELS[key]
    assert level.holds(value), (
        f"{key} = {value:.3e} misses its level {level.sense} {level.bound:.3e} "
        f"({level.what}; see benchmarks/robustness.md)"
    )
    print(f"checked: {key} = {value:.2e} {level.sense} {level.bound:.1e}")


def boltzmann_decrease(profiles: torch.Tensor) -> float:
    """Largest decrease of the Boltzmann entropy :math:`-\\sum_i c_i\\ln c_i` between consecutive
    samples of predicted diffusion profiles ``(batch, time, points)``; ``-inf`` when some
    profile is not positive (the entropy is then undefined, and the chapter skips it)."""
    if profiles.min() <= 0:
        return -math.inf
    entropy = -(profiles * profiles.log()).sum(-1)
    return float(-entropy.diff(dim=1).min())


def _gauge_states(result) -> torch.Tensor:
    if result.name == "overdamped-1d":
        return torch.linspace(-1, 1, 201, dtype=torch.float64)[:, None]
    if result.name == "overdamped-2d":
        from ..data import uniform_box

        return uniform_box(2000, 2, -1, 1, seed=5)
    return result.data.test.states[:, ::8].reshape(-1, result.system.dim)


def measure(result) -> dict[str, float]:
    """Every quantity of :data:`LEVELS` for a trained experiment, keyed as there, computed
    as the chapter of that experiment computes it."""
    name, model, system, data = result.name, result.model, result.system, result.data
    out: dict[str, float] = {}
    if name == "diffusion":
        for family, s in result.tests.items():
            out[f"{name}.{family.replace(' ', '_')}"] = float(velocity_mse(model, s))
        out[f"{name}.fourier"] = float(velocity_mse(model, data))
        rollouts = [predict_trajectories(model, s)[1:] for s in result.tests.values()]
        out[f"{name}.rollout_mse"] = max(float(((p - t) ** 2).mean()) for t, p in rollouts)
        out[f"{name}.boltzmann_decrease"] = max(boltzmann_decrease(p) for _, p in rollouts)
        return out
    if name in FIELD_EXPERIMENTS:
        return _field_measures(result)
    out[f"{name}.test_mse"] = float(velocity_mse(model, data))
    if name != "overdamped-1d":
        stride = 1 if name.startswith("overdamped") else 2
        out[f"{name}.rollout_mse"] = float(rollout_mse(model, data, stride=stride))
    gauge = fix_gauge(model, system, _gauge_states(result))
    if name.startswith("overdamped"):
        out[f"{name}.S_rank_deficit"] = 1.0 - gauge.entropy_rank_correlation
        out[f"{name}.Xi_error"] = gauge.dissipation_error
    if not name.startswith("kinetics-prescribed-S"):
        out[f"{name}.S_error"] = gauge.entropy_error
    else:
        out[f"{name}.Xi_error"] = gauge.dissipation_error
    if name.startswith("kinetics"):
        out.update(_equilibrium_measures(name, model, system, data))
        out[f"{name}.extrapolation_share"] = extrapolation_share(model, data)
    if name == "kinetics-prescribed-S-mobility":  # S and nu given: the data fix L_n = J_n / X_n
        states = data.test.states[:, ::8].reshape(-1, system.dim)
        out[f"{name}.mobility_error"] = mobility_error(model, system, states)
    if name.startswith("kinetics-free"):
        out[f"{name}.median_trajectory_mse"] = float(velocity_mse(model, data, per_trajectory=True).median())
        states = data.test.states[:, ::4].reshape(-1, system.dim)
        out[f"{name}.true_entropy_decrease"] = float(-true_entropy_rate(system, model, states).min())
    return out


def _family_measures(prefix: str, model, result) -> dict[str, float]:
    """A field model's test MSE per unseen family on its grid, its worst family on other grids
    (applied unchanged) and its mass drift over 20x rollouts, keyed ``prefix.quantity``."""
    out = {f"{prefix}.{family.replace(' ', '_')}": float(velocity_mse(model, s)) for family, s in result.tests.items()}
    for (points, _), (mse, *_) in grid_transfer(model, result.system, grids=(32, 128, 256)).items():
        out[f"{prefix}.grid{points}"] = max(out.get(f"{prefix}.grid{points}", 0.0), mse)
    out[f"{prefix}.mass_drift"] = mass_drift(model, result.tests["polynomial"].trajectories[:8, 0])
    return out


def _field_measures(result) -> dict[str, float]:
    """A local field model (and, on linear diffusion, the local non-GGD baseline trained with the
    same budget and seed): :func:`_family_measures`, and the learned diffusivity of the porous medium."""
    name, model = result.name, result.model
    out = _family_measures(name, model, result)
    out[f"{name}.fourier"] = float(velocity_mse(model, result.data))
    if name == "diffusion-local":
        baseline, _ = train_local_baseline(result.data, seed=result.seed)
        out.update(_family_measures(f"{name}.cnn", baseline, result))
    if name == "porous-local":  # the learned diffusivity against the true D c on the data's range
        values = torch.linspace(0.5, 1.5, 101, dtype=torch.float64)
        true = result.system.D * values
        out[f"{name}.diffusivity_error"] = float(((model.diffusivity(values) - true).abs() / true).max())
    return out


def _equilibrium_measures(name: str, model, system, data) -> dict[str, float]:
    """Where a kinetics model ends (worst RMS distance to the true equilibrium over the test
    initial states), how far its spectrum there is off, and, for a model with a learned projection,
    the largest principal angle between its conserved subspace and the true one."""
    report = compare_equilibria(model, system, data.test.states[:, 0])
    out = {
        f"{name}.equilibrium_error": float(report.error.max()),
        f"{name}.spectrum_error": float(report.spectrum_error.max()),
    }
    projection = model_projection(model)
    if projection is not None:
        laws = system.conservation_laws().to(projection)
        out[f"{name}.conserved_angle"] = float(principal_angles(conserved_subspace(projection), laws).max())
    return out


def measure_cycle(balanced, driven) -> dict[str, float]:
    """The asserted quantities of the kinetics chapter's reaction cycles (two
    :class:`~ggd_tutorial.book.experiments.CycleResult`: affinity 0 and a driven one)."""

    def imaginary_share(values: torch.Tensor) -> float:
        return float(values.imag.abs().max() / values.real.abs().max())

    return {
        "cycle.balanced.relative_mse": balanced.relative_mse,
        "cycle.balanced.equilibrium_error": balanced.equilibrium_error,
        "cycle.driven.relative_mse": driven.relative_mse,
        "cycle.driven.equilibrium_error": driven.equilibrium_error,
        "cycle.driven.true_imaginary_share": imaginary_share(driven.true_spectrum),
        "cycle.driven.model_imaginary_share": imaginary_share(driven.model_spectrum),
    }


def measure_heat_exchange(model, data) -> dict[str, float]:
    """The asserted quantities of the chapter "Learn your own system", computed as it does."""
    test_mse = float(velocity_mse(model, data))
    _, true, predicted = predict_trajectories(model, data)
    energy = predicted.sum(-1)
    drift = float(((energy - energy[:, :1]).abs() / energy[:, :1]).max())
    return {
        "heat-exchange.test_mse": test_mse,
        "heat-exchange.rollout_mse": float(((predicted - true) ** 2).mean()),
        "heat-exchange.energy_drift": drift,
    }
