"""Server time of every page on a large PostgreSQL history.

    createdb -h 127.0.0.1 -U postgres lntsite_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_bench \
        .venv/bin/python bench/pages_speed.py

Builds (once; a second run reuses it) 20 machines x 2,000 tests x 400 orders with
one metric (execution_time): 8,000 runs, 40,000 series, 16 million points (each
with three samples packed in it), 200 field changes in 50 regressions.  The
rows are generated inside PostgreSQL with INSERT ... SELECT over generate_series
(no report_import: that would take hours), with the point table's triggers
(foreign-key checks) and secondary indexes off during the load and rebuilt after.
Then it times each page with the Django test client (median of --repeat requests)
and prints a table with PASS/FAIL against --budget-ms.  Needs a superuser role
(to disable triggers during the load); stops by itself in well under 10 minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
os.environ.setdefault("PERF_DEBUG_TOOLBAR", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")

MACHINES, TESTS, ORDERS = 20, 2_000, 400
GAP = 1 << 32


def build(cursor, suite_id: int, metric_id: int) -> None:
    t0 = time.perf_counter()
    step = lambda what: print(f"  {what} ({time.perf_counter() - t0:.0f}s)", flush=True)  # noqa: E731
    cursor.execute("SET synchronous_commit = off")
    cursor.execute(
        """INSERT INTO perf_order (suite_id, fields, key, sort_key, position, created_at)
        SELECT %s, jsonb_build_object('llvm_project_revision', (600000 + i)::text),
               (600000 + i)::text, lpad((600000 + i)::text, 20, '0'), i::bigint * %s, now()
        FROM generate_series(0, %s - 1) i""",
        [suite_id, GAP, ORDERS],
    )
    cursor.execute(
        """INSERT INTO perf_machine (suite_id, name, fields, parameters, created_at)
        SELECT %s, 'bench-m' || lpad(i::text, 2, '0'),
               jsonb_build_object('os', 'linux', 'hardware', 'x86_64'), '{}'::jsonb, now()
        FROM generate_series(0, %s - 1) i""",
        [suite_id, MACHINES],
    )
    cursor.execute(
        """INSERT INTO perf_test (suite_id, name)
        SELECT %s, 'bench/Benchmarks/test' || lpad(i::text, 4, '0')
        FROM generate_series(0, %s - 1) i""",
        [suite_id, TESTS],
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
        [suite_id, ORDERS, GAP, ORDERS, GAP, ORDERS, GAP, suite_id, suite_id],
    )
    cursor.execute(
        """INSERT INTO perf_series (machine_id, test_id, metric_id)
        SELECT m.id, t.id, %s FROM perf_machine m CROSS JOIN perf_test t
        WHERE m.suite_id = %s AND t.suite_id = %s""",
        [metric_id, suite_id, suite_id],
    )
    step("orders, machines, tests, runs, series")
    cursor.execute("ALTER TABLE perf_point DISABLE TRIGGER ALL")
    cursor.execute("ALTER TABLE perf_point DROP CONSTRAINT IF EXISTS point_run_series_uniq")
    cursor.execute("DROP INDEX IF EXISTS point_series_position_idx")
    # Level 1..6 by test, about 1 % noise, and a 10 % step at 3/4 of the history
    # for every 100th test.
    cursor.execute(
        """INSERT INTO perf_point (run_id, series_id, order_id, position, count, valid_count,
               value, mean, minimum, maximum, stdev, failed, samples)
        SELECT r.id, s.id, r.order_id, o.position, 3, 3, v.x, v.x, v.x * 0.995, v.x * 1.005,
               v.x * 0.005, false,
               -- perf.formats.samples' packing of three Real samples
               'd'::bytea || float8send(v.x * 0.995) || float8send(v.x) || float8send(v.x * 1.005)
        FROM perf_run r
        JOIN perf_order o ON o.id = r.order_id
        JOIN perf_series s ON s.machine_id = r.machine_id
        CROSS JOIN LATERAL (SELECT (1 + (s.test_id %% 50) / 10.0)
              * (1 + (random() - 0.5) * 0.02)
              * (CASE WHEN s.test_id %% 100 = 0 AND o.position >= %s THEN 1.1 ELSE 1 END) AS x) v
        WHERE r.suite_id = %s""",
        [ORDERS * 3 // 4 * GAP, suite_id],
    )
    step("16M points")
    cursor.execute(
        "ALTER TABLE perf_point ADD CONSTRAINT point_run_series_uniq UNIQUE (run_id, series_id) "
        "INCLUDE (value, failed, hash)"
    )
    cursor.execute("CREATE INDEX point_series_position_idx ON perf_point (series_id, position)")
    cursor.execute("ALTER TABLE perf_point ENABLE TRIGGER ALL")
    step("point indexes")
    # What ingest writes with each run for LNT's mean= graph (services/geomeans.py).
    cursor.execute(
        """INSERT INTO perf_rungeomean (run_id, metric_id, value, tests)
        SELECT p.run_id, s.metric_id, exp(avg(ln(p.value))), count(*)
        FROM perf_point p JOIN perf_series s ON s.id = p.series_id
        WHERE NOT p.failed AND p.value > 0
        GROUP BY p.run_id, s.metric_id"""
    )
    step("run geometric means")
    # 200 changes (the stepped tests on every machine) in 50 regressions.
    cursor.execute(
        """INSERT INTO perf_fieldchange (series_id, machine_id, test_id, metric_id,
               start_order_id, end_order_id, end_position, old_value, new_value,
               relative_change, confidence, is_regression, method, parameters, withdrawn, confirmed,
               created_at, updated_at)
        SELECT s.id, s.machine_id, s.test_id, s.metric_id, o1.id, o2.id, o2.position,
               1.0, 1.1, 0.1, 0.99, true, 'bench', '{}'::jsonb, false, true, now(), now()
        FROM perf_series s
        JOIN perf_order o2 ON o2.suite_id = %s AND o2.position = %s
        JOIN perf_order o1 ON o1.suite_id = %s AND o1.position = %s
        WHERE s.test_id %% 100 = 0 AND s.metric_id = %s""",
        [suite_id, ORDERS * 3 // 4 * GAP, suite_id, (ORDERS * 3 // 4 - 1) * GAP, metric_id],
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
    cursor.execute("ANALYZE")
    step("changes, regressions, ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="requests per page (median)")
    parser.add_argument("--budget-ms", type=float, default=300.0, help="PASS threshold")
    parser.add_argument(
        "--only",
        default="",
        help="time only the pages whose name contains one of these, comma-separated "
        "(e.g. 'run report,status')",
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("DATABASE_URL must point at a PostgreSQL database", file=sys.stderr)
        return 2

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.urls import reverse

    from perf.models import FieldChange, Machine, Metric, Regression, Run, Series, TestSuite

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    suite = TestSuite.objects.get(name="nts")
    metric = Metric.objects.get(suite=suite, name="execution_time")
    if Machine.objects.filter(suite=suite, name__startswith="bench-m").count() != MACHINES:
        print(f"Building {MACHINES} machines x {TESTS} tests x {ORDERS} orders ...", flush=True)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 0")
            build(cursor, suite.id, metric.id)
        # What autovacuum does soon after a load (insert-triggered): set the visibility
        # map, without which no scan of the points is index-only.
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
            cursor.execute("VACUUM (ANALYZE) perf_point")
    else:
        print("Reusing the dataset already in the database.")

    machine = Machine.objects.filter(suite=suite, name="bench-m00").get()
    runs = list(Run.objects.filter(machine=machine).order_by("-order__position")[:2])
    change = FieldChange.objects.filter(machine=machine).first()
    series = list(
        Series.objects.filter(test_id=change.test_id, metric=metric).order_by("machine_id")[:4]
    )
    plots = [f"{s.machine_id}.{s.test_id}.{metric.position}" for s in series]
    regression = Regression.objects.filter(suite=suite).order_by("id").first()
    s = "nts"
    pages = {
        "home": reverse("perf:home"),
        "suite home": reverse("perf:suite-home", args=[s]),
        "machines": reverse("perf:machine-list", args=[s]),
        "machine": reverse("perf:machine-detail", args=[s, machine.id]),
        "run report": reverse("perf:run-detail", args=[s, runs[0].id]),
        "run report + baseline": reverse("perf:run-detail", args=[s, runs[0].id])
        + f"?baseline={runs[1].id}",
        "run report CSV": reverse("perf:run-detail", args=[s, runs[0].id]) + "?format=csv",
        "run report JSON": reverse("perf:run-detail", args=[s, runs[0].id]) + "?format=json",
        "compare": reverse("perf:compare", args=[s]) + f"?a={runs[1].id}&b={runs[0].id}",
        "compare sides": reverse("perf:compare-sides", args=[s])
        + f"?a_runs={runs[1].id}&b_runs={runs[0].id}&metric=execution_time",
        "baselines": reverse("perf:baseline-list", args=[s]),
        "graph page": reverse("perf:graph", args=[s]) + "?" + "&".join(f"plot={p}" for p in plots),
        "graph data x4": reverse("perf:graph-data", args=[s])
        + "?"
        + "&".join(f"plot={p}" for p in plots),
        "graph data + samples": reverse("perf:graph-data", args=[s])
        + f"?plot={plots[0]}&samples=1",
        # LNT's geometric mean of all 2,000 tests of one machine over 400 orders.
        "graph mean data": reverse("perf:graph-data", args=[s])
        + f"?mean={machine.id}.{metric.position}",
        "graph page + mean": reverse("perf:graph", args=[s])
        + f"?plot={plots[0]}&mean={machine.id}.{metric.position}",
        "graph point samples": reverse("perf:graph-samples", args=[s])
        + f"?plot={machine.id}.{change.test_id}.{metric.position}&run={runs[0].id}",
        "orders": reverse("perf:order-list", args=[s]),
        "orders search": reverse("perf:order-list", args=[s]) + "?q=6003",
        "order": reverse("perf:order-detail", args=[s, runs[0].order_id]),
        "regressions": reverse("perf:regression-list", args=[s]),
        "regression": reverse("perf:regression-detail", args=[s, regression.id]),
        "daily": reverse("perf:daily", args=[s]) + "?days=14",
        "triage": reverse("perf:triage", args=[s]),
        "triage, ignored": reverse("perf:triage", args=[s]) + "?ignored=1",
        "search": reverse("perf:search", args=[s]) + "?q=test012",
        # The overview pages (perf/views/overview.py).
        "run report text": reverse("perf:run-detail", args=[s, runs[0].id]) + "?format=txt",
        "dashboard": reverse("perf:dashboard", args=[s]),
        "matrix x4": reverse("perf:matrix", args=[s])
        + "?"
        + "&".join(f"plot.{k}={p}" for k, p in enumerate(plots)),
        "global status": reverse("perf:global-status", args=[s]),
        "global status + baseline": reverse("perf:global-status", args=[s])
        + f"?baseline={runs[1].id}",
        "latest runs report": reverse("perf:latest-runs", args=[s]),
        "daily report text": reverse("perf:daily", args=[s]) + "?days=14&format=txt",
    }
    wanted = [w for w in args.only.split(",") if w] or [""]
    pages = {name: url for name, url in pages.items() if any(w in name for w in wanted)}
    client = Client()
    failed = 0
    print(f"\n{'page':<24}{'median ms':>10}{'max ms':>10}  result (budget {args.budget_ms:.0f} ms)")
    for name, url in pages.items():
        timings = []
        for _ in range(args.repeat + 1):  # the first request warms caches and is dropped
            t = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - t) * 1000)
            if response.status_code != 200:
                print(f"{name}: HTTP {response.status_code}", file=sys.stderr)
                return 1
        median = statistics.median(timings[1:])
        ok = median <= args.budget_ms
        failed += not ok
        print(f"{name:<24}{median:>10.1f}{max(timings[1:]):>10.1f}  {'PASS' if ok else 'FAIL'}")
    print(
        f"\n{len(pages) - failed}/{len(pages)} pages within budget; "
        f"total {time.perf_counter() - started:.0f}s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
