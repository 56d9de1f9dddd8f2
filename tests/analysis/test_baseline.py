"""The reference detectors the bench compares against."""

from __future__ import annotations

import pytest

from perf.analysis.baseline import lnt_style_change_points, ttest_change_points
from perf.analysis.changepoints import SeriesItem


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([1.0, 1.0, 1.02, 1.02], [2]),
        ([1.0, 1.005, 1.0], []),
        ([1.0, None, 1.5, [], 1.5], [2]),  # compares with the previous KNOWN order
        ([[1.0, 3.0], [1.0, 1.1]], []),  # LNT compares the minimum of the samples
        ([0.0, 0.0, 1.0], [2]),
        ([], []),
    ],
)
def test_lnt_style_flags_every_move_of_one_percent(series: list[SeriesItem],
                                                    expected: list[int]) -> None:
    assert lnt_style_change_points(series) == expected


def test_lnt_style_can_compare_medians() -> None:
    assert lnt_style_change_points([[1.0, 3.0, 3.0], [1.0, 1.1, 1.1]], aggregate="median") == [1]


@pytest.mark.parametrize(
    ("series", "expected"),
    [
        ([1.0, 1.01, 0.99, 1.0, 2.0, 2.01, 1.99, 2.0], [4]),
        ([1.0, 1.0, 1.0, 2.0, 2.0, 2.0], [3]),  # no variance, different means
        ([1.0] * 10, []),
        ([1.0, 1.0, 2.0], []),  # too short
        ([1.0, 1.01, None, 0.99, 1.0, None, 2.0, 2.01, 1.99, 2.0], [6]),
    ],
)
def test_the_t_test_finds_a_clear_step(series: list[SeriesItem], expected: list[int]) -> None:
    assert ttest_change_points(series) == expected
