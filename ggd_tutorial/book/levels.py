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

:data:`LEVELS` is derived from the records of :mod:`~ggd_tutorial.book.registry`: each
:class:`~ggd_tutorial.book.registry.Measure` of an experiment carries its asserted level, so no
level can name a quantity nothing computes. :func:`measure` computes every quantity of a trained
:class:`~ggd_tutorial.book.experiments.Result` with those measures, :func:`value` one of them, and
the chapters assert with :func:`check_measure` (the same function, then :func:`check`), so the book
and the robustness study compute each asserted number with one function.
"""

from __future__ import annotations

import torch

from ..metrics import predict_trajectories, velocity_mse
from .registry import (
    BRIDGE_LEVELS,
    EXPERIMENTS,
    MARGIN,
    STUDY_LEVELS,
    Level,
    assert_level,
    boltzmann_decrease,
    equilibria_report,
    gauge_fit,
    grid_transfer_of,
    local_baseline,
    mass_drift_of,
    predictions,
)

__all__ = [
    "LEVELS",
    "MARGIN",
    "Level",
    "boltzmann_decrease",
    "check",
    "check_measure",
    "equilibria_report",
    "gauge_fit",
    "grid_transfer_of",
    "local_baseline",
    "mass_drift_of",
    "measure",
    "measure_cycle",
    "measure_heat_exchange",
    "measure_structure",
    "predictions",
    "value",
]


def _levels() -> dict[str, Level]:
    out = {k: v for e in EXPERIMENTS.values() for k, v in e.levels.items()}
    return {**out, **STUDY_LEVELS, **BRIDGE_LEVELS}


#: Every level a chapter asserts (key: "experiment.quantity"): those of the experiments' measures
#: and those of the studies (:data:`~ggd_tutorial.book.registry.STUDY_LEVELS`).
LEVELS: dict[str, Level] = _levels()


def check(key: str, value: float) -> None:
    """Assert that ``value`` meets the level ``LEVELS[key]``, with a message that says which."""
    assert_level(key, value, LEVELS[key])


def measure(result) -> dict[str, float]:
    """Every quantity its record measures for a trained experiment, keyed ``"experiment.quantity"``
    (the asserted ones are the keys of :data:`LEVELS`)."""
    experiment = result.experiment or EXPERIMENTS[result.name]
    return experiment.measure(result)


def value(result, key: str) -> float:
    """One quantity of a trained experiment, computed by the measure of its record (shared
    intermediate results, e.g. the gauge fit, are computed once per result)."""
    experiment = result.experiment or EXPERIMENTS[result.name]
    return experiment.value(result, key)


def check_measure(result, key: str) -> float:
    """:func:`check` the quantity ``key`` of a trained experiment, computed by its record's measure
    (the function the robustness study records), and return it."""
    v = value(result, key)
    check(key, v)
    return v


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


def measure_structure(results) -> dict[str, float]:
    """The quantities of the chapter "Why structure matters" that the robustness study records,
    for :func:`~ggd_tutorial.book.studies.compare_on` results keyed by study system."""
    from ..metrics import conservation_drift

    values = {f"structure.{s}.test_mse": r.test_mse["GGD"] for s, r in results.items()}
    values.update(
        {f"structure.{s}.{m}.rollout_20x": r.horizons[m].mse[-1] for s, r in results.items() for m in r.horizons}
    )
    values.update(
        {
            f"structure.{s}.{m}.final_distance": r.horizons[m].final_distance
            for s, r in results.items()
            for m in r.horizons
        }
    )
    if "kinetics" in results:
        values.update(
            {
                f"structure.kinetics.{m}.conservation_drift": conservation_drift(h, results["kinetics"].system)
                for m, h in results["kinetics"].horizons.items()
            }
        )
    return values


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


def measure_bridge(control: dict[str, float]) -> dict[str, float]:
    """The asserted quantities of the structure chapter's bridge to GENERIC, from
    :func:`~ggd_tutorial.book.studies.single_generator_control`: the chapter and the study call this."""
    return {
        "control.single_generator.relative_mse": control["single generator"],
        "control.single_generator.imaginary": control["single generator imaginary"],
    }
