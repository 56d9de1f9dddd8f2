"""Each run's packed values (models.RunValues): written with the run by ingest, the
same bytes as packed from the points (in SQL on PostgreSQL), follow replaced runs."""

from __future__ import annotations

import math

import pytest

from perf.formats import STATUS_FAIL
from perf.formats.run_values import run_values_group, run_values_pack, run_values_unpack
from perf.models import Metric, Point, RunValues
from perf.services.runvalues import run_values_refresh
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db

TESTS = {
    "b": {"execution_time": 8.0, "compile_time": 4.0},
    "a": {"execution_time": [2.0, 2.5], "compile_time": 1e-300},
    "failed": {"execution_time": 50.0, "execution_status": STATUS_FAIL},
    "zero": {"execution_time": -0.0, "hash": "h1"},
}


def packed_of(run_id: int, *, empty: bool = False) -> dict[str, tuple[bytes, bytes]]:
    """metric -> the run's packed (tests, values); with ``empty``, also the empty rows
    ingest writes for the suite's metrics the run has no point of."""
    return {
        Metric.objects.get(id=r.metric_id).name: (bytes(r.tests), bytes(r.values))
        for r in RunValues.objects.filter(run_id=run_id)
        if empty or r.tests
    }


def from_points(run_id: int) -> dict[str, dict[int, float]]:
    """metric -> test id -> value (NaN: failed or none), read from the points."""
    out: dict[str, dict[int, float]] = {}
    for metric, test_id, value, failed in Point.objects.filter(run_id=run_id).values_list(
        "series__metric__name", "series__test_id", "value", "failed"
    ):
        out.setdefault(metric, {})[test_id] = math.nan if failed or value is None else value + 0.0
    return out


def test_pack_sorts_by_test_and_stores_failed_or_missing_values_as_nan():
    # (run, metric, test, value, failed): test 5 failed, test 3 has no value.
    points = [(1, 2, 7, 1.5, False), (1, 2, 3, None, False), (1, 2, 5, 2.0, True)]
    tests, values = run_values_group(points)[1, 2]
    ids, numbers = run_values_unpack(tests, values)
    assert ids.tolist() == [3, 5, 7]
    assert math.isnan(numbers[0]) and math.isnan(numbers[1]) and numbers[2] == 1.5
    assert tests[:8] == (3).to_bytes(8, "big")  # big-endian, as PostgreSQL's int8send
    assert run_values_unpack(*run_values_pack([], []))[0].size == 0


def test_ingest_stores_every_metrics_values_as_its_points_have_them():
    result = submit_doc(report_doc(tests=TESTS))
    expected = from_points(result.run_id)
    stored = packed_of(result.run_id)
    assert (
        set(stored)
        == set(expected)
        == {
            "execution_time",
            "compile_time",
            "execution_status",
            "hash",
        }
    )
    for metric, (tests, values) in stored.items():
        ids, numbers = run_values_unpack(tests, values)
        assert ids.tolist() == sorted(expected[metric])
        # Bit for bit, NaN included; -0.0 as 0.0 (SQLite keeps no -0.0).
        assert (
            numbers.tobytes()
            == run_values_unpack(
                *run_values_pack(list(expected[metric]), list(expected[metric].values()))
            )[1].tobytes()
        )
    failed = next(i for i, v in expected["execution_time"].items() if math.isnan(v))
    ids, numbers = run_values_unpack(*stored["execution_time"])
    assert math.isnan(numbers[ids.tolist().index(failed)])


def test_refreshing_from_the_points_gives_the_bytes_ingest_wrote_twice_over():
    # On PostgreSQL the refresh packs in SQL (RUN_VALUES_SQL): the same bytes.
    result = submit_doc(report_doc(tests=TESTS))
    written = packed_of(result.run_id)
    assert run_values_refresh([result.run_id]) == 4
    assert run_values_refresh([result.run_id]) == 4
    assert packed_of(result.run_id, empty=True) == written
    assert RunValues.objects.count() == 4  # no empty rows


def test_a_replaced_run_gets_its_values_anew_and_a_deleted_one_loses_them():
    from perf.services.runs import run_delete

    first = submit_doc(report_doc(tests=TESTS))
    replaced = submit_doc(report_doc(tests={"a": {"execution_time": 3.0}}), merge="replace")
    stored = packed_of(replaced.run_id, empty=True)
    # A row a metric of the suite, empty for those the new report has no value of.
    assert {m for m, (tests, _) in stored.items() if tests} == {"execution_time"}
    assert len(stored) == Metric.objects.filter(suite__name="nts").count()
    ids, numbers = run_values_unpack(*stored["execution_time"])
    assert numbers.tolist() == [3.0] and len(ids) == 1
    assert first.run_id == replaced.run_id or not packed_of(first.run_id)
    run_delete(replaced.run_id)
    assert not RunValues.objects.exists()
