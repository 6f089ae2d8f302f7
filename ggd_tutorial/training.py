r"""Training: Adam on minibatches, then full-batch L-BFGS with strong-Wolfe line search (thesis 3.2.3).

The loss is the velocity MSE divided by the mean square of the targets (a scale-free
number, which keeps L-BFGS tolerances meaningful); the history records the plain MSE.

Device and dtype contract
-------------------------
``fit`` trains on the model's current device unless ``device`` says otherwise
(``"auto"``: CUDA, then Apple MPS, then CPU) and in ``dtype`` (float64 by default; MPS has
none and falls back to float32). The model stays there afterwards. Every function of the
package that runs a model (:func:`~ggd_tutorial.integrators.rollout`,
:func:`~ggd_tutorial.metrics.evaluate` and what builds on them) moves its inputs to the
model's device and dtype and returns results on the caller's.

What ``fit`` promises
---------------------
* Arguments are checked before the model is touched.
* Losses stay on the device during Adam and are read every :data:`CHECK_EVERY` steps, where
  a non-finite loss ends the phase and restores the weights it started from.
* The weights returned are the best seen, judged by the full-batch loss at weights an
  optimizer accepted (never at a line-search trial point); ``history.returned_loss`` is that loss.
* A non-finite or exploding L-BFGS step restores the best weights and restarts with fresh
  curvature memory and half the step, at most :data:`MAX_NONFINITE_RESTARTS` times.
* Errors that are not a numerical failure of the line search (out of memory, device errors,
  bugs) propagate.
* Ctrl-C restores the best weights and re-raises (``on_interrupt="return"`` returns instead).
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn

from .data import TrajectoryData, TrajectorySet
from .integrators import rk4_step

#: How often L-BFGS restarts (from the best weights, with half the step) after a non-finite loss.
MAX_NONFINITE_RESTARTS = 3
#: Adam steps between two reads of the losses from the device (and the finite check).
CHECK_EVERY = 25
#: L-BFGS iterations between two checks of the accepted loss (divergence, stall, convergence, time).
LBFGS_CHUNK = 20
#: Training points that ``max_points="auto"`` keeps, per device type (more where a GPU makes them cheap).
AUTO_POINTS = {"cpu": 2000, "mps": 20_000, "cuda": 50_000}
#: Why training stopped, as ``FitHistory.stop_reason`` says it.
STOP_REASONS = ("budget", "converged", "stalled", "diverged", "interrupted", "time")

#: The out-of-memory error: ``torch.OutOfMemoryError`` from torch 2.5, ``torch.cuda.OutOfMemoryError`` before.
_OUT_OF_MEMORY: type[BaseException] = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


def default_device() -> torch.device:
    """CUDA if available, then Apple MPS, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def resolve_device(device: str | torch.device | None, model: nn.Module) -> torch.device:
    """``None``: the model's current device; ``"auto"``: :func:`default_device`; else as given."""
    if device is None:
        param = next(iter(model.parameters()), None)
        return param.device if param is not None else torch.device("cpu")
    if isinstance(device, str) and device == "auto":
        return default_device()
    return torch.device(device)


@dataclass
class FitHistory:
    """What happened during :func:`fit`.

    ``loss`` holds the training MSE after every Adam step and every L-BFGS function
    evaluation (trial points included); ``phase`` says which optimizer produced it and
    ``time`` the wall-clock seconds since the start (Adam losses carry the time of the check
    that read them). ``returned_loss`` is the full-batch training MSE of the weights
    returned; ``stop_reason`` is one of :data:`STOP_REASONS`; ``restored_best`` says the
    weights were reset to the best ones seen at least once.
    """

    loss: list[float] = field(default_factory=list)
    phase: list[str] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    device: str = "cpu"
    dtype: str = "float64"
    train_points: int = 0
    restored_best: bool = False
    stop_reason: str = "budget"
    restarts_after_nonfinite: int = 0
    returned_loss: float = math.nan

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


def fit(
    model: nn.Module,
    data: TrajectoryData | TrajectorySet,
    adam_steps: int = 300,
    lbfgs_steps: int = 1000,
    adam_lr: float = 1e-2,
    lbfgs_lr: float = 1.0,
    batch_size: int | None = 4096,
    time_stride: int = 1,
    max_points: int | str | None = "auto",
    early_fraction: float = 0.5,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    history_size: int = 50,
    progress: bool = True,
    rollout_window: int = 0,
    tol: float = 1e-2,
    max_time: float | None = None,
    on_interrupt: str = "raise",
) -> FitHistory:
    r"""Fit ``model`` to the velocity targets of ``data.train`` (or to short rollouts).

    The defaults suit an unknown system of a few to a few dozen states on a 2-core CPU
    (``benchmarks/defaults.md`` measures them on every system of the book).

    Parameters
    ----------
    adam_steps, adam_lr, batch_size:
        Adam phase on random minibatches of points (``None``: full batch).
    lbfgs_steps, lbfgs_lr, history_size:
        Most L-BFGS iterations (strong-Wolfe line search), always full batch.
    tol:
        Stop L-BFGS when the best loss improved by less than ``tol`` (relative) over the
        last 200 iterations (``stop_reason == "converged"``); 0 runs the whole budget.
    max_time:
        Seconds after which training stops with the best weights (``"time"``); ``None``: no limit.
    time_stride, max_points:
        Training subsample: every ``time_stride``-th time point of every training
        trajectory, then at most ``max_points`` of them (seeded choice); ``"auto"`` keeps
        :data:`AUTO_POINTS` for the device, ``None`` all. The test set is never touched.
    early_fraction:
        Share of the ``max_points`` drawn with log-uniform weight in time, which favours
        the fast early transients that a uniform draw rarely hits; the rest is uniform.
    device, dtype:
        See the module's device contract: ``None`` trains where the model is, ``"auto"``
        picks the accelerator. float64 is the default because L-BFGS converges much
        further with it.
    seed:
        Seeds minibatch order and subsampling.
    rollout_window:
        0 (default): match velocities, :math:`\|f(x_t)-\dot x_t\|^2`. ``k > 0``: integrate
        the model ``k`` RK4 steps of ``dt`` from each sampled state and match the next ``k``
        *states*, :math:`\sum_{j\le k}\|\Phi_{j\Delta t}(x_t)-x_{t+j}\|^2`; no derivative
        estimate is needed, which makes it robust to measurement noise (at about ``4k``
        times the cost per point). The history then records this state MSE.
    on_interrupt:
        ``"raise"`` (default): Ctrl-C restores the best weights and re-raises, so a cell that
        trains several models stops; ``"return"``: it returns the history instead.
    """
    train = _training_set(data)
    _check_arguments(model, train, adam_steps, lbfgs_steps, rollout_window, tol, max_time, on_interrupt)
    device = resolve_device(device, model)
    if device.type == "mps" and dtype == torch.float64:
        dtype = torch.float32
    points = AUTO_POINTS.get(device.type, AUTO_POINTS["cpu"]) if max_points == "auto" else max_points
    if isinstance(points, str):
        raise ValueError(f'max_points must be a number of points, None (all) or "auto", got {max_points!r}')
    gen = torch.Generator().manual_seed(int(seed))
    x, v, predict = _training_pairs(model, train, int(rollout_window), points, time_stride, early_fraction, gen)
    run = _Run(model, predict, x, v, device, dtype, max_time)
    run.open_bar(adam_steps + lbfgs_steps, progress)
    try:
        if adam_steps:
            run.adam(adam_steps, adam_lr, batch_size, gen)
        if lbfgs_steps and run.history.stop_reason == "budget":
            run.lbfgs(lbfgs_steps, lbfgs_lr, history_size, tol)
    except KeyboardInterrupt:
        run.interrupted()
        if on_interrupt == "raise":
            run.close_bar()
            raise
    except BaseException:
        run.restore_best()  # nothing lost on an unexpected error: the model keeps the best weights
        run.close_bar()
        raise
    run.close_bar()
    return run.finish()


def _training_set(data: TrajectoryData | TrajectorySet) -> TrajectorySet:
    train = data.train if isinstance(data, TrajectoryData) else data
    if not isinstance(train, TrajectorySet):
        raise TypeError(f"data must be a TrajectoryData or TrajectorySet, got {type(data).__name__}")
    return train


def _check_arguments(
    model: nn.Module,
    train: TrajectorySet,
    adam_steps: int,
    lbfgs_steps: int,
    rollout_window: int,
    tol: float,
    max_time: float | None,
    on_interrupt: str,
) -> None:
    """Every check that can fail before the model is moved, cast or trained."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    model_dim = getattr(model, "dim", train.dim)
    if model_dim != train.dim:
        raise ValueError(f"model has dim {model_dim} but the data have dim {train.dim}")
    if adam_steps < 0 or lbfgs_steps < 0:
        raise ValueError("adam_steps and lbfgs_steps must be non-negative")
    if rollout_window < 0:
        raise ValueError(f"rollout_window must be >= 0, got {rollout_window}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    if max_time is not None and not max_time > 0:
        raise ValueError(f"max_time must be positive or None, got {max_time}")
    if on_interrupt not in ("raise", "return"):
        raise ValueError(f"on_interrupt must be 'raise' or 'return', got {on_interrupt!r}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("model has no trainable parameters (both potentials prescribed?)")


def _training_pairs(
    model: nn.Module,
    train: TrajectorySet,
    window: int,
    max_points: int | None,
    time_stride: int,
    early_fraction: float,
    gen: torch.Generator,
):
    """Inputs, targets and the map from inputs to predictions (the model, or a ``window``-step rollout)."""
    if not window:
        x, v = subsample(train, max_points, time_stride, early_fraction, gen)
        return x, v, model
    x, v = rollout_windows(train, window, max_points, time_stride, early_fraction, gen)
    dt = train.dt

    def predict(xb: Tensor) -> Tensor:
        states, state = [], xb
        for _ in range(window):
            state = rk4_step(model, state, dt)
            states.append(state)
        return torch.stack(states, dim=1)

    return x, v, predict


class _Run:
    """One training run: data on the device, the best weights seen, the history, the progress bar."""

    def __init__(
        self,
        model: nn.Module,
        predict: Callable[[Tensor], Tensor],
        x: Tensor,
        v: Tensor,
        device: torch.device,
        dtype: torch.dtype,
        max_time: float | None,
    ) -> None:
        is_window = v.ndim == 3
        self.scale = float(((v - x[:, None]) ** 2).mean()) if is_window else float((v**2).mean())
        if not self.scale > 0:
            raise ValueError("all velocity targets are zero: nothing to learn")
        self.x, self.v = x.to(device=device, dtype=dtype), v.to(device=device, dtype=dtype)
        self.model, self.predict = model.to(device=device, dtype=dtype), predict
        model.train()
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.history = FitHistory(device=str(device), dtype=str(dtype).replace("torch.", ""), train_points=x.shape[0])
        self.best_loss, self.best_state = math.inf, copy.deepcopy(model.state_dict())
        self.t0, self.max_time, self.bar = time.perf_counter(), max_time, None

    # ---- bookkeeping
    def loss_on(self, xb: Tensor, vb: Tensor) -> Tensor:
        return ((self.predict(xb) - vb) ** 2).mean()

    def full_loss(self) -> float:
        return _full_loss(self.predict, self.x, self.v)

    def keep_if_best(self, loss: float) -> None:
        if loss <= self.best_loss:
            self.best_loss, self.best_state = loss, copy.deepcopy(self.model.state_dict())

    def restore_best(self) -> None:
        self.model.load_state_dict(self.best_state)
        self.history.restored_best = True

    def out_of_time(self) -> bool:
        if self.max_time is not None and time.perf_counter() - self.t0 > self.max_time:
            self.history.stop_reason = "time"
        return self.history.stop_reason == "time"

    def open_bar(self, total: int, enabled: bool) -> None:
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="fit", leave=False)

    def show(self, steps: int, phase: str, mse: float) -> None:
        if self.bar is not None:
            self.bar.update(min(steps, self.bar.total - self.bar.n))
            self.bar.set_postfix(phase=phase, mse=f"{mse:.2e}")

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    # ---- Adam
    def adam(self, steps: int, lr: float, batch_size: int | None, gen: torch.Generator) -> None:
        """Minibatch Adam; losses read every :data:`CHECK_EVERY` steps. Its finite end state is the
        first best; a non-finite loss ends the phase and L-BFGS starts from the initial weights."""
        opt = torch.optim.Adam(self.params, lr=lr)
        n = self.x.shape[0]
        bs = n if batch_size is None else min(int(batch_size), n)
        perm, pos, pending = torch.randperm(n, generator=gen), 0, []
        for step in range(steps):
            if pos + bs > n:
                perm, pos = torch.randperm(n, generator=gen), 0
            idx = perm[pos : pos + bs].to(self.x.device)
            pos += bs
            opt.zero_grad(set_to_none=True)
            loss = self.loss_on(self.x[idx], self.v[idx])
            (loss / self.scale).backward()
            opt.step()
            pending.append(loss.detach())
            if len(pending) == CHECK_EVERY or step == steps - 1:
                finite = self.read_losses(pending)
                pending = []
                if not finite or self.out_of_time():
                    break
        end = self.full_loss()
        if math.isfinite(end):
            self.best_loss, self.best_state = end, copy.deepcopy(self.model.state_dict())
        else:
            self.restore_best()

    def read_losses(self, pending: list[Tensor]) -> bool:
        """Move a batch of Adam losses to the host (one sync), record them; all finite?"""
        values = torch.stack(pending).tolist()
        for value in values:
            self.history.record(value, "adam", self.t0)
        self.show(len(values), "adam", values[-1])
        return all(math.isfinite(value) for value in values)

    # ---- L-BFGS
    def lbfgs(self, steps: int, lr: float, history_size: int, tol: float) -> None:
        """Full-batch L-BFGS in chunks of :data:`LBFGS_CHUNK` iterations; after each chunk the
        accepted loss decides: restart after divergence, keep if best, stop when converged,
        stalled or out of time."""
        self.lr, self.history_size = lr, history_size
        opt, done, stalls, trace = self.new_lbfgs(), 0, 0, []
        while done < steps:
            k = min(LBFGS_CHUNK, steps - done)
            start_loss = self.best_loss
            self.lbfgs_chunk(opt, k)
            done += k
            current = self.accepted_loss()
            self.show(k, "lbfgs", min(current, self.best_loss))
            if not math.isfinite(current) or current > 1e3 * max(self.best_loss, 1e-300):
                if not self.restart_after_divergence(current):
                    return
                opt = self.new_lbfgs()
                continue
            self.keep_if_best(current)
            trace.append((done, self.best_loss))
            if _converged(trace, tol):
                self.history.stop_reason = "converged"
                return
            if self.best_loss >= start_loss * (1 - 1e-9):
                # a stalled line search (e.g. at a kink of the positive reparameterization) leaves
                # the loss unchanged: drop the curvature memory and start afresh from the best
                stalls += 1
                if stalls >= 5:
                    self.history.stop_reason = "stalled"
                    return
                self.model.load_state_dict(self.best_state)
                opt = self.new_lbfgs()
            else:
                stalls = 0
            if self.out_of_time():
                return

    def new_lbfgs(self) -> torch.optim.LBFGS:
        return torch.optim.LBFGS(
            self.params,
            lr=self.lr,
            max_iter=LBFGS_CHUNK,
            max_eval=int(LBFGS_CHUNK * 1.25) + 5,
            history_size=self.history_size,
            line_search_fn="strong_wolfe",
            tolerance_grad=0.0,
            tolerance_change=0.0,
        )

    def lbfgs_chunk(self, opt: torch.optim.LBFGS, iterations: int) -> None:
        """``iterations`` L-BFGS iterations. The strong-Wolfe search can fail on a NaN trial loss
        (IndexError/RuntimeError): that counts as divergence; any other error propagates."""
        opt.param_groups[0]["max_iter"] = iterations
        opt.param_groups[0]["max_eval"] = int(iterations * 1.25) + 5

        def closure() -> Tensor:
            opt.zero_grad(set_to_none=True)
            loss = self.loss_on(self.x, self.v)
            scaled = loss / self.scale
            if torch.isfinite(scaled):
                scaled.backward()
            self.history.record(loss.item(), "lbfgs", self.t0)
            return scaled

        try:
            opt.step(closure)
        except (IndexError, RuntimeError) as err:
            if isinstance(err, _OUT_OF_MEMORY) or math.isfinite(self.history.final_loss):
                raise
            self.history.record(math.nan, "lbfgs", self.t0)

    def accepted_loss(self) -> float:
        """Full-batch loss at the weights L-BFGS accepted (its last closure call may be a trial point)."""
        return self.full_loss() if math.isfinite(self.history.final_loss) else math.nan

    def restart_after_divergence(self, loss: float) -> bool:
        """Back to the best weights with half the step; False once the restarts are used up."""
        self.restore_best()
        if self.history.restarts_after_nonfinite >= MAX_NONFINITE_RESTARTS:
            self.history.stop_reason = "diverged"
            warnings.warn(
                f"L-BFGS diverged (loss {loss:.3g}) {MAX_NONFINITE_RESTARTS + 1} times; restored the "
                f"best weights (loss {self.best_loss:.3g}) and stopped",
                RuntimeWarning,
                stacklevel=4,
            )
            return False
        self.history.restarts_after_nonfinite += 1
        self.lr *= 0.5
        return True

    # ---- the end
    def interrupted(self) -> None:
        """Ctrl-C: keep the current weights only if they are the best, say so."""
        self.history.stop_reason = "interrupted"
        self.model.eval()
        try:
            current = self.full_loss()
        except KeyboardInterrupt:
            current = math.nan
        if not (math.isfinite(current) and current <= self.best_loss):
            self.restore_best()
        warnings.warn("training interrupted; kept the best weights seen so far", RuntimeWarning, stacklevel=4)

    def finish(self) -> FitHistory:
        """Return the best weights seen and record their full-batch loss."""
        history = self.history
        if history.restarts_after_nonfinite and history.stop_reason != "diverged":
            warnings.warn(
                f"L-BFGS met a non-finite or exploding loss {history.restarts_after_nonfinite} time(s); "
                "each time it restored the best weights and restarted with half the step",
                RuntimeWarning,
                stacklevel=3,
            )
        self.model.eval()
        final = self.full_loss()
        if not math.isfinite(final) or final > self.best_loss:
            self.restore_best()
            if not math.isfinite(final):
                warnings.warn(
                    "training ended with a non-finite loss; restored the best weights", RuntimeWarning, stacklevel=3
                )
            final = self.full_loss()
        history.returned_loss = final
        return history


def _converged(trace: list[tuple[int, float]], tol: float, window: int = 200) -> bool:
    """Did the best loss improve by less than ``tol`` (relative) over the last ``window`` iterations?"""
    if tol <= 0 or trace[-1][0] - trace[0][0] < window:
        return False
    then = next(best for done, best in reversed(trace) if done <= trace[-1][0] - window)
    return then - trace[-1][1] < tol * then


def subsample(
    train: TrajectorySet,
    max_points: int | None,
    time_stride: int = 1,
    early_fraction: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Training pairs (states, velocities): a seeded subsample of ``train``, see :func:`fit`."""
    states, velocities = train.points(time_stride)
    index = _choose(train.time_index(time_stride), max_points, early_fraction, generator)
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
    time_index = torch.arange(n_start)[::time_stride].expand(len(train), -1)
    if train.lengths is not None:  # windows that end inside their trajectory
        keep = time_index + window < train.lengths[:, None]
        starts, follow, time_index = starts[keep], follow[keep], time_index[keep]
    starts, follow = starts.reshape(-1, train.dim), follow.reshape(-1, window, train.dim)
    index = _choose(time_index.reshape(-1), max_points, early_fraction, generator)
    return (starts, follow) if index is None else (starts[index], follow[index])


def _choose(
    time_index: Tensor, max_points: int | None, early_fraction: float, generator: torch.Generator | None
) -> Tensor | None:
    """Indices of the points (each at ``time_index`` along its trajectory) to keep; ``None`` keeps all.
    ``early_fraction`` of them are drawn with weight ``1 / (time_index + 1)``, the rest uniformly."""
    if not 0.0 <= early_fraction <= 1.0:
        raise ValueError(f"early_fraction must be in [0, 1], got {early_fraction}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    total = time_index.numel()
    if max_points is None or total <= max_points:
        return None
    n_early = int(round(early_fraction * max_points))
    chosen = torch.zeros(total, dtype=torch.bool)
    if n_early:
        picks = torch.multinomial(1.0 / (time_index.double() + 1.0), n_early, replacement=False, generator=gen)
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
