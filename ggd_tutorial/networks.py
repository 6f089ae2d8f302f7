r"""Neural networks with built-in thermodynamic structure.

* :func:`positive_weight` -- the reparameterization of thesis eq. (3.6) that maps
  an unconstrained weight :math:`\tilde W` to a strictly positive one,

  .. math:: W = \begin{cases} \tilde W + e^{-\varepsilon}, & \tilde W \ge 0 \\
            e^{\tilde W - \varepsilon}, & \tilde W < 0. \end{cases}

* :class:`ConcaveEntropy` -- a fully input-convex network (FICNN) with negated
  output, so :math:`S(x)` is concave in :math:`x`.
* :class:`ConvexDissipation` -- a partially input-convex network (PICNN)
  :math:`\Psi(x, x^*)`, convex in :math:`x^*`, shifted as in VONNs,
  :math:`\Xi = \Psi(x,x^*) - \Psi(x,0) - x^*\cdot\partial_{x^*}\Psi(x,0)`, so that
  :math:`\Xi(x,0)=0` and :math:`\partial_{x^*}\Xi(x,0)=0`.
* :class:`MobilityDissipation` -- a quadratic :math:`\Xi=\tfrac12\sum_kL_k(x)(p_k\cdot x^*)^2`
  with a learned positive mobility :math:`L(x)` (convex in :math:`x^*` for every weight value).
* :class:`GradientDynamicsModel` -- generalized gradient dynamics
  :math:`\dot x = \partial_{x^*}\Xi(x,x^*)|_{x^*=\partial_x S}`, with either
  potential learned or prescribed.
* :class:`MLPVectorField` -- an unstructured black-box baseline :math:`\dot x = f(x)`.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ._utils import check_batch, check_sizes

EntropyFn = Callable[[Tensor], Tensor]
DissipationFn = Callable[[Tensor, Tensor], Tensor]


def positive_weight(raw: Tensor, eps: float = 5.0) -> Tensor:
    r"""Map unconstrained weights to positive ones (thesis eq. 3.6).

    Non-negative entries are shifted by :math:`e^{-\varepsilon}`, negative ones are
    mapped through :math:`e^{\tilde W-\varepsilon}`; the map is continuous,
    monotone and strictly positive.
    """
    offset = math.exp(-eps)
    return torch.where(raw >= 0, raw + offset, torch.exp(torch.clamp(raw, max=0.0) - eps))


class PositiveLinear(nn.Module):
    """Linear map ``z -> W z`` whose weights are positive by :func:`positive_weight`."""

    def __init__(self, in_features: int, out_features: int, eps: float = 5.0) -> None:
        super().__init__()
        self.eps = eps
        self.raw_weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_normal_(self.raw_weight)

    @property
    def weight(self) -> Tensor:
        return positive_weight(self.raw_weight, self.eps)

    def forward(self, z: Tensor) -> Tensor:
        return F.linear(z, self.weight)


class QuadraticForm(nn.Module):
    r"""The convex quadratic :math:`q(z)=\tfrac12\|Bz\|^2` with a learned :math:`B`.

    ``stencil=None``: :math:`B` is a full matrix (initialized to the identity).
    ``stencil=s``: :math:`B` is a periodic convolution with a kernel of ``2s+1`` taps
    (initialized to the identity), i.e. a *local, translation-invariant* operator --
    the right prior for a homogeneous field on a periodic grid, and one that fixes
    the action on grid modes that the training data never excite.
    """

    def __init__(self, dim: int, stencil: int | None = None) -> None:
        super().__init__()
        self.stencil = stencil
        if stencil is None:
            self.weight = nn.Parameter(torch.eye(dim))
        else:
            if not 0 <= int(stencil) < dim:
                raise ValueError(f"stencil must be in 0..{dim - 1}, got {stencil}")
            kernel = torch.zeros(2 * int(stencil) + 1)
            kernel[int(stencil)] = 1.0
            self.weight = nn.Parameter(kernel)

    def matrix(self, dim: int) -> Tensor:
        r""":math:`B` as a matrix; for a stencil the circulant :math:`B_{ij}=w_k`,
        :math:`j=i+k-s \bmod n` (one matrix product is cheaper than a convolution under the
        double backward of training)."""
        if self.stencil is None:
            return self.weight
        s, eye = int(self.stencil), torch.eye(dim, dtype=self.weight.dtype, device=self.weight.device)
        return sum(w * torch.roll(eye, k - s, 1) for k, w in enumerate(self.weight))

    def forward(self, z: Tensor) -> Tensor:
        bz = F.linear(z, self.matrix(z.shape[-1]))
        return 0.5 * (bz**2).sum(-1)


class _DiagonalQuadratic(nn.Module):
    r""":math:`\tfrac12\sum_kb_k^2y_k^2`, convex for every :math:`b` (initialized to ones)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, y: Tensor) -> Tensor:
        return 0.5 * (self.scale**2 * y**2).sum(-1)


_check_sizes = check_sizes  # the names used throughout this module
_check_input = check_batch


class ConcaveEntropy(nn.Module):
    r"""Concave entropy :math:`S(x) = -f(x)` with :math:`f` a FICNN (thesis 3.2.1).

    Layers: :math:`z_1=\sigma(A_0x+b_0)`,
    :math:`z_{i+1}=\sigma(W_i^{+}z_i + A_ix + b_i)`, output
    :math:`f = W_L^{+}z_L + A_Lx + b_L`, with :math:`\sigma` = softplus (convex,
    non-decreasing) and :math:`W^{+}` positive. Hence :math:`f` is convex and
    :math:`S=-f` concave in :math:`x`. With ``quadratic=True`` (default) a learned
    quadratic skip :math:`\tfrac12\|Ax\|^2` (convex for any :math:`A`, initialized
    to the identity) is added to :math:`f`, so quadratic entropies are exact.

    ``coercive=c > 0`` subtracts a fixed :math:`\tfrac c2\|x\|^2`: since a convex :math:`f` lies
    above an affine function, :math:`S` is then bounded above and tends to :math:`-\infty` along
    every ray, for every weight value, so it has a maximum on every closed set.

    ``mixing=True`` adds a learned ideal-mixing (Boltzmann) term
    :math:`\sum_ia_i\,(x_i-x_i\ln x_i)` with :math:`a_i=\operatorname{softplus}(r_i)>0`, concave for
    every weight value, for positive states such as concentrations: its gradient
    :math:`-a_i\ln x_i` diverges as :math:`x_i\to0` as the entropy of an ideal solution does,
    which a softplus network cannot extrapolate. A prior to name: with the network's affine part
    it contains the Boltzmann entropies of mass-action kinetics exactly. Non-positive states
    are refused.
    """

    def __init__(
        self,
        dim: int,
        hidden: Sequence[int] = (32, 32),
        eps: float = 5.0,
        quadratic: bool = True,
        stencil: int | None = None,
        coercive: float = 0.0,
        mixing: bool = False,
    ) -> None:
        super().__init__()
        hidden = _check_sizes(dim, hidden)
        if not coercive >= 0:
            raise ValueError(f"coercive must be >= 0, got {coercive}")
        self.dim = int(dim)
        self.coercive = float(coercive)
        sizes = hidden + [1]
        self.quadratic = QuadraticForm(dim, stencil) if quadratic else None
        self.input_maps = nn.ModuleList(nn.Linear(dim, s) for s in sizes)
        self.hidden_maps = nn.ModuleList(PositiveLinear(a, b, eps) for a, b in zip(sizes[:-1], sizes[1:]))
        for lin in self.input_maps:
            nn.init.kaiming_normal_(lin.weight)
            nn.init.zeros_(lin.bias)
        self.mixing_raw = nn.Parameter(torch.zeros(dim)) if mixing else None

    @property
    def mixing_coefficients(self) -> Tensor | None:
        """The coefficients :math:`a_i>0` of the ideal-mixing term (``None`` without it)."""
        return None if self.mixing_raw is None else F.softplus(self.mixing_raw)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.dim)
        z = F.softplus(self.input_maps[0](x))
        for k, (pos, lin) in enumerate(zip(self.hidden_maps, self.input_maps[1:])):
            z = pos(z) + lin(x)
            if k < len(self.hidden_maps) - 1:
                z = F.softplus(z)
        f = z.squeeze(-1)
        if self.quadratic is not None:
            f = f + self.quadratic(x)
        if self.coercive:
            f = f + 0.5 * self.coercive * (x**2).sum(-1)
        if self.mixing_raw is not None:
            if not bool((x > 0).all()):
                raise ValueError(
                    "an entropy with the mixing term is defined for positive states only "
                    f"(concentrations); got a smallest value of {float(x.min()):.3g}"
                )
            f = f - (self.mixing_coefficients * (x - x * torch.log(x))).sum(-1)
        return -f


class _FixedProjection(nn.Module):
    """y -> P^T y with a fixed matrix P (dim, k), e.g. a stoichiometric matrix."""

    def __init__(self, matrix: Tensor) -> None:
        super().__init__()
        self.register_buffer("matrix", matrix.clone())

    def forward(self, y: Tensor) -> Tensor:
        return y @ self.matrix


def _projection(dim: int, rank: int | None, projection: Tensor | None) -> tuple[nn.Module | None, int]:
    """The map y -> P^T y of a dissipation (fixed ``projection``, learned ``rank``, or none) and
    the number of its outputs."""
    if projection is not None:
        projection = torch.as_tensor(projection, dtype=torch.get_default_dtype())
        if projection.ndim != 2 or projection.shape[0] != dim:
            raise ValueError(f"projection must have shape ({dim}, k), got {tuple(projection.shape)}")
        return _FixedProjection(projection), projection.shape[1]
    if rank is not None:
        if not 1 <= int(rank) <= dim:
            raise ValueError(f"rank must be in 1..{dim}, got {rank}")
        return nn.Linear(dim, int(rank), bias=False), int(rank)
    return None, dim


def projection_matrix(project: nn.Module) -> Tensor:
    """The matrix ``P`` (dim, k) of a fixed or learned projection ``y -> P^T y``."""
    return project.matrix if isinstance(project, _FixedProjection) else project.weight.T


class ConvexDissipation(nn.Module):
    r"""Dissipation potential :math:`\Xi(x, x^*)`, convex in :math:`x^*` (thesis 3.2.2).

    A PICNN :math:`\Psi(x,y)` (Amos et al. 2017) with an :math:`x`-branch
    :math:`u_{i+1}=\sigma(\tilde W_iu_i+\tilde b_i)`, :math:`u_0=x`, and a convex
    :math:`y`-branch

    .. math:: z_{i+1} = \sigma\big(W^{+}_i(z_i\odot\sigma(W^{zu}_iu_i+b^{z}_i))
              + W^{y}_i(y\odot(W^{yu}_iu_i+b^{y}_i)) + W^{u}_iu_i + b_i\big),

    linear in the last layer. Then the VONN shift

    .. math:: \Xi(x,y) = \Psi(x,y)-\Psi(x,0)-y\cdot\partial_y\Psi(x,0)

    gives :math:`\Xi(x,0)=0`, :math:`\partial_y\Xi(x,0)=0` and hence
    :math:`\Xi\ge0` and :math:`y\cdot\partial_y\Xi\ge0`.

    With ``rank=k`` the network sees :math:`y` only through a learned linear map
    :math:`P^\top y\in\mathbb R^k` (convexity is kept under linear maps), so
    :math:`\dot x\in\operatorname{range}P` and every :math:`q\perp\operatorname{range}P`
    is conserved -- e.g. ``k`` = number of independent reactions. ``projection``
    fixes :math:`P` instead (e.g. the stoichiometric matrix). With
    ``quadratic=True`` (default) an Onsager-like term :math:`\tfrac12\|B\,y\|^2`
    (convex for any learned :math:`B`, initialized to the identity) is added to
    :math:`\Psi`, so quadratic dissipation potentials are exact. ``symmetric=True`` uses
    :math:`\tfrac12(\Psi(x,y)+\Psi(x,-y))`, which stays convex and makes
    :math:`\Xi(x,y)=\Xi(x,-y)` (microscopic reversibility; true for the quadratic and
    :math:`\cosh` potentials of the book). ``state_dim`` lets the state :math:`x` have another
    dimension than :math:`y` (default: the same), e.g. the two neighbouring values of a field
    next to the discrete gradient of its conjugate.

    ``channels=True`` (with ``rank`` or ``projection``) makes :math:`\Xi` a sum of independent
    channels, one per column :math:`p_k` of :math:`P`:
    :math:`\Xi(x,y)=\sum_k\Xi_k(x,\,p_k\cdot y)`. The hidden units are split into one group per
    channel; a group sees only its own affinity :math:`a_k=p_k\cdot y` (masked weights), the
    state branch is shared, and the quadratic term becomes :math:`\tfrac12\sum_kb_k^2a_k^2`.
    Then :math:`\dot x=\sum_kJ_k\,p_k` with a flux :math:`J_k=\partial\Xi_k/\partial a_k` that
    depends on the state and its own affinity only: for reactions (:math:`P=\nu`) the structure
    of mass-action kinetics, a prior weaker than its :math:`\cosh` form.
    """

    def __init__(
        self,
        dim: int,
        hidden: Sequence[int] = (32, 32),
        eps: float = 5.0,
        rank: int | None = None,
        projection: Tensor | None = None,
        quadratic: bool = True,
        stencil: int | None = None,
        symmetric: bool = False,
        state_dim: int | None = None,
        channels: bool = False,
    ) -> None:
        super().__init__()
        hidden = _check_sizes(dim, hidden)
        self.dim = int(dim)
        self.state_dim = self.dim if state_dim is None else int(state_dim)
        if self.state_dim < 1:
            raise ValueError(f"state_dim must be a positive integer, got {state_dim}")
        self.symmetric = bool(symmetric)
        self.project, ydim = _projection(self.dim, rank, projection)
        dim = ydim
        if stencil is not None and ydim != self.dim:
            raise ValueError("a stencil quadratic term needs the full conjugate (no rank/projection)")
        if channels and self.project is None:
            raise ValueError("channels need a projection (fixed P) or a rank (learned P)")
        if channels and any(h < ydim for h in hidden):
            raise ValueError(f"channels need at least {ydim} hidden units per layer (one group per channel)")
        self.channels = bool(channels)
        self.quadratic = (
            (QuadraticForm(ydim, stencil) if not channels else _DiagonalQuadratic(ydim)) if quadratic else None
        )
        sizes = hidden + [1]
        if channels:  # unit j of a hidden layer belongs to channel j * ydim // width; masks per layer
            groups = [torch.arange(h) * ydim // h for h in hidden]
            for i, group in enumerate(groups):
                self.register_buffer(
                    f"_y_mask{i}",
                    (group[:, None] == torch.arange(ydim)).to(torch.get_default_dtype()),
                    persistent=False,
                )
                if i > 0:
                    self.register_buffer(
                        f"_z_mask{i}", (group[:, None] == groups[i - 1]).to(torch.get_default_dtype()), persistent=False
                    )
        u_sizes = [self.state_dim] + hidden  # width of u_i feeding layer i
        self.u_maps = nn.ModuleList(nn.Linear(a, b) for a, b in zip(u_sizes[:-1], u_sizes[1:]))
        self.gate_z = nn.ModuleList(nn.Linear(u_sizes[i], sizes[i - 1]) for i in range(1, len(sizes)))
        self.z_maps = nn.ModuleList(PositiveLinear(sizes[i - 1], sizes[i], eps) for i in range(1, len(sizes)))
        self.gate_y = nn.ModuleList(nn.Linear(u_sizes[i], dim) for i in range(len(sizes)))
        self.y_maps = nn.ModuleList(nn.Linear(dim, sizes[i], bias=False) for i in range(len(sizes)))
        self.u_out = nn.ModuleList(nn.Linear(u_sizes[i], sizes[i]) for i in range(len(sizes)))
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
        for gate in self.gate_y:  # start with y-gates near one so y passes through
            nn.init.ones_(gate.bias)
        if isinstance(self.project, nn.Linear):
            nn.init.orthogonal_(self.project.weight)

    def _x_features(self, x: Tensor) -> list[tuple[Tensor, Tensor, Tensor | None]]:
        """Per layer: (y-gate, x-term, z-gate), which depend on x only."""
        us = [x]
        for lin in self.u_maps:
            us.append(F.softplus(lin(us[-1])))
        return [
            (
                self.gate_y[i](us[i]),
                self.u_out[i](us[i]),
                F.softplus(self.gate_z[i - 1](us[i])) if i > 0 else None,
            )
            for i in range(len(self.y_maps))
        ]

    def _masked(self, kind: str, i: int) -> Tensor:
        """Layer ``i``'s y- or z-weights with the channel mask: a unit sees its own channel only."""
        weight = self.y_maps[i].weight if kind == "y" else self.z_maps[i - 1].weight
        return weight * getattr(self, f"_{kind}_mask{i}")

    def _psi(self, features: list[tuple[Tensor, Tensor, Tensor | None]], y: Tensor) -> Tensor:
        if self.project is not None:
            y = self.project(y)
        z = None
        last = len(features) - 1
        for i, (gate_y, x_term, gate_z) in enumerate(features):
            separate = self.channels and i < last  # the output layer adds the channels up
            y_term = F.linear(y * gate_y, self._masked("y", i)) if separate else self.y_maps[i](y * gate_y)
            pre = y_term + x_term
            if z is not None:
                pre = pre + (F.linear(z * gate_z, self._masked("z", i)) if separate else self.z_maps[i - 1](z * gate_z))
            z = F.softplus(pre) if i < last else pre
        psi = z.squeeze(-1)
        if self.quadratic is not None:
            psi = psi + self.quadratic(y)
        return psi

    def potential(self, x: Tensor, y: Tensor) -> Tensor:
        r"""The unshifted network output :math:`\Psi(x, y)`, convex in ``y``.

        ``y`` may carry leading dimensions, ``(..., batch, dim)``; the
        :math:`x`-branch is then computed once and shared.
        """
        _check_input(x, self.state_dim)
        if y.ndim < 2 or y.shape[-1] != self.dim or y.shape[-2] != x.shape[0]:
            raise ValueError(f"x_star must have shape (..., {x.shape[0]}, {self.dim}), got {tuple(y.shape)}")
        features = self._x_features(x)
        if self.symmetric:
            return 0.5 * (self._psi(features, y) + self._psi(features, -y))
        return self._psi(features, y)

    def potential_gradient(self, x: Tensor, y: Tensor, create_graph: bool = True) -> Tensor:
        r""":math:`\partial_y\Psi(x, y)` by reverse-mode autograd (``y`` as in :meth:`potential`)."""
        with torch.enable_grad():
            if not y.requires_grad:
                y = y.detach().requires_grad_(True)
            psi = self.potential(x, y)
            (grad,) = torch.autograd.grad(psi.sum(), y, create_graph=create_graph)
        return grad

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Shifted potential Xi(x, y) with Xi(x, 0) = 0 and dXi/dy(x, 0) = 0."""
        _check_input(y, self.dim, "x_star")
        zero = torch.zeros_like(y)
        grad0 = self.potential_gradient(x, zero, create_graph=torch.is_grad_enabled())
        both = self.potential(x, torch.stack([y, zero]))
        return both[0] - both[1] - (y * grad0).sum(-1)

    def gradient(self, x: Tensor, y: Tensor, create_graph: bool = True) -> Tensor:
        r""":math:`\partial_y\Xi(x,y)=\partial_y\Psi(x,y)-\partial_y\Psi(x,0)`, in one pass
        that shares the :math:`x`-branch between both arguments."""
        _check_input(y, self.dim, "x_star")
        both = self.potential_gradient(x, torch.stack([y, torch.zeros_like(y)]), create_graph=create_graph)
        return both[0] - both[1]


class MobilityDissipation(nn.Module):
    r"""Quadratic dissipation with a learned, state-dependent mobility per channel:

    .. math:: \Xi(x,y)=\tfrac12\sum_kL_k(x)\,(p_k\cdot y)^2,\qquad L_k(x)=\exp m_k(\phi(x))>0,

    with :math:`m` a softplus MLP and :math:`\phi(x)=\ln x` (``log_state=True``, positive states
    such as concentrations) or :math:`\phi(x)=x`. The columns :math:`p_k` of :math:`P` are fixed
    (``projection``, e.g. the stoichiometric matrix), learned (``rank``), or the unit vectors
    (neither: a diagonal mobility). :math:`\Xi` is convex in :math:`y` for every weight value, and
    :math:`\Xi(x,0)=0`, :math:`\partial_y\Xi(x,0)=0` hold exactly, without a shift; the dynamics is
    the linear-response (Onsager) form :math:`\dot x=P\,\mathrm{diag}(L(x))\,P^\top x^*`.

    Why it suffices on trajectories: data probe :math:`\Xi` only at :math:`y=\partial_xS`, one
    point per state, and there any convex channel's flux :math:`J_k` (with :math:`J_ka_k\ge0`) is
    :math:`L_ka_k` with :math:`L_k=J_k/a_k\ge0`. For mass action :math:`L_n` is a logarithmic mean of
    the forward and backward rates (:meth:`~ggd_tutorial.systems.MassActionKinetics.mobility`), smooth in :math:`\ln c`,
    and :math:`\phi=\ln` is the prior that lets the network follow it towards :math:`c\to0`.
    The values of :math:`\Xi` away from those points are those of a quadratic, not of the true
    potential.
    """

    def __init__(
        self,
        dim: int,
        hidden: Sequence[int] = (32, 32),
        rank: int | None = None,
        projection: Tensor | None = None,
        log_state: bool = False,
    ) -> None:
        super().__init__()
        hidden = _check_sizes(dim, hidden)
        self.dim, self.log_state = int(dim), bool(log_state)
        self.project, channels = _projection(self.dim, rank, projection)
        if isinstance(self.project, nn.Linear):
            nn.init.orthogonal_(self.project.weight)
        sizes = [self.dim] + hidden
        layers: list[nn.Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [nn.Linear(a, b), nn.Softplus()]
        self.log_mobility = nn.Sequential(*layers, nn.Linear(sizes[-1], channels))

    def mobility(self, x: Tensor) -> Tensor:
        """:math:`L(x)`, shape (batch, channels), positive."""
        _check_input(x, self.dim)
        if self.log_state:
            if not bool((x > 0).all()):
                raise ValueError(
                    "a mobility of the log-state is defined for positive states only "
                    "(concentrations); got a state with a non-positive entry"
                )
            x = torch.log(x)
        return torch.exp(self.log_mobility(x))

    def _affinities(self, y: Tensor) -> Tensor:
        return y if self.project is None else self.project(y)

    def _back(self, flux: Tensor) -> Tensor:
        """:math:`P\\,J`: from channel fluxes back to state space."""
        return flux if self.project is None else flux @ projection_matrix(self.project).T

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        """Xi(x, y), shape (batch,)."""
        _check_input(y, self.dim, "x_star")
        return 0.5 * (self.mobility(x) * self._affinities(y) ** 2).sum(-1)

    def gradient(self, x: Tensor, y: Tensor, create_graph: bool = True) -> Tensor:
        r""":math:`\partial_y\Xi=P\,(L(x)\odot P^\top y)` in closed form (``create_graph`` is
        accepted for the interface of :class:`ConvexDissipation`; the result is differentiable)."""
        _check_input(y, self.dim, "x_star")
        return self._back(self.mobility(x) * self._affinities(y))


class GradientDynamicsModel(nn.Module):
    r"""Generalized gradient dynamics :math:`\dot x=\partial_{x^*}\Xi(x,x^*)|_{x^*=\partial_xS(x)}`.

    Parameters
    ----------
    dim:
        State dimension.
    entropy:
        ``None`` to learn :math:`S` with :class:`ConcaveEntropy`, or a callable
        ``S(x) -> (batch,)`` to prescribe it (e.g. ``system.entropy``).
    dissipation:
        ``None`` to learn :math:`\Xi` with :class:`ConvexDissipation`, or a callable
        ``Xi(x, x_star) -> (batch,)`` to prescribe it.
    hidden, eps:
        Hidden widths and the positivity parameter of the learned networks
        (``entropy_hidden`` / ``dissipation_hidden`` override ``hidden``).
    dissipation_rank, dissipation_projection:
        Optional structure of a learned :math:`\Xi`: it sees :math:`x^*` only
        through a learned (``rank``) or fixed (``projection``) linear map, see
        :class:`ConvexDissipation`.
    quadratic:
        Add the learned quadratic skip terms to both networks (default ``True``;
        ``False`` gives the plain thesis architecture).
    stencil:
        Make the quadratic terms local periodic convolutions with ``2*stencil+1``
        taps (for fields on a periodic grid), see :class:`QuadraticForm`.
    dissipation_symmetric:
        Impose :math:`\Xi(x,x^*)=\Xi(x,-x^*)`, see :class:`ConvexDissipation`.
    entropy_coercive:
        A fixed :math:`-\tfrac c2\|x\|^2` in a learned :math:`S`, which makes it bounded above
        and decaying along every ray whatever the weights, see :class:`ConcaveEntropy`.
    dissipation_channels:
        Learn :math:`\Xi` as a sum of independent channels, one per column of the
        ``dissipation_projection`` (or of a learned map of ``dissipation_rank``), e.g. one per
        reaction, see :class:`ConvexDissipation`.
    entropy_mixing:
        A learned ideal-mixing term :math:`\sum_ia_i(x_i-x_i\ln x_i)`, :math:`a_i>0`, in a
        learned :math:`S` (positive states only: concentrations), see :class:`ConcaveEntropy`.
    dissipation_mobility, dissipation_log_state:
        Learn :math:`\Xi` as a quadratic with a state-dependent mobility per channel (columns of
        the projection or of the learned rank map; unit vectors without either) instead of a
        PICNN, the mobility a function of :math:`\ln x` with ``dissipation_log_state`` (positive
        states), see :class:`MobilityDissipation`. ``quadratic`` then concerns the entropy only.

    Notes
    -----
    Calling the model on a batch ``x`` of shape ``(batch, dim)`` returns
    :math:`\dot x`. Because the dynamics are gradients, the call uses autograd
    internally, also under ``torch.no_grad()`` (then without building a graph).
    """

    def __init__(
        self,
        dim: int,
        entropy: EntropyFn | None = None,
        dissipation: DissipationFn | None = None,
        hidden: Sequence[int] = (32, 32),
        entropy_hidden: Sequence[int] | None = None,
        dissipation_hidden: Sequence[int] | None = None,
        eps: float = 5.0,
        dissipation_rank: int | None = None,
        dissipation_projection: Tensor | None = None,
        quadratic: bool = True,
        stencil: int | None = None,
        dissipation_symmetric: bool = False,
        entropy_coercive: float = 0.0,
        entropy_mixing: bool = False,
        dissipation_channels: bool = False,
        dissipation_mobility: bool = False,
        dissipation_log_state: bool = False,
    ) -> None:
        super().__init__()
        if dissipation_mobility and (dissipation_channels or dissipation_symmetric or stencil is not None):
            raise ValueError(
                "a mobility dissipation is already one channel per column and symmetric; "
                "it takes no channels, symmetric or stencil option"
            )
        if dissipation_log_state and not dissipation_mobility:
            raise ValueError("dissipation_log_state needs dissipation_mobility=True")
        if entropy is not None and not callable(entropy):
            raise TypeError("entropy must be None (learned) or a callable S(x)")
        if dissipation is not None and not callable(dissipation):
            raise TypeError("dissipation must be None (learned) or a callable Xi(x, x_star)")
        self.dim = int(dim)
        self.entropy_net = (
            ConcaveEntropy(
                dim,
                entropy_hidden or hidden,
                eps,
                quadratic=quadratic,
                stencil=stencil,
                coercive=entropy_coercive,
                mixing=entropy_mixing,
            )
            if entropy is None
            else None
        )
        self.dissipation_net: ConvexDissipation | MobilityDissipation | None = None
        if dissipation is None and dissipation_mobility:
            self.dissipation_net = MobilityDissipation(
                dim,
                dissipation_hidden or hidden,
                rank=dissipation_rank,
                projection=dissipation_projection,
                log_state=dissipation_log_state,
            )
        elif dissipation is None:
            self.dissipation_net = ConvexDissipation(
                dim,
                dissipation_hidden or hidden,
                eps,
                rank=dissipation_rank,
                projection=dissipation_projection,
                quadratic=quadratic,
                stencil=stencil,
                symmetric=dissipation_symmetric,
                channels=dissipation_channels,
            )
        self._entropy_fn = entropy
        self._dissipation_fn = dissipation
        self.config = dict(
            dim=self.dim,
            hidden=tuple(hidden),
            entropy_hidden=entropy_hidden,
            dissipation_hidden=dissipation_hidden,
            eps=eps,
            dissipation_rank=dissipation_rank,
            dissipation_projection=dissipation_projection,
            quadratic=quadratic,
            stencil=stencil,
            dissipation_symmetric=dissipation_symmetric,
            entropy_coercive=entropy_coercive,
            entropy_mixing=entropy_mixing,
            dissipation_channels=dissipation_channels,
            dissipation_mobility=dissipation_mobility,
            dissipation_log_state=dissipation_log_state,
        )

    def save(self, path) -> None:
        """Write the architecture and the learned weights to ``path`` (read back with :meth:`load`).
        Prescribed potentials are Python callables and are not saved: :meth:`load` asks for them."""
        torch.save(
            {
                "config": self.config,
                "state": self.state_dict(),
                "format": 1,
                "prescribed": [
                    n
                    for n, f in (("entropy", self._entropy_fn), ("dissipation", self._dissipation_fn))
                    if f is not None
                ],
            },
            path,
        )

    @classmethod
    def load(
        cls,
        path,
        entropy: EntropyFn | None = None,
        dissipation: DissipationFn | None = None,
        map_location: str | torch.device | None = "cpu",
    ) -> GradientDynamicsModel:
        """A model saved with :meth:`save`; pass the prescribed potentials again if it had any."""
        saved = torch.load(path, map_location=map_location, weights_only=False)
        given = {"entropy": entropy, "dissipation": dissipation}
        missing = [n for n in saved["prescribed"] if given[n] is None]
        if missing:
            raise ValueError(f"the saved model had a prescribed {missing[0]}: pass it, load(path, {missing[0]}=...)")
        model = cls(entropy=entropy, dissipation=dissipation, **saved["config"])
        model.load_state_dict(saved["state"])
        return model.to(next(iter(saved["state"].values())).dtype) if saved["state"] else model

    @property
    def learns_entropy(self) -> bool:
        return self.entropy_net is not None

    @property
    def learns_dissipation(self) -> bool:
        return self.dissipation_net is not None

    def entropy(self, x: Tensor) -> Tensor:
        """S(x), shape (batch,)."""
        _check_input(x, self.dim)
        return self.entropy_net(x) if self.entropy_net is not None else self._entropy_fn(x)

    def dissipation(self, x: Tensor, x_star: Tensor) -> Tensor:
        """Xi(x, x_star), shape (batch,)."""
        _check_input(x, self.dim)
        _check_input(x_star, self.dim, "x_star")
        if self.dissipation_net is not None:
            return self.dissipation_net(x, x_star)
        return self._dissipation_fn(x, x_star)

    def _conjugate(self, x: Tensor, create_graph: bool) -> Tensor:
        with torch.enable_grad():
            xg = x if x.requires_grad else x.detach().requires_grad_(True)
            (x_star,) = torch.autograd.grad(self.entropy(xg).sum(), xg, create_graph=create_graph)
        return x_star

    def conjugate(self, x: Tensor) -> Tensor:
        """Entropic conjugate x* = dS/dx, shape (batch, dim)."""
        _check_input(x, self.dim)
        return self._conjugate(x, create_graph=torch.is_grad_enabled())

    def dissipation_gradient(self, x: Tensor, x_star: Tensor) -> Tensor:
        """dXi/dx* at (x, x_star), shape (batch, dim)."""
        create_graph = torch.is_grad_enabled()
        if self.dissipation_net is not None:
            return self.dissipation_net.gradient(x, x_star, create_graph=create_graph)
        with torch.enable_grad():
            y = x_star if x_star.requires_grad else x_star.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self._dissipation_fn(x, y).sum(), y, create_graph=create_graph)
        return grad

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.dim)
        x_star = self.conjugate(x)
        xdot = self.dissipation_gradient(x, x_star)
        return xdot if torch.is_grad_enabled() else xdot.detach()

    def entropy_production(self, x: Tensor) -> Tensor:
        r"""dS/dt = x*·xdot, non-negative by construction; shape (batch,)."""
        x_star = self.conjugate(x)
        return (x_star * self.dissipation_gradient(x, x_star)).sum(-1)


class MLPVectorField(nn.Module):
    """Unstructured baseline xdot = f(x): a softplus MLP with no thermodynamic constraint."""

    def __init__(self, dim: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        hidden = _check_sizes(dim, hidden)
        self.dim = int(dim)
        layers: list[nn.Module] = []
        for a, b in zip([dim] + hidden[:-1], hidden):
            layers += [nn.Linear(a, b), nn.Softplus()]
        layers.append(nn.Linear(hidden[-1], dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.dim)
        return self.net(x)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def matched_mlp(reference: nn.Module | int, dim: int, depth: int = 2) -> MLPVectorField:
    """A softplus MLP ``dim -> width x depth -> dim`` whose parameter count is closest to
    ``reference`` (a module or a number): the black-box baseline at equal capacity."""
    target = count_parameters(reference) if isinstance(reference, nn.Module) else int(reference)
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")

    def size(w: int) -> int:
        return (dim + 1) * w + (depth - 1) * (w + 1) * w + (w + 1) * dim

    width = min(range(1, 4097), key=lambda w: abs(size(w) - target))
    return MLPVectorField(dim, hidden=(width,) * depth)
