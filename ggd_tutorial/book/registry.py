r"""One typed record per experiment of the book: its data, its model, its training budget, the
thesis value it is compared with, and every quantity it measures together with the level the
book asserts on it.

Everything else reads these records: :func:`~ggd_tutorial.book.experiments.run` and
:func:`~ggd_tutorial.book.experiments.build_model` build and train from them,
:data:`~ggd_tutorial.book.levels.LEVELS` is derived from their measures,
:func:`~ggd_tutorial.book.levels.measure` iterates them, and the benchmarks iterate
:data:`EXPERIMENTS`. A chapter asserts a number with the same :class:`Measure` the robustness
study records (``lv.check_measure(result, key)``), so each asserted number is computed by one
function.

Adding an experiment means adding one :class:`Experiment` to :data:`EXPERIMENTS` (and, if it needs
them, a data factory and measure functions): the study, the levels, the benchmarks and the
tests pick it up from there.

:meth:`Experiment.digest` is a stable hash (SHA-256 of a canonical JSON text, not Python's
``hash``) of everything that decides a trained number: the data factory and its arguments with
their defaults, the model spec, the fit config, the seeds and the measures' keys, functions and
levels. ``benchmarks/_ledger.py`` stamps every record with it, and ``tests/test_robustness.py``
refuses a level resting on runs whose record no longer hashes the same. :func:`digest` gives
the same for the studies that are not one trained experiment (structure, cycle, own system, ...).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import math
from dataclasses import dataclass, fields
from typing import Any, Callable

import torch

from ..equilibria import compare_equilibria, conserved_subspace, model_projection, principal_angles
from ..fields import LocalFieldModel
from ..gauge import fix_gauge
from ..metrics import (
    extrapolation_share,
    mobility_error,
    predict_trajectories,
    trajectory_error,
    true_entropy_rate,
    velocity_mse,
)
from ..networks import GradientDynamicsModel
from . import experiments as _ex

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


def up(bound: float, what: str) -> Level:
    """An upper level (an error the book asserts is small)."""
    return Level("<=", bound, what)


def low(bound: float, what: str) -> Level:
    """A lower level (e.g. "the data do not fix the values of Xi")."""
    return Level(">=", bound, what)


def assert_level(key: str, value: float, level: Level, study: str = "benchmarks/robustness.md") -> None:
    """Assert that ``value`` meets ``level`` (the level of ``key``), with a message that names the study
    behind it, and print the check: the assert every chapter uses."""
    assert level.holds(value), (
        f"{key} = {value:.3e} misses its level {level.sense} {level.bound:.3e} ({level.what}; see {study})"
    )
    print(f"checked: {key} = {value:.2e} {level.sense} {level.bound:.1e}")


# ---------------------------------------------------------------------------------------------
# The parts of a record


#: The training budget type and the budget every tuned setting pins (its defaults).
FitConfig = _ex.FitConfig
FIXED_BUDGET = _ex.FIXED_BUDGET
float64_default = _ex.float64_default


@dataclass(frozen=True)
class DataSpec:
    """A data factory of :mod:`~ggd_tutorial.book.experiments` and its arguments; called, it gives
    ``(system, TrajectoryData, unseen test families)`` (the last empty when there are none)."""

    factory: Callable[..., tuple]
    options: tuple[tuple[str, Any], ...] = ()

    def __call__(self):
        out = self.factory(**dict(self.options))
        return out if len(out) == 3 else (*out, {})

    def canonical(self) -> dict:
        bound = inspect.signature(self.factory).bind(**dict(self.options))
        bound.apply_defaults()
        return {"factory": _name(self.factory), "arguments": dict(bound.arguments)}


#: What a :class:`ModelSpec` may take from the true system instead of learning it.
GIVEN = {
    "entropy": ("entropy", "entropy"),  # the entropy S is prescribed
    "stoichiometry": ("dissipation_projection", "nu"),  # Xi sees x* only through nu^T x*: exact conservation
    "dissipation": ("dissipation", "dissipation"),  # the dissipation potential Xi is prescribed
}


@dataclass(frozen=True)
class ModelSpec:
    """The model of an experiment: a :class:`~ggd_tutorial.GradientDynamicsModel` (``kind="ggd"``)
    or a :class:`~ggd_tutorial.LocalFieldModel` (``kind="local-field"``) with ``options``, and
    the parts of the true system it is given (keys of :data:`GIVEN`), as the thesis did."""

    kind: str = "ggd"
    options: tuple[tuple[str, Any], ...] = ()
    given: tuple[str, ...] = ()

    def potentials(self, system) -> dict[str, Any]:
        """The prescribed potentials (entropy, dissipation) only, as keyword arguments."""
        return {GIVEN[g][0]: getattr(system, GIVEN[g][1]) for g in self.given if g != "stoichiometry"}

    def build(self, system, seed: int, **overrides) -> GradientDynamicsModel | LocalFieldModel:
        """A fresh model (float64, initial weights seeded with ``seed``)."""
        kwargs = dict(self.options)
        if self.kind == "local-field":
            torch.manual_seed(seed)
            with float64_default():
                return LocalFieldModel(length=system.length, **{**kwargs, **overrides})
        for g in self.given:
            kwargs[GIVEN[g][0]] = getattr(system, GIVEN[g][1])
        kwargs.update(overrides)
        torch.manual_seed(seed)
        with float64_default():
            return GradientDynamicsModel(system.dim, **kwargs)


@dataclass(frozen=True)
class Measure:
    """One quantity a trained experiment measures, keyed ``"experiment.quantity"``: ``fn(result)``
    computes it (the chapter and the robustness study both call it), ``level`` is the bound the
    book asserts on it, or None for a quantity the study only records."""

    key: str
    fn: Callable[[Any], float]
    level: Level | None = None


@dataclass(frozen=True)
class Experiment:
    """Everything that decides the numbers of one experiment.

    ``thesis`` is the thesis' test velocity MSE it is compared with (None: not a thesis
    experiment); ``variant_of`` names the thesis experiment a prior variant adds a prior to;
    ``headline`` the measure compared with the thesis value; ``seeds`` those of the robustness
    study; ``gauge_states(result)`` the states on which the learned potentials are gauge-fixed."""

    name: str
    chapter: str
    data: DataSpec
    model: ModelSpec
    fit: FitConfig
    measures: tuple[Measure, ...]
    thesis: float | None = None
    variant_of: str | None = None
    headline: str = "test_mse"
    seed: int = 0
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    gauge_states: Callable[[Any], torch.Tensor] | None = None

    @property
    def levels(self) -> dict[str, Level]:
        return {m.key: m.level for m in self.measures if m.level is not None}

    def measure(self, result) -> dict[str, float]:
        """Every quantity of this experiment for a trained ``result``, in the record's order."""
        return {m.key: m.fn(result) for m in self.measures}

    def value(self, result, key: str) -> float:
        """One quantity (``key``: ``"experiment.quantity"``), computed by its measure."""
        for m in self.measures:
            if m.key == key:
                return m.fn(result)
        raise KeyError(f"{self.name} measures no {key!r}; it measures {[m.key for m in self.measures]}")

    def canonical(self) -> dict:
        """The settings that decide this experiment's numbers, as plain data."""
        return {
            "name": self.name,
            "data": self.data.canonical(),
            "model": {"kind": self.model.kind, "options": dict(self.model.options), "given": list(self.model.given)},
            "fit": self.fit.kwargs(),
            "seed": self.seed,
            "seeds": list(self.seeds),
            "thesis": self.thesis,
            "headline": self.headline,
            "gauge_states": _name(self.gauge_states),
            "measures": [
                [m.key, _name(m.fn), None if m.level is None else [m.level.sense, m.level.bound]] for m in self.measures
            ],
        }

    def digest(self) -> str:
        """A hash of :meth:`canonical`, stable across processes and machines."""
        return settings_digest(self.canonical())


def _name(obj) -> Any:
    """A stable text for a function (its module and qualified name, and a partial's arguments)."""
    if obj is None:
        return None
    if isinstance(obj, functools.partial):
        return [_name(obj.func), list(obj.args), dict(sorted(obj.keywords.items()))]
    return f"{obj.__module__}.{obj.__qualname__}"


def _plain(obj) -> Any:
    """A dataclass as a dict of its fields (recursively), functions by name: for hashing."""
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if callable(obj):
        return _name(obj)
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def settings_digest(data) -> str:
    """A stable hash of plain settings (dataclasses and functions allowed, see :func:`_plain`):
    the first 16 hex digits of the SHA-256 of their canonical JSON text."""
    text = json.dumps(_plain(data), sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Measure functions: each takes a trained result (name, model, system, data, tests, seed) and
# returns one float. What several of them share (gauge fixing, equilibria, rollouts, grid
# transfer, the local baseline) is computed once per result and kept in ``result.cache``.


def _cached(result, what: str, compute: Callable[[], Any]):
    cache = result.cache
    if what not in cache:
        cache[what] = compute()
    return cache[what]


def _record(result) -> Experiment:
    return getattr(result, "experiment", None) or EXPERIMENTS[result.name]


def held_out_mse(result) -> float:
    """Velocity MSE on the held-out test trajectories (central-difference targets)."""
    return float(velocity_mse(result.model, result.data))


def predictions(result, stride: int = 1):
    """``(times, true, predicted)`` of the test trajectories, integrated at every ``stride``-th
    sample (:func:`~ggd_tutorial.metrics.predict_trajectories`), computed once per result: the
    chapters plot what the measures score."""
    return _cached(result, f"predictions/{stride}", lambda: predict_trajectories(result.model, result.data, stride=stride))


def trajectory_rollout_mse(result, stride: int = 1) -> float:
    """Rollout MSE over all test trajectories, integrated at every ``stride``-th sample."""
    _, true, predicted = predictions(result, stride)
    return float(trajectory_error(true, predicted))


def median_trajectory_mse(result) -> float:
    return float(velocity_mse(result.model, result.data, per_trajectory=True).median())


def held_out_states(result, every: int = 8) -> torch.Tensor:
    """Every ``every``-th state of the test trajectories, flattened."""
    return result.data.test.states[:, ::every].reshape(-1, result.system.dim)


def line_states(result) -> torch.Tensor:
    return torch.linspace(-1, 1, 201, dtype=torch.float64)[:, None]


def box_states(result) -> torch.Tensor:
    from ..data import uniform_box

    return uniform_box(2000, 2, -1, 1, seed=5)


def gauge_fit(result):
    """The gauge-fixed model (:func:`~ggd_tutorial.gauge.fix_gauge`) on the record's gauge states
    (default: every 8th held-out state), computed once per result."""
    states = _record(result).gauge_states or held_out_states
    return _cached(result, "gauge", lambda: fix_gauge(result.model, result.system, states(result)))



def entropy_rank_deficit(result) -> float:
    """1 - rank correlation of the learned and the true entropy (after gauge fixing)."""
    return 1.0 - gauge_fit(result).entropy_rank_correlation


def entropy_error(result) -> float:
    """Relative error of S after gauge fixing."""
    return gauge_fit(result).entropy_error


def dissipation_error(result) -> float:
    """Relative error of the values of Xi after gauge fixing."""
    return gauge_fit(result).dissipation_error


def equilibria_report(result):
    """Where the model ends from the test initial states, against the true equilibria
    (:func:`~ggd_tutorial.equilibria.compare_equilibria`), computed once per result."""
    return _cached(
        result, "equilibria report", lambda: compare_equilibria(result.model, result.system, result.data.test.states[:, 0])
    )


def _equilibria(result):
    def compute():
        report = equilibria_report(result)
        out = {"equilibrium_error": float(report.error.max()), "spectrum_error": float(report.spectrum_error.max())}
        projection = model_projection(result.model)
        if projection is not None:
            laws = result.system.conservation_laws().to(projection)
            out["conserved_angle"] = float(principal_angles(conserved_subspace(projection), laws).max())
        return out

    return _cached(result, "equilibria", compute)


def equilibrium_value(result, quantity: str) -> float:
    """Where the model ends from the test initial states: worst RMS distance to the true
    equilibrium (``equilibrium_error``), spectrum there (``spectrum_error``), largest angle between
    the learned and the true conserved subspaces (``conserved_angle``)."""
    return _equilibria(result)[quantity]


def held_out_extrapolation_share(result) -> float:
    return extrapolation_share(result.model, result.data)


def learned_mobility_error(result) -> float:
    """Median relative error of a learned mobility (S and nu given: the data fix L_n = J_n / X_n)."""
    return mobility_error(result.model, result.system, held_out_states(result, 8))


def true_entropy_decrease(result) -> float:
    """Largest decrease rate of the true entropy along the learned dynamics (test states)."""
    return float(-true_entropy_rate(result.system, result.model, held_out_states(result, 4)).min())


def family_mse(result, family: str) -> float:
    """Velocity MSE on an unseen test family of a field experiment."""
    return float(velocity_mse(result.model, result.tests[family]))


def fourier_mse(result) -> float:
    """Velocity MSE on the held-out Fourier-mode trajectories."""
    return float(velocity_mse(result.model, result.data))


def _field_rollouts(result):
    return _cached(
        result, "rollouts", lambda: [predict_trajectories(result.model, s)[1:] for s in result.tests.values()]
    )


def worst_family_rollout_mse(result) -> float:
    return max(float(((p - t) ** 2).mean()) for t, p in _field_rollouts(result))


def boltzmann_decrease(profiles: torch.Tensor) -> float:
    """Largest decrease of the Boltzmann entropy :math:`-\\sum_i c_i\\ln c_i` between consecutive
    samples of predicted diffusion profiles ``(batch, time, points)``; ``-inf`` when some
    profile is not positive (the entropy is then undefined, and the chapter skips it)."""
    if profiles.min() <= 0:
        return -math.inf
    entropy = -(profiles * profiles.log()).sum(-1)
    return float(-entropy.diff(dim=1).min())


def worst_boltzmann_decrease(result) -> float:
    return max(boltzmann_decrease(p) for _, p in _field_rollouts(result))


def family_measures(model, result) -> dict[str, float]:
    """A field model's test MSE per unseen family on its grid (``polynomial``, ...), its worst
    family on other grids, applied unchanged (``grid32``, ...), and its mass drift over 20x
    rollouts (``mass_drift``)."""
    out = {family.replace(" ", "_"): float(velocity_mse(model, s)) for family, s in result.tests.items()}
    for (points, _), (mse, *_) in grid_transfer_of(result, model, grids=(32, 128, 256)).items():
        out[f"grid{points}"] = max(out.get(f"grid{points}", 0.0), mse)
    out["mass_drift"] = mass_drift_of(result, model)
    return out


def grid_transfer_of(result, model=None, grids=(32, 64, 128, 256)) -> dict[tuple[int, str], tuple[float, float, float]]:
    """:func:`~ggd_tutorial.book.experiments.grid_transfer` of ``model`` (default: the result's) on
    ``grids``, each grid computed once per result and model (a grid's numbers do not depend on which
    other grids are asked for: each has its own data, drawn with the same seed)."""
    model = result.model if model is None else model
    out: dict[tuple[int, str], tuple[float, float, float]] = {}
    for points in grids:
        out.update(_cached(result, f"grid transfer/{id(model)}/{points}", functools.partial(_one_grid, model, result, points)))
    return out


def _one_grid(model, result, points: int) -> dict[tuple[int, str], tuple[float, float, float]]:
    return _ex.grid_transfer(model, result.system, grids=(points,))


def mass_drift_of(result, model=None) -> float:
    """:func:`~ggd_tutorial.book.experiments.mass_drift` of ``model`` (default: the result's) from
    the first 8 polynomial test profiles, computed once per result and model."""
    model = result.model if model is None else model
    c0 = result.tests["polynomial"].trajectories[:8, 0]
    return _cached(result, f"mass drift/{id(model)}", lambda: _ex.mass_drift(model, c0))


def field_value(result, quantity: str) -> float:
    """One of :func:`family_measures` for the experiment's model."""
    return _cached(result, "family", lambda: family_measures(result.model, result))[quantity]


def local_baseline(result):
    """The local non-GGD baseline of a field experiment (a LocalConvolution trained on the same data
    with the same budget and seed) and its history, trained once per result."""
    return _cached(result, "baseline model", lambda: _ex.train_local_baseline(result.data, seed=result.seed))


def baseline_value(result, quantity: str) -> float:
    """One of :func:`family_measures` for :func:`local_baseline`."""
    return _cached(result, "baseline", lambda: family_measures(local_baseline(result)[0], result))[quantity]


def diffusivity_error(result) -> float:
    """Largest relative error of the learned diffusivity against the true D c on [0.5, 1.5]."""
    values = torch.linspace(0.5, 1.5, 101, dtype=torch.float64)
    true = result.system.D * values
    return float(((result.model.diffusivity(values) - true).abs() / true).max())


# ---------------------------------------------------------------------------------------------
# The records


def _m(name: str, quantity: str, fn, level: Level | None = None) -> Measure:
    return Measure(f"{name}.{quantity}", fn, level)


def _p(fn, *args, **kwargs):
    return functools.partial(fn, *args, **kwargs)


def _overdamped(name: str, dim: int, fit: FitConfig, levels: dict[str, Level]) -> Experiment:
    measures = [_m(name, "test_mse", held_out_mse, levels.get("test_mse"))]
    if dim > 1:
        measures.append(_m(name, "rollout_mse", _p(trajectory_rollout_mse, stride=1), levels.get("rollout_mse")))
    measures += [
        _m(name, "S_rank_deficit", entropy_rank_deficit, levels.get("S_rank_deficit")),
        _m(name, "Xi_error", dissipation_error),
        _m(name, "S_error", entropy_error),
    ]
    return Experiment(
        name,
        "overdamped",
        DataSpec(_ex.overdamped_data, (("dim", dim),)),
        ModelSpec("ggd", (("hidden", (16, 16)),) + ((("quadratic", False),) if dim == 1 else ())),
        fit,
        tuple(measures),
        thesis=1e-6,
        gauge_states=line_states if dim == 1 else box_states,
    )


def _kinetics(
    name: str,
    chapter: str,
    model: ModelSpec,
    fit: FitConfig,
    levels: dict[str, Level],
    thesis: float,
    variant_of: str | None = None,
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
) -> Experiment:
    """A kinetics experiment: the measures of the kinetics chapter, by what the model is given."""
    entropy_given, learned_projection = "entropy" in model.given, "stoichiometry" in model.given
    free = not model.given
    lv = levels.get
    measures = [
        _m(name, "test_mse", held_out_mse, lv("test_mse")),
        _m(name, "rollout_mse", _p(trajectory_rollout_mse, stride=2), lv("rollout_mse")),
        _m(name, "Xi_error", dissipation_error, lv("Xi_error"))
        if entropy_given
        else _m(name, "S_error", entropy_error, lv("S_error")),
        _m(name, "equilibrium_error", _p(equilibrium_value, quantity="equilibrium_error"), lv("equilibrium_error")),
        _m(name, "spectrum_error", _p(equilibrium_value, quantity="spectrum_error")),
    ]
    if learned_projection or free:  # the dissipation sees x* through a projection: compare its null space
        measures.append(
            _m(name, "conserved_angle", _p(equilibrium_value, quantity="conserved_angle"), lv("conserved_angle"))
        )
    measures.append(_m(name, "extrapolation_share", held_out_extrapolation_share, lv("extrapolation_share")))
    if dict(model.options).get("dissipation_mobility") and entropy_given:
        measures.append(_m(name, "mobility_error", learned_mobility_error, lv("mobility_error")))
    if free:
        measures += [
            _m(name, "median_trajectory_mse", median_trajectory_mse, lv("median_trajectory_mse")),
            _m(name, "true_entropy_decrease", true_entropy_decrease, lv("true_entropy_decrease")),
        ]
    return Experiment(
        name,
        chapter,
        DataSpec(_ex.kinetics_data),
        model,
        fit,
        tuple(measures),
        thesis=thesis,
        variant_of=variant_of,
        seeds=seeds,
        gauge_states=held_out_states,
    )


_FAMILIES = ("polynomial", "discontinuous", "gaussian_spikes")


def _field(
    name: str, data: DataSpec, fit: FitConfig, levels: dict[str, Level], baseline: bool, porous: bool
) -> Experiment:
    """A local field model (any grid): per-family MSE, other grids, mass drift (and the baseline's)."""
    lv = levels.get
    measures = [_m(name, f, _p(field_value, quantity=f), lv(f)) for f in _FAMILIES]
    measures += [_m(name, "fourier", fourier_mse)]
    measures += [_m(name, q, _p(field_value, quantity=q), lv(q)) for q in ("grid32", "grid128", "grid256")]
    measures += [_m(name, "mass_drift", _p(field_value, quantity="mass_drift"), lv("mass_drift"))]
    if baseline:
        quantities = (*_FAMILIES, "grid32", "grid128", "grid256", "mass_drift")
        measures += [_m(name, f"cnn.{q}", _p(baseline_value, quantity=q), lv(f"cnn.{q}")) for q in quantities]
    if porous:
        measures.append(_m(name, "diffusivity_error", diffusivity_error, lv("diffusivity_error")))
    return Experiment(
        name,
        "diffusion",
        data,
        ModelSpec("local-field", (("hidden", (8, 8)),)),
        fit,
        tuple(measures),
        headline="polynomial",
        seeds=(0, 1, 2),
    )


_KINETICS_FIT: dict[str, Any] = dict(adam_steps=300, adam_lr=1e-2, max_points=2000, early_fraction=0.5)

_RECORDS = [
    _overdamped(
        "overdamped-1d",
        1,
        FitConfig(adam_steps=200, lbfgs_steps=400, adam_lr=1e-2, max_points=2000),
        {
            "test_mse": up(2e-7, "test velocity MSE"),
            "S_rank_deficit": up(0.02, "1 - rank correlation of learned and true S"),
        },
    ),
    _overdamped(
        "overdamped-2d",
        2,
        FitConfig(adam_steps=200, lbfgs_steps=800, adam_lr=1e-2, max_points=2000),
        {
            "test_mse": up(3e-7, "test velocity MSE"),
            "rollout_mse": up(1e-7, "rollout MSE over all test trajectories"),
            "S_rank_deficit": up(0.25, "1 - rank correlation of learned and true S"),
        },
    ),
    # the stoichiometry is given: Xi sees c* only through the affinities nu^T c*, one channel each
    _kinetics(
        "kinetics-prescribed-S",
        "kinetics",
        ModelSpec(
            "ggd",
            (("hidden", (32, 32)), ("quadratic", False), ("dissipation_channels", True)),
            ("entropy", "stoichiometry"),
        ),
        FitConfig(lbfgs_steps=1200, **_KINETICS_FIT),
        {
            "test_mse": up(6e-6, "test velocity MSE (stoichiometry given, one channel per reaction)"),
            "rollout_mse": up(2e-5, "rollout MSE over all test trajectories"),
            "Xi_error": low(0.1, "relative error of the values of Xi (not fixed by data)"),
            "equilibrium_error": up(1e-7, "worst RMS distance of model and true equilibria"),
            "extrapolation_share": low(
                0.05, "share of the test MSE from the 2 of 26 test trajectories starting outside the training range"
            ),
        },
        thesis=1.760e-5,
    ),
    # experiment 1 with a quadratic Xi whose mobility per reaction is learned as a function of ln c
    _kinetics(
        "kinetics-prescribed-S-mobility",
        "kinetics_priors",
        ModelSpec(
            "ggd",
            (("hidden", (32, 32)), ("dissipation_mobility", True), ("dissipation_log_state", True)),
            ("entropy", "stoichiometry"),
        ),
        FitConfig(lbfgs_steps=1200, **_KINETICS_FIT),
        {
            "test_mse": up(
                3e-7,
                "test velocity MSE with a learned mobility of ln c per reaction (below a fiftieth of the thesis value)",
            ),
            "rollout_mse": up(2e-7, "rollout MSE over all test trajectories, mobility prior"),
            "mobility_error": up(5e-3, "median relative error of the learned mobility"),
            "equilibrium_error": up(1e-9, "worst RMS distance of model and true equilibria, mobility prior"),
            "extrapolation_share": low(
                0.25, "share of the test MSE from the 2 of 26 test trajectories starting outside the training range"
            ),
        },
        thesis=1.760e-5,  # the thesis experiment 1, here with a prior it lacked
        variant_of="kinetics-prescribed-S",
    ),
    _kinetics(
        "kinetics-prescribed-Xi",
        "kinetics",
        ModelSpec("ggd", (("hidden", (32, 32)), ("quadratic", False)), ("dissipation",)),
        FitConfig(lbfgs_steps=3000, **_KINETICS_FIT),
        {
            "equilibrium_error": up(0.1, "worst RMS distance of model and true equilibria"),
            "test_mse": up(1e-4, "test velocity MSE"),
            "rollout_mse": up(4e-5, "rollout MSE over all test trajectories"),
        },
        thesis=7.026e-5,
    ),
    # experiment 2 with the ideal-mixing term in the learned entropy: a prior the thesis did not use
    _kinetics(
        "kinetics-prescribed-Xi-mixing",
        "kinetics_priors",
        ModelSpec("ggd", (("hidden", (32, 32)), ("quadratic", False), ("entropy_mixing", True)), ("dissipation",)),
        FitConfig(lbfgs_steps=1000, **_KINETICS_FIT),
        {
            "test_mse": up(7e-7, "test velocity MSE with the ideal-mixing prior (a hundredth of the thesis value)"),
            "S_error": up(0.02, "relative error of S after gauge fixing, mixing prior"),
            "equilibrium_error": up(2e-3, "worst RMS distance of model and true equilibria, mixing prior"),
        },
        thesis=7.026e-5,  # the thesis experiment 2, here with a prior it lacked
        variant_of="kinetics-prescribed-Xi",
    ),
    _kinetics(
        "kinetics-free",
        "kinetics",
        ModelSpec("ggd", (("hidden", (32, 32)), ("dissipation_rank", 2), ("quadratic", False))),
        FitConfig(lbfgs_steps=1200, **{**_KINETICS_FIT, "max_points": 4000}),
        {
            "test_mse": up(5e-4, "test velocity MSE"),
            "median_trajectory_mse": up(4e-4, "median per-trajectory test MSE"),
            "rollout_mse": up(2e-3, "rollout MSE over all test trajectories"),
            "S_error": low(0.04, "relative error of S after gauge fixing (another valid S)"),
            "true_entropy_decrease": up(3e-4, "largest decrease rate of the true entropy"),
            "conserved_angle": up(0.01, "largest angle between learned and true conserved subspaces (rad)"),
        },
        thesis=2.051e-5,
    ),
    # experiment 3 with both priors: the mixing entropy, and a mobility of ln c behind the learned map
    _kinetics(
        "kinetics-free-priors",
        "kinetics_priors",
        ModelSpec(
            "ggd",
            (
                ("hidden", (32, 32)),
                ("dissipation_rank", 2),
                ("quadratic", False),
                ("entropy_mixing", True),
                ("dissipation_mobility", True),
                ("dissipation_log_state", True),
            ),
        ),
        FitConfig(lbfgs_steps=2400, **{**_KINETICS_FIT, "max_points": 4000, "adam_lr": 1e-3}),
        {
            "test_mse": up(
                1e-6,
                "test velocity MSE, both learned with the mixing entropy and the "
                "mobility of ln c (a twentieth of the thesis value)",
            ),
            "S_error": up(0.1, "relative error of S after gauge fixing, both priors"),
            "conserved_angle": up(
                1e-3, "largest angle between learned and true conserved subspaces (rad), both priors"
            ),
            "equilibrium_error": up(3e-3, "worst RMS distance of model and true equilibria, both priors"),
        },
        thesis=2.051e-5,  # the thesis experiment 3, here with both priors it lacked
        variant_of="kinetics-free",
        seeds=tuple(range(10)),  # its Adam rate was chosen on seeds 3 and 4: ten seeds
    ),
    Experiment(
        "diffusion",
        "diffusion",
        DataSpec(_ex.diffusion_data),
        ModelSpec("ggd", (("hidden", (4,)), ("stencil", 1))),
        FitConfig(adam_steps=0, lbfgs_steps=1000, max_points=4000),
        (
            _m(
                "diffusion",
                "polynomial",
                _p(family_mse, family="polynomial"),
                up(1.5e-5, "test velocity MSE, polynomial profiles"),
            ),
            _m(
                "diffusion",
                "discontinuous",
                _p(family_mse, family="discontinuous"),
                up(5e-3, "test velocity MSE, steps"),
            ),
            _m(
                "diffusion",
                "gaussian_spikes",
                _p(family_mse, family="gaussian spikes"),
                up(1.5e-5, "test velocity MSE, Gaussian spikes"),
            ),
            _m("diffusion", "fourier", fourier_mse),
            _m(
                "diffusion",
                "rollout_mse",
                worst_family_rollout_mse,
                up(2e-4, "rollout MSE, worst of the three test families"),
            ),
            _m(
                "diffusion",
                "boltzmann_decrease",
                worst_boltzmann_decrease,
                up(1e-10, "largest decrease of the Boltzmann entropy along positive predictions"),
            ),
        ),
        thesis=1e-6,  # the thesis' value on the polynomial profiles
        headline="polynomial",
        seeds=(0, 1, 2),  # the slowest experiment: three seeds
    ),
    # local densities with shared weights (LocalFieldModel): mass by construction, any grid
    _field(
        "diffusion-local",
        DataSpec(_ex.diffusion_data),
        FitConfig(adam_steps=0, lbfgs_steps=300, max_points=500),
        {
            "polynomial": up(2e-7, "local model: test velocity MSE, polynomial profiles"),
            "gaussian_spikes": up(1e-6, "local model: test velocity MSE, Gaussian spikes"),
            "discontinuous": up(1e-4, "local model: test velocity MSE, steps"),
            "grid32": up(1e-4, "local model on 32 points: worst family's velocity MSE"),
            "grid128": up(2e-3, "local model on 128 points: worst family's velocity MSE (FD floor 6e-4)"),
            "grid256": up(3e-3, "local model on 256 points: worst family's velocity MSE (FD floor 1.1e-3)"),
            "mass_drift": up(1e-13, "local model: relative mass drift over 20x rollouts (round-off)"),
            "cnn.mass_drift": low(1e-2, "local CNN: relative mass drift over 20x rollouts"),
            "cnn.grid32": low(1e-2, "local CNN on 32 points: worst family's velocity MSE"),
        },
        baseline=True,
        porous=False,
    ),
    # nonlinear diffusion c_t = (D c c_x)_x, the same model and budget
    _field(
        "porous-local",
        DataSpec(_ex.porous_data),
        FitConfig(adam_steps=0, lbfgs_steps=300, max_points=500),
        {
            "polynomial": up(1e-5, "porous medium, local model: test velocity MSE, polynomial profiles"),
            "gaussian_spikes": up(5e-5, "porous medium, local model: test velocity MSE, Gaussian spikes"),
            "discontinuous": up(5e-3, "porous medium, local model: test velocity MSE, steps"),
            "mass_drift": up(1e-13, "porous medium, local model: relative mass drift over 20x rollouts"),
            "diffusivity_error": up(0.1, "largest relative error of the learned diffusivity on [0.5, 1.5]"),
            "grid32": up(3e-3, "porous medium on 32 points: worst family's velocity MSE"),
            "grid128": up(2e-2, "porous medium on 128 points: worst family's velocity MSE"),
            "grid256": up(3e-2, "porous medium on 256 points: worst family's velocity MSE"),
        },
        baseline=False,
        porous=True,
    ),
    # The GENERIC chapter's experiment goes here: one Experiment (its data factory, ModelSpec,
    # FitConfig and measures with their levels); run, levels, the study and the tests read it.
]

#: Every trained experiment of the book, by name.
EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in _RECORDS}


# ---------------------------------------------------------------------------------------------
# Studies that are not one trained experiment: their asserted levels and what decides them.

#: Levels asserted on the studies of the kinetics chapter (reaction cycles), the chapter
#: "Why structure matters" and the chapter "Learn your own system".
STUDY_LEVELS: dict[str, Level] = {
    "cycle.balanced.relative_mse": up(5e-3, "GGD on the balanced cycle: test MSE / mean square velocity"),
    "cycle.driven.relative_mse": low(0.02, "the same GGD model on the driven cycle: test MSE / mean square velocity"),
    "cycle.driven.true_imaginary_share": low(0.25, "driven cycle: |imaginary| / |real| part of its eigenvalues"),
    "cycle.driven.model_imaginary_share": up(1e-6, "GGD model at its equilibrium: |imaginary| / |real| part"),
    "structure.overdamped-2d.test_mse": up(1e-6, "GGD test MSE at the study budget"),
    "structure.kinetics.test_mse": up(1e-3, "GGD test MSE at the study budget"),
    "structure.diffusion.test_mse": up(5e-4, "GGD test MSE at the study budget"),
    "heat-exchange.test_mse": up(1.5e-4, "test velocity MSE with fit's defaults"),
    "heat-exchange.rollout_mse": up(2e-4, "rollout MSE over all test trajectories"),
    "heat-exchange.energy_drift": up(0.05, "largest relative drift of the total energy along rollouts"),
}


#: Levels of the negative control fitted by the single-generator form (the structure chapter's bridge to
#: GENERIC), backed by the study's ``bridge`` runs; kept apart from :data:`STUDY_LEVELS`, whose entries
#: are part of the other study kinds' digests. Set at least twice the worst run (upper) or at most half
#: of it (lower).
BRIDGE_LEVELS: dict[str, Level] = {
    "control.single_generator.relative_mse": up(
        4e-6, "single-generator form on the oscillator: test MSE / mean square velocity (worst run 1.6e-6)"
    ),
    "control.single_generator.imaginary": low(
        0.4, "single-generator form: largest imaginary part at its rest point (true 0.995; worst run 0.995)"
    ),
}


def fit_defaults() -> dict[str, Any]:
    from ..training import fit

    return {
        k: p.default
        for k, p in inspect.signature(fit).parameters.items()
        if p.default is not inspect.Parameter.empty and k not in ("progress", "device")
    }


def study_settings(kind: str, name: str) -> dict:
    """What decides the numbers of a robustness-study run of ``kind`` (``"thesis"``: the record;
    the other kinds: their settings, the records they build on, and their levels), as plain data."""
    from . import studies

    if kind == "thesis":
        return EXPERIMENTS[name].canonical()
    levels = {k: [v.sense, v.bound] for k, v in STUDY_LEVELS.items()}
    if kind == "structure":
        settings = {k: _plain(s) for k, s in studies.STUDY.items()}
        used = {s.experiment: EXPERIMENTS[s.experiment].digest() for s in studies.STUDY.values()}
        return {"study": settings, "experiments": used, "levels": levels, "claims": list(studies.ASSERTED_CLAIMS)}
    if kind == "noise":
        setting = studies.STUDY[name]
        return {"study": _plain(setting), "experiment": EXPERIMENTS[setting.experiment].digest()}
    if kind == "control":
        return {"control": _name(studies.negative_control), "settings": studies.CONTROL}
    if kind == "bridge":  # the levels are not part of it: they are set from these runs
        return {"bridge": _name(studies.single_generator_control), "settings": studies.CONTROL}
    if kind == "cycle":
        return {"cycle": _ex.CYCLE, "affinities": _ex.CYCLE_AFFINITIES, "levels": levels}
    if kind == "own":
        return {
            "fit": fit_defaults(),
            "capacity": _ex.HEAT_CAPACITY,
            "conductance": sorted(_ex.CONDUCTANCE.items()),
            "levels": levels,
        }
    raise KeyError(f"unknown study kind {kind!r}")


def digest(kind: str, name: str) -> str:
    """A stable hash of :func:`study_settings` (``"thesis"``: :meth:`Experiment.digest`)."""
    return EXPERIMENTS[name].digest() if kind == "thesis" else settings_digest(study_settings(kind, name))
