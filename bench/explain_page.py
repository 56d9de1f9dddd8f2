"""EXPLAIN (ANALYZE, BUFFERS) the slowest queries one page request makes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_data \\
        .venv/bin/python bench/explain_page.py "run report 5,000 tests" "graph data x10"

Takes page names of bench/pages_speed.py (on the dataset of bench/make_dataset.py in
DATABASE_URL) or paths.  For each: the request's wall time, its queries' count and total
time, then the --top slowest queries with the plan PostgreSQL runs for them (lines cut
at --width characters, id lists elided); with --profile N, the N functions that took
the most time of their own over two more requests (cProfile).  Read-only; stops by
itself.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
os.environ.setdefault("PERF_DEBUG_TOOLBAR", "0")
os.environ.setdefault("LOG_LEVEL", "ERROR")

LONG_LIST = re.compile(r"(\{|\()(\d+, ?|\d+,){8,}\d+(\}|\))")
COPY_OUT = re.compile(r"COPY \((.*)\) TO STDOUT \(FORMAT binary\)", re.DOTALL)


def elide(text: str) -> str:
    return LONG_LIST.sub(r"\1...\3", text)


def medians_print(runs: list[tuple[float, list[dict[str, str]]]]) -> None:
    """Median ms over the requests of the wall time, the database time, the rest, and
    each query by its place in the request (a page sends the same ones each time)."""
    database = [sum(float(q["time"]) for q in queries) * 1000 for _, queries in runs]
    print(
        f"medians of {len(runs)}, load {os.getloadavg()[0]:.1f}: wall "
        f"{statistics.median(w for w, _ in runs):.1f} ms, database "
        f"{statistics.median(database):.1f} ms, rest (Python) "
        f"{statistics.median(w - d for (w, _), d in zip(runs, database, strict=True)):.1f} ms"
    )
    for k, q in enumerate(runs[-1][1]):
        times = [float(queries[k]["time"]) * 1000 for _, queries in runs if len(queries) > k]
        print(f"  {statistics.median(times):7.1f} ms  q{k}: {elide(q['sql'])[:80]!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", help="page names of pages_speed.py, or paths")
    parser.add_argument("--top", type=int, default=2, help="queries explained per page")
    parser.add_argument("--width", type=int, default=150, help="characters per plan line")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="also cProfile two more requests and print this many functions by own time",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="requests per page: with more than one, first the median time of each query "
        "(in the order sent), of their sum and of the rest (Python) over them",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="freeze the imported objects out of the collector's reach first, as the "
        "gunicorn master does (pages_speed.py --gc-freeze)",
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("DATABASE_URL must point at a PostgreSQL database", file=sys.stderr)
        return 2
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test import Client
    from pages_speed import pages_list

    known = pages_list(argparse.Namespace())
    client = Client()
    if args.gc_freeze:
        client.get("/")  # the lazy imports of a first request
        gc.collect()
        gc.freeze()
    for page in args.pages:
        path = known.get(page, page)
        client.get(path)  # warm
        runs = []
        for _ in range(args.repeat):
            client.get("/")  # connect outside the timed request
            connection.force_debug_cursor = True
            reset_queries()
            started = time.perf_counter()
            response = client.get(path)
            wall = (time.perf_counter() - started) * 1000
            connection.force_debug_cursor = False
            runs.append((wall, list(connection.queries)))
        wall, queries = runs[-1]
        total = sum(float(q["time"]) for q in queries) * 1000
        print(
            f"\n== {page}: HTTP {response.status_code}, {wall:.0f} ms, "
            f"{len(queries)} queries, {total:.0f} ms in the database"
        )
        if args.repeat > 1:
            medians_print(runs)
        for q in sorted(queries, key=lambda q: -float(q["time"]))[: args.top]:
            sql = q["sql"]
            copied = COPY_OUT.fullmatch(sql)
            if copied:  # a binary COPY (perf/copy_out.py): the plan of its query
                sql = copied.group(1)
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                plan = [row[0] for row in cursor.fetchall()]
            print(f"-- {float(q['time']) * 1000:.0f} ms: {elide(sql)[:200]}")
            for line in plan:
                print("   " + elide(line)[: args.width])
        if args.profile:
            profile(client, path, args.profile, args.width)
    return 0


def profile(client: Any, path: str, top: int, width: int) -> None:
    """cProfile two requests of ``path``; print the ``top`` functions by own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(2):
        client.get(path)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(f"-- cProfile, two requests, top {top} by own time:")
    for line in out.getvalue().splitlines():
        if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced")):
            print("   " + line.strip()[:width])


if __name__ == "__main__":
    sys.exit(main())
