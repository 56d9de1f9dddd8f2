"""Migration 0022_run_values_levels gives the rows stored before it the means and
counts ingest writes, and goes back by dropping the two columns."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from perf.formats import STATUS_FAIL
from tests.factories import report_doc, submit_doc
from tests.migrating import migrate, migrate_to_latest

BEFORE = [("perf", "0021_run_values")]
AFTER = [("perf", "0022_run_values_levels")]

# transaction=True: migrating changes the schema, which the db fixture's enclosing
# transaction cannot hold on every database.
pytestmark = pytest.mark.django_db(transaction=True)


def levels(apps) -> dict[tuple[int, int], tuple[bytes | None, bytes | None]]:
    return {
        (r.run_id, r.metric_id): (
            None if r.means is None else bytes(r.means),
            None if r.counts is None else bytes(r.counts),
        )
        for r in apps.get_model("perf", "RunValues").objects.all()
    }


def columns() -> set[str]:
    with connection.cursor() as cursor:
        return {
            c.name for c in connection.introspection.get_table_description(cursor, "perf_runvalues")
        }


def test_older_rows_get_the_means_and_counts_ingest_writes_and_the_columns_go_back():
    tests = {
        "a": {"execution_time": [1.0, 2.5], "compile_time": 7},
        "b": {"execution_time": [3.0, 4.0], "execution_status": STATUS_FAIL, "hash": "x"},
        "c": {"execution_time": [-0.0, 0.0, 1.0]},
    }
    for revision in (1000, 1001):
        submit_doc(report_doc(revision=revision, tests=tests), detect=False)
    now = MigrationExecutor(connection).loader.project_state(AFTER).apps
    written = levels(now)  # by ingest, empty rows included
    assert all(v[0] is not None for v in written.values())
    assert (b"", b"") in written.values() and len(set(written.values())) == 4
    try:
        migrate(BEFORE)
        assert "means" not in columns() and "counts" not in columns()
        new_apps = migrate(AFTER).loader.project_state(AFTER).apps
        assert levels(new_apps) == written
    finally:
        migrate_to_latest()
