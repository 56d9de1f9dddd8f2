"""Detection reads its window from the runs' packed rows (models.RunValues: levels,
level means and counts), and from the points for a run without them: the same levels
either way, the same verdicts, and rows that follow appended and replaced runs."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from perf.formats import STATUS_FAIL
from perf.formats.run_values import level_mean, run_levels_pack, run_levels_unpack
from perf.models import Metric, Point, Run, RunValues, Series
from perf.services import detection, ingest
from perf.services.runvalues import run_values_refresh
from tests.factories import report_doc, submit_doc
from tests.services.test_detection import submit_and_detect
from tests.services.test_detection_equality import EXPECTED, history_doc, stored

pytestmark = pytest.mark.django_db

TESTS = {
    "b": {"execution_time": 8.0, "compile_time": 4.0},
    "a": {"execution_time": [2.0, 2.5, 2.25], "compile_time": 1e-300},
    "failed": {"execution_time": [50.0, 51.0], "execution_status": STATUS_FAIL},
    "zero": {"execution_time": [-0.0, 0.0], "hash": "h1"},
}


def equality_history() -> None:
    """The equality test's history: steps, failed runs, gaps, one-sample metrics and
    two runs at order 1027."""
    rng = random.Random(10)
    for run in range(35):
        submit_and_detect(history_doc(run, rng))
        if run == 27:
            submit_and_detect(history_doc(run, rng), merge="append")


def levels_both_ways(order_key: str) -> tuple[detection.Levels, detection.Levels, list[int]]:
    """The levels of every Real series of the run at ``order_key`` on its detection
    window, read from the points and from the packed rows; and the runs read from
    their points."""
    run = Run.objects.filter(order__key=order_key).order_by("id").first()
    assert run is not None
    window = detection._window_around(run.machine_id, run.position)
    keyed = list(
        Point.objects.filter(run_id=run.id, series__metric__type=Metric.REAL).values_list(
            "series_id", "series__test_id", "series__metric_id"
        )
    )
    ids = [s for s, _, _ in keyed]
    packed = detection._packed_window(run.machine_id, window, {s: (t, m) for s, t, m in keyed})
    return (
        detection._load_levels(ids, window),
        detection._load_levels(ids, window, packed),
        packed.unpacked,
    )


def assert_same_levels(points: detection.Levels, packed: detection.Levels) -> None:
    """Bit for bit (NaN in the same places).  A pooled order's mean is the first run's
    read, which depends on the read's order; the screen never decides such a series
    (it is evaluated in full), so those rows' means are left out."""
    assert points.levels.tobytes() == packed.levels.tobytes()
    assert points.counts.tobytes() == packed.counts.tobytes()
    assert points.pooled.tolist() == packed.pooled.tolist()
    assert points.means[~points.pooled].tobytes() == packed.means[~packed.pooled].tobytes()
    assert points.row == packed.row


@pytest.mark.parametrize("order_key", ["1034", "1030"])
def test_levels_read_from_packed_rows_are_those_read_from_the_points(order_key):
    equality_history()
    points, packed, unpacked = levels_both_ways(order_key)
    assert unpacked == {}
    assert points.pooled.any() and np.isnan(points.levels).any()  # the history's edges
    assert_same_levels(points, packed)


def test_runs_without_rows_or_without_means_are_read_from_their_points():
    equality_history()
    runs = list(Run.objects.order_by("position", "id").values_list("id", flat=True))
    RunValues.objects.filter(run_id__in=[runs[-2], runs[-5]]).delete()
    RunValues.objects.filter(run_id=runs[-9]).update(means=None)  # an older row
    RunValues.objects.filter(run_id=runs[-10], metric__name="compile_time").delete()
    points, packed, unpacked = levels_both_ways("1034")
    compile_time = Metric.objects.get(suite__name="nts", name="compile_time").id
    execution_time = Metric.objects.get(suite__name="nts", name="execution_time").id
    assert unpacked == {
        compile_time: sorted([runs[-2], runs[-5], runs[-9], runs[-10]]),
        execution_time: sorted([runs[-2], runs[-5], runs[-9]]),
    }
    assert_same_levels(points, packed)


def test_the_task_reads_points_only_of_the_runs_without_rows(monkeypatch):
    equality_history()
    newest = Run.objects.order_by("-position", "-id").values_list("id", flat=True)[0]
    calls = []
    real = detection._level_columns

    def spy(series_ids, window, run_ids=None):
        metrics = Series.objects.filter(id__in=series_ids).values_list("metric__name", flat=True)
        calls.append((set(metrics), run_ids))
        return real(series_ids, window, run_ids)

    monkeypatch.setattr(detection, "_level_columns", spy)
    detection.run_detect(newest)
    assert calls == []
    older = Run.objects.order_by("-position", "-id").values_list("id", flat=True)[3]
    RunValues.objects.filter(run_id=older, metric__name="compile_time").delete()
    detection.run_detect(newest)
    assert calls == [({"compile_time"}, [older])]
    RunValues.objects.filter(run_id=older).delete()
    calls.clear()
    detection.run_detect(newest)
    assert sorted(calls, key=str) == [({"compile_time"}, [older]), ({"execution_time"}, [older])]


def test_the_task_stores_the_same_verdicts_when_no_run_is_packed(monkeypatch):
    # Every run read from its points (a database packed before the means existed, say):
    # the verdicts recorded by the equality test, to the last bit.
    monkeypatch.setattr(ingest, "run_values_store", lambda *args, **kwargs: None)
    equality_history()
    assert not RunValues.objects.exists()
    assert json.loads(json.dumps(stored())) == json.loads(EXPECTED.read_text())


def means_and_counts(run_id: int) -> dict[str, tuple[bytes | None, bytes | None]]:
    return {
        Metric.objects.get(id=r.metric_id).name: (
            None if r.means is None else bytes(r.means),
            None if r.counts is None else bytes(r.counts),
        )
        for r in RunValues.objects.filter(run_id=run_id)
    }


def expected_levels(run_id: int) -> dict[str, tuple[bytes, bytes]]:
    """metric -> the means and counts packed from the run's points."""
    kept: dict[str, tuple[list, list, list]] = {}
    for metric, test_id, value, failed, mean, count, valid in Point.objects.filter(
        run_id=run_id
    ).values_list(
        "series__metric__name", "series__test_id", "value", "failed", "mean", "count",
        "valid_count",
    ):
        tests, means, counts = kept.setdefault(metric, ([], [], []))
        tests.append(test_id)
        means.append(level_mean(None if failed else value, mean, count, valid))
        counts.append(count)
    return {m: run_levels_pack(*columns) for m, columns in kept.items()}


def test_ingest_stores_each_points_level_mean_and_count_as_a_refresh_does():
    # On PostgreSQL the refresh packs in SQL (RUN_VALUES_SQL): the same bytes.
    result = submit_doc(report_doc(tests=TESTS))
    written = means_and_counts(result.run_id)
    expected = expected_levels(result.run_id)
    assert {m: v for m, v in written.items() if v[1]} == expected
    means, counts = run_levels_unpack(*written["execution_time"])
    # Tests b, a, failed, zero (by id): the one value, the mean of several valid
    # samples, NaN where the point failed, -0.0 stored as 0.0.
    assert counts.tolist() == [1, 3, 2, 2]
    assert means[0] == 8.0 and means[1] == 2.25 and np.isnan(means[2])
    assert means[3].tobytes() == np.float64(0.0).tobytes()
    run_values_refresh([result.run_id])
    assert {m: v for m, v in means_and_counts(result.run_id).items() if v[1]} == expected


def test_an_appended_run_and_a_replaced_run_get_their_own_means_and_counts():
    first = submit_doc(report_doc(tests=TESTS))
    appended = submit_doc(
        report_doc(tests={"a": {"execution_time": [5.0, 6.0]}}), merge="append"
    )
    assert appended.run_id != first.run_id
    assert means_and_counts(appended.run_id)["execution_time"] == run_levels_pack(
        [_test_id("a")], [5.5], [2]
    )
    assert means_and_counts(first.run_id)["execution_time"] == expected_levels(first.run_id)[
        "execution_time"
    ]
    replaced = submit_doc(
        report_doc(tests={"b": {"execution_time": [7.0, 9.0, 8.5]}}), merge="replace"
    )
    stored = means_and_counts(replaced.run_id)
    assert stored["execution_time"] == expected_levels(replaced.run_id)["execution_time"]
    means, counts = run_levels_unpack(*stored["execution_time"])
    assert counts.tolist() == [3] and means[0] == pytest.approx(8.1666666)
    assert stored["compile_time"] == (b"", b"")  # a metric the new report lacks: empty


def _test_id(name: str) -> int:
    return Point.objects.filter(series__test__name=name).values_list(
        "series__test_id", flat=True
    )[0]
