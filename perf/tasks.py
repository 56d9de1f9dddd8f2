"""Thin Celery tasks: take ids, call one service, enqueue what the service hands back.

Retries, acks_late, time limits and JSON serialisation are set in settings; the
retry on database errors is declared here because it is per task.  Services never
import this module (tests/services/test_layers.py): they return what to enqueue, or
take an ``enqueue`` callback, and the functions at the bottom are those callbacks.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import DatabaseError

from .services import detection, notifications, runs

log = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=None)
def detect_run_task(self: Task, run_id: int, resumed: bool = False) -> str:
    """Detect the changes a run introduced (once: a second copy of the message does
    nothing), then enqueue the notifications of the regressions it made ready.

    A lost database connection is retried PERF_DETECTION_CONNECTION_RETRIES times,
    each after the attempt's lease expired, without counting a poison-run attempt
    (``resumed``); then the failure is recorded as any other (back-off, sweep)."""
    try:
        result = detection.run_detect(run_id, from_queue=True, count_attempt=not resumed)
    except detection.CONNECTION_ERRORS as exc:
        if self.request.retries >= settings.PERF_DETECTION_CONNECTION_RETRIES:
            detection.run_detection_failed(run_id, f"{type(exc).__name__}: {exc}")
            raise
        raise self.retry(
            exc=exc,
            args=(run_id,),
            kwargs={"resumed": True},
            countdown=settings.PERF_DETECTION_LEASE_SECONDS + 2,
        ) from exc
    for regression_id in result.notify:
        publish(notify_regression_task, regression_id)
    return result.summary


@shared_task
def detect_pending_task() -> int:
    """Periodic sweep: enqueue runs whose detection is due and not queued, and
    notifications whose task is overdue."""
    count = detection.runs_enqueue_pending(
        enqueue=lambda run_id: publish(detect_run_task, run_id),
        # An empty queue holds no run: one marked queued and never started was lost
        # (e.g. a Redis restarted without persistence) once the grace has passed.
        lost_after=settings.PERF_DETECTION_QUEUED_GRACE_SECONDS
        if queue_depth(detect_run_task) == 0
        else None,
    )
    notifications.notifications_enqueue_overdue(
        enqueue=lambda regression_id: publish(notify_regression_task, regression_id),
        # With no broker nothing holds a delayed retry: the sweep runs it when due.
        grace=0 if _eager(notify_regression_task) else None,
    )
    return count


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=5, max_retries=3)
def notify_regression_task(regression_id: int) -> str:
    """E-mail and webhook for a new regression: the attempts that are due, then a
    delayed run of itself for the next retry (back-off and limit in the service)."""
    result = notifications.regression_notify(regression_id)
    if result.retry_in is not None and not _eager(notify_regression_task):
        try:
            notify_regression_task.apply_async((regression_id,), countdown=result.retry_in)
        except Exception:  # broker down: the sweep finds the overdue notification
            log.warning(
                "could not schedule the retry of regression %s's notification",
                regression_id,
                exc_info=True,
            )
    return result.summary


# --- callbacks handed to services ---------------------------------------------------


def enqueue_detection(run_id: int) -> None:
    """What a submission registers to run after its commit (``report_import(enqueue=)``):
    mark the run queued and publish its detection task (left pending if the broker is
    down; the sweep retries it)."""
    detection.runs_enqueue([run_id], enqueue=lambda rid: publish(detect_run_task, rid))


def publish(task: Task, *args: Any) -> None:
    """Publish a task.  With no broker (eager mode) the task runs here, and its
    failure is recorded by the task itself, never mistaken for a publishing failure."""
    if _eager(task):
        task.apply(args=args, throw=False)
    else:
        task.delay(*args)


def queue_depth(task: Task) -> int | None:
    """Messages waiting in the task's queue (not those a worker holds), or None when
    the broker cannot say (eager mode, broker down, a transport without counts)."""
    if _eager(task):
        return None
    try:
        with task.app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1)
            queue = task.app.amqp.queues[task.app.conf.task_default_queue]
            try:
                declared = conn.default_channel.queue_declare(queue.name, passive=True)
            except conn.channel_errors as exc:
                if str(getattr(exc, "reply_code", "")) == "404":
                    return 0  # no such queue (e.g. a restarted Redis): nothing waits
                raise
            return int(declared.message_count)
    except Exception:  # noqa: BLE001 - not knowing is an answer: keep the long timeout
        log.warning("could not read the detection queue's depth", exc_info=True)
        return None


def _eager(task: Task) -> bool:
    return bool(task.app.conf.task_always_eager)


# One task per machine merge or LNT import (rare, never a burst): retried on database
# errors, no jitter needed.
@shared_task(autoretry_for=(DatabaseError,), retry_backoff=2, max_retries=5)
def detect_machine_task(machine_id: int) -> str:
    """Detect over a machine's whole history (after a merge, or after ``import_lnt_db``)."""
    return runs.machine_redetect(machine_id)
