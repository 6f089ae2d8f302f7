r"""The chapter "Reversible and irreversible: GENERIC": data, models, training and every asserted number.

The system is :class:`~ggd_tutorial.systems.DampedOscillatorBath` (an oscillator with nonlinear friction
whose heat goes into a bath, :math:`x=(q,p,e)`). Six models are trained on the same trajectories with the
same budget and seed:

* ``"GENERIC, L given"``: :class:`~ggd_tutorial.generic.GENERICModel` with the canonical :math:`L` of
  :math:`(q,p)` and the bath's entropy :math:`S=C\ln e` prescribed, :math:`E` and a non-quadratic
  :math:`\Xi` (PICNN) learned;
* ``"GENERIC, L learned"``: the same with a learned constant antisymmetric matrix;
* ``"GENERIC, quadratic Xi"``: :math:`L` and :math:`S` given, :math:`\Xi=\frac12y^\top M(x)y` with a
  learned PSD :math:`M(x)` (GFINN-like linear response, :math:`M\,\partial_xE=0` exactly);
* ``"GENERIC, S learned"``: :math:`L` given, :math:`E`, :math:`S` and :math:`\Xi` all learned;
* ``"single generator"``: :math:`\dot x=W\partial_xS+\partial_{x^*}\Xi` (OnsagerNet's form, no energy,
  its own :math:`S` learned);
* ``"GGD"``: :class:`~ggd_tutorial.networks.GradientDynamicsModel`, purely dissipative, :math:`S` learned;
* ``"MLP"``: the parameter-matched black box (:func:`~ggd_tutorial.networks.matched_mlp`).

:func:`measure` computes every quantity the chapter prints and asserts; ``benchmarks/generic.py`` calls
the same function over seeds and thread counts, and :data:`LEVELS` holds the asserted bounds, at least
twice the worst run of that study (an upper bound) or half of it (a lower bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import torch
from torch import Tensor, nn

from ..data import TrajectoryData, simulate
from ..discrete_gradient import discrete_gradient_step
from ..equilibria import spectrum
from ..generic import GENERICModel
from ..integrators import rollout
from ..metrics import evaluate, linearization
from ..networks import GradientDynamicsModel, count_parameters, matched_mlp
from ..systems import DampedOscillatorBath
from ..training import FitHistory, fit
from .registry import MARGIN, Level, assert_level, low, up

#: The system: friction gamma T sinh(p / T), heat capacity C of the bath (T = e / C).
SYSTEM: dict[str, Any] = dict(gamma=0.5, heat_capacity=1.0)
#: The data: n trajectories of `steps` samples `dt` apart, (q, p) uniform in [-1, 1]^2, e in E_RANGE.
DATA: dict[str, Any] = dict(n=48, dt=0.05, steps=161, seed=1, test_fraction=0.25)
E_RANGE = (0.5, 1.0)
#: Hidden widths of every network, and the common training budget.
HIDDEN = (16, 16)
FIT: dict[str, Any] = dict(
    adam_steps=200, lbfgs_steps=300, adam_lr=1e-2, max_points=1500, tol=0.0, early_fraction=0.0, progress=False
)
#: The long rollouts: from the first `n` test initial states, `steps` steps of `dt` (5x the data's horizon).
ROLLOUT: dict[str, Any] = dict(n=6, dt=0.2, steps=201)
#: Substeps per sample for a discrete-gradient rollout whose Newton and fixed-point solves fail at dt.
DG_RETRY_SUBSTEPS = 4

MODELS = (
    "GENERIC, L given",
    "GENERIC, L learned",
    "GENERIC, quadratic Xi",
    "GENERIC, S learned",
    "single generator",
    "GGD",
    "MLP",
)
#: The models with an energy (GENERIC with two generators).
WITH_ENERGY = MODELS[:4]
#: The models with an entropy (all but the MLP); the discrete-gradient step applies to them.
WITH_ENTROPY = MODELS[:6]


def bath_entropy(x: Tensor) -> Tensor:
    """The bath's entropy C ln e, prescribed to the GENERIC models (its equation of state)."""
    return SYSTEM["heat_capacity"] * torch.log(x[:, 2])


def canonical_poisson(dtype: torch.dtype = torch.float64) -> Tensor:
    """The canonical matrix of (q, p), with a zero row and column for the bath energy e."""
    L = torch.zeros(3, 3, dtype=dtype)
    L[0, 1], L[1, 0] = 1.0, -1.0
    return L


def oscillator_data(seed: int | None = None) -> tuple[DampedOscillatorBath, TrajectoryData]:
    """The system and its trajectories, split into training and test trajectories (float64)."""
    system = DampedOscillatorBath(**SYSTEM)
    gen = torch.Generator().manual_seed(DATA["seed"] if seed is None else int(seed))
    u = torch.rand(DATA["n"], 3, generator=gen, dtype=torch.float64)
    low, high = E_RANGE
    x0 = torch.stack([2 * u[:, 0] - 1, 2 * u[:, 1] - 1, low + (high - low) * u[:, 2]], dim=1)
    trajectories = simulate(system, x0, DATA["dt"], DATA["steps"])
    data = TrajectoryData(trajectories, DATA["dt"], test_fraction=DATA["test_fraction"], seed=DATA["seed"])
    return system, data


def build_model(kind: str, seed: int = 0) -> nn.Module:
    """Model ``kind`` (one of :data:`MODELS`) in float64, its initial weights drawn from ``seed``.

    The same seed gives the same initial weights whatever the caller's default dtype: the GENERIC
    models draw them in float32 from a ``torch.Generator`` and cast them to float64 (as the study
    recorded them), GGD and the MLP draw them in float64 from ``torch.manual_seed(seed)``."""
    if kind in MODELS[:5]:
        with _default_dtype(torch.float32):
            return _build_generic(kind, torch.Generator().manual_seed(int(seed)))
    if kind == "GGD":
        with _seeded(seed):
            return GradientDynamicsModel(3, hidden=HIDDEN).to(torch.float64)
    if kind == "MLP":
        reference = build_model("GENERIC, L given", seed)
        with _seeded(seed + 1):
            return matched_mlp(reference, 3).to(torch.float64)
    raise ValueError(f"unknown model kind {kind!r}; choose one of {MODELS}")


class _default_dtype:
    def __init__(self, dtype: torch.dtype) -> None:
        self.dtype = dtype

    def __enter__(self):
        self._old = torch.get_default_dtype()
        torch.set_default_dtype(self.dtype)

    def __exit__(self, *exc):
        torch.set_default_dtype(self._old)


def _build_generic(kind: str, gen: torch.Generator) -> GENERICModel:
    common: dict[str, Any] = dict(hidden=HIDDEN, dtype=torch.float64, generator=gen)
    if kind == "GENERIC, L given":
        return GENERICModel(3, poisson=canonical_poisson(), entropy=bath_entropy, **common)
    if kind == "GENERIC, L learned":
        return GENERICModel(3, poisson="constant", entropy=bath_entropy, **common)
    if kind == "GENERIC, quadratic Xi":
        return GENERICModel(3, poisson=canonical_poisson(), entropy=bath_entropy, dissipation="quadratic", **common)
    if kind == "GENERIC, S learned":
        return GENERICModel(3, poisson=canonical_poisson(), **common)
    return GENERICModel(3, poisson="constant", single_generator=True, **common)  # "single generator"


class _seeded:
    """Draw initial weights in float64 from ``torch.manual_seed(seed)``, restoring the global RNG
    and default dtype afterwards (the core models without a ``generator`` argument)."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def __enter__(self):
        self._fork = torch.random.fork_rng(devices=[])
        self._fork.__enter__()
        torch.manual_seed(self.seed)
        self._dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)

    def __exit__(self, *exc):
        torch.set_default_dtype(self._dtype)
        return self._fork.__exit__(*exc)


def train(kind: str, data: TrajectoryData, seed: int = 0, **fit_overrides) -> tuple[nn.Module, FitHistory]:
    """Build model ``kind`` from ``seed`` and train it on ``data`` with the common budget :data:`FIT`."""
    model = build_model(kind, seed)
    history = fit(model, data, **{**FIT, "seed": int(seed), **fit_overrides})
    return model, history


def train_all(data: TrajectoryData, seed: int = 0, kinds=MODELS) -> tuple[dict[str, nn.Module], dict[str, FitHistory]]:
    """Every model of ``kinds`` trained on the same data with the same budget and seed."""
    models, histories = {}, {}
    for kind in kinds:
        models[kind], histories[kind] = train(kind, data, seed)
    return models, histories


def _values(fn, x: Tensor) -> Tensor:
    """A scalar function of the states ``x`` (..., dim), shape (...); no graph is kept."""
    flat = x.reshape(-1, x.shape[-1])
    with torch.enable_grad():
        out = fn(flat)
    return out.detach().reshape(x.shape[:-1])


def rest_point(f, x: Tensor, iterations: int = 30) -> Tensor:
    """A rest point of ``f`` near the state ``x`` (dim,): minimum-norm Newton steps on f = 0 (the
    pseudo-inverse also handles the line of rest states of a system that conserves energy)."""
    x = x.detach().clone()
    for _ in range(iterations):
        value = evaluate(f, x[None])[0]
        if float(value.abs().max()) < 1e-13:
            break
        x = x - torch.linalg.pinv(linearization(f, x), rtol=1e-10) @ value
    return x


@dataclass
class Rollouts:
    """Long rollouts of one model from the same initial states, with one method."""

    method: str
    states: Tensor  # (batch, steps, dim)
    energy: Tensor | None = None  # learned energy along them, (batch, steps)
    entropy: Tensor | None = None  # learned entropy along them, (batch, steps)
    true_energy: Tensor | None = None  # (batch, steps)
    substeps: int = 1  # steps per sample (more where the implicit step did not converge at dt)


def long_rollouts(model: nn.Module, system: DampedOscillatorBath, x0: Tensor, method: str) -> Rollouts:
    """Roll ``model`` out from ``x0`` (:data:`ROLLOUT`) with ``method`` ("rk4" or "discrete_gradient")
    and record its learned energy and entropy (where it has them) and the true energy along the way."""
    try:
        states = rollout(model, x0, ROLLOUT["dt"], ROLLOUT["steps"], method=method)
        substeps = 1
    except RuntimeError:  # the implicit step did not converge somewhere: step by step, see _robust_dg
        states, substeps = _robust_dg(model, x0, ROLLOUT["dt"], ROLLOUT["steps"])
    out = Rollouts(method, states, substeps=substeps)
    finite = bool(torch.isfinite(states).all()) or method == "discrete_gradient"  # NaN: a failed solve
    if isinstance(model, GENERICModel) and model.has_energy and finite:
        out.energy = _values(model.energy, states)
    if hasattr(model, "entropy") and finite:
        out.entropy = _values(model.entropy, states)
    bath = states[..., 2].clamp_min(1e-12)  # the true energy needs only e > 0 for the check
    out.true_energy = 0.5 * (states[..., 0] ** 2 + states[..., 1] ** 2) + bath
    return out


def _dg_sample(model: Any, x: Tensor, dt: float, substeps: int) -> Tensor:
    for _ in range(substeps):
        x = discrete_gradient_step(model, x, dt / substeps)
    return x


def _robust_dg(model: nn.Module, x0: Tensor, dt: float, steps: int) -> tuple[Tensor, int]:
    """A discrete-gradient rollout that survives a failed implicit solve: a sample whose step does not
    converge is retried with :data:`DG_RETRY_SUBSTEPS` substeps, state by state; a state for which that
    fails too is NaN from there on (its rollout left the region where the solve converges). Returns
    the states and the largest number of substeps used."""
    x = x0.detach().clone()
    out, used = [x], 1
    for _ in range(steps - 1):
        alive = torch.isfinite(x).all(-1)
        nxt = torch.full_like(x, float("nan"))
        try:
            nxt[alive] = _dg_sample(model, x[alive], dt, 1)
        except RuntimeError:
            used = DG_RETRY_SUBSTEPS
            for i in torch.nonzero(alive).flatten().tolist():
                try:
                    nxt[i] = _dg_sample(model, x[i : i + 1], dt, DG_RETRY_SUBSTEPS)[0]
                except RuntimeError:
                    pass  # stays NaN
        x = nxt
        out.append(x)
    return torch.stack(out, dim=1), used


def _spread(values: Tensor) -> float:
    """Spread (max - min) of a learned potential over the rollout's initial states: the scale against
    which its drift and its steps are measured (a learned E or S has an arbitrary offset)."""
    return float(values[:, 0].max() - values[:, 0].min())


def _relative_drift(values: Tensor | None) -> float:
    """Largest change of a learned energy along the rollouts (over the computed, finite steps)."""
    if values is None:
        return math.inf
    change = (values - values[:, :1]).abs()
    return float(change[torch.isfinite(change)].max()) / _spread(values)


def _largest_decrease(values: Tensor | None) -> float:
    """Largest decrease of a learned entropy from one step to the next (over the computed, finite
    steps), relative to its spread."""
    if values is None:
        return math.inf
    steps = values.diff(dim=1)
    return float(-steps[torch.isfinite(steps)].min()) / _spread(values)


def true_spectrum(system: DampedOscillatorBath) -> Tensor:
    """Eigenvalues of the true linearization at a rest state (by autograd, not the formula)."""
    return spectrum(system, torch.tensor([[0.0, 0.0, 0.8]], dtype=torch.float64))[0]


def _complex_pair(values: Tensor) -> complex:
    """The eigenvalue with the largest imaginary part (the upper one of a complex pair)."""
    return complex(values[int(values.imag.argmax())])


def measure(
    models: dict[str, nn.Module], system: DampedOscillatorBath, data: TrajectoryData, with_rollouts: bool = True
) -> tuple[dict[str, float], dict]:
    r"""Every quantity the chapter asserts, keyed ``"<model>.<quantity>"`` (and ``"truth.<quantity>"``),
    and the rollouts and spectra behind them (for the chapter's figures).

    Per model: ``relative_mse`` (test MSE against the exact field, over the mean square velocity),
    ``parameters``; from the long rollouts (:data:`ROLLOUT`, RK4 for every model and the discrete
    gradient for the models with an entropy): ``final_distance`` (RMS distance of the RK4 end state from
    the true rest state :math:`(0,0,E(x_0))`), ``true_energy_drift`` (largest relative change of the
    true energy along the RK4 rollouts), ``energy_drift_dg`` / ``energy_drift_rk4`` (the learned energy's
    largest change relative to its spread over the initial states), ``entropy_decrease_dg`` /
    ``entropy_decrease_rk4`` (the learned entropy's largest decrease from one step to the next, same
    scale; negative: it rose at every step); at the model's rest point near the RK4 end state:
    ``imaginary`` (largest imaginary part of the spectrum) and ``spectrum_error`` (distance of the model's
    eigenvalue with the largest imaginary part from the true :math:`-\gamma/2+i\sqrt{1-\gamma^2/4}`);
    for the GENERIC models ``jacobi``, the largest entry of the Jacobiator of :math:`L` at 16 test states.
    """
    states = data.test.states.reshape(-1, 3)
    true_velocity = system(states)
    scale = float(true_velocity.pow(2).mean())
    x0 = data.test.trajectories[: ROLLOUT["n"], 0]
    rest = system.rest_state(x0)
    truth = true_spectrum(system)
    pair = _complex_pair(truth)
    values: dict[str, float] = {"truth.imaginary": float(truth.imag.max()), "truth.real": pair.real}
    extras: dict = {"rollouts": {}, "spectra": {"truth": truth}, "x0": x0, "rest": rest}
    for kind, model in models.items():
        prefix = kind
        values[f"{prefix}.relative_mse"] = float(((evaluate(model, states) - true_velocity) ** 2).mean()) / scale
        values[f"{prefix}.parameters"] = float(count_parameters(model))
        if not with_rollouts:
            continue
        rk4 = long_rollouts(model, system, x0, "rk4")
        runs = {"rk4": rk4}
        if kind in WITH_ENTROPY:
            runs["discrete_gradient"] = long_rollouts(model, system, x0, "discrete_gradient")
            dg = runs["discrete_gradient"]
            values[f"{prefix}.dg_substeps"] = float(dg.substeps)
            values[f"{prefix}.dg_failed"] = float((~torch.isfinite(dg.states[:, -1]).all(-1)).sum())
        extras["rollouts"][kind] = runs
        end = rk4.states[:, -1]
        finite = bool(torch.isfinite(end).all())
        values[f"{prefix}.final_distance"] = float(((end - rest) ** 2).mean(-1).sqrt().max()) if finite else math.inf
        true_energy = rk4.true_energy
        assert true_energy is not None  # long_rollouts always records it
        energy0 = true_energy[:, :1]
        values[f"{prefix}.true_energy_drift"] = (
            float(((true_energy - energy0).abs() / energy0).max()) if finite else math.inf
        )
        if kind in WITH_ENERGY:
            values[f"{prefix}.energy_drift_dg"] = _relative_drift(runs["discrete_gradient"].energy)
            values[f"{prefix}.energy_drift_rk4"] = _relative_drift(rk4.energy)
        if kind in WITH_ENTROPY:
            values[f"{prefix}.entropy_decrease_dg"] = _largest_decrease(runs["discrete_gradient"].entropy)
            values[f"{prefix}.entropy_decrease_rk4"] = _largest_decrease(rk4.entropy)
        if isinstance(model, GENERICModel):
            values[f"{prefix}.jacobi"] = float(model.jacobiator(states[:: max(1, len(states) // 16)]).abs().max())
        if finite:
            point = rest_point(model, end[0])
            eig = spectrum(model, point[None])[0]
            extras["spectra"][kind] = eig
            values[f"{prefix}.imaginary"] = float(eig.imag.max())
            values[f"{prefix}.spectrum_error"] = abs(_complex_pair(eig) - pair)
            values[f"{prefix}.rest_residual"] = float(evaluate(model, point[None]).abs().max())
        else:
            values[f"{prefix}.imaginary"] = values[f"{prefix}.spectrum_error"] = math.inf
    return values, extras


def run(seed: int = 0, kinds=MODELS) -> tuple[dict[str, float], dict]:
    """Data, every model trained with ``seed``, and :func:`measure`: one run of the study."""
    system, data = oscillator_data()
    models, histories = train_all(data, seed, kinds)
    values, extras = measure(models, system, data)
    extras.update(models=models, histories=histories, system=system, data=data)
    return values, extras


#: Every level the chapter asserts, at least twice the worst run of ``benchmarks/generic.py`` (upper
#: bounds) or at most half of it (lower bounds); the runs are in ``benchmarks/generic.md``.
LEVELS: dict[str, Level] = {
    "truth.imaginary": low(0.4, "largest imaginary part of the true rest-point spectrum (0.968)"),
    "GENERIC, L given.relative_mse": up(3e-3, "test MSE / mean square velocity, L and S given"),
    "GENERIC, L learned.relative_mse": up(3e-3, "test MSE / mean square velocity, S given, L learned"),
    "GENERIC, quadratic Xi.relative_mse": up(5e-4, "test MSE / mean square velocity, quadratic Xi"),
    "GENERIC, S learned.relative_mse": low(0.02, "test MSE / mean square velocity, E, S and Xi learned"),
    "GGD.relative_mse": low(0.01, "test MSE / mean square velocity, purely dissipative"),
    "MLP.relative_mse": up(1.5e-3, "test MSE / mean square velocity, parameter-matched MLP"),
    "GENERIC, L given.final_distance": up(0.07, "RMS distance of the 5x-horizon end state from the true rest state"),
    "GENERIC, L given.true_energy_drift": up(0.07, "largest relative change of the true energy, RK4 rollouts"),
    **{
        f"{kind}.energy_drift_dg": up(1e-12, "learned energy along discrete-gradient rollouts: drift / spread")
        for kind in WITH_ENERGY
    },
    **{
        f"{kind}.jacobi": up(1e-12, "largest entry of the Jacobiator of the learned L (3-D: zero)")
        for kind in WITH_ENERGY
    },
    **{
        f"{kind}.entropy_decrease_dg": up(1e-9, "learned entropy, discrete gradient: largest decrease per step")
        for kind in WITH_ENTROPY
    },
    "GENERIC, L given.spectrum_error": up(0.1, "distance of the learned complex pair from the true one"),
    "GENERIC, L learned.spectrum_error": up(0.15, "distance of the learned complex pair from the true one"),
}


def check(key: str, value: float) -> None:
    """Assert that ``value`` meets the level ``LEVELS[key]``, with a message that says which."""
    assert_level(key, value, LEVELS[key], "benchmarks/generic.md")


#: The chapter's levels under the name the other chapters use for theirs (``lv.check(key, value)``).
levels = SimpleNamespace(LEVELS=LEVELS, check=check, MARGIN=MARGIN)
