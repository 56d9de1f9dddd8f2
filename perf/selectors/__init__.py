"""Read side for pages and the API: narrow rows, a bounded number of queries.

``core`` serves the REST API and shared lookups; page-specific selectors live in
sibling modules.
"""

from .core import *  # noqa: F403
from .core import __all__ as _core_all

__all__ = list(_core_all)
