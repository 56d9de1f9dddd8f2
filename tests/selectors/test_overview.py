"""The latest runs report's selector: each machine's moves judged on its own runs."""

from __future__ import annotations

import pytest

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
    for result in results:
        runs = result.pair.runs  # newest first
        flagged = result.regressions + result.improvements
        assert flagged
        for row in flagged:
            # The verdict of the move judged on a history listed run by run (oldest
            # first, None for a run without a valid point): the same.
            values = dict(
                Point.objects.filter(
                    series_id=row["series_id"], failed=False, value__isnull=False
                ).values_list("run_id", "value")
            )
            (expected,) = verdict.judge(
                [
                    verdict.Move(
                        delta=row["pct"],
                        new_level=row["value"],
                        old_level=row["old"],
                        history=[values.get(r["id"]) for r in reversed(runs[1:])],
                        adjacent=len(runs) == 2,
                    )
                ],
                min_change=1.0,
            )
            assert (row["verdict"], row["noise"], row["z"]) == (
                expected.kind,
                expected.noise,
                expected.z,
            )
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

    _noisy_history("box-0", 4, 12, step_test=1)
    _noisy_history("box-1", 4, 7, step_test=2)
    Point.objects.filter(run__machine__name="box-1", series__test__name="suite/t3").update(
        failed=True
    )
    suite = TestSuite.objects.get(name="nts")
    metric = Metric.objects.get(suite=suite, name="execution_time")
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
