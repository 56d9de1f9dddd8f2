"""Thin Celery tasks: take ids, call one service.

Retries, acks_late, time limits and JSON serialisation are set in settings; the
retry on database errors is declared here because it is per task.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from .services import detection, notifications, runs


@shared_task(
    autoretry_for=(DatabaseError,),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def detect_run_task(run_id: int) -> str:
    """Detect the changes a run introduced (idempotent: safe to run twice)."""
    return detection.run_detect(run_id)


@shared_task
def detect_pending_task() -> int:
    """Periodic sweep: re-enqueue runs whose detection is pending or failed."""
    return detection.runs_enqueue_pending(enqueue=detect_run_task.delay)


@shared_task(autoretry_for=(OSError,), retry_backoff=5, max_retries=3)
def notify_regression_task(regression_id: int) -> str:
    """E-mail and webhook for a new regression (sent once per regression)."""
    return notifications.regression_notify(regression_id)


# One task per merge (rare, never a burst): retried on database errors, no jitter needed.
@shared_task(autoretry_for=(DatabaseError,), retry_backoff=2, max_retries=5)
def detect_machine_task(machine_id: int) -> str:
    """Detect over a machine's whole history (after another machine was merged in)."""
    return runs.machine_redetect(machine_id)
