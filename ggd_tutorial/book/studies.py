r"""The studies of the chapter "Why structure matters" (book layer): a GGD model against its
parameter-matched black box on the same data, over horizons, noise and data size; the claims the
chapter states about them; the four-way field comparison of the diffusion chapter; the damped
oscillator fitted by a GGD model and a black box.

The measures themselves (:func:`~ggd_tutorial.metrics.true_velocity_mse`,
:func:`~ggd_tutorial.metrics.horizon_errors`, :func:`~ggd_tutorial.metrics.second_law_violations`)
are in the core, :mod:`ggd_tutorial.metrics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

from ..data import add_noise
from ..metrics import (
    HorizonErrors,
    conservation_drift,
    horizon_errors,
    second_law_violations,
    true_velocity_mse,
)
from ..networks import count_parameters, matched_mlp
from ..systems import damped_oscillator

# ---------------------------------------------------------------------------------------------
# The study of the "Why structure matters" chapter and benchmarks/structure.py: one setting per
# system, with a training budget small enough for a 2-core CPU and identical for both models.


@dataclass(frozen=True)
class StudySetting:
    """GGD experiment whose model and data factory are used (a key of
    :data:`~ggd_tutorial.book.registry.EXPERIMENTS`), training budget, rollout step and estimator
    windows; ``trajectories`` (and ``data_options``) change the experiment's data set."""

    experiment: str
    fit: dict
    rollout_dt: float
    savgol_window: int
    rollout_window: int = 4
    away_from_equilibrium: float = 1e-3
    stoichiometry_given: bool = False  # the GGD model's dissipation sees x* only through nu^T x*
    trajectories: int = 128
    data_options: tuple[tuple[str, Any], ...] = ()


STUDY: dict[str, StudySetting] = {
    "overdamped-2d": StudySetting(
        "overdamped-2d", dict(adam_steps=200, lbfgs_steps=300, adam_lr=1e-2, max_points=2000), 0.2, 31
    ),
    "kinetics": StudySetting(  # both potentials learned, the stoichiometry given: conservation laws exact
        "kinetics-free",
        dict(adam_steps=200, lbfgs_steps=400, adam_lr=1e-2, max_points=2000, early_fraction=0.5),
        0.2,
        31,
        stoichiometry_given=True,
    ),
    "diffusion": StudySetting(  # 320 Fourier-mode trajectories; the unseen families are not used
        "diffusion",
        dict(adam_steps=0, lbfgs_steps=300, max_points=2000),
        0.03,
        9,
        trajectories=320,
        data_options=(("n_test", 1),),
    ),
}


def study_data(name: str, n: int | None = None, seed: int = 1):
    """(system, clean trajectories, dt) of a study system: the data factory of its experiment with
    ``n`` trajectories, by default the setting's (128 as in the thesis for the particle and
    kinetics, 320 Fourier-mode trajectories for diffusion)."""
    from .registry import EXPERIMENTS

    if name not in STUDY:
        raise KeyError(f"unknown study system {name!r}; choose from {sorted(STUDY)}")
    setting = STUDY[name]
    spec = EXPERIMENTS[setting.experiment].data
    options = {**dict(spec.options), "n": n or setting.trajectories, "seed": seed, **dict(setting.data_options)}
    system, data = spec.factory(**options)[:2]
    return system, data.trajectories, data.dt


def study_models(name: str, system, seed: int = 0) -> dict[str, nn.Module]:
    """Fresh GGD model of the study system (initial weights seeded with ``seed``) and its
    parameter-matched MLP (seeded with ``seed + 1``)."""
    from . import experiments as ex

    given = dict(dissipation_rank=None, dissipation_projection=system.nu) if STUDY[name].stoichiometry_given else {}
    ggd = ex.build_model(STUDY[name].experiment, system, seed=seed, **given)
    torch.manual_seed(seed + 1)
    mlp = matched_mlp(ggd, system.dim).to(torch.float64)
    return {"GGD": ggd, "MLP": mlp}


def train_and_score(
    name: str,
    system,
    model: nn.Module,
    train,
    test,
    estimator: str = "central",
    progress: bool = False,
    seed: int = 0,
    **fit_overrides,
) -> float:
    """Fit ``model`` on ``train`` (a TrajectorySet) with the study budget (training subsample
    seeded with ``seed``) and return its :func:`true_velocity_mse` on the clean ``test``
    trajectories. ``estimator`` is "central", "savgol" (velocity targets) or "rollout"
    (short-window rollout loss)."""
    from ..data import TrajectorySet
    from ..training import fit
    from . import experiments as ex

    setting = STUDY[name]
    kwargs = dict(ex.FIXED_BUDGET.kwargs(), **setting.fit, progress=progress, seed=seed)
    if estimator == "rollout":
        kwargs["rollout_window"] = setting.rollout_window
        kwargs["max_points"] = min(kwargs.get("max_points") or 10**9, 500)  # ~4k x the cost per point
    elif estimator == "savgol":
        train = TrajectorySet(train.trajectories, train.dt, "savgol", setting.savgol_window)
    elif estimator != "central":
        raise ValueError(f"estimator must be 'central', 'savgol' or 'rollout', got {estimator!r}")
    kwargs.update(fit_overrides)
    fit(model, train, **kwargs)
    return true_velocity_mse(model, system, test.trajectories[:, 1:-1])


def noise_sweep(
    name: str,
    levels: Sequence[float] = (0.0, 1e-4, 1e-3, 1e-2),
    estimators: Sequence[str] = ("central", "savgol", "rollout"),
    models: Sequence[str] = ("GGD", "MLP"),
    progress: bool = False,
    seed: int = 0,
) -> list[dict]:
    """Test MSE (against the exact vector field) for every noise level, estimator and model.

    Noise is added to the training trajectories only; the test trajectories stay clean.
    ``seed`` seeds the initial weights and the training subsample (not the noise)."""
    from ..data import TrajectoryData

    system, trajectories, dt = study_data(name)
    clean = TrajectoryData(trajectories, dt, seed=1)
    rows = []
    for level in levels:
        noisy = TrajectoryData(add_noise(trajectories, level, seed=2), dt, seed=1)
        for estimator in estimators:
            for model_name in models:
                model = study_models(name, system, seed)[model_name]
                mse = train_and_score(name, system, model, noisy.train, clean.test, estimator, progress, seed)
                rows.append(dict(system=name, noise=level, estimator=estimator, model=model_name, mse=mse))
    return rows


def data_sweep(
    name: str, sizes: Sequence[int] = (4, 16, 64), models: Sequence[str] = ("GGD", "MLP"), progress: bool = False
) -> list[dict]:
    """Test MSE against the number of training trajectories (the first ``n`` of the training
    split; the test split is the same for every size)."""
    from ..data import TrajectoryData, TrajectorySet

    system, trajectories, dt = study_data(name)
    data = TrajectoryData(trajectories, dt, seed=1)
    rows = []
    for n in sizes:
        if n > len(data.train):
            raise ValueError(f"{name}: only {len(data.train)} training trajectories, asked for {n}")
        train = TrajectorySet(data.train.trajectories[:n], dt)
        for model_name in models:
            model = study_models(name, system)[model_name]
            mse = train_and_score(name, system, model, train, data.test, progress=progress)
            rows.append(dict(system=name, trajectories=n, model=model_name, mse=mse))
    return rows


@dataclass
class Comparison:
    """GGD and its matched MLP trained on the same data of one study system."""

    name: str
    system: object
    models: dict
    test_mse: dict
    horizons: dict
    violations: dict
    violations_away: dict
    own_production_min: float  # GGD's own dS/dt at test states and along its rollouts (within 100x the data range)
    parameters: dict

    def rows(self) -> list[str]:
        """Markdown table rows, one per model."""
        out = []
        for m in self.models:
            h = self.horizons[m]
            errs = " | ".join(f"{e:.1e}" for e in h.mse)
            out.append(
                f"| {self.name} | {m} | {self.parameters[m]} | {self.test_mse[m]:.1e} | {errs} | "
                f"{h.final_distance:.1e} | {h.reached:.0%} | {h.settled:.0%} | {self.violations[m]:.1%} | "
                f"{self.violations_away[m]:.1%} |"
            )
        return out


TABLE_HEADER = (
    "| system | model | parameters | test MSE | rollout MSE 1x | 5x | 20x | worst distance from the true "
    "final state, 20x | at the true final state | settled | true dS/dt < 0 | same, away from equilibrium |"
    "\n|" + "---|" * 12
)


def compare_on(name: str, multiples: Sequence[int] = (1, 5, 20), progress: bool = False, seed: int = 0) -> Comparison:
    """Train the GGD model of study system ``name`` and its parameter-matched MLP on the same
    clean data with the same budget; measure test MSE, long rollouts and the second law.
    ``seed`` seeds the initial weights and the training subsample (the data never change)."""
    from ..data import TrajectoryData
    from ..metrics import entropy_production

    setting = STUDY[name]
    system, trajectories, dt = study_data(name)
    data = TrajectoryData(trajectories, dt, seed=1)
    models = study_models(name, system, seed)
    test_states = data.test.trajectories[:, 1:-1]
    horizon = (data.test.trajectories.shape[1] - 1) * dt
    x0 = data.test.trajectories[:, 0]
    result = Comparison(name, system, models, {}, {}, {}, {}, math.nan, {})
    for m, model in models.items():
        result.test_mse[m] = train_and_score(name, system, model, data.train, data.test, progress=progress, seed=seed)
        result.parameters[m] = count_parameters(model)
        result.horizons[m] = horizon_errors(model, system, x0, horizon, multiples, dt=setting.rollout_dt)
        result.violations[m] = second_law_violations(model, system, test_states)
        result.violations_away[m] = second_law_violations(model, system, test_states, setting.away_from_equilibrium)
    ggd_states = torch.cat(
        [test_states.reshape(-1, system.dim), result.horizons["GGD"].predicted.reshape(-1, system.dim)]
    )
    # a diverged explicit rollout leaves the data range (or overflows): judge dS/dt within 100x of it
    reach = 100 * float(test_states.abs().max())
    ggd_states = ggd_states[torch.isfinite(ggd_states).all(-1) & (ggd_states.abs().amax(-1) <= reach)]
    result.own_production_min = float(entropy_production(models["GGD"], ggd_states).min())
    return result


# ---------------------------------------------------------------------------------------------
# What the chapter says about the comparison, as checks on the results of ``compare_on`` for all
# study systems (``results``) and of the chapter's noise sweep (``rows``). benchmarks/robustness.py
# counts how often each holds over seeds and thread counts; the chapter asserts only those in
# ASSERTED_CLAIMS, which held in every run (a test checks this against benchmarks/robustness.md).


def _h(results: dict, system: str, model: str) -> HorizonErrors:
    return results[system].horizons[model]


CLAIMS = {
    "GGD: no true-entropy decrease away from equilibrium, all systems": lambda r: all(
        c.violations_away["GGD"] == 0.0 for c in r.values()
    ),
    "GGD: no true-entropy decrease away from equilibrium, particle and diffusion": lambda r: (
        r["overdamped-2d"].violations_away["GGD"] == 0.0 and r["diffusion"].violations_away["GGD"] == 0.0
    ),
    "GGD: every particle and kinetics rollout comes to rest": lambda r: (
        _h(r, "overdamped-2d", "GGD").settled == 1.0 and _h(r, "kinetics", "GGD").settled == 1.0
    ),
    "particle: the MLP's test MSE is at most GGD's": lambda r: (
        r["overdamped-2d"].test_mse["MLP"] <= r["overdamped-2d"].test_mse["GGD"]
    ),
    "kinetics: GGD rollouts stay bounded at 20x (MSE < 1)": lambda r: _h(r, "kinetics", "GGD").mse[-1] < 1,
    "kinetics: the MLP blows up at 20x (MSE > 1e3)": lambda r: _h(r, "kinetics", "MLP").mse[-1] > 1e3,
    "kinetics: GGD is closer than the MLP at 20x": lambda r: (
        _h(r, "kinetics", "GGD").mse[-1] < _h(r, "kinetics", "MLP").mse[-1]
    ),
    "kinetics: the MLP is closer than GGD at 5x": lambda r: (
        _h(r, "kinetics", "MLP").mse[1] < _h(r, "kinetics", "GGD").mse[1]
    ),
    "kinetics: GGD ends within 1 % of the true equilibrium in no rollout": lambda r: (
        _h(r, "kinetics", "GGD").reached == 0.0
    ),
    "kinetics: GGD ends within 1 % of the true equilibrium in every rollout": lambda r: (
        _h(r, "kinetics", "GGD").reached == 1.0
    ),
    "kinetics: GGD keeps the true conservation laws to 1e-10 along every rollout": lambda r: (
        conservation_drift(_h(r, "kinetics", "GGD"), r["kinetics"].system) < 1e-10
    ),
    "kinetics: the MLP drifts off the conservation laws by more than 1e-3": lambda r: (
        conservation_drift(_h(r, "kinetics", "MLP"), r["kinetics"].system) > 1e-3
    ),
    "kinetics: the MLP decreases the true entropy at > 1 % of states away from equilibrium": lambda r: (
        r["kinetics"].violations_away["MLP"] > 0.01
    ),
    "diffusion: GGD is 10x closer than the MLP at every horizon": lambda r: all(
        m > 10 * g for g, m in zip(_h(r, "diffusion", "GGD").mse, _h(r, "diffusion", "MLP").mse)
    ),
    "diffusion: GGD's test MSE is 100x below the MLP's": lambda r: (
        r["diffusion"].test_mse["GGD"] < 1e-2 * r["diffusion"].test_mse["MLP"]
    ),
}


def _noise(rows: list[dict]) -> dict:
    return {(r["noise"], r["estimator"], r["model"]): r["mse"] for r in rows}


NOISE_CLAIMS = {
    "particle, 1 % noise: Savitzky-Golay targets 10x better than central differences, both models": lambda rows: all(
        _noise(rows)[(1e-2, "savgol", m)] < 0.1 * _noise(rows)[(1e-2, "central", m)] for m in ("GGD", "MLP")
    ),
    "particle, 1 % noise: central differences 100x worse than clean data, both models": lambda rows: all(
        _noise(rows)[(1e-2, "central", m)] > 100 * _noise(rows)[(0.0, "central", m)] for m in ("GGD", "MLP")
    ),
}

# ---------------------------------------------------------------------------------------------
# Fields: four models on the same diffusion data, to separate what locality buys from what the
# GGD structure buys (benchmarks/fields.py runs it over seeds and thread counts).

#: The four models of :func:`field_comparison` and the priors each one carries.
FIELD_MODELS: dict[str, str] = {
    "dense MLP": "no locality, no thermodynamics: a softplus MLP on all 64 values, parameter-matched "
    "to the stencil GGD model",
    "stencil GGD": "GGD with 3-tap periodic stencils (their quadratic part contains the exact discrete "
    "heat equation) and a small network on all 64 values; 64 points only",
    "local GGD": "GGD of shared local densities (LocalFieldModel): mass conserved and any grid by "
    "construction; its quadratic skip terms contain the heat equation",
    "local CNN": "local and translation-invariant, no thermodynamics (LocalConvolution, stencil width 3)",
}


@dataclass
class FieldComparison:
    """The four :data:`FIELD_MODELS` trained on the same diffusion data (one seed)."""

    seed: int
    models: dict
    parameters: dict
    train_s: dict
    test_mse: dict  # model -> {family: velocity MSE against the central-difference targets}
    exact_mse: dict  # model -> MSE against the exact velocity at the test states of all families
    horizons: dict  # model -> HorizonErrors (rollouts at 1, 5 and 20 times the data's horizon)
    mass_drift: dict  # model -> largest relative mass change over 20x rollouts
    violations_away: dict  # model -> share of states (test states and its own rollouts) where the true
    #                         entropy decreases along it, among those away from equilibrium

    def record(self) -> dict:
        """The scalars of every model, for a JSON line."""
        return {
            m: dict(
                parameters=self.parameters[m],
                train_s=round(self.train_s[m], 1),
                **self.test_mse[m],
                exact=self.exact_mse[m],
                rollout_1x=self.horizons[m].mse[0],
                rollout_5x=self.horizons[m].mse[1],
                rollout_20x=self.horizons[m].mse[2],
                reached=self.horizons[m].reached,
                mass_drift=self.mass_drift[m],
                violations_away=self.violations_away[m],
            )
            for m in self.models
        }


def _train_field_models(system, data, seed: int, progress: bool, **fit_overrides) -> tuple[dict, dict]:
    """The four models of :data:`FIELD_MODELS` trained on ``data``, and their training times (s)."""
    import time

    from ..training import fit
    from . import experiments as ex
    from .registry import EXPERIMENTS

    def trained(model, setting: str):
        t0 = time.perf_counter()
        budget = EXPERIMENTS[setting].fit.kwargs()
        fit(model, data, **{**budget, "seed": seed, "progress": progress, **fit_overrides})
        return model, time.perf_counter() - t0

    stencil = ex.build_model("diffusion", system, seed=seed)
    torch.manual_seed(seed + 1)
    with ex.float64_default():
        mlp = matched_mlp(stencil, system.dim)
    out = {
        "dense MLP": trained(mlp, "diffusion"),  # the stencil model's budget
        "stencil GGD": trained(stencil, "diffusion"),
        "local GGD": trained(ex.build_model("diffusion-local", system, seed=seed), "diffusion-local"),
    }
    t0 = time.perf_counter()
    out["local CNN"] = (
        ex.train_local_baseline(data, seed=seed, progress=progress, **fit_overrides)[0],
        time.perf_counter() - t0,
    )
    return {m: v[0] for m, v in out.items()}, {m: v[1] for m, v in out.items()}


def field_comparison(seed: int = 0, per_family: int = 8, progress: bool = False, **fit_overrides) -> FieldComparison:
    """Train the four :data:`FIELD_MODELS` on the chapter's diffusion data (320 Fourier-mode
    trajectories for training, budgets of ``experiments.SETTINGS``, the dense MLP with the
    stencil model's) and measure each on the unseen families: test MSE, error against the exact
    velocity, rollouts from ``per_family`` initial states of each family and of the held-out
    Fourier data at 1, 5 and 20 times the data's horizon, mass drift, and the true second law
    away from equilibrium (true entropy production above ``STUDY["diffusion"]``'s threshold).
    ``fit_overrides`` change every model's budget (for quick checks)."""
    from ..metrics import velocity_mse
    from . import experiments as ex

    system, data, tests = ex.diffusion_data()
    models, train_s = _train_field_models(system, data, seed, progress, **fit_overrides)
    sets = {**tests, "fourier (held out)": data.test}
    states = torch.cat([s.states[:, ::8].reshape(-1, system.dim) for s in tests.values()])
    x0 = torch.cat([s.trajectories[:per_family, 0] for s in sets.values()])
    horizon = (data.test.trajectories.shape[1] - 1) * data.dt
    away = STUDY["diffusion"].away_from_equilibrium
    result = FieldComparison(seed, models, {}, train_s, {}, {}, {}, {}, {})
    for m, model in models.items():
        result.parameters[m] = count_parameters(model)
        result.test_mse[m] = {k.split(" (")[0]: float(velocity_mse(model, s)) for k, s in sets.items()}
        result.exact_mse[m] = true_velocity_mse(model, system, states)
        h = result.horizons[m] = horizon_errors(model, system, x0, horizon, (1, 5, 20), dt=data.dt)
        result.mass_drift[m] = ex.mass_drift(model, tests["polynomial"].trajectories[:per_family, 0])
        visited = h.predicted.reshape(-1, system.dim)
        visited = visited[torch.isfinite(visited).all(-1) & (visited.abs().amax(-1) <= 100 * float(states.abs().max()))]
        result.violations_away[m] = second_law_violations(model, system, torch.cat([states, visited]), away)
    return result


# ---------------------------------------------------------------------------------------------
# A negative control: a spiralling system that the GGD architecture misses at this budget (its
# class does not exclude it away from the rest point: see the theory chapter's section on the class).


#: Data and budget of the negative control (both models, same budget and subsample).
CONTROL: dict[str, Any] = dict(
    n=64, steps=200, dt=0.05, fit=dict(adam_steps=200, lbfgs_steps=300, adam_lr=1e-2, max_points=2000)
)


def negative_control(seed: int = 0, progress: bool = False) -> dict[str, float]:
    r"""Fit a GGD model and its parameter-matched MLP to the damped oscillator; return each one's
    test MSE against the exact field, relative to the mean square velocity (0: perfect, ~1: no fit),
    and the local test of the class, the largest imaginary part of the spectrum at the rest point
    (:func:`~ggd_tutorial.metrics.rest_point_spectrum`): of a local linear fit of the training data
    at the origin (``"data imaginary"``), of the fitted MLP there (``"MLP imaginary"``) and of the
    GGD model at its own rest point (``"GGD imaginary"``, zero for every weight value: its mobility
    is smooth). The true value is :math:`\sqrt{1-\gamma^2/4}\approx0.995`."""
    from ..data import TrajectoryData, simulate, uniform_box
    from ..metrics import entropy_maximum, rest_point_spectrum
    from ..networks import GradientDynamicsModel
    from ..training import fit
    from . import experiments as ex

    traj = simulate(damped_oscillator, uniform_box(CONTROL["n"], 2, -1, 1, seed=1), CONTROL["dt"], CONTROL["steps"])
    data = TrajectoryData(traj, CONTROL["dt"], seed=1)
    torch.manual_seed(seed)
    with ex.float64_default():
        models: dict[str, nn.Module] = {"GGD": GradientDynamicsModel(2, hidden=(16, 16))}
        torch.manual_seed(seed + 1)
        models["MLP"] = matched_mlp(models["GGD"], 2)
    states = data.test.states.reshape(-1, 2)
    scale = float(damped_oscillator(states).pow(2).mean())
    out = {}
    for name, model in models.items():
        fit(model, data, **{**ex.FIXED_BUDGET.kwargs(), **CONTROL["fit"]}, seed=seed, progress=progress)
        out[name] = true_velocity_mse(model, damped_oscillator, states) / scale
    origin = torch.zeros(2, dtype=torch.float64)
    spectra = {
        "data": rest_point_spectrum((data.train.states, data.train.velocities), origin),
        "MLP": rest_point_spectrum(models["MLP"], origin),
        "GGD": rest_point_spectrum(models["GGD"], entropy_maximum(models["GGD"], origin)),
    }
    out.update({f"{k} imaginary": float(v.imag.abs().max()) for k, v in spectra.items()})
    return out


def single_generator_control(seed: int = 0, progress: bool = False) -> dict[str, float]:
    r"""The negative control's data and budget fitted by the single-generator form
    :math:`\dot x=W\,\partial_xS+\partial_{x^*}\Xi` (OnsagerNet's :math:`W` term;
    :class:`~ggd_tutorial.generic.GENERICModel` with ``single_generator=True``, a constant learned
    antisymmetric :math:`W`, initial weights from a generator seeded with ``seed``): its test MSE
    against the exact field relative to the mean square velocity, and the largest imaginary part of its
    spectrum at the maximum of its entropy (its rest point). In two dimensions the two-generator form has
    :math:`L=P_SAP_S\equiv0`, so an isothermal oscillator needs this form (or, as in the GENERIC chapter,
    the energy of a heat bath as a third variable)."""
    from ..data import TrajectoryData, simulate, uniform_box
    from ..generic import GENERICModel
    from ..metrics import entropy_maximum, rest_point_spectrum
    from ..training import fit
    from . import experiments as ex

    traj = simulate(damped_oscillator, uniform_box(CONTROL["n"], 2, -1, 1, seed=1), CONTROL["dt"], CONTROL["steps"])
    data = TrajectoryData(traj, CONTROL["dt"], seed=1)
    with ex.float64_default():
        model = GENERICModel(
            2, single_generator=True, poisson="constant", hidden=(16, 16), generator=torch.Generator().manual_seed(seed)
        )
    fit(model, data, **{**ex.FIXED_BUDGET.kwargs(), **CONTROL["fit"]}, seed=seed, progress=progress)
    states = data.test.states.reshape(-1, 2)
    relative = true_velocity_mse(model, damped_oscillator, states) / float(damped_oscillator(states).pow(2).mean())
    rest = entropy_maximum(model, torch.zeros(2, dtype=torch.float64))
    imaginary = float(rest_point_spectrum(model, rest).imag.abs().max())
    return {"single generator": relative, "single generator imaginary": imaginary}


CONTROL_CLAIMS = {
    "oscillator: the trained GGD network misses it (relative test MSE > 0.05)": lambda r: r["GGD"] > 0.05,
    "oscillator: the MLP fits it 100x better than GGD": lambda r: r["MLP"] < 0.01 * r["GGD"],
}


#: The claims the chapter asserts: each held in every run of benchmarks/robustness.py (the others
#: held in some runs only; the chapter shows how often).
ASSERTED_CLAIMS: tuple[str, ...] = (
    (
        # with the stoichiometry given, the kinetics GGD model lowered the true entropy away from
        # equilibrium in 2 of 6 runs: "all systems" is no longer asserted, particle and diffusion are
        "GGD: no true-entropy decrease away from equilibrium, particle and diffusion",
        "particle: the MLP's test MSE is at most GGD's",
        "kinetics: GGD rollouts stay bounded at 20x (MSE < 1)",
        "kinetics: GGD ends within 1 % of the true equilibrium in no rollout",
        "kinetics: GGD keeps the true conservation laws to 1e-10 along every rollout",
        "kinetics: the MLP drifts off the conservation laws by more than 1e-3",
    )
    + tuple(NOISE_CLAIMS)
    + tuple(CONTROL_CLAIMS)
)
assert set(ASSERTED_CLAIMS) <= set(CLAIMS) | set(NOISE_CLAIMS) | set(CONTROL_CLAIMS)


def claims_held(
    results: dict | None = None, noise_rows: list[dict] | None = None, control: dict | None = None
) -> dict[str, bool]:
    """Which of :data:`CLAIMS` (given ``results``), :data:`NOISE_CLAIMS` (given the rows of
    the chapter's noise sweep) and :data:`CONTROL_CLAIMS` (given :func:`negative_control`) hold."""
    out = {}
    if control is not None:
        out.update({k: bool(f(control)) for k, f in CONTROL_CLAIMS.items()})
    if results is not None:
        out.update({k: bool(f(results)) for k, f in CLAIMS.items()})
    if noise_rows is not None:
        out.update({k: bool(f(noise_rows)) for k, f in NOISE_CLAIMS.items()})
    return out
