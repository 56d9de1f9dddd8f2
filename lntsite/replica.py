"""Page reads from a PostgreSQL streaming replica; everything else on the primary.

Installed only when ``DATABASE_REPLICA_URL`` is set (lntsite/settings.py).  The
router sends a read to the ``replica`` database only while ``ReplicaMiddleware`` has
marked the current request as a replica read; with no mark -- a write, a Celery task,
a management command, a request the rules below keep on the primary -- every query
goes to ``default``.

A request reads the replica only when all of these hold:

- it is a GET or HEAD (a POST, a submission, a triage action writes on the primary);
- its path is not under ``/admin/`` or ``/accounts/``, nor ``/health`` or ``/metrics``;
- it carries no session cookie (a logged-in user triages and must see what they just
  did), no ``perf_primary`` cookie (set for ``PERF_REPLICA_STICKY_SECONDS`` on the
  answer to any write through the site: read-your-writes for a browser), and no
  ``fresh`` query parameter (``/db_default/v4/nts/123?fresh`` asks for the primary);
- the replica is usable: it accepts a connection within
  ``DATABASE_REPLICA_CONNECT_TIMEOUT`` seconds and, checked at most every
  ``PERF_REPLICA_CHECK_SECONDS`` per process, replays WAL no more than
  ``PERF_REPLICA_MAX_LAG_SECONDS`` behind.  Unusable, it is left alone until the
  next check.

A replica read that answers 404 or 503 is answered again from the primary: the run
page of a run submitted a moment ago (its id is in the submission's answer; the
replica may not have replayed it yet) is found there, and a replica that failed
mid-request costs a retry, not an error.  Both are GETs, safe to run twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
STICKY_COOKIE = "perf_primary"
PRIMARY_PATHS = ("/admin/", "/accounts/", "/health", "/metrics")
RETRY_ON_PRIMARY = frozenset({404, 503})

log = logging.getLogger("lntsite.replica")

# Set for the length of one request that may read the replica (per thread: gthread).
_reading_replica: ContextVar[bool] = ContextVar("reading_replica", default=False)

# Seconds the replica is behind: 0 while it has replayed everything it received (an
# idle primary sends nothing, so the last replay time alone would look stale).
LAG_SQL = (
    "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


class ReplicaRouter:
    """Reads to ``replica`` inside a request marked by ReplicaMiddleware; the rest,
    and every write, to ``default`` (None: Django's default)."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if not _reading_replica.get():
            return None
        instance = hints.get("instance")
        if instance is not None and instance._state.db == "default":
            return "default"  # related rows of an object read or written on the primary
        return REPLICA

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same data on both

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA  # it replays the primary's schema


class ReplicaHealth:
    """Whether this process may read the replica, re-checked at most every
    ``interval`` seconds by one request (the others keep the last verdict)."""

    def __init__(self, probe: Callable[[], float], interval: float, max_lag: float) -> None:
        self.probe = probe
        self.interval = interval
        self.max_lag = max_lag
        self.lock = threading.Lock()
        self.usable_now = False
        self.next_check = 0.0  # monotonic seconds; the first request checks

    def usable(self) -> bool:
        now = time.monotonic()
        with self.lock:
            if now < self.next_check:
                return self.usable_now
            self.next_check = now + self.interval
        try:
            lag = self.probe()
        except DatabaseError as exc:
            log.warning("replica unusable, reading the primary: %s", exc)
            self.usable_now = False
            return False
        if lag > self.max_lag:
            log.warning(
                "replica %.1f s behind (bound %s s), reading the primary", lag, self.max_lag
            )
        self.usable_now = lag <= self.max_lag
        return self.usable_now

    def mark_down(self) -> None:
        """The replica failed a request: unused until the next check."""
        with self.lock:
            self.usable_now = False
            self.next_check = time.monotonic() + self.interval


def replica_lag() -> float:
    """Seconds the replica is behind, on this thread's replica connection (opened
    here if need be, within DATABASE_REPLICA_CONNECT_TIMEOUT)."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            row = cursor.fetchone()
    except DatabaseError:
        connections[REPLICA].close()  # a broken connection is not kept
        raise
    return float(row[0]) if row and row[0] is not None else 0.0


def wants_replica(request: HttpRequest) -> bool:
    """Whether the rules in the module docstring let this request read the replica
    (the replica's own health aside)."""
    if request.method not in {"GET", "HEAD"}:
        return False
    if request.path.startswith(PRIMARY_PATHS):
        return False
    if settings.SESSION_COOKIE_NAME in request.COOKIES or STICKY_COOKIE in request.COOKIES:
        return False
    return "fresh" not in request.GET


class ReplicaMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.health = ReplicaHealth(
            replica_lag,
            interval=settings.PERF_REPLICA_CHECK_SECONDS,
            max_lag=settings.PERF_REPLICA_MAX_LAG_SECONDS,
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if wants_replica(request) and self.health.usable():
            mark = _reading_replica.set(True)
            try:
                response = self.get_response(request)
            finally:
                _reading_replica.reset(mark)
            if response.status_code not in RETRY_ON_PRIMARY:
                return response
            if response.status_code == 503:
                self.health.mark_down()
            return self.get_response(request)
        response = self.get_response(request)
        if request.method not in {"GET", "HEAD", "OPTIONS"} and response.status_code < 400:
            sticky = settings.PERF_REPLICA_STICKY_SECONDS
            if sticky:
                response.set_cookie(
                    STICKY_COOKIE,
                    "1",
                    max_age=sticky,
                    secure=request.is_secure(),
                    httponly=True,
                    samesite="Lax",
                )
        return response
