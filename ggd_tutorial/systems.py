r"""Ground-truth dissipative systems with analytic entropy and dissipation potential.

Every system offers ``velocity(x)`` (the right-hand side, computed directly),
``entropy(x)``, ``conjugate(x)`` (:math:`x^*=\partial_xS`) and
``dissipation(x, x_star)``, and ``ggd_velocity(x)`` which evaluates
:math:`\partial_{x^*}\Xi|_{x^*=\partial_xS}` by autograd -- the tests check that
both routes agree.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor


def _as_batch(x: Tensor, dim: int) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[-1] != dim:
        raise ValueError(f"state must have shape (batch, {dim}), got {tuple(x.shape)}")
    return x


def _require_positive(c: Tensor, what: str) -> None:
    """Refuse non-positive concentrations, on the CPU. On an accelerator the check would cost a
    host synchronisation in every call of a training loop; there a non-positive concentration
    gives NaN, which :func:`~ggd_tutorial.training.fit` detects and reports."""
    if c.device.type != "cpu":
        return
    if not torch.all(c > 0):
        bad = c[~(c > 0)].flatten()[:3].tolist()
        raise ValueError(f"{what} needs strictly positive concentrations (log entropy); got values such as {bad}")


class GradientSystem:
    """Base class: a purely dissipative system in GGD form."""

    dim: int

    def velocity(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def entropy(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def dissipation(self, x: Tensor, x_star: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def conjugate(self, x: Tensor) -> Tensor:
        """x* = dS/dx by autograd (subclasses may override with a closed form)."""
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.entropy(xg).sum(), xg)
        return g

    def ggd_velocity(self, x: Tensor) -> Tensor:
        """dXi/dx* at x* = dS/dx, by autograd on the analytic potentials."""
        x_star = self.conjugate(x)
        with torch.enable_grad():
            y = x_star.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.dissipation(x.detach(), y).sum(), y)
        return g

    def __call__(self, x: Tensor) -> Tensor:
        return self.velocity(x)


class OverdampedParticle(GradientSystem):
    r"""Overdamped particle :math:`\dot x=-\gamma x` (thesis 4.1).

    :math:`S=-\tfrac12\|x\|^2`, :math:`\Xi=\tfrac{\gamma}{2}\|x^*\|^2`.
    """

    def __init__(self, dim: int = 1, gamma: float = 1.0) -> None:
        if int(dim) < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        if not gamma > 0:
            raise ValueError(f"gamma must be positive, got {gamma}")
        self.dim = int(dim)
        self.gamma = float(gamma)

    def velocity(self, x: Tensor) -> Tensor:
        return -self.gamma * _as_batch(x, self.dim)

    def entropy(self, x: Tensor) -> Tensor:
        return -0.5 * (_as_batch(x, self.dim) ** 2).sum(-1)

    def conjugate(self, x: Tensor) -> Tensor:
        return -_as_batch(x, self.dim)

    def dissipation(self, x: Tensor, x_star: Tensor) -> Tensor:
        return 0.5 * self.gamma * (_as_batch(x_star, self.dim) ** 2).sum(-1)

    def __repr__(self) -> str:
        return f"OverdampedParticle(dim={self.dim}, gamma={self.gamma})"


class MassActionKinetics(GradientSystem):
    r"""Chemical kinetics by the law of mass action, and its GGD form (thesis 4.2).

    ``stoichiometry`` is the matrix :math:`\nu` of shape (species M, reactions N),
    :math:`\nu_{mn}=\beta^{(n)}_m-\alpha^{(n)}_m`. With
    :math:`S(c)=-\sum_m c_m(\ln c_m+Q_m)` and

    .. math:: \Xi(c,c^*)=\sum_n W_n(c)\big(\cosh(X_n/2)-1\big),\quad
              X_n=\sum_m \nu_{mn}c^*_m,\quad W_n=W_0\sqrt{\textstyle\prod_m c_m^{|\nu_{mn}|}},

    (positive :math:`X_n` drives reaction :math:`n` forward, and :math:`\partial\Xi/\partial X_n` is its
    net forward rate; the thesis, eq. 4.4, uses the opposite sign, which the even :math:`\cosh` does
    not see, and the code computes :math:`-X_n`), the GGD velocity is the mass-action law
    :math:`\dot c=\nu\,(k_f\prod c^{\alpha}-k_b\prod c^{\beta})` with
    :math:`k_{f,b}^{(n)}=\tfrac{W_0}{4}\exp(\mp\sum_m(Q_m+1)\nu_{mn}/2)`.
    The thesis uses :math:`W_0=4`, :math:`Q=-1`, so :math:`k_f=k_b=1`.

    In general :math:`W_n=W_0\sqrt{\prod_m c_m^{\alpha_{mn}+\beta_{mn}}}` with the reactant and
    product orders :math:`\alpha, \beta`. From :math:`\nu` alone they are read as
    :math:`\alpha=\max(-\nu,0)`, :math:`\beta=\max(\nu,0)`: no species on both sides of a reaction.
    A catalysed or autocatalytic step such as :math:`A+B\rightleftharpoons2B` has the same
    :math:`\nu` as :math:`A\rightleftharpoons B`; pass ``reactants`` and ``products`` (both
    species x reactions) for it.

    The rates satisfy detailed balance for every choice of :math:`W_0, Q` (Wegscheider's
    condition: :math:`\ln(k_f/k_b)=-\nu^\top(Q+1)` lies in the range of :math:`\nu^\top`), as any
    GGD with this entropy and a mobility smooth at equilibrium must; a driven network that breaks it
    is not of this form (see :class:`ReactionCycle` for what a GGD with another entropy can do).
    """

    def __init__(
        self,
        stoichiometry: Sequence[Sequence[float]] | Tensor,
        W0: float | Sequence[float] | Tensor = 4.0,
        Q: float | Sequence[float] | Tensor = -1.0,
        species: Sequence[str] | None = None,
        reactants: Sequence[Sequence[float]] | Tensor | None = None,
        products: Sequence[Sequence[float]] | Tensor | None = None,
    ) -> None:
        nu = torch.as_tensor(stoichiometry, dtype=torch.float64)
        if nu.ndim != 2:
            raise ValueError(f"stoichiometry must be a 2-D matrix (species x reactions), got {nu.ndim}-D")
        if nu.shape[0] < 1 or nu.shape[1] < 1:
            raise ValueError(f"stoichiometry must be non-empty, got shape {tuple(nu.shape)}")
        if not torch.isfinite(nu).all():
            raise ValueError("stoichiometry contains NaN or inf")
        if (nu.abs().sum(0) == 0).any():
            raise ValueError("every reaction (column of stoichiometry) needs a non-zero coefficient")
        self.nu = nu
        self.dim, self.n_reactions = nu.shape
        self.W0 = torch.as_tensor(W0, dtype=torch.float64).expand(self.n_reactions).clone()
        self.Q = torch.as_tensor(Q, dtype=torch.float64).expand(self.dim).clone()
        if not torch.all(self.W0 > 0):
            raise ValueError("W0 must be positive")
        self.species = list(species) if species is not None else [f"c{m}" for m in range(self.dim)]
        if len(self.species) != self.dim:
            raise ValueError(f"{len(self.species)} species names for {self.dim} species")
        self.reactant_orders, self.product_orders = _orders(nu, reactants, products)  # alpha, beta

    @classmethod
    def thesis_example(cls, W0: float | Sequence[float] = 4.0, Q: float | Sequence[float] = -1.0) -> MassActionKinetics:
        r"""The thesis system :math:`A+2B\rightleftharpoons C`, :math:`C+D\rightleftharpoons A`
        (thesis parameters by default; ``W0`` per reaction and ``Q`` per species may be changed)."""
        nu = [[-1, 1], [-2, 0], [1, -1], [0, -1]]
        return cls(nu, W0=W0, Q=Q, species=["A", "B", "C", "D"])

    @property
    def rate_constants(self) -> tuple[Tensor, Tensor]:
        """Forward and backward rate constants (k_f, k_b), one per reaction."""
        a = ((self.Q + 1)[:, None] * self.nu).sum(0) / 2
        return self.W0 / 4 * torch.exp(-a), self.W0 / 4 * torch.exp(a)

    def conservation_laws(self, integer: bool = False) -> Tensor:
        r"""Basis (rows) of :math:`\{q: q\cdot\nu=0\}`: the conserved linear combinations.

        Orthonormal by default; with ``integer=True`` the reduced row echelon form of a rational
        basis, scaled to coprime integers (for the thesis network: :math:`A+C` and
        :math:`B+2C-2D`). Needs an integer (or rational) ``stoichiometry`` for the latter."""
        if integer:
            return _integer_left_null_space(self.nu)
        u, s, _ = torch.linalg.svd(self.nu, full_matrices=True)
        rank = int((s > 1e-10 * s.max()).sum())
        return u[:, rank:].T.contiguous()

    def describe_conservation_laws(self) -> list[str]:
        """The integer conservation laws as text, e.g. ``["A + C", "B + 2C - 2D"]``."""
        return [_linear_combination(row.tolist(), self.species) for row in self.conservation_laws(integer=True)]

    def _constants(self, x: Tensor) -> dict[str, Tensor]:
        """The constants on ``x``'s device and dtype, copied there once and cached (no host
        copy in every call of a training loop)."""
        key = (x.device, x.dtype)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            kf, kb = self.rate_constants
            names = dict(
                nu=self.nu,
                kf=kf,
                kb=kb,
                alpha=self.reactant_orders,
                beta=self.product_orders,
                Q=self.Q,
                W0=self.W0,
                orders=self.reactant_orders + self.product_orders,
            )
            cache[key] = {k: v.to(device=x.device, dtype=x.dtype) for k, v in names.items()}
        return cache[key]

    def _nu(self, x: Tensor) -> Tensor:
        return self._constants(x)["nu"]

    def velocity(self, c: Tensor) -> Tensor:
        c = _as_batch(c, self.dim)
        k = self._constants(c)
        fwd = torch.prod(c[:, :, None] ** k["alpha"], dim=1)
        bwd = torch.prod(c[:, :, None] ** k["beta"], dim=1)
        return (k["kf"] * fwd - k["kb"] * bwd) @ k["nu"].T

    def entropy(self, c: Tensor) -> Tensor:
        c = _as_batch(c, self.dim)
        _require_positive(c, "MassActionKinetics.entropy")
        return -(c * (torch.log(c) + self._constants(c)["Q"])).sum(-1)

    def conjugate(self, c: Tensor) -> Tensor:
        c = _as_batch(c, self.dim)
        _require_positive(c, "MassActionKinetics.conjugate")
        return -(torch.log(c) + self._constants(c)["Q"] + 1)

    def dissipation(self, c: Tensor, c_star: Tensor) -> Tensor:
        c = _as_batch(c, self.dim)
        c_star = _as_batch(c_star, self.dim)
        _require_positive(c, "MassActionKinetics.dissipation")
        k = self._constants(c)
        nu = k["nu"]
        affinity = -c_star @ nu  # -X_n, the thesis' sign (cosh is even)
        weight = k["W0"] * torch.exp(0.5 * torch.log(c) @ k["orders"])
        return (weight * (torch.cosh(affinity / 2) - 1)).sum(-1)

    def mobility(self, c: Tensor) -> Tensor:
        r"""The Onsager mobility per reaction, :math:`L_n(c)=\frac{W_n}{4}\,
        \frac{\sinh(X_n/2)}{X_n/2}` at :math:`X_n` of :math:`c^*=\partial S/\partial c`, shape
        (batch, reactions): with it the quadratic :math:`\tfrac12\sum_nL_n(\nu_n\cdot c^*)^2` has
        the same slope as :math:`\Xi` at :math:`c^*=\partial S/\partial c`, so the same velocity.
        It is the logarithmic mean of the forward and backward rates, :math:`(r_f-r_b)/\ln(r_f/r_b)`."""
        c = _as_batch(c, self.dim)
        _require_positive(c, "MassActionKinetics.mobility")
        k = self._constants(c)
        half = 0.5 * (-self.conjugate(c) @ k["nu"])  # -X_n / 2 (sinh(u) / u is even)
        weight = k["W0"] * torch.exp(0.5 * torch.log(c) @ k["orders"])
        small = half.abs() < 1e-4
        ratio = torch.where(small, 1 + half**2 / 6, torch.sinh(half) / torch.where(small, torch.ones_like(half), half))
        return weight / 4 * ratio

    def __repr__(self) -> str:
        return f"MassActionKinetics(species={self.species}, reactions={self.n_reactions})"


class ReactionCycle:
    r"""The first-order cycle :math:`A\rightleftharpoons B\rightleftharpoons C\rightleftharpoons A`
    with arbitrary rate constants: a network that may break detailed balance.

    Reaction :math:`n` turns species :math:`n` into :math:`n+1` (mod 3) at the net rate
    :math:`r_n=k_{f,n}c_n-k_{b,n}c_{n+1}`, and :math:`\dot c=\nu r`. Detailed balance
    (Wegscheider) holds iff the cycle affinity :math:`\mathcal A=\ln\prod_nk_{f,n}/\prod_nk_{b,n}`
    is zero. Otherwise the steady state carries a circulating flux :math:`J>0` and produces
    entropy forever (Schnakenberg's cycle affinity). The flux lies in the kernel of
    :math:`\nu` and is invisible in :math:`\dot c`, so what the data can reveal is local:

    * at a GGD equilibrium where the mobility is smooth, the Jacobian
      :math:`\partial^2_{x^*}\Xi\,\partial^2S` has a real spectrum, while a cycle with equal rates
      :math:`k_f, k_b` has the eigenvalues :math:`0` and
      :math:`-\tfrac32(k_f+k_b)\pm i\tfrac{\sqrt3}2(k_f-k_b)`: for :math:`k_f\neq k_b` it is not a GGD
      with a mobility smooth at the steady state;
    * with the ideal-solution entropy :math:`-\sum c(\ln c+Q)` and a mobility smooth at the steady
      state, the linearization needs :math:`K\,\mathrm{diag}(c_{ss})` symmetric, i.e. detailed balance.

    With some other concave entropy a driven cycle can be GGD: with a real spectrum (for instance
    :math:`k_f=(10,1,1)`, :math:`k_b=(1,1,0.05)`) it is an exact linear GGD with a quadratic entropy
    and a constant mobility :math:`\nu A\nu^\top` (``tests/test_structures.py``), and away from the
    steady state a rank-one GGD with a state-dependent mobility follows any of them.
    """

    species = ["A", "B", "C"]
    dim = 3

    def __init__(
        self, k_forward: Sequence[float] = (1.0, 1.0, 1.0), k_backward: Sequence[float] = (1.0, 1.0, 1.0)
    ) -> None:
        self.kf = torch.as_tensor(k_forward, dtype=torch.float64)
        self.kb = torch.as_tensor(k_backward, dtype=torch.float64)
        if self.kf.shape != (3,) or self.kb.shape != (3,):
            raise ValueError("give three forward and three backward rate constants")
        if not (torch.all(self.kf > 0) and torch.all(self.kb > 0)):
            raise ValueError("rate constants must be positive")
        self.nu = torch.tensor([[-1.0, 0.0, 1.0], [1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
        self.matrix = self._rate_matrix()

    @classmethod
    def driven(cls, affinity: float, rate: float = 1.0) -> ReactionCycle:
        """Equal forward rates ``rate`` and backward rates ``rate * exp(-affinity / 3)``."""
        return cls((rate,) * 3, (rate * math.exp(-affinity / 3),) * 3)

    @property
    def affinity(self) -> float:
        """The cycle affinity, the logarithm of prod k_f / prod k_b; zero if and only if detailed balance holds."""
        return float(self.kf.log().sum() - self.kb.log().sum())

    def _rate_matrix(self) -> Tensor:
        r"""The rate matrix K of :math:`\dot c=Kc` (columns sum to zero: the total is conserved),
        built once as ``self.matrix``."""
        K = torch.zeros(3, 3, dtype=torch.float64)
        for n in range(3):
            m = (n + 1) % 3
            K[n, n] -= self.kf[n]
            K[m, n] += self.kf[n]
            K[m, m] -= self.kb[n]
            K[n, m] += self.kb[n]
        return K

    def velocity(self, c: Tensor) -> Tensor:
        return _as_batch(c, 3) @ self.matrix.to(c).T

    __call__ = velocity

    def steady_state(self, total: float = 1.0) -> Tensor:
        """The steady state with ``c.sum() == total`` (the null vector of K)."""
        _, _, vh = torch.linalg.svd(self.matrix)
        v = vh[-1]
        return total * v / v.sum()

    def reaction_rates(self, c: Tensor) -> Tensor:
        """Net rates r_n of the three reactions; at the steady state all equal the cycle flux J."""
        c = _as_batch(c, 3)
        return self.kf.to(c) * c - self.kb.to(c) * c.roll(-1, dims=-1)

    def __repr__(self) -> str:
        return f"ReactionCycle(k_forward={self.kf.tolist()}, k_backward={self.kb.tolist()})"


def _orders(nu: Tensor, reactants, products) -> tuple[Tensor, Tensor]:
    """Reactant and product orders (alpha, beta); from nu alone when neither is given."""
    if reactants is None and products is None:
        return torch.clamp(-nu, min=0), torch.clamp(nu, min=0)
    if reactants is None or products is None:
        raise ValueError("give both reactants and products (species x reactions), or neither")
    alpha = torch.as_tensor(reactants, dtype=torch.float64)
    beta = torch.as_tensor(products, dtype=torch.float64)
    if alpha.shape != nu.shape or beta.shape != nu.shape:
        raise ValueError(
            f"reactants and products must have the shape of stoichiometry {tuple(nu.shape)}, "
            f"got {tuple(alpha.shape)} and {tuple(beta.shape)}"
        )
    if (alpha < 0).any() or (beta < 0).any():
        raise ValueError("reaction orders must be non-negative")
    if not torch.equal(beta - alpha, nu):
        raise ValueError("stoichiometry must equal products - reactants")
    return alpha, beta


def _integer_left_null_space(nu: Tensor) -> Tensor:
    """Rows: the reduced row echelon basis of {q : q . nu = 0}, scaled to coprime integers."""
    import sympy

    matrix = sympy.Matrix([[sympy.nsimplify(float(v)) for v in row] for row in nu.tolist()])
    basis = matrix.T.nullspace()
    if not basis:
        return torch.zeros(0, nu.shape[0], dtype=torch.int64)
    reduced, _ = sympy.Matrix.hstack(*basis).T.rref()
    rows = []
    for row in reduced.tolist():
        scale = sympy.ilcm(*[sympy.fraction(v)[1] for v in row])
        ints = [int(v * scale) for v in row]
        divisor = sympy.igcd(*ints)
        rows.append([v // divisor for v in ints])
    return torch.tensor(rows, dtype=torch.int64)


def _linear_combination(coefficients: list[int], names: list[str]) -> str:
    """``[1, 0, 2, -2]`` with names A..D -> ``"A + 2C - 2D"``."""
    terms = []
    for k, name in zip(coefficients, names):
        if k:
            size = "" if abs(k) == 1 else str(abs(k))
            terms.append(("- " if k < 0 else "+ ") + size + name)
    text = " ".join(terms)
    return text[2:] if text.startswith("+ ") else "-" + text[2:]


def _log_mean(a: Tensor, b: Tensor) -> Tensor:
    """Logarithmic mean (a-b)/(ln a - ln b), equal to a when a == b."""
    la, lb = torch.log(a), torch.log(b)
    close = (la - lb).abs() < 1e-6
    safe = torch.where(close, torch.ones_like(a), la - lb)
    return torch.where(close, 0.5 * (a + b), (a - b) / safe)


class FickianDiffusion(GradientSystem):
    r"""Fickian diffusion :math:`\partial_tc=D\,\partial_{xx}c` on a periodic grid (thesis 4.3).

    The discrete Laplacian :math:`(c_{i+1}-2c_i+c_{i-1})/h^2`, :math:`h=L/n`. Two exact
    GGD forms of this discrete dynamics (with plain partial derivatives):

    * ``entropy="quadratic"``: :math:`S=-\tfrac12\sum_ic_i^2`,
      :math:`\Xi=\tfrac{D}{2h^2}\sum_i(c^*_{i+1}-c^*_i)^2`;
    * ``entropy="boltzmann"``: :math:`S=-\sum_ic_i\ln c_i`,
      :math:`\Xi=\tfrac{D}{2h^2}\sum_i\Lambda(c_i,c_{i+1})(c^*_{i+1}-c^*_i)^2` with the
      logarithmic mean :math:`\Lambda`, the discrete form of :math:`\tilde D(c)=Dc`.
      It needs :math:`c>0`.
    """

    def __init__(self, points: int = 64, D: float = 3e-3, length: float = 1.0, entropy: str = "quadratic") -> None:
        if int(points) < 3:
            raise ValueError(f"points must be >= 3, got {points}")
        if not D > 0 or not length > 0:
            raise ValueError("D and length must be positive")
        if entropy not in ("quadratic", "boltzmann"):
            raise ValueError(f"entropy must be 'quadratic' or 'boltzmann', got {entropy!r}")
        self.dim = self.points = int(points)
        self.D = float(D)
        self.length = float(length)
        self.h = self.length / self.points
        self.entropy_form = entropy

    @property
    def grid(self) -> Tensor:
        """Cell positions x_i = i h, i = 0..n-1."""
        return torch.arange(self.points, dtype=torch.float64) * self.h

    def laplacian(self, c: Tensor) -> Tensor:
        return (torch.roll(c, -1, -1) - 2 * c + torch.roll(c, 1, -1)) / self.h**2

    def velocity(self, c: Tensor) -> Tensor:
        return self.D * self.laplacian(_as_batch(c, self.dim))

    def entropy(self, c: Tensor) -> Tensor:
        c = _as_batch(c, self.dim)
        if self.entropy_form == "quadratic":
            return -0.5 * (c**2).sum(-1)
        _require_positive(c, "FickianDiffusion.entropy (boltzmann)")
        return -(c * torch.log(c)).sum(-1)

    def conjugate(self, c: Tensor) -> Tensor:
        c = _as_batch(c, self.dim)
        if self.entropy_form == "quadratic":
            return -c
        _require_positive(c, "FickianDiffusion.conjugate (boltzmann)")
        return -(torch.log(c) + 1)

    def dissipation(self, c: Tensor, c_star: Tensor) -> Tensor:
        c = _as_batch(c, self.dim)
        c_star = _as_batch(c_star, self.dim)
        jump = torch.roll(c_star, -1, -1) - c_star
        return self.D / (2 * self.h**2) * (self.edge_mobility(c) * jump**2).sum(-1)

    def edge_mobility(self, c: Tensor) -> Tensor:
        """Mobility on the edge (i, i+1), divided by D; shape (batch, points)."""
        if self.entropy_form == "quadratic":
            return torch.ones_like(c)
        _require_positive(c, f"{type(self).__name__}.dissipation")
        return _log_mean(c, torch.roll(c, -1, -1))

    def __repr__(self) -> str:
        return f"FickianDiffusion(points={self.points}, D={self.D}, entropy={self.entropy_form!r})"


class PorousMediumDiffusion(FickianDiffusion):
    r"""Nonlinear diffusion :math:`\partial_tc=\partial_x(D\,c\,\partial_xc)` on a periodic grid
    (porous-medium type: the diffusivity :math:`Dc` grows with the concentration).

    GGD form with the Boltzmann entropy :math:`S=-\sum_ic_i\ln c_i` and the edge mobility
    :math:`D\,\Lambda(c_i,c_{i+1})\,\tfrac{c_i+c_{i+1}}2` (the continuum mobility is
    :math:`D(c)\,c=Dc^2`), :math:`\Xi=\tfrac1{2h^2}\sum_iM_{i+1/2}(c^*_{i+1}-c^*_i)^2`. Since
    :math:`\Lambda(a,b)(\ln b-\ln a)=b-a`, the velocity is exactly
    :math:`\dot c=\tfrac D2\,\Delta_h(c^2)`: mass is conserved and the second law holds for the
    discrete system, not only in the continuum limit. It needs :math:`c>0`, and keeps it.
    """

    def __init__(self, points: int = 64, D: float = 3e-3, length: float = 1.0) -> None:
        super().__init__(points, D, length, entropy="boltzmann")

    def velocity(self, c: Tensor) -> Tensor:
        c = _as_batch(c, self.dim)
        return 0.5 * self.D * self.laplacian(c**2)

    def edge_mobility(self, c: Tensor) -> Tensor:
        return super().edge_mobility(c) * 0.5 * (c + torch.roll(c, -1, -1))

    def __repr__(self) -> str:
        return f"PorousMediumDiffusion(points={self.points}, D={self.D})"


def damped_oscillator(x: Tensor, damping: float = 0.2) -> Tensor:
    r""":math:`\dot q=p,\ \dot p=-q-\gamma p`: dissipative, but with a complex spectrum
    (:math:`-\gamma/2\pm i\sqrt{1-\gamma^2/4}`) at its rest point, which no GGD with a mobility
    smooth at the rest point has there (Onsager reciprocity). Away from the rest point a GGD with a
    state-dependent mobility can follow it (a smooth rank-one pair, theory chapter)."""
    return torch.stack([x[:, 1], -x[:, 0] - damping * x[:, 1]], dim=1)


class GENERICSystem:
    r"""Base class: a system in GENERIC form, in the entropic representation of the book,

    .. math:: \dot x=L(x)\,\partial_xE+\partial_{x^*}\Xi(x,x^*)\big|_{x^*=\partial_xS},

    with :math:`L` antisymmetric, :math:`\Xi` convex in :math:`x^*` with
    :math:`\Xi(x,0)=0=\partial_{x^*}\Xi(x,0)`, and the two degeneracies :math:`L\,\partial_xS=0`
    and :math:`\partial_xE\cdot\partial_{x^*}\Xi(x,x^*)=0` for every :math:`x^*`. Then
    :math:`\dot E=0` and :math:`\dot S=x^*\cdot\partial_{x^*}\Xi\ge0` exactly.

    Subclasses give ``velocity(x)`` (the right-hand side, computed directly), ``energy(x)``,
    ``entropy(x)``, ``poisson(x)`` (shape ``(batch, dim, dim)``) and ``dissipation(x, x_star)``;
    :meth:`generic_velocity` assembles the GENERIC form by autograd, and the tests check that both
    routes agree.
    """

    dim: int

    def velocity(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def energy(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def entropy(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def poisson(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def dissipation(self, x: Tensor, x_star: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _gradient(fn, x: Tensor) -> Tensor:
        with torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(fn(xg).sum(), xg)
        return g

    def energy_gradient(self, x: Tensor) -> Tensor:
        """dE/dx by autograd (subclasses may override with a closed form)."""
        return self._gradient(self.energy, x)

    def conjugate(self, x: Tensor) -> Tensor:
        """x* = dS/dx by autograd (subclasses may override with a closed form)."""
        return self._gradient(self.entropy, x)

    def dissipation_gradient(self, x: Tensor, x_star: Tensor) -> Tensor:
        """dXi/dx* at (x, x_star), by autograd."""
        with torch.enable_grad():
            y = x_star.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self.dissipation(x.detach(), y).sum(), y)
        return g

    def reversible_velocity(self, x: Tensor) -> Tensor:
        """The reversible part L(x) dE/dx."""
        return (self.poisson(x) @ self.energy_gradient(x)[..., None])[..., 0]

    def irreversible_velocity(self, x: Tensor) -> Tensor:
        """The irreversible part dXi/dx* at x* = dS/dx."""
        return self.dissipation_gradient(x, self.conjugate(x))

    def generic_velocity(self, x: Tensor) -> Tensor:
        """L dE/dx + dXi/dx* at x* = dS/dx, assembled from the potentials."""
        return self.reversible_velocity(x) + self.irreversible_velocity(x)

    def entropy_production(self, x: Tensor) -> Tensor:
        """dS/dt = x* . xdot along the true flow, shape (batch,); non-negative."""
        return (self.conjugate(x) * self.velocity(x)).sum(-1)

    def __call__(self, x: Tensor) -> Tensor:
        return self.velocity(x)


class DampedOscillatorBath(GENERICSystem):
    r"""A damped oscillator coupled to a heat bath: the minimal GENERIC system (the first example
    of N-GINNs, Votruba et al. 2026), here with nonlinear friction.

    State :math:`x=(q,p,e)`: position, momentum and the internal energy of the bath. With the
    heat capacity :math:`C` and the friction coefficient :math:`\gamma`,

    .. math::
        E=\tfrac12(q^2+p^2)+e,\qquad S=C\ln e,\qquad T=\frac1{S'(e)}=\frac eC,\qquad
        L=\begin{pmatrix}0&1&0\\-1&0&0\\0&0&0\end{pmatrix},

    .. math::
        \Xi(x,x^*)=\gamma T\big(\cosh(b\cdot x^*)-1\big),\qquad b(x)=(0,\,1,\,-p).

    Since :math:`b\cdot\partial_xE=p-p=0`, :math:`\Xi` does not change along :math:`\partial_xE`
    (degeneracy ii), and :math:`L\,\partial_xS=L\,(0,0,1/T)^\top=0` (degeneracy i). At
    :math:`x^*=\partial_xS=(0,0,1/T)`, :math:`b\cdot x^*=-p/T`, and

    .. math::
        \dot q=p,\qquad \dot p=-q-\gamma T\sinh(p/T),\qquad \dot e=\gamma T\,p\sinh(p/T)\ \ge0:

    the friction force :math:`\gamma T\sinh(p/T)` is linear (:math:`\gamma p`) only for
    :math:`|p|\ll T`, the heat it makes goes to the bath, :math:`\dot E=0` exactly and
    :math:`\dot S=\dot e/T=\gamma\,p\sinh(p/T)\ge0`. The rest states are
    :math:`(0,0,e)` for every :math:`e>0`; the linearization there has the eigenvalues
    :math:`0` and :math:`-\gamma/2\pm i\sqrt{1-\gamma^2/4}`: complex for :math:`\gamma<2`.
    """

    dim = 3

    def __init__(self, gamma: float = 0.5, heat_capacity: float = 1.0) -> None:
        if not gamma > 0:
            raise ValueError(f"gamma must be positive, got {gamma}")
        if not heat_capacity > 0:
            raise ValueError(f"heat_capacity must be positive, got {heat_capacity}")
        self.gamma = float(gamma)
        self.C = float(heat_capacity)

    def _checked(self, x: Tensor) -> Tensor:
        x = _as_batch(x, self.dim)
        if x.device.type == "cpu" and not torch.all(x[:, 2] > 0):
            raise ValueError("the bath energy e (third component) must be positive")
        return x

    def temperature(self, x: Tensor) -> Tensor:
        """T = e / C, shape (batch,)."""
        return self._checked(x)[:, 2] / self.C

    def velocity(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        q, p = x[:, 0], x[:, 1]
        friction = self.gamma * self.temperature(x) * torch.sinh(p / self.temperature(x))
        return torch.stack([p, -q - friction, p * friction], dim=1)

    def energy(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        return 0.5 * (x[:, 0] ** 2 + x[:, 1] ** 2) + x[:, 2]

    def energy_gradient(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        return torch.stack([x[:, 0], x[:, 1], torch.ones_like(x[:, 2])], dim=1)

    def entropy(self, x: Tensor) -> Tensor:
        return self.C * torch.log(self._checked(x)[:, 2])

    def conjugate(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        zero = torch.zeros_like(x[:, 0])
        return torch.stack([zero, zero, self.C / x[:, 2]], dim=1)

    def poisson(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        L = torch.zeros(3, 3, dtype=x.dtype, device=x.device)
        L[0, 1], L[1, 0] = 1.0, -1.0
        return L.expand(x.shape[0], 3, 3)

    def dissipation_direction(self, x: Tensor) -> Tensor:
        """b(x) = (0, 1, -p): Xi sees x* only through b . x*; b . dE/dx = 0."""
        x = self._checked(x)
        return torch.stack([torch.zeros_like(x[:, 1]), torch.ones_like(x[:, 1]), -x[:, 1]], dim=1)

    def dissipation(self, x: Tensor, x_star: Tensor) -> Tensor:
        x = self._checked(x)
        x_star = _as_batch(x_star, self.dim)
        force = (self.dissipation_direction(x) * x_star).sum(-1)
        return self.gamma * self.temperature(x) * (torch.cosh(force) - 1)

    def rest_state(self, x0: Tensor) -> Tensor:
        """The state every trajectory from ``x0`` ends in: (0, 0, E(x0))."""
        x0 = self._checked(x0)
        zero = torch.zeros_like(x0[:, 0])
        return torch.stack([zero, zero, self.energy(x0)], dim=1)

    def rest_spectrum(self) -> Tensor:
        """Eigenvalues of the linearization at a rest state: 0 and -gamma/2 +- i sqrt(1 - gamma^2/4)."""
        g = complex(self.gamma)
        root = (g * g / 4 - 1) ** 0.5
        values = torch.tensor([-g / 2 - root, -g / 2 + root, 0.0], dtype=torch.complex128)
        return values[torch.argsort(values.real, stable=True)]

    def __repr__(self) -> str:
        return f"DampedOscillatorBath(gamma={self.gamma}, heat_capacity={self.C})"


class GasPiston(GENERICSystem):
    r"""Two ideal gases in a cylinder, separated by a movable piston that conducts heat
    (Öttinger 2005; Shang and Öttinger 2020; a GFINN benchmark): non-isothermal, with a genuine
    entropy, and a state-dependent Poisson matrix that satisfies the Jacobi identity.

    State :math:`x=(q,p,e_1,e_2)`: the piston's position (gas 1 fills :math:`V_1=q`, gas 2
    :math:`V_2=\ell-q`), its momentum, and the internal energies of the gases. Each gas has the
    ideal-gas entropy :math:`S_i=c\ln e_i+\ln V_i` (in units of :math:`Nk_B`, the same amount of
    each gas), so :math:`T_i=e_i/c` and the pressures :math:`P_i=T_i/V_i`;

    .. math::
        E=\frac{p^2}{2m}+e_1+e_2,\qquad S=S_1(e_1,q)+S_2(e_2,\ell-q).

    The reversible part is the piston's mechanics with the work it does on the gases,

    .. math::
        L=\begin{pmatrix}0&1&0&0\\-1&0&P_1&-P_2\\0&-P_1&0&0\\0&P_2&0&0\end{pmatrix},\qquad
        L\,\partial_xE=\big(p/m,\ P_1-P_2,\ -P_1p/m,\ P_2p/m\big),

    the canonical matrix of :math:`(q,p)` written in the variables :math:`(q,p,e_1,e_2)` instead
    of :math:`(q,p,S_1,S_2)`; a change of variables keeps the Jacobi identity, and
    :math:`L\,\partial_xS=0` (check: :math:`\partial_qS=P_1/T_1-P_2/T_2`). The irreversible part
    is heat conduction through the piston with conductance :math:`\kappa` (Fourier's law),

    .. math::
        \Xi=\tfrac12\kappa T_1T_2\,(x^*_{e_1}-x^*_{e_2})^2,\qquad
        \dot e_1=-\dot e_2=\kappa(T_2-T_1),

    which sees :math:`x^*` through :math:`b=(0,0,1,-1)`, :math:`b\cdot\partial_xE=0`. The entropy
    production is :math:`\kappa(T_1-T_2)^2/(T_1T_2)\ge0`. The piston oscillates, compresses and
    heats the gases in turn, and comes to rest when the temperatures and the pressures are equal.
    """

    dim = 4

    def __init__(
        self, mass: float = 1.0, length: float = 2.0, heat_capacity: float = 1.5, conductance: float = 1.0
    ) -> None:
        for name, value in (("mass", mass), ("length", length), ("heat_capacity", heat_capacity)):
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if not conductance > 0:
            raise ValueError(f"conductance must be positive, got {conductance}")
        self.m, self.ell, self.c, self.kappa = float(mass), float(length), float(heat_capacity), float(conductance)

    def _checked(self, x: Tensor) -> Tensor:
        x = _as_batch(x, self.dim)
        if x.device.type == "cpu":
            q = x[:, 0]
            if not (torch.all(q > 0) and torch.all(q < self.ell) and torch.all(x[:, 2:] > 0)):
                raise ValueError(f"need 0 < q < {self.ell} and positive energies e1, e2")
        return x

    def temperatures(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = self._checked(x)
        return x[:, 2] / self.c, x[:, 3] / self.c

    def pressures(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = self._checked(x)
        T1, T2 = self.temperatures(x)
        return T1 / x[:, 0], T2 / (self.ell - x[:, 0])

    def velocity(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        T1, T2 = self.temperatures(x)
        P1, P2 = self.pressures(x)
        v = x[:, 1] / self.m
        heat = self.kappa * (T2 - T1)
        return torch.stack([v, P1 - P2, -P1 * v + heat, P2 * v - heat], dim=1)

    def energy(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        return x[:, 1] ** 2 / (2 * self.m) + x[:, 2] + x[:, 3]

    def entropy(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        return self.c * (torch.log(x[:, 2]) + torch.log(x[:, 3])) + torch.log(x[:, 0]) + torch.log(self.ell - x[:, 0])

    def conjugate(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        return torch.stack(
            [1 / x[:, 0] - 1 / (self.ell - x[:, 0]), torch.zeros_like(x[:, 1]), self.c / x[:, 2], self.c / x[:, 3]],
            dim=1,
        )

    def poisson(self, x: Tensor) -> Tensor:
        x = self._checked(x)
        P1, P2 = self.pressures(x)
        L = torch.zeros(x.shape[0], 4, 4, dtype=x.dtype, device=x.device)
        L[:, 0, 1], L[:, 1, 0] = 1.0, -1.0
        L[:, 1, 2], L[:, 2, 1] = P1, -P1
        L[:, 1, 3], L[:, 3, 1] = -P2, P2
        return L

    def dissipation(self, x: Tensor, x_star: Tensor) -> Tensor:
        x = self._checked(x)
        x_star = _as_batch(x_star, self.dim)
        T1, T2 = self.temperatures(x)
        return 0.5 * self.kappa * T1 * T2 * (x_star[:, 2] - x_star[:, 3]) ** 2

    def rest_state(self, x0: Tensor) -> Tensor:
        """Where every trajectory from ``x0`` ends: p = 0, equal temperatures (so e1 = e2 = E/2)
        and equal pressures (so, with equal amounts of gas, q = length / 2)."""
        x0 = self._checked(x0)
        half = 0.5 * self.energy(x0)
        return torch.stack([torch.full_like(half, self.ell / 2), torch.zeros_like(half), half, half], dim=1)

    def __repr__(self) -> str:
        return f"GasPiston(mass={self.m}, length={self.ell}, heat_capacity={self.c}, conductance={self.kappa})"
