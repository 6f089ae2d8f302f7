r"""Your own data in: trajectories from NumPy arrays or a CSV file, checked, split for training.

Measured data rarely come as one tensor of equal-length, equally spaced trajectories. Here
each trajectory is its own array of states, with its own time stamps, and may have its own
length. Time stamps must be uniform within a trajectory and share one step across
trajectories, since central differences (and the RK4 rollouts that test a model) use one step;
data that break that are refused with a message that says how to fix them. Nothing is
silently dropped: every bad value is an error that names the trajectory and the sample.

CSV long format: one row per sample, a column with the trajectory id, one with the time, one
per state component::

    trajectory,time,A,B
    0,0.00,1.0,0.10
    0,0.01,0.98,0.12
    ...
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .data import TrajectoryData


def trajectories_from_arrays(
    states: Sequence,
    times: Sequence | None = None,
    dt: float | None = None,
    positive: bool = False,
    test_fraction: float = 0.2,
    seed: int = 0,
    rtol: float = 1e-3,
) -> TrajectoryData:
    r"""A :class:`~ggd_tutorial.data.TrajectoryData` from a list of trajectories.

    ``states[k]`` has shape ``(samples_k, dim)`` (or ``(samples_k,)`` for one component);
    give either ``times`` (``times[k]`` one stamp per sample) or one step ``dt``. Steps may
    vary by ``rtol`` (relative) for rounded time stamps. ``positive=True`` refuses
    non-positive values (concentrations, temperatures, where the entropy has a logarithm).
    Trajectories of different lengths are padded with NaN behind the scenes
    (``TrajectoryData.lengths``); no metric ever sees the padding.
    """
    if isinstance(states, (np.ndarray, torch.Tensor)) and np.ndim(states) == 3:
        states = list(states)
    if not isinstance(states, Sequence) or len(states) == 0:
        raise ValueError("states must be a non-empty list of arrays, one per trajectory")
    arrays = [_as_states(k, x) for k, x in enumerate(states)]
    _check_dims(arrays)
    for k, x in enumerate(arrays):
        _check_values(k, x, positive)
    step = _common_step(arrays, times, dt, rtol)
    lengths = torch.tensor([len(x) for x in arrays])
    padded = torch.full((len(arrays), int(lengths.max()), arrays[0].shape[1]), float("nan"), dtype=torch.float64)
    for k, x in enumerate(arrays):
        padded[k, : len(x)] = torch.from_numpy(x)
    ragged = bool((lengths != lengths.max()).any())
    return TrajectoryData(padded, step, test_fraction=test_fraction, seed=seed, lengths=lengths if ragged else None)


def read_trajectories_csv(
    path: str | Path,
    id_column: str = "trajectory",
    time_column: str = "time",
    state_columns: Sequence[str] | None = None,
    positive: bool = False,
    test_fraction: float = 0.2,
    seed: int = 0,
    rtol: float = 1e-3,
) -> TrajectoryData:
    """Read the long format of the module docstring (rows of one trajectory are sorted by time;
    ``state_columns`` default to every other column) and check it as :func:`trajectories_from_arrays` does.
    The state column names are kept in ``data.state_names``."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        missing = [c for c in (id_column, time_column, *(state_columns or [])) if c not in header]
        if missing:
            raise ValueError(f"{path}: no column {missing[0]!r}; the header is {header}")
        names = list(state_columns or [c for c in header if c not in (id_column, time_column)])
        if not names:
            raise ValueError(f"{path}: no state columns besides {id_column!r} and {time_column!r}")
        rows: dict[str, list[list[float]]] = {}
        for line, row in enumerate(reader, start=2):
            values = [_number(path, line, c, row[c]) for c in (time_column, *names)]
            rows.setdefault(row[id_column], []).append(values)
    if not rows:
        raise ValueError(f"{path}: no data rows")
    blocks = [np.array(sorted(r, key=lambda v: v[0])) for r in rows.values()]
    data = trajectories_from_arrays(
        [b[:, 1:] for b in blocks],
        times=[b[:, 0] for b in blocks],
        positive=positive,
        test_fraction=test_fraction,
        seed=seed,
        rtol=rtol,
    )
    data.state_names = names
    data.trajectory_ids = list(rows)
    return data


def write_trajectories_csv(
    path: str | Path,
    states: Sequence,
    dt: float,
    names: Sequence[str] | None = None,
    id_column: str = "trajectory",
    time_column: str = "time",
) -> None:
    """Write trajectories ``states[k]`` ``(samples_k, dim)``, sampled every ``dt``, in the long format."""
    arrays = [_as_states(k, x) for k, x in enumerate(states)]
    _check_dims(arrays)
    dim = arrays[0].shape[1]
    names = list(names or [f"x{i}" for i in range(dim)])
    if len(names) != dim:
        raise ValueError(f"{len(names)} names for {dim} state components")
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([id_column, time_column, *names])
        for k, x in enumerate(arrays):
            for j, row in enumerate(x):
                writer.writerow([k, repr(j * dt), *(repr(float(v)) for v in row)])


def _as_states(k: int, x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"trajectory {k}: not numeric ({err})") from None
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"trajectory {k}: expected shape (samples, dim), got {x.shape}")
    if len(x) < 3:
        raise ValueError(f"trajectory {k} has {len(x)} samples; central differences need at least 3")
    return x


def _check_dims(arrays: list[np.ndarray]) -> None:
    dims = sorted({x.shape[1] for x in arrays})
    if len(dims) > 1:
        k = next(k for k, x in enumerate(arrays) if x.shape[1] != arrays[0].shape[1])
        raise ValueError(
            f"mixed state dimensions {dims}: trajectory 0 has {arrays[0].shape[1]} components, "
            f"trajectory {k} has {arrays[k].shape[1]}"
        )


def _check_values(k: int, x: np.ndarray, positive: bool) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        j, i = np.argwhere(bad)[0]
        raise ValueError(
            f"trajectory {k}, sample {j}, component {i} is {x[j, i]} (NaN or inf): "
            "remove or repair that sample; nothing is dropped silently"
        )
    if positive and (x <= 0).any():
        j, i = np.argwhere(x <= 0)[0]
        raise ValueError(
            f"trajectory {k}, sample {j}, component {i} is {x[j, i]}, but positive=True "
            "(the model's entropy needs positive values, e.g. concentrations)"
        )


def _common_step(arrays: list[np.ndarray], times: Sequence | None, dt: float | None, rtol: float) -> float:
    """The one sampling step of all trajectories, from ``dt`` or checked time stamps."""
    if (times is None) == (dt is None):
        raise ValueError("give either times (one array of stamps per trajectory) or dt, not both or neither")
    if dt is not None:
        if not dt > 0:
            raise ValueError(f"dt must be positive, got {dt}")
        return float(dt)
    assert times is not None  # exactly one of times and dt is given (checked above)
    if len(times) != len(arrays):
        raise ValueError(f"{len(times)} time arrays for {len(arrays)} trajectories")
    steps = [
        _uniform_step(k, np.asarray(t, dtype=np.float64), len(x), rtol) for k, (t, x) in enumerate(zip(times, arrays))
    ]
    lo, hi = int(np.argmin(steps)), int(np.argmax(steps))
    if steps[hi] - steps[lo] > rtol * steps[lo]:
        raise ValueError(
            f"trajectories are sampled with different steps (trajectory {lo}: {steps[lo]:.6g}, "
            f"trajectory {hi}: {steps[hi]:.6g}); resample them to one step (e.g. numpy.interp) "
            "or load them as separate data sets"
        )
    return float(np.mean(steps))


def _uniform_step(k: int, t: np.ndarray, samples: int, rtol: float) -> float:
    if t.shape != (samples,):
        raise ValueError(f"trajectory {k}: {t.size} time stamps for {samples} samples")
    if not np.isfinite(t).all():
        raise ValueError(f"trajectory {k}: time stamps contain NaN or inf")
    diffs = np.diff(t)
    if (diffs <= 0).any():
        j = int(np.argmax(diffs <= 0))
        raise ValueError(f"trajectory {k}: times must increase, but t[{j}] = {t[j]} and t[{j + 1}] = {t[j + 1]}")
    step = float(diffs.mean())
    if np.abs(diffs - step).max() > rtol * step:
        raise ValueError(
            f"trajectory {k}: non-uniform time steps (from {diffs.min():.6g} to {diffs.max():.6g}); "
            "central differences and the rollouts need one step: resample the trajectory "
            "(e.g. numpy.interp) or split it where the step changes"
        )
    return step


def _number(path, line: int, column: str, text: str | None) -> float:
    try:
        return float("" if text is None else text)
    except ValueError:
        raise ValueError(f"{path}, line {line}, column {column!r}: {text!r} is not a number") from None
