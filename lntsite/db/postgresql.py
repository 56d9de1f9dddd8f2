"""A client-side bound on every PostgreSQL round trip of a request, and a CPU niceness
for the server processes of the write side (README "Faults", "Load").

**The bound.** ``statement_timeout`` is enforced by the server and TCP keepalives are
answered by its kernel, so when the server *process* stops answering (SIGSTOP, a hung
disk, a stuck host whose kernel still runs) a query already sent waits for ever: in
gunicorn until the worker timeout kills the worker, with no answer to the client.
libpq has no read timeout, and ``tcp_user_timeout`` only counts data the peer's kernel
has not acknowledged -- a frozen server's kernel acknowledges everything.  So every
round trip (``execute``, ``executemany``, ``copy_expert``, a named cursor's fetches,
``commit``, ``rollback``) is armed with a deadline: when one outlives it, a watchdog
thread shuts the connection's socket down (``shutdown(2)``, both ways).  libpq, blocked
in ``poll()`` on it, sees the end of the stream at once and raises
``OperationalError`` ("server closed the connection unexpectedly"); Django drops the
connection and ``perf.middleware.ServiceErrorMiddleware`` answers 503 + Retry-After.

The deadline (``DATABASE_CLIENT_TIMEOUT``, seconds) is above the statement timeout, so
a statement the server cancels ends as before; only a server that stopped answering
reaches it.  ``allow(seconds)`` lengthens it for the round trips inside (a submission's
wait for the suite lock, ``PERF_SUITE_LOCK_WAIT_MS``).  Nothing is armed until
``bound_waits()`` is called: ``lntsite/wsgi.py`` calls it, so requests are bounded and
management commands (an operator's import may run a statement for minutes) are not.
The connect itself is bounded by libpq's ``connect_timeout`` (``DATABASE_CONNECT_TIMEOUT``).

**Niceness.**  With ``DATABASE_BACKEND_NICE=N`` (1-19), each new connection sets its
server process's niceness to N (``setpriority``; the backend's pid comes with the
connection, no query).  Only where PostgreSQL runs on this host (a loopback or unix
socket connection) and this user may renice its processes (root, or the server's
user); otherwise nothing changes (logged once).
``deploy/prod.sh`` sets it for the submission pool and the Celery workers only, so the
write side's share of PostgreSQL yields to page reads as their own processes do.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2.extensions
from django.conf import settings

log = logging.getLogger("lntsite.db")


class _Watchdog:
    """Round trips in flight in this process, by token: (deadline, socket fd).  One
    thread sleeps until the earliest deadline; a round trip that ends in time only
    takes a lock (no wake-up: deadlines are armed in increasing order)."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._armed: dict[int, tuple[float, int]] = {}
        self._tokens = 0
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None
        self.cut = 0  # connections cut so far in this process

    def arm(self, fd: int, seconds: float) -> int:
        deadline = time.monotonic() + seconds
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-deadline", daemon=True)
                self._thread.start()
            self._tokens += 1
            self._armed[self._tokens] = (deadline, fd)
            if deadline < self._wake_at:
                self._cond.notify()
            return self._tokens

    def disarm(self, token: int) -> None:
        with self._cond:
            self._armed.pop(token, None)

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for token, (deadline, fd) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[token]
                        # Under the lock: the round trip has not been disarmed, so the
                        # fd is still that connection's socket.
                        _shut_down(fd)
                        self.cut += 1
                self._wake_at = min((d for d, _ in self._armed.values()), default=math.inf)
                self._cond.wait(None if self._wake_at == math.inf else self._wake_at - now)


def _shut_down(fd: int) -> None:
    """Ends both directions of the socket behind ``fd`` for every holder of it (libpq
    keeps its fd; only our duplicate is closed)."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer
    finally:
        sock.close()
    log.warning("database: no answer within the client timeout; connection cut")


_watchdog = _Watchdog()
_state = threading.local()
_bound = {"seconds": 0.0}  # 0: nothing is armed (bound_waits not called)


def _after_fork() -> None:
    """A forked worker (gunicorn, Celery prefork) has no watchdog thread: start afresh."""
    global _watchdog
    _watchdog = _Watchdog()


os.register_at_fork(after_in_child=_after_fork)


def bound_waits(seconds: float) -> None:
    """From now on, every round trip of this process waits at most ``seconds`` for the
    server (0 turns the bound off)."""
    if seconds < 0:
        raise ValueError(f"the client timeout must be >= 0 seconds, got {seconds}")
    _bound["seconds"] = float(seconds)


def connections_cut() -> int:
    """How many connections this process has cut at their deadline (for tests)."""
    return _watchdog.cut


@contextmanager
def allow(seconds: float) -> Iterator[None]:
    """Round trips inside may last ``seconds`` more than the bound (a lock wait the
    server allows past the statement timeout)."""
    previous = getattr(_state, "extra", 0.0)
    _state.extra = previous + seconds
    try:
        yield
    finally:
        _state.extra = previous


class _bounded:  # noqa: N801 - used as a function: ``with _bounded(conn):``
    """Arms the watchdog for one round trip on ``conn`` (a class, not a generator: it
    runs around every query, and costs half as much)."""

    __slots__ = ("conn", "token", "watchdog")

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.token = 0

    def __enter__(self) -> None:
        seconds = _bound["seconds"]
        if seconds and not self.conn.closed:
            self.watchdog = _watchdog
            extra = getattr(_state, "extra", 0.0)
            self.token = self.watchdog.arm(self.conn.fileno(), seconds + extra)

    def __exit__(self, *exc: object) -> None:
        if self.token:
            self.watchdog.disarm(self.token)


class BoundedCursor(psycopg2.extensions.cursor):
    """psycopg2's cursor (what Django uses on psycopg2) with each round trip bounded."""

    def execute(self, query: Any, vars: Any = None) -> Any:  # noqa: A002 - psycopg2's name
        with _bounded(self.connection):
            return super().execute(query, vars)

    def executemany(self, query: Any, vars_list: Any) -> Any:
        with _bounded(self.connection):
            return super().executemany(query, vars_list)

    def callproc(self, procname: Any, parameters: Any = None) -> Any:
        with _bounded(self.connection):
            return super().callproc(procname, parameters)

    def copy_expert(self, sql: Any, file: Any, size: int = 8192) -> Any:
        with _bounded(self.connection):
            return super().copy_expert(sql, file, size)

    # A named (server-side) cursor goes to the server for each batch it fetches.
    def fetchone(self) -> Any:
        if self.name is None:
            return super().fetchone()
        with _bounded(self.connection):
            return super().fetchone()

    def fetchmany(self, size: Any = None) -> Any:
        if self.name is None:
            return super().fetchmany() if size is None else super().fetchmany(size)
        with _bounded(self.connection):
            return super().fetchmany() if size is None else super().fetchmany(size)

    def fetchall(self) -> Any:
        if self.name is None:
            return super().fetchall()
        with _bounded(self.connection):
            return super().fetchall()

    def close(self) -> None:
        if self.name is None or self.connection.closed:
            return super().close()
        with _bounded(self.connection):
            return super().close()


_nice = {"warned": False}


class BoundedConnection(psycopg2.extensions.connection):
    """psycopg2's connection with ``commit`` and ``rollback`` bounded, whose server
    process takes ``DATABASE_BACKEND_NICE`` when set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        niceness = getattr(settings, "DATABASE_BACKEND_NICE", 0)
        if niceness:
            _renice(self.info.host, self.info.backend_pid, niceness)

    def commit(self) -> None:
        with _bounded(self):
            super().commit()

    def rollback(self) -> None:
        if self.closed:
            return super().rollback()
        with _bounded(self):
            super().rollback()


LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost"}


def _renice(host: str, pid: int, niceness: int) -> None:
    """Sets the niceness of server process ``pid`` when it runs here: a loopback or
    unix-socket connection, and that pid is a ``postgres`` process (a pid of a server
    elsewhere would name an unrelated process here)."""
    try:
        if not (host in LOCAL_HOSTS or host.startswith("/")):
            raise OSError(f"the server is on {host}, not on this host")
        with open(f"/proc/{pid}/comm") as comm:
            if comm.read().strip() != "postgres":
                raise OSError(f"process {pid} is not a postgres process")
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    except OSError as exc:  # not here, or not ours to renice
        if not _nice["warned"]:
            _nice["warned"] = True
            log.warning("DATABASE_BACKEND_NICE: cannot renice the server process: %s", exc)
