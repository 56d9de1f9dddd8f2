"""EXPLAIN (ANALYZE, BUFFERS) the slowest queries one page request makes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_data \\
        .venv/bin/python bench/explain_page.py "run report 5,000 tests" "graph data x10"

Takes page names of bench/pages_speed.py (on the dataset of bench/make_dataset.py in
DATABASE_URL) or paths.  For each: the request's wall time, its queries' count and total
time, then the --top slowest queries with the plan PostgreSQL runs for them (lines cut
at --width characters, id lists elided).  Read-only; stops by itself.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
os.environ.setdefault("PERF_DEBUG_TOOLBAR", "0")
os.environ.setdefault("LOG_LEVEL", "ERROR")

LONG_LIST = re.compile(r"(\{|\()(\d+, ?|\d+,){8,}\d+(\}|\))")
COPY_OUT = re.compile(r"COPY \((.*)\) TO STDOUT \(FORMAT binary\)", re.DOTALL)


def elide(text: str) -> str:
    return LONG_LIST.sub(r"\1...\3", text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", help="page names of pages_speed.py, or paths")
    parser.add_argument("--top", type=int, default=2, help="queries explained per page")
    parser.add_argument("--width", type=int, default=150, help="characters per plan line")
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
    for page in args.pages:
        path = known.get(page, page)
        client.get(path)  # warm
        connection.force_debug_cursor = True
        reset_queries()
        started = time.perf_counter()
        response = client.get(path)
        wall = (time.perf_counter() - started) * 1000
        connection.force_debug_cursor = False
        queries = list(connection.queries)
        total = sum(float(q["time"]) for q in queries) * 1000
        print(
            f"\n== {page}: HTTP {response.status_code}, {wall:.0f} ms, "
            f"{len(queries)} queries, {total:.0f} ms in the database"
        )
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
