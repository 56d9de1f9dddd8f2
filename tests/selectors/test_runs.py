"""The pure parts of the report and graph selectors."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from perf.models import Metric
from perf.selectors.graphs import GraphPoint, downsample, plot_keys_parse
from perf.selectors.runs import (
    GROUPS,
    FilterError,
    History,
    ReportData,
    name_filter_compile,
    report_compare,
    report_metric_default,
    report_status_metrics,
)

TIME = Metric(id=1, name="execution_time", type=Metric.REAL, bigger_is_better=False, position=3)
SCORE = Metric(id=2, name="score", type=Metric.REAL, bigger_is_better=True, position=4)
STATUS = Metric(id=3, name="execution_status", type=Metric.STATUS, position=1)
STATUS_OF = {TIME.id: STATUS.id}
OLD, NEW = 10, 11


def point(run, test, metric, value, failed=False, binary=None):
    series = 100 * metric.id + test
    return (run, series, test, f"t{test}", metric.id, value, failed, binary)


def status(run, test, failed):
    return point(run, test, STATUS, 1.0 if failed else 0.0, failed=failed)


def report(points, metrics=(TIME,), *, history=None, last=OLD, changes=None, **kwargs):
    history = history or {}
    data = ReportData(
        points=points,
        history=History.from_values(history, {series: last for series in history}, 20),
        changes=changes or {},
    )
    (result,) = report_compare(data, OLD, NEW, list(metrics), status_metrics=STATUS_OF, **kwargs)
    return result


def groups(points, metrics=(TIME,), **kwargs):
    return {row.test: row.group for row in report(points, metrics, **kwargs).rows()}


def steady(n=20, level=1.0, noise=0.01, seed=5):
    rng = random.Random(seed)
    return [level * rng.gauss(1.0, noise) for _ in range(n)]


STEADY = {101: steady()}  # history of t1 (series 101): 20 runs at 1 % noise


def one_step(new_value, history=STEADY, **kwargs):
    old_value = history[101][-1]
    points = [point(OLD, 1, TIME, old_value), point(NEW, 1, TIME, new_value)]
    (row,) = report(points, history=history, **kwargs).rows()
    return row


def test_a_step_beyond_the_detectors_noise_is_a_regression_not_yet_confirmed():
    row = one_step(1.10)
    assert (row.group, row.verdict, row.significant) == ("regressions", "changed", True)
    assert row.noise == pytest.approx(1.0, abs=0.4)  # the detector's noise of one run
    assert row.z > 4 and row.history_runs == 20


def test_a_move_within_the_detectors_noise_is_unchanged():
    row = one_step(STEADY[101][-1] * 1.015)
    assert (row.group, row.verdict, row.significant) == ("unchanged", "noise", False)


def test_a_move_against_the_level_is_not_a_change_in_its_own_direction():
    # The previous run was a wild one; the new run is back at the series' level: the
    # move from the previous run is large but the series did not change.
    history = {101: [*steady(19), 1.3]}
    row = one_step(1.0, history=history)
    assert row.delta < -20 and row.verdict == "noise" and row.group == "unchanged"


def test_too_little_history_has_its_own_group_largest_moves_first():
    points = []
    moves = [(1.0, 1.2), (1.0, 1.8), (2.0, 1.2), (1.0, 1.001), (1.0, 10.0)]
    for test, (old, new) in enumerate(moves, 1):
        points += [point(OLD, test, TIME, old), point(NEW, test, TIME, new)]
    history = {100 + t: [1.0, 1.02] for t in range(1, 6)}
    result = report(points, history=history)
    few = result.groups["too_little_history"]
    assert [r.test for r in few] == ["t2", "t3", "t1"]  # +80 %, -40 %, +20 %
    assert {r.verdict for r in few} == {"few"} and few[0].history_runs == 2
    assert [r.test for r in result.groups["unchanged"]] == ["t4"]  # under the threshold
    # A tenfold step is not noise in any benchmark, however short the history (the
    # detector's short-history rule): it is a regression, unconfirmed, not "few".
    assert [(r.test, r.verdict) for r in result.groups["regressions"]] == [("t5", "changed")]
    assert not result.groups["improvements"]


def test_a_huge_step_is_a_change_even_with_a_short_history():
    history = {101: [1.0, 1.01, 0.99, 1.0, 1.005, 0.995]}
    row = one_step(10.0, history=history)
    assert (row.group, row.verdict) == ("regressions", "changed")


def test_a_move_of_an_unchanged_binary_is_unchanged_when_the_metric_says_so():
    hashed = Metric(id=1, name="execution_time", type=Metric.REAL, ignore_same_hash=True)
    for binary, verdict in (("abc", "same_binary"), ("def", "changed")):
        points = [
            point(OLD, 1, hashed, STEADY[101][-1], binary="abc"),
            point(NEW, 1, hashed, 1.10, binary=binary),
        ]
        (row,) = report(points, metrics=(hashed,), history=STEADY).rows()
        assert row.verdict == verdict
    assert one_step(1.10).verdict == "changed"  # TIME does not ignore it


def test_a_change_below_the_threshold_is_unchanged_however_quiet():
    flat = {101: [1.0] * 20}
    assert one_step(1.005, history=flat).verdict == "small"
    assert one_step(1.005, history=flat, min_change=0.1).group == "regressions"


def test_bigger_is_better_flips_the_direction():
    points = [point(OLD, 1, SCORE, 10.0), point(NEW, 1, SCORE, 12.0)]
    history = {201: [10.0] * 20}
    assert groups(points, metrics=(SCORE,), history=history) == {"t1": "improvements"}


def test_a_baseline_outside_the_history_is_judged_at_its_own_level():
    # The series moved from 1.0 to 1.1 before the last 20 runs: against the previous
    # run nothing changed, against the old baseline at 1.0 it did.
    history = {101: steady(level=1.1)}
    points = [point(OLD, 1, TIME, 1.0), point(NEW, 1, TIME, 1.1)]
    (row,) = report(points, history=history, last=99).rows()
    assert (row.group, row.verdict) == ("regressions", "changed")
    (row,) = report(points, history=history, last=OLD).rows()
    assert row.verdict == "noise"


def test_the_detectors_stored_state_decides_even_within_the_noise():
    change = {"confirmed": False, "is_regression": True, "indicator__regression_id": 7}
    row = one_step(STEADY[101][-1] * 1.015, changes={101: change})
    assert (row.group, row.verdict, row.detected, row.regression_id) == (
        "regressions",
        "suspect",
        "suspect",
        7,
    )
    confirmed = {**change, "confirmed": True}
    assert one_step(STEADY[101][-1] * 1.015, changes={101: confirmed}).verdict == "detected"
    # Under the threshold it is not counted, but keeps its badge.
    row = one_step(STEADY[101][-1] * 1.001, changes={101: confirmed})
    assert (row.group, row.verdict, row.detected) == ("unchanged", "small", "detected")


def test_the_default_metric_prefers_execution_time_then_the_first_with_data():
    compile_ = Metric(id=3, name="compile_time", type=Metric.REAL, position=2)
    status_ = Metric(id=4, name="execution_status", type=Metric.STATUS, position=1)
    metrics = [compile_, TIME, status_, SCORE]
    assert report_metric_default(metrics, {1, 2, 3, 4}) == TIME
    assert report_metric_default(metrics, {2, 4}) == SCORE
    assert report_metric_default(metrics, set()) == compile_
    assert report_metric_default([status_], {4}) is None


def test_status_metrics_pair_with_their_real_metric():
    compile_time = Metric(id=5, name="compile_time", type=Metric.REAL)
    compile_status = Metric(id=6, name="compile_status", type=Metric.STATUS)
    metrics = [TIME, STATUS, compile_time, compile_status, SCORE]
    assert report_status_metrics(metrics) == {TIME.id: STATUS.id, 5: 6}


def test_failures_are_grouped_as_lnt_does_and_never_compared_by_value():
    points = [
        # 1: PASS -> FAIL, 2: FAIL -> PASS, 3: FAIL -> FAIL (values in both runs)
        point(OLD, 1, TIME, 1.0),
        point(NEW, 1, TIME, None, failed=True),
        point(OLD, 2, TIME, None, failed=True),
        point(NEW, 2, TIME, 1.0),
        point(OLD, 3, TIME, None, failed=True),
        point(NEW, 3, TIME, None, failed=True),
        # 4: a test added failing is a new failure
        point(NEW, 4, TIME, None, failed=True),
    ]
    assert groups(points) == {
        "t1": "new_failures",
        "t2": "new_passes",
        "t3": "existing_failures",
        "t4": "new_failures",
    }


def test_tests_that_report_only_a_status_fail_and_pass_too():
    points = [
        # 1: only a FAIL status, then a value: back to passing, not "added"
        status(OLD, 1, failed=True),
        point(NEW, 1, TIME, 2.25),
        # 2: a value, then only a FAIL status: a new failure, not "removed"
        point(OLD, 2, TIME, 2.25),
        status(NEW, 2, failed=True),
        # 3: a FAIL status in both runs; 4: a PASS status only, in both
        status(OLD, 3, failed=True),
        status(NEW, 3, failed=True),
        status(OLD, 4, failed=False),
        status(NEW, 4, failed=False),
        # 5: a value and a FAIL status, then a value and a PASS status
        point(OLD, 5, TIME, 1.0),
        status(OLD, 5, failed=True),
        point(NEW, 5, TIME, 1.0),
        status(NEW, 5, failed=False),
    ]
    assert groups(points) == {
        "t1": "new_passes",
        "t2": "new_failures",
        "t3": "existing_failures",
        "t4": "unchanged",
        "t5": "new_passes",
    }


def test_tests_on_one_side_a_zero_old_value_or_no_value_are_not_judged():
    points = [
        point(NEW, 1, TIME, 1.0),  # 1: added
        point(OLD, 2, TIME, 1.0),  # 2: removed
        point(OLD, 3, TIME, 0.0),  # 3: a zero old value has no relative scale
        point(NEW, 3, TIME, 5.0),
        point(OLD, 4, TIME, None),  # 4: a point without a value, then a value
        point(NEW, 4, TIME, 2.0),
        point(OLD, 5, TIME, 2.0),  # 5: a value, then a point without one
        point(NEW, 5, TIME, None),
        point(OLD, 6, TIME, 1.0),  # 6: judged, for contrast
        point(NEW, 6, TIME, 3.0),
        point(99, 7, TIME, 1.0),  # 7: only in a run neither side is: not shown
    ]
    rows = {row.test: row for row in report(points).rows()}
    assert {name: row.group for name, row in rows.items()} == {
        "t1": "added",
        "t2": "removed",
        "t3": "unchanged",
        "t4": "added",
        "t5": "removed",
        "t6": "too_little_history",  # no history at all
    }
    unjudged = [rows[name] for name in ("t1", "t2", "t3", "t4", "t5")]
    assert {(r.verdict, r.delta, r.noise, r.history_runs) for r in unjudged} == {
        ("", None, None, 0)
    }
    assert [(r.old, r.new) for r in unjudged] == [
        (None, 1.0), (1.0, None), (0.0, 5.0), (None, 2.0), (2.0, None)
    ]
    assert (rows["t6"].delta, rows["t6"].series_id, rows["t6"].test_id) == (200.0, 106, 6)


def test_geomean_is_over_tests_present_in_both_runs():
    points = [
        point(OLD, 1, TIME, 1.0),
        point(NEW, 1, TIME, 4.0),
        point(OLD, 2, TIME, 4.0),
        point(NEW, 2, TIME, 1.0),
        point(NEW, 3, TIME, 100.0),
    ]
    result = report(points)
    assert result.geomean_old == pytest.approx(2.0)
    assert result.geomean_new == pytest.approx(2.0)
    assert result.geomean_delta == pytest.approx(0.0)


def test_without_an_old_run_everything_is_added():
    data = ReportData(points=[point(NEW, 1, TIME, 1.0), status(NEW, 2, failed=True)])
    (result,) = report_compare(data, None, NEW, [TIME], status_metrics=STATUS_OF)
    assert result.counts["added"] == 2 and result.geomean_delta is None


# Python's backtracking ``re`` needs 0.04 s for ``(.|..)+!`` on a 26-character name
# here, 1.6x more per character: over a minute on each of these 50 rows of 42
# characters (the patterns the old guard let through); the bound below is 20 s.
CATASTROPHIC_RUN = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django
django.setup()
from perf.selectors.runs import name_filter_compile, report_refine
from perf.selectors.runs import MetricReport, ReportRow
from perf.models import Metric
rows = [ReportRow(test_id=i, test="a" * 42, series_id=i, old=1.0, new=1.0, delta=0.0,
                  group="unchanged") for i in range(50)]
report = MetricReport(metric=Metric(id=1, name="m"), groups={"unchanged": rows})
kept = report_refine(report, name_filter=name_filter_compile(sys.argv[1]))
print(len(kept.groups["unchanged"]))
"""


@pytest.mark.parametrize("pattern", ["(.|..)+!", "(a+)+!", "(a|aa)*b", "(.*a){20}!"])
def test_catastrophic_filters_run_in_linear_time(pattern):
    # A subprocess, so that today's backtracking engine could be stopped at the bound.
    done = subprocess.run(
        [sys.executable, "-c", CATASTROPHIC_RUN, pattern],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=Path(__file__).resolve().parents[2],
        check=True,
    )
    assert done.stdout.strip() == "0"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("t/[", "not a valid regular expression: missing ]"),
        (r"(a)\1", "not a valid regular expression: invalid escape sequence"),
        ("(?=a)", "not a valid regular expression"),
        ("(.*){1001}", "not a valid regular expression: invalid repetition size"),
        ("a" * 101, "too long"),
    ],
)
def test_bad_filters_are_refused_with_a_message(pattern, message):
    with pytest.raises(FilterError, match=re.escape(message)):
        name_filter_compile(pattern)


def test_ordinary_filters_match():
    compiled = name_filter_compile(r"^SingleSource/.*mandel(\.c)?$")
    assert compiled.search("SingleSource/Misc/mandel")
    assert not compiled.search("MultiSource/mandel")
    assert name_filter_compile("(?i)BM_vector<int>").search("bm_vector<int>/8")
    assert name_filter_compile("") is None


def test_plot_keys_drop_junk_and_duplicates_and_are_capped():
    keys = plot_keys_parse(["1.2.3", "1.2.3", "x.1.2", "1.2", "4.5.6"] + ["7.8.9"] * 3)
    assert [str(k) for k in keys] == ["1.2.3", "4.5.6", "7.8.9"]
    assert len(plot_keys_parse([f"{i}.1.1" for i in range(50)])) == 12


def test_downsampling_keeps_every_spike():
    def point(i: int, value: float) -> GraphPoint:
        return GraphPoint(i, 0, i, str(i), value, value, value, 0.0, False, value, 1)

    points = [point(i, 50.0 if i == 7777 else 1.0) for i in range(10_000)]
    kept, thinned = downsample(points, 1000)
    assert thinned and len(kept) <= 1000
    assert max(p.value for p in kept) == 50.0
    assert downsample(points[:10], 1000) == (points[:10], False)


def test_a_report_of_counts_only_counts_each_group_as_the_rows_do():
    # Every way into every group, on two metrics (one with a status metric, one where
    # bigger is better, whose binary hash is ignored when unchanged), some tests with
    # history, one with a stored change: the counts of the rows and of the tally agree.
    hashed = Metric(id=2, name="score", type=Metric.REAL, bigger_is_better=True,
                    ignore_same_hash=True, position=4)
    rng = random.Random(3)
    points, history = [], {}
    for test in range(1, 121):
        for metric in (TIME, hashed):
            old_value, new_value = rng.choice([0.0, 1.0, 2.0]), rng.choice([0.0, 1.0, 2.0, 1.005])
            if rng.random() < 0.9:
                points.append(point(OLD, test, metric, old_value, failed=rng.random() < 0.1,
                                    binary=rng.choice([None, "a"])))
            if rng.random() < 0.9:
                points.append(point(NEW, test, metric, new_value, failed=rng.random() < 0.1,
                                    binary=rng.choice([None, "a"])))
            if rng.random() < 0.5:
                history[100 * metric.id + test] = steady(rng.choice([2, 20]), old_value or 1.0)
        if rng.random() < 0.2:
            points.append(status(rng.choice([OLD, NEW]), test, failed=rng.random() < 0.5))
    changes = {101: {"confirmed": True, "indicator__regression_id": None}}
    full = report_compare(
        ReportData(points, History.from_values(history, dict.fromkeys(history, OLD), 20), changes),
        OLD, NEW, [TIME, hashed], status_metrics=STATUS_OF,
    )
    # The counts-only read has no test names.
    nameless = [(*p[:3], None, *p[4:]) for p in points]
    counted = report_compare(
        ReportData(nameless, History.from_values(history, dict.fromkeys(history, OLD), 20),
                   changes),
        OLD, NEW, [TIME, hashed], status_metrics=STATUS_OF, rows=False,
    )
    for rows, counts in zip(full, counted, strict=True):
        assert counts.counts == rows.counts and counts.rows() == []
        assert (counts.geomean_old, counts.geomean_new) == (rows.geomean_old, rows.geomean_new)
    # Every group has tests, in one metric or the other.
    assert all(full[0].counts[g] + full[1].counts[g] for g, _ in GROUPS)
