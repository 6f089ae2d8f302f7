r"""Trajectory data: simulation, initial-condition samplers, velocity targets, splits.

Velocity targets are central differences
:math:`\dot x_j\approx(x_{j+1}-x_{j-1})/(2\Delta t)` at the interior time points,
as in thesis 3.2. Splits into training and test sets are made **by trajectory**.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ._utils import as_generator
from .integrators import VectorField, rollout

_generator = as_generator  # the name used throughout this module


def simulate(system: VectorField, x0: Tensor, dt: float, steps: int, method: str = "rk4", substeps: int = 1) -> Tensor:
    """Batched simulation of ``system`` from ``x0`` (batch, dim).

    Returns ``(trajectories, steps, dim)``, the initial state included. Thesis data
    use plain RK4 at the sampling step (``substeps=1``).
    """
    x0 = torch.as_tensor(x0)
    if x0.ndim == 1:
        x0 = x0[None]
    if not torch.isfinite(x0).all():
        raise ValueError("x0 contains NaN or inf")
    traj = rollout(system, x0, dt, steps, method=method, substeps=substeps)
    if not torch.isfinite(traj).all():
        raise FloatingPointError("simulation produced NaN/inf: reduce dt or check the system")
    return traj


# ---------------------------------------------------------------- samplers


def uniform_box(
    n: int, dim: int, low: float = -1.0, high: float = 1.0, seed: int | torch.Generator | None = 0
) -> Tensor:
    """``n`` states uniform in ``[low, high]^dim`` (float64)."""
    if not high > low:
        raise ValueError(f"need high > low, got [{low}, {high}]")
    g = _generator(seed)
    return low + (high - low) * torch.rand(n, dim, generator=g, dtype=torch.float64)


def _grid(points: int) -> Tensor:
    return torch.arange(points, dtype=torch.float64) / points


def _normalize(c: Tensor) -> Tensor:
    return c / torch.linalg.vector_norm(c, dim=-1, keepdim=True)


def fourier_modes(
    n: int, points: int = 64, max_mode: int = 15, p: float = 1.5, seed: int | torch.Generator | None = 0
) -> Tensor:
    r"""Random Fourier series on the periodic unit interval (thesis 4.3.1).

    For each profile a cut-off :math:`N\in\{0..\text{max\_mode}\}` is drawn and
    :math:`c(x)=a_0+\sum_{k=1}^N a_k\cos 2\pi kx+b_k\sin 2\pi kx` with
    :math:`a_k,b_k\sim\mathcal N(0,k^{-p})` (:math:`a_0\sim\mathcal N(0,1)`), then
    normalized to unit Euclidean norm over the grid. Values may be negative.
    """
    g = _generator(seed)
    x = _grid(points)
    k = torch.arange(1, max_mode + 1, dtype=torch.float64)
    cutoff = torch.randint(0, max_mode + 1, (n, 1), generator=g)
    std = k ** (-p / 2) * (k[None] <= cutoff).double()
    a = torch.randn(n, max_mode, generator=g, dtype=torch.float64) * std
    b = torch.randn(n, max_mode, generator=g, dtype=torch.float64) * std
    a0 = torch.randn(n, 1, generator=g, dtype=torch.float64)
    phase = 2 * torch.pi * k[:, None] * x[None]
    c = a0 + a @ torch.cos(phase) + b @ torch.sin(phase)
    return _normalize(c)


def polynomial_profiles(
    n: int, points: int = 64, max_degree: int = 4, margin: float = 0.05, seed: int | torch.Generator | None = 0
) -> Tensor:
    r"""Positive periodic polynomials :math:`c=x(x-1)p(x)+A` (thesis 4.3.2).

    :math:`p` has a random degree in 0..max_degree and coefficients in [-1, 1]; ``A``
    lifts the minimum to ``margin`` times the profile's range (strictly positive).
    Normalized to unit Euclidean norm.
    """
    g = _generator(seed)
    x = _grid(points)
    degree = torch.randint(0, max_degree + 1, (n, 1), generator=g)
    powers = torch.arange(max_degree + 1)
    coef = (2 * torch.rand(n, max_degree + 1, generator=g, dtype=torch.float64) - 1) * (powers[None] <= degree)
    base = x * (x - 1) * (coef @ x[None] ** powers[:, None].double())
    lo, hi = base.min(-1, keepdim=True).values, base.max(-1, keepdim=True).values
    spread = torch.clamp(hi - lo, min=1e-12)
    return _normalize(base - lo + margin * spread)


def step_profiles(
    n: int, points: int = 64, max_steps: int = 5, baseline: float = 0.05, seed: int | torch.Generator | None = 0
) -> Tensor:
    r"""Sums of 1..max_steps box functions (thesis 4.3.2, "discontinuous").

    For :math:`N` steps: heights :math:`U(0.1,1)`, widths :math:`U(1/4N,1/2N)`,
    centres in :math:`[1/N, 1-1/N]` (for :math:`N=1`: [1/4, 3/4]). A small
    ``baseline`` keeps the profile strictly positive. Normalized.
    """
    g = _generator(seed)
    x = _grid(points)
    out = torch.full((n, points), float(baseline), dtype=torch.float64)
    for i in range(n):
        m = int(torch.randint(1, max_steps + 1, (1,), generator=g))
        lo, hi = (0.25, 0.75) if m == 1 else (1 / m, 1 - 1 / m)
        r = torch.rand(m, 3, generator=g, dtype=torch.float64)
        heights = 0.1 + 0.9 * r[:, 0]
        widths = (0.25 + 0.25 * r[:, 1]) / m
        centres = lo + (hi - lo) * r[:, 2]
        inside = (x[None] - centres[:, None]).abs() <= widths[:, None] / 2
        out[i] += (heights[:, None] * inside).sum(0)
    return _normalize(out)


def gaussian_spikes(
    n: int,
    points: int = 64,
    offset: tuple[float, float] = (0.1, 0.3),
    width: float = 0.1,
    seed: int | torch.Generator | None = 0,
) -> Tensor:
    r"""Two Gaussian spikes at :math:`0.5\pm x_0`, :math:`x_0\sim U(0.1,0.3)` (thesis 4.3.2).

    :math:`c=e^{-((x-0.5+x_0)/w)^2}+e^{-((x-0.5-x_0)/w)^2}`, normalized.
    """
    g = _generator(seed)
    x = _grid(points)
    x0 = offset[0] + (offset[1] - offset[0]) * torch.rand(n, 1, generator=g, dtype=torch.float64)
    c = torch.exp(-(((x - 0.5 + x0) / width) ** 2)) + torch.exp(-(((x - 0.5 - x0) / width) ** 2))
    return _normalize(c)


# ---------------------------------------------------------------- datasets


def central_differences(trajectories: Tensor, dt: float) -> tuple[Tensor, Tensor]:
    """States at interior times and their central-difference velocities (second order)."""
    states = trajectories[:, 1:-1]
    velocities = (trajectories[:, 2:] - trajectories[:, :-2]) / (2 * dt)
    return states, velocities


def savgol_differences(trajectories: Tensor, dt: float, window: int = 15, order: int = 3) -> tuple[Tensor, Tensor]:
    r"""Savitzky--Golay smoothed states and velocities at the interior times (same shapes as
    :func:`central_differences`): a least-squares polynomial of degree ``order`` fitted over
    ``window`` samples (``scipy.signal.savgol_filter``) and differentiated. It averages noise
    that central differences amplify by :math:`1/\Delta t`."""
    from scipy.signal import savgol_filter

    if window % 2 == 0 or window <= order or window > trajectories.shape[1]:
        raise ValueError(
            f"window must be odd, larger than order={order} and at most the trajectory length "
            f"{trajectories.shape[1]}, got {window}"
        )
    y = trajectories.detach().cpu().numpy()
    smooth = savgol_filter(y, window, order, axis=1, mode="interp")
    slope = savgol_filter(y, window, order, deriv=1, delta=dt, axis=1, mode="interp")
    as_tensor = lambda a: torch.as_tensor(a[:, 1:-1].copy(), dtype=trajectories.dtype)  # noqa: E731
    return as_tensor(smooth), as_tensor(slope)


DERIVATIVES = {"central": central_differences, "savgol": savgol_differences}


def _validate(trajectories: Tensor, dt: float, dim: int | None = None, lengths: Tensor | None = None) -> Tensor:
    if not isinstance(trajectories, Tensor):
        trajectories = torch.as_tensor(trajectories)
    if trajectories.ndim != 3:
        raise ValueError(f"trajectories must have shape (trajectories, steps, dim), got ndim={trajectories.ndim}")
    if dim is not None and trajectories.shape[-1] != dim:
        raise ValueError(f"trajectories have dim {trajectories.shape[-1]}, expected {dim}")
    shortest = trajectories.shape[1] if lengths is None else int(lengths.min())
    if shortest < 3:
        raise ValueError(f"need at least 3 time steps for central differences, got {shortest}")
    if trajectories.shape[0] < 1:
        raise ValueError("need at least one trajectory")
    if not isinstance(dt, (int, float)) or not dt > 0:
        raise ValueError(f"dt must be a positive number, got {dt}")
    if not torch.isfinite(trajectories[_observed(trajectories, lengths)]).all():
        raise ValueError("trajectories contain NaN or inf")
    return trajectories


def _observed(trajectories: Tensor, lengths: Tensor | None) -> Tensor:
    """Boolean mask (trajectories, steps): samples inside each trajectory's length."""
    n, steps = trajectories.shape[:2]
    if lengths is None:
        return torch.ones(n, steps, dtype=torch.bool)
    if lengths.shape != (n,) or int(lengths.max()) > steps:
        raise ValueError(f"lengths must be one length <= {steps} per trajectory, got shape {tuple(lengths.shape)}")
    return torch.arange(steps)[None] < lengths[:, None]


@dataclass
class TrajectorySet:
    """A set of sampled trajectories with velocity targets.

    ``states`` and ``velocities`` have shape ``(trajectories, steps - 2, dim)``: the interior
    samples and their central differences (``derivative="central"``), or Savitzky--Golay
    smoothed states and derivatives (``"savgol"``, window ``savgol_window``, cubic).
    Trajectories of different lengths are stored padded with NaN after their ``lengths``
    (see :func:`~ggd_tutorial.loading.trajectories_from_arrays`); ``valid`` marks the interior points that
    exist, and every metric averages over those only.
    """

    trajectories: Tensor
    dt: float
    derivative: str = "central"
    savgol_window: int = 15
    lengths: Tensor | None = None
    states: Tensor = field(init=False, repr=False)
    velocities: Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.trajectories = _validate(self.trajectories, self.dt, lengths=self.lengths)
        self.dt = float(self.dt)
        if self.derivative == "central":
            self.states, self.velocities = central_differences(self.trajectories, self.dt)
        elif self.derivative == "savgol":
            if self.lengths is not None:
                raise ValueError("derivative='savgol' needs trajectories of equal length")
            self.states, self.velocities = savgol_differences(self.trajectories, self.dt, self.savgol_window)
        else:
            raise ValueError(f"derivative must be one of {sorted(DERIVATIVES)}, got {self.derivative!r}")

    def __len__(self) -> int:
        return self.trajectories.shape[0]

    @property
    def dim(self) -> int:
        return self.trajectories.shape[-1]

    @property
    def times(self) -> Tensor:
        return torch.arange(self.trajectories.shape[1], dtype=torch.float64) * self.dt

    @property
    def valid(self) -> Tensor:
        """Mask (trajectories, steps - 2) of interior points with both neighbours observed."""
        return _observed(self.trajectories, self.lengths)[:, 2:]

    def points(self, time_stride: int = 1) -> tuple[Tensor, Tensor]:
        """Flattened ``(states, velocities)`` pairs, keeping every ``time_stride``-th time."""
        s = self.states[:, :: int(time_stride)]
        v = self.velocities[:, :: int(time_stride)]
        if self.lengths is None:
            return s.reshape(-1, self.dim), v.reshape(-1, self.dim)
        keep = self.valid[:, :: int(time_stride)]
        return s[keep], v[keep]

    def time_index(self, time_stride: int = 1) -> Tensor:
        """Index along the trajectory of every pair of :meth:`points` (0 for the first interior sample)."""
        index = torch.arange(self.states.shape[1])[:: int(time_stride)].expand(len(self), -1)
        return index.reshape(-1) if self.lengths is None else index[self.valid[:, :: int(time_stride)]]


class TrajectoryData:
    """Trajectories ``(n, steps, dim)`` sampled every ``dt``, split by trajectory.

    ``lengths`` (one per trajectory) marks trajectories shorter than the tensor, padded with NaN
    (what :mod:`ggd_tutorial.loading` builds from lists of trajectories of different lengths).
    ``test_fraction`` of the trajectories (at least one if the fraction is positive)
    go to ``.test``, chosen by a permutation seeded with ``seed``; the rest to
    ``.train``. ``derivative`` ("central" or "savgol") and ``savgol_window`` choose how the
    velocity targets are estimated (see :class:`TrajectorySet`).
    """

    #: Column names and trajectory ids, when read from a CSV file (:func:`~ggd_tutorial.loading.read_trajectories_csv`).
    state_names: list[str] | None = None
    trajectory_ids: list | None = None

    def __init__(
        self,
        trajectories: Tensor,
        dt: float,
        test_fraction: float = 0.2,
        seed: int = 0,
        derivative: str = "central",
        savgol_window: int = 15,
        lengths: Tensor | None = None,
    ) -> None:
        trajectories = _validate(trajectories, dt, lengths=lengths)
        if not 0.0 <= test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
        n = trajectories.shape[0]
        n_test = int(round(test_fraction * n))
        if test_fraction > 0:
            n_test = max(n_test, 1)
        if n - n_test < 1:
            raise ValueError(f"{n} trajectories leave none for training at test_fraction={test_fraction}")
        perm = torch.randperm(n, generator=_generator(seed))
        self.test_index = perm[:n_test].sort().values
        self.train_index = perm[n_test:].sort().values
        self.trajectories = trajectories
        self.dt = float(dt)
        self.lengths = lengths

        def subset(index: Tensor) -> TrajectorySet:
            sub_lengths = None if lengths is None else lengths[index]
            return TrajectorySet(trajectories[index], dt, derivative, savgol_window, sub_lengths)

        self.train = subset(self.train_index)
        self.test = subset(self.test_index) if n_test else None

    @property
    def dim(self) -> int:
        return self.trajectories.shape[-1]

    def __repr__(self) -> str:
        n_test = 0 if self.test is None else len(self.test)
        return (
            f"TrajectoryData(train={len(self.train)}, test={n_test}, "
            f"steps={self.trajectories.shape[1]}, dim={self.dim}, dt={self.dt})"
        )


def add_noise(trajectories: Tensor, level: float, seed: int = 0) -> Tensor:
    """Gaussian measurement noise of standard deviation ``level`` times the RMS of the data."""
    if level < 0:
        raise ValueError(f"noise level must be >= 0, got {level}")
    if level == 0:
        return trajectories.clone()
    rms = trajectories.pow(2).mean().sqrt()
    noise = torch.randn(trajectories.shape, generator=_generator(seed), dtype=trajectories.dtype)
    return trajectories + level * rms * noise
