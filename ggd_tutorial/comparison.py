"""Deprecated alias of :mod:`ggd_tutorial.book.studies` (moved in 0.2.0; removed in 0.3.0).

``from ggd_tutorial import comparison`` keeps working for this release, with a ``DeprecationWarning``;
import ``from ggd_tutorial.book import studies`` instead.
"""

import sys
import warnings

from .book import studies as _moved

warnings.warn(
    "ggd_tutorial.comparison moved to ggd_tutorial.book.studies; the old name is removed in 0.3.0",
    DeprecationWarning,
    stacklevel=2,
)
sys.modules[__name__] = _moved
