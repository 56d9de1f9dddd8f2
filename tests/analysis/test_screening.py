"""Screening on levels: a series screened out never reports a change, nor a suspect."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf.analysis import (
    DetectionParams,
    evaluate_slice,
    find_suspect,
    levels_of,
    means_of,
    screen_levels,
    screen_suspects,
)
from perf.analysis.changepoints import SeriesItem, samples_of
from tests.analysis.series import noisy, step

SMALL = DetectionParams(window_before=6, window_after=4, suppression_radius=2)
# Every parameter set the screen is checked with, ``use_means`` on (the default) and off.
PARAMS = [DetectionParams(), SMALL, replace(DetectionParams(), use_means=False),
          replace(SMALL, use_means=False)]
SHAPES = ("gaussian", "heavy", "bimodal", "spikes", "drift", "quantised")
FAR = 10**9  # a slice far from the start of a long history, as the detection task sees it


def history(rng: np.random.Generator, length: int, *, shape: str, noise: float,
            samples: int, missing: float, steps: float) -> list[SeriesItem]:
    """A series with random steps (probability ``steps`` per order) and noise of ``shape``."""
    level = float(rng.uniform(0.5, 100))
    drift = float(rng.choice([-1.0, 1.0])) * 8 * noise / max(length, 1)
    series: list[SeriesItem] = []
    for t in range(length):
        if rng.random() < steps:
            level *= float(rng.choice([0.5, 0.9, 0.97, 1.03, 1.1, 2.0]))
        if rng.random() < missing:
            series.append(None if rng.random() < 0.6 else [float("nan")])
            continue
        count = samples if rng.random() > 0.1 else 1
        errors = rng.normal(0, noise, count)
        if shape == "heavy":
            errors = noise * rng.standard_t(3, count)
        elif shape == "bimodal":
            errors += (rng.random(count) < 0.25) * 3 * noise
        values = level * (1 + drift * t * (shape == "drift") + errors)
        if shape == "spikes" and rng.random() < 0.05:
            values *= rng.uniform(1.3, 3.0)
        if shape == "quantised":
            values = np.round(values, 1)
        series.append(float(values[0]) if count == 1 else [float(v) for v in values])
    return series


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[list[SeriesItem]], int, int, int]:
    """Several series over one slice: ``(slices, offset, total_length, length)``."""
    total = draw(st.integers(0, 80))
    lo, hi = sorted(round(b * total) for b in draw(st.tuples(st.floats(0, 1), st.floats(0, 1))))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    options = {
        "shape": draw(st.sampled_from(SHAPES)),
        "noise": draw(st.sampled_from([0.0, 0.005, 0.02, 0.05])),
        "samples": draw(st.sampled_from([1, 3])),
        "missing": draw(st.sampled_from([0.0, 0.1, 0.4])),
        "steps": draw(st.sampled_from([0.0, 0.05, 0.15])),
    }
    rows = [history(rng, total, **options)[lo:hi]  # type: ignore[arg-type]
            for _ in range(draw(st.integers(1, 6)))]
    # Far from the start, the detection task's frame: only touching 0 or the end matters.
    shift = FAR if lo > 0 and draw(st.booleans()) else 0
    return rows, lo + shift, total + shift, hi - lo


def as_levels(rows: list[list[SeriesItem]], length: int) -> np.ndarray:
    return np.array([levels_of(row) for row in rows], dtype=np.float64).reshape(len(rows), length)


def as_means(rows: list[list[SeriesItem]], length: int) -> np.ndarray:
    return np.array([means_of(row) for row in rows], dtype=np.float64).reshape(len(rows), length)


def as_counts(rows: list[list[SeriesItem]], length: int) -> np.ndarray:
    counts = [[len(samples_of(item)) for item in row] for row in rows]
    return np.array(counts, dtype=np.int64).reshape(len(rows), length)


def reported(row: list[SeriesItem], offset: int, total: int, report: range,
             params: DetectionParams, hashes: list[str | None] | None = None) -> bool:
    result = evaluate_slice(row, offset=offset, total_length=total, params=params,
                            hashes=hashes)
    return any(point.index in report for point in result.change_points)


def pick_report(data: st.DataObject, offset: int, length: int) -> range | None:
    if data.draw(st.booleans()):
        return None
    a, b = sorted(data.draw(st.tuples(st.integers(-5, length + 5), st.integers(-5, length + 5))))
    return range(offset + a, offset + b)


# Rank test always passed (alpha = 1) and no suppression: a change is reported exactly
# where the cheap conditions hold, so the screen must then be exact, not merely safe.
def exact(params: DetectionParams) -> DetectionParams:
    return replace(params, alpha=1.0, suppression_radius=0)


@settings(max_examples=150, deadline=None)
@given(batch=batches(), params=st.sampled_from(PARAMS), data=st.data())
def test_a_series_screened_out_reports_no_change(
    batch: tuple[list[list[SeriesItem]], int, int, int], params: DetectionParams,
    data: st.DataObject,
) -> None:
    rows, offset, total, length = batch
    report = pick_report(data, offset, length)
    screened = screen_levels(as_levels(rows, length), offset=offset, total_length=total,
                             report=report, params=params, means=as_means(rows, length))
    settled = evaluate_slice([None] * length, offset=offset, total_length=total,
                             params=params).settled
    asked = settled if report is None else report
    hashes: list[str | None] = ["a" if i % 3 else None for i in range(length)]
    for row, maybe in zip(rows, screened, strict=True):
        if not maybe:
            assert not reported(row, offset, total, asked, params)
            assert not reported(row, offset, total, asked, params, hashes)


@settings(max_examples=150, deadline=None)
@given(batch=batches(), params=st.sampled_from(PARAMS), data=st.data())
def test_the_screen_is_exactly_the_cheap_conditions(
    batch: tuple[list[list[SeriesItem]], int, int, int], params: DetectionParams,
    data: st.DataObject,
) -> None:
    rows, offset, total, length = batch
    params = exact(params)
    report = pick_report(data, offset, length)
    screened = screen_levels(as_levels(rows, length), offset=offset, total_length=total,
                             report=report, params=params, means=as_means(rows, length))
    settled = evaluate_slice([None] * length, offset=offset, total_length=total,
                             params=params).settled
    asked = settled if report is None else report
    assert list(screened) == [reported(row, offset, total, asked, params) for row in rows]


@settings(max_examples=50, deadline=None)
@given(batch=batches())
def test_a_row_is_screened_the_same_alone_or_in_a_batch(
    batch: tuple[list[list[SeriesItem]], int, int, int],
) -> None:
    rows, offset, total, length = batch
    levels, means = as_levels(rows, length), as_means(rows, length)
    together = screen_levels(levels, offset=offset, total_length=total, means=means)
    alone = [screen_levels(levels[k : k + 1], offset=offset, total_length=total,
                           means=means[k : k + 1])[0]
             for k in range(len(rows))]
    assert list(together) == alone


@settings(max_examples=150, deadline=None)
@given(
    batch=batches(),
    params=st.sampled_from(PARAMS),
    min_samples=st.sampled_from([1, 2, 3]),
)
def test_a_series_screened_out_has_no_suspect(
    batch: tuple[list[list[SeriesItem]], int, int, int], params: DetectionParams,
    min_samples: int,
) -> None:
    rows, _, _, length = batch
    means = as_means(rows, length)
    screened = screen_suspects(as_levels(rows, length), as_counts(rows, length),
                               params=params, min_samples=min_samples, means=means)
    for row, maybe in zip(rows, screened, strict=True):
        if not maybe:
            assert find_suspect(row, params=params, min_samples=min_samples) is None
        suspect = find_suspect(row, params=exact(params), min_samples=min_samples,
                               alpha=1.0)
        tight = screen_suspects(as_levels([row], length), as_counts([row], length),
                                params=exact(params), min_samples=min_samples,
                                means=as_means([row], length))
        assert bool(tight[0]) == (suspect is not None)


@pytest.mark.parametrize("samples", [1, 3])
def test_most_clean_series_are_screened_out(samples: int) -> None:
    rng = np.random.default_rng(11 + samples)
    length = DetectionParams().lookback + DetectionParams().lookahead + 2
    rows = [history(rng, length, shape=SHAPES[k % 5], noise=float(rng.uniform(0.01, 0.05)),
                    samples=samples, missing=0.05, steps=0.0) for k in range(1000)]
    levels, means = as_levels(rows, length), as_means(rows, length)
    kept = screen_levels(levels, offset=FAR, total_length=FAR + length, means=means)
    assert kept.mean() <= 0.05
    assert screen_suspects(levels, as_counts(rows, length), means=means).mean() <= 0.05


def test_a_step_at_the_end_of_history_is_kept_and_a_flat_series_is_not() -> None:
    length = DetectionParams().lookback + 8
    rows: list[list[SeriesItem]] = [step(length - 8, 8, seed=1),
                                    noisy([1.0] * length, seed=2), [None] * length]
    kept = screen_levels(as_levels(rows, length), offset=FAR, total_length=FAR + length,
                         means=as_means(rows, length))
    assert list(kept) == [True, False, False]
    assert reported(rows[0], FAR, FAR + length, range(FAR, FAR + length), DetectionParams())


def test_a_step_on_the_newest_run_alone_is_kept_for_suspects_only_with_enough_samples() -> None:
    rows = [step(30, 1, samples=3, seed=3), step(30, 1, samples=1, seed=3),
            noisy([1.0] * 31, samples=3, seed=4)]
    levels, counts, means = as_levels(rows, 31), as_counts(rows, 31), as_means(rows, 31)
    assert list(screen_suspects(levels, counts, means=means)) == [True, False, False]
    assert list(screen_suspects(levels, counts, min_samples=1, means=means)) == [
        True, True, False]
    assert find_suspect(rows[0]) is not None


def test_a_tenfold_single_sample_step_on_a_short_history_is_kept_for_suspects_and_changes() -> None:
    # LNT's corpus case: the short-history rule needs neither samples nor a rank test.
    rows: list[list[SeriesItem]] = [[1.0, 10.0], [1.0, 1.5]]
    levels, counts = as_levels(rows, 2), as_counts(rows, 2)
    assert list(screen_suspects(levels, counts, means=as_means(rows, 2))) == [True, False]
    confirmed: list[list[SeriesItem]] = [[1.0, 10.0, 10.0], [1.0, 1.5, 1.5]]
    kept = screen_levels(as_levels(confirmed, 3), offset=0, total_length=3,
                         means=as_means(confirmed, 3))
    assert list(kept) == [True, False]
    assert find_suspect(rows[0]) is not None
    assert reported(confirmed[0], 0, 3, range(0, 3), DetectionParams())


@pytest.mark.parametrize(
    ("offset", "length", "total", "report"),
    [
        (10, 30, 50, None),  # the slice settles nothing
        (0, 50, 50, range(60, 70)),  # report outside the history
        (0, 50, 50, range(20, 20)),  # empty report
    ],
)
def test_nothing_is_kept_where_nothing_is_settled_or_asked(
    offset: int, length: int, total: int, report: range | None
) -> None:
    levels = np.ones((2, length))
    levels[:, length // 2 :] = 2.0  # a step in the middle
    kept = screen_levels(levels, offset=offset, total_length=total, report=report)
    assert kept.dtype == np.bool_ and list(kept) == [False, False]


def test_a_report_limits_the_indices_screened() -> None:
    levels = np.array([levels_of(step(30, 20, seed=5))])  # one sample: means are levels
    assert screen_levels(levels, offset=0, total_length=50, report=range(28, 33),
                         means=levels)[0]
    assert not screen_levels(levels, offset=0, total_length=50, report=range(35, 50),
                             means=levels)[0]


def test_non_finite_levels_are_unknown_orders() -> None:
    base = levels_of(step(30, 8, seed=6))
    gaps = base.copy()
    gaps[[3, 10]] = [np.inf, -np.inf]
    nans = base.copy()
    nans[[3, 10]] = np.nan
    grid = np.array([gaps, nans])  # one sample per order: the means are the levels
    kept = screen_levels(grid, offset=0, total_length=38, means=grid)
    assert kept[0] == kept[1]


def test_no_rows_give_an_empty_answer() -> None:
    assert screen_levels(np.empty((0, 38)), offset=0, total_length=38).shape == (0,)
    assert screen_suspects(np.empty((0, 38)), np.empty((0, 38))).shape == (0,)
    assert list(screen_suspects(np.empty((2, 0)), np.empty((2, 0)))) == [False, False]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: screen_levels(np.ones(5), offset=0, total_length=5), "2-D array"),
        (lambda: screen_levels(np.ones((1, 5)), offset=1, total_length=5), "inside the history"),
        (lambda: screen_levels(np.ones((1, 5)), offset=0, total_length=5,
                               report=range(0, 5, 2)), "step 1"),
        (lambda: screen_suspects(np.ones((1, 5)), np.ones((1, 4))), "same shape"),
        (lambda: screen_levels(np.ones((1, 5)), offset=0, total_length=5),
         "use_means needs the means"),
        (lambda: screen_levels(np.ones((1, 5)), offset=0, total_length=5,
                               means=np.ones((1, 4))), "use_means needs the means"),
        (lambda: screen_suspects(np.ones((1, 5)), np.ones((1, 5))), "use_means needs the means"),
    ],
)
def test_it_refuses_bad_input(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
