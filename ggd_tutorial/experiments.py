"""Deprecated alias of :mod:`ggd_tutorial.book.experiments` (moved in 0.2.0; removed in 0.3.0).

``from ggd_tutorial import experiments`` keeps working for this release, with a ``DeprecationWarning``;
import ``from ggd_tutorial.book import experiments`` instead.
"""

import sys
import warnings

from .book import experiments as _moved

warnings.warn(
    "ggd_tutorial.experiments moved to ggd_tutorial.book.experiments; the old name is removed in 0.3.0",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
