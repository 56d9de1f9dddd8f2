"""The graph selectors that read the database: geometric means, samples, machines."""

from __future__ import annotations

import json
import math

import pytest
from django.db import connection

from perf.formats import STATUS_FAIL
from perf.models import Machine, Metric, Run, Series, Test
from perf.selectors import graphs
from tests.factories import report_doc, submit_doc, submit_grid

pytestmark = pytest.mark.django_db


def execution_time() -> Metric:
    return Metric.objects.get(suite__name="nts", name="execution_time")


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def test_geomean_is_taken_over_the_tests_at_each_order():
    submit_grid(machines=1, tests=3, orders=4, step_at=2, step_factor=1.5)
    machine = Machine.objects.get(name="box-0")
    rows = graphs.geomean_points(machine.id, execution_time().id)
    assert [r["tests"] for r in rows] == [3, 3, 3, 3]
    before, after = geomean([1.0, 1.1, 1.2]), geomean([1.5, 1.1, 1.2])
    assert [r["value"] for r in rows] == pytest.approx([before, before, after, after])
    assert [r["position"] for r in rows] == sorted(r["position"] for r in rows)


def test_geomean_leaves_out_failed_zero_and_negative_values():
    tests = {
        "ok/a": {"execution_time": 2.0},
        "ok/b": {"execution_time": 8.0},
        "failed": {"execution_time": 100.0, "execution_status": STATUS_FAIL},
        "zero": {"execution_time": 0.0},
        "negative": {"execution_time": -3.0},
    }
    result = submit_doc(report_doc(machine="m", revision=1, tests=tests))
    run = Run.objects.get(id=result.run_id)
    (row,) = graphs.geomean_points(run.machine_id, execution_time().id)
    assert row["tests"] == 2
    assert row["value"] == pytest.approx(4.0)
    assert row["order_id"] == run.order_id


def test_geomean_takes_each_tests_best_run_at_an_order():
    for value in (3.0, 2.0):  # two runs of the same machine at one order
        doc = report_doc(machine="m", revision=7, tests={"t": {"execution_time": value}})
        submit_doc(doc, merge="append")
    machine = Machine.objects.get(name="m")
    (row,) = graphs.geomean_points(machine.id, execution_time().id)
    assert row["value"] == pytest.approx(2.0)
    (best,) = graphs.geomean_points(machine.id, execution_time().id, bigger_is_better=True)
    assert best["value"] == pytest.approx(3.0)


def test_machines_running_a_test_are_found_by_name():
    submit_grid(machines=3, tests=2, orders=1)
    test = Test.objects.get(name="suite/t1")
    ids = graphs.machines_running(test.suite, [test.id], execution_time().position)
    assert [Machine.objects.get(id=i).name for i in ids] == ["box-0", "box-1", "box-2"]
    assert graphs.machines_running(test.suite, [test.id], 9999) == []


def test_point_samples_are_the_raw_values_of_one_run_and_series(django_assert_num_queries):
    results = submit_grid(machines=1, tests=1, orders=2)
    run = Run.objects.select_related("suite").get(id=results[-1].run_id)
    test = Test.objects.get(name="suite/t0")
    key = graphs.PlotKey(run.machine_id, test.id, execution_time().position)
    Run.objects.filter(id=run.id).update(parameters={"compiler": "clang 21"})
    with django_assert_num_queries(1):
        samples, parameters = graphs.point_samples(run.suite, key, run.id)
    assert samples == [1.0, 1.001, 0.999] and parameters == {"compiler": "clang 21"}
    assert graphs.point_samples(run.suite, key, 10**12) == (None, {})


def test_units_fall_back_to_seconds_only_for_time_metrics_of_builtin_suites():
    assert graphs.metric_unit("nts", "execution_time", "") == "s"
    assert graphs.metric_unit("nts", "execution_time", "ms") == "ms"
    assert graphs.metric_unit("nts", "code_size", "") == ""
    assert graphs.metric_unit("my-suite", "run_time", "") == ""


def test_mean_keys_keep_valid_distinct_keys_only():
    keys = graphs.mean_keys_parse(["1.2", "1.2", "x.1", "3", "4.5.6", " 7.0 "] + ["9.1"] * 3)
    assert [str(k) for k in keys] == ["1.2", "7.0", "9.1"]
    many = graphs.mean_keys_parse([f"{i}.0" for i in range(10)])
    assert len(many) == graphs.MAX_MEANS


def test_an_order_key_reads_as_its_fields_values_in_the_suites_order():
    from perf.selectors.graphs import order_key_label
    from perf.services.ingest import order_key

    fields = ("llvm_project_revision", "build")
    key = order_key({"build": "7", "llvm_project_revision": "600123"}, fields)
    assert order_key_label(key) == "600123, 7"
    assert order_key_label(order_key({"llvm_project_revision": "600123"}, fields[:1])) == "600123"


def test_a_window_of_points_is_the_same_from_the_database_and_from_python():
    """``series_windows`` computes its points in SQL on PostgreSQL; ``series_around``
    builds them from ORM rows: both give the same points, failed ones included."""
    submit_grid(machines=1, tests=2, orders=4)
    tests = {"suite/t0": {"execution_time": 9.0, "execution_status": STATUS_FAIL}}
    submit_doc(report_doc(machine="box-0", revision=1004, tests=tests))
    ids = list(
        Run.objects.first().machine.series.filter(metric=execution_time()).values_list(
            "id", flat=True
        )
    )
    windows = graphs.series_windows(ids)
    around = graphs.series_around(ids, 10**9, width=100)
    for series_id in ids:
        points, more = windows[series_id]
        assert points == around[series_id] and not more
    t0 = Test.objects.get(name="suite/t0")
    (failing,) = [s for s in ids if windows[s][0][-1].order == "1004"]
    newest = windows[failing][0][-1]
    assert newest.failed and newest.median is None and newest.min is None
    assert Run.objects.get(id=newest.run).start_time.timestamp() == newest.time
    columns = graphs.point_columns(windows[failing][0])
    assert columns["order"] == ["1000", "1001", "1002", "1003", "1004"]
    assert columns["median"][-1] is None and columns["failed"][-1] is True
    assert {p.series_id for p in windows[failing][0]} == {failing}
    assert failing == t0.series.get(metric=execution_time()).id
    older, more = graphs.series_windows(ids, before=newest.position, limit=2)[failing]
    assert [p.order for p in older] == ["1002", "1003"] and more


def test_postgresql_builds_the_same_point_columns_as_python():
    submit_grid(machines=1, tests=2, orders=4)
    tests = {"suite/t0": {"execution_time": 9.0, "execution_status": STATUS_FAIL}}
    submit_doc(report_doc(machine="box-0", revision=1004, tests=tests))
    ids = list(Series.objects.filter(metric=execution_time()).values_list("id", flat=True))
    first = Run.objects.order_by("position").first().position
    for options in ({}, {"limit": 2}, {"before": first + 1}, {"before": first}):
        ready = graphs.series_windows_json(ids, **options)
        if connection.vendor != "postgresql":
            assert ready is None  # the caller builds them from series_windows
            return
        windows = graphs.series_windows(ids, **options)
        for series_id in ids:
            points, more = windows[series_id]
            text, more_json = ready[series_id]
            assert json.loads(text) == graphs.point_columns(points), options
            assert more_json == more
    assert json.loads(ready[ids[0]][0])["position"] == []  # nothing before the first
