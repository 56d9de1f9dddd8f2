"""Two-sided comparison of tests by name (the compare page): each side is the pooled
samples of one or more runs of one machine, for one metric.

For every test name on either side: the median of each side's samples, the delta
(new - old, in the metric's unit), delta % (relative to old), the ratio new / old,
its log2 (the chart's axis: 0 is no change, 1 is twice as large), a two-sided
Mann-Whitney U p-value when both sides have at least ``MIN_RANK_SAMPLES`` samples,
and a status:

* ``added`` / ``removed``: the test has samples on one side only;
* ``regressed`` / ``improved``: the change passes every noise knob -- |delta %| at
  least ``min_delta_pct``, |delta| at least ``abs_floor`` (metric units), and, when
  there is a p-value, p at most ``max_p``; the direction follows
  ``bigger_is_better`` (by default smaller is better, as for times);
* ``unchanged``: within the knobs.

An old median of 0 gives no delta % nor ratio: only the absolute floor judges it.
Pure: plain numbers in, dataclasses out; scipy for the rank test.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from perf.analysis.scipy_stats import stats

MIN_RANK_SAMPLES = 4  # samples per side before a p-value is given (as LNT)
ADDED, REMOVED = "added", "removed"
REGRESSED, IMPROVED, UNCHANGED = "regressed", "improved", "unchanged"
STATUSES = (REGRESSED, IMPROVED, UNCHANGED, ADDED, REMOVED)


@dataclass(frozen=True)
class Knobs:
    """The noise knobs; every one is in the compare page's URL."""

    min_delta_pct: float = 1.0  # minimum |delta %| for a change
    max_p: float = 0.05  # largest p-value for a change (when there is one)
    abs_floor: float = 0.0  # minimum |delta| in the metric's unit
    bigger_is_better: bool = False


@dataclass(frozen=True, init=False)
class Row:
    test: str
    old: float | None  # median of the old side's samples
    new: float | None
    old_n: int
    new_n: int
    delta: float | None
    delta_pct: float | None
    ratio: float | None
    log2_ratio: float | None
    p_value: float | None
    status: str

    def __init__(  # one argument a field, as the generated one
        self,
        test: str,
        old: float | None,
        new: float | None,
        old_n: int,
        new_n: int,
        delta: float | None,
        delta_pct: float | None,
        ratio: float | None,
        log2_ratio: float | None,
        p_value: float | None,
        status: str,
    ) -> None:
        # The generated ``__init__`` of a frozen dataclass sets each field through
        # ``object.__setattr__``: 3.4 us a row, a third of ``compare_sides`` for the
        # 2,000 rows of a run (``bench/pages_speed.py``, "compare sides").  Filling the
        # instance's dict is what it amounts to; the instance stays frozen.
        self.__dict__.update(
            test=test,
            old=old,
            new=new,
            old_n=old_n,
            new_n=new_n,
            delta=delta,
            delta_pct=delta_pct,
            ratio=ratio,
            log2_ratio=log2_ratio,
            p_value=p_value,
            status=status,
        )


def _finite(values: Iterable[float]) -> list[float]:
    # A tuple, not ``int | float``: isinstance with a union is slower (2,000 rows x 2).
    return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def compare_row(test: str, old: Sequence[float], new: Sequence[float], knobs: Knobs) -> Row:
    """One test's row; non-numeric and non-finite samples are ignored."""
    a, b = _finite(old), _finite(new)
    return _row(test, a, b, knobs, _p_values([(a, b)])[0])


def _row(test: str, a: list[float], b: list[float], knobs: Knobs, p_value: float | None) -> Row:
    """The row of finite samples ``a`` (old) and ``b``, whose rank test gave ``p_value``
    (``_p_values``)."""
    a_med = statistics.median(a) if a else None
    b_med = statistics.median(b) if b else None
    return _row_of_medians(test, a_med, b_med, len(a), len(b), knobs, p_value)


def _row_of_medians(
    test: str,
    a_med: float | None,
    b_med: float | None,
    a_n: int,
    b_n: int,
    knobs: Knobs,
    p_value: float | None,
) -> Row:
    """``_row`` from the sides' medians (None: no sample) and sample counts."""
    if a_med is None or b_med is None:
        status = REMOVED if b_med is None else ADDED
        if a_med is None and b_med is None:
            status = UNCHANGED
        return Row(test, a_med, b_med, a_n, b_n, None, None, None, None, None, status)
    delta = b_med - a_med
    delta_pct = ratio = log2_ratio = None
    if a_med != 0:
        delta_pct = 100.0 * delta / abs(a_med)
        ratio = b_med / a_med
        log2_ratio = math.log2(ratio) if ratio > 0 else None
    moved = (
        delta != 0
        and abs(delta) >= knobs.abs_floor
        and (delta_pct is None or abs(delta_pct) >= knobs.min_delta_pct)
        and (p_value is None or p_value <= knobs.max_p)
    )
    status = UNCHANGED
    if moved:
        status = IMPROVED if (delta > 0) == knobs.bigger_is_better else REGRESSED
    return Row(test, a_med, b_med, a_n, b_n, delta, delta_pct, ratio, log2_ratio, p_value, status)


def _p_values(pairs: Sequence[tuple[list[float], list[float]]]) -> list[float | None]:
    """The two-sided Mann-Whitney p-value of each (old, new) pair of finite samples:
    None with fewer than ``MIN_RANK_SAMPLES`` on a side, 1.0 when every sample is one
    value (the rank test is undefined, nothing moved).

    scipy's ``mannwhitneyu`` costs about a millisecond a call, whatever the size: the
    pairs are tested in one call a group of the same sizes and tie status, with the
    method its "auto" picks for each pair (exact for small samples without ties,
    asymptotic otherwise), over 2-D arrays, a row a pair.  Every step of the test is
    row by row, so each p-value is the one a call of its own gives."""
    found: list[float | None] = [None] * len(pairs)
    groups: dict[tuple[int, int, bool], list[int]] = {}
    for k, (a, b) in enumerate(pairs):
        if len(a) < MIN_RANK_SAMPLES or len(b) < MIN_RANK_SAMPLES:
            continue
        distinct = len(set(a) | set(b))
        if distinct == 1:
            found[k] = 1.0
            continue
        groups.setdefault((len(a), len(b), distinct < len(a) + len(b)), []).append(k)
    for (n1, n2, ties), members in groups.items():
        method = "asymptotic" if (n1 > 8 and n2 > 8) or ties else "exact"
        result = stats().mannwhitneyu(
            np.array([pairs[k][0] for k in members]),
            np.array([pairs[k][1] for k in members]),
            alternative="two-sided",
            axis=1,
            method=method,
        )
        for k, p in zip(members, np.atleast_1d(result.pvalue).tolist(), strict=True):
            found[k] = p
    return found


def compare_sides(
    old: Mapping[str, Sequence[float]], new: Mapping[str, Sequence[float]], knobs: Knobs
) -> list[Row]:
    """A row for every test name on either side, by name.

    The medians are taken a group of tests at a time (``_medians``); a test's row is
    then what ``compare_row`` gives it."""
    names = sorted(set(old) | set(new))
    empty: Sequence[float] = ()
    olds = [old.get(n, empty) for n in names]
    news = [new.get(n, empty) for n in names]
    a_meds, a_ns = _medians(olds)
    b_meds, b_ns = _medians(news)
    # Only tests with enough samples on both sides have a rank test.
    ranked = [
        k for k, (a_n, b_n) in enumerate(zip(a_ns, b_ns, strict=True))
        if a_n >= MIN_RANK_SAMPLES and b_n >= MIN_RANK_SAMPLES
    ]
    p_values: list[float | None] = [None] * len(names)
    found = _p_values([(_finite(olds[k]), _finite(news[k])) for k in ranked])
    for k, p in zip(ranked, found, strict=True):
        p_values[k] = p
    return [
        _row_of_medians(n, a, b, a_n, b_n, knobs, p)
        for n, a, b, a_n, b_n, p in zip(names, a_meds, b_meds, a_ns, b_ns, p_values, strict=True)
    ]


def _medians(sides: list[Sequence[float]]) -> tuple[list[float | None], list[int]]:
    """Each list's median of its finite samples (``statistics.median`` of
    ``_finite``; None for none) and their count.

    The usual side is a few float samples a test, as many for every test: the lists
    of one length are one 2-D array, and when it is of floats its rows of finite ones
    (the others, and every list of a group with text or None, go one by one) are
    sorted stably (as ``sorted``: -0.0 and 0.0 keep their order) and the middle taken,
    or the two middle ones' sum halved, as ``statistics.median`` does: the same float
    for every row, no Python call a test."""
    medians: list[float | None] = [None] * len(sides)
    counts = [0] * len(sides)
    by_length: dict[int, list[int]] = {}
    for k, values in enumerate(sides):
        by_length.setdefault(len(values), []).append(k)
    for length, members in by_length.items():
        if length == 0:
            continue
        rows = np.array([sides[k] for k in members])
        finite = np.zeros(len(members), dtype=np.bool_)
        if rows.dtype == np.float64 and rows.ndim == 2:
            finite = np.isfinite(rows).all(axis=1)
        for k in np.array(members)[~finite].tolist():  # NaN, text...: one by one
            values = _finite(sides[k])
            counts[k] = len(values)
            medians[k] = statistics.median(values) if values else None
        if not finite.any():
            continue
        ordered = np.sort(rows[finite], axis=1, kind="stable")
        middle = length // 2
        if length % 2:
            found = ordered[:, middle]
        else:
            found = (ordered[:, middle - 1] + ordered[:, middle]) / 2
        for k, median in zip(np.array(members)[finite].tolist(), found.tolist(), strict=True):
            medians[k], counts[k] = median, length
    return medians, counts


@dataclass(frozen=True)
class GeoMean:
    """Geometric means over the tests with a positive median on both sides."""

    tests: int
    old: float | None
    new: float | None
    ratio: float | None
    delta_pct: float | None
    log2_ratio: float | None


def geomean(rows: Sequence[Row]) -> GeoMean:
    pairs = [(r.old, r.new) for r in rows if r.old and r.new and r.old > 0 and r.new > 0]
    if not pairs:
        return GeoMean(0, None, None, None, None, None)
    log_old = sum(math.log(a) for a, _ in pairs) / len(pairs)
    log_new = sum(math.log(b) for _, b in pairs) / len(pairs)
    ratio = math.exp(log_new - log_old)
    return GeoMean(
        len(pairs),
        math.exp(log_old),
        math.exp(log_new),
        ratio,
        100.0 * (ratio - 1.0),
        (log_new - log_old) / math.log(2),
    )


def status_counts(rows: Iterable[Row]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for r in rows:
        counts[r.status] += 1
    return counts
