"""Read side of ``/health``: is the database answering, is the broker reachable, and
how far behind is detection.  Each check is bounded in time and in queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Min, Q
from django.utils import timezone
from kombu import Connection

from ..models import Run


def database_status() -> str:
    """ "ok", or the error's type (never its text: it may name hosts and users)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return f"error: {type(exc).__name__}"
    return "ok"


def broker_status(url: str, *, timeout: float) -> str:
    """ "ok" when a connection to the broker at ``url`` opens within ``timeout``
    seconds (one try, no retry loop), else "unreachable: <error type>"."""
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    try:
        with Connection(url, connect_timeout=timeout, transport_options=options) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def detection_backlog(now: datetime | None = None) -> dict[str, Any]:
    """Runs waiting for detection: ``pending`` (not queued: new, or backing off after a
    failed attempt), ``queued`` (a task was published), ``failed`` (given up after
    PERF_DETECTION_MAX_ATTEMPTS), and ``oldest_pending_seconds``, the age of the oldest
    run not yet detected (pending or queued; None when there is none).  One query, on
    the partial index of runs that are not done."""
    now = now or timezone.now()
    todo = Q(detection_state=Run.PENDING)
    row = Run.objects.filter(detection_state__in=[Run.PENDING, Run.FAILED]).aggregate(
        pending=Count("id", filter=todo & Q(detection_queued_at__isnull=True)),
        queued=Count("id", filter=todo & Q(detection_queued_at__isnull=False)),
        failed=Count("id", filter=Q(detection_state=Run.FAILED)),
        oldest=Min("submitted_at", filter=todo),
    )
    oldest = row.pop("oldest")
    row["oldest_pending_seconds"] = (
        None if oldest is None else round(max(0.0, (now - oldest).total_seconds()), 1)
    )
    return row
