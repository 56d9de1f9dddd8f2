"""gunicorn settings for both pools that deploy/prod.sh starts behind nginx.

PERF_POOL=web serves pages and API reads; PERF_POOL=submit serves submitRun and API
writes (nginx routes them), so a burst of submissions can only fill its own pool and
never starves readers.  Each listens on a unix socket under var/run/.  nginx buffers
whole request bodies first (deploy/nginx.conf), so a slow client never holds a worker.

Sizes (environment, defaults for this 2-core machine):
  web:    PERF_WEB_WORKERS=3 x PERF_WEB_THREADS=4  (gthread: reads wait on the database)
  submit: PERF_SUBMIT_WORKERS=2 x 1                 (sync: parsing a report is CPU work)
Each thread holds at most one database connection (kept between requests for
DATABASE_CONN_MAX_AGE seconds, 60 from deploy/prod.sh), which gives the connection
bound stated in the README.

Scaled out (README "Scaling out"), deploy/prod.sh starts PERF_WEB_NODES independent
instances of each pool, as if on as many machines: PERF_NODE names the instance
(its pid, control socket and logs get a "-<node>" suffix) and PERF_BIND is its TCP
address, one nginx upstream member each.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lntsite.logredact import RedactTokens  # noqa: E402 - after the path is set
from lntsite.workers import (  # noqa: E402 - after the path is set
    map_big_blocks,
    return_memory,
    submit_timeout,
    trim_after_bytes,
)

POOL = os.environ.get("PERF_POOL", "web")
if POOL not in {"web", "submit"}:
    raise SystemExit(f"PERF_POOL must be web or submit, got {POOL!r}")
VAR = Path(os.environ.get("PERF_VAR_DIR", ROOT / "var"))
NODE = os.environ.get("PERF_NODE", "")
NAME = f"gunicorn-{POOL}-{NODE}" if NODE else f"gunicorn-{POOL}"

wsgi_app = "lntsite.wsgi:application"
proc_name = NAME
chdir = str(ROOT)
bind = os.environ.get("PERF_BIND") or f"unix:{VAR / 'run' / f'{NAME}.sock'}"
pidfile = str(VAR / "run" / f"{NAME}.pid")
# gunicorn's control socket defaults to one path per user (~/.gunicorn): one per instance.
control_socket = str(VAR / "run" / f"{NAME}.ctl")
control_socket_mode = 0o600
if POOL == "web":
    worker_class = "gthread"
    workers = int(os.environ.get("PERF_WEB_WORKERS", "3"))
    threads = int(os.environ.get("PERF_WEB_THREADS", "4"))
else:
    worker_class = "sync"
    workers = int(os.environ.get("PERF_SUBMIT_WORKERS", "2"))
    threads = 1
# Every database wait is bounded well under this (connect 3 s, statements 10 s, any
# round trip to a server that stopped answering 12 s: DATABASE_CLIENT_TIMEOUT, armed by
# lntsite/wsgi.py; the broker ~5 s), so a worker is only killed by a real bug, not by a
# frozen service.
# Import Django once in the master: workers start (and restart) in milliseconds.
# Safe: no database connection is opened at import time, so none is shared by forks.
preload_app = True
# The submit pool's own timeout (PERF_SUBMIT_TIMEOUT), sized for the largest report
# it accepts (lntsite/workers.py: 136 s for PERF_MAX_SUBMISSION_BYTES = 50 MiB).
timeout = submit_timeout() if POOL == "submit" else 30
graceful_timeout = 20
keepalive = 5
# Memory a big request left behind is returned after it (post_request below); the
# restart now and then is a bound on whatever is still held.
TRIM_AFTER_BYTES = trim_after_bytes()
max_requests = 2000
max_requests_jitter = 200

errorlog = str(VAR / "log" / f"{NAME}-error.log")
accesslog = str(VAR / "log" / f"{NAME}-access.log")
capture_output = True  # Django's own log lines (stderr) land in the error log too
loglevel = "info"
# %(U)s is the path WITHOUT the query string (where `lnt submit` puts its token);
# the client address is nginx's X-Real-IP.  Duration in microseconds.
access_log_format = '%({x-real-ip}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(D)sus'


class RedactingLogger(Logger):
    """gunicorn's logger with token redaction on every handler (error log included:
    "Error handling request /submitRun?token=..." is written on a worker timeout)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if not any(isinstance(f, RedactTokens) for f in handler.filters):
                    handler.addFilter(RedactTokens())


logger_class = RedactingLogger


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exits leaves its /metrics samples behind; prometheus_client's
    multiprocess mode keeps its counters and drops its live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def pre_fork(server: Any, worker: Any) -> None:
    """Move what the master imported (preload_app: Django and the site) to the
    collector's permanent generation before a worker forks: a worker's full collections
    then walk only its own objects.  A 5,000-test run report allocates enough to start
    one a request, and walking the imports cost it ~90 ms (README "Reads at scale").
    Also spares the forked pages copy-on-write.  scipy.stats, which the site imports
    on first use (perf/analysis/scipy_stats.py), is imported here first, once, so the
    workers share it instead of each paying ~1.3 CPU s on its first comparison."""
    from perf.analysis.scipy_stats import stats

    stats()
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    """In the submit pool, big blocks (a report's form and JSON) get their own
    mappings, given back as soon as freed, in every request (lntsite/workers.py
    ``map_big_blocks``; measured there only: README "Big reports")."""
    if POOL == "submit":
        map_big_blocks()


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    """After a request with a big body (PERF_TRIM_AFTER_BYTES, 4 MB), once its answer
    is sent: collect and trim, so the worker's RSS comes back down (README "Big reports")."""
    return_memory(environ.get("CONTENT_LENGTH"), TRIM_AFTER_BYTES)
