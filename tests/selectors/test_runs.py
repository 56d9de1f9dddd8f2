"""The pure parts of the report and graph selectors."""

from __future__ import annotations

import time

import pytest

from perf.models import Metric
from perf.selectors.graphs import downsample, plot_keys_parse
from perf.selectors.runs import FilterError, name_filter_compile, report_compare

TIME = Metric(id=1, name="execution_time", type=Metric.REAL, bigger_is_better=False, position=2)
SCORE = Metric(id=2, name="score", type=Metric.REAL, bigger_is_better=True, position=4)
OLD, NEW = 10, 11


def point(run, test, metric, value, stdev=None, failed=False):
    return (run, 100 + test, test, f"t{test}", metric.id, value, stdev, failed)


def groups(points, metrics=(TIME,), **kwargs):
    (report,) = report_compare(points, OLD, NEW, list(metrics), **kwargs)
    return {row.test: row.group for row in report.rows()}


def test_a_change_smaller_than_the_noise_is_unchanged():
    noisy = [point(OLD, 1, TIME, 1.0, stdev=0.05), point(NEW, 1, TIME, 1.1, stdev=0.05)]
    quiet = [point(OLD, 1, TIME, 1.0, stdev=0.001), point(NEW, 1, TIME, 1.1, stdev=0.001)]
    assert groups(noisy) == {"t1": "unchanged"}
    assert groups(quiet) == {"t1": "regressions"}


def test_with_one_sample_the_threshold_alone_decides():
    points = [point(OLD, 1, TIME, 1.0), point(NEW, 1, TIME, 1.005)]
    assert groups(points) == {"t1": "unchanged"}
    assert groups(points, min_change=0.1) == {"t1": "regressions"}


def test_bigger_is_better_flips_the_direction():
    points = [point(OLD, 1, SCORE, 10.0), point(NEW, 1, SCORE, 12.0)]
    assert groups(points, metrics=(SCORE,)) == {"t1": "improvements"}


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
    (report,) = report_compare(points, OLD, NEW, [TIME])
    assert report.geomean_old == pytest.approx(2.0)
    assert report.geomean_new == pytest.approx(2.0)
    assert report.geomean_delta == pytest.approx(0.0)


def test_without_an_old_run_everything_is_added():
    (report,) = report_compare([point(NEW, 1, TIME, 1.0)], None, NEW, [TIME])
    assert report.counts["added"] == 1 and report.geomean_delta is None


@pytest.mark.parametrize("pattern", ["(a+)+", "(a*)*b", "(x|y+)+", "(.*){20}"])
def test_catastrophic_filters_are_refused(pattern):
    with pytest.raises(FilterError, match="nested repetition"):
        name_filter_compile(pattern)


def test_ordinary_filters_compile_quickly_and_match():
    started = time.perf_counter()
    compiled = name_filter_compile(r"^SingleSource/.*mandel(\.c)?$")
    assert compiled.search("SingleSource/Misc/mandel")
    assert time.perf_counter() - started < 0.1
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
