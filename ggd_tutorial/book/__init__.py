"""The book's own layer: its experiments, studies, claims, asserted levels, figures and graders.

Everything here is configuration of *this* book on top of the core library (:mod:`ggd_tutorial`),
which never imports it. It ships with the package, since the chapters run on Colab with nothing but
the installed package, but it makes no stability promise: names may change with the chapters.

Modules: :mod:`~ggd_tutorial.book.experiments` (thesis data sets, settings, training runs),
:mod:`~ggd_tutorial.book.levels` (every asserted bound and the quantities it bounds),
:mod:`~ggd_tutorial.book.studies` (structure study, claims, field comparison, negative control),
:mod:`~ggd_tutorial.book.registry` (one record per experiment: data, model, budget, measures and levels),
:mod:`~ggd_tutorial.book.generic` (the GENERIC chapter's models, study and levels),
:mod:`~ggd_tutorial.book.plotting` (the book's figures), :mod:`~ggd_tutorial.book.exercises` (graders).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["registry", "experiments", "levels", "studies", "generic", "plotting", "exercises"]


def __getattr__(name: str) -> Any:
    """Import the book's modules on first use, so that ``ggd_tutorial.book.exercises`` works after
    ``import ggd_tutorial`` alone (PEP 562)."""
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
