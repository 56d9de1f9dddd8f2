"""CPU per read of the pages and API reads that bench/load.py's readers make.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_loadfit_prod \\
        nice -n 10 .venv/bin/python bench/read_cpu.py --rounds 3 --requests 40 \\
        --root /path/to/old/tree --root .

Production settings (DEBUG=0, behind the proxy, /metrics in multiprocess mode, the
request log at INFO to a file) and the WSGI application gunicorn runs, called in this
process, no HTTP: each read is requested ``--requests`` times (after a warm-up) and
its cost is the process's CPU time (user + system) over the requests, plus, when the
database server runs on this host, the CPU of the whole server over the same requests
(its backends: one per request unless DATABASE_CONN_MAX_AGE is set), so run it on a
server of its own (--pg-pid, or a DATABASE_URL on a private cluster) for an exact
PostgreSQL figure.

With several ``--root`` trees (e.g. the old tree and the new), each round measures
every tree in turn in a fresh child process, so that a shared machine's load falls on
both alike; the table shows each tree's median over the rounds.  ``--profile NAME``
prints the cProfile of one read instead.  Runs on an existing database (bench/load.py
leaves one with runs after a load run); read-only; stops by itself.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent

# load.py's readers' paths: name -> (path, scheme); {run} is a run id.
READS = {
    "overview": ("/db_default/v4/nts/", "https"),
    "machines": ("/db_default/v4/nts/machines", "https"),
    "regressions": ("/db_default/v4/nts/regressions", "https"),
    "run page": ("/db_default/v4/nts/{run}", "https"),
    "api machines": ("/api/db_default/v4/nts/machines", "http"),
    "api fields": ("/api/db_default/v4/nts/fields", "http"),
    "api detection": ("/api/db_default/v4/nts/runs/{run}/detection", "http"),
}


def production_environment(root: Path, var: Path) -> None:
    """deploy/prod.sh's settings for the page pool (before Django is imported)."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "lntsite.settings",
            "DEBUG": "0",
            "PERF_DEBUG_TOOLBAR": "0",
            "SECRET_KEY": "read-cpu-bench-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PERF_BEHIND_PROXY": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(var / "metrics"),
            "PERF_VAR_DIR": str(var),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "PERF_PLAIN_HTTP_SUBMISSIONS": "1",
        }
    )
    (var / "metrics").mkdir(parents=True, exist_ok=True)
    # In the tree, as gunicorn runs (chdir): Celery's app puts the working directory
    # first on sys.path, which would otherwise import another tree's ``perf``.
    os.chdir(root)
    sys.path.insert(0, str(root))


def environ(path: str, scheme: str) -> dict[str, Any]:
    """The WSGI environ nginx's request reaches gunicorn with."""
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_FORWARDED_PROTO": scheme,
        "HTTP_X_FORWARDED_FOR": "127.0.0.1",
        "HTTP_ACCEPT_ENCODING": "identity",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """In this process (one tree): name -> CPU ms per read of this process and of the
    database server, bytes per answer."""
    from django.db import connection

    from lntsite.wsgi import application

    sys.path.insert(0, str(BENCH))
    import load  # pure: /proc readers and the postmaster finder

    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM perf_run ORDER BY id DESC LIMIT 20")
        runs = [row[0] for row in cursor.fetchall()]
    connection.close()
    if not runs:
        sys.exit("no run in the database: run bench/load.py on it first")
    database_url = os.environ["DATABASE_URL"]
    pg_pids = args.pg_pid or [p for p in [load.postmaster_pid(database_url)] if p]

    def get(path: str, scheme: str) -> int:
        status: list[str] = []
        body = application(environ(path, scheme), lambda s, h, *a: status.append(s))
        size = sum(len(chunk) for chunk in body)
        getattr(body, "close", lambda: None)()
        if not status[0].startswith("200"):
            sys.exit(f"GET {path}: {status[0]}")
        return size

    figures = {}
    for name, (template, scheme) in READS.items():
        paths = [template.format(run=runs[i % len(runs)]) for i in range(args.requests)]
        for path in paths[:3]:
            get(path, scheme)  # warm-up: imports, template loading, first connection
        pg_before = load.tree_cpu_seconds(pg_pids)
        cpu_before = time.process_time()
        size = sum(get(path, scheme) for path in paths)
        cpu = time.process_time() - cpu_before
        pg = load.tree_cpu_seconds(pg_pids) - pg_before
        figures[name] = {
            "web_ms": cpu * 1000 / len(paths),
            "pg_ms": pg * 1000 / len(paths),
            "bytes": size / len(paths),
        }
    return figures


def profile(args: argparse.Namespace) -> None:
    import cProfile
    import pstats

    from django.db import connection

    from lntsite.wsgi import application

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM perf_run")
        run = cursor.fetchone()[0]
    template, scheme = READS[args.profile]
    path = template.format(run=run)

    def get() -> None:
        body = application(environ(path, scheme), lambda *a: None)
        for _ in body:
            pass
        getattr(body, "close", lambda: None)()

    for _ in range(3):
        get()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        get()
    profiler.disable()
    stats = pstats.Stats(profiler)
    stats.sort_stats(args.sort).print_stats(args.top)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root",
        action="append",
        default=[],
        help="a tree to measure, PATH or PATH,KEY=VALUE,... (environment of its process)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the trees")
    parser.add_argument("--requests", type=int, default=40, help="requests per read")
    parser.add_argument("--pg-pid", type=int, action="append", default=[], help="postmaster")
    parser.add_argument("--profile", choices=READS, help="cProfile this read instead")
    parser.add_argument("--sort", default="tottime", help="cProfile sort key")
    parser.add_argument("--top", type=int, default=30, help="cProfile lines")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--var", default="", help=argparse.SUPPRESS)  # the parent's scratch
    args = parser.parse_args(argv)
    if not args.root:
        args.root = [str(BENCH.parent)]
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("DATABASE_URL must name the PostgreSQL database to read")
    return args


def label(root: str) -> str:
    """A tree's column heading: its directory's name and the settings it was given."""
    path, *assignments = root.split(",")
    return " ".join([Path(path).resolve().name, *assignments])[:22]


def main() -> int:
    args = parse_args()
    var = Path(args.var or tempfile.mkdtemp(prefix="lntsite-read-cpu-"))
    if args.child or args.profile:
        path, *assignments = args.root[0].split(",")
        tree = Path(path).resolve()
        production_environment(tree, var)
        os.environ.update(a.split("=", 1) for a in assignments)
        import django

        django.setup()
        import perf

        if not Path(perf.__file__).resolve().is_relative_to(tree):
            sys.exit(f"imported {perf.__file__}, not the tree {path}")
        if args.profile:
            profile(args)
            shutil.rmtree(var)
        else:
            print(json.dumps(measure(args)))  # noqa: T201 - read by the parent
        return 0
    results: dict[str, list[dict[str, dict[str, float]]]] = {root: [] for root in args.root}
    log = var / "requests.log"
    for round_ in range(args.rounds):
        for root in args.root:
            command = [sys.executable, __file__, "--child", "--root", root, "--var", str(var)]
            command += ["--requests", str(args.requests)]
            command += [f"--pg-pid={pid}" for pid in args.pg_pid]
            with log.open("a") as stderr:
                child = subprocess.run(  # noqa: S603 - this script, in a child
                    command, stdout=subprocess.PIPE, stderr=stderr, text=True, check=False
                )
            if child.returncode:
                sys.exit(f"{root} failed: see the end of {log}")
            out = child.stdout
            results[root].append(json.loads(out))
            print(f"round {round_ + 1} {root}: done", file=sys.stderr)  # noqa: T201
    header = "read".ljust(14) + "".join(f" | {label(root):>22}" for root in args.root)
    print(header + "\n" + " " * 14 + " | web / PostgreSQL CPU ms per read")  # noqa: T201
    total = {root: [0.0, 0.0] for root in args.root}
    for name in READS:
        cells = []
        for root in args.root:
            web = statistics.median(r[name]["web_ms"] for r in results[root])
            pg = statistics.median(r[name]["pg_ms"] for r in results[root])
            total[root][0] += web / len(READS)
            total[root][1] += pg / len(READS)
            cells.append(f" | {web:13.1f} / {pg:6.1f}")
        print(name.ljust(14) + "".join(cells))  # noqa: T201
    print(  # noqa: T201
        "mean of reads".ljust(14)
        + "".join(f" | {total[r][0]:13.1f} / {total[r][1]:6.1f}" for r in args.root)
    )
    shutil.rmtree(var)  # kept when a child failed: its log is there
    return 0


if __name__ == "__main__":
    sys.exit(main())
