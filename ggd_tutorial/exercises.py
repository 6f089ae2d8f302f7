"""Deprecated alias of :mod:`ggd_tutorial.book.exercises` (moved in 0.2.0; removed in 0.3.0).

``from ggd_tutorial import exercises`` keeps working for this release, with a ``DeprecationWarning``;
import ``from ggd_tutorial.book import exercises`` instead.
"""

import sys
import warnings

from .book import exercises as _moved

warnings.warn(
    "ggd_tutorial.exercises moved to ggd_tutorial.book.exercises; the old name is removed in 0.3.0",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
