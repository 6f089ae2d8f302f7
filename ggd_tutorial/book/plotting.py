"""The book's figures as functions (matplotlib). Each returns the figure it drew."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from ..data import simulate
from ..systems import MassActionKinetics
from ..training import FitHistory


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
    ax.set_title(
        title
        + (
            "  (dotted: switch to L-BFGS)"
            if any(0 < sum(p == "adam" for p in h.phase) < len(h.loss) for h in histories.values())
            else ""
        )
    )
    if len(histories) > 1:
        ax.legend()
    fig.tight_layout()
    return fig


def plot_trajectory(
    times: Tensor,
    true: Tensor,
    predicted: Tensor,
    labels: Sequence[str] | None = None,
    ax=None,
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


def plot_mse_histogram(
    per_trajectory_mse: Tensor,
    reference: float | None = None,
    ax=None,
    title: str = "Test velocity MSE per trajectory",
    reference_label: str = "thesis",
):
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
    grid: Tensor,
    true: Tensor,
    predicted: Tensor,
    fractions: Sequence[float] = (0.0, 1 / 3, 2 / 3, 1.0),
    title: str = "",
    axes=None,
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


def plot_entropy_production(
    times: Tensor, production: Tensor, ax=None, title: str = "Entropy production along predicted rollouts"
):
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


def plot_dissipation_shape(nonlinearity: float = 1.0, x0: float = 2.0):
    r"""A cosh dissipation potential against its Onsager (quadratic) limit.

    :math:`\Xi_a(x^*) = (\cosh(a x^*) - 1)/a^2` has the same curvature at :math:`x^*=0` as
    :math:`\Xi_0 = x^{*2}/2` for every ``nonlinearity`` :math:`a>0`. With :math:`S=-x^2/2`
    (:math:`x^*=-x`) the GGD relaxation :math:`\dot x = -\sinh(a x)/a` is solved exactly by
    :math:`\tanh(a x/2) = \tanh(a x_0/2)\,e^{-t}`, against :math:`x_0 e^{-t}` for the quadratic one.
    """
    if nonlinearity <= 0:
        raise ValueError(f"nonlinearity must be positive, got {nonlinearity}")
    a = nonlinearity
    y = np.linspace(-3, 3, 301)
    t = np.linspace(0, 4, 201)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    axes[0].plot(y, (np.cosh(a * y) - 1) / a**2, label=rf"$(\cosh({a:.2g}x^*)-1)/{a:.2g}^2$")
    axes[0].plot(y, y**2 / 2, "k--", label=r"$x^{*2}/2$ (Onsager)")
    axes[0].set_ylim(0, 4.5)
    axes[0].set(xlabel="$x^*$", ylabel=r"$\Xi$", title="Dissipation potential")
    axes[1].plot(y, np.sinh(a * y) / a, label="GGD flux")
    axes[1].plot(y, y, "k--", label="linear flux")
    axes[1].set_ylim(-6, 6)
    axes[1].set(xlabel="$x^*$", ylabel=r"$\partial\Xi/\partial x^*$", title="Flux vs force")
    axes[2].plot(t, 2 / a * np.arctanh(np.tanh(a * x0 / 2) * np.exp(-t)), label="cosh potential")
    axes[2].plot(t, x0 * np.exp(-t), "k--", label="quadratic potential")
    axes[2].set(xlabel="time $t$", ylabel="$x(t)$", title=rf"Relaxation from $x_0={x0:.2g}$ ($S=-x^2/2$)")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_kinetics_explorer(
    W1: float = 4.0,
    W2: float = 4.0,
    Q_C: float = -1.0,
    t_end: float = 5.0,
    c0: Sequence[float] = (0.9, 0.7, 0.1, 0.4),
):
    r"""Concentrations and entropy of the thesis network :math:`A+2B\rightleftharpoons C`,
    :math:`C+D\rightleftharpoons A` for rate prefactors ``W1``, ``W2`` and the reference
    chemical potential ``Q_C`` of C (which sets the equilibrium constant of both reactions).

    The entropy rises monotonically to its maximum on the conservation-law plane, whatever the
    parameters: the second law is a property of the GGD form, not of the numbers.
    """
    system = MassActionKinetics.thesis_example(W0=[W1, W2], Q=[-1.0, -1.0, Q_C, -1.0])
    dt = 0.005
    steps = max(int(round(t_end / dt)), 2)
    traj = simulate(system, torch.tensor([list(c0)], dtype=torch.float64), dt, steps)[0]
    t = np.arange(steps) * dt
    kf, kb = (k.numpy() for k in system.rate_constants)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for m, name in enumerate(system.species):
        axes[0].plot(t, _np(traj[:, m]), label=name)
    axes[0].set(
        xlabel="time",
        ylabel="concentration",
        title=f"$k_f$ = {kf[0]:.2g}, {kf[1]:.2g};  $k_b$ = {kb[0]:.2g}, {kb[1]:.2g}",
    )
    axes[0].legend(fontsize=8, ncol=2)
    entropy = _np(system.entropy(traj))
    axes[1].plot(t, entropy)
    axes[1].set(xlabel="time", ylabel="$S(c(t))$", title=f"Entropy: min increment {np.diff(entropy).min():.1e}")
    fig.tight_layout()
    return fig


def plot_horizon_errors(comparisons: Sequence, title: str = "Rollout error beyond the training horizon"):
    """Rollout state MSE at multiples of the training horizon, one panel per system
    (``comparison.Comparison`` objects); a diverged rollout is drawn at the top edge."""
    fig, axes = plt.subplots(1, len(comparisons), figsize=(3.6 * len(comparisons), 3.2), squeeze=False)
    for ax, c in zip(axes[0], comparisons):
        for m, style in zip(c.horizons, ("o-", "s--")):
            h = c.horizons[m]
            mse = np.minimum(np.asarray(h.mse, dtype=float), 1e3)
            ax.semilogy(h.multiples, mse, style, label=m)
        ax.set(xlabel="time / training horizon", title=c.name, xticks=list(c.horizons["GGD"].multiples))
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("state MSE (capped at 1e3)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_grid_transfer(transfer: dict, title: str = ""):
    """Two panels for :func:`~ggd_tutorial.book.experiments.grid_transfer`'s result: per grid and test
    family the MSE against the central-difference targets with their own error (the finite-difference
    floor, dotted), and the MSE against the exact velocity."""
    grids = sorted({p for p, _ in transfer})
    families = list(dict.fromkeys(name for _, name in transfer))
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.4), sharey=True)
    for k, name in enumerate(families):
        axes[0].loglog(grids, [transfer[p, name][0] for p in grids], "o-", color=f"C{k}", label=f"{name}: model")
        axes[0].loglog(grids, [transfer[p, name][1] for p in grids], ":", color=f"C{k}", label=f"{name}: FD floor")
        axes[1].loglog(grids, [transfer[p, name][2] for p in grids], "o-", color=f"C{k}", label=name)
    axes[0].set_title(f"{title}Against central-difference targets", loc="left")
    axes[1].set_title("Against the exact velocity", loc="left")
    axes[0].set_ylabel("test velocity MSE")
    axes[0].legend(fontsize=7, ncol=2)
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("grid points (trained on 64)")
        ax.set_xticks(grids, [str(p) for p in grids])
    fig.tight_layout()
    return fig


def plot_noise_sweep(rows: Sequence[dict], title: str = "Test MSE against measurement noise"):
    """Test MSE vs relative noise level for each model and derivative estimator
    (rows of ``comparison.noise_sweep``); the noise-free level is drawn at the left edge."""
    levels = sorted({r["noise"] for r in rows})
    smallest = min([lv for lv in levels if lv > 0] or [1e-4])
    where = {lv: (lv if lv > 0 else smallest / 10) for lv in levels}
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for model, estimator in sorted({(r["model"], r["estimator"]) for r in rows}):
        pts = sorted((where[r["noise"]], r["mse"]) for r in rows if (r["model"], r["estimator"]) == (model, estimator))
        ax.loglog(*zip(*pts), "o-" if model == "GGD" else "s--", label=f"{model}, {estimator}")
    ax.set_xticks([where[lv] for lv in levels], [f"{lv:g}" for lv in levels])
    ax.set(xlabel="relative noise level", ylabel="test MSE (exact vector field)", title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def interactive(draw: Callable[..., Any], **sliders):
    """ipywidgets sliders that redraw ``draw(**values)`` (a function returning a figure).

    Needs a live kernel (Jupyter, Colab); a static page shows only the code. Slider
    specifications are those of ``ipywidgets.interact``, e.g. ``a=(0.1, 3.0, 0.1)``.
    """
    import ipywidgets

    def show(**values):
        draw(**values)
        plt.show()

    return ipywidgets.interact(show, **sliders)


__all__ = [
    "plot_loss",
    "plot_trajectory",
    "plot_mse_histogram",
    "plot_slices",
    "plot_diffusion_snapshots",
    "plot_entropy_production",
    "plot_dissipation_shape",
    "plot_kinetics_explorer",
    "plot_horizon_errors",
    "plot_noise_sweep",
    "interactive",
]
