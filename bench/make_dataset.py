"""Build the reads-at-scale dataset of issue #10 inside PostgreSQL, once.

    createdb -h 127.0.0.1 -U postgres lntsite_data
    .venv/bin/python bench/make_dataset.py --scale 0.1 \
        --database-url postgres://postgres@127.0.0.1:5432/lntsite_data

At --scale 1: 20 machines x 2,000 tests x 2 metrics (execution_time, compile_time) x
400 orders with 3 raw samples per point (32 M points, 96 M sample values), plus one
machine, ``bench-big``, that runs 5,000 tests at every order (4 M points, 12 M sample
values): 36 M points and 108 M sample values in all.  --scale F keeps every width
(machines, tests, metrics, samples) and scales the history: round(400 x F) orders, so
0.1 and 0.3 are the same site 10 % and 30 % as old.  Every 100th test steps up 10 % at
3/4 of the history (with a field change per machine and metric, in 50 regressions),
every 97th test fails in the newest 5 % of the orders (``failed``), and every run has
its stored geometric means, as ingest writes them.

The rows are generated with INSERT ... SELECT over generate_series (no ingest: that
would take hours), with the point table's indexes off during the load and
rebuilt after, then ``VACUUM (ANALYZE)``.  Idempotent: a database that already holds
the dataset at this scale is reused; one that holds another scale is refused (use one
database per scale).  Prints rows, sizes and time.  Needs a superuser role.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

GAP = 1 << 32  # order positions, as ingest spaces them
FULL_ORDERS = 400


@dataclass(frozen=True)
class Shape:
    machines: int = 20
    tests: int = 2_000
    big_tests: int = 5_000  # the tests of bench-big, the first ``tests`` shared
    metrics: tuple[str, ...] = ("execution_time", "compile_time")
    samples: int = 3
    orders: int = FULL_ORDERS

    @property
    def points(self) -> int:
        return (self.machines * self.tests + self.big_tests) * len(self.metrics) * self.orders


def shape_at(scale: float) -> Shape:
    if not 0 < scale <= 1:
        raise ValueError(f"--scale must be in (0, 1], got {scale}")
    return Shape(orders=max(8, round(FULL_ORDERS * scale)))


def _step(t0: float, what: str) -> None:
    print(f"  {what} ({time.perf_counter() - t0:.0f}s)", flush=True)


def samples_sql(shape: Shape) -> str:
    """The SQL expression of every point's raw samples (in terms of the point's value
    ``v.x``): ``shape.samples`` values spread from its minimum (0.995 x) to its maximum
    (1.005 x), packed as ``perf.formats.samples`` packs Real samples (a tag byte, then
    big-endian float64, which is what ``float8send`` writes).  The one place that knows
    how samples are stored, so that a change of their storage changes only this."""
    spread = " || ".join(
        f"float8send(v.x * (0.995 + 0.01 * {k / max(1, shape.samples - 1)}))"
        for k in range(shape.samples)
    )
    return f"'d'::bytea || {spread}"


def build(cursor: Any, suite_id: int, metric_ids: list[int], shape: Shape) -> None:
    """Write the whole dataset into an empty suite ``suite_id`` (see the module doc)."""
    t0 = time.perf_counter()
    orders, step_at = shape.orders, shape.orders * 3 // 4
    cursor.execute("SET synchronous_commit = off")
    cursor.execute(
        """INSERT INTO perf_order (suite_id, fields, key, sort_key, position, created_at)
        SELECT %s, jsonb_build_object('llvm_project_revision', (600000 + i)::text),
               (600000 + i)::text, lpad((600000 + i)::text, 20, '0'), i::bigint * %s, now()
        FROM generate_series(0, %s - 1) i""",
        [suite_id, GAP, orders],
    )
    cursor.execute(
        """INSERT INTO perf_machine (suite_id, name, fields, parameters, created_at)
        SELECT %s, CASE WHEN i = %s THEN 'bench-big' ELSE 'bench-m' || lpad(i::text, 2, '0') END,
               jsonb_build_object('os', 'linux', 'hardware', 'x86_64'), '{}'::jsonb, now()
        FROM generate_series(0, %s) i""",
        [suite_id, shape.machines, shape.machines],
    )
    cursor.execute(
        """INSERT INTO perf_test (suite_id, name)
        SELECT %s, 'bench/Benchmarks/test' || lpad(i::text, 4, '0')
        FROM generate_series(0, %s - 1) i""",
        [suite_id, shape.big_tests],
    )
    cursor.execute(
        """INSERT INTO perf_run (suite_id, machine_id, order_id, position, start_time, end_time,
               submitted_at, run_fields, parameters, source, source_detail,
               detection_state, detection_attempts, detection_error, report_digest)
        SELECT %s, m.id, o.id, o.position,
               now() - (%s - o.position / %s) * interval '6 hours',
               now() - (%s - o.position / %s) * interval '6 hours' + interval '40 minutes',
               now() - (%s - o.position / %s) * interval '6 hours' + interval '1 hour',
               '{}'::jsonb,
               jsonb_build_object('compiler', 'clang 21', 'build_log',
                                  'https://ci.example.invalid/' || m.id || '/' || o.id),
               'bench', '', 'done', 1, '', ''
        FROM perf_machine m CROSS JOIN perf_order o
        WHERE m.suite_id = %s AND o.suite_id = %s""",
        [suite_id, orders, GAP, orders, GAP, orders, GAP, suite_id, suite_id],
    )
    # Machines bench-mNN run the first ``tests`` tests, bench-big all of them.
    cursor.execute(
        """INSERT INTO perf_series (machine_id, test_id, metric_id)
        SELECT m.id, t.id, metric.id
        FROM perf_machine m CROSS JOIN perf_test t CROSS JOIN unnest(%s::int[]) metric(id)
        WHERE m.suite_id = %s AND t.suite_id = %s
          AND (m.name = 'bench-big' OR t.name < 'bench/Benchmarks/test' || lpad(%s::text, 4, '0'))
        ORDER BY m.id, t.id, metric.id""",
        [metric_ids, suite_id, suite_id, shape.tests],
    )
    _step(t0, "orders, machines, tests, runs, series")
    cursor.execute("ALTER TABLE perf_point DISABLE TRIGGER ALL")
    # A unique index, not a constraint (CoveringUniqueConstraint, migration 0014).
    cursor.execute("DROP INDEX IF EXISTS point_run_series_uniq")
    cursor.execute("DROP INDEX IF EXISTS point_series_position_idx")
    # Level 1..6 by test (compile_time a third of it), about 1 % noise, a 10 % step at
    # 3/4 of the history for every 100th test, failures of every 97th test in the
    # newest 5 % of the orders.
    cursor.execute(
        f"""INSERT INTO perf_point (run_id, series_id, order_id, position, count, valid_count,
               value, mean, minimum, maximum, stdev, failed, samples)
        SELECT r.id, s.id, r.order_id, r.position, %s, CASE WHEN f.failed THEN 0 ELSE %s END,
               v.x, v.x, v.x * 0.995, v.x * 1.005, v.x * 0.005, f.failed, {samples_sql(shape)}
        FROM perf_run r
        JOIN perf_series s ON s.machine_id = r.machine_id
        CROSS JOIN LATERAL (SELECT (1 + (s.test_id %% 50) / 10.0)
              * (CASE WHEN s.metric_id = %s THEN 1 ELSE 0.3 END)
              * (1 + (random() - 0.5) * 0.02)
              * (CASE WHEN s.test_id %% 100 = 0 AND r.position >= %s THEN 1.1 ELSE 1 END) AS x) v
        CROSS JOIN LATERAL (SELECT s.test_id %% 97 = 0 AND r.position >= %s AS failed) f
        WHERE r.suite_id = %s""",  # noqa: S608 - numbers only
        [
            shape.samples,
            shape.samples,
            metric_ids[0],
            step_at * GAP,
            (orders - max(1, orders // 20)) * GAP,
            suite_id,
        ],
    )
    _step(t0, f"{shape.points:,} points")
    cursor.execute(
        "CREATE UNIQUE INDEX point_run_series_uniq ON perf_point (run_id, series_id) "
        "INCLUDE (value, failed, hash)"
    )
    # Covering, as migration 0019 builds it (the run report's index-only history read).
    cursor.execute(
        "CREATE INDEX point_series_position_idx ON perf_point (series_id, position) "
        "INCLUDE (value, failed, run_id)"
    )
    cursor.execute("ALTER TABLE perf_point ENABLE TRIGGER ALL")
    _step(t0, "point indexes")
    # What ingest writes with each run for LNT's mean= graph (services/geomeans.py).
    cursor.execute(
        """INSERT INTO perf_rungeomean (run_id, metric_id, value, tests)
        SELECT p.run_id, s.metric_id, exp(avg(ln(p.value))), count(*)
        FROM perf_point p JOIN perf_series s ON s.id = p.series_id
        WHERE NOT p.failed AND p.value > 0
        GROUP BY p.run_id, s.metric_id"""
    )
    _step(t0, "run geometric means")
    # What ingest writes with each run for global status (services/runvalues.py), from
    # the points as migration 0021 packs them, in the same transaction (this cursor's).
    from perf.services.runvalues import run_values_refresh

    cursor.execute("SELECT id FROM perf_run WHERE suite_id = %s ORDER BY id", [suite_id])
    run_values_refresh([run_id for (run_id,) in cursor.fetchall()])
    _step(t0, "run packed values")
    # A change per stepped series (every 100th test, every machine and metric) in 50
    # regressions.
    cursor.execute(
        """INSERT INTO perf_fieldchange (series_id, machine_id, test_id, metric_id,
               start_order_id, end_order_id, end_position, old_value, new_value,
               relative_change, confidence, is_regression, method, parameters, withdrawn, confirmed,
               created_at, updated_at)
        SELECT s.id, s.machine_id, s.test_id, s.metric_id, o1.id, o2.id, o2.position,
               1.0, 1.1, 0.1, 0.99, true, 'bench', '{}'::jsonb, false, true, now(), now()
        FROM perf_series s
        JOIN perf_machine m ON m.id = s.machine_id AND m.suite_id = %s
        JOIN perf_order o2 ON o2.suite_id = %s AND o2.position = %s
        JOIN perf_order o1 ON o1.suite_id = %s AND o1.position = %s
        WHERE s.test_id %% 100 = 0
        ORDER BY s.id""",
        [suite_id, suite_id, step_at * GAP, suite_id, (step_at - 1) * GAP],
    )
    cursor.execute(
        """INSERT INTO perf_regression (suite_id, title, bug, state, start_order_id,
               end_order_id, start_position, end_position, notified, notify_failed, notes,
               created_at, updated_at)
        SELECT %s, 'bench regression ' || i, '', 0, o1.id, o2.id, o1.position, o2.position,
               false, false, '', now(), now()
        FROM generate_series(1, 50) i,
             (SELECT o.id, o.position FROM perf_order o
              WHERE o.id = (SELECT start_order_id FROM perf_fieldchange LIMIT 1)) o1,
             (SELECT o.id, o.position FROM perf_order o
              WHERE o.id = (SELECT end_order_id FROM perf_fieldchange LIMIT 1)) o2""",
        [suite_id],
    )
    cursor.execute(
        """INSERT INTO perf_regressionindicator (regression_id, field_change_id)
        SELECT r.id, f.id FROM
          (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM perf_fieldchange) f
          JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM perf_regression) r
          ON r.n = f.n %% 50""",
        [],  # with parameters, psycopg unescapes the %% above
    )
    _step(t0, "changes, regressions")


def dataset_ensure(scale: float) -> Shape:
    """Build the dataset at ``scale`` into Django's database unless it is there already.
    Django must be set up and migrated.  Raises SystemExit for another scale's data."""
    from django.db import connection, transaction

    from perf.models import Machine, Metric, Order, TestSuite

    shape = shape_at(scale)
    suite = TestSuite.objects.get(name="nts")
    if Machine.objects.filter(suite=suite, name="bench-big").exists():
        orders = Order.objects.filter(suite=suite).count()
        if orders != shape.orders:
            raise SystemExit(
                f"this database holds the dataset with {orders} orders, not {shape.orders} "
                f"(--scale {scale}): use one database per scale"
            )
        print(f"Reusing the dataset at scale {scale} already in the database.", flush=True)
        return shape
    if Machine.objects.filter(suite=suite).exists():
        raise SystemExit("the nts suite already has machines: build into an empty database")
    metric_ids = [Metric.objects.get(suite=suite, name=name).id for name in shape.metrics]
    print(
        f"Building scale {scale}: {shape.machines} machines x {shape.tests} tests + 1 x "
        f"{shape.big_tests}, {len(shape.metrics)} metrics, {shape.orders} orders, "
        f"{shape.samples} samples a point ...",
        flush=True,
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        build(cursor, suite.id, metric_ids, shape)
    # What autovacuum does soon after a load (insert-triggered): set the visibility map,
    # without which no scan of the points is index-only.
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("VACUUM (ANALYZE)")
    print(f"Built in {time.perf_counter() - started:.0f}s.", flush=True)
    return shape


def dataset_describe() -> None:
    """Print the row counts and on-disk sizes of the tables that matter."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid),
                      pg_relation_size(c.oid)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname IN
              ('perf_run', 'perf_series', 'perf_point', 'perf_rungeomean', 'perf_runvalues',
               'perf_fieldchange', 'perf_regression')
            ORDER BY pg_total_relation_size(c.oid) DESC"""
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT pg_database_size(current_database())")
        total = cursor.fetchone()[0]
    print(f"\n{'table':<20}{'rows (est.)':>14}{'heap MB':>10}{'+ indexes MB':>14}")
    for name, tuples, size, heap in rows:
        print(f"{name:<20}{tuples:>14,}{heap / 2**20:>10,.0f}{size / 2**20:>14,.0f}")
    print(f"database: {total / 2**30:.1f} GB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the 400-order history (0, 1]"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="a loopback PostgreSQL database, created if missing (default: DATABASE_URL)",
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        print("--database-url / DATABASE_URL must name a PostgreSQL database", file=sys.stderr)
        return 2
    try:
        shape_at(args.scale)  # fail on a bad scale before touching the database
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    from _pg import bench_database

    os.environ["BENCH_DATABASE_URL"] = args.database_url
    started = time.perf_counter()
    bench_database(recreate=False)
    dataset_ensure(args.scale)
    dataset_describe()
    print(f"total {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
