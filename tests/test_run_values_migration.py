"""Migration 0021_run_values packs the runs stored before it, as ingest packs them, and
goes back by dropping the table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from perf.formats import STATUS_FAIL
from tests.factories import report_doc, submit_doc
from tests.migrating import migrate, migrate_to_latest

BEFORE = [("perf", "0020_series_without_metric_index")]
AFTER = [("perf", "0021_run_values")]

# transaction=True: migrating changes the schema, which the db fixture's enclosing
# transaction cannot hold on every database.
pytestmark = pytest.mark.django_db(transaction=True)


def packed(apps) -> dict[tuple[int, int], tuple[bytes, bytes]]:
    return {
        (r.run_id, r.metric_id): (bytes(r.tests), bytes(r.values))
        for r in apps.get_model("perf", "RunValues").objects.all()
        if r.tests
    }


def test_existing_runs_are_packed_as_ingest_packs_them_and_the_table_goes_back():
    tests = {
        "a": {"execution_time": [1.0, 2.5], "compile_time": 7},
        "b": {"execution_time": 3.0, "execution_status": STATUS_FAIL, "hash": "x"},
    }
    for revision in (1000, 1001):
        submit_doc(report_doc(revision=revision, tests=tests), detect=False)
    now = MigrationExecutor(connection).loader.project_state(AFTER).apps
    written = packed(now)  # by ingest
    assert len(written) == 2 * 4
    try:
        migrate(BEFORE)
        assert "perf_runvalues" not in connection.introspection.table_names()
        new_apps = migrate(AFTER).loader.project_state(AFTER).apps
        assert packed(new_apps) == written
    finally:
        migrate_to_latest()
