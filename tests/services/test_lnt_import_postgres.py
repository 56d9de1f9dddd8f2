"""An LNT database on PostgreSQL (as LNT's production instances run) comes over too.

The corpus database's tables are copied, with LNT's column names and matching types,
into a schema of the test database; the importer reads it through its URL
(``?options=-csearch_path=...``) with psycopg2, as it would read LNT's own server.
"""

import sqlite3
from urllib.parse import quote

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from perf.models import Point
from perf.services import ingest, lnt_import
from perf.services.lnt_import import lnt_db_import
from perf.services.lnt_source import lnt_source_open
from tests.factories import report_doc, submit_doc
from tests.rowcounts import row_counts
from tests.services.test_lnt_import import DB, INSTANCE, assert_everything_came_over

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (the CI's second pass)",
    ),
]

SCHEMA = "lnt_source"
TYPES = {"INTEGER": "bigint", "FLOAT": "double precision", "DATETIME": "timestamp", "BLOB": "bytea"}


def pg_type(declared):
    declared = declared.upper()
    return TYPES.get(declared, "varchar" if declared.startswith("VARCHAR") else "text")


@pytest.fixture
def lnt_on_postgres():
    import psycopg2

    settings = connection.settings_dict
    password = f":{quote(settings['PASSWORD'], safe='')}" if settings.get("PASSWORD") else ""
    url = (
        f"postgresql://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    pg = psycopg2.connect(url)
    source = sqlite3.connect(f"file:{DB}?mode=ro", uri=True)
    with pg, pg.cursor() as cur:
        cur.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}")
        tables = [r[0] for r in source.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = source.execute(f'PRAGMA table_info("{table}")').fetchall()
            ddl = ", ".join(f'"{c[1]}" {pg_type(c[2])}' for c in columns)
            cur.execute(f'CREATE TABLE {SCHEMA}."{table}" ({ddl})')
            rows = source.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608 - catalogue
            marks = ", ".join(["%s"] * len(columns))
            cur.executemany(
                f'INSERT INTO {SCHEMA}."{table}" VALUES ({marks})',  # noqa: S608 - catalogue
                [tuple(bytes(v) if isinstance(v, bytes) else v for v in row) for row in rows],
            )
    source.close()
    yield url + "?options=" + quote(f"-csearch_path={SCHEMA}")
    with pg, pg.cursor() as cur:
        cur.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    pg.close()


def test_an_lnt_database_on_postgresql_comes_over_whole_and_once(lnt_on_postgres):
    opened = lnt_source_open(lnt_on_postgres, profiles_dir=str(INSTANCE / "data/profiles"))
    assert opened.key.startswith("postgresql://")

    lnt_db_import(opened.source, source_key=opened.key, profiles_dir=opened.profiles_dir)
    before = row_counts()
    again = lnt_db_import(opened.source, source_key=opened.key, profiles_dir=opened.profiles_dir)
    opened.close()

    assert_everything_came_over(opened.key)
    assert row_counts() == before
    assert again.runs == 0 and again.runs_already_done == 20


def test_the_import_is_not_held_to_the_web_requests_statement_timeout():
    from tests.services.test_lnt_import import import_corpus

    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        configured = cursor.fetchone()[0]
        # Far too short for any chunk: the import would be cancelled if it applied.
        cursor.execute("SET statement_timeout = 1")
    summary, _ = import_corpus()

    assert summary.runs == 20
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == configured  # the connection's own setting again


def hot_table_indexes():
    """Every index of the hot table with its definition, and every constraint."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'perf_point' ORDER BY indexname"
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'perf_point'::regclass ORDER BY conname"
        )
        return indexes, cursor.fetchall()


def test_an_import_into_an_empty_site_leaves_every_index_and_constraint_as_it_found_it():
    from tests.services.test_lnt_import import import_corpus

    before = hot_table_indexes()
    with CaptureQueriesContext(connection) as queries:
        import_corpus()

    assert any(q["sql"].startswith("DROP INDEX") for q in queries)  # they were rebuilt
    assert hot_table_indexes() == before
    # (run, series) uniqueness is the covering unique index (migration 0014).
    assert any("UNIQUE INDEX point_run_series_uniq" in d for _, d in before[0])


def test_a_chunk_that_fails_after_the_drop_puts_every_index_back(monkeypatch):
    from tests.services.test_lnt_import import import_corpus

    before = hot_table_indexes()
    real = lnt_import.copy_lines

    def fail_on_points(model, columns, lines):
        if model is Point:
            raise RuntimeError("connection lost")
        real(model, columns, lines)

    monkeypatch.setattr(lnt_import, "copy_lines", fail_on_points)
    with pytest.raises(RuntimeError):
        import_corpus()

    assert hot_table_indexes() == before
    assert not Point.objects.exists()


def test_uniqueness_is_checked_again_before_the_chunk_can_commit():
    submit_doc(report_doc(tests={f"t{i}": {"execution_time": [1.0]} for i in range(3)}))
    twice = list(Point.objects.values_list(*ingest.POINT_COLUMNS)[:1])

    with pytest.raises(IntegrityError), transaction.atomic():
        with lnt_import._secondary_indexes_rebuilt([Point], new_rows=10):
            ingest.insert_rows(Point, ingest.POINT_COLUMNS, twice)

    assert Point.objects.count() == 3


def test_a_table_much_bigger_than_the_chunk_keeps_its_indexes_updated_row_by_row():
    submit_doc(report_doc(tests={f"t{i}": {"execution_time": [1.0]} for i in range(20)}))

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        with lnt_import._secondary_indexes_rebuilt([Point], new_rows=2):
            pass

    assert not [q for q in queries if "DROP" in q["sql"] or "CREATE" in q["sql"]]


def test_the_connection_has_its_own_settings_again_after_an_import():
    from tests.services.test_lnt_import import import_corpus

    def settings():
        with connection.cursor() as cursor:
            found = {}
            for name in lnt_import.BULK_SETTINGS:
                cursor.execute(f"SHOW {name}")
                found[name] = cursor.fetchone()[0]
            return found

    before = settings()
    assert before["synchronous_commit"] == "on"  # so that a leak would show
    import_corpus()

    assert settings() == before
