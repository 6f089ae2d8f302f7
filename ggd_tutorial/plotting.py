"""The book's figures as functions (matplotlib). Each returns the figure it drew."""
from __future__ import annotations

from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from torch import Tensor

from .training import FitHistory


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)


def plot_loss(history: FitHistory | dict[str, FitHistory], ax=None, title: str = "Training loss"):
    """Training MSE per Adam step / L-BFGS evaluation on a log scale, phases marked."""
    histories = history if isinstance(history, dict) else {"": history}
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3.5))
    for label, h in histories.items():
        loss = np.asarray(h.loss)
        line = ax.semilogy(loss, label=label or None)[0]
        n_adam = sum(p == "adam" for p in h.phase)
        if 0 < n_adam < len(loss):
            ax.axvline(n_adam, color=line.get_color(), ls=":", lw=1)
    ax.set_xlabel("Adam step / L-BFGS evaluation")
    ax.set_ylabel("training MSE")
    ax.set_title(title + ("  (dotted: switch to L-BFGS)" if any(
        0 < sum(p == "adam" for p in h.phase) < len(h.loss) for h in histories.values()) else ""))
    if len(histories) > 1:
        ax.legend()
    fig.tight_layout()
    return fig


def plot_trajectory(
    times: Tensor, true: Tensor, predicted: Tensor, labels: Sequence[str] | None = None, ax=None,
    title: str = "Test trajectory and prediction",
):
    """Components of one true trajectory (solid) and the model's rollout (dashed)."""
    t, y, p = _np(times), _np(true), _np(predicted)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3.5))
    for k in range(y.shape[-1]):
        name = labels[k] if labels else f"$x_{k + 1}$"
        line = ax.plot(t, y[:, k], label=f"{name} true")[0]
        ax.plot(t, p[:, k], "--", color=line.get_color(), label=f"{name} predicted")
    mse = float(np.mean((y - p) ** 2))
    ax.set_xlabel("time")
    ax.set_ylabel("state")
    ax.set_title(f"{title} (rollout MSE {mse:.2e})")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    return fig


def plot_mse_histogram(per_trajectory_mse: Tensor, reference: float | None = None, ax=None,
                       title: str = "Test velocity MSE per trajectory", reference_label: str = "thesis"):
    """Histogram of per-trajectory MSEs on log-spaced bins, with an optional reference line."""
    v = _np(per_trajectory_mse)
    v = v[v > 0]
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3.5))
    bins = np.logspace(np.log10(v.min()) - 0.1, np.log10(v.max()) + 0.1, 25)
    ax.hist(v, bins=bins, color="tab:blue", alpha=0.8)
    ax.set_xscale("log")
    ax.axvline(float(np.mean(v)), color="k", ls="--", label=f"mean {np.mean(v):.2e}")
    if reference is not None:
        ax.axvline(reference, color="tab:red", ls=":", label=f"{reference_label} {reference:.2e}")
    ax.set_xlabel("MSE")
    ax.set_ylabel("trajectories")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_slices(
    learned: Callable[[Tensor], Tensor],
    true: Callable[[Tensor], Tensor],
    base: Tensor,
    values: Tensor,
    labels: Sequence[str] | None = None,
    xlabel: str = "component value",
    title: str = "",
    axes=None,
):
    """1-D slices of a scalar function of a vector: vary one component of ``base``.

    ``learned`` and ``true`` take a batch ``(n, dim)``; one panel per component.
    """
    dim = base.shape[-1]
    if axes is None:
        fig, axes = plt.subplots(1, dim, figsize=(3.2 * dim, 3), squeeze=False)
        axes = axes[0]
    fig = axes[0].figure
    for k in range(dim):
        pts = base.repeat(len(values), 1)
        pts[:, k] = values
        ax = axes[k]
        ax.plot(_np(values), _np(true(pts)), "k-", label="analytic")
        ax.plot(_np(values), _np(learned(pts)), "r--", label="learned (gauge-fixed)")
        ax.set_xlabel(labels[k] if labels else f"{xlabel} {k + 1}")
    axes[0].set_title(title, loc="left")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_diffusion_snapshots(
    grid: Tensor, true: Tensor, predicted: Tensor, fractions: Sequence[float] = (0.0, 1 / 3, 2 / 3, 1.0),
    title: str = "", axes=None,
):
    """Profiles of one diffusion trajectory at fractions of its duration, true vs predicted."""
    x, y, p = _np(grid), _np(true), _np(predicted)
    if axes is None:
        fig, axes = plt.subplots(1, len(fractions), figsize=(3.2 * len(fractions), 2.8), sharey=True)
    fig = np.atleast_1d(axes)[0].figure
    for ax, f in zip(np.atleast_1d(axes), fractions):
        j = int(round(f * (y.shape[0] - 1)))
        ax.plot(x, y[j], "k-", label="true")
        ax.plot(x, p[j], "r--", label="predicted")
        ax.set_title(f"t = {f:.2g} T")
        ax.set_xlabel("position")
    np.atleast_1d(axes)[0].set_ylabel("concentration")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_entropy_production(times: Tensor, production: Tensor, ax=None,
                            title: str = "Entropy production along predicted rollouts"):
    """dS/dt of the learned model along predicted trajectories (one line each); must stay >= 0."""
    t, s = _np(times), _np(production)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3.5))
    s = np.atleast_2d(s)
    for row in s:
        ax.plot(t, np.maximum(row, 1e-300), lw=1, alpha=0.7)
    ax.set_yscale("log")
    ax.set_xlabel("time")
    ax.set_ylabel(r"$\dot S = x^*\cdot\dot x$")
    ax.set_title(f"{title} (min {s.min():.1e})")
    fig.tight_layout()
    return fig


__all__ = [
    "plot_loss", "plot_trajectory", "plot_mse_histogram", "plot_slices",
    "plot_diffusion_snapshots", "plot_entropy_production",
]
