"""Database work run in order by a second thread on the caller's own connection, so
that the caller's Python overlaps the server's work (README "Big reports").

A big report's store is about half Python (building COPY records, the geometric
means, the packed values) and half PostgreSQL (inserting tests, series, points); one
after the other on one connection, the two add up.  psycopg2 releases the GIL while it
waits for the server, so a job queued here (say, the COPY of one chunk's points) runs
while the caller builds the next chunk's records.

The jobs share the caller's connection object (``connections[using]`` in the queue's
thread *is* the caller's), hence its transaction, savepoints, statement timeouts and
query counting.  Rules that make this safe:

- while a queue is open, the caller does no database work itself: it queues it, and
  waits for a job's ``Future`` when it needs a result;
- jobs run one at a time, in the order queued;
- after a job fails, the jobs queued after it do not run (they would only meet an
  aborted transaction); the first error is raised by ``drain`` or on leaving the
  ``with`` block, never lost;
- leaving the block, normally or by an exception, waits for the job running, so the
  connection is the caller's alone again before anything else (a rollback) uses it.

Not on SQLite (one connection, no gain): there ``parallel`` is off and every job runs
at once in the caller, with the same order and the same errors.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections

T = TypeVar("T")

# The interpreter's switch interval while a queue's thread runs, seconds (Python's
# default is 0.005).  The thread needs the GIL for a moment after each statement,
# while the caller holds it building records: at 5 ms, each such hand-over can keep
# the server idle that long.  0.5 ms took 0.1-0.2 s off a 90,000-test import's 3.7-4.0
# (bench/big_report.py --imports 2, docs/performance.md "Big reports, round 4").
SWITCH_INTERVAL = 0.0005


class JobSkipped(Exception):
    """A job queued after one that failed: it was not run."""


class DatabaseQueue:
    """``with DatabaseQueue() as db: future = db.submit(fn, *args)``; see the module."""

    def __init__(self, using: str = DEFAULT_DB_ALIAS, *, parallel: bool | None = None) -> None:
        self._using = using
        self._connection = connections[using]
        if parallel is None:
            parallel = self._connection.vendor == "postgresql"
        self.parallel = parallel
        self._executor: ThreadPoolExecutor | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> DatabaseQueue:
        if self.parallel:
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(SWITCH_INTERVAL, self._switch_interval))
            self._connection.inc_thread_sharing()
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="dbqueue", initializer=self._adopt
            )
        return self

    def _adopt(self) -> None:
        """In the queue's thread: the caller's connection is this thread's too."""
        connections[self._using] = self._connection

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        if self._error is not None:
            raise JobSkipped(f"not run: an earlier job failed ({self._error!r})")
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            self._error = exc
            raise

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; its ``Future`` holds its result or error.
        The queue keeps no reference to it: a result the caller drops is freed."""
        if self._executor is not None:
            return self._executor.submit(self._run, fn, args, kwargs)
        future: Future[T] = Future()
        try:
            future.set_result(self._run(fn, args, kwargs))
        except Exception as exc:  # kept for .result() / drain, as in a thread
            future.set_exception(exc)
        return future

    def drain(self) -> None:
        """Wait for every job queued; raise the first one's error, if any failed."""
        if self._executor is not None:
            # Jobs run in order: once this one has run, so have all before it.
            self._executor.submit(lambda: None).result()
        if self._error is not None:
            raise self._error

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            # An exception in the caller: the jobs not started are dropped; the one
            # running is waited for either way.
            self._executor.shutdown(wait=True, cancel_futures=exc_type is not None)
            self._executor = None
            self._connection.dec_thread_sharing()
            sys.setswitchinterval(self._switch_interval)
        if exc_type is None:
            self.drain()
