"""Per-run geometric means: written with each run, idempotent, follow replaced runs."""

from __future__ import annotations

import importlib
import math

import pytest

from perf.formats import STATUS_FAIL
from perf.models import Metric, RunGeomean
from perf.services.geomeans import run_geomeans_refresh
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db


def means_of(run_id: int) -> dict[str, tuple[float, int]]:
    return {
        Metric.objects.get(id=g.metric_id).name: (g.value, g.tests)
        for g in RunGeomean.objects.filter(run_id=run_id)
    }


def test_ingest_stores_each_real_metrics_geomean_over_valid_positive_values():
    tests = {
        "a": {"execution_time": 2.0, "compile_time": 1.0},
        "b": {"execution_time": 8.0, "compile_time": 4.0},
        "failed": {"execution_time": 50.0, "execution_status": STATUS_FAIL},
        "zero": {"execution_time": 0.0},
    }
    result = submit_doc(report_doc(tests=tests))
    means = means_of(result.run_id)
    assert means["execution_time"] == (pytest.approx(4.0), 2)
    assert means["compile_time"] == (pytest.approx(2.0), 2)
    assert "execution_status" not in means  # a Status metric has no geometric mean


def test_refreshing_twice_writes_the_same_rows():
    result = submit_doc(report_doc(tests={"a": {"execution_time": 3.0}}))
    before = means_of(result.run_id)
    assert run_geomeans_refresh([result.run_id]) == 1
    assert run_geomeans_refresh([result.run_id]) == 1
    assert means_of(result.run_id) == before
    assert RunGeomean.objects.count() == 1


def test_a_replaced_run_gets_the_means_of_its_new_values():
    doc = report_doc(tests={"a": {"execution_time": 1.0, "compile_time": 1.0}})
    first = submit_doc(doc)
    again = report_doc(tests={"a": {"execution_time": 9.0}, "b": {"execution_time": 1.0}})
    second = submit_doc(again, merge="replace")
    assert second.run_id == first.run_id
    assert means_of(first.run_id) == {"execution_time": (pytest.approx(math.sqrt(9.0)), 2)}


def test_the_migration_backfills_the_means_of_runs_stored_before_it():
    from django.apps import apps

    backfill = importlib.import_module("perf.migrations.0007_run_geomeans").backfill
    results = [
        submit_doc(report_doc(revision=r, tests={"a": {"execution_time": 2.0 + r}}))
        for r in range(3)
    ]
    stored = {r.run_id: means_of(r.run_id) for r in results}
    RunGeomean.objects.all().delete()
    backfill(apps, None)
    assert {r.run_id: means_of(r.run_id) for r in results} == stored
    backfill(apps, None)  # a second pass changes nothing
    assert RunGeomean.objects.count() == 3 * len(stored[results[0].run_id])
