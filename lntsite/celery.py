"""The Celery app.  Configuration lives in settings (CELERY_* names)."""

import os
import time
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")

app = Celery("lntsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _import_scipy_stats(**_: Any) -> None:
    """Detection uses scipy.stats, which the site imports on first use
    (perf/analysis/scipy_stats.py): the worker's main process imports it before its
    pool forks, so the pool's processes share it."""
    from perf.analysis.scipy_stats import stats

    stats()


# Task durations for /metrics, measured in the worker (perf/metrics.py).
_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    started = _started.pop(task_id or "", None)
    if started is not None and task is not None:
        from perf.metrics import task_observe

        task_observe(task.name, (state or "unknown").lower(), time.perf_counter() - started)
