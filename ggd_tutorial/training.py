r"""Training: Adam, then full-batch L-BFGS with strong-Wolfe line search (thesis 3.2.3).

The loss is the velocity MSE divided by the mean square of the targets (a
scale-free number, which keeps L-BFGS tolerances meaningful); the history
records the plain MSE too.
"""
from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .data import TrajectoryData, TrajectorySet
from .integrators import rk4_step


#: How often L-BFGS restarts (from the best weights, with half the step) after a non-finite loss.
MAX_NONFINITE_RESTARTS = 3


def default_device() -> torch.device:
    """CUDA if available, then Apple MPS, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass
class FitHistory:
    """What happened during :func:`fit`.

    ``loss`` holds the training MSE after every Adam step and every L-BFGS
    function evaluation; ``phase`` says which optimizer produced it and
    ``time`` the wall-clock seconds since the start.
    """

    loss: list[float] = field(default_factory=list)
    phase: list[str] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    device: str = "cpu"
    dtype: str = "float64"
    train_points: int = 0
    restored_best: bool = False
    stop_reason: str = "budget"  # "budget", "stalled", "diverged" or "interrupted"
    restarts_after_nonfinite: int = 0

    def record(self, loss: float, phase: str, t0: float) -> None:
        self.loss.append(float(loss))
        self.phase.append(phase)
        self.time.append(time.perf_counter() - t0)

    @property
    def final_loss(self) -> float:
        return self.loss[-1] if self.loss else math.nan

    @property
    def best_loss(self) -> float:
        finite = [v for v in self.loss if math.isfinite(v)]
        return min(finite) if finite else math.nan

    @property
    def wall_time(self) -> float:
        return self.time[-1] if self.time else 0.0


def _progress(total: int, enabled: bool, desc: str):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        tqdm = None
    if tqdm is None or not enabled:
        return None
    return tqdm(total=total, desc=desc, leave=False)


def fit(
    model: nn.Module,
    data: TrajectoryData | TrajectorySet,
    adam_steps: int = 500,
    lbfgs_steps: int = 500,
    adam_lr: float = 1e-3,
    lbfgs_lr: float = 1.0,
    batch_size: int | None = 4096,
    time_stride: int = 1,
    max_points: int | None = None,
    early_fraction: float = 0.0,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    history_size: int = 50,
    progress: bool = True,
    rollout_window: int = 0,
) -> FitHistory:
    r"""Fit ``model`` to the velocity targets of ``data.train`` (or to short rollouts).

    Parameters
    ----------
    adam_steps, adam_lr, batch_size:
        Adam phase on random minibatches of points (``None``: full batch).
    lbfgs_steps, lbfgs_lr, history_size:
        L-BFGS iterations (strong-Wolfe line search), always full batch.
    time_stride, max_points:
        Training subsample: every ``time_stride``-th time point of every training
        trajectory, then at most ``max_points`` of them (seeded choice). The test
        set is never touched.
    early_fraction:
        Share of the ``max_points`` drawn with log-uniform weight in time, which
        favours the fast early transients that a uniform draw rarely hits; the
        rest is uniform over all (state, time) points.
    device, dtype:
        ``None`` picks :func:`default_device`; float64 is the default because
        L-BFGS converges much further with it (MPS falls back to float32).
    seed:
        Seeds minibatch order and subsampling.
    rollout_window:
        0 (default): match velocities, :math:`\|f(x_t)-\dot x_t\|^2`. ``k > 0``: integrate
        the model ``k`` RK4 steps of ``dt`` from each sampled state and match the next ``k``
        *states*, :math:`\sum_{j\le k}\|\Phi_{j\Delta t}(x_t)-x_{t+j}\|^2`; no derivative
        estimate is needed, which makes it robust to measurement noise (at about ``4k``
        times the cost per point). The history then records this state MSE.

    If L-BFGS produces a non-finite loss or the loss blows up, the best weights
    seen are restored and L-BFGS restarts with fresh curvature memory and half the step,
    up to :data:`MAX_NONFINITE_RESTARTS` times, then stops with a warning
    (``history.stop_reason == "diverged"``); a non-finite Adam phase hands L-BFGS the
    initial weights. An interrupt (Ctrl-C) ends training with the best weights so far.
    The model is left on ``device``.
    """
    train = data.train if isinstance(data, TrajectoryData) else data
    if not isinstance(train, TrajectorySet):
        raise TypeError("data must be a TrajectoryData or TrajectorySet")
    model_dim = getattr(model, "dim", train.dim)
    if model_dim != train.dim:
        raise ValueError(f"model has dim {model_dim} but the data have dim {train.dim}")
    if adam_steps < 0 or lbfgs_steps < 0:
        raise ValueError("adam_steps and lbfgs_steps must be non-negative")
    device = torch.device(device) if device is not None else default_device()
    if device.type == "mps" and dtype == torch.float64:
        dtype = torch.float32
    gen = torch.Generator().manual_seed(int(seed))

    if rollout_window < 0:
        raise ValueError(f"rollout_window must be >= 0, got {rollout_window}")
    if rollout_window:
        x, v = rollout_windows(train, int(rollout_window), max_points, time_stride, early_fraction, gen)
        window, dt_data = int(rollout_window), train.dt

        def predict(xb: Tensor) -> Tensor:
            states, state = [], xb
            for _ in range(window):
                state = rk4_step(model, state, dt_data)
                states.append(state)
            return torch.stack(states, dim=1)

        scale = float(((v - x[:, None]) ** 2).mean())
    else:
        x, v = subsample(train, max_points, time_stride, early_fraction, gen)
        predict = model
        scale = float((v**2).mean())
    x = x.to(device=device, dtype=dtype)
    v = v.to(device=device, dtype=dtype)
    if not scale > 0:
        raise ValueError("all velocity targets are zero: nothing to learn")
    model.to(device=device, dtype=dtype)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    history = FitHistory(device=str(device), dtype=str(dtype).replace("torch.", ""), train_points=x.shape[0])
    if not params:
        raise ValueError("model has no trainable parameters (both potentials prescribed?)")

    def loss_on(xb: Tensor, vb: Tensor) -> Tensor:
        return ((predict(xb) - vb) ** 2).mean()

    t0 = time.perf_counter()
    bar = _progress(adam_steps + lbfgs_steps, progress, "fit")
    best_loss, best_state = math.inf, copy.deepcopy(model.state_dict())

    try:
        # ---- Adam on minibatches
        if adam_steps:
            opt = torch.optim.Adam(params, lr=adam_lr)
            n = x.shape[0]
            bs = n if batch_size is None else min(int(batch_size), n)
            perm, pos = torch.randperm(n, generator=gen), 0
            for _ in range(adam_steps):
                if pos + bs > n:
                    perm, pos = torch.randperm(n, generator=gen), 0
                idx = perm[pos : pos + bs].to(device)
                pos += bs
                opt.zero_grad(set_to_none=True)
                loss = loss_on(x[idx], v[idx])
                (loss / scale).backward()
                opt.step()
                history.record(loss.item(), "adam", t0)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(phase="adam", mse=f"{history.final_loss:.2e}")
            adam_loss = _full_loss(predict, x, v)
            if math.isfinite(adam_loss):
                best_loss, best_state = adam_loss, copy.deepcopy(model.state_dict())
            else:  # Adam diverged: L-BFGS starts again from the initial weights
                model.load_state_dict(best_state)
                history.restored_best = True

        # ---- full-batch L-BFGS, restarted when it stalls
        if lbfgs_steps:
            chunk = 20

            lr = lbfgs_lr

            def new_lbfgs() -> torch.optim.LBFGS:
                return torch.optim.LBFGS(
                    params,
                    lr=lr,
                    max_iter=chunk,
                    max_eval=int(chunk * 1.25) + 5,
                    history_size=history_size,
                    line_search_fn="strong_wolfe",
                    tolerance_grad=0.0,
                    tolerance_change=0.0,
                )

            opt = new_lbfgs()

            def closure() -> Tensor:
                opt.zero_grad(set_to_none=True)
                loss = loss_on(x, v)
                scaled = loss / scale
                if torch.isfinite(scaled):
                    scaled.backward()
                history.record(loss.item(), "lbfgs", t0)
                return scaled

            done, stalls = 0, 0
            while done < lbfgs_steps:
                k = min(chunk, lbfgs_steps - done)
                opt.param_groups[0]["max_iter"] = k
                opt.param_groups[0]["max_eval"] = int(k * 1.25) + 5
                start_loss = best_loss
                try:
                    opt.step(closure)
                except (IndexError, RuntimeError):  # strong-Wolfe search can fail on NaN losses
                    history.record(math.nan, "lbfgs", t0)
                done += k
                # the loss at the weights L-BFGS accepted (the last closure call may be a trial point)
                current = _full_loss(predict, x, v) if math.isfinite(history.final_loss) else math.nan
                if bar is not None:
                    bar.update(min(k, bar.total - bar.n))
                    bar.set_postfix(phase="lbfgs", mse=f"{min(current, best_loss):.2e}")
                if not math.isfinite(current) or current > 1e3 * max(best_loss, 1e-300):
                    # a non-finite or exploding trial point: back to the best weights, fresh
                    # curvature memory and half the step, a bounded number of times
                    model.load_state_dict(best_state)
                    history.restored_best = True
                    if history.restarts_after_nonfinite >= MAX_NONFINITE_RESTARTS:
                        history.stop_reason = "diverged"
                        warnings.warn(
                            f"L-BFGS diverged (loss {current:.3g}) {MAX_NONFINITE_RESTARTS + 1} times; restored "
                            f"the best weights (loss {best_loss:.3g}) and stopped",
                            RuntimeWarning,
                            stacklevel=2,
                        )
                        break
                    history.restarts_after_nonfinite += 1
                    lr *= 0.5
                    opt = new_lbfgs()
                    continue
                if current <= best_loss:
                    best_loss, best_state = current, copy.deepcopy(model.state_dict())
                # A stalled line search (e.g. at a kink of the positive reparameterization)
                # leaves the loss unchanged: drop the curvature memory and start afresh.
                if best_loss >= start_loss * (1 - 1e-9):
                    stalls += 1
                    if stalls >= 5:
                        history.stop_reason = "stalled"
                        break
                    model.load_state_dict(best_state)
                    opt = new_lbfgs()
                else:
                    stalls = 0
    except KeyboardInterrupt:
        history.stop_reason = "interrupted"
        model.eval()
        try:
            current = _full_loss(predict, x, v)
        except KeyboardInterrupt:
            current = math.nan
        if not (math.isfinite(current) and current <= best_loss):
            model.load_state_dict(best_state)
            history.restored_best = True
        warnings.warn("training interrupted; kept the best weights seen so far", RuntimeWarning, stacklevel=2)
    if bar is not None:
        bar.close()
    if history.restarts_after_nonfinite and history.stop_reason != "diverged":
        warnings.warn(f"L-BFGS met a non-finite or exploding loss {history.restarts_after_nonfinite} time(s); each "
                      "time it restored the best weights and restarted with half the step", RuntimeWarning,
                      stacklevel=2)
    model.eval()
    final = _full_loss(predict, x, v)
    if not math.isfinite(final) or final > best_loss:
        model.load_state_dict(best_state)
        if not math.isfinite(final):
            history.restored_best = True
            warnings.warn("training ended with a non-finite loss; restored the best weights", RuntimeWarning,
                          stacklevel=2)
    return history


def subsample(
    train: TrajectorySet,
    max_points: int | None,
    time_stride: int = 1,
    early_fraction: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Training pairs (states, velocities): a seeded subsample of ``train``, see :func:`fit`."""
    states, velocities = train.points(time_stride)
    index = _choose(len(train), states.shape[0] // len(train), max_points, early_fraction, generator)
    return (states, velocities) if index is None else (states[index], velocities[index])


def rollout_windows(
    train: TrajectorySet,
    window: int,
    max_points: int | None,
    time_stride: int = 1,
    early_fraction: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Start states ``(N, dim)`` and the ``window`` states that follow each ``(N, window, dim)``,
    subsampled like :func:`subsample` (seeded, optionally favouring early times)."""
    traj = train.trajectories
    n_start = traj.shape[1] - window
    if n_start < 1:
        raise ValueError(f"rollout_window={window} needs trajectories longer than {window} samples")
    starts = traj[:, :n_start:time_stride]
    follow = torch.stack([traj[:, j : j + n_start : time_stride] for j in range(1, window + 1)], dim=2)
    starts, follow = starts.reshape(-1, train.dim), follow.reshape(-1, window, train.dim)
    index = _choose(len(train), starts.shape[0] // len(train), max_points, early_fraction, generator)
    return (starts, follow) if index is None else (starts[index], follow[index])


def _choose(n_traj: int, n_time: int, max_points: int | None, early_fraction: float,
            generator: torch.Generator | None) -> Tensor | None:
    """Indices of the flattened (trajectory, time) grid to keep; ``None`` keeps all."""
    if not 0.0 <= early_fraction <= 1.0:
        raise ValueError(f"early_fraction must be in [0, 1], got {early_fraction}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    total = n_traj * n_time
    if max_points is None or total <= max_points:
        return None
    n_early = int(round(early_fraction * max_points))
    chosen = torch.zeros(total, dtype=torch.bool)
    if n_early:
        time_index = torch.arange(n_time, dtype=torch.float64).repeat(n_traj)
        picks = torch.multinomial(1.0 / (time_index + 1.0), n_early, replacement=False, generator=gen)
        chosen[picks] = True
    rest = torch.nonzero(~chosen).squeeze(1)
    extra = rest[torch.randperm(len(rest), generator=gen)[: int(max_points) - n_early]]
    chosen[extra] = True
    return torch.nonzero(chosen).squeeze(1)


def _full_loss(predict, x: Tensor, v: Tensor, chunk: int = 65536) -> float:
    total = 0.0
    with torch.no_grad():
        for i in range(0, x.shape[0], chunk):
            total += float(((predict(x[i : i + chunk]) - v[i : i + chunk]) ** 2).sum())
    return total / v.numel()
