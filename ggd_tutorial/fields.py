r"""A local generalized gradient dynamics for a scalar field on a periodic 1-D grid.

The continuum potentials of a field are integrals of local densities,
:math:`S[c]=\int s(c)\,dx` and :math:`\Xi[c,c^*]=\int\xi(c,\partial_xc^*)\,dx`, with
:math:`s` concave and :math:`\xi` convex in the gradient of the conjugate. On a grid of
:math:`n` cells of width :math:`h=L/n` :class:`LocalFieldModel` learns both densities, with
weights shared by every cell and edge:

.. math::
    S_h(c) = h\sum_i s(c_i), \qquad
    \Xi_h(c,x^*) = h\sum_i \xi\Big((c_i,c_{i+1}),\ \frac{x^*_{i+1}-x^*_i}{h^2}\Big),

so that with plain partial derivatives, :math:`x^*=\partial S_h/\partial c = h\,s'(c)` and

.. math::
    \dot c_i = \frac{\partial\Xi_h}{\partial x^*_i} = -\frac{J_{i+1/2}-J_{i-1/2}}{h},
    \qquad J_{i+1/2} = \partial_g\xi\big((c_i,c_{i+1}), g_{i+1/2}\big),
    \quad g_{i+1/2}=\frac{s'(c_{i+1})-s'(c_i)}{h}:

a discrete conservation law in flux form. Hence, **for every weight value**,

* the total mass :math:`h\sum_ic_i` is conserved (the fluxes telescope),
* the model commutes with periodic shifts (shared weights),
* :math:`dS_h/dt = x^*\cdot\dot c\ge0` (GGD), and
* the same trained model applies to any grid: :math:`h` is read from the input's length.

``s`` is a :class:`~ggd_tutorial.networks.ConcaveEntropy` on one input and ``xi`` a
:class:`~ggd_tutorial.networks.ConvexDissipation` of the edge gradient with the two
neighbouring values as its state (VONN-shifted, so :math:`\xi(\cdot,0)=0`,
:math:`\partial_g\xi(\cdot,0)=0`). Their quadratic skip terms make
:math:`s=-\tfrac a2c^2` and :math:`\xi=\tfrac b2g^2` exact, which contain the linear heat
equation: a prior to name when comparing numbers.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from .networks import ConcaveEntropy, ConvexDissipation


def _check_field(c: Tensor, name: str = "c") -> None:
    if c.ndim != 2 or c.shape[-1] < 3:
        raise ValueError(f"{name} must have shape (batch, points) with points >= 3, got {tuple(c.shape)}")


class LocalFieldModel(nn.Module):
    r"""Local GGD of a periodic 1-D field, mass-conserving and grid-independent (module docstring).

    Parameters
    ----------
    length:
        Length :math:`L` of the periodic domain; the grid spacing is ``length / points`` of
        whatever grid the model is called on.
    hidden:
        Hidden widths of both local networks (``entropy_hidden`` / ``dissipation_hidden``
        override it).
    quadratic:
        Keep the quadratic skip terms (exact quadratic entropy density and constant mobility).
    """

    def __init__(
        self,
        length: float = 1.0,
        hidden: Sequence[int] = (8, 8),
        entropy_hidden: Sequence[int] | None = None,
        dissipation_hidden: Sequence[int] | None = None,
        quadratic: bool = True,
        eps: float = 5.0,
    ) -> None:
        super().__init__()
        if not length > 0:
            raise ValueError(f"length must be positive, got {length}")
        self.length = float(length)
        self.entropy_density = ConcaveEntropy(1, entropy_hidden or hidden, eps, quadratic=quadratic)
        self.dissipation_density = ConvexDissipation(
            1, dissipation_hidden or hidden, eps, quadratic=quadratic, state_dim=2
        )

    def spacing(self, c: Tensor) -> float:
        """Grid spacing h = L / points of the grid ``c`` lives on."""
        return self.length / c.shape[-1]

    def entropy(self, c: Tensor) -> Tensor:
        r""":math:`S_h(c)=h\sum_is(c_i)`, shape (batch,)."""
        _check_field(c)
        density = self.entropy_density(c.reshape(-1, 1)).reshape(c.shape)
        return self.spacing(c) * density.sum(-1)

    def conjugate(self, c: Tensor) -> Tensor:
        r""":math:`x^*=\partial S_h/\partial c=h\,s'(c)`, shape (batch, points)."""
        _check_field(c)
        with torch.enable_grad():
            cg = c if c.requires_grad else c.detach().requires_grad_(True)
            (x_star,) = torch.autograd.grad(self.entropy(cg).sum(), cg, create_graph=torch.is_grad_enabled())
        return x_star

    def _edges(self, c: Tensor, x_star: Tensor) -> tuple[Tensor, Tensor]:
        """Edge states (c_i, c_{i+1}) and edge gradients (x*_{i+1} - x*_i) / h^2, flattened."""
        h = self.spacing(c)
        states = torch.stack([c, torch.roll(c, -1, -1)], -1).reshape(-1, 2)
        gradients = ((torch.roll(x_star, -1, -1) - x_star) / h**2).reshape(-1, 1)
        return states, gradients

    def dissipation(self, c: Tensor, x_star: Tensor) -> Tensor:
        r""":math:`\Xi_h(c,x^*)`, shape (batch,)."""
        _check_field(c)
        _check_field(x_star, "x_star")
        states, gradients = self._edges(c, x_star)
        density = self.dissipation_density(states, gradients).reshape(c.shape)
        return self.spacing(c) * density.sum(-1)

    def flux(self, c: Tensor, x_star: Tensor) -> Tensor:
        r"""Edge fluxes :math:`J_{i+1/2}=\partial_g\xi`, shape (batch, points)."""
        states, gradients = self._edges(c, x_star)
        grad = self.dissipation_density.gradient(states, gradients, create_graph=torch.is_grad_enabled())
        return grad.reshape(c.shape)

    def dissipation_gradient(self, c: Tensor, x_star: Tensor) -> Tensor:
        r""":math:`\partial\Xi_h/\partial x^*=-(J_{i+1/2}-J_{i-1/2})/h`, shape (batch, points)."""
        _check_field(c)
        _check_field(x_star, "x_star")
        flux = self.flux(c, x_star)
        return (torch.roll(flux, 1, -1) - flux) / self.spacing(c)

    def diffusivity(self, c: Tensor) -> Tensor:
        r"""The model's diffusivity at a uniform concentration ``c`` (1-D tensor of values):
        :math:`D(c)=-s''(c)\,\partial_g^2\xi((c,c),0)`, so that near equilibrium the model reads
        :math:`\partial_tc=\partial_x(D(c)\,\partial_xc)`. Unlike :math:`s` and :math:`\xi`
        alone it does not depend on the gauge (rescaling :math:`S` rescales :math:`\xi` inversely)."""
        weight = next(self.parameters())
        values = c.detach().reshape(-1, 1).to(device=weight.device, dtype=weight.dtype)
        with torch.enable_grad():
            x = values.clone().requires_grad_(True)
            (ds,) = torch.autograd.grad(self.entropy_density(x).sum(), x, create_graph=True)
            (d2s,) = torch.autograd.grad(ds.sum(), x)
            g = torch.zeros_like(values, requires_grad=True)
            states = torch.cat([values, values], -1)
            (dxi,) = torch.autograd.grad(self.dissipation_density(states, g).sum(), g, create_graph=True)
            (d2xi,) = torch.autograd.grad(dxi.sum(), g)
        return (-d2s * d2xi).reshape(c.shape).detach().to(c.device)

    def forward(self, c: Tensor) -> Tensor:
        """The velocity dc/dt, shape (batch, points)."""
        _check_field(c)
        cdot = self.dissipation_gradient(c, self.conjugate(c))
        return cdot if torch.is_grad_enabled() else cdot.detach()

    def entropy_production(self, c: Tensor) -> Tensor:
        r""":math:`dS_h/dt=x^*\cdot\dot c\ge0`, shape (batch,)."""
        x_star = self.conjugate(c)
        return (x_star * self.dissipation_gradient(c, x_star)).sum(-1)


class LocalConvolution(nn.Module):
    r"""A local, translation-invariant baseline without thermodynamic structure:
    :math:`\dot c_i=f(c_{i-r},\dots,c_{i+r})` with one small MLP shared by every cell
    (a periodic convolutional network of stencil width ``2r+1``). With ``radius=1`` it sees the
    same neighbourhood as :class:`LocalFieldModel` (whose velocity at cell ``i`` depends on
    ``c_{i-1}, c_i, c_{i+1}``), and with the default widths about as many parameters, but it
    conserves nothing by construction and does not know ``h``: it is tied to the grid it was
    trained on."""

    def __init__(self, radius: int = 1, hidden: Sequence[int] = (20, 20)) -> None:
        super().__init__()
        if int(radius) < 1:
            raise ValueError(f"radius must be >= 1, got {radius}")
        self.radius = int(radius)
        widths = [2 * self.radius + 1, *[int(w) for w in hidden], 1]
        layers: list[nn.Module] = []
        for k, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Conv1d(a, b, 1))
            if k < len(widths) - 2:
                layers.append(nn.Softplus())
        self.net = nn.Sequential(*layers)

    def forward(self, c: Tensor) -> Tensor:
        _check_field(c)
        window = torch.stack([torch.roll(c, -k, -1) for k in range(-self.radius, self.radius + 1)], 1)
        return self.net(window).squeeze(1)
