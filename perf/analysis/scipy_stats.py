"""``scipy.stats``, imported on first use.

Importing it costs about 1.3 CPU s, half of what a process of this project spends
starting (``python -X importtime manage.py check``), and most processes never call it:
``manage.py`` commands, the page pool's workers until a page compares runs, each test
that starts a stack.  The modules of ``perf.analysis`` call :func:`stats` where they
use it; gunicorn's master and Celery's main process import it before forking
(deploy/gunicorn.conf.py, lntsite/celery.py), so their workers share it.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType


@cache
def stats() -> ModuleType:
    """The ``scipy.stats`` module (imported by the first call)."""
    return importlib.import_module("scipy.stats")
