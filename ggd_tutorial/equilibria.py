r"""Where the dynamics ends: equilibria, their spectra, and the conserved subspace.

A GGD model conserves every :math:`q\perp\operatorname{range}P` exactly (``P`` the projection in
front of :math:`\Xi`). From :math:`x_0` it ends at the maximum of its entropy on
:math:`x_0+\operatorname{range}P` when that maximum exists and is the only rest point there:
:math:`S` strictly concave and bounded above on the class (e.g. ``entropy_coercive > 0``), and
:math:`\Xi(x,\cdot)` vanishing only where :math:`P^\top x^*=0` (e.g. :math:`\partial^2_{x^*}\Xi(x,0)`
positive definite on :math:`P^\top`). A learned model need not meet these conditions, so
:func:`compare_equilibria` measures where it ends. At such an equilibrium its Jacobian is :math:`\partial^2_{x^*}\Xi(x,0)\,\partial^2S(x)`,
a positive semi-definite matrix times a negative semi-definite one: real, non-positive eigenvalues
(Onsager reciprocity near equilibrium), which :func:`compare_equilibria` reports next to the true ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ._utils import model_dtype_device
from .integrators import VectorField, rk4_step
from .metrics import evaluate, linearization
from .networks import projection_matrix


def relax(
    f: VectorField, x0: Tensor, dt: float = 0.05, max_time: float = 400.0, tol: float = 1e-9, check_every: int = 100
) -> tuple[Tensor, Tensor]:
    r"""Integrate each state of ``x0`` (batch, dim) with RK4 until :math:`\max_i|f_i(x)|<` ``tol``
    or ``max_time``; return the final states and whether each one converged."""
    if x0.ndim != 2:
        raise ValueError(f"x0 must have shape (batch, dim), got {tuple(x0.shape)}")
    if not dt > 0 or not max_time > 0:
        raise ValueError("dt and max_time must be positive")
    dtype, device = model_dtype_device(f, x0)
    x = x0.to(device=device, dtype=dtype)
    steps = int(round(max_time / dt))
    with torch.no_grad():
        for k in range(steps):
            x = rk4_step(f, x, dt)
            if (k + 1) % check_every == 0 and bool((evaluate(f, x).abs().amax(-1) < tol).all()):
                break
        converged = evaluate(f, x).abs().amax(-1) < tol
    return x.to(x0), converged.to(x0.device)


def conserved_subspace(projection: Tensor, rtol: float = 1e-10) -> Tensor:
    r"""Orthonormal rows spanning :math:`\{q: q^\top P=0\}`: what a model with projection ``P`` conserves."""
    u, s, _ = torch.linalg.svd(projection.detach(), full_matrices=True)
    rank = int((s > rtol * s.max()).sum())
    return u[:, rank:].T.contiguous()


def principal_angles(a: Tensor, b: Tensor) -> Tensor:
    r"""Principal angles (radians, ascending) between the row spaces of ``a`` and ``b``:
    all zero when they coincide, :math:`\pi/2` for a direction of one orthogonal to the other."""
    qa, _ = torch.linalg.qr(a.detach().T.to(torch.float64))
    qb, _ = torch.linalg.qr(b.detach().T.to(torch.float64))
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(max=1.0)
    return torch.arccos(cosines).sort().values


def model_projection(model) -> Tensor | None:
    """The matrix ``P`` through which a model's dissipation sees the conjugate, or None (full)."""
    project = getattr(getattr(model, "dissipation_net", None), "project", None)
    return None if project is None else projection_matrix(project)


@dataclass
class EquilibriumComparison:
    """True and model equilibria from the same initial states, and the spectra there."""

    true: Tensor
    model: Tensor
    true_converged: Tensor
    model_converged: Tensor
    true_spectrum: Tensor
    model_spectrum: Tensor

    @property
    def diverged(self) -> Tensor:
        """For each initial state, whether the model's relaxation left every bound (non-finite end state)."""
        return ~torch.isfinite(self.model).all(-1)

    @property
    def error(self) -> Tensor:
        """For each initial state, the RMS distance between the two equilibria (inf where the model diverged)."""
        err = ((self.model - self.true) ** 2).mean(-1).sqrt()
        return torch.where(self.diverged, torch.full_like(err, float("inf")), err)

    @property
    def spectrum_error(self) -> Tensor:
        """For each initial state, the largest difference of the sorted eigenvalues (real parts), relative
        to the fastest true rate (inf where the model diverged)."""
        gap = (self.model_spectrum.real - self.true_spectrum.real).abs().amax(-1)
        err = gap / self.true_spectrum.real.abs().amax(-1)
        return torch.where(self.diverged, torch.full_like(err, float("inf")), err)

    def summary(self) -> str:
        ok = ~self.diverged
        text = (
            f"equilibrium RMS error: median {self.error.median():.1e}, worst {self.error.max():.1e}; "
            f"converged: true {int(self.true_converged.sum())}/{len(self.true)}, model "
            f"{int(self.model_converged.sum())}/{len(self.model)}"
        )
        if not bool(ok.any()):
            return text + "; every model relaxation diverged"
        spectra = self.model_spectrum[ok]
        text += (
            f"; largest eigenvalue difference {self.spectrum_error[ok].max():.1%} of the fastest rate; "
            f"model eigenvalues: max real part {spectra.real.max():.1e}, max |imag| {spectra.imag.abs().max():.1e}"
        )
        return text + (
            f"; DIVERGED from {int(self.diverged.sum())} initial states" if bool(self.diverged.any()) else ""
        )


def spectrum(f: VectorField, x: Tensor) -> Tensor:
    """Eigenvalues of the Jacobian of ``f`` at each state of ``x`` (batch, dim), sorted by real part;
    NaN at a non-finite state."""
    values = []
    for point in x:
        if not bool(torch.isfinite(point).all()):
            values.append(torch.full((x.shape[-1],), float("nan"), dtype=torch.complex128))
            continue
        v = torch.linalg.eigvals(linearization(f, point))
        values.append(v[torch.argsort(v.real)].to(torch.complex128))
    return torch.stack(values)


def compare_equilibria(model, system, x0: Tensor, **relax_kwargs) -> EquilibriumComparison:
    """Relax ``system`` and ``model`` from the same initial states ``x0`` (see :func:`relax`) and
    compare where they end and the eigenvalues of their Jacobians there."""
    true, true_ok = relax(system, x0, **relax_kwargs)
    end, model_ok = relax(model, x0, **relax_kwargs)
    return EquilibriumComparison(true, end, true_ok, model_ok, spectrum(system, true), spectrum(model, end))
