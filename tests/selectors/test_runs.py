"""The pure parts of the report and graph selectors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from perf.models import Metric
from perf.selectors.graphs import downsample, plot_keys_parse
from perf.selectors.runs import (
    FilterError,
    ReportData,
    name_filter_compile,
    report_compare,
    report_metric_default,
)

TIME = Metric(id=1, name="execution_time", type=Metric.REAL, bigger_is_better=False, position=2)
SCORE = Metric(id=2, name="score", type=Metric.REAL, bigger_is_better=True, position=4)
OLD, NEW = 10, 11


def point(run, test, metric, value, stdev=None, failed=False, count=1):
    return (run, 100 + test, test, f"t{test}", metric.id, value, stdev, failed, count)


def report(points, metrics=(TIME,), *, samples=None, history=None, changes=None, **kwargs):
    data = ReportData(
        points=points, samples=samples or {}, history=history or {}, changes=changes or {}
    )
    (result,) = report_compare(data, OLD, NEW, list(metrics), **kwargs)
    return result


def groups(points, metrics=(TIME,), **kwargs):
    return {row.test: row.group for row in report(points, metrics, **kwargs).rows()}


STEADY = {101: [1.0, 1.01, 0.99, 1.0, 1.005, 0.995, 1.0]}  # history of t1 (series 101)


def test_several_samples_are_tested_and_noise_keeps_a_change_unchanged():
    points = [point(OLD, 1, TIME, 1.0, 0.001, count=3), point(NEW, 1, TIME, 1.1, 0.001, count=3)]
    quiet = {(OLD, 101): [1.0, 1.001, 0.999], (NEW, 101): [1.1, 1.101, 1.099]}
    noisy = {(OLD, 101): [0.9, 1.0, 1.1], (NEW, 101): [1.0, 1.1, 1.2]}
    assert groups(points, samples=quiet) == {"t1": "regressions"}
    assert groups(points, samples=noisy) == {"t1": "unchanged"}
    row = report(points, samples=quiet).rows()[0]
    assert row.method == "welch" and row.p_value < 0.001 and row.noise == pytest.approx(0.1)


def test_with_one_sample_the_history_noise_decides_and_is_shown():
    points = [point(OLD, 1, TIME, 1.0), point(NEW, 1, TIME, 1.1)]
    assert groups(points, history=STEADY) == {"t1": "regressions"}
    noisy = {101: [1.0, 1.1, 0.9, 1.05, 0.95, 1.1, 0.9]}
    assert groups(points, history=noisy) == {"t1": "unchanged"}
    (row,) = report(points, history=STEADY).rows()
    assert row.method == "history" and row.noise == pytest.approx(0.7413, rel=1e-3)


def test_one_sample_without_history_is_not_counted():
    points = [point(OLD, 1, TIME, 1.0), point(NEW, 1, TIME, 1.5)]
    (row,) = report(points).rows()
    assert (row.group, row.reason, row.significant) == ("unchanged", "unknown", False)


def test_a_change_below_the_threshold_is_unchanged_however_quiet():
    points = [point(OLD, 1, TIME, 1.0), point(NEW, 1, TIME, 1.005)]
    assert groups(points, history={101: [1.0] * 10}) == {"t1": "unchanged"}
    assert groups(points, history={101: [1.0] * 10}, min_change=0.1) == {"t1": "regressions"}


def test_bigger_is_better_flips_the_direction():
    points = [point(OLD, 1, SCORE, 10.0), point(NEW, 1, SCORE, 12.0)]
    assert groups(points, metrics=(SCORE,), history={101: [10.0] * 6}) == {"t1": "improvements"}


def test_a_detected_change_is_badged_and_counts_even_within_the_noise():
    points = [point(OLD, 1, TIME, 1.0), point(NEW, 1, TIME, 1.03)]
    noisy = {101: [1.0, 1.02, 0.98, 1.01, 0.99]}
    change = {"confirmed": False, "is_regression": True, "indicator__regression_id": 7}
    assert groups(points, history=noisy) == {"t1": "unchanged"}
    (row,) = report(points, history=noisy, changes={101: change}).rows()
    assert (row.group, row.method, row.detected, row.regression_id) == (
        "regressions",
        "detected",
        "suspect",
        7,
    )


def test_the_default_metric_prefers_execution_time_then_the_first_with_data():
    compile_ = Metric(id=3, name="compile_time", type=Metric.REAL, position=0)
    status = Metric(id=4, name="execution_status", type=Metric.STATUS, position=3)
    metrics = [compile_, TIME, status, SCORE]
    assert report_metric_default(metrics, {1, 2, 3, 4}) == TIME
    assert report_metric_default(metrics, {2, 4}) == SCORE
    assert report_metric_default(metrics, set()) == compile_
    assert report_metric_default([status], {4}) is None


def test_failures_are_never_compared_by_value():
    points = [
        point(OLD, 1, TIME, 1.0, failed=True),
        point(NEW, 1, TIME, 5.0, failed=True),
        point(OLD, 2, TIME, 1.0),
        point(NEW, 2, TIME, 1.0, failed=True),
    ]
    assert groups(points) == {"t1": "unchanged", "t2": "new_failures"}


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
    data = ReportData(points=[point(NEW, 1, TIME, 1.0)])
    (result,) = report_compare(data, None, NEW, [TIME])
    assert result.counts["added"] == 1 and result.geomean_delta is None


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
                  noise=None, significant=False, group="unchanged") for i in range(50)]
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
    points = [{"position": i, "value": 1.0} for i in range(10_000)]
    points[7777]["value"] = 50.0
    kept, thinned = downsample(points, 1000)
    assert thinned and len(kept) <= 1000
    assert max(p["value"] for p in kept) == 50.0
    assert downsample(points[:10], 1000) == (points[:10], False)
