"""What rebuilding ``perf_point``'s indexes saves over updating them row by row.

Runs ``bench/import_lnt_db.py``'s import into a fresh database, then copies its point
rows (``INSERT ... SELECT``) into a fresh copy of the table, commit included, three
ways: with every index kept up to date; with the plain ``(series, position)`` index
dropped and built again afterwards; with the ``(run, series)`` unique constraint
dropped and added back too (what ``import_lnt_db`` does into a small site).

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_bench \\
        .venv/bin/python bench/hot_table_rebuild.py [--rounds 4]

Prints each round's seconds and the server's CPU seconds (less moved by other jobs),
the best of each, and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._pg import backend_cpu_seconds, bench_database  # noqa: E402 - after the path is set
from bench.import_lnt_db import synthesise  # noqa: E402


def one_round(kind: str) -> tuple[float, float]:
    """(seconds, the server's CPU seconds) of one way."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_points")
        cursor.execute("CREATE TABLE bench_points (LIKE perf_point INCLUDING ALL)")
        cursor.execute(
            "SELECT conname FROM pg_constraint "
            "WHERE conrelid = 'bench_points'::regclass AND contype = 'u'"
        )
        unique = cursor.fetchone()[0]
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index "
            "WHERE indrelid = 'bench_points'::regclass AND NOT indisunique"
        )
        plain = cursor.fetchone()[0]
    cpu = backend_cpu_seconds() or 0.0
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if kind != "kept":
            cursor.execute(f"DROP INDEX {plain}")
        if kind == "unique too":
            cursor.execute(f"ALTER TABLE bench_points DROP CONSTRAINT {unique}")
        cursor.execute("INSERT INTO bench_points SELECT * FROM perf_point ORDER BY id")
        if kind != "kept":
            cursor.execute("CREATE INDEX ON bench_points (series_id, position)")
        if kind == "unique too":
            cursor.execute(
                f"ALTER TABLE bench_points ADD CONSTRAINT {unique} UNIQUE (run_id, series_id)"
            )
    return time.perf_counter() - started, (backend_cpu_seconds() or 0.0) - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    bench_database()
    from django.db import connection

    from perf.services.lnt_import import lnt_db_import
    from perf.services.lnt_source import lnt_source_open

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lnt.db"
        synthesise(path, 2, 25, 1000)
        opened = lnt_source_open(str(path))
        lnt_db_import(opened.source, source_key=opened.key)
        opened.close()
    kinds = ("kept", "plain index rebuilt", "unique too")  # see one_round
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            times[kind].append(one_round(kind))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_points")
        cursor.execute("SELECT count(*) FROM perf_point")
        rows = cursor.fetchone()[0]
    print(f"load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    for kind in kinds:
        rounds = " / ".join(f"{t:.2f}" for t, _ in times[kind])
        cpu = " / ".join(f"{c:.2f}" for _, c in times[kind])
        label = {
            "kept": "every index updated row by row",
            "plain index rebuilt": "(series, position) index rebuilt",
            "unique too": "that and the (run, series) unique constraint rebuilt",
        }[kind]
        print(
            f"{rows} point rows, {label}: {rounds} s (server CPU {cpu} s); "
            f"best {min(t for t, _ in times[kind]):.2f} s"
        )


if __name__ == "__main__":
    main()
