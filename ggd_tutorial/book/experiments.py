"""The thesis experiments in one place: data sets, model settings, training budgets.

The chapters and ``benchmarks/thesis.py`` use these settings, so the book and
the benchmark table measure the same thing. Data follow thesis chapter 4:

* overdamped particle: 128 trajectories x 2048 points, dt = 0.005, x0 ~ U[-1, 1]^d;
* reactions A+2B <-> C, C+D <-> A: the same sizes, c0 ~ U[0.001, 1]^4;
* diffusion: 1024 Fourier-mode trajectories x 64 points, dt = 0.03, 64-point grid,
  tested on unseen polynomial, step and Gaussian-spike profiles.

All trajectories are split 80/20 by trajectory (seeded); test sets are never subsampled.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Mapping

import torch

from ..data import (
    TrajectoryData,
    TrajectorySet,
    fourier_modes,
    gaussian_spikes,
    polynomial_profiles,
    simulate,
    step_profiles,
    uniform_box,
)
from ..fields import LocalConvolution, LocalFieldModel
from ..integrators import rollout
from ..metrics import evaluate, velocity_mse
from ..networks import GradientDynamicsModel
from ..systems import FickianDiffusion, MassActionKinetics, OverdampedParticle, PorousMediumDiffusion, ReactionCycle
from ..training import FitHistory, fit


@dataclass(frozen=True)
class FitConfig:
    """The training budget of an experiment: keyword arguments of :func:`~ggd_tutorial.fit`.

    The defaults are what every tuned setting pins besides its budget: the whole budget runs (no
    convergence stop) and the subsample is uniform unless a setting asks for early times, so the
    numbers in ``benchmarks/robustness.md`` stay those of these settings whatever ``fit``'s
    defaults are."""

    adam_steps: int = 500
    lbfgs_steps: int = 500
    adam_lr: float = 1e-3
    max_points: int | str | None = None
    early_fraction: float = 0.0
    tol: float = 0.0

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments for ``fit``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


#: The budget every tuned setting pins (the defaults of :class:`FitConfig`).
FIXED_BUDGET = FitConfig()


@dataclass(frozen=True)
class Setting:
    """Model and training settings of one experiment (read-only mappings; a view of its
    :class:`~ggd_tutorial.book.registry.Experiment` record)."""

    model: Mapping[str, Any]
    fit: Mapping[str, Any]
    seed: int = 0


def __getattr__(name: str) -> Any:
    """Views of :data:`~ggd_tutorial.book.registry.EXPERIMENTS` under their former names:
    ``SETTINGS`` (name -> :class:`Setting`), ``THESIS_MSE`` (name -> thesis test MSE) and
    ``FIELD_EXPERIMENTS`` (the experiments whose model is a LocalFieldModel)."""
    if name not in ("SETTINGS", "THESIS_MSE", "FIELD_EXPERIMENTS"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .registry import EXPERIMENTS

    if name == "THESIS_MSE":
        return MappingProxyType({e.name: e.thesis for e in EXPERIMENTS.values() if e.thesis is not None})
    if name == "FIELD_EXPERIMENTS":
        return tuple(e.name for e in EXPERIMENTS.values() if e.model.kind == "local-field")
    return MappingProxyType(
        {
            e.name: Setting(MappingProxyType(dict(e.model.options)), MappingProxyType(e.fit.kwargs()), e.seed)
            for e in EXPERIMENTS.values()
        }
    )


def overdamped_data(dim: int = 1, n: int = 128, steps: int = 2048, dt: float = 0.005, seed: int = 1):
    """System and split data of thesis 4.1.1."""
    system = OverdampedParticle(dim, gamma=1.0)
    trajectories = simulate(system, uniform_box(n, dim, -1.0, 1.0, seed=seed), dt, steps)
    return system, TrajectoryData(trajectories, dt, test_fraction=0.2, seed=seed)


def kinetics_data(n: int = 128, steps: int = 2048, dt: float = 0.005, seed: int = 1):
    """System and split data of thesis 4.2.1 (A+2B <-> C, C+D <-> A, W0 = 4, Q = -1)."""
    system = MassActionKinetics.thesis_example()
    trajectories = simulate(system, uniform_box(n, 4, 0.001, 1.0, seed=seed), dt, steps)
    return system, TrajectoryData(trajectories, dt, test_fraction=0.2, seed=seed)


def diffusion_data(
    n: int = 1024,
    n_test: int = 256,
    steps: int = 64,
    dt: float = 0.03,
    seed: int = 1,
    system: FickianDiffusion | None = None,
):
    """System, Fourier-mode data (split 80/20) and the three unseen test families (thesis 4.3).

    ``system`` (default: linear diffusion on 64 points, ``D = 3e-3``) may be another grid or a
    :class:`PorousMediumDiffusion`, whose profiles are lifted to [0.5, 1.5] (it needs c > 0)."""
    system = FickianDiffusion(points=64, D=3e-3) if system is None else system
    c0 = field_profiles(fourier_modes, n, system, seed)
    trajectories = simulate(system, c0, dt, steps, substeps=stable_substeps(system, dt))
    data = TrajectoryData(trajectories, dt, test_fraction=0.2, seed=seed)
    return system, data, field_tests(system, n_test, steps, dt, seed)


def porous_data(n: int = 1024, n_test: int = 256, steps: int = 64, dt: float = 0.03, seed: int = 1):
    """:func:`diffusion_data` of the porous medium equation (:class:`PorousMediumDiffusion`)."""
    return diffusion_data(n, n_test, steps, dt, seed, system=PorousMediumDiffusion())


#: The unseen test families of the diffusion experiments (thesis 4.3.2).
FIELD_FAMILIES = {"polynomial": polynomial_profiles, "discontinuous": step_profiles, "gaussian spikes": gaussian_spikes}


def field_profiles(make, n: int, system: FickianDiffusion, seed: int) -> torch.Tensor:
    """``n`` initial profiles of a sampler on ``system``'s grid, with the amplitudes they have on
    64 points whatever the grid (the samplers normalize the grid vector); positive, in
    [0.5, 1.5], for :class:`PorousMediumDiffusion`."""
    c = make(n, system.points, seed=seed) * (system.points / 64) ** 0.5
    if isinstance(system, PorousMediumDiffusion):
        top = c.abs().amax(-1, keepdim=True)
        signed = c.amin(-1, keepdim=True) < 0  # Fourier modes: around 1; positive families: from 0.5 up
        c = torch.where(signed, 1.0 + 0.5 * c / top, 0.5 + c / top)
    return c


def stable_substeps(system: FickianDiffusion, dt: float) -> int:
    """RK4 substeps per sample that keep the explicit integration stable on ``system``'s grid
    (1 for the thesis grid; finer grids need ~h^-2 more)."""
    top = 1.5 if isinstance(system, PorousMediumDiffusion) else 1.0  # largest diffusivity / D
    return max(1, math.ceil(dt * 4 * system.D * top / system.h**2 / 2.0))


def field_tests(
    system: FickianDiffusion, n_test: int = 256, steps: int = 64, dt: float = 0.03, seed: int = 1
) -> dict[str, TrajectorySet]:
    """The three unseen test families simulated by ``system`` (any grid)."""
    substeps = stable_substeps(system, dt)
    return {
        name: TrajectorySet(
            simulate(system, field_profiles(make, n_test, system, seed + 1 + k), dt, steps, substeps=substeps), dt
        )
        for k, (name, make) in enumerate(FIELD_FAMILIES.items())
    }


#: The local non-GGD baseline of the diffusion chapter: a LocalConvolution of stencil width 3
#: (as the local GGD model) and about its parameter count, trained with the local model's budget.
LOCAL_BASELINE = Setting(
    model=MappingProxyType(dict(radius=1, hidden=(20, 20))),
    fit=MappingProxyType(FitConfig(adam_steps=0, lbfgs_steps=300, max_points=500).kwargs()),
)


def train_local_baseline(data: TrajectoryData, seed: int = 0, progress: bool = False, **fit_overrides):
    """A :class:`LocalConvolution` trained on ``data`` (float64, seeded), and its history."""
    torch.manual_seed(seed)
    with float64_default():
        baseline = LocalConvolution(**LOCAL_BASELINE.model)
    history = fit(baseline, data, **{**LOCAL_BASELINE.fit, "seed": seed, "progress": progress, **fit_overrides})
    return baseline, history


def grid_transfer(
    model,
    system: FickianDiffusion,
    grids=(32, 64, 128, 256),
    n_test: int = 64,
    steps: int = 64,
    dt: float = 0.03,
    seed: int = 1,
) -> dict[tuple[int, str], tuple[float, float, float]]:
    """Apply one trained field model, unchanged, on other grids: for each grid and unseen test
    family, (velocity MSE against the central-difference targets, their own error (the
    finite-difference floor), MSE against the exact velocity at the same states), with data
    simulated by ``system``'s kind of dynamics on that grid (same D, same amplitudes)."""
    out = {}
    for points in grids:
        form = {} if isinstance(system, PorousMediumDiffusion) else {"entropy": system.entropy_form}
        other = type(system)(points=points, D=system.D, length=system.length, **form)
        for family, s in field_tests(other, n_test, steps, dt, seed).items():
            states, targets = s.states.reshape(-1, points), s.velocities.reshape(-1, points)
            predicted, exact = evaluate(model, states), evaluate(other, states)
            mse, floor, exact_mse = (
                float(((a - b) ** 2).mean()) for a, b in [(predicted, targets), (exact, targets), (predicted, exact)]
            )
            out[(points, family)] = (mse, floor, exact_mse)
    return out


def mass_drift(model, c0: torch.Tensor, dt: float = 0.03, steps: int = 1280) -> float:
    """Largest relative change of the total mass along rollouts of ``model`` from ``c0`` (the
    default: 20 times the 64-step horizon of the data); inf when a rollout diverged."""
    with torch.no_grad():
        path = rollout(model, c0, dt, steps)
    mass = path.sum(-1)
    drift = float((mass - mass[:, :1]).abs().max() / mass[:, 0].abs().max())
    return drift if math.isfinite(drift) else math.inf  # a rollout that diverged


@contextmanager
def float64_default():
    """Create tensors (and initial weights) in float64 inside the block, whatever the caller's
    default dtype: the same seed then gives the same model everywhere."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        torch.set_default_dtype(default)


def build_model(name: str, system, seed: int | None = None, **overrides) -> GradientDynamicsModel | LocalFieldModel:
    """The model of experiment ``name`` (its record's :class:`~ggd_tutorial.book.registry.ModelSpec`:
    float64, initial weights seeded with ``seed``, by default the record's), with potentials
    prescribed as the thesis did."""
    from .registry import EXPERIMENTS

    experiment = EXPERIMENTS[name]
    return experiment.model.build(system, experiment.seed if seed is None else seed, **overrides)


@dataclass
class Result:
    """One trained experiment (``experiment``: its record; ``cache``: what its measures share)."""

    name: str
    model: GradientDynamicsModel | LocalFieldModel
    system: Any
    data: TrajectoryData
    history: FitHistory
    test_mse: float
    thesis_mse: float
    wall_time: float
    extra_tests: dict[str, float] = field(default_factory=dict)
    tests: dict[str, TrajectorySet] = field(default_factory=dict)
    seed: int = 0
    experiment: Any = field(default=None, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ratio(self) -> float:
        """Our test MSE over the thesis MSE (below 1 beats the thesis)."""
        return self.test_mse / self.thesis_mse


def run(name: str, progress: bool = True, device=None, seed: int | None = None, **fit_overrides) -> Result:
    """Generate the data, build and train the model of experiment ``name``, evaluate it.

    ``seed`` (default: the record's) seeds the initial weights and the training subsample;
    the data are the same for every seed."""
    from .registry import EXPERIMENTS

    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; choose from {sorted(EXPERIMENTS)}")
    experiment = EXPERIMENTS[name]
    t0 = time.perf_counter()
    extra: dict[str, float] = {}
    system, data, tests = experiment.data()
    seed = experiment.seed if seed is None else int(seed)
    model = experiment.model.build(system, seed)
    kwargs = dict(experiment.fit.kwargs(), seed=seed, progress=progress, device=device)
    kwargs.update(fit_overrides)
    history = fit(model, data, **kwargs)
    if tests:
        extra = {k: float(velocity_mse(model, s)) for k, s in tests.items()}
        test = extra["polynomial"]
        extra["fourier (held out)"] = float(velocity_mse(model, data))
    else:
        test = float(velocity_mse(model, data))
    thesis = math.nan if experiment.thesis is None else experiment.thesis
    wall = time.perf_counter() - t0
    return Result(name, model, system, data, history, test, thesis, wall, extra, tests, seed, experiment)


# ---------------------------------------------------------------------------------------------
# A driven reaction cycle (kinetics chapter). Same model and budget for a balanced cycle
# (affinity 0, detailed balance) and a driven one, whose complex spectrum at the steady state no GGD
# with a mobility smooth there has.

#: Cycle affinities of the kinetics chapter: detailed balance, and a strongly driven cycle.
CYCLE_AFFINITIES = (0.0, 9.0)
#: Data, model and budget of :func:`cycle_experiment`.
CYCLE: dict[str, Any] = dict(
    n=64,
    steps=300,
    dt=0.01,
    model=dict(hidden=(16, 16), quadratic=False),
    fit=FitConfig(adam_steps=200, lbfgs_steps=300, adam_lr=1e-2, max_points=2000).kwargs(),
)


@dataclass
class CycleResult:
    """A GGD model (stoichiometry given) trained on one :class:`ReactionCycle`."""

    system: ReactionCycle
    model: GradientDynamicsModel
    data: TrajectoryData
    relative_mse: float  # test MSE against the exact field / mean square true velocity
    true_spectrum: torch.Tensor  # eigenvalues of K, the zero (conserved total) left out
    model_spectrum: torch.Tensor  # eigenvalues of the model's Jacobian at its equilibrium, same
    equilibrium_error: float  # worst RMS distance of model and true steady states (test initial states)


def _nonzero_spectrum(jacobian: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of a 3x3 Jacobian without the one closest to zero (the conserved total)."""
    values = torch.linalg.eigvals(jacobian)
    return values[values.abs().argsort()[1:]]


def cycle_experiment(affinity: float, seed: int = 0, progress: bool = False) -> CycleResult:
    """Fit a GGD model whose dissipation sees x* only through nu^T x* (so the total is conserved
    exactly) to the cycle :meth:`ReactionCycle.driven` of ``affinity``, and compare it with the
    exact field: relative test MSE, the spectrum at the steady state, the steady state itself."""
    from ..equilibria import relax
    from ..metrics import linearization

    system = ReactionCycle.driven(affinity)
    c0 = uniform_box(CYCLE["n"], 3, 0.05, 1.0, seed=1)
    data = TrajectoryData(simulate(system, c0, CYCLE["dt"], CYCLE["steps"]), CYCLE["dt"], seed=1)
    torch.manual_seed(seed)
    with float64_default():
        model = GradientDynamicsModel(3, dissipation_projection=system.nu, **CYCLE["model"])
    fit(model, data, **{**CYCLE["fit"], "seed": seed, "progress": progress})
    states = data.test.states.reshape(-1, 3)
    exact = system(states)
    relative = float(((evaluate(model, states) - exact) ** 2).mean() / exact.pow(2).mean())
    start = data.test.trajectories[:, 0]
    ends, _ = relax(model, start, dt=0.02, max_time=100.0)
    truth = torch.stack([system.steady_state(float(t)) for t in start.sum(-1)])
    error = float(((ends - truth) ** 2).mean(-1).sqrt().max())
    model_spectrum = _nonzero_spectrum(linearization(model, ends[0]))
    return CycleResult(system, model, data, relative, _nonzero_spectrum(system.matrix), model_spectrum, error)


# ---------------------------------------------------------------------------------------------
# The system of the chapter "Learn your own system": not in the thesis, and given the way a
# reader's own model usually is, as a plain function.

#: Heat capacities of the three bodies and the conductances between them.
HEAT_CAPACITY = (1.0, 2.0, 3.0)
CONDUCTANCE = {(0, 1): 1.0, (1, 2): 0.5, (0, 2): 0.2}


def heat_exchange(U: torch.Tensor) -> torch.Tensor:
    r"""Three bodies exchanging heat, state = internal energies :math:`U_i = C_i T_i`:

    .. math:: \dot U_i=\sum_j k_{ij}\sqrt{T_iT_j}\,(T_j-T_i),

    a conductance that grows with temperature. Closed: :math:`\sum_i U_i` is conserved.
    """
    T = U / torch.tensor(HEAT_CAPACITY, dtype=U.dtype, device=U.device)
    dU = torch.zeros_like(U)
    for (i, j), k in CONDUCTANCE.items():
        flow = k * torch.sqrt(T[:, i] * T[:, j]) * (T[:, j] - T[:, i])  # heat from j to i
        dU[:, i] += flow
        dU[:, j] -= flow
    return dU


def heat_exchange_entropy(U: torch.Tensor) -> torch.Tensor:
    r"""The true entropy :math:`S=\sum_i C_i\ln(U_i/C_i)` (ideal bodies, up to a constant).
    With :math:`\Xi=\tfrac12\sum_{i<j}k_{ij}(T_iT_j)^{3/2}(U^*_i-U^*_j)^2` and :math:`U^*=1/T`
    the GGD velocity is :func:`heat_exchange`."""
    C = torch.tensor(HEAT_CAPACITY, dtype=U.dtype, device=U.device)
    return (C * torch.log(U / C)).sum(-1)


def heat_exchange_trajectories(n: int = 64, steps: int = 400, dt: float = 0.02, seed: int = 1):
    """``n`` trajectories of :func:`heat_exchange` from temperatures uniform in [0.5, 2], and ``dt``."""
    C = torch.tensor(HEAT_CAPACITY, dtype=torch.float64)
    U0 = C * uniform_box(n, 3, 0.5, 2.0, seed=seed)
    return simulate(heat_exchange, U0, dt, steps), dt
