"""Speed of the write path on PostgreSQL (issue 10): submissions and ``import_run``,
each as a ratio to a bare COPY of the same rows measured in the same run, and the
storage cost per sample value.

* submit: ``report_import`` of a report (--tests tests x execution_time and
  compile_time x 3 samples) as the API calls it -- parse, validate, store, commit --
  at a new order each time; the median over --repeat submissions on a short history
  and again after --history more runs were loaded, and the ratio long / short.
* import_run: --history runs of the same shape stored with ``run_import`` (reports
  parsed beforehand) in the import_run command's session settings
  (``IMPORT_RUN_SETTINGS``), sample values per second, and the CPU per run.
* bare COPY: the sample and point rows of the loaded runs COPYed again into fresh
  tables with no index, key or WAL (temporary tables): the floor.
* storage: bytes of perf_point (heap, TOAST, indexes; the samples are packed in its
  rows) per sample value.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_h13 \\
        nice -n 10 .venv/bin/python bench/write_speed.py [--tests 1000 --repeat 25 --history 40]

Seeded: the same arguments write the same values.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._pg import (  # noqa: E402 - after the path is set
    backend_cpu_seconds,
    bare_copy_seconds,
    bench_database,
    report_json,
)

METRICS = ("execution_time", "compile_time")
SAMPLES = 3


def report(tests: int, revision: int, rng: random.Random) -> str:
    return report_json(
        revision,
        [
            {
                "name": f"bench/test{t:05d}",
                **{
                    m: [1.0 + t / 1000 + rng.gauss(0, 0.01) for _ in range(SAMPLES)]
                    for m in METRICS
                },
            }
            for t in range(tests)
        ],
    )


def submit_times(tests: int, revisions: range, rng: random.Random) -> list[float]:
    """Wall seconds of each submission; the CPU seconds of each (this process, and
    the PostgreSQL backend serving it) are added to ``CPU``."""
    from perf.services.ingest import report_import

    times = []
    for revision in revisions:
        raw = report(tests, revision, rng)
        backend = backend_cpu_seconds() or 0.0
        cpu = time.process_time()
        started = time.perf_counter()
        report_import(raw, suite="nts", detect=False)
        times.append(time.perf_counter() - started)
        CPU.append((time.process_time() - cpu, (backend_cpu_seconds() or 0.0) - backend))
    return times


# (Python, PostgreSQL) CPU seconds of each timed submission: under load they move far
# less than wall time (each process gets a fraction of a core).
CPU: list[tuple[float, float]] = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=1000, help="tests per report")
    parser.add_argument(
        "--repeat",
        type=int,
        default=25,
        help="timed submissions per history (nine were too few for the ratio when shared)",
    )
    parser.add_argument("--history", type=int, default=40, help="runs loaded with import_run")
    args = parser.parse_args()
    bench_database()
    from django.db import connection

    from perf.formats import parse_report
    from perf.models import Run
    from perf.services.ingest import IMPORT_RUN_SETTINGS, bulk_session, run_import
    from perf.services.suites import suite_schemas

    rng = random.Random(1)
    values_per_run = args.tests * len(METRICS) * SAMPLES
    submit_times(args.tests, range(1, 3), rng)  # warm-up: tests and series exist
    CPU.clear()
    short = submit_times(args.tests, range(10, 10 + args.repeat), rng)

    schemas = suite_schemas()
    reports = [
        parse_report(report(args.tests, 1000 + i, rng), schemas, suite="nts")
        for i in range(args.history)
    ]
    before = set(Run.objects.values_list("id", flat=True))
    backend, cpu = backend_cpu_seconds() or 0.0, time.process_time()
    started = time.perf_counter()
    with bulk_session(IMPORT_RUN_SETTINGS):  # as the import_run command does
        for parsed in reports:
            run_import(parsed, schemas["nts"], detect=False)
    loading = time.perf_counter() - started
    loading_cpu = (time.process_time() - cpu, (backend_cpu_seconds() or 0.0) - backend)
    loaded = sorted(set(Run.objects.values_list("id", flat=True)) - before)
    bare = bare_copy_seconds(loaded)

    long = submit_times(args.tests, range(5000, 5000 + args.repeat), rng)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE perf_point")
        cursor.execute("SELECT pg_total_relation_size('perf_point')")
        stored_bytes = cursor.fetchone()[0]
    runs = Run.objects.count()

    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    print(f"report: {args.tests} tests x {len(METRICS)} metrics x {SAMPLES} samples")
    short_ms, long_ms = statistics.median(short) * 1000, statistics.median(long) * 1000
    print(f"submit median, short history ({2 + args.repeat} runs): {short_ms:.0f} ms")
    print(
        f"submit median, long history ({runs} runs): {long_ms:.0f} ms; long/short = "
        f"{long_ms / short_ms:.2f}"
    )
    py_ms = statistics.median(c[0] for c in CPU) * 1000
    pg_ms = statistics.median(c[1] for c in CPU) * 1000
    print(
        f"submit CPU per submission, median of {len(CPU)}: Python {py_ms:.0f} ms + "
        f"PostgreSQL {pg_ms:.0f} ms"
    )
    total = values_per_run * len(loaded)
    print(
        f"import_run: {len(loaded)} runs, {total:,} values in {loading:.2f}s = "
        f"{total / loading:,.0f} values/s"
    )
    print(
        f"import_run CPU per run: Python {loading_cpu[0] / len(loaded) * 1000:.1f} ms + "
        f"PostgreSQL {loading_cpu[1] / len(loaded) * 1000:.1f} ms"
    )
    print(
        f"bare COPY of the same rows: {bare:.2f}s = {total / bare:,.0f} values/s; "
        f"import_run = {bare / loading:.1%} of bare COPY; submit median = "
        f"{short_ms / (bare / len(loaded) * 1000):.1f}x a bare COPY of its values"
    )
    print(
        f"storage: {stored_bytes / (values_per_run * runs):.1f} bytes per sample value "
        f"(perf_point with indexes, {runs} runs)"
    )


if __name__ == "__main__":
    main()
