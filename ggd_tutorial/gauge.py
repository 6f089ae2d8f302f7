r"""Gauge fixing: compare learned potentials with analytic ones despite non-uniqueness.

The dynamics :math:`\dot x=\partial_{x^*}\Xi(x,x^*)|_{x^*=\partial_xS}` do not change under

* scale and shift: :math:`S\to S/C+K`, :math:`\Xi(x,y)\to\Xi(x,Cy)/C` (thesis 4.1.2);
* for kinetics, :math:`S\to S+\psi(q_1\cdot x,\dots,q_k\cdot x)` with :math:`q_i\cdot\nu=0` (the
  conserved quantities) and any :math:`\psi` that keeps :math:`S` concave, because :math:`\Xi` sees
  :math:`x^*` only through :math:`\nu^\top x^*`; the thesis (4.2.2) and :func:`fix_gauge` treat the
  linear part :math:`S\to S+q\cdot x`, and a nonlinear :math:`\psi` stays.

:func:`fix_gauge` estimates :math:`C` and :math:`q` by least squares on the
conjugates, :math:`C\,x^*_{\rm learned}\approx x^*_{\rm true}+q`, then :math:`K`
from the entropy values, and returns the aligned learned functions together
with relative :math:`L^2` errors on the given states -- a number for "how well
were the potentials recovered".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ._utils import model_dtype_device


@dataclass
class GaugeFit:
    r"""Result of :func:`fix_gauge`.

    ``entropy(x)`` and ``dissipation(x, y)`` are the learned potentials mapped into
    the gauge of the analytic ones:
    :math:`S_{al}=C S_{learned}-q\cdot x+K`, :math:`\Xi_{al}(x,y)=C\,\Xi_{learned}(x,y/C)`.
    ``entropy_error`` is :math:`\|S_{al}-S\|/\|S-\bar S\|` on the states,
    ``dissipation_error`` is :math:`\|\Xi_{al}-\Xi\|/\|\Xi\|` on the given pairs.
    ``entropy_rank_correlation`` is Spearman's rank correlation of the learned and
    the true entropy on the states: 1 when the learned entropy is *any* increasing
    function of the true one, :math:`S_{learned}=\varphi(S)`. When :math:`\Xi` may
    depend on :math:`x`, every such :math:`\varphi` that is also concave (so that
    :math:`\varphi(S)` stays a concave entropy) is a gauge:
    :math:`\Xi(x,y)\to\varphi'(S(x))\,\Xi(x,y/\varphi'(S(x)))` restores the dynamics.
    """

    scale: float
    shift: float
    linear: Tensor
    entropy: Callable[[Tensor], Tensor]
    dissipation: Callable[[Tensor, Tensor], Tensor]
    entropy_error: float
    dissipation_error: float
    entropy_rank_correlation: float


def _ranks(v: Tensor) -> Tensor:
    r = torch.empty_like(v)
    r[torch.argsort(v)] = torch.arange(len(v), dtype=v.dtype)
    return r


def rank_correlation(a: Tensor, b: Tensor) -> float:
    """Spearman's rank correlation of two 1-D tensors (no tie correction)."""
    ra, rb = _ranks(a.flatten().double()), _ranks(b.flatten().double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return float((ra * rb).sum() / torch.sqrt((ra**2).sum() * (rb**2).sum()))


def _rel_err(a: Tensor, b: Tensor, centre: bool) -> float:
    ref = b - b.mean() if centre else b
    return float(torch.linalg.vector_norm(a - b) / torch.clamp(torch.linalg.vector_norm(ref), min=1e-300))


def fix_gauge(
    model,
    system,
    states: Tensor,
    dissipation_points: tuple[Tensor, Tensor] | None = None,
    fit_scale: bool | None = None,
    linear_directions: Tensor | None = None,
) -> GaugeFit:
    """Align a trained :class:`~ggd_tutorial.networks.GradientDynamicsModel` with ``system``'s analytic potentials.

    Parameters
    ----------
    states:
        States ``(n, dim)`` where entropy and conjugates are compared.
    dissipation_points:
        Pairs ``(x, y)`` where the dissipation potentials are compared; by default
        ``x = states`` and ``y`` the true conjugates at half and full length
        (the region the dynamics actually visits).
    fit_scale:
        Estimate :math:`C` (default: only when both potentials are learned; a
        prescribed potential fixes the scale, :math:`C=1`).
    linear_directions:
        Rows spanning the allowed :math:`q` (e.g. ``system.conservation_laws()``
        for kinetics). Default: the system's conservation laws if it has them,
        else none.
    """
    states = states.detach()
    dtype, device = model_dtype_device(model, states)
    xs = states.to(device=device, dtype=dtype)
    if fit_scale is None:
        fit_scale = bool(getattr(model, "learns_entropy", True) and getattr(model, "learns_dissipation", True))
    if linear_directions is None and hasattr(system, "conservation_laws"):
        linear_directions = system.conservation_laws()
    with torch.no_grad():
        g_learned = model.conjugate(xs).to(states)
    g_true = system.conjugate(states)
    n, d = states.shape
    # unknowns: C (optional) and coefficients a of q = a @ L;  C g_learned - a @ L = g_true
    cols = []
    if fit_scale:
        cols.append(g_learned.reshape(-1, 1))
    L = None
    if linear_directions is not None and len(linear_directions):
        L = torch.as_tensor(linear_directions).to(states)
        for row in L:
            cols.append(-row.expand(n, d).reshape(-1, 1))
    scale = 1.0
    q = torch.zeros(d, dtype=states.dtype)
    rhs = g_true.reshape(-1) - (0 if fit_scale else g_learned.reshape(-1))
    if cols:
        A = torch.cat(cols, dim=1)
        sol = torch.linalg.lstsq(A, rhs[:, None]).solution[:, 0]
        if fit_scale:
            scale, sol = float(sol[0]), sol[1:]
        if L is not None:
            q = sol @ L
    with torch.no_grad():
        s_learned = model.entropy(xs).to(states)
    s_true = system.entropy(states)
    s_scaled = scale * s_learned - states @ q
    shift = float((s_true - s_scaled).mean())

    def entropy(x: Tensor) -> Tensor:
        with torch.no_grad():
            s = model.entropy(x.to(device=device, dtype=dtype)).to(x)
        return scale * s - x @ q.to(x) + shift

    def dissipation(x: Tensor, y: Tensor) -> Tensor:
        with torch.no_grad():
            xi = model.dissipation(x.to(device=device, dtype=dtype), (y / scale).to(device=device, dtype=dtype))
        return scale * xi.to(x)

    if dissipation_points is None:
        dissipation_points = (torch.cat([states, states]), torch.cat([0.5 * g_true, g_true]))
    px, py = dissipation_points
    xi_err = _rel_err(dissipation(px, py), system.dissipation(px, py), centre=False)
    s_err = _rel_err(entropy(states), s_true, centre=True)
    rho = rank_correlation(s_learned - states @ q / max(scale, 1e-300), s_true)
    return GaugeFit(scale, shift, q, entropy, dissipation, s_err, xi_err, rho)
