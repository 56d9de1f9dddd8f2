"""Write cost of a covering point index, as a ratio measured in one run.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_bench_idx \\
        .venv/bin/python bench/point_index_cost.py [--index series] [--tests 2000 --runs 30]

Two tables with perf_point's columns and indexes, differing only in one index.  With
``--index unique`` (migration 0014): the unique (run_id, series_id) index, plain as
before 0014, or covering, INCLUDE (value, failed, hash), as after.  With ``--index
series`` (migration 0019; both tables with 0014's covering unique index): the
(series_id, position) index, plain as before 0019, or covering, INCLUDE (value,
failed, run_id), as after.  Both get ``--history`` runs of ``--tests`` points first (so the
indexes are not empty), then ``--runs`` more are inserted one run a statement and a
commit each (as ingest writes a run's points), alternating between the tables so that
the machine's load falls on both alike.  Prints the median time per run on each, the
ratio covering / plain, and the size of each table's indexes per point.  The database
is created (and dropped first if it exists); loopback only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from urllib.parse import urlparse

import psycopg2

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/lntsite_bench_idx"
COLUMNS = """id bigserial PRIMARY KEY, run_id bigint NOT NULL, series_id bigint NOT NULL,
    order_id bigint NOT NULL, position bigint NOT NULL, count integer NOT NULL,
    valid_count integer NOT NULL, value double precision, mean double precision,
    minimum double precision, maximum double precision, stdev double precision,
    failed boolean NOT NULL, hash varchar(256)"""
UNIQUE = {
    "plain": "UNIQUE (run_id, series_id)",
    "covering": "UNIQUE (run_id, series_id) INCLUDE (value, failed, hash)",
}
SERIES = {
    "plain": "(series_id, position)",
    "covering": "(series_id, position) INCLUDE (value, failed, run_id)",
}
# --index -> table kind -> (its unique constraint, its (series, position) index)
LAYOUTS = {
    "unique": {kind: (UNIQUE[kind], SERIES["plain"]) for kind in UNIQUE},
    "series": {kind: (UNIQUE["covering"], SERIES[kind]) for kind in SERIES},
}
INSERT = """INSERT INTO {table} (run_id, series_id, order_id, position, count, valid_count,
    value, mean, minimum, maximum, stdev, failed, hash)
    SELECT %(run)s, s, %(run)s, %(run)s::bigint << 32, 3, 3, v, v, v * 0.99, v * 1.01,
           v * 0.005, false, NULL
    FROM generate_series(1, %(tests)s) s, LATERAL (SELECT 1 + random() * 0.01 AS v) x"""


def connect(url: str, dbname: str | None = None):  # type: ignore[no-untyped-def]
    parsed = urlparse(url)
    if parsed.hostname not in {"127.0.0.1", "localhost", "::1"}:
        sys.exit(f"BENCH_DATABASE_URL must point at loopback, got {parsed.hostname}")
    return psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        dbname=dbname or parsed.path.lstrip("/"),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000, help="points per run")
    parser.add_argument("--history", type=int, default=200, help="runs loaded first")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per table")
    parser.add_argument(
        "--index",
        choices=list(LAYOUTS),
        default="unique",
        help="the index compared plain and covering: unique (run, series) or (series, position)",
    )
    args = parser.parse_args()
    layout = LAYOUTS[args.index]
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    name = urlparse(url).path.lstrip("/")
    admin = connect(url, "postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    conn = connect(url)
    with conn.cursor() as cursor:
        for kind, (unique, series) in layout.items():
            cursor.execute(f"CREATE TABLE pt_{kind} ({COLUMNS}, {unique})")
            cursor.execute(f"CREATE INDEX ON pt_{kind} {series}")
            for run in range(args.history):
                cursor.execute(INSERT.format(table=f"pt_{kind}"), {"run": run, "tests": args.tests})
    conn.commit()
    with conn.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    times: dict[str, list[float]] = {kind: [] for kind in layout}
    for run in range(args.history, args.history + args.runs):
        order = list(layout) if run % 2 else list(layout)[::-1]
        for kind in order:
            started = time.perf_counter()
            with conn.cursor() as cursor:
                cursor.execute(INSERT.format(table=f"pt_{kind}"), {"run": run, "tests": args.tests})
            conn.commit()
            times[kind].append(time.perf_counter() - started)
    total = args.tests * (args.history + args.runs)
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{args.runs} runs of {args.tests} points on each table, after {args.history} runs")
    medians = {kind: statistics.median(t) * 1000 for kind, t in times.items()}
    with conn.cursor() as cursor:
        for kind in layout:
            cursor.execute("SELECT pg_indexes_size(%s), pg_table_size(%s)", [f"pt_{kind}"] * 2)
            indexes, heap = cursor.fetchone()
            print(
                f"{kind:>9}: median {medians[kind]:.1f} ms a run; indexes "
                f"{indexes / total:.1f} bytes a point (heap {heap / total:.1f})"
            )
    print(f"covering / plain = {medians['covering'] / medians['plain']:.2f}")
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
