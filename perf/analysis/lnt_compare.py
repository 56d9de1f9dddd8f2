"""LNT's run-over-run verdict for one test and metric, as ``lnt submit -v`` prints it.

LNT's submission reply carries ``test_results``: for every Real metric of the suite
and every test of the new run or of the machine's previous run, the pair
(test status, value status), which its client prints as PASS / FAIL / IMPROVED /
REGRESSED.  This module gives the same verdicts from the same rules, so that LNT's
client prints what it printed against LNT.  It is *not* lntsite's detection (that
runs in the background over the series' history): it is LNT's quick two-run check.

The rules, as LNT applies them (``lnt/server/reporting/analysis.py``):

* test status: failed now and before -> UNCHANGED_FAIL; failed now only ->
  REGRESSED; failed before only -> IMPROVED; else UNCHANGED_PASS;
* value status (None when either side has no value): the current value is the
  minimum of the samples (the maximum when bigger is better); the previous value is
  the previous sample closest to it; a failing or just-fixed test is unchanged; an
  ``ignore_same_hash`` metric with the same binary hash on both sides is unchanged;
  changes under 1 % (relative) or 0.01 (absolute) or within 2 x 0.0001 x 2.576 are
  unchanged; with at least 4 samples on both sides a two-sided Mann-Whitney U test
  at ``confidence_lv`` that cannot reject "same" makes it unchanged; with several
  current samples the change must exceed 2.576 population standard deviations of
  them; with one sample any change of 0.2 % or more counts.  The sign and
  ``bigger_is_better`` say REGRESSED or IMPROVED.

The same verdicts come row by row (``run_over_run``, ``iter_test_sides``) or for a
whole run at once over numpy columns (``column_run_over_run``: what ``submitRun``
uses; equal to the last bit, ``tests/analysis/test_lnt_compare.py``).

Pure: plain numbers in, strings out; numpy for the columns, scipy for the rank test.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from perf.analysis.scipy_stats import stats

REGRESSED = "REGRESSED"
IMPROVED = "IMPROVED"
UNCHANGED_PASS = "UNCHANGED_PASS"  # noqa: S105 - a verdict, not a password
UNCHANGED_FAIL = "UNCHANGED_FAIL"

MIN_VALUE_PRECISION = 0.0001  # smallest measurable change, in the metric's unit
MIN_PERCENTAGE_CHANGE = 0.01  # relative (1 %) and absolute floor on a counted change
CONFIDENCE_INTERVAL = 2.576  # z for a two-sided 99 % interval
SINGLE_SAMPLE_CHANGE = 0.002  # with one sample, changes from 0.2 % on count
MIN_RANK_SAMPLES = 4  # samples per side before the rank test is used


@dataclass(frozen=True, slots=True)
class Side:
    """One run's samples of one test and metric, whether it failed, its binary hash."""

    samples: Sequence[float] = ()
    failed: bool = False
    hash: str | None = None


def pass_fail_status(current: Side, previous: Side) -> str:
    """The pass/fail transition between the two runs."""
    if current.failed:
        return UNCHANGED_FAIL if previous.failed else REGRESSED
    return IMPROVED if previous.failed else UNCHANGED_PASS


def performance_status(
    current: Side,
    previous: Side,
    bigger_is_better: bool = False,
    ignore_same_hash: bool = False,
    confidence_lv: float = 0.05,
) -> str | None:
    """The performance verdict, or None when either run has no value (added/removed)."""
    if not current.samples or not previous.samples:
        return None
    cur = max(current.samples) if bigger_is_better else min(current.samples)
    # LNT counts a current value of exactly 0 as "no value".
    if not cur:
        return None
    prev = _closest(previous.samples, cur)
    delta = cur - prev
    pct_delta = delta / prev if prev != 0 else 0.0
    if current.failed:
        return UNCHANGED_FAIL
    if previous.failed:
        return UNCHANGED_PASS
    if ignore_same_hash and current.hash and previous.hash and current.hash == previous.hash:
        return UNCHANGED_PASS
    if abs(pct_delta) < MIN_PERCENTAGE_CHANGE or abs(delta) < MIN_PERCENTAGE_CHANGE:
        return UNCHANGED_PASS
    if abs(delta) <= 2 * MIN_VALUE_PRECISION * CONFIDENCE_INTERVAL:
        return UNCHANGED_PASS
    if len(current.samples) >= MIN_RANK_SAMPLES and len(previous.samples) >= MIN_RANK_SAMPLES:
        p_value = stats().mannwhitneyu(
            list(current.samples), list(previous.samples), alternative="two-sided"
        ).pvalue
        if math.isnan(p_value) or p_value >= confidence_lv:
            return UNCHANGED_PASS
    direction = REGRESSED if (delta < 0) == bigger_is_better else IMPROVED
    if len(current.samples) > 1:
        mean = sum(current.samples) / len(current.samples)
        stddev = math.sqrt(sum((v - mean) ** 2 for v in current.samples) / len(current.samples))
        return direction if abs(delta) > stddev * CONFIDENCE_INTERVAL else UNCHANGED_PASS
    return direction if abs(pct_delta) >= SINGLE_SAMPLE_CHANGE else UNCHANGED_PASS


def _closest(values: Sequence[float], target: float) -> float:
    """The value closest to ``target``; on a tie the later one, as LNT keeps the newer."""
    best = values[0]
    for v in values:
        if abs(target - v) <= abs(target - best):
            best = v
    return best


@dataclass(frozen=True, slots=True)
class MetricRule:
    """What the verdict needs to know of a Real metric."""

    name: str
    bigger_is_better: bool = False
    ignore_same_hash: bool = False


# LNT's report buckets, in the order its reply lists them (per metric).
_BUCKETS = (
    "new_failures",
    "new_passes",
    "regressions",
    "improvements",
    "added",
    "existing_failures",
    "unchanged",
)


def run_over_run(
    metrics: Sequence[MetricRule],
    tests: Sequence[str],
    current: Mapping[tuple[str, str], Side],
    previous: Mapping[tuple[str, str], Side],
) -> list[tuple[str, str, str | None]]:
    """LNT's ``test_results[0]['results']``: ``("<test>.<metric>", test status, value status)``.

    One row per metric (in ``metrics`` order: the suite's field order) and test (in
    ``tests`` order: by name), grouped per metric into LNT's buckets (new failures,
    new passes, regressions, improvements, added, existing failures, unchanged).
    ``current``/``previous`` map (test, metric) to that run's Side; a missing key
    is a test without that metric.  With no previous run, pass an empty mapping.
    """
    return list(iter_run_over_run(metrics, tests, current, previous))


def iter_run_over_run(
    metrics: Sequence[MetricRule],
    tests: Sequence[str],
    current: Mapping[tuple[str, str], Side],
    previous: Mapping[tuple[str, str], Side],
) -> Iterator[tuple[str, str, str | None]]:
    """``run_over_run``'s rows, yielded one at a time (``iter_test_sides``)."""

    def sides(test: str) -> tuple[Mapping[str, Side], Mapping[str, Side]]:
        return (
            {m.name: side for m in metrics if (side := current.get((test, m.name))) is not None},
            {m.name: side for m in metrics if (side := previous.get((test, m.name))) is not None},
        )

    return iter_test_sides(metrics, tests, sides)


# Every (test status, value status) pair a row can have, so that a verdict is kept as
# one small integer: (test index << _PAIR_BITS) | pair index.
_PAIRS = [
    (status, perf)
    for status in (UNCHANGED_PASS, UNCHANGED_FAIL, REGRESSED, IMPROVED)
    for perf in (None, UNCHANGED_PASS, UNCHANGED_FAIL, REGRESSED, IMPROVED)
]
_PAIR_INDEX = {pair: index for index, pair in enumerate(_PAIRS)}
PAIRS: Sequence[tuple[str, str | None]] = _PAIRS  # a verdict's pair, by index
_PAIR_BITS = 5
_PAIR_MASK = (1 << _PAIR_BITS) - 1


def iter_test_sides(
    metrics: Sequence[MetricRule],
    tests: Sequence[str],
    sides: Callable[[str], tuple[Mapping[str, Side], Mapping[str, Side]]],
) -> Iterator[tuple[str, str, str | None]]:
    """``run_over_run``'s rows, from ``sides(test)``: (current, previous) Sides of
    that test by metric name (a metric missing from a mapping: the test does not
    have it in that run).

    ``sides`` is asked once per test, in ``tests`` order, all on the first ``next``:
    the verdicts are kept as one machine integer each (8 bytes a row, 3.6 MB for a
    90,000-test run of five metrics), and a row's name is built as it is yielded.
    A test with the metric in neither run (most tests of most metrics: a suite has
    more Real metrics than a test reports) is "unchanged, no value" without a look
    at the rules.
    """
    unchanged = _BUCKETS.index("unchanged")
    plain = _PAIR_INDEX[(UNCHANGED_PASS, None)]
    # Per metric, per bucket: the verdicts, in test order.
    kept = [[array("q") for _ in _BUCKETS] for _ in metrics]
    for i, test in enumerate(tests):
        now_sides, before_sides = sides(test)
        row = i << _PAIR_BITS
        for metric, buckets in zip(metrics, kept, strict=True):
            now = now_sides.get(metric.name)
            before = before_sides.get(metric.name)
            if now is None and before is None:
                buckets[unchanged].append(row | plain)
                continue
            status, perf, bucket = _verdict(metric, now or _EMPTY, before or _EMPTY)
            buckets[bucket].append(row | _PAIR_INDEX[(status, perf)])
    for metric, buckets in zip(metrics, kept, strict=True):
        name = metric.name
        for verdicts in buckets:
            for code in verdicts:
                status, perf = _PAIRS[code & _PAIR_MASK]
                yield f"{tests[code >> _PAIR_BITS]}.{name}", status, perf


_EMPTY = Side()


_NEW_FAILURES, _NEW_PASSES, _REGRESSIONS, _IMPROVEMENTS, _ADDED, _EXISTING_FAILURES = range(6)
_UNCHANGED = _BUCKETS.index("unchanged")


def _verdict(metric: MetricRule, now: Side, before: Side) -> tuple[str, str | None, int]:
    """(test status, value status, index of LNT's bucket) of one test and metric."""
    # pass_fail_status, inline: called for every test and metric of a run.
    if now.failed:
        status = UNCHANGED_FAIL if before.failed else REGRESSED
    else:
        status = IMPROVED if before.failed else UNCHANGED_PASS
    perf = performance_status(now, before, metric.bigger_is_better, metric.ignore_same_hash)
    has_value = bool(now.samples)
    # LNT compares with a previous value only when the current one is non-zero.
    compared = has_value and bool(before.samples) and perf is not None
    if status == REGRESSED:
        bucket = _NEW_FAILURES
    elif status == IMPROVED:
        bucket = _NEW_PASSES
    elif has_value and not compared:
        bucket = _ADDED
    elif status == UNCHANGED_FAIL:
        bucket = _EXISTING_FAILURES
    elif perf == REGRESSED:
        bucket = _REGRESSIONS
    elif perf == IMPROVED:
        bucket = _IMPROVEMENTS
    else:
        bucket = _UNCHANGED
    return status, perf, bucket


# --- The same verdicts over columns (numpy): one array per run and metric. ---

# A verdict's pair is kept as status code * 5 + perf code, an index into _PAIRS: the
# status codes 0-3 are (UNCHANGED_PASS, UNCHANGED_FAIL, REGRESSED, IMPROVED), as there.
_PERF_CODES = (None, UNCHANGED_PASS, UNCHANGED_FAIL, REGRESSED, IMPROVED)
_NO_HASH = -1
# Squares as Python's ``v ** 2`` computes them (C's pow): numpy's multiply and its
# vectorised power each differ from it in the last bit for some values, which could
# move a verdict sitting on the standard-deviation threshold.
_pow = np.frompyfunc(math.pow, 2, 1)


@dataclass(frozen=True, slots=True)
class Columns:
    """One run's Sides of one metric, one row per test (the index into the tests).

    ``count``: samples (0: no value, or the test does not have the metric);
    ``failed``; ``hash``: the binary hash as a small integer (``-1``: none), equal
    integers for equal hashes; ``values``: the samples, one row per test, padded
    with NaN to the largest count.
    """

    count: npt.NDArray[np.int64]
    failed: npt.NDArray[np.bool_]
    hash: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


# One test's Side of one metric, as ``ColumnsBuilder`` takes it: (test, samples, failed, hash).
SideRow = tuple[str, Sequence[float], bool, "str | None"]


class ColumnsBuilder:
    """One run's Sides of one metric, taken a batch of ``SideRow`` at a time
    (``extend``), kept as flat arrays (8 bytes a sample, a pointer per name and
    hash) until ``build`` makes them ``Columns``: no object held per row."""

    def __init__(self) -> None:
        self._tests: list[str] = []
        self._counts = array("q")
        self._samples = array("d")
        self._failed = array("b")
        self._hashes: list[str | None] = []

    def extend(self, rows: Sequence[SideRow]) -> None:
        if not rows:
            return
        tests, samples, failed, hashes = zip(*rows, strict=True)
        self._tests.extend(tests)
        self._counts.extend(map(len, samples))
        self._samples.extend(chain.from_iterable(samples))
        self._failed.extend(failed)
        self._hashes.extend(hashes)

    def extend_columns(
        self,
        tests: Sequence[str],
        counts: Sequence[int],
        samples: bytes,
        failed: Sequence[bool],
        hashes: Sequence[str | None],
    ) -> None:
        """``extend`` with rows given column by column: each test's sample count, and
        all their samples in row order as big-endian doubles, one string."""
        if len(samples) != 8 * sum(counts):
            raise ValueError(f"{len(samples)} bytes of samples for {sum(counts)} samples")
        self._tests.extend(tests)
        self._counts.extend(counts)
        self._samples.frombytes(np.frombuffer(samples, dtype=">f8").astype(np.float64).tobytes())
        self._failed.extend(failed)
        self._hashes.extend(hashes)

    def tests(self) -> list[str]:
        """The tests taken, in the order taken."""
        return self._tests

    def build(self, index: Mapping[str, int], hash_codes: dict[str, int] | None) -> Columns:
        """The Columns of one row per test of ``index`` (test -> row, rows 0 to
        ``len(index) - 1``); a test without a row has no value.

        ``hash_codes`` (hash -> code) is shared by both runs' columns, so that equal
        hashes get equal codes, and new hashes are added to it; None leaves the
        hashes out (a metric that does not ignore same-hash changes never reads them).
        """
        tests = len(index)
        at = np.fromiter(map(index.__getitem__, self._tests), dtype=np.int64)
        counts = np.array(self._counts, dtype=np.int64)  # copies: the arrays are small
        flat = np.array(self._samples, dtype=np.float64)
        values = np.full((tests, max(int(counts.max()) if len(counts) else 0, 1)), np.nan)
        starts = np.cumsum(counts) - counts
        values[np.repeat(at, counts), np.arange(len(flat)) - np.repeat(starts, counts)] = flat
        count = np.zeros(tests, dtype=np.int64)
        count[at] = counts
        failed = np.zeros(tests, dtype=np.bool_)
        failed[at] = np.array(self._failed, dtype=np.int8) != 0
        hashes = np.full(tests, _NO_HASH, dtype=np.int64)
        if hash_codes is not None:
            codes = hash_codes
            hashes[at] = [codes.setdefault(h, len(codes)) if h else _NO_HASH for h in self._hashes]
        return Columns(count, failed, hashes, values)


def _side(columns: Columns, row: int, hashes: Sequence[str]) -> Side:
    """Row ``row`` of ``columns`` as a Side (``hashes``: the strings by code)."""
    code = int(columns.hash[row])
    return Side(
        tuple(columns.values[row, : columns.count[row]].tolist()),
        bool(columns.failed[row]),
        hashes[code] if code != _NO_HASH else None,
    )


def column_verdicts(
    metric: MetricRule, now: Columns, before: Columns, hash_codes: Mapping[str, int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """``_verdict`` of every test at once: (test indexes in LNT's reply order, each
    one's (test status, value status) pair as an index into ``_PAIRS``).

    The reply's order is LNT's buckets, tests in index order within each (a stable
    sort).  The arithmetic is ``performance_status``'s, operation for operation, so
    the verdicts are the same to the last bit; the rare rows with 4 or more samples on
    both sides that reach the rank test are handed to ``performance_status`` itself.
    """
    n = len(now.count)
    status = np.where(
        now.failed,
        np.where(before.failed, 1, 2),  # UNCHANGED_FAIL, REGRESSED
        np.where(before.failed, 3, 0),  # IMPROVED, UNCHANGED_PASS
    )
    has_value = now.count > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric.bigger_is_better:
            cur = np.fmax.reduce(now.values, axis=1)
        else:
            cur = np.fmin.reduce(now.values, axis=1)
        compared = has_value & (before.count > 0) & (cur != 0)
        # The previous sample closest to the current value; on a tie the later one.
        distance = np.abs(cur[:, None] - before.values)
        distance[np.isnan(distance)] = np.inf
        width = before.values.shape[1]
        closest = width - 1 - np.argmin(distance[:, ::-1], axis=1)
        prev = before.values[np.arange(n), closest]
        delta = cur - prev
        pct = np.where(prev != 0, delta / np.where(prev != 0, prev, 1.0), 0.0)
        # Python's sum(): left to right from the first sample; then as its stddev.
        total = now.values[:, 0].copy()
        for k in range(1, now.values.shape[1]):
            total = np.where(k < now.count, total + now.values[:, k], total)
        mean = total / np.maximum(now.count, 1)
        squares = np.asarray(_pow(now.values - mean[:, None], 2.0), dtype=np.float64)
        spread = squares[:, 0].copy()
        for k in range(1, squares.shape[1]):
            spread = np.where(k < now.count, spread + squares[:, k], spread)
        stddev = np.sqrt(spread / np.maximum(now.count, 1))
    # performance_status's rules, first match wins: perf codes index _PERF_CODES.
    perf = np.zeros(n, dtype=np.int64)  # None
    open_ = compared.copy()

    def settle(mask: npt.NDArray[np.bool_], code: npt.ArrayLike) -> None:
        hit = open_ & mask
        perf[hit] = code if np.isscalar(code) else np.asarray(code)[hit]
        open_[hit] = False

    settle(now.failed, 2)
    settle(before.failed, 1)
    if metric.ignore_same_hash:
        settle((now.hash != _NO_HASH) & (now.hash == before.hash), 1)
    settle((np.abs(pct) < MIN_PERCENTAGE_CHANGE) | (np.abs(delta) < MIN_PERCENTAGE_CHANGE), 1)
    settle(np.abs(delta) <= 2 * MIN_VALUE_PRECISION * CONFIDENCE_INTERVAL, 1)
    ranked = open_ & (now.count >= MIN_RANK_SAMPLES) & (before.count >= MIN_RANK_SAMPLES)
    if ranked.any():
        hashes = sorted(hash_codes, key=hash_codes.__getitem__)
        for row in np.flatnonzero(ranked).tolist():
            verdict = performance_status(
                _side(now, row, hashes),
                _side(before, row, hashes),
                metric.bigger_is_better,
                metric.ignore_same_hash,
            )
            perf[row] = _PERF_CODES.index(verdict)
        open_ &= ~ranked
    direction = np.where((delta < 0) == metric.bigger_is_better, 3, 4)
    moved = np.where(
        now.count > 1,
        np.abs(delta) > stddev * CONFIDENCE_INTERVAL,
        np.abs(pct) >= SINGLE_SAMPLE_CHANGE,
    )
    settle(np.ones(n, dtype=np.bool_), np.where(moved, direction, 1))
    # _verdict's buckets, first match wins.
    bucket = np.full(n, _UNCHANGED, dtype=np.int64)
    for mask, code in reversed(
        (
            (status == 2, _NEW_FAILURES),
            (status == 3, _NEW_PASSES),
            (has_value & ~(compared & (perf != 0)), _ADDED),
            (status == 1, _EXISTING_FAILURES),
            (perf == 3, _REGRESSIONS),
            (perf == 4, _IMPROVEMENTS),
        )
    ):
        bucket[mask] = code
    order = np.argsort(bucket, kind="stable")
    pairs = (status * len(_PERF_CODES) + perf)[order]
    return order, pairs


@dataclass(frozen=True)
class ColumnVerdicts:
    """``run_over_run``'s rows held as arrays: per metric, the test indexes in the
    reply's order and each one's (test status, value status) pair (an index into
    ``PAIRS``).  Iterating yields the rows; ``len`` counts them."""

    tests: Sequence[str]
    metrics: Sequence[tuple[str, npt.NDArray[np.int64], npt.NDArray[np.int64]]]

    def __len__(self) -> int:
        return sum(len(order) for _, order, _ in self.metrics)

    def __iter__(self) -> Iterator[tuple[str, str, str | None]]:
        tests = self.tests
        for name, order, pairs in self.metrics:
            for row, pair in zip(order.tolist(), pairs.tolist(), strict=True):
                status, perf = PAIRS[pair]
                yield f"{tests[row]}.{name}", status, perf


def column_run_over_run(
    metrics: Sequence[MetricRule],
    tests: Sequence[str],
    columns: Sequence[tuple[Columns, Columns]],
    hash_codes: Mapping[str, int],
) -> ColumnVerdicts:
    """``run_over_run`` from each metric's (current, previous) Columns."""
    return ColumnVerdicts(
        tests,
        [
            (metric.name, *column_verdicts(metric, now, before, hash_codes))
            for metric, (now, before) in zip(metrics, columns, strict=True)
        ],
    )
