"""The locality contract: a slice of history settles exactly what the whole history says."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf.analysis import (
    DetectionParams,
    affected_indices,
    evaluate_slice,
    find_change_points,
    slice_bounds,
)
from perf.analysis.changepoints import SeriesItem

SMALL = DetectionParams(window_before=6, window_after=4, suppression_radius=2)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[SeriesItem], list[str | None]]:
    """Series with random steps, noise, spikes, missing orders and 1-3 samples per order."""
    length = draw(st.integers(0, 90))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    noise = draw(st.sampled_from([0.0, 0.005, 0.02, 0.05]))
    samples = draw(st.integers(1, 3))
    missing = draw(st.sampled_from([0.0, 0.1, 0.4]))
    level = 1.0
    series: list[SeriesItem] = []
    hashes: list[str | None] = []
    binary = 0
    for _ in range(length):
        if rng.random() < 0.08:
            level *= float(rng.choice([0.7, 0.9, 1.1, 1.5]))
            binary += int(rng.random() < 0.7)
        hashes.append(None if rng.random() < 0.2 else f"h{binary}")
        if rng.random() < missing:
            series.append(None if rng.random() < 0.7 else [])
            continue
        values = level * (1 + rng.normal(0, noise, samples))
        if rng.random() < 0.03:
            values *= 3  # a wild run
        series.append(float(values[0]) if samples == 1 else [float(v) for v in values])
    return series, hashes


@settings(max_examples=100, deadline=None)
@given(
    history=histories(),
    params=st.sampled_from([DetectionParams(), SMALL]),
    bounds=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    use_hashes=st.booleans(),
)
def test_a_slice_settles_the_same_verdicts_as_the_whole_history(
    history: tuple[list[SeriesItem], list[str | None]],
    params: DetectionParams,
    bounds: tuple[float, float],
    use_hashes: bool,
) -> None:
    series, all_hashes = history
    hashes = all_hashes if use_hashes else None
    total = len(series)
    lo, hi = sorted(round(b * total) for b in bounds)
    whole = find_change_points(series, hashes=hashes, params=params)
    result = evaluate_slice(
        series[lo:hi], offset=lo, total_length=total, params=params,
        hashes=None if hashes is None else hashes[lo:hi],
    )
    assert all(point.index in result.settled for point in result.change_points)
    assert result.change_points == [p for p in whole if p.index in result.settled]
    assert set(result.settled) <= set(range(lo, hi))


@settings(max_examples=100, deadline=None)
@given(history=histories(), params=st.sampled_from([DetectionParams(), SMALL]))
def test_replaying_runs_one_by_one_ends_with_the_verdicts_of_the_whole_history(
    history: tuple[list[SeriesItem], list[str | None]], params: DetectionParams
) -> None:
    series, _ = history
    stored: set[int] = set()
    for length in range(1, len(series) + 1):
        affected = affected_indices(length - 1, length, params)
        lo, hi = slice_bounds(affected.start, affected.stop, length, params)
        result = evaluate_slice(series[lo:hi], offset=lo, total_length=length, params=params)
        assert set(affected) <= set(result.settled)
        found = {point.index for point in result.change_points}
        stored = {i for i in stored if i not in result.settled or i in found} | found
    assert stored == {point.index for point in find_change_points(series, params=params)}


@pytest.mark.parametrize(
    ("start", "stop", "total", "expected"),
    [
        (100, 101, 200, (100 - 44, 100 + 14)),
        (0, 1, 200, (0, 14)),
        (195, 200, 200, (151, 200)),
        (10, 5, 200, (10, 10)),
        (-5, 3, 2, (0, 2)),
    ],
)
def test_slice_bounds_covers_lookback_and_lookahead(
    start: int, stop: int, total: int, expected: tuple[int, int]
) -> None:
    assert slice_bounds(start, stop, total) == expected


def test_the_default_slice_is_short() -> None:
    params = DetectionParams()
    assert (params.lookback, params.lookahead) == (44, 14)


@pytest.mark.parametrize(
    ("offset", "length", "total", "settled"),
    [
        (0, 50, 50, range(0, 50)),  # the whole history
        (2, 48, 50, range(46, 50)),  # cut at the start only
        (0, 30, 50, range(0, 17)),  # cut at the end only
        (10, 30, 50, range(54, 54)),  # too short to settle anything
    ],
)
def test_settled_is_what_the_slice_fully_sees(offset: int, length: int, total: int,
                                              settled: range) -> None:
    result = evaluate_slice([1.0] * length, offset=offset, total_length=total)
    assert list(result.settled) == list(settled)


def test_a_change_does_not_depend_on_data_outside_its_window() -> None:
    rng = np.random.default_rng(3)
    series: list[SeriesItem] = [float(v) for v in 1 + rng.normal(0, 0.01, 120)]
    series[60:] = [float(v) * 1.2 for v in series[60:]]  # type: ignore[arg-type]
    params = DetectionParams()
    assert [p.index for p in find_change_points(series)] == [60]
    far = series.copy()
    far[: 60 - params.lookback] = [5.0] * (60 - params.lookback)
    far[60 + params.lookahead :] = [None] * (120 - 60 - params.lookahead)
    assert [p for p in find_change_points(far) if p.index == 60] == [
        p for p in find_change_points(series) if p.index == 60
    ]
