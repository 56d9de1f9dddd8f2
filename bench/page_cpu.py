"""This process's CPU time and wall time a request for some pages, served in-process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_x DATABASE_CONN_MAX_AGE=60 \\
        DEBUG=0 SECRET_KEY=... ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=0 \\
        .venv/bin/python bench/page_cpu.py --requests 300 --rounds 3 \\
        /db_default/v4/nts/machines/2

Each request goes through ``lntsite.wsgi.application`` as gunicorn calls it (every
middleware, the template, the client-side round-trip bound), without HTTP.  The CPU
time is this process's only (Python, psycopg2), not PostgreSQL's, so it is less moved
by the machine's load than wall time.  Prints, per page and round, the mean CPU ms and
wall ms a request over --requests requests (after 20 untimed) and the queries of the
last request; then the median of the rounds.  Reads only.  --tree times another
checkout's code (e.g. the commit before a change) with this script.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # no request line on stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="page paths, e.g. /db_default/v4/nts/machines/2")
    parser.add_argument("--requests", type=int, default=300, help="timed requests a round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per page, in turn")
    parser.add_argument("--tree", default=str(ROOT), help="the checkout whose code serves")
    args = parser.parse_args()
    # Celery's Django fix-up puts the working directory first on the path: the tree's.
    os.chdir(args.tree)
    sys.path.insert(0, args.tree)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lntsite.wsgi import application

    def request(path: str) -> int:
        path_info, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "HTTP_HOST": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        statuses: list[str] = []

        def start_response(status: str, headers: Any, exc: Any = None) -> None:
            statuses.append(status)

        body = b"".join(application(environ, start_response))
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{path}: HTTP {statuses[0]}")
        return len(body)

    cpu: dict[str, list[float]] = {p: [] for p in args.paths}
    wall: dict[str, list[float]] = {p: [] for p in args.paths}
    print(f"{'path':<44}{'round':>6}{'cpu ms':>9}{'wall ms':>9}{'queries':>9}{'bytes':>8}")
    for path in args.paths:
        for _ in range(20):
            request(path)
    for number in range(1, args.rounds + 1):
        for path in args.paths:
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            for _ in range(args.requests):
                request(path)
            cpu[path].append((time.process_time() - cpu_start) * 1000 / args.requests)
            wall[path].append((time.perf_counter() - wall_start) * 1000 / args.requests)
            with CaptureQueriesContext(connection) as queries:
                size = request(path)
            print(
                f"{path:<44}{number:>6}{cpu[path][-1]:>9.2f}{wall[path][-1]:>9.2f}"
                f"{len(queries):>9}{size:>8}",
                flush=True,
            )
    for path in args.paths:
        print(
            f"{path:<44}{'median':>6}{statistics.median(cpu[path]):>9.2f}"
            f"{statistics.median(wall[path]):>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
