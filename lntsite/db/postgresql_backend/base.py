"""Django's PostgreSQL backend whose connection health check needs no round trip.

With persistent connections (``DATABASE_CONN_MAX_AGE``) and ``conn_health_checks``,
Django checks a connection before the first query of each request with ``SELECT 1``:
one more round trip a request, as long as the machine page's only query on this
small data (docs/performance.md "machine page vs LNT").  Here the check asks the
socket instead: a server that closed the connection (a restart, ``pg_terminate_backend``,
``idle_session_timeout``, a connection cut by ``lntsite.db.postgresql``'s watchdog) has
sent its last message or the end of the stream, so the idle socket is readable, and
Django reconnects before the request's query as before.  A connection in no state to
take a query (a failed or unknown transaction) fails the check too.

What it cannot see is a peer that vanished without a word (a host switched off, a
network cut): ``SELECT 1`` would have waited for the client timeout and then reconnected;
here the request's own query waits for that timeout instead and the request is a 503
(``perf.middleware.ServiceErrorMiddleware``); the broken connection is dropped after it.
"""

from __future__ import annotations

import select

import psycopg2.extensions
from django.db.backends.postgresql import base

_NOT_READY = {
    psycopg2.extensions.TRANSACTION_STATUS_INERROR,
    psycopg2.extensions.TRANSACTION_STATUS_UNKNOWN,
}


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.get_transaction_status() in _NOT_READY:
            return False
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):  # a closed or invalid descriptor
            return False
        # Nothing is owed to an idle connection: anything to read is the server's
        # goodbye (or an unsolicited notice: a reconnection too many, nothing worse).
        return not readable
