r"""GENERIC: reversible and irreversible dynamics learned together, with both degeneracies exact.

The model (entropic representation, Grmela--Öttinger 1997; Öttinger 2005; Pavelka--Klika--Grmela 2018)

.. math:: \dot x = L(x)\,\partial_xE + \partial_{x^*}\Xi(x,x^*)\big|_{x^*=\partial_xS},

with an energy :math:`E`, a concave entropy :math:`S`, an antisymmetric :math:`L` and a dissipation
potential :math:`\Xi` convex in :math:`x^*` with :math:`\Xi(x,0)=0`, :math:`\partial_{x^*}\Xi(x,0)=0`.
Write :math:`e=\partial_xE`, :math:`s=\partial_xS` and

.. math:: P_S = I-\frac{ss^\top}{|s|^2},\qquad Q_E = I-\frac{ee^\top}{|e|^2}

(symmetric projectors, :math:`P_Ss=0`, :math:`Q_Ee=0`). :class:`GENERICModel` builds

.. math:: L(x) = P_S\,A(x)\,P_S,\qquad \Xi(x,x^*) = \Xi_0(x,\,Q_Ex^*),

with :math:`A=-A^\top` (prescribed, a learned constant :math:`A_0-A_0^\top`, or a learned
:math:`A(x)=N(x)-N(x)^\top`) and :math:`\Xi_0` a convex network (:class:`~ggd_tutorial.networks.ConvexDissipation`
with the VONN shift, or the quadratic :math:`\tfrac12y^\top B(x)B(x)^\top y`). Then, for every weight value:

* :math:`L^\top = P_SA^\top P_S = -L` (antisymmetry) and :math:`Ls = P_SA(P_Ss) = 0` (degeneracy i);
* :math:`\partial_{x^*}\Xi = Q_E\,\partial_y\Xi_0(x,Q_Ex^*)`, so
  :math:`e\cdot\partial_{x^*}\Xi = (Q_Ee)\cdot\partial_y\Xi_0 = 0` for all :math:`x^*` (degeneracy ii),
  equivalently :math:`\Xi(x,x^*+\lambda e)=\Xi(x,x^*)`;
* :math:`\Xi` is convex in :math:`x^*` (a convex function of a linear map of it), :math:`\Xi(x,0)=\Xi_0(x,0)=0`
  and :math:`\partial_{x^*}\Xi(x,0)=Q_E\,\partial_y\Xi_0(x,0)=0`;
* :math:`\dot E = e\cdot Le + e\cdot Q_Eg = (P_Se)\cdot A(P_Se) + 0 = 0` (:math:`A` antisymmetric), with
  :math:`g=\partial_y\Xi_0(x,Q_Es)`;
* :math:`\dot S = s\cdot Le + s\cdot Q_Eg = -(Ls)\cdot e + (Q_Es)\cdot g = y\cdot\partial_y\Xi_0(x,y)\big|_{y=Q_Es}\ge 0`,
  since for a convex :math:`\Xi_0` with :math:`\Xi_0(x,0)=0`, :math:`\partial_y\Xi_0(x,0)=0`:
  :math:`y\cdot\partial_y\Xi_0(y)\ge\Xi_0(y)-\Xi_0(0)\ge0`.

Nothing in these identities uses that :math:`e` and :math:`s` are gradients: they hold for any two vectors
in place of :math:`e`, :math:`s`, and for any state at which :math:`A` and :math:`\Xi_0` are evaluated. That is what
:meth:`GENERICModel.velocity_from_gradients` exposes, and what the discrete-gradient integrator
(:mod:`ggd_tutorial.discrete_gradient`) uses to make :math:`E_{n+1}=E_n` and :math:`S_{n+1}\ge S_n` per step.

**The projectors at a critical point.** :math:`P_S` is undefined where :math:`s=0` (a maximum of :math:`S`) and
:math:`Q_E` where :math:`e=0`. The code clamps :math:`|s|^2` below at :math:`\epsilon^2` (machine epsilon of the
dtype), so at :math:`s=0` exactly :math:`P_S=I` and :math:`Ls=0` still holds; but near such points the plain
projectors turn quickly and the vector field jumps (:math:`L` does not vanish as :math:`s\to0`). The option
``projection_floor`` :math:`=\delta>0` scales both by :math:`\rho=|n|^2/(|n|^2+\delta^2)`, which keeps every
identity above (a scalar factor, the same linear map in :math:`\Xi`) and makes the field smooth there:
:math:`\rho P_SAP_S=(|s|^2A-As\,s^\top-s\,s^\top A)/(|s|^2+\delta^2)` (using :math:`s^\top As=0`). Systems such as
the oscillator with a heat bath (:math:`e=(q,p,1)`, :math:`s=(0,0,s'(\varepsilon))`) never reach a critical point
and need no floor.

**Dimension two.** For ``dim=2`` and :math:`s\neq0`, :math:`P_S` has rank one, and an antisymmetric matrix that
vanishes on :math:`s` and maps into :math:`s^\perp` is zero: :math:`L=P_SAP_S\equiv0`. A planar system has no
reversible part with a non-trivial entropy; use the single-generator form for it.

**Single generator** (``single_generator=True``, OnsagerNet's :math:`W` term): :math:`\dot x = W(x)s +
\partial_{x^*}\Xi(x,s)` with :math:`W` antisymmetric and no energy; :math:`\dot S = s\cdot Ws + s\cdot\partial\Xi
= s\cdot\partial\Xi\ge0` without a projection.

**The Jacobi identity.** :math:`\{F,G\}=\partial F\cdot L\,\partial G` is a Poisson bracket iff
:math:`\sum_l(L_{il}\partial_lL_{jk}+L_{jl}\partial_lL_{ki}+L_{kl}\partial_lL_{ij})=0` (:meth:`GENERICModel.jacobiator`).

* A *constant* antisymmetric matrix satisfies it (all derivatives vanish): the prescribed ``poisson``
  matrix and the learned ``"constant"`` :math:`A_0-A_0^\top` are Poisson matrices, and so is
  :math:`W` of a single-generator model with a constant :math:`W`.
* The model's :math:`L=P_SAP_S` is state dependent through :math:`s(x)` even for a constant :math:`A`,
  and **in general it does not satisfy Jacobi** for ``dim >= 4`` (measured in the tests: a Jacobiator of
  order 0.1 at random weights in dimension four). Where :math:`As(x)=0` already holds (then
  :math:`s^\top A=0` and :math:`P_SAP_S=A`) on an open set, e.g. the canonical :math:`(q,p)` block with
  :math:`S=s(\varepsilon)`, :math:`L` is the constant :math:`A` there and Jacobi holds.
* **In dimension three it always holds**, for every :math:`A(x)` and every :math:`S`: write
  :math:`L_{ij}=\varepsilon_{ijk}w_k`; Jacobi is :math:`w\cdot(\nabla\times w)=0`, and :math:`Ls=0` forces
  :math:`w=\lambda s=\lambda\nabla S`, whence :math:`w\cdot(\nabla\lambda\times\nabla S)=0`.
* A state-dependent learned :math:`A(x)` (``"state"``) without projection does not satisfy it in general
  for ``dim >= 3``.

Pitfall (Jacobi aside): from deterministic trajectories the split into reversible and irreversible parts is
not identifiable; the parity of the variables has to be given by the modeller.
"""

from __future__ import annotations

import operator
from typing import Callable, Sequence

import torch
from torch import Tensor, nn

from ._utils import check_batch, check_sizes
from .networks import ConcaveEntropy, ConvexDissipation, QuadraticForm

__all__ = ["GENERICModel", "LearnedAntisymmetric", "LearnedEnergy", "PSDQuadraticDissipation"]

PotentialFn = Callable[[Tensor], Tensor]

POISSON_KINDS = ("constant", "state")
DISSIPATION_KINDS = ("picnn", "quadratic")


_check_sizes = check_sizes  # the names used throughout this module
_check_input = check_batch


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), nn.Softplus()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class LearnedEnergy(nn.Module):
    r"""An energy :math:`E(x)=m(x)+\tfrac12\|Bx\|^2+\tfrac c2\|x\|^2` with :math:`m` a softplus MLP.

    :math:`m` is Lipschitz (softplus layers), :math:`|m(x)|\le a+b|x|`, so with ``coercive=c > 0``
    :math:`E` is bounded below and :math:`E\to\infty` along every ray, for every weight value. The
    quadratic term (``quadratic=True``, :math:`B` learned, initialized to the identity) makes quadratic
    energies easy to fit; it is not needed for the guarantee.
    """

    def __init__(self, dim: int, hidden: Sequence[int] = (32, 32), quadratic: bool = True, coercive: float = 0.0):
        super().__init__()
        hidden = _check_sizes(dim, hidden)
        if not coercive >= 0:
            raise ValueError(f"energy_coercive must be >= 0, got {coercive}")
        self.dim, self.coercive = int(dim), float(coercive)
        self.net = _mlp([self.dim, *hidden, 1])
        self.quadratic = QuadraticForm(self.dim) if quadratic else None

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.dim)
        out = self.net(x).squeeze(-1)
        if self.quadratic is not None:
            out = out + self.quadratic(x)
        if self.coercive:
            out = out + 0.5 * self.coercive * (x**2).sum(-1)
        return out


class LearnedAntisymmetric(nn.Module):
    r"""An antisymmetric matrix field: a learned constant :math:`A_0-A_0^\top` (``state=False``) or
    :math:`A(x)=N(x)-N(x)^\top` with :math:`N` a softplus MLP with ``dim*dim`` outputs (``state=True``)."""

    def __init__(self, dim: int, state: bool, hidden: Sequence[int] = (32, 32)) -> None:
        super().__init__()
        self.dim, self.state = int(dim), bool(state)
        if self.state:
            hidden = _check_sizes(dim, hidden)
            self.net = _mlp([self.dim, *hidden, self.dim * self.dim])
        else:
            self.raw = nn.Parameter(torch.randn(self.dim, self.dim) / self.dim**0.5)

    def forward(self, x: Tensor) -> Tensor:
        """The matrix at each state, shape (batch, dim, dim)."""
        if self.state:
            n = self.net(x).reshape(x.shape[0], self.dim, self.dim)
        else:
            n = self.raw.expand(x.shape[0], self.dim, self.dim)
        return n - n.transpose(-1, -2)


class PSDQuadraticDissipation(nn.Module):
    r"""The quadratic :math:`\Xi_0(x,y)=\tfrac12\,y^\top M(x)\,y`, :math:`M=B(x)B(x)^\top`, with
    :math:`B(x)=B_0+N(x)` (:math:`B_0` learned, initialized to the identity; :math:`N` a softplus MLP).

    Convex in :math:`y` with :math:`\Xi_0(x,0)=0` and :math:`\partial_y\Xi_0(x,0)=0` for every weight value:
    a GFINN-like linear-response baseline (:math:`\dot x` linear in :math:`x^*` at fixed :math:`x`).
    """

    def __init__(self, dim: int, hidden: Sequence[int] = (32, 32)) -> None:
        super().__init__()
        hidden = _check_sizes(dim, hidden)
        self.dim = int(dim)
        self.base = nn.Parameter(torch.eye(self.dim))
        self.net = _mlp([self.dim, *hidden, self.dim * self.dim])

    def factor(self, x: Tensor) -> Tensor:
        """:math:`B(x)`, shape (batch, dim, dim)."""
        _check_input(x, self.dim)
        return self.base + self.net(x).reshape(x.shape[0], self.dim, self.dim)

    def mobility(self, x: Tensor) -> Tensor:
        """:math:`M(x)=B(x)B(x)^\\top`, positive semi-definite, shape (batch, dim, dim)."""
        b = self.factor(x)
        return b @ b.transpose(-1, -2)

    def forward(self, x: Tensor, y: Tensor) -> Tensor:
        _check_input(y, self.dim, "x_star")
        by = (self.factor(x).transpose(-1, -2) @ y[..., None]).squeeze(-1)
        return 0.5 * (by**2).sum(-1)

    def gradient(self, x: Tensor, y: Tensor, create_graph: bool = True) -> Tensor:
        """:math:`M(x)\\,y` in closed form (``create_graph`` only for the common interface)."""
        _check_input(y, self.dim, "x_star")
        b = self.factor(x)
        return (b @ (b.transpose(-1, -2) @ y[..., None])).squeeze(-1)


def _projector_apply(n: Tensor, v: Tensor, floor: float = 0.0) -> Tensor:
    r""":math:`\rho\,(I-nn^\top/|n|^2)\,v=(|n|^2v-n\,(n\cdot v))/(|n|^2+\delta^2)` row by row, with
    :math:`\rho=|n|^2/(|n|^2+\delta^2)` (``floor`` :math:`=\delta`); the denominator is clamped below at
    :math:`\epsilon^2`, so :math:`n=0` gives :math:`v` for :math:`\delta=0` and :math:`0` for :math:`\delta>0`."""
    tiny = torch.finfo(n.dtype).eps ** 2
    n2 = (n * n).sum(-1, keepdim=True)
    if floor:
        return (n2 * v - n * (n * v).sum(-1, keepdim=True)) / (n2 + floor**2).clamp_min(tiny)
    return v - n * ((n * v).sum(-1, keepdim=True) / n2.clamp_min(tiny))


def _projected_antisymmetric(n: Tensor, a: Tensor, floor: float = 0.0) -> Tensor:
    r""":math:`\rho\,P\,A\,P` with :math:`P=I-nn^\top/|n|^2` (batch of matrices); since
    :math:`n^\top An=0` this is :math:`(|n|^2A-An\,n^\top-n\,n^\top A)/(|n|^2+\delta^2)`; at :math:`n=0` it is
    :math:`A` for :math:`\delta=0` (and :math:`0` for :math:`\delta>0`), consistent with :func:`_projector_apply`."""
    tiny = torch.finfo(n.dtype).eps ** 2
    n2 = (n * n).sum(-1)[:, None, None]
    an = a @ n[..., None]  # (batch, dim, 1); n n^T A = -n (A n)^T
    out = (n2 * a - an * n[:, None, :] + n[:, :, None] * an.transpose(-1, -2)) / (n2 + floor**2).clamp_min(tiny)
    if not floor:  # at n = 0 exactly P = I, as in _projector_apply: the matrix is A itself
        out = torch.where(n2 < tiny, a, out)
    return 0.5 * (out - out.transpose(-1, -2))


def _gradient(fn: PotentialFn, x: Tensor, create_graph: bool) -> Tensor:
    with torch.enable_grad():
        xg = x if x.requires_grad else x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(xg).sum(), xg, create_graph=create_graph)
    return grad


class GENERICModel(nn.Module):
    r"""GENERIC dynamics :math:`\dot x=L(x)\partial_xE+\partial_{x^*}\Xi(x,x^*)|_{x^*=\partial_xS}` with both
    degeneracies exact for every weight value (see the module docstring for the construction and the algebra).

    Parameters
    ----------
    dim:
        State dimension (at least 2).
    energy:
        ``None`` to learn :math:`E` (:class:`LearnedEnergy`), or a callable ``E(x) -> (batch,)``.
        Must be ``None`` with ``single_generator=True``.
    entropy:
        ``None`` to learn a concave :math:`S` (:class:`~ggd_tutorial.networks.ConcaveEntropy`), or a callable
        ``S(x) -> (batch,)``.
    poisson:
        The antisymmetric matrix :math:`A` that is projected to :math:`L=P_SAP_S`: a prescribed constant
        (dim, dim) tensor (checked antisymmetric), ``"constant"`` (learned :math:`A_0-A_0^\top`) or
        ``"state"`` (learned :math:`N(x)-N(x)^\top`). With ``single_generator=True`` it is :math:`W` itself.
    dissipation:
        ``"picnn"`` (:class:`~ggd_tutorial.networks.ConvexDissipation`, non-quadratic, VONN shift) or
        ``"quadratic"`` (:class:`PSDQuadraticDissipation`, :math:`\tfrac12y^\top B(x)B(x)^\top y`).
    hidden:
        Hidden widths of every learned network (``energy_hidden``, ``entropy_hidden``, ``poisson_hidden``,
        ``dissipation_hidden`` override it).
    single_generator:
        :math:`\dot x=W(x)\partial_xS+\partial_{x^*}\Xi(x,\partial_xS)` (OnsagerNet's form): no energy, no
        projections needed; :math:`\dot S\ge0` still holds.
    energy_coercive, entropy_coercive:
        Fixed :math:`+\tfrac c2|x|^2` in a learned :math:`E` (bounded below, coercive) and
        :math:`-\tfrac c2|x|^2` in a learned :math:`S` (bounded above).
    quadratic, eps, dissipation_symmetric:
        The learned quadratic skip terms of the networks, the positivity parameter of the input-convex
        networks, and :math:`\Xi(x,x^*)=\Xi(x,-x^*)` for the PICNN (see
        :class:`~ggd_tutorial.networks.ConvexDissipation`).
    enforce_degeneracy:
        ``True`` (default). ``False`` drops both projections, :math:`L=A`, :math:`\Xi=\Xi_0(x,x^*)`: a
        negative control, for which neither degeneracy nor :math:`\dot E=0` holds.
    projection_floor:
        :math:`\delta\ge0`. ``0`` (default): the projectors :math:`P_S`, :math:`Q_E` as written, exact for a
        prescribed :math:`L` that already has :math:`L\,\partial_xS=0`. :math:`\delta>0`: both are scaled by
        :math:`\rho(n)=|n|^2/(|n|^2+\delta^2)` (:math:`n=s` resp. :math:`e`), i.e.
        :math:`L=(|s|^2A-As\,s^\top-s\,s^\top A)/(|s|^2+\delta^2)` and
        :math:`\Xi=\Xi_0(x,(|e|^2x^*-e\,(e\cdot x^*))/(|e|^2+\delta^2))`: the degeneracies stay exact, and the
        vector field becomes smooth through critical points of :math:`S` and :math:`E`, where the plain
        projectors jump (use it when trajectories approach a maximum of the learned :math:`S`; the implicit
        integrator's Newton solve needs a smooth field there).
    device, dtype:
        Where and in which floating type the parameters live (default: CPU and the default dtype); ``fit``
        and ``rollout`` follow the model's device and dtype, as for
        :class:`~ggd_tutorial.networks.GradientDynamicsModel`.
    generator:
        A ``torch.Generator`` (CPU) to draw the initial weights from; the global RNG is then left untouched.
        ``None``: the global RNG.

    Raises
    ------
    ValueError
        For a dimension below 2, an unknown ``poisson`` / ``dissipation`` kind, a prescribed matrix that is
        not (dim, dim), not finite or not antisymmetric, an energy with ``single_generator=True``, or a
        negative coercivity.
    TypeError
        For an ``energy`` / ``entropy`` that is neither ``None`` nor callable.

    Notes
    -----
    Calling the model on ``x`` of shape (batch, dim) returns :math:`\dot x`; it differentiates internally and
    works under ``torch.no_grad()`` too (then without building a graph).
    """

    def __init__(
        self,
        dim: int,
        *,
        energy: PotentialFn | None = None,
        entropy: PotentialFn | None = None,
        poisson: str | Tensor = "constant",
        dissipation: str = "picnn",
        hidden: Sequence[int] = (32, 32),
        single_generator: bool = False,
        energy_coercive: float = 0.0,
        entropy_coercive: float = 0.0,
        quadratic: bool = True,
        eps: float = 5.0,
        dissipation_symmetric: bool = False,
        enforce_degeneracy: bool = True,
        projection_floor: float = 0.0,
        energy_hidden: Sequence[int] | None = None,
        entropy_hidden: Sequence[int] | None = None,
        poisson_hidden: Sequence[int] | None = None,
        dissipation_hidden: Sequence[int] | None = None,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        try:
            dim = operator.index(dim)
        except TypeError:
            raise ValueError(f"dim must be an integer >= 2, got {dim!r}") from None
        if dim < 2:
            raise ValueError(f"dim must be an integer >= 2, got {dim!r}")
        if energy is not None and not callable(energy):
            raise TypeError("energy must be None (learned) or a callable E(x)")
        if entropy is not None and not callable(entropy):
            raise TypeError("entropy must be None (learned) or a callable S(x)")
        if single_generator and (energy is not None or energy_coercive):
            raise ValueError("a single-generator model has no energy: leave energy=None and energy_coercive=0")
        if dissipation not in DISSIPATION_KINDS:
            raise ValueError(f"dissipation must be one of {DISSIPATION_KINDS}, got {dissipation!r}")
        prescribed = None
        if isinstance(poisson, str):
            if poisson not in POISSON_KINDS:
                raise ValueError(f"poisson must be a (dim, dim) tensor or one of {POISSON_KINDS}, got {poisson!r}")
        else:
            prescribed = self._check_poisson(poisson, dim)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.dim = int(dim)
        self.single_generator = bool(single_generator)
        self.enforce_degeneracy = bool(enforce_degeneracy)
        if not (projection_floor >= 0 and projection_floor < float("inf")):
            raise ValueError(f"projection_floor must be a finite number >= 0, got {projection_floor}")
        self.projection_floor = float(projection_floor)
        self.poisson_kind = "prescribed" if prescribed is not None else poisson
        self.dissipation_kind = dissipation
        self._energy_fn, self._entropy_fn = energy, entropy
        with torch.random.fork_rng(devices=[], enabled=generator is not None):
            if generator is not None:
                torch.random.default_generator.set_state(generator.get_state())
            self.energy_net = (
                LearnedEnergy(dim, energy_hidden or hidden, quadratic, energy_coercive)
                if energy is None and not single_generator
                else None
            )
            self.entropy_net = (
                ConcaveEntropy(dim, entropy_hidden or hidden, eps, quadratic=quadratic, coercive=entropy_coercive)
                if entropy is None
                else None
            )
            self.poisson_net = (
                LearnedAntisymmetric(dim, poisson == "state", poisson_hidden or hidden) if prescribed is None else None
            )
            if dissipation == "picnn":
                self.dissipation_net: ConvexDissipation | PSDQuadraticDissipation = ConvexDissipation(
                    dim, dissipation_hidden or hidden, eps, quadratic=quadratic, symmetric=dissipation_symmetric
                )
            else:
                self.dissipation_net = PSDQuadraticDissipation(dim, dissipation_hidden or hidden)
            if generator is not None:
                generator.set_state(torch.random.default_generator.get_state())
        if prescribed is not None:
            self.register_buffer("poisson_matrix", prescribed)
        else:
            self.poisson_matrix = None
        self.config = dict(
            dim=self.dim,
            poisson=prescribed.clone() if prescribed is not None else poisson,
            dissipation=dissipation,
            hidden=tuple(hidden),
            single_generator=self.single_generator,
            energy_coercive=energy_coercive,
            entropy_coercive=entropy_coercive,
            quadratic=quadratic,
            eps=eps,
            dissipation_symmetric=dissipation_symmetric,
            enforce_degeneracy=self.enforce_degeneracy,
            projection_floor=self.projection_floor,
            energy_hidden=energy_hidden,
            entropy_hidden=entropy_hidden,
            poisson_hidden=poisson_hidden,
            dissipation_hidden=dissipation_hidden,
        )
        if device is not None or dtype is not None:
            self.to(device=device, dtype=dtype)

    @staticmethod
    def _check_poisson(matrix: Tensor, dim: int) -> Tensor:
        if not isinstance(matrix, Tensor):
            raise ValueError(f"poisson must be a (dim, dim) tensor or one of {POISSON_KINDS}, got {type(matrix)}")
        matrix = matrix.detach().to(torch.get_default_dtype())  # as the parameters (then .to(dtype))
        if matrix.shape != (dim, dim):
            raise ValueError(f"a prescribed poisson matrix must have shape ({dim}, {dim}), got {tuple(matrix.shape)}")
        if not bool(torch.isfinite(matrix).all()):
            raise ValueError("a prescribed poisson matrix must be finite")
        asym = float((matrix + matrix.T).abs().max())
        if asym > 1e-12 * max(1.0, float(matrix.abs().max())):
            raise ValueError(
                f"a prescribed poisson matrix must be antisymmetric (L = -L^T); max |L + L^T| = {asym:.3g}"
            )
        return 0.5 * (matrix - matrix.T)  # exactly antisymmetric

    # ---- saving
    def save(self, path) -> None:
        """Write the architecture and the learned weights to ``path`` (read back with :meth:`load`).
        Prescribed energies and entropies are Python callables and are not saved; a prescribed matrix is."""
        prescribed = [n for n, f in (("energy", self._energy_fn), ("entropy", self._entropy_fn)) if f is not None]
        config = dict(self.config)
        if isinstance(config["poisson"], Tensor):
            config["poisson"] = config["poisson"].detach().cpu()
        torch.save(
            {
                "kind": "GENERICModel",
                "format": 1,
                "config": config,
                "state": self.state_dict(),
                "prescribed": prescribed,
            },
            path,
        )

    @classmethod
    def load(
        cls,
        path,
        energy: PotentialFn | None = None,
        entropy: PotentialFn | None = None,
        map_location: str | torch.device | None = "cpu",
    ) -> GENERICModel:
        """A model saved with :meth:`save`, in the saved dtype.

        Raises
        ------
        ValueError
            If the file holds another kind of model, or the saved model had a prescribed energy or entropy
            that is not passed again.
        """
        saved = torch.load(path, map_location=map_location, weights_only=False)
        if not isinstance(saved, dict) or saved.get("kind") != "GENERICModel":
            raise ValueError(f"{path} does not hold a GENERICModel saved with GENERICModel.save")
        given = {"energy": energy, "entropy": entropy}
        missing = [n for n in saved["prescribed"] if given[n] is None]
        if missing:
            raise ValueError(f"the saved model had a prescribed {missing[0]}: pass it, load(path, {missing[0]}=...)")
        model = cls(energy=energy, entropy=entropy, **saved["config"])
        state = saved["state"]
        if state:
            model.to(next(iter(state.values())).dtype)
        model.load_state_dict(state)
        return model

    # ---- the potentials
    @property
    def has_energy(self) -> bool:
        return not self.single_generator

    def energy(self, x: Tensor) -> Tensor:
        """E(x), shape (batch,).

        Raises
        ------
        ValueError
            For a single-generator model, which has no energy.
        """
        if not self.has_energy:
            raise ValueError("a single-generator model has no energy")
        _check_input(x, self.dim)
        if self.energy_net is not None:
            return self.energy_net(x)
        assert self._energy_fn is not None
        return self._energy_fn(x)

    def entropy(self, x: Tensor) -> Tensor:
        """S(x), shape (batch,)."""
        _check_input(x, self.dim)
        if self.entropy_net is not None:
            return self.entropy_net(x)
        assert self._entropy_fn is not None
        return self._entropy_fn(x)

    def energy_gradient(self, x: Tensor) -> Tensor:
        """dE/dx, shape (batch, dim)."""
        return _gradient(self.energy, x, create_graph=torch.is_grad_enabled())

    def entropy_gradient(self, x: Tensor) -> Tensor:
        """x* = dS/dx, shape (batch, dim)."""
        return _gradient(self.entropy, x, create_graph=torch.is_grad_enabled())

    def antisymmetric_part(self, x: Tensor) -> Tensor:
        """The unprojected :math:`A(x)` (:math:`W(x)` of a single-generator model), (batch, dim, dim)."""
        _check_input(x, self.dim)
        if self.poisson_net is not None:
            return self.poisson_net(x)
        matrix = self.poisson_matrix
        assert isinstance(matrix, Tensor)
        return matrix.expand(x.shape[0], self.dim, self.dim)

    def poisson_from_gradient(self, x: Tensor, dS: Tensor) -> Tensor:
        """:math:`L=P_SA(x)P_S` with :math:`P_S` built from the vector ``dS`` (batch, dim, dim)."""
        a = self.antisymmetric_part(x)
        if self.single_generator or not self.enforce_degeneracy:
            return a
        return _projected_antisymmetric(dS, a, self.projection_floor)

    def poisson(self, x: Tensor) -> Tensor:
        r"""The matrix :math:`L(x)=P_SA(x)P_S` (:math:`W(x)` for a single-generator model), shape
        (batch, dim, dim); antisymmetric, with :math:`L\,\partial_xS=0`."""
        _check_input(x, self.dim)
        return self.poisson_from_gradient(x, self.entropy_gradient(x))

    def dissipation_from_gradient(self, x: Tensor, x_star: Tensor, dE: Tensor | None) -> Tensor:
        r""":math:`\Xi_0(x,Q_Ex^*)` with :math:`Q_E` built from the vector ``dE``."""
        _check_input(x_star, self.dim, "x_star")
        if self._no_energy_projection:
            return self.dissipation_net(x, x_star)
        return self.dissipation_net(x, _projector_apply(self._need(dE), x_star, self.projection_floor))

    def dissipation(self, x: Tensor, x_star: Tensor) -> Tensor:
        r""":math:`\Xi(x,x^*)=\Xi_0(x,Q_Ex^*)`, shape (batch,): convex in ``x_star``, zero with zero gradient
        at ``x_star = 0``, and unchanged by ``x_star + lambda * dE/dx``."""
        _check_input(x, self.dim)
        dE = None if self._no_energy_projection else self.energy_gradient(x)
        return self.dissipation_from_gradient(x, x_star, dE)

    @staticmethod
    def _need(dE: Tensor | None) -> Tensor:
        if dE is None:
            raise ValueError("dE is needed for a model with an energy")
        return dE

    @property
    def _no_energy_projection(self) -> bool:
        return self.single_generator or not self.enforce_degeneracy

    def dissipation_gradient_from(self, x: Tensor, x_star: Tensor, dE: Tensor | None, create_graph: bool) -> Tensor:
        r""":math:`\partial_{x^*}\Xi=Q_E\,\partial_y\Xi_0(x,Q_Ex^*)`."""
        if self._no_energy_projection:
            return self.dissipation_net.gradient(x, x_star, create_graph=create_graph)
        dE = self._need(dE)
        y = _projector_apply(dE, x_star, self.projection_floor)
        g = self.dissipation_net.gradient(x, y, create_graph=create_graph)
        return _projector_apply(dE, g, self.projection_floor)

    def dissipation_gradient(self, x: Tensor, x_star: Tensor) -> Tensor:
        """dXi/dx* at (x, x_star), shape (batch, dim)."""
        _check_input(x, self.dim)
        _check_input(x_star, self.dim, "x_star")
        dE = None if self._no_energy_projection else self.energy_gradient(x)
        return self.dissipation_gradient_from(x, x_star, dE, create_graph=torch.is_grad_enabled())

    # ---- the dynamics
    def velocity_from_gradients(
        self, x: Tensor, dE: Tensor | None, dS: Tensor, create_graph: bool | None = None
    ) -> Tensor:
        r"""The velocity :math:`P_SA(x)P_S\,\bar e+Q_E\,\partial_y\Xi_0(x,Q_E\bar s)` for given vectors
        :math:`\bar e` (``dE``) and :math:`\bar s` (``dS``) in place of the gradients, with the state-dependent
        parts (:math:`A`, :math:`\Xi_0`) evaluated at ``x`` and :math:`P_S`, :math:`Q_E` built from ``dS``,
        ``dE``. Then :math:`\bar e\cdot v=0` and :math:`\bar s\cdot v\ge0` for any ``x``, ``dE``, ``dS``: the
        discrete-gradient integrator passes discrete gradients and the midpoint.

        Parameters
        ----------
        x:
            State at which :math:`A` and :math:`\Xi_0` are evaluated, (batch, dim).
        dE, dS:
            Vectors (batch, dim) standing for :math:`\partial_xE` and :math:`\partial_xS`; ``dE`` is ignored
            (may be ``None``) for a single-generator model.
        create_graph:
            Keep the graph of the dissipation gradient (default: ``torch.is_grad_enabled()``).

        Returns
        -------
        Tensor
            (batch, dim).

        Raises
        ------
        ValueError
            For inputs of the wrong shape, or ``dE=None`` for a model with an energy.
        """
        _check_input(x, self.dim)
        _check_input(dS, self.dim, "dS")
        if create_graph is None:
            create_graph = torch.is_grad_enabled()
        if self.single_generator:
            w = self.antisymmetric_part(x)
            rev = (w @ dS[..., None]).squeeze(-1)
            return rev + self.dissipation_net.gradient(x, dS, create_graph=create_graph)
        dE = self._need(dE)
        _check_input(dE, self.dim, "dE")
        a = self.antisymmetric_part(x)
        if self.enforce_degeneracy:
            inner = (a @ _projector_apply(dS, dE)[..., None]).squeeze(-1)
            rev = _projector_apply(dS, inner, self.projection_floor)
        else:
            rev = (a @ dE[..., None]).squeeze(-1)
        return rev + self.dissipation_gradient_from(x, dS, dE, create_graph=create_graph)

    def _gradients(self, x: Tensor, create_graph: bool) -> tuple[Tensor | None, Tensor]:
        dS = _gradient(self.entropy, x, create_graph)
        dE = _gradient(self.energy, x, create_graph) if self.has_energy else None
        return dE, dS

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, self.dim)
        grad = torch.is_grad_enabled()
        dE, dS = self._gradients(x, create_graph=grad)
        xdot = self.velocity_from_gradients(x, dE, dS, create_graph=grad)
        return xdot if grad else xdot.detach()

    def entropy_production(self, x: Tensor) -> Tensor:
        r""":math:`\dot S=\partial_xS\cdot\dot x`, non-negative for every weight value; shape (batch,)."""
        _check_input(x, self.dim)
        grad = torch.is_grad_enabled()
        dE, dS = self._gradients(x, create_graph=grad)
        return (dS * self.velocity_from_gradients(x, dE, dS, create_graph=grad)).sum(-1)

    def energy_rate(self, x: Tensor) -> Tensor:
        r""":math:`\dot E=\partial_xE\cdot\dot x`, zero to round-off for every weight value; shape (batch,).

        Raises
        ------
        ValueError
            For a single-generator model, which has no energy.
        """
        if not self.has_energy:
            raise ValueError("a single-generator model has no energy")
        _check_input(x, self.dim)
        grad = torch.is_grad_enabled()
        dE, dS = self._gradients(x, create_graph=grad)
        assert dE is not None
        return (dE * self.velocity_from_gradients(x, dE, dS, create_graph=grad)).sum(-1)

    def jacobiator(self, x: Tensor) -> Tensor:
        r"""The Jacobi expression :math:`J_{ijk}=\sum_l(L_{il}\partial_lL_{jk}+L_{jl}\partial_lL_{ki}+L_{kl}\partial_lL_{ij})`
        of :math:`L=` :meth:`poisson` at each state, shape (batch, dim, dim, dim); zero iff the bracket
        satisfies the Jacobi identity there (see the module docstring for where it does)."""
        _check_input(x, self.dim)
        d = self.dim
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            lmat = self.poisson(xg) if not self.single_generator else self.antisymmetric_part(xg)
            if not lmat.requires_grad:  # constant matrix
                return torch.zeros(x.shape[0], d, d, d, dtype=x.dtype, device=x.device)
            dl = torch.zeros(x.shape[0], d, d, d, dtype=x.dtype, device=x.device)  # dl[b, j, k, l] = d_l L_jk
            for j in range(d):
                for k in range(d):
                    (g,) = torch.autograd.grad(lmat[:, j, k].sum(), xg, retain_graph=True, allow_unused=True)
                    if g is not None:
                        dl[:, j, k] = g
        lmat = lmat.detach()
        term = torch.einsum("bil,bjkl->bijk", lmat, dl)
        return term + term.permute(0, 2, 3, 1) + term.permute(0, 3, 1, 2)
