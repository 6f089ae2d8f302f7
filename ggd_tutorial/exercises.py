"""Deprecated alias of :mod:`ggd_tutorial.book.exercises` (moved in 0.2.0; removed in 0.3.0): import
``from ggd_tutorial.book import exercises`` instead."""

from ._moved import alias

alias(__name__, "exercises")
