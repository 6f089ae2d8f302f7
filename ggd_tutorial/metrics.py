r"""Error measures: velocity MSE, rollout MSE, entropy production, finite-difference floor, and
measures that compare any vector fields (a model, a black box, a true system) on the same footing:

* :func:`true_velocity_mse` -- error against the *exact* vector field at clean states, so that
  noisy or finite-difference targets do not enter the score;
* :func:`horizon_errors` -- state error of a rollout at multiples of the training horizon and
  whether it ends at the true equilibrium;
* :func:`second_law_violations` -- share of states where the *true* entropy decreases along
  the vector field, :math:`\partial_x S_\text{true}\cdot f(x) < 0`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import Tensor

from ._utils import model_dtype_device
from .data import TrajectoryData, TrajectorySet
from .integrators import VectorField, rollout


def _as_set(data: TrajectoryData | TrajectorySet, split: str = "test") -> TrajectorySet:
    if isinstance(data, TrajectoryData):
        out = getattr(data, split)
        if out is None:
            raise ValueError(f"this TrajectoryData has no {split} set")
        return out
    if isinstance(data, TrajectorySet):
        return data
    raise TypeError("expected a TrajectoryData or TrajectorySet")


def evaluate(f: VectorField, x: Tensor, chunk_elements: int | None = None) -> Tensor:
    """``f(x)`` in chunks of about ``chunk_elements`` numbers (rows of ``x`` times their size),
    without building a graph; result on ``x``'s device and dtype. The default, 2**16 on a CPU
    (chunks that fit the cache: a local field model on 256 points runs 3-4x faster than in one
    batch) and 2**22 on an accelerator, needs no tuning."""
    dtype, device = model_dtype_device(f, x)
    if chunk_elements is None:
        chunk_elements = 2**16 if torch.device(device).type == "cpu" else 2**22
    if chunk_elements < 1:
        raise ValueError(f"chunk_elements must be positive, got {chunk_elements}")
    rows = max(1, chunk_elements // max(1, x[0].numel())) if x.shape[0] else 1
    with torch.no_grad():
        out = [f(x[i : i + rows].to(device=device, dtype=dtype)).to(x) for i in range(0, x.shape[0], rows)]
    return torch.cat(out)


def velocity_mse(
    f: VectorField, data: TrajectoryData | TrajectorySet, per_trajectory: bool = False, split: str = "test"
) -> float | Tensor:
    """Mean squared error between ``f(states)`` and the central-difference velocities.

    ``data`` is a :class:`~ggd_tutorial.data.TrajectorySet` or the ``split`` ("test" by default) of a
    :class:`~ggd_tutorial.data.TrajectoryData`. With ``per_trajectory`` a tensor of one MSE per
    trajectory is returned (for histograms).
    """
    s = _as_set(data, split)
    n, t, d = s.states.shape
    if s.lengths is None:
        pred = evaluate(f, s.states.reshape(-1, d)).reshape(n, t, d)
        err = (pred - s.velocities) ** 2
        return err.mean(dim=(1, 2)) if per_trajectory else float(err.mean())
    valid = s.valid  # trajectories of different lengths: average over the observed points only
    err = torch.zeros(n, t, d, dtype=s.states.dtype)
    err[valid] = (evaluate(f, s.states[valid]) - s.velocities[valid]) ** 2
    if per_trajectory:
        return err.sum(dim=(1, 2)) / (valid.sum(1) * d)
    return float(err[valid].mean())


def outside_training_range(data: TrajectoryData) -> Tensor:
    """Mask of the test trajectories whose initial state has a coordinate outside the range
    (per coordinate, over every training state) the model was fitted on: there it extrapolates."""
    if data.test is None:
        raise ValueError("this TrajectoryData has no test set")
    states = data.train.states if data.train.lengths is None else data.train.states[data.train.valid]
    flat = states.reshape(-1, states.shape[-1])
    start = data.test.states[:, 0]
    return (start < flat.min(0).values).any(-1) | (start > flat.max(0).values).any(-1)


def extrapolation_share(f: VectorField, data: TrajectoryData) -> float:
    """Share of the test velocity MSE that comes from the test trajectories starting outside the
    training range (:func:`outside_training_range`); 0 when there are none."""
    per = torch.as_tensor(velocity_mse(f, data, per_trajectory=True))
    return float(per[outside_training_range(data)].sum() / per.sum())


def mobility_error(model, system, states: Tensor) -> float:
    r"""Median over ``states`` and channels of :math:`|L_n-L_n^\text{true}|/L_n^\text{true}`, the
    relative error of a learned mobility (:class:`~ggd_tutorial.networks.MobilityDissipation`, with
    the system's stoichiometry as projection) against ``system.mobility``. With :math:`S` and
    :math:`\nu` given the data fix :math:`L_n=J_n/X_n` wherever the affinity :math:`X_n\neq0`, so,
    unlike the values of :math:`\Xi`, the mobility can be compared with the truth."""
    net = getattr(model, "dissipation_net", None)
    if net is None or not hasattr(net, "mobility"):
        raise TypeError("mobility_error needs a model with a learned mobility (dissipation_mobility=True)")
    with torch.no_grad():
        learned = net.mobility(states.to(next(net.parameters())))
        true = system.mobility(states).to(learned)
    return float(((learned - true).abs() / true).median())


def finite_difference_floor(system: VectorField, data: TrajectoryData | TrajectorySet, split: str = "test") -> float:
    """MSE between the exact vector field and the central-difference targets.

    No model can be expected to beat this level against the finite-difference
    targets: it is the error of the targets themselves.
    """
    return float(velocity_mse(system, data, split=split))


def predict_trajectories(
    f: VectorField, data: TrajectoryData | TrajectorySet, stride: int = 1, method: str = "rk4", split: str = "test"
) -> tuple[Tensor, Tensor, Tensor]:
    """Integrate ``f`` from the true initial states of a trajectory set.

    Returns ``(times, true, predicted)`` at every ``stride``-th sample; the rollout
    steps with ``stride * dt`` (a stride of 2 halves the cost and, with RK4, adds
    an error far below the model's).
    """
    s = _as_set(data, split)
    true = s.trajectories[:, :: int(stride)]
    pred = rollout(f, true[:, 0], s.dt * int(stride), true.shape[1], method=method)  # on true's device/dtype
    return s.times[:: int(stride)], true, pred


def rollout_mse(
    f: VectorField,
    data: TrajectoryData | TrajectorySet,
    method: str = "rk4",
    split: str = "test",
    per_trajectory: bool = False,
    stride: int = 1,
) -> float | Tensor:
    """MSE between trajectories integrated with ``f`` from the true initial states and the data."""
    _, true, pred = predict_trajectories(f, data, stride=stride, method=method, split=split)
    return trajectory_error(true, pred, per_trajectory)


def trajectory_error(true: Tensor, predicted: Tensor, per_trajectory: bool = False) -> float | Tensor:
    """MSE between ``predicted`` and ``true`` trajectories ``(batch, time, dim)``, over the observed
    samples only (a shorter trajectory's padding, NaN in ``true``, is left out): a float, or one value
    per trajectory."""
    err = (predicted - true) ** 2
    observed = torch.isfinite(true).all(-1)  # padding after a shorter trajectory's end is NaN
    if bool(observed.all()):
        return err.mean(dim=(1, 2)) if per_trajectory else float(err.mean())
    err = torch.where(observed[..., None], err, torch.zeros_like(err))
    if per_trajectory:
        return err.sum(dim=(1, 2)) / (observed.sum(1) * err.shape[-1])
    return float(err[observed].mean())


def entropy_production(model: Any, trajectory: Tensor) -> Tensor:
    """dS/dt = x*·xdot of a GGD model at every state of ``trajectory`` (..., dim)."""
    shape = trajectory.shape[:-1]
    x = trajectory.reshape(-1, trajectory.shape[-1])
    dtype, device = model_dtype_device(model, x)
    with torch.no_grad():
        sigma = model.entropy_production(x.to(device=device, dtype=dtype))
    return sigma.to(x).reshape(shape)


def true_entropy_rate(system, f: VectorField, x: Tensor) -> Tensor:
    """Rate of change of the *true* entropy along the vector field ``f``: dS_true/dx · f(x).

    Negative values mean ``f`` violates the second law of the true system.
    """
    return (system.conjugate(x) * evaluate(f, x)).sum(-1)


def entropy_maximum(model, x0: Tensor, max_iter: int = 500) -> Tensor:
    """The state ``(1, dim)`` where a GGD model's concave entropy is largest, found by L-BFGS from
    ``x0``: an equilibrium of the model (its conjugate vanishes there). With conserved quantities
    (kinetics) the equilibrium from a given state is the maximum of the entropy *on its class*, a
    constrained maximum that this unconstrained search does not find; use
    :func:`~ggd_tutorial.equilibria.relax` or :func:`~ggd_tutorial.equilibria.compare_equilibria` there."""
    dtype, device = model_dtype_device(model, x0)
    x = x0.reshape(1, -1).to(device=device, dtype=dtype).clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [x], max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-14, tolerance_change=0.0
    )

    def closure() -> Tensor:
        opt.zero_grad()
        loss = -model.entropy(x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return x.detach().to(x0)


def linearization(f: VectorField, x: Tensor) -> Tensor:
    r"""Jacobian :math:`\partial f/\partial x` at one state ``x`` (shape ``(dim,)`` or ``(1, dim)``);
    its eigenvalues are the relaxation rates near an equilibrium."""
    dtype, device = model_dtype_device(f, x)
    point = x.reshape(-1).to(device=device, dtype=dtype)
    jacobian = torch.autograd.functional.jacobian(lambda z: f(z[None])[0], point)
    return jacobian.detach().to(x)


def rest_point_spectrum(field: VectorField | tuple[Tensor, Tensor], x_rest: Tensor, neighbours: int = 64) -> Tensor:
    r"""Eigenvalues of the linearization at a rest point ``x_rest``, sorted by real part, then by
    imaginary part (complex tensor).

    ``field`` is a vector field (a fitted black box, a model, a system: its Jacobian at ``x_rest``
    by autograd) or a pair ``(states, velocities)`` of data, shapes ``(..., dim)``: then a local
    linear least-squares fit :math:`\dot x\approx J(x-x_{rest})+b` on the ``neighbours`` states
    nearest to ``x_rest``. This is the local test of the GGD class: at a rest point where the
    mobility is smooth every GGD has :math:`J=\partial^2_{x^*}\Xi\,\partial^2S`, a real spectrum
    (Onsager), so complex eigenvalues rule out a GGD with a mobility smooth there; away from rest
    points the class excludes nothing of the kind (any flow with a concave strict Lyapunov function
    is GGD with a state-dependent :math:`\Xi`)."""
    if callable(field):
        jacobian = linearization(field, x_rest)
    else:
        states, velocities = field
        x = states.reshape(-1, states.shape[-1])
        v = velocities.reshape(-1, velocities.shape[-1]).to(x)
        if neighbours < x.shape[-1] + 1 or neighbours > len(x):
            raise ValueError(f"neighbours must be between dim + 1 and the number of states, got {neighbours}")
        centre = x_rest.reshape(-1).to(x)
        nearest = (x - centre).norm(dim=-1).topk(neighbours, largest=False).indices
        design = torch.cat([x[nearest] - centre, torch.ones(neighbours, 1, dtype=x.dtype, device=x.device)], dim=-1)
        coefficients = torch.linalg.lstsq(design, v[nearest]).solution  # (dim + 1, dim): J^T and b
        jacobian = coefficients[:-1].T
    values = torch.linalg.eigvals(jacobian)
    values = values[torch.argsort(values.imag, stable=True)]  # conjugate pairs: negative imaginary part first
    return values[torch.argsort(torch.round(values.real, decimals=9), stable=True)]


def fenchel_young_gap(model: Any, x: Tensor, velocity: Tensor, max_iter: int = 100) -> Tensor:
    r"""The Fenchel-Young gap :math:`\Xi(x,x^*)+\Xi^*(x,v)-x^*\cdot v\ge0` at :math:`x^*=\partial S/\partial x`
    of a GGD model (or system) with ``conjugate`` and ``dissipation``, for observed rates ``v``
    (``velocity``), shape ``(batch,)``.

    It is zero exactly where ``v`` is the model's velocity :math:`\partial\Xi/\partial x^*`, and
    positive otherwise: a misfit with a thermodynamic meaning (integrated in time, Mielke's
    energy-dissipation balance). :math:`\Xi^*(x,v)=\sup_y(v\cdot y-\Xi(x,y))` is computed by L-BFGS
    from :math:`y=x^*` (one concave problem for the whole batch), so the value returned is a lower
    bound of the gap that is never negative, and exact once the maximization has converged. For a
    degenerate :math:`\Xi` (a projection in front of it) and ``v`` outside the range the true gap is
    :math:`+\infty`; the value returned then grows with ``max_iter``."""
    dtype, device = model_dtype_device(model, x)
    x = x.detach().to(device=device, dtype=dtype)
    v = velocity.detach().to(device=device, dtype=dtype)
    with torch.enable_grad():
        x_star = model.conjugate(x).detach()
        y = x_star.clone().requires_grad_(True)
        opt = torch.optim.LBFGS(
            [y], max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-14, tolerance_change=1e-16
        )

        def closure():
            opt.zero_grad()
            loss = (model.dissipation(x, y) - (v * y).sum(-1)).sum()
            loss.backward()
            return loss

        opt.step(closure)
    with torch.no_grad():
        dual = torch.maximum(
            (v * y).sum(-1) - model.dissipation(x, y), (v * x_star).sum(-1) - model.dissipation(x, x_star)
        )
        gap = model.dissipation(x, x_star) + dual - (x_star * v).sum(-1)
    return gap.clamp(min=0.0).to(velocity)


def _finite_or_inf(value: Tensor) -> float:
    number = float(value)
    return number if math.isfinite(number) else math.inf


def true_velocity_mse(f: VectorField, system: VectorField, states: Tensor) -> float:
    """MSE between ``f`` and the exact vector field ``system`` at ``states`` (..., dim)."""
    x = states.reshape(-1, states.shape[-1])
    return float(((evaluate(f, x) - system(x)) ** 2).mean())


def second_law_violations(f: VectorField, system, states: Tensor, away_from_equilibrium: float = 0.0) -> float:
    """Share of ``states`` at which the true entropy decreases along ``f``.

    With ``away_from_equilibrium > 0`` only states where the true system itself produces
    entropy at a rate above that value count (near equilibrium both signs are within any
    model's error)."""
    x = states.reshape(-1, states.shape[-1])
    rate = true_entropy_rate(system, f, x)
    if away_from_equilibrium > 0:
        rate = rate[true_entropy_rate(system, system, x) > away_from_equilibrium]
    return float((rate < 0).double().mean()) if rate.numel() else 0.0


@dataclass
class HorizonErrors:
    """Rollout state MSE at ``multiples`` of the training horizon, and equilibrium reach.

    ``reached`` is the share of trajectories whose final predicted state lies within
    ``tolerance`` (RMS over components) of the true final state, which is the equilibrium;
    ``settled`` the share that came to rest anywhere (model speed below ``tolerance`` per
    horizon), i.e. at an equilibrium of the model that may be a wrong one.
    """

    multiples: tuple[int, ...]
    mse: tuple[float, ...]
    reached: float
    settled: float
    tolerance: float
    predicted: Tensor
    true: Tensor

    @property
    def final_distance(self) -> float:
        """Worst RMS distance (over trajectories) of the predicted final state from the true one
        (inf when a rollout diverged); where the true system is at rest, a model's equilibrium error."""
        d = ((self.predicted[:, -1] - self.true[:, -1]) ** 2).mean(-1).sqrt()
        return float(torch.nan_to_num(d, nan=math.inf, posinf=math.inf).max())


def horizon_errors(
    f: VectorField,
    system: VectorField,
    x0: Tensor,
    horizon: float,
    multiples: Sequence[int] = (1, 5, 20),
    dt: float = 0.05,
    tolerance: float = 1e-2,
) -> HorizonErrors:
    """Integrate ``f`` and ``system`` (RK4, step ``dt``) from ``x0`` to ``max(multiples) * horizon``
    and compare the states at each multiple of ``horizon`` (``tolerance`` relative to the RMS of
    the true states)."""
    multiples = tuple(int(m) for m in multiples)
    per_horizon = max(int(round(horizon / dt)), 1)
    steps = per_horizon * max(multiples) + 1
    true = rollout(system, x0, dt, steps)
    pred = rollout(f, x0, dt, steps)  # integrated on f's device and dtype, returned on x0's
    mse = tuple(_finite_or_inf(((pred[:, m * per_horizon] - true[:, m * per_horizon]) ** 2).mean()) for m in multiples)
    tol = tolerance * float(true.pow(2).mean().sqrt())
    final_rms = ((pred[:, -1] - true[:, -1]) ** 2).mean(-1).sqrt()
    final_rms = torch.nan_to_num(final_rms, nan=math.inf)
    speed = evaluate(f, torch.nan_to_num(pred[:, -1], nan=0.0, posinf=0.0, neginf=0.0)).pow(2).mean(-1).sqrt()
    settled = torch.isfinite(pred[:, -1]).all(-1) & (speed * horizon < tol)
    return HorizonErrors(
        multiples, mse, float((final_rms < tol).double().mean()), float(settled.double().mean()), tol, pred, true
    )


def conservation_drift(h: HorizonErrors, system) -> float:
    r"""Largest change of a conserved quantity :math:`q\cdot x` along the predicted rollouts of
    ``h`` (``q`` the orthonormal rows of ``system.conservation_laws()``); inf if a rollout diverged."""
    laws = system.conservation_laws().to(h.predicted)
    q = h.predicted @ laws.T
    return _finite_or_inf((q - q[:, :1]).abs().max())


def entropy_steps(model: Any, path: Tensor) -> Tensor:
    r"""The change of the model's own entropy from each state of ``path`` to the next,
    :math:`S_\theta(x_{n+1})-S_\theta(x_n)`, shape ``(batch, time - 1)``.

    The second law of a GGD or GENERIC model, :math:`\dot S_\theta\ge0`, holds in continuous time for every
    weight value; whether it holds *per step* depends on the integrator. Along
    ``rollout(..., method="discrete_gradient")`` every entry is non-negative up to the solver tolerance; along
    RK4 or Euler only where the step is small enough for the model's fastest mode.

    Parameters
    ----------
    model:
        A model with an ``entropy(x) -> (batch,)`` method (:class:`~ggd_tutorial.networks.GradientDynamicsModel`,
        :class:`~ggd_tutorial.generic.GENERICModel`).
    path:
        States ``(batch, time, dim)``, e.g. the output of :func:`~ggd_tutorial.integrators.rollout`.

    Returns
    -------
    Tensor
        ``(batch, time - 1)`` entropy changes, on ``path``'s device and dtype.

    Raises
    ------
    TypeError
        If ``model`` has no ``entropy`` method.
    ValueError
        If ``path`` is not a ``(batch, time, dim)`` tensor with at least two time slices.
    """
    if not callable(getattr(model, "entropy", None)):
        raise TypeError(f"entropy_steps needs a model with an entropy(x) method, got {type(model).__name__}")
    if path.ndim != 3 or path.shape[1] < 2:
        raise ValueError(f"path must have shape (batch, time >= 2, dim), got {tuple(path.shape)}")
    dtype, device = model_dtype_device(model, path)
    x = path.reshape(-1, path.shape[-1]).to(device=device, dtype=dtype)
    with torch.no_grad():
        entropy = model.entropy(x).reshape(path.shape[:2])
    return entropy.diff(dim=1).to(path)
