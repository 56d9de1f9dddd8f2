"""Global status from the runs' packed values (models.RunValues): the same grid, rank
and pages as the database's aggregate over the points it replaced, with rows missing
(a run written without them) or not."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import F, Max, QuerySet, Value

from perf.formats import STATUS_FAIL
from perf.models import Metric, Point, Run, RunValues, TestSuite
from perf.selectors import overview as ov
from perf.services.runs import run_delete
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db


def points_moves(metric: Metric, pairs: list[ov.RunPair]) -> QuerySet[Point]:
    """The join over the points that global status and the latest runs report read
    before the packed values: the new runs' valid points of ``metric`` with their
    series' point in the old run (``old``, ``old_hash``; valid, above 0) and the
    change in percent (``pct``)."""
    return (
        Point.objects.filter(
            run_id__in=[p.new["id"] for p in pairs],
            series__metric=metric,
            failed=False,
            value__isnull=False,
        )
        .filter(
            series__points__run_id__in=[p.old["id"] for p in pairs],
            series__points__failed=False,
            series__points__value__gt=0,
        )
        .annotate(old=F("series__points__value"), old_hash=F("series__points__hash"))
        .annotate(pct=(F("value") - F("old")) * 100.0 / F("old"))
    )


def points_ranking(metric: Metric, pairs: list[ov.RunPair]) -> list[tuple[int, str, float]]:
    """(test id, name, worst) of every test, ranked as global status did before the
    packed values: MAX(pct * sign) by test over the points, worst first, then name."""
    sign = -1.0 if metric.bigger_is_better else 1.0
    return list(
        points_moves(metric, pairs)
        .values("series__test_id", "series__test__name")
        .annotate(worst=Max(F("pct") * Value(sign)))
        .order_by("-worst", "series__test__name")
        .values_list("series__test_id", "series__test__name", "worst")
    )


def points_cells(metric: Metric, pairs: list[ov.RunPair]) -> dict[tuple[int, int], tuple]:
    """(test id, run id) -> (new value, old value) of every cell, from the points."""
    return {
        (t, r): (v, o)
        for t, r, v, o in points_moves(metric, pairs).values_list(
            "series__test_id", "run_id", "value", "old"
        )
    }


def build() -> None:
    """Three machines, four orders, values that tie, fail, vanish and go to zero;
    then box-1's newest run deleted and box-2's replaced."""
    for o in range(4):
        for m in range(3):
            tests: dict[str, dict[str, Any]] = {}
            for t in range(14):
                # Tests 0-5 never change (ties at 0 %), the rest move by test and machine.
                level = 1.0 + t / 7 + (0 if t < 6 else (o * (t - 6) * (m + 1)) / 50)
                metrics: dict[str, Any] = {"execution_time": level, "compile_time": 5 - level}
                if t == 6 and o == 3 and m == 0:
                    metrics["execution_status"] = STATUS_FAIL  # a failed new point
                if t == 7 and o == 2:
                    metrics["execution_time"] = 0.0  # an old value with no scale
                if t == 8 and o == 3 and m == 1:
                    continue  # a test missing from a new run
                tests[f"suite/t{t:02d}"] = metrics
            submit_doc(report_doc(machine=f"box-{m}", revision=1000 + o, tests=tests), detect=False)
    newest = Run.objects.filter(machine__name="box-1").order_by("-position").first()
    run_delete(newest.id)
    tests = {f"suite/t{t:02d}": {"execution_time": 3.0 - t / 9} for t in range(12)}
    submit_doc(report_doc(machine="box-2", revision=1003, tests=tests), merge="replace")


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "from the points"])
@pytest.mark.parametrize(
    ("metric_name", "bigger", "knobs"),
    [
        ("execution_time", False, {}),
        ("execution_time", True, {}),
        ("compile_time", False, {"depth": 3}),
        ("execution_time", False, {"depth": 4}),
        ("execution_time", False, {"baseline": True}),
    ],
)
def test_global_status_ranks_and_fills_cells_as_the_points_say(
    django_assert_num_queries, packed, metric_name, bigger, knobs
):
    build()
    if not packed:
        RunValues.objects.all().delete()  # e.g. runs written before the rows existed
    suite = TestSuite.objects.get(name="nts")
    metric = Metric.objects.get(suite=suite, name=metric_name)
    metric.bigger_is_better = bigger
    knobs = dict(knobs)
    if knobs.pop("baseline", False):
        knobs["baseline"] = Run.objects.filter(machine__name="box-0").order_by("position")[1]
    full = ov.global_status(suite, metric, limit=1000, **knobs)
    expected = points_ranking(metric, full.pairs)
    assert len(expected) > 8
    assert [(r["test_id"], r["test"], r["worst"]) for r in full.rows] == expected
    cells = points_cells(metric, full.pairs)
    sign = -1.0 if bigger else 1.0
    shown = {}
    for row in full.rows:
        for pair, cell in zip(full.pairs, row["cells"], strict=True):
            if cell is None:
                continue
            value, old = cells[(row["test_id"], pair.new["id"])]
            pct = (value - old) * 100.0 / old
            assert cell["pct"] == pct and cell["title"] == f"{old:.4f} → {value:.4f}"
            assert cell["heat"] == ov.heat_class(pct * sign)
            shown[(row["test_id"], pair.new["id"])] = cell
    assert set(shown) == set(cells)
    # Pages of 4, through the ties: the same order, and has_next as before.
    queries = 3 + ("baseline" in knobs) + (not packed)
    for offset in range(0, len(expected) + 4, 4):
        with django_assert_num_queries(queries if offset < len(expected) else queries - 1):
            page = ov.global_status(suite, metric, offset=offset, limit=4, **knobs)
        assert [(r["test_id"], r["test"], r["worst"]) for r in page.rows] == expected[
            offset : offset + 4
        ]
        assert page.has_next == (len(expected) > offset + 4)


def test_global_status_without_pairs_reads_no_values(django_assert_num_queries):
    submit_doc(report_doc(machine="alone", revision=1000), detect=False)
    suite = TestSuite.objects.get(name="nts")
    metric = Metric.objects.get(suite=suite, name="execution_time")
    with django_assert_num_queries(1):
        grid = ov.global_status(suite, metric)
    assert grid.rows == [] and grid.pairs == []


@pytest.mark.parametrize(("depth", "before"), [(1, None), (2, None), (3, None), (2, 1001)])
def test_recent_runs_keeps_each_machines_newest_runs_as_a_window_over_all_would(
    django_assert_num_queries, depth, before
):
    # Two runs at one order (the newer id first), a machine with one run, a filter.
    for machine, revisions in (
        ("a", (1000, 1001, 1001, 1002)),
        ("b", (1001,)),
        ("c", (1000, 1002)),
    ):
        for revision in revisions:
            submit_doc(report_doc(machine=machine, revision=revision), merge="append", detect=False)
    suite = TestSuite.objects.get(name="nts")
    position = (
        None if before is None else Run.objects.filter(order__key=str(before)).first().position
    )
    runs = Run.objects.filter(suite=suite)
    if position is not None:
        runs = runs.filter(position__lte=position)
    expected: dict[int, list[int]] = {}
    for run in runs.order_by("machine__name", "-position", "-id"):
        kept = expected.setdefault(run.machine_id, [])
        if len(kept) < depth:
            kept.append(run.id)
    with django_assert_num_queries(1):
        got = ov.recent_runs(suite, depth=depth, at_or_before=position)
    assert {m: [r["id"] for r in runs] for m, runs in got.items()} == expected
    assert all(r["rank"] == k + 1 for runs in got.values() for k, r in enumerate(runs))
    with django_assert_num_queries(1):
        only_b = ov.recent_runs(suite, depth=depth, machine_filter="B", at_or_before=position)
    assert [r["machine__name"] for runs in only_b.values() for r in runs] == ["b"]
