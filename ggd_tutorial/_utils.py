"""Internals shared by the core modules (not public API; the one module siblings may import private names from)."""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

__all__ = ["as_generator", "check_batch", "check_sizes", "model_dtype_device"]


def model_dtype_device(f: Callable[[Tensor], Tensor], like: Tensor) -> tuple[torch.dtype, torch.device]:
    """Dtype and device of a model's parameters, or of ``like`` for a parameter-free field.

    Parameters
    ----------
    f:
        A vector field: an ``nn.Module`` (its first parameter decides) or any callable.
    like:
        The tensor whose dtype and device are used when ``f`` has no parameters.

    Returns
    -------
    tuple
        ``(dtype, device)``.
    """
    params = list(getattr(f, "parameters", lambda: [])())
    if params:
        return params[0].dtype, params[0].device
    return like.dtype, like.device


def as_generator(seed: int | torch.Generator | None) -> torch.Generator:
    """A CPU ``torch.Generator``: ``seed`` itself if it is one, else seeded with ``seed`` (``None`` means 0).

    Parameters
    ----------
    seed:
        An integer seed, an existing generator (returned unchanged), or ``None`` for seed 0.

    Returns
    -------
    torch.Generator
    """
    if isinstance(seed, torch.Generator):
        return seed
    g = torch.Generator()
    g.manual_seed(0 if seed is None else int(seed))
    return g


def check_sizes(dim: int, hidden: Sequence[int]) -> list[int]:
    """A network's state dimension and hidden widths, checked: ``hidden`` as a list of ints.

    Raises
    ------
    ValueError
        If ``dim`` is not positive or ``hidden`` is empty or has a width below one.
    """
    if int(dim) < 1:
        raise ValueError(f"dim must be a positive integer, got {dim}")
    widths = [int(h) for h in hidden]
    if not widths or min(widths) < 1:
        raise ValueError(f"hidden must be a non-empty list of positive widths, got {widths}")
    return widths


def check_batch(x: Tensor, dim: int, name: str = "x") -> None:
    """Check that ``x`` is a ``(batch, dim)`` tensor.

    Raises
    ------
    ValueError
        If it is not (the message gives the shape it has).
    """
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[-1] != dim:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name} must have shape (batch, {dim}), got {shape}")
