"""Deprecated aliases of the modules that moved to :mod:`ggd_tutorial.book` in 0.2.0 (removed in 0.3.0)."""

from __future__ import annotations

import importlib
import sys
import warnings

__all__ = ["alias"]


def alias(old: str, new: str) -> None:
    """Make the module ``old`` (being imported) an alias of ``ggd_tutorial.book.<new>``, with a
    ``DeprecationWarning`` that names the new place.

    Parameters
    ----------
    old:
        The full name of the deprecated module, its ``__name__``.
    new:
        The name of its module in :mod:`ggd_tutorial.book`.
    """
    moved = importlib.import_module(f"ggd_tutorial.book.{new}")
    short = old.rsplit(".", 1)[-1]
    warnings.warn(
        f"ggd_tutorial.{short} moved to ggd_tutorial.book.{new}; the old name is removed in 0.3.0",
        DeprecationWarning,
        stacklevel=3,
    )
    sys.modules[old] = moved
