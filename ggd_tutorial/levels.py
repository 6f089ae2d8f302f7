"""Deprecated alias of :mod:`ggd_tutorial.book.levels` (moved in 0.2.0; removed in 0.3.0).

``from ggd_tutorial import levels`` keeps working for this release, with a ``DeprecationWarning``;
import ``from ggd_tutorial.book import levels`` instead.
"""

import sys
import warnings

from .book import levels as _moved

warnings.warn(
    "ggd_tutorial.levels moved to ggd_tutorial.book.levels; the old name is removed in 0.3.0",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
