"""Is the change between two runs of one series real?  Pure: numpy and scipy, no Django.

The run report and the compare page call a test a regression or an improvement only
when its change is both large enough (``min_change`` percent) and significant:

* with several samples in both runs, a two-sided rank test (Mann-Whitney U) or,
  when the samples are too few for the rank test ever to reach ``alpha``, Welch's
  t-test on the samples, at p < ``alpha``, and at least ``noise_factor`` times the
  samples' relative stdev;
* in every case, when the series has a known recent history, the change must be at
  least ``noise_factor`` times the series' run-to-run noise (1.4826 x the median
  absolute deviation of the last points before the newer run, relative to their
  median), and the new value that far from the history's median.  With several
  samples this comes on top of the test above, which alone still cries wolf: a
  stdev from three samples is often far too small, and on real machines runs vary
  from one another more than the samples of one run do.  With too little
  history, several samples are judged by the test alone, and a single sample is
  not counted (LNT's one-sample threshold cries wolf on every 2 % jitter).

Everything here is a plain function over plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

MAD_TO_SIGMA = 1.4826  # 1 / Phi^-1(3/4): MAD x this estimates sigma for normal noise
HISTORY_POINTS = 20  # points of history read before the newer run
MIN_HISTORY = 5  # fewer known points than this give no noise estimate

# Verdicts, also the ``reason`` of a row in the JSON export.
SIGNIFICANT = "significant"  # large enough and beyond the noise
SMALL = "small"  # below min_change: never counted, whatever the noise
NOISE = "noise"  # large enough but within the noise (or p >= alpha)
UNKNOWN = "unknown"  # one sample and too little history to estimate the noise


@dataclass(frozen=True)
class Verdict:
    """The judgement on one change.

    ``noise`` is in percent of the level, the noise the change was held to: with
    several samples the larger of the samples' relative standard deviation (given
    by the caller) and the history's run-to-run noise, with a single sample the
    history's noise; None when unknown.  ``history_noise`` is the history's
    run-to-run noise alone (percent), None with too little history.  ``p_value``
    is set only when the samples were tested.  ``method`` says which evidence
    decided: "mann-whitney" or "welch" (the samples, and the history when known),
    "history" (one sample) or "" (too small or unknown).
    """

    reason: str
    noise: float | None
    p_value: float | None
    method: str
    history_noise: float | None = None

    @property
    def significant(self) -> bool:
        return self.reason == SIGNIFICANT


def _finite(values: Sequence[object] | None) -> list[float]:
    """The finite numbers of ``values`` (None, strings, NaN and infinities dropped)."""
    # type() rather than isinstance(): bools are not numbers here, and this runs
    # for every sample of a report.
    return [
        float(v)  # type: ignore[arg-type]  # narrowed by the type() test
        for v in values or ()
        if type(v) in (float, int) and math.isfinite(v)  # type: ignore[arg-type]
    ]


def history_level(
    values: Sequence[float | None], *, min_points: int = MIN_HISTORY
) -> tuple[float, float] | None:
    """(median, robust relative noise in percent) of a series' recent values.

    The noise is 1.4826 x MAD / |median| x 100: about the standard deviation for
    normal noise, unmoved by a few outliers.  None when fewer than ``min_points``
    finite values are given or the median is 0 (no relative scale).  Identical
    values give a noise of 0.
    """
    known = _finite(values)
    if len(known) < min_points:
        return None
    # Plain sorting rather than numpy: a report calls this for every test, on
    # about 20 values, where numpy's per-call overhead is several times the work.
    median = _median(known)
    if median == 0:
        return None
    mad = _median([abs(v - median) for v in known])
    return median, MAD_TO_SIGMA * mad / abs(median) * 100.0


def _median(values: list[float]) -> float:
    """The median of a non-empty list (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def history_noise(values: Sequence[float | None], *, min_points: int = MIN_HISTORY) -> float | None:
    """The relative noise of ``history_level`` alone (percent), or None."""
    level = history_level(values, min_points=min_points)
    return level[1] if level else None


def rank_test_can_reach(n_old: int, n_new: int, alpha: float) -> bool:
    """Whether the exact two-sided Mann-Whitney test can give p < ``alpha`` at all.

    Its smallest p-value, for fully separated samples, is 2 / C(n_old + n_new, n_old):
    0.1 for 3 against 3, so three samples a side need Welch's test instead.
    """
    return 2.0 / math.comb(n_old + n_new, n_old) < alpha


def samples_p_values(
    pairs: Sequence[tuple[Sequence[float] | None, Sequence[float] | None]],
    *,
    alpha: float = 0.05,
) -> list[tuple[float | None, str]]:
    """Two-sided p-values that each (old, new) pair of samples share a distribution.

    Mann-Whitney U (robust to outliers) when it can reach ``alpha`` with the pair's
    sample counts, else Welch's t-test from the means and standard deviations
    (scipy's raw-sample version warns on constant samples).  Both sides constant:
    p = 0 when they differ, 1 when equal.  Fewer than two finite samples on either
    side: (None, "").  Returns (p, method) per pair, in order.  Vectorised: one
    scipy call per distinct pair of sample counts, since a report judges
    thousands of tests at once.
    """
    out: list[tuple[float | None, str]] = [(None, "")] * len(pairs)
    by_counts: dict[tuple[int, int], list[tuple[int, list[float], list[float]]]] = {}
    for i, (old, new) in enumerate(pairs):
        a, b = _finite(old), _finite(new)
        if len(a) >= 2 and len(b) >= 2:
            by_counts.setdefault((len(a), len(b)), []).append((i, a, b))
    for (n_a, n_b), group in by_counts.items():
        olds = np.array([a for _, a, _ in group])
        news = np.array([b for _, _, b in group])
        if rank_test_can_reach(n_a, n_b, alpha):
            p_values = stats.mannwhitneyu(olds, news, alternative="two-sided", axis=1).pvalue
            method = "mann-whitney"
        else:
            mean_a, mean_b = olds.mean(axis=1), news.mean(axis=1)
            sd_a, sd_b = olds.std(axis=1, ddof=1), news.std(axis=1, ddof=1)
            constant = (sd_a == 0) & (sd_b == 0)
            # Constant pairs are settled below; give them a harmless spread meanwhile.
            p_values = stats.ttest_ind_from_stats(
                mean_a,
                np.where(constant, 1.0, sd_a),
                n_a,
                mean_b,
                np.where(constant, 1.0, sd_b),
                n_b,
                equal_var=False,
            ).pvalue
            p_values = np.where(constant, np.where(mean_a != mean_b, 0.0, 1.0), p_values)
            method = "welch"
        for (i, _, _), p in zip(group, np.atleast_1d(p_values), strict=True):
            out[i] = (float(p), method)
    return out


def samples_p_value(
    old: Sequence[float], new: Sequence[float], *, alpha: float = 0.05
) -> tuple[float | None, str]:
    """``samples_p_values`` for one pair."""
    return samples_p_values([(old, new)], alpha=alpha)[0]


def change_verdict(
    delta: float,
    *,
    old_samples: Sequence[float] | None = None,
    new_samples: Sequence[float] | None = None,
    tested: tuple[float | None, str] | None = None,
    sample_noise: float | None = None,
    history: Sequence[float | None] | None = None,
    new_value: float | None = None,
    min_change: float = 1.0,
    alpha: float = 0.05,
    noise_factor: float = 3.0,
    min_history: int = MIN_HISTORY,
) -> Verdict:
    """Judge a relative change ``delta`` (percent, signed) between two runs.

    With at least two samples on both sides the samples are tested
    (``samples_p_value``; pass ``tested``, its result, when computed in bulk): the
    change must have p < ``alpha`` and reach ``noise_factor`` times
    ``sample_noise`` (the samples' relative stdev in percent, from the caller; an
    effect-size floor, since with hundreds of tests p < 0.05 alone flags one in
    twenty unchanged ones).

    ``history`` (the series' values before the newer run, the old run's included)
    gives the run-to-run noise, when it has at least ``min_history`` known values.
    The change must then also reach ``noise_factor`` times it and, when
    ``new_value`` is given, the new value must stand ``noise_factor`` times the
    noise away from the history's median; with several samples this is required
    on top of the samples' test: with three samples a run the test alone flags
    about 1.3 % of unchanged tests, even with no run-to-run noise beyond the
    samples' (their stdev, from three values, is often far too small), and more
    when runs vary from one another more than samples do (bench/report_quality.py
    and tests/selectors/test_significance.py measure it).  The second
    condition matters: the difference of two single samples carries sqrt(2) times
    the noise, so |delta| >= 3 x noise alone calls about 7 % of unchanged tests
    changed (13 in 200 per run, with 2 % Gaussian noise and 20 points of history);
    with it, about 1.6 %, for a power of 87 % on a 10 % step instead of 89 %
    (tests/selectors/test_significance.py measures both).  Leave ``new_value``
    None when the old run is not in the history (an old baseline): the history's
    median then says nothing about the old level, and a step that happened since
    the baseline must not be hidden because the recent runs share it.

    With fewer than ``min_history`` known values, several samples are judged by
    their test alone and a single sample's verdict is UNKNOWN.  A change below
    ``min_change`` percent is SMALL whatever the evidence.  Direction
    (worse/better) is the caller's business.
    """
    if tested is None:
        tested = samples_p_value(old_samples or (), new_samples or (), alpha=alpha)
    p_value, method = tested
    level = history_level(history or (), min_points=min_history)
    run_noise = level[1] if level else None
    if method:
        known = [n for n in (sample_noise, run_noise) if n is not None]
        noise = max(known) if known else None
    else:
        noise = run_noise
    if abs(delta) < min_change:
        return Verdict(SMALL, noise, p_value, method, run_noise)
    beyond_history = False
    if level is not None:
        median, run_noise = level
        beyond_history = abs(delta) >= noise_factor * run_noise
        if new_value is not None:
            away = abs(new_value - median) / abs(median) * 100.0
            beyond_history = beyond_history and away >= noise_factor * run_noise
    if method:
        beyond = p_value is not None and p_value < alpha
        if sample_noise is not None:
            beyond = beyond and abs(delta) >= noise_factor * sample_noise
        if level is not None:
            beyond = beyond and beyond_history
        return Verdict(SIGNIFICANT if beyond else NOISE, noise, p_value, method, run_noise)
    if level is None:
        return Verdict(UNKNOWN, None, None, "")
    return Verdict(SIGNIFICANT if beyond_history else NOISE, noise, None, "history", run_noise)
