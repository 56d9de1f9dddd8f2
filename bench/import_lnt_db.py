"""Speed of ``import_lnt_db`` into PostgreSQL: sample values per second, and the ratio to
a bare COPY of the same rows measured in the same run.

It synthesises an LNT-shaped SQLite database (the corpus database's DDL, copied from its
``sqlite_master``, and its global rows; then machines, a linked list of orders, tests,
runs and ``NT_Sample`` rows with execution/compile time, status and hash columns),
imports it with the real service into a fresh database, and prints the figures.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_bench \
        .venv/bin/python bench/import_lnt_db.py --machines 2 --orders 25 [--keep-indexes] [--gc]

It prints the load average, values/s, the ratios to the bare COPY, and the CPU seconds
of Python and of the PostgreSQL backend (from /proc): on a shared machine wall time
varies 2x from one minute to the next, CPU seconds much less.

Seeded: the same arguments build the same database.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._pg import backend_cpu_seconds, bare_copy_seconds, bench_database, copy_out  # noqa: E402 - after the path is set

CORPUS_DB = Path(__file__).resolve().parents[2] / "shared/lnt-corpus/lnt-instance/data/lnt.db"
if not CORPUS_DB.is_file():
    CORPUS_DB = Path("/work/shared/lnt-corpus/lnt-instance/data/lnt.db")
GLOBAL_TABLES = (
    "SchemaVersion",
    "SampleType",
    "StatusKind",
    "TestSuite",
    "TestSuiteMachineFields",
    "TestSuiteOrderFields",
    "TestSuiteRunFields",
    "TestSuiteSampleFields",
    "TestSuiteJSONSchemas",
)


def synthesise(path: Path, machines: int, orders: int, tests: int, seed: int = 1) -> int:
    """Write the LNT database; return how many sample values it holds."""
    rng = random.Random(seed)
    corpus = sqlite3.connect(f"file:{CORPUS_DB}?mode=ro", uri=True)
    out = sqlite3.connect(path)
    for (sql,) in corpus.execute("SELECT sql FROM sqlite_master WHERE type = 'table'"):
        out.execute(sql)
    for table in GLOBAL_TABLES:
        rows = corpus.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608 - fixed names
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            out.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)  # noqa: S608
    out.executemany(
        'INSERT INTO "NT_Machine" ("ID", "Name", "Parameters", hardware, os) VALUES (?,?,?,?,?)',
        [(m, f"bench-{m}", b"[]", "x86_64", "linux") for m in range(1, machines + 1)],
    )
    out.executemany(
        'INSERT INTO "NT_Order" ("ID", "NextOrder", "PreviousOrder", llvm_project_revision) '
        "VALUES (?,?,?,?)",
        [
            (o, o + 1 if o < orders else None, o - 1 if o > 1 else None, str(100000 + o))
            for o in range(1, orders + 1)
        ],
    )
    out.executemany(
        'INSERT INTO "NT_Test" ("ID", "Name") VALUES (?, ?)',
        [(t, f"bench/test{t:05d}") for t in range(1, tests + 1)],
    )
    run_id = sample_id = values = 0
    for o in range(1, orders + 1):
        for m in range(1, machines + 1):
            run_id += 1
            out.execute(
                'INSERT INTO "NT_Run" ("ID", "MachineID", "OrderID", "ImportedFrom", '
                '"StartTime", "EndTime", "Parameters") VALUES (?,?,?,?,?,?,?)',
                (
                    run_id,
                    m,
                    o,
                    f"r{run_id}.json",
                    "2026-01-01 00:00:00",
                    "2026-01-01 00:10:00",
                    b"[]",
                ),
            )
            rows = []
            for t in range(1, tests + 1):
                base = 1.0 + t / 1000
                for _ in range(2 if t % 10 == 0 else 1):  # every tenth test: two samples
                    sample_id += 1
                    rows.append(
                        (sample_id, run_id, t, 0, base * rng.uniform(0.98, 1.02), 0.5, f"h{t}")
                    )
                    values += 4
            out.executemany(
                'INSERT INTO "NT_Sample" ("ID", "RunID", "TestID", execution_status, '
                "execution_time, compile_time, hash) VALUES (?,?,?,?,?,?,?)",
                rows,
            )
    out.commit()
    out.close()
    corpus.close()
    return values


def copy_seconds() -> tuple[float, float, float, float]:
    """The rows the import wrote (samples and points), COPYed again: seconds and the
    server's CPU seconds (into fresh tables with no index or key; into the real tables
    with their indexes, commit included, as a big site takes them row by row)."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:  # a big COPY may outlast the web's timeout
        cursor.execute("SET statement_timeout = 0")
    tables = copy_out()
    cpu = backend_cpu_seconds() or 0.0
    bare = bare_copy_seconds()
    bare_cpu = (backend_cpu_seconds() or 0.0) - cpu
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM perf_point")
    cpu = backend_cpu_seconds() or 0.0
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, (cols, text) in tables.items():
            cursor.cursor.copy_expert(f"COPY {table} ({cols}) FROM STDIN", io.StringIO(text))
    real = time.perf_counter() - started
    return bare, bare_cpu, real, (backend_cpu_seconds() or 0.0) - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--machines", type=int, default=4)
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=500, help="runs per transaction")
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="never rebuild the hot tables' indexes (as into a big site): their cost alone",
    )
    parser.add_argument(
        "--gc",
        action="store_true",
        help="leave the garbage collector on while rows are built: its cost alone",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    bench_database()
    from perf.services import lnt_import
    from perf.services.lnt_import import lnt_db_import

    if args.keep_indexes:
        lnt_import.REBUILD_MAX_RATIO = 0
    if args.gc:
        lnt_import._gc_paused = contextlib.nullcontext  # type: ignore[assignment]
    from perf.services.lnt_source import lnt_source_open

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lnt.db"
        values = synthesise(path, args.machines, args.orders, args.tests)
        opened = lnt_source_open(str(path))
        server_started = backend_cpu_seconds() or 0.0
        python_started = time.process_time()
        started = time.perf_counter()
        summary = lnt_db_import(opened.source, source_key=opened.key, chunk_runs=args.chunk)
        seconds = time.perf_counter() - started
        python_cpu = time.process_time() - python_started
        server_cpu = (backend_cpu_seconds() or 0.0) - server_started
        opened.close()
    assert summary.samples == values, (summary.samples, values)
    bare, bare_cpu, real, real_cpu = copy_seconds()
    load_after = os.getloadavg()[0]
    print(
        f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after; "
        f"{os.cpu_count()} cores"
    )
    print(
        f"{summary.runs} runs, {summary.tests} tests, {values} sample values imported in "
        f"{seconds:.2f}s: {values / seconds:,.0f} values/s"
    )
    print(
        f"bare COPY of the same point rows (samples packed in them): {bare:.2f}s "
        f"({values / bare:,.0f} values/s); import / bare COPY time = {seconds / bare:.1f}x"
    )
    print(
        f"COPY of the same rows into the real tables (indexes, commit): "
        f"{real:.2f}s ({values / real:,.0f} values/s); import / that = {seconds / real:.1f}x"
    )
    # CPU seconds: what the load of other jobs hardly changes.  On a quiet machine
    # with two cores the import takes about the larger of the two (they overlap).
    print(
        f"CPU seconds: import {python_cpu:.2f} Python + {server_cpu:.2f} PostgreSQL "
        f"(bare COPY {bare_cpu:.2f}, COPY into the real tables {real_cpu:.2f}); "
        f"import's PostgreSQL / bare COPY's = {server_cpu / max(bare_cpu, 0.01):.1f}x"
    )


if __name__ == "__main__":
    main()
