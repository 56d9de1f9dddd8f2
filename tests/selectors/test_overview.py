"""The latest runs report's selector: each machine's moves judged on its own runs."""

from __future__ import annotations

import pytest
from django.db.models import Q

from perf.analysis import verdict
from perf.models import Metric, Point, TestSuite
from perf.selectors import overview as ov
from tests.views.test_overview_pages import _noisy_history

pytestmark = pytest.mark.django_db


def test_latest_runs_report_judges_each_machine_on_its_own_runs_however_many():
    # box-0 has 12 runs, box-1 only 7: the report reads 10 a machine, so box-1's
    # history is six runs, right-aligned in the matrix the verdict reads.
    _noisy_history("box-0", 4, 12, step_test=1)
    _noisy_history("box-1", 4, 7, step_test=2)
    suite = TestSuite.objects.get(name="nts")
    metric = Metric.objects.get(suite=suite, name="execution_time")
    results, more = ov.latest_runs_report(suite, metric, depth=10, min_change=1.0)
    assert not more and [r.pair.machine for r in results] == ["box-0", "box-1"]
    assert all(r.regressions + r.improvements for r in results)
    # Each move judged on a history listed run by run (oldest first, None for a run
    # without a valid point): the same verdicts, noise and z.
    assert _flagged_rows(results) == _flagged_as_judged_on_the_points(results, metric, 1.0)
    assert {r["series__test__name"] for r in results[1].regressions} == {"suite/t2"}


def test_latest_runs_report_reads_stored_changes_and_same_binaries_per_move():
    # The moves go to the verdict as columns: each keeps its own stored change and
    # binary hashes.  t1 steps 25 % but its binary did not change (the metric ignores
    # such moves); t2 only drifts, yet the detector stored a change there (confirmed,
    # then not); t3 drifts with no stored change (noise).
    from tests.factories import make_field_change

    _noisy_history("box-0", 4, 12, step_test=1)
    suite = TestSuite.objects.get(name="nts")
    metric = Metric.objects.get(suite=suite, name="execution_time")
    assert metric.ignore_same_hash
    # The report compares the oldest of the last 10 runs (1002) with the newest.
    t1_points = Point.objects.filter(series__test__name="suite/t1")
    t1_points.update(hash="same")
    change = make_field_change(machine="box-0", test="suite/t2", at_revision=1011)

    def flagged(min_change: float = 0.1) -> dict[str, str]:
        results, _ = ov.latest_runs_report(suite, metric, depth=10, min_change=min_change)
        (result,) = results
        return {
            r["series__test__name"]: r["verdict"] for r in result.regressions + result.improvements
        }

    assert flagged() == {"suite/t2": verdict.DETECTED}
    change.confirmed = False
    change.save()
    assert flagged() == {"suite/t2": verdict.SUSPECT}
    t1_points.filter(order__key="1011").update(hash="new")
    assert flagged() == {"suite/t1": verdict.CHANGED, "suite/t2": verdict.SUSPECT}
    assert flagged(min_change=50.0) == {}


def test_latest_runs_report_reads_the_same_history_with_or_without_packed_values(
    django_assert_num_queries,
):
    # The history comes from the runs' packed values (RunValues); a run without them
    # (written before they existed) is read from its points, one query more.
    from perf.models import RunValues

    suite, metric = _two_machines(4, failed="suite/t3")
    # The packed rows again, from the points as they now are (one failed series).
    from perf.services.runvalues import run_values_refresh

    run_values_refresh(list(RunValues.objects.values_list("run_id", flat=True)))
    with django_assert_num_queries(4):
        packed, _ = ov.latest_runs_report(suite, metric, depth=10, min_change=1.0)
    RunValues.objects.filter(run__machine__name="box-1").delete()
    with django_assert_num_queries(5):
        read, _ = ov.latest_runs_report(suite, metric, depth=10, min_change=1.0)
    assert [(r.regressions, r.improvements) for r in packed] == [
        (r.regressions, r.improvements) for r in read
    ]
    assert any(r.regressions or r.improvements for r in packed)


def _two_machines(tests: int, *, failed: str) -> tuple[TestSuite, Metric]:
    """box-0 (12 runs, t1 steps) and box-1 (7 runs, t2 steps), box-1's ``failed`` test
    failed at every run; the suite and execution_time."""
    _noisy_history("box-0", tests, 12, step_test=1)
    _noisy_history("box-1", tests, 7, step_test=2)
    Point.objects.filter(run__machine__name="box-1", series__test__name=failed).update(
        failed=True
    )
    suite = TestSuite.objects.get(name="nts")
    return suite, Metric.objects.get(suite=suite, name="execution_time")


def _flagged_as_judged_on_the_points(
    results: list[ov.MachineChanges], metric: Metric, min_change: float
) -> set[tuple]:
    """Every move over the points (the join the report read before the packed
    values), judged one by one on its history read from the points, with its binary
    hashes: (series, verdict, value, old, pct, noise, z) of the flagged ones."""
    from tests.selectors.test_global_status import points_moves

    expected = set()
    for result in results:
        runs = result.pair.runs
        for row in (
            points_moves(metric, [result.pair])
            .filter(Q(pct__gte=min_change) | Q(pct__lte=-min_change))
            .values("series_id", "value", "old", "pct", "hash", "old_hash")
        ):
            values = dict(
                Point.objects.filter(
                    series_id=row["series_id"], failed=False, value__isnull=False
                ).values_list("run_id", "value")
            )
            (judged,) = verdict.judge(
                [
                    verdict.Move(
                        delta=row["pct"],
                        new_level=row["value"],
                        old_level=row["old"],
                        history=[values.get(r["id"]) for r in reversed(runs[1:])],
                        adjacent=len(runs) == 2,
                        same_binary=metric.ignore_same_hash
                        and row["hash"] is not None
                        and row["hash"] == row["old_hash"],
                    )
                ],
                min_change=min_change,
            )
            if judged.flagged:
                expected.add(
                    (row["series_id"], judged.kind, row["value"], row["old"], row["pct"],
                     judged.noise, judged.z)
                )
    return expected


def _flagged_rows(results: list[ov.MachineChanges]) -> set[tuple]:
    """The report's rows as ``_flagged_as_judged_on_the_points`` gives them."""
    return {
        (row["series_id"], row["verdict"], row["value"], row["old"], row["pct"], row["noise"],
         row["z"])
        for result in results
        for row in result.regressions + result.improvements
    }


def test_latest_runs_report_flags_what_the_verdict_flags_on_the_points():
    # The moves come from the runs' packed values and the hashes are read for the
    # flagged moves alone: the same rows as judging every move over the points.
    suite, metric = _two_machines(6, failed="suite/t4")
    assert metric.ignore_same_hash
    t1 = Point.objects.filter(run__machine__name="box-0", series__test__name="suite/t1")
    for hashes, count in [({"hash": None}, 2), ({"hash": "same"}, 1)]:  # same binary: 1
        t1.update(**hashes)
        results, _ = ov.latest_runs_report(suite, metric, depth=10, min_change=0.1)
        got = _flagged_rows(results)
        assert got == _flagged_as_judged_on_the_points(results, metric, 0.1)
        assert len(got) == count
