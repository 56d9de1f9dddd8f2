"""perf_point carries no foreign-key constraints and fewer indexes
(docs/performance.md): their writers and deleters keep every row pointing at its run,
its series (of the run's machine) and its run's order, and every series at its
machine, test and metric.  These tests look for rows that a database constraint
would have caught."""

import pytest

from perf.formats.samples import unpack_samples
from perf.models import Machine, Metric, Point, Run, Series, Test
from perf.services.runs import machine_delete, machine_merge, run_delete
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db

TESTS = {"a/one": {"execution_time": [1.0, 1.1, 0.9], "compile_time": 0.5}, "a/two": {}}


def submit(machine, revision, **fields):
    doc = report_doc(machine=machine, revision=revision, tests=TESTS, machine_fields=fields)
    doc["tests"][1]["execution_time"] = [2.0, 2.2]
    return submit_doc(doc, detect=False)


def dangling():
    """Points (and so samples) whose run, series or order is gone or does not match."""
    runs = dict(Run.objects.values_list("id", "machine_id"))
    orders = dict(Run.objects.values_list("id", "order_id"))
    series = dict(Series.objects.values_list("id", "machine_id"))
    bad = [
        ("point", r, s)
        for r, s, o in Point.objects.values_list("run_id", "series_id", "order_id")
        if r not in runs or series.get(s) != runs[r] or orders[r] != o
    ]
    return bad + dangling_series()


def dangling_series():
    """Series whose machine, test or metric is gone (Series' keys are not checked by
    the database either)."""
    machines = set(Machine.objects.values_list("id", flat=True))
    tests = set(Test.objects.values_list("id", flat=True))
    metrics = set(Metric.objects.values_list("id", flat=True))
    return [
        ("series", s, (m, t, k))
        for s, m, t, k in Series.objects.values_list("id", "machine_id", "test_id", "metric_id")
        if m not in machines or t not in tests or k not in metrics
    ]


def test_a_submission_writes_rows_that_point_at_its_run_series_and_order():
    submit("box-1", 1)
    submit("box-1", 2)
    assert Point.objects.count() == 6
    assert dangling() == []


def test_deleting_a_run_leaves_no_sample_or_point_behind():
    submit("box-1", 1)
    kept = submit("box-1", 2).run_id
    run_delete(submit("box-1", 3).run_id)
    assert set(Point.objects.values_list("run_id", flat=True)) == {
        Run.objects.get(order__key="1").id,
        kept,
    }
    assert dangling() == []


def test_deleting_a_machine_leaves_no_sample_or_point_behind():
    submit("box-1", 1)
    submit("box-2", 1)
    machine_delete(Machine.objects.get(name="box-1").id)
    assert Point.objects.count() == 3
    assert dangling() == []


def test_deleting_a_machine_or_a_run_through_the_orm_cascades_through_the_runs():
    submit("box-1", 1)
    submit("box-2", 1)
    Machine.objects.get(name="box-1").delete()
    assert Point.objects.count() == 3
    Run.objects.get().delete()
    assert Point.objects.count() == 0
    assert Series.objects.count() == 3  # the series stay, with no rows


def test_merging_a_machine_moves_its_samples_and_points_to_the_targets_series():
    submit("box-1", 1, os="linux")
    submit("box-2", 2, os="linux")
    machine_merge(Machine.objects.get(name="box-2").id, Machine.objects.get(name="box-1").id)
    box = Machine.objects.get()
    assert Series.objects.filter(machine=box).count() == 3
    assert Point.objects.count() == 6
    moved = Point.objects.filter(run__order__key="2", series__test__name="a/one")
    assert sorted(unpack_samples(p) for p in moved.values_list("samples", flat=True)) == [
        [0.5],
        [1.0, 1.1, 0.9],
    ]
    assert dangling() == []


def test_replacing_a_run_rewrites_its_rows_and_leaves_none_of_the_old_ones():
    submit("box-1", 1)
    doc = report_doc(machine="box-1", revision=1, tests={"a/one": {"execution_time": 3.0}})
    submit_doc(doc, merge="replace", detect=False)
    assert [unpack_samples(p) for p in Point.objects.values_list("samples", flat=True)] == [[3.0]]
    assert Point.objects.count() == 1
    assert dangling() == []
