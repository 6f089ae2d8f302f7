"""Deprecated alias of :mod:`ggd_tutorial.book.plotting` (moved in 0.2.0; removed in 0.3.0).

``from ggd_tutorial import plotting`` keeps working for this release, with a ``DeprecationWarning``;
import ``from ggd_tutorial.book import plotting`` instead.
"""

import sys
import warnings

from .book import plotting as _moved

warnings.warn(
    "ggd_tutorial.plotting moved to ggd_tutorial.book.plotting; the old name is removed in 0.3.0",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
