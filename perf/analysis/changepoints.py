"""Change-point detection for one benchmark series (pure: numpy and scipy only).

A *series* is the per-order history of one machine x test x metric. Item ``i`` holds the
samples measured at the ``i``-th order (a bare number is one sample; several runs at one
order pool their samples). ``None``, an empty list, or a list whose samples are all
non-finite (NaN, inf) means the test was missing or failed at that order: that order is
UNKNOWN. An unknown order is skipped -- it is never evidence of a change, nor of a fix --
but indices in every result still refer to positions in the input.

Method ("mwu+median")
---------------------
Each known order is summarised by its *level*, the median of its samples (one wild sample
in a run of three does not move it). With ``use_means`` (the default) the conditions that
need the noise (effect, z-score, pair spread, drift; all below) read each order's mean
of its samples in place of its level. For a candidate index ``i`` (a known order):

* the *before* window is the known orders in ``[i - window_before, i)``, the *after*
  window the known orders in ``[i, i + window_after)`` (windows are counted in positions,
  not in known orders, so that the verdict stays local even across long gaps);
* ``old`` and ``new`` are the medians of the levels of the two windows;
* the noise (one order's level, in the metric's unit) is estimated from the history itself:
  the absolute differences of the pairs of known levels at most ``noise_pair_lag`` orders
  apart inside the *noise window* (the known orders in ``[i - noise_window, i)``, 40 by
  default: twice the before window, for a steadier estimate) and inside the after window
  (never across ``i``, so the
  step does not inflate them; nor, much, an earlier step or a drift inside a window):
  a first, robust scale is the mean of the smallest 70 % of them (a few wild orders or a
  second mode do not move it); the noise is then the root mean square of all of them,
  each first clipped to ``2 x sqrt(2)`` times that first scale (a Huber-type scale:
  a wild order adds at most a bounded amount, and on Gaussian levels it is as steady as a
  standard deviation on 0.77 degrees of freedom per order, against 0.60 for the trimmed
  mean alone), scaled to a Gaussian standard deviation and floored at
  ``noise_floor_relative x |old|``. Unlike deviations from a window's own median, this
  is unbiased on an after window of two or three orders (the end of history);
* ``i`` is a *candidate* when all of these hold:
  at least ``min_before`` / ``min_after`` known orders on each side;
  ``|new - old| / |old| >= min_relative_change``;
  ``|new - old| >= min_effect_sigmas`` noise units;
  the z-score reaches the quantile of a Student t with the one-sided tail that ``min_z``
  has for a Gaussian, with 0.77 degrees of freedom per order that contributes pairs to the
  noise: the noise is estimated, and a z-score computed with few orders must be larger
  (``min_z = 3.2`` needs 3.46 with full windows, 3.52 with 40 orders before and two after,
  3.89 with 20 before and two after, 4.9 with ten before and two after). The z-score is
  the shift between the *clipped means* of the two windows (each level first pulled to
  within ``clip_sigmas`` noise units of its window's median: a one-step Huber estimate,
  nearly as efficient as a mean on Gaussian levels and as robust as a median to one wild
  run), in the direction of
  ``new - old``, over ``noise * sqrt(1.06/n_before + 1.06/n_after)`` (1.0 instead of
  1.06 for a window of one or two levels). When a linear trend common to the noise window
  and the after window (below) has a slope at least ``trend_t`` standard errors from zero
  (or the noise window holds fewer known orders than ``window_before``), its rise from
  the before window's centre to the after window's is taken out of the shift and its
  variance added to the standard error (the slope's own and its covariance with the
  before window's mean: ``_slope_variance``);
  order ``i`` itself and at least ``min_persistence`` of the after window lie beyond the
  midpoint ``(old + new) / 2`` on the side of the change (one outlier is not a new level;
  with ``use_means`` these are the orders' means);
  the step is sharp: the medians of the ``sharpness_orders`` known orders nearest to ``i``
  on each side differ by at least ``min_sharpness`` of ``new - old`` in the same direction
  (a slow drift moves the far windows apart but not the near ones);
  a linear trend with one slope common to the noise window and the after window (fitted
  around the before and after windows' own medians, so the step does not tilt it)
  explains at most ``max_drift_share`` of the step (with ``drift_guard_near``, the
  smaller of that slope and the one fitted on the before window instead of the noise
  window, so that an earlier step 20-40 orders back does not make this one a drift);
  with exactly two known orders after ``i`` (the first look at a step), their levels
  differ by at most ``max_pair_spread`` noise units (two consecutive wild runs are not a
  new level);
  a two-sided Mann-Whitney U test (``scipy.stats.mannwhitneyu``) of all the samples of the
  before window against all the samples of the after window gives ``p <= alpha``.
* Short history: with one to ``short_history`` known orders before it, ``i`` is also a
  candidate when every known level of its after window is at least ``min_step_ratio``
  times every known level of its before window, or at most its inverse (all levels
  positive), with ``min_after`` known orders after it; no rank test is needed (none can
  pass on so few samples) and ``method`` is ``SHORT_HISTORY_METHOD``. LNT's own corpus
  (1.0 then 10.0, one sample per run) is then a suspect at once (``find_suspect``) and a
  change on the next run at 10.0. The price: a wild first run (x2 or more) followed by
  two normal ones is reported too, as nothing on a one-run history can tell them apart.
  Every condition but the rank test (the *cheap* conditions) depends on the levels alone;
  ``candidate_cells`` evaluates them with numpy for many indices, of many series, at once,
  and scipy is only called for the few indices that pass them. ``screen_levels`` (module
  ``screening``) runs the same function on stored levels to skip clean series unloaded.
* Non-maximum suppression: a candidate is reported only if no other candidate within
  ``suppression_radius`` positions has a smaller p-value (then: a larger z-score, then an
  earlier index), so one step is reported once, at the order where the two windows are
  cleanest.
* ``hashes`` (metrics with ``ignore_same_hash``): a reported index ``i`` is dropped when
  the last non-null hash in ``hashes[i - lookback : i]`` equals ``hashes[i]``.

``bigger_is_better`` only decides ``ChangePoint.is_regression``; it never changes whether
a change is detected.

Locality contract
-----------------
Whether index ``i`` is reported, and all its fields, depend only on
``series[i - lookback : i + lookahead]`` (and the same slice of ``hashes``), where
``lookback = max(window_before, noise_window) + suppression_radius`` and
``lookahead = window_after + suppression_radius``. Positions outside the history are
treated exactly like unknown orders, so a window truncated at the start (or the current
end) of history behaves as if padded with missing orders. ``evaluate_slice`` and
``slice_bounds`` let a caller work on a short slice of a long history and know which
verdicts the slice settles.

Verdict policy and needed history
---------------------------------
Verdicts near the end of history are provisional: the after window of a recent index is
truncated by the end of history and fills up as runs arrive, so a change first reported on
little data may be withdrawn when the next runs do not confirm it, and a suspect that did
not yet pass may be confirmed by the next runs. A verdict is final once ``lookahead``
more orders exist after it.

Each new run re-evaluates the last ``lookahead`` indices, so an index gets about ten
looks while its after window fills; every alarm raised on one of them reaches people
even if a later look withdraws it. The thresholds are set for that: on clean replayed
histories (``bench/detection_quality.py``, 150,000 orders per row) 0.05-0.61 alarms per
1,000 orders are ever raised, withdrawn ones included, with gaussian, heavy-tailed or
bimodal noise of 1-5 %, 0.19-0.80 with wild runs, but 0.35 (one sample per run) to 1.18
(three) on a slow drift of 3-10 sigma over 150 orders: many of them on the first look
(two orders after the index), where a 10 % step at 3 % noise must also be found.

A change needs at least ``min_after`` (default 2) known orders at the new level, so one
outlying run never raises an alarm on its own, and ``min_before`` (default 2) before it.
The rank test then decides how much more is needed, because it cannot reach ``alpha``
(default 0.001) on too few samples:

* three samples per order: two orders after the step with 20 before (a 10 % step at 1-2 %
  noise is reported by the second run after it), three after with two before;
* ONE sample per order: four orders after the step with 20 known before (three after can
  never reach 0.001: p >= 0.0011), five after with 10 before, eight after with six before,
  ten after with five before; with four or fewer before it, never by the rank test: only
  the short-history rule (a step of ``min_step_ratio`` or more) reports a change there.

Samples with ties (quantised timings) get the normal approximation of the rank test,
which is conservative on small windows and may need one order more.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import median

import numpy as np
import numpy.typing as npt

from perf.analysis.scipy_stats import stats
from perf.analysis.summary import sample_mean

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
SeriesItem = float | Sequence[float] | None

METHOD = "mwu+median"
# A change reported by the short-history rule (``DetectionParams.min_step_ratio``).
SHORT_HISTORY_METHOD = "mwu+median/short-history"

# The noise scale averages the smallest _PAIR_KEEP of the absolute differences of pairs of
# levels; for a unit Gaussian such a difference is |N(0, 2)|, and that average is
# sqrt(2) * 2 * (phi(0) - phi(q)) / 0.7 with q = Phi^-1(0.85) = 1.0364.
_PAIR_KEEP = 0.7
_PAIR_TRIMMED_ABS_MEAN = 0.66987
# The noise is the root mean square of the pair differences, each clipped to _NOISE_CLIP
# Gaussian standard deviations (of a difference: sqrt(2) noise units) of the trimmed scale.
_NOISE_CLIP = 2.0
# Degrees of freedom of the noise estimate per order that contributes pairs: the squared
# clipped scale of pairs at most 5 orders apart on n Gaussian levels (n - 1 before, one
# pair after) varies like a sample variance on 0.77-0.82 (n - 1) degrees of freedom
# (2 / its variance; simulated, 20,000 windows of 10, 20, 30 and 40 levels; the trimmed
# scale alone: 0.57-0.62).  The smallest is used.
_DEGREES_PER_ORDER = 0.77
# Asymptotic variance of a sample median relative to that of a mean (Gaussian noise).
_MEDIAN_VARIANCE_FACTOR = math.pi / 2
# n * variance of the median of n unit Gaussians, n = 0 .. 20 (0 is a placeholder: an empty
# window never gets here); simulated with 400,000 draws each, rounded up.
_SMALL_MEDIAN_VARIANCE = np.array(
    [1.0, 1.0, 1.0, 1.35, 1.20, 1.44, 1.29, 1.48, 1.35, 1.50, 1.39,
     1.51, 1.42, 1.52, 1.44, 1.53, 1.46, 1.54, 1.47, 1.53, 1.47]
)
# n * variance of the mean of n unit Gaussians each clipped to 1.5 of their median, n >= 3
# (simulated with 200,000 draws for n = 3 .. 30: 1.04 to 1.06, rounded up).
_CLIPPED_MEAN_VARIANCE = 1.06
# Default of ``DetectionParams.noise_pair_lag`` (also the default of ``_pairwise_scale``,
# which the run report's verdict calls directly).
_NOISE_PAIR_LAG = 5
# Smallest noise used, in the metric's unit, so that a constant series at 0 divides safely.
_TINY = 1e-12


@dataclass(frozen=True)
class DetectionParams:
    """Tunables of the detector.

    The defaults were chosen on ``bench/detection_quality.py --seed 20240521`` (its tune
    seed) and are reported on another seed; the statistical ones (``min_z``, ``alpha``,
    ``trend_t``) are tail probabilities, the others floors against what no test models
    (``min_effect_sigmas``: a shift of less than 2.6 noise units is not reported however
    long the windows, which is what keeps a slow drift from adding up to an alarm;
    ``max_pair_spread``: two orders after a step agree with each other).

    Windows and radii are counted in orders (positions in the series, unknown ones
    included). Effects are in units of the estimated noise of one order's level unless said.
    """

    window_before: int = 20
    """Orders before a candidate index used to estimate the old level."""
    window_after: int = 10
    """Orders from the candidate index on used to estimate the new level."""
    suppression_radius: int = 4
    """A change is reported only if it beats every other candidate within this distance."""
    min_before: int = 2
    """Known orders needed in the before window."""
    min_after: int = 2
    """Known orders needed in the after window (orders at the new level)."""
    min_relative_change: float = 0.01
    """Smallest ``|new - old| / |old|`` reported (0.01 = 1 %), whatever the noise."""
    min_effect_sigmas: float = 2.6
    """Smallest ``|new - old|`` reported, in noise units, whatever the window sizes."""
    min_z: float = 3.2
    """Smallest ``|new - old|`` in standard errors of the difference of the two medians,
    for a known noise; the threshold used is the Student t quantile with the same tail."""
    min_persistence: float = 0.75
    """Fraction of after-window orders that must lie beyond the midpoint of old and new."""
    sharpness_orders: int = 3
    """Known orders on each side of the candidate used for the sharpness check."""
    min_sharpness: float = 0.5
    """The near medians must differ by this fraction of ``new - old`` (rejects slow drifts)."""
    trend_t: float = 1.0
    """A linear trend common to both windows whose slope is at least this many standard
    errors from zero is subtracted from the step before the z-score (whose standard error
    then includes the slope's); a weaker one is ignored, except on a noise window with
    fewer known orders than ``window_before``, where the slope always counts."""
    max_drift_share: float = 0.2
    """Largest share of ``new - old`` that a linear trend common to both windows may explain."""
    drift_guard_near: bool = True
    """The drift guard (``max_drift_share``) reads the smaller of two slopes, or none
    when they disagree in sign: the common slope (noise window and after window) and
    the same fit on the before window instead of the noise window. A real drift shows
    in both; an earlier step 20-40 orders back tilts the first only, and used to make
    the next step look like a drift. The detrending of the z-score keeps the first."""
    alpha: float = 0.001
    """Significance level of the two-sided Mann-Whitney U test on the pooled samples."""
    clip_sigmas: float = 1.5
    """The z-score compares means of levels clipped to this many noise units of their
    window's median (a one-step Huber estimate; its variance factors assume 1.5)."""
    short_history: int = 4
    """A before window with at most this many known orders is a *short history*: too few
    to estimate the noise, so the ``min_step_ratio`` rule also applies there (0 turns it
    off). With one sample per order the rank test cannot reach ``alpha`` with four or
    fewer known orders before a step: there only this rule can report one."""
    min_step_ratio: float = 2.0
    """On a short history, a change is reported (without rank test) when every known level
    of the after window is at least this ratio times every known level before it, or at
    most its inverse (all levels positive). ``min_after`` orders at the new level are
    still needed; a suspect needs one. 2.0: a doubling is far outside the run-to-run noise
    of any benchmark we know (a few %), and a halving likewise."""
    noise_pair_lag: int = _NOISE_PAIR_LAG
    """The noise is taken from pairs of levels at most this many orders apart in one
    window: an earlier step or a slow drift inside a window then barely inflates it."""
    noise_floor_relative: float = 0.001
    """The noise estimate is at least this fraction of ``|old|`` (quantised, flat series)."""
    max_pair_spread: float = 5.0
    """With exactly two known orders after the candidate, their levels may differ by at
    most this many noise units: two orders at one new level agree (a Gaussian pair
    differs by more than 5 noise units once in 2 million), two consecutive wild runs
    seldom do."""
    noise_window: int = 40
    """Orders before a candidate index whose levels give the noise estimate and the
    slope of a drift (the before window when that is longer: ``history_before``). The
    noise is the uncertain part of the z-score: a longer window gives it more degrees of
    freedom, hence a lower threshold and a steadier one, while the levels compared stay
    the ``window_before`` nearest. Pairs are at most ``noise_pair_lag`` orders apart, so
    a slow drift barely inflates the estimate."""

    use_means: bool = True
    """The conditions that need the noise (the effect, the z-score, the pair spread and
    the drift) read each order's *mean* of its finite samples (``means_of``, which is
    ``Point.mean``) instead of its median. With three samples per run the mean's variance
    is about 17 % smaller than the median's (run offset included), which the first look
    needs; the clipped means and the rank test still guard against a wild sample or run.
    Callers of ``screen_levels`` and ``screen_suspects`` must then pass the means too."""

    def __post_init__(self) -> None:
        if self.window_before < 1 or self.window_after < 1:
            raise ValueError("window_before and window_after must be at least 1")
        if self.suppression_radius < 0:
            raise ValueError("suppression_radius must not be negative")
        if not 1 <= self.min_before <= self.window_before:
            raise ValueError("min_before must be between 1 and window_before")
        if not 1 <= self.min_after <= self.window_after:
            raise ValueError("min_after must be between 1 and window_after")
        if self.noise_window < 1:
            raise ValueError("noise_window must be at least 1")
        if self.noise_pair_lag < 1:
            raise ValueError("noise_pair_lag must be at least 1")
        if self.sharpness_orders < 1:
            raise ValueError("sharpness_orders must be at least 1")
        if self.short_history < 0:
            raise ValueError("short_history must not be negative")
        if not self.min_step_ratio > 1:
            raise ValueError("min_step_ratio must be greater than 1")
        if not 0 < self.alpha <= 1:
            raise ValueError("alpha must be in (0, 1]")

    @property
    def lookback(self) -> int:
        """Orders before index ``i`` that its verdict may depend on."""
        return self.history_before + self.suppression_radius

    @property
    def history_before(self) -> int:
        """Orders before index ``i`` that its conditions read (means and noise)."""
        return max(self.window_before, self.noise_window)

    @property
    def lookahead(self) -> int:
        """Orders from index ``i`` on (``i`` included) that its verdict may depend on."""
        return self.window_after + self.suppression_radius


@dataclass(frozen=True)
class ChangePoint:
    """One detected change.

    ``index`` is the first order at the new level (a position in the input series).
    ``old_value`` / ``new_value`` are the medians of the per-order medians of the before
    and after windows, in the metric's unit. ``relative_change`` is
    ``(new - old) / |old|``, signed (+0.1 = 10 % up; +-inf when ``old`` is 0).
    ``confidence`` is ``1 - p`` of the Mann-Whitney U test, in [0, 1].
    ``is_regression`` is True for an increase when smaller is better, for a decrease when
    bigger is better.
    """

    index: int
    old_value: float
    new_value: float
    relative_change: float
    confidence: float
    method: str
    is_regression: bool


@dataclass(frozen=True)
class SliceResult:
    """What a slice of history settles.

    ``change_points`` holds the changes found at indices in ``settled`` only, with global
    indices. ``settled`` is the range of global indices whose verdict (reported or not, and
    every field) is exactly the one ``find_change_points`` gives on the whole history.
    """

    change_points: list[ChangePoint]
    settled: range


def find_change_points(
    series: Sequence[SeriesItem],
    *,
    bigger_is_better: bool = False,
    hashes: Sequence[str | None] | None = None,
    params: DetectionParams = DetectionParams(),  # noqa: B008 -- frozen, safe to share
) -> list[ChangePoint]:
    """Return the changes in ``series``, ordered by index.

    Edge cases: an empty series, or one with fewer than ``min_before + min_after`` known
    orders, has no change. Single-sample orders take their noise from the history; several
    samples per order are summarised by their median and all of them enter the rank test.
    ``hashes``, when given, must have the same length as ``series``.
    """
    return evaluate_slice(
        series,
        offset=0,
        total_length=len(series),
        bigger_is_better=bigger_is_better,
        hashes=hashes,
        params=params,
    ).change_points


def evaluate_slice(
    values: Sequence[SeriesItem],
    *,
    offset: int,
    total_length: int,
    bigger_is_better: bool = False,
    hashes: Sequence[str | None] | None = None,
    params: DetectionParams = DetectionParams(),  # noqa: B008 -- frozen, safe to share
) -> SliceResult:
    """Detect changes in ``values = history[offset : offset + len(values)]``.

    ``total_length`` is the length of the whole history. Indices in the result are global.
    ``settled`` holds the indices of the slice whose full lookback and lookahead lie in the
    slice, or are cut only by the true start (index 0) or true end (``total_length``) of
    history; only changes at settled indices are returned. ``hashes`` is the same slice of
    the hash history, or None.
    """
    length = len(values)
    if offset < 0 or total_length < offset + length:
        raise ValueError("the slice must lie inside the history: 0 <= offset <= "
                         "offset + len(values) <= total_length")
    if hashes is not None and len(hashes) != length:
        raise ValueError("hashes must have the same length as the series")
    settled = _settled_range(offset, length, total_length, params)
    if not settled:
        return SliceResult([], settled)
    local = range(settled.start - offset, settled.stop - offset)
    return SliceResult(_detect(values, hashes, local, offset, bigger_is_better, params), settled)


def slice_bounds(
    index_range_start: int,
    index_range_stop: int,
    total_length: int,
    params: DetectionParams = DetectionParams(),  # noqa: B008 -- frozen, safe to share
) -> tuple[int, int]:
    """Return ``(lo, hi)``: load ``history[lo:hi]`` to settle every index in ``[start, stop)``.

    The range is clipped to ``[0, total_length)``; an empty range gives an empty slice.
    """
    start = max(0, index_range_start)
    stop = min(total_length, index_range_stop)
    if start >= stop:
        return (start, start) if start <= total_length else (total_length, total_length)
    lo = max(0, start - params.lookback)
    hi = min(total_length, stop - 1 + params.lookahead)
    return lo, hi


def affected_indices(
    order_index: int,
    total_length: int,
    params: DetectionParams = DetectionParams(),  # noqa: B008 -- frozen, safe to share
) -> range:
    """Return the indices whose verdict may change when the item at ``order_index`` changes.

    That is every ``i`` with ``i - lookback <= order_index < i + lookahead``, clipped to the
    history. Pass it to ``slice_bounds`` to know what to load after a submission.
    """
    start = max(0, order_index - params.lookahead + 1)
    stop = min(total_length, order_index + params.lookback + 1)
    return range(start, max(start, stop))


def _settled_range(offset: int, length: int, total_length: int,
                   params: DetectionParams) -> range:
    lo, hi = offset, offset + length
    first = lo if lo == 0 else lo + params.lookback
    last = hi if hi == total_length else hi - params.lookahead + 1
    return range(first, max(first, last)) if first < hi else range(first, first)


def samples_of(item: SeriesItem) -> list[float]:
    """The finite samples of one series item (``[]`` for an unknown order)."""
    if item is None:
        return []
    if isinstance(item, int | float):
        value = float(item)
        return [value] if math.isfinite(value) else []
    return [float(v) for v in item if math.isfinite(float(v))]


def _pairwise_scale(
    windows_before: FloatArray, windows_after: FloatArray, lag: int = _NOISE_PAIR_LAG
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Gaussian-equivalent standard deviation of one level, per row, and its weight.

    The absolute differences of the pairs of known levels at most ``lag`` orders apart
    inside the same window (never across the candidate, so the step does not inflate
    them) are pooled. The mean of the smallest 70 % of them, divided by its expectation
    for a unit Gaussian, is a robust first scale (the trim leaves out up to three wild
    orders in twenty, or a second mode). The noise is the root mean square of every
    difference clipped to ``_NOISE_CLIP * sqrt(2)`` first scales, over its expectation
    for a unit Gaussian: on Gaussian levels it is about 30 % steadier than the trimmed
    mean (more degrees of freedom, so a lower threshold on the z-score), while a wild
    order still adds a bounded amount. Unlike deviations from a window median it is
    unbiased on a window of two or three orders.
    Also returns ``(n_before - 1) + (n_after - 1)`` (windows with one known order count
    0): the index, in ``_z_thresholds``, of the threshold that allows for the estimate's
    own uncertainty. A row with no pair gives NaN and index 0.
    """
    first_b, second_b = _pairs(windows_before.shape[1], lag)
    first_a, second_a = _pairs(windows_after.shape[1], lag)
    # One buffer, filled, sorted and masked in place: this runs on every cell that reaches
    # the noise test, so it avoids the temporaries of the obvious expression.
    split = len(first_b)
    differences = np.empty((windows_before.shape[0], split + len(first_a)))
    np.subtract(np.take(windows_before, first_b, axis=1),
                np.take(windows_before, second_b, axis=1), out=differences[:, :split])
    np.subtract(np.take(windows_after, first_a, axis=1),
                np.take(windows_after, second_a, axis=1), out=differences[:, split:])
    np.abs(differences, out=differences)
    known_before = np.count_nonzero(~np.isnan(windows_before), axis=1)
    known_after = np.count_nonzero(~np.isnan(windows_after), axis=1)
    counts = np.count_nonzero(~np.isnan(differences), axis=1)  # pairs of known levels
    differences.sort(axis=1)  # NaN sorts last
    kept = np.maximum(np.floor(_PAIR_KEEP * counts), 1)
    column = np.arange(differences.shape[1])[None, :]
    # A difference that overflowed counts as the largest float. Beyond ``kept`` (the
    # first scale) or ``counts`` (the clipped one) the sums see zeros: a NaN (unknown
    # pair) always sorts beyond both, and a row without pairs is NaN anyway.
    np.minimum(differences, np.finfo(np.float64).max, out=differences)
    trimmed = np.where(column < kept[:, None], differences, 0.0).sum(axis=1)
    first = trimmed / kept / _PAIR_TRIMMED_ABS_MEAN
    np.minimum(differences, (_NOISE_CLIP * math.sqrt(2.0) * first)[:, None], out=differences)
    np.square(differences, out=differences)
    squares = np.where(column < counts[:, None], differences, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        clipped = np.sqrt(squares / np.maximum(counts, 1) / (2.0 * _clipped_square_mean()))
    scale = np.where(counts > 0, clipped, np.nan)
    degrees = np.maximum(known_before - 1, 0) + np.maximum(known_after - 1, 0)
    return scale, degrees


@lru_cache(maxsize=1)
def _clipped_square_mean(clip: float = _NOISE_CLIP) -> float:
    """``E[min(Z**2, clip**2)]`` for a unit Gaussian ``Z`` (0.9205 for 2)."""
    norm = stats().norm
    inside = 2.0 * float(norm.cdf(clip)) - 1.0
    return inside - 2.0 * clip * float(norm.pdf(clip)) + 2.0 * clip * clip * float(norm.sf(clip))


@lru_cache(maxsize=8)
def _pairs(width: int, lag: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Column indices ``(j, k)``, ``j < k <= j + lag``, of the pairs in a window of ``width``."""
    first, second = np.triu_indices(width, 1)
    near = second - first <= lag
    return first[near].astype(np.intp), second[near].astype(np.intp)


@lru_cache(maxsize=8)
def _z_thresholds(min_z: float, size: int) -> FloatArray:
    """Threshold on z, indexed by ``(n_before - 1) + (n_after - 1)`` (0 .. ``size``).

    The noise is estimated, not known: a z-score computed with it has the heavier tails of
    a Student t whose degrees of freedom are about 0.77 per pair-contributing order (the
    variance of the clipped pairwise scale, ``_DEGREES_PER_ORDER``). The threshold is the
    t quantile with the same one-sided tail as ``min_z`` has for a Gaussian: 3.2 becomes
    3.46 with 48 such orders, 3.52 with 40, 3.89 with 20, 4.9 with 10, and no threshold
    can be met without a pair.
    """
    tail = float(stats().norm.sf(min_z))
    degrees = _DEGREES_PER_ORDER * np.arange(1, size + 1, dtype=np.float64)
    return np.concatenate([[np.inf], stats().t.isf(tail, degrees)]).astype(np.float64)


def _clipped_mean(rows: FloatArray, centres: FloatArray, clip: FloatArray) -> FloatArray:
    """Mean of each row's known values, each clipped to ``centre +- clip`` first.

    A one-step Huber estimate of location around the row's median. Rows with no known
    value give NaN (never reached: a cell has known orders on both sides).
    """
    low, high = (centres - clip)[:, None], (centres + clip)[:, None]
    clipped = np.minimum(np.maximum(rows, low), high)  # NaN stays NaN
    known = np.count_nonzero(~np.isnan(rows), axis=1)
    return np.asarray(np.nansum(clipped, axis=1) / np.maximum(known, 1), dtype=np.float64)


def _clipped_mean_variance_factor(counts: npt.NDArray[np.intp]) -> FloatArray:
    """Variance of ``_clipped_mean`` of ``n`` Gaussian levels, in units of ``noise**2 / n``.

    1.0 for one or two levels (the clip is symmetric about their median: the plain mean),
    ``_CLIPPED_MEAN_VARIANCE`` from three on.
    """
    return np.where(counts <= 2, 1.0, _CLIPPED_MEAN_VARIANCE)


def _median_variance_factor(counts: npt.NDArray[np.intp]) -> FloatArray:
    """Variance of a median of ``n`` Gaussian levels, in units of ``noise**2 / n``.

    Exact small-sample values (``_SMALL_MEDIAN_VARIANCE``) up to 20 levels, the asymptotic
    ``pi / 2`` beyond: a median of two is their mean (1.0), a median of three 1.35.
    """
    table = _SMALL_MEDIAN_VARIANCE
    return np.where(
        counts < len(table), table[np.clip(counts, 0, len(table) - 1)], _MEDIAN_VARIANCE_FACTOR
    )


def _row_median(
    rows: FloatArray, counts: npt.NDArray[np.intp] | None = None
) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Median of each row ignoring NaN (NaN for an all-NaN row), and the count of values.

    ``counts``, when the caller already knows them, must be the non-NaN count of each row.
    """
    ordered = np.sort(rows, axis=1)  # NaN sorts last
    if counts is None:
        counts = np.count_nonzero(~np.isnan(rows), axis=1)
    low = np.clip((counts - 1) // 2, 0, None)
    high = np.clip(counts // 2, 0, rows.shape[1] - 1)
    every = np.arange(len(rows))
    lo_values = ordered[every, low]
    hi_values = ordered[every, high]
    medians = (lo_values + hi_values) / 2
    medians[counts == 0] = np.nan
    return medians, counts


def _slope_terms(
    rows: FloatArray, centres: FloatArray, offsets: FloatArray, clip: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Least-squares terms of each row's values against ``offsets``, known cells only.

    Returns ``(sum (x - mean x)^2, sum (x - mean x) * y, mean x)`` where ``y`` is the value
    minus the row's centre, clipped to ``+-clip``. Rows with no known cell give zeros.
    """
    known = ~np.isnan(rows)
    counts = np.maximum(np.count_nonzero(known, axis=1), 1)
    mean_x = (known * offsets).sum(axis=1) / counts
    dx = np.where(known, offsets - mean_x[:, None], 0.0)
    dy = np.clip(np.nan_to_num(rows - centres[:, None]), -clip[:, None], clip[:, None])
    return (dx * dx).sum(axis=1), (dx * dy).sum(axis=1), mean_x


def _slope_variance(distance: FloatArray, lead: FloatArray, sxx: FloatArray) -> FloatArray:
    """Variance (in squared noise units) that subtracting ``slope * distance`` adds to a
    difference of window means, for a slope fitted by least squares with ``sxx``.

    ``distance`` is the distance between the two windows' centres, ``lead`` how far the
    before window's centre lies after the centre of the noise window the slope is fitted
    on. The slope's own variance gives ``distance**2 / sxx``; the before window is the
    newest part of that noise window, so its mean and the slope rise together (their
    covariance is ``lead / sxx`` for a mean of equally weighted levels), which adds
    ``2 * distance * lead / sxx``: a detrended shift is noisier than the slope's variance
    alone says (with 7 orders after a 20-order before window in a 40-order noise window,
    its standard error is about 10 % larger; ``tests/analysis/test_changepoints.py``).
    """
    return np.asarray(distance * (distance + 2 * lead) / np.where(sxx > 0, sxx, 1.0),
                      dtype=np.float64)


def _known_centre(rows: FloatArray, offsets: FloatArray) -> FloatArray:
    """Mean offset of each row's known cells (0 for a row with none)."""
    known = ~np.isnan(rows)
    counts = np.maximum(np.count_nonzero(known, axis=1), 1)
    return np.asarray((known * offsets).sum(axis=1) / counts, dtype=np.float64)


def levels_of(series: Sequence[SeriesItem]) -> FloatArray:
    """The level of each item: the median of its finite samples, NaN for an unknown order.

    This is the exact value (``statistics.median``) the detector computes; a caller that
    screens stored levels (``perf.analysis.screening``) must pass these same numbers.
    """
    return _levels([samples_of(item) for item in series])


def means_of(series: Sequence[SeriesItem]) -> FloatArray:
    """The mean of each item's finite samples, NaN for an unknown order (``use_means``)."""
    return _means([samples_of(item) for item in series])


def _means(samples: list[list[float]]) -> FloatArray:
    return np.array([sample_mean(s) if s else np.nan for s in samples], dtype=np.float64)


def _levels(samples: list[list[float]]) -> FloatArray:
    # statistics.median on a handful of samples is ~10x cheaper than np.median per order.
    return np.array([median(s) if s else np.nan for s in samples], dtype=np.float64)


@dataclass(frozen=True)
class Cells:
    """The cheap conditions at a list of cells ``(row, column)`` of a levels array.

    ``candidate[k]`` is True when every condition but the rank test holds at cell ``k``.
    ``old``, ``new``, ``relative`` and ``z`` are the medians of the two windows, the signed
    relative change and the z-score. They are computed only as far as a cell gets through
    the stages (NaN beyond: ``z`` only where the noise-free conditions hold), so read them
    only where ``candidate`` is True.
    """

    candidate: BoolArray
    old: FloatArray
    new: FloatArray
    relative: FloatArray
    z: FloatArray
    short_history: BoolArray
    """True where the cell is a candidate by the short-history rule (``min_step_ratio``):
    no rank test is needed there, and ``z`` is infinite."""


def candidate_cells(
    levels: FloatArray,
    rows: npt.NDArray[np.intp],
    columns: npt.NDArray[np.intp],
    params: DetectionParams,
    means: FloatArray | None = None,
) -> Cells:
    """Evaluate the cheap conditions of the method at cells ``(rows[k], columns[k])``.

    ``levels`` is (series, orders): each row the per-order levels (``levels_of``) of one
    series, NaN for an unknown order; positions outside a row count as unknown orders,
    like the end of history. This is the one implementation of those conditions: the
    detector calls it on one row, ``screen_levels`` on thousands, so the two can never
    disagree. Every quantity is computed row by row on windows gathered into fresh
    arrays, so a cell's result does not depend on which other cells are evaluated with it.

    The conditions are evaluated in stages, each on the cells that passed the previous
    ones (the AND of all is the same, the work is not): known counts (prefix sums, no
    windows); the conditions on the two window medians; sharpness (the nearest known
    orders, found by index chasing rather than in the windows); then the conditions that
    need the noise (the pairwise scale, about 230 differences per cell, is the costliest
    step, and most cells of a clean series never get to it).

    With ``params.use_means``, ``means`` (same shape as ``levels``: ``means_of`` of each
    row, NaN exactly where ``levels`` is) feeds the conditions that need the noise.
    """
    if params.use_means and (means is None or means.shape != levels.shape):
        raise ValueError("use_means needs the means of the orders, shaped like the levels")
    count = len(columns)
    before_w, after_w = params.window_before, params.window_after
    candidate = np.zeros(count, dtype=np.bool_)
    old = np.full(count, np.nan)
    new = np.full(count, np.nan)
    relative = np.full(count, np.nan)
    z = np.full(count, np.nan)
    short = np.zeros(count, dtype=np.bool_)
    result = Cells(candidate, old, new, relative, z, short)
    if count == 0:
        return result
    series, width = levels.shape
    known = ~np.isnan(levels)
    # Stage 0: a known order with enough known orders on each side (prefix sums).
    known_so_far = np.zeros((series, width + 1), dtype=np.intp)
    np.cumsum(known, axis=1, out=known_so_far[:, 1:])
    n_before = (
        known_so_far[rows, columns] - known_so_far[rows, np.maximum(columns - before_w, 0)]
    )
    n_after = (
        known_so_far[rows, np.minimum(columns + after_w, width)] - known_so_far[rows, columns]
    )
    cells = np.flatnonzero(
        known[rows, columns]
        & (n_before >= params.min_before)
        & (n_after >= params.min_after)
    )
    tiny = np.flatnonzero(
        known[rows, columns]
        & (n_before >= 1)
        & (n_before <= params.short_history)
        & (n_after >= params.min_after)
    )
    if len(cells) == 0 and len(tiny) == 0:
        return result
    noise_w = params.history_before
    # The noise (before, after) window of column i is window i of ``all_noise``
    # (``all_before``, ``all_after``); ``stat_*`` the same windows of the means.
    all_noise, all_before, all_after = _windows(levels, noise_w, before_w, after_w)
    if params.use_means and means is not None:
        stat_noise, stat_before, stat_after = _windows(means, noise_w, before_w, after_w)
    else:
        stat_noise, stat_before, stat_after = all_noise, all_before, all_after
    if len(tiny):
        _short_history_steps(result, all_before, all_after, tiny, rows[tiny], columns[tiny],
                             n_before[tiny], n_after[tiny], params.min_step_ratio)
    if len(cells) == 0:
        return result
    # Stage 1: the conditions on the medians of the two windows.
    r, c = rows[cells], columns[cells]
    windows_after = all_after[r, c]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        n_before, n_after = n_before[cells], n_after[cells]
        old_c, _ = _row_median(all_before[r, c], n_before)
        new_c, _ = _row_median(windows_after, n_after)
        delta = new_c - old_c
        relative_c = np.where(old_c != 0, delta / np.abs(old_c), np.sign(delta) * np.inf)
        direction = np.sign(delta)
        midpoint = old_c + delta / 2
        level_beyond = (levels[r, c] - midpoint) * direction > 0
        old[cells], new[cells], relative[cells] = old_c, new_c, relative_c
        if params.use_means:
            # Persistence reads the orders' means too: a mean of three samples strays
            # past the midpoint less often than their median (17 % less variance).
            windows_after = stat_after[r, c]
            level_beyond = (windows_after[:, 0] - midpoint) * direction > 0
        keep = np.flatnonzero((np.abs(relative_c) >= params.min_relative_change) & level_beyond)
        cells, r, c, windows_after = cells[keep], r[keep], c[keep], windows_after[keep]
        n_before, n_after = n_before[keep], n_after[keep]
        old_c, new_c, delta, direction = old_c[keep], new_c[keep], delta[keep], direction[keep]
        midpoint = midpoint[keep]
        beyond = (windows_after - midpoint[:, None]) * direction[:, None] > 0
        persistence = np.count_nonzero(beyond, axis=1) / np.maximum(n_after, 1)
        keep = np.flatnonzero(persistence >= params.min_persistence)
        cells, r, c = cells[keep], r[keep], c[keep]
        n_before, n_after = n_before[keep], n_after[keep]
        old_c, new_c, delta, direction = old_c[keep], new_c[keep], delta[keep], direction[keep]
        # Stage 2: the step is sharp.
        near_old, _ = _row_median(_nearest_levels(levels, known, r, c, before_w,
                                                  params.sharpness_orders, before=True))
        near_new, _ = _row_median(_nearest_levels(levels, known, r, c, after_w,
                                                  params.sharpness_orders, before=False))
        sharp = (near_new - near_old) * direction >= params.min_sharpness * np.abs(delta)
        keep = np.flatnonzero(sharp)
        if len(keep) == 0:
            return result
        cells, r, c = cells[keep], r[keep], c[keep]
        n_before, n_after = n_before[keep], n_after[keep]
        old_c, new_c, delta, direction = old_c[keep], new_c[keep], delta[keep], direction[keep]
        # Stage 3: the conditions that need the noise (on the means with ``use_means``).
        windows_before, windows_after = stat_before[r, c], stat_after[r, c]
        windows_noise = stat_noise[r, c]
        if params.use_means:
            old_c, _ = _row_median(windows_before, n_before)
            new_c, _ = _row_median(windows_after, n_after)
            delta = new_c - old_c
        noise_scale, degrees = _pairwise_scale(windows_noise, windows_after,
                                               params.noise_pair_lag)
        noise = np.maximum(
            np.maximum(noise_scale, params.noise_floor_relative * np.abs(old_c)), _TINY
        )
        effect = np.abs(delta) / noise
        # Two orders after the candidate are its whole after window at the first look:
        # their levels must agree with each other (``max_pair_spread``).
        spread = np.nanmax(windows_after, axis=1) - np.nanmin(windows_after, axis=1)
        agree = (n_after != 2) | (spread <= params.max_pair_spread * noise)
        # The z-score compares clipped means (each level pulled to within
        # ``clip_sigmas`` noise units of its window's median, then averaged): nearly
        # as efficient as a mean on Gaussian levels, as robust as a median to a wild run.
        clip = params.clip_sigmas * noise
        shift = (_clipped_mean(windows_after, new_c, clip)
                 - _clipped_mean(windows_before, old_c, clip)) * direction
        standard_error = np.sqrt(
            _clipped_mean_variance_factor(n_before) / n_before
            + _clipped_mean_variance_factor(n_after) / n_after
        )
        z_needed = _z_thresholds(params.min_z, noise_w + after_w)[degrees]
        # Drift: one common slope fitted to both windows around their own medians (least
        # squares, residuals clipped at 3 noise units so that a wild run does not tilt it),
        # extrapolated over the distance between the two windows' centres.
        # The slope's before part comes from the whole noise window (its variance falls
        # with the cube of the window: 40 orders pin it eight times better than 20), and
        # is extrapolated from the centre of the before window, whose mean is compared.
        sxx_before, sxy_before, centre_noise = _slope_terms(
            windows_noise, old_c, np.arange(-noise_w, 0, dtype=np.float64), 3 * noise
        )
        centre_before = _known_centre(windows_before, np.arange(-before_w, 0, dtype=np.float64))
        sxx_after, sxy_after, centre_after = _slope_terms(
            windows_after, new_c, np.arange(0, after_w, dtype=np.float64), 3 * noise
        )
        sxx = sxx_before + sxx_after
        trend = np.where(sxx > 0, (sxy_before + sxy_after) / np.where(sxx > 0, sxx, 1), 0.0)
        drift = trend * (centre_after - centre_before)
        guard_drift = drift
        if params.drift_guard_near:
            sxx_near, sxy_near, _ = _slope_terms(
                windows_before, old_c, np.arange(-before_w, 0, dtype=np.float64),
                3 * noise,
            )
            sxx_n = sxx_near + sxx_after
            near = np.where(sxx_n > 0, (sxy_near + sxy_after) / np.where(sxx_n > 0, sxx_n, 1), 0.0)
            slope = np.where(np.sign(near) == np.sign(trend),
                             np.sign(trend) * np.minimum(np.abs(trend), np.abs(near)), 0.0)
            guard_drift = slope * (centre_after - centre_before)
        steady = np.nan_to_num(guard_drift * direction) <= params.max_drift_share * np.abs(delta)
        # A trend that is significant (|slope| at least ``trend_t`` of its standard error)
        # is taken out of the shift, and the slope's uncertainty added to the standard
        # error: a slow drift then does not add up to a step between distant windows.
        distance = centre_after - centre_before
        root_sxx = np.sqrt(sxx)
        # With fewer known orders than the before window the slope is too uncertain for
        # that test to tell a drift from none: its uncertainty always counts there.
        trending = (
            (np.abs(trend) * root_sxx >= params.trend_t * noise)
            | (np.count_nonzero(~np.isnan(windows_noise), axis=1) < before_w)
        )
        detrended = np.where(trending, shift - np.nan_to_num(drift * direction), shift)
        standard_error = np.sqrt(
            standard_error**2
            + np.where(trending, _slope_variance(distance, centre_before - centre_noise, sxx),
                       0.0)
        )
        z_c = np.maximum(detrended, 0.0) / noise / standard_error
        z[cells] = np.where(short[cells], np.inf, z_c)
        candidate[cells] |= (
            (effect >= params.min_effect_sigmas) & (z_c >= z_needed) & steady & agree
        )
    return result


def _windows(
    values: FloatArray, noise_w: int, before_w: int, after_w: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Views (series, columns, window) of the noise, before and after windows of each column.

    The rows are padded with NaN (unknown orders) on both sides: window k of row s starts
    at ``padded[s, k + shift]``, so window i is the one of column i.
    """
    series = values.shape[0]
    padded = np.concatenate(
        [np.full((series, noise_w), np.nan), values, np.full((series, after_w), np.nan)],
        axis=1,
    )
    return (
        np.lib.stride_tricks.sliding_window_view(padded, noise_w, axis=1),
        np.lib.stride_tricks.sliding_window_view(padded[:, noise_w - before_w :], before_w,
                                                 axis=1),
        np.lib.stride_tricks.sliding_window_view(padded[:, noise_w:], after_w, axis=1),
    )


def _short_history_steps(
    result: Cells,
    all_before: FloatArray,
    all_after: FloatArray,
    cells: npt.NDArray[np.intp],
    r: npt.NDArray[np.intp],
    c: npt.NDArray[np.intp],
    n_before: npt.NDArray[np.intp],
    n_after: npt.NDArray[np.intp],
    ratio: float,
) -> None:
    """The short-history rule, written into ``result`` at ``cells``.

    With one to ``short_history`` known orders before, a cell is a candidate when every
    known level of its after window is at least ``ratio`` times every known level of its
    before window (or at most ``1 / ratio`` of it), all levels positive. No noise can be
    estimated from so few orders, but a step that large is not noise in any benchmark.
    """
    before, after = all_before[r, c], all_after[r, c]
    with np.errstate(invalid="ignore"):
        positive = (np.nanmin(before, axis=1) > 0) & (np.nanmin(after, axis=1) > 0)
        up = np.nanmin(after, axis=1) >= ratio * np.nanmax(before, axis=1)
        down = ratio * np.nanmax(after, axis=1) <= np.nanmin(before, axis=1)
    hit = positive & (up | down)
    if not hit.any():
        return
    chosen = cells[hit]
    old_c, _ = _row_median(before[hit], n_before[hit])
    new_c, _ = _row_median(after[hit], n_after[hit])
    result.old[chosen], result.new[chosen] = old_c, new_c
    result.relative[chosen] = (new_c - old_c) / old_c
    result.z[chosen] = np.inf
    result.short_history[chosen] = True
    result.candidate[chosen] = True


def _nearest_levels(
    levels: FloatArray,
    known: BoolArray,
    rows: npt.NDArray[np.intp],
    columns: npt.NDArray[np.intp],
    window: int,
    count: int,
    *,
    before: bool,
) -> FloatArray:
    """The ``count`` known levels nearest to each cell inside its before (after) window.

    Returns (cells, count), NaN where the window holds fewer known orders. The before
    window of column ``i`` is ``[i - window, i)``, the after window ``[i, i + window)``.
    The values are those ``_nearest_known`` would keep (their order differs, which no
    median sees); found by following, from the cell, each row's previous (next) known
    position, instead of ranking whole windows.
    """
    series, width = levels.shape
    positions = np.arange(width, dtype=np.intp)
    if before:
        # chain[s, p]: the last known position < p (-1 if none); p = 0 .. width.
        last = np.maximum.accumulate(np.where(known, positions, -1), axis=1)
        chain = np.concatenate([np.full((series, 1), -1, dtype=np.intp), last], axis=1)
        at = chain[rows, columns]
        limit = columns - window
    else:
        # chain[s, p]: the first known position > p (``width`` if none); p = 0 .. width.
        following = np.minimum.accumulate(
            np.where(known, positions, width)[:, ::-1], axis=1
        )[:, ::-1]
        chain = np.concatenate(
            [following[:, 1:], np.full((series, 2), width, dtype=np.intp)], axis=1
        )
        at = np.where(known[rows, columns], columns, chain[rows, columns])
        limit = np.minimum(columns + window, width)
    nearest = np.full((len(columns), count), np.nan)
    for k in range(count):
        inside = (at >= limit) & (at >= 0) if before else at < limit
        nearest[:, k] = np.where(inside, levels[rows, np.clip(at, 0, width - 1)], np.nan)
        at = chain[rows, np.clip(at, 0, width)]
    return nearest


def _detect(
    values: Sequence[SeriesItem],
    hashes: Sequence[str | None] | None,
    report: range,
    offset: int,
    bigger_is_better: bool,
    params: DetectionParams,
) -> list[ChangePoint]:
    """Changes at local indices in ``report``, returned with ``offset`` added to ``index``.

    Positions beyond ``values`` count as unknown orders.
    """
    samples = [samples_of(item) for item in values]
    length = len(samples)
    levels = _levels(samples)
    before_w, after_w = params.window_before, params.window_after
    # Only indices that can influence a reported verdict matter: those in ``report`` and
    # those that may suppress one of them.
    radius = params.suppression_radius
    lo = max(0, report.start - radius)
    hi = min(length, report.stop + radius)
    columns = np.arange(lo, hi, dtype=np.intp)
    means = _means(samples)[None, :] if params.use_means else None
    cells = candidate_cells(levels[None, :], np.zeros_like(columns), columns, params, means)
    candidate, z, old, new = cells.candidate, cells.z, cells.old, cells.new
    # The rank test is costly: only for the few candidates.
    p_values: dict[int, float] = {}
    for index in np.flatnonzero(candidate) + lo:
        i = int(index)
        before = [x for s in samples[max(0, i - before_w) : i] for x in s]
        after = [x for s in samples[i : i + after_w] for x in s]
        p_value = float(stats().mannwhitneyu(before, after, alternative="two-sided").pvalue)
        if p_value <= params.alpha or cells.short_history[i - lo]:
            p_values[i] = p_value
    # The true step has the most extreme rank test (its windows are not contaminated by
    # the other level); then the larger z-score wins, then the earlier index.
    rank = {i: (p, -float(z[i - lo]), i) for i, p in p_values.items()}
    found: list[ChangePoint] = []
    for i in sorted(p_values):
        if i not in report:
            continue
        if any(rank[j] < rank[i] for j in p_values if j != i and abs(j - i) <= radius):
            continue
        if hashes is not None and _same_binary(hashes, i, params.lookback):
            continue
        increased = bool(new[i - lo] - old[i - lo] > 0)
        found.append(
            ChangePoint(
                index=i + offset,
                old_value=float(old[i - lo]),
                new_value=float(new[i - lo]),
                relative_change=float(cells.relative[i - lo]),
                confidence=1.0 - p_values[i],
                method=SHORT_HISTORY_METHOD if cells.short_history[i - lo] else METHOD,
                is_regression=increased != bigger_is_better,
            )
        )
    return found


def _same_binary(hashes: Sequence[str | None], index: int, lookback: int) -> bool:
    """True when the binary at ``index`` is known to equal the last known one before it."""
    current = hashes[index]
    if current is None:
        return False
    for previous in reversed(hashes[max(0, index - lookback) : index]):
        if previous is not None:
            return previous == current
    return False
