"""Shared set-up for benchmarks that need a PostgreSQL database of their own.

``bench_database()`` creates (or recreates) the database named by BENCH_DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/lntsite_bench, points Django at it, migrates
it and returns. Benchmarks talk to loopback only.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/lntsite_bench"


def django_on_dataset(tree: str | Path = ROOT) -> None:
    """Set Django up on the database DATABASE_URL names as it is (a dataset of
    bench/make_dataset.py, read by the bench, not migrated), logging errors only, with
    the code of checkout ``tree`` (this one by default)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    # Celery's Django fix-up puts the working directory first on the path: the tree's.
    os.chdir(tree)
    sys.path.insert(0, str(tree))
    import django

    django.setup()


def bench_database(*, recreate: bool = True, tree: str | Path = ROOT) -> str:
    """Create (or recreate) the database and set Django up on it, migrated, with the
    code of checkout ``tree`` (this one by default)."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    create_database(url, recreate=recreate)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
    os.environ.setdefault("PERF_DEBUG_TOOLBAR", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if Path(tree) != ROOT:  # Celery's Django fix-up puts the working directory first
        os.chdir(tree)
    sys.path.insert(0, str(tree))
    import django

    if not getattr(django, "_bench_setup", False):
        django.setup()
        django._bench_setup = True  # type: ignore[attr-defined]
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def create_database(url: str, *, recreate: bool = True) -> None:
    """Create the loopback database ``url`` names (dropped first when ``recreate``)."""
    parsed = urlparse(url)
    if parsed.hostname not in {"127.0.0.1", "localhost", "::1"}:
        sys.exit(f"BENCH_DATABASE_URL must point at loopback, got {parsed.hostname}")
    import psycopg2

    name = parsed.path.lstrip("/")
    admin = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        dbname="postgres",
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
        if exists and recreate:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if recreate or not exists:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into a table (text format); returns the count.  Strings must not
    contain tabs, newlines or backslashes (benchmark data never does); bytes are
    written as ``bytea``'s hex input."""
    from django.db import connection

    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write(
            "\t".join(
                "\\N" if v is None else "\\\\x" + v.hex() if isinstance(v, bytes) else str(v)
                for v in row
            )
        )
        buffer.write("\n")
        count += 1
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    return count


def next_ids(table: str, count: int) -> int:
    """Reserve ``count`` ids of ``table``'s sequence; return the first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"nextval(pg_get_serial_sequence('{table}', 'id')) + %s)",
            [count],
        )
        last = cursor.fetchone()[0]
    return last - count + 1


def copy_out(run_ids: Sequence[int] | None = None) -> dict[str, tuple[str, str]]:
    """The point rows ingest wrote (of ``run_ids``, or all; their samples packed in
    them), as COPY text: ``{table: (columns, text)}``."""
    from django.db import connection

    from perf.services.ingest import POINT_COLUMNS

    where = "" if run_ids is None else f" WHERE run_id IN ({', '.join(map(str, run_ids))})"
    tables = {}
    with connection.cursor() as cursor:
        for table, columns in (("perf_point", POINT_COLUMNS),):
            buffer = io.StringIO()
            cols = ", ".join(columns)
            sql = f"COPY (SELECT {cols} FROM {table}{where}) TO STDOUT"  # noqa: S608 - ids, fixed names
            cursor.cursor.copy_expert(sql, buffer)
            tables[table] = (cols, buffer.getvalue())
    return tables


def bare_copy_seconds(run_ids: Sequence[int] | None = None) -> float:
    """Seconds to COPY those rows again into fresh temporary tables (no index, key or
    WAL): the floor every write figure is compared with."""
    from django.db import connection

    tables = copy_out(run_ids)
    with connection.cursor() as cursor:
        for table, (cols, _) in tables.items():
            cursor.execute(f"DROP TABLE IF EXISTS bare_{table}")
            cursor.execute(f"CREATE TEMP TABLE bare_{table} AS SELECT {cols} FROM {table} LIMIT 0")  # noqa: S608 - fixed names
        started = time.perf_counter()
        for table, (cols, text) in tables.items():
            cursor.cursor.copy_expert(f"COPY bare_{table} ({cols}) FROM STDIN", io.StringIO(text))
        return time.perf_counter() - started


def backend_cpu_seconds() -> float | None:
    """CPU seconds the PostgreSQL backend serving Django's connection has used so far
    (user + system, from /proc; None where there is no /proc or the server is not on
    this host).  Unlike wall time, it hardly moves when other jobs load the machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def v2_report(machine: str, revision: int, tests: list[dict[str, Any]]) -> dict[str, Any]:
    """A v2 nts report document of ``machine`` at ``revision`` with these tests: the
    one header every bench sends (pure: load.py imports it without Django)."""
    return {
        "format_version": "2",
        "machine": {"name": machine, "hardware": "x86_64", "os": "linux"},
        "run": {
            "start_time": "2026-03-02T01:10:00",
            "end_time": "2026-03-02T01:52:13",
            "llvm_project_revision": str(revision),
        },
        "tests": tests,
    }


def report_json(revision: int, tests: list[dict[str, Any]]) -> str:
    """A v2 nts report of machine ``bench-box`` at ``revision`` with these tests."""
    import json

    return json.dumps(v2_report("bench-box", revision, tests))
