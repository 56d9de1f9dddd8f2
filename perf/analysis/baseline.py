"""Reference detectors that ``find_change_points`` is measured against (not used live).

* ``lnt_style_change_points``: what LNT does -- compare each run with the previous one and
  flag any relative move of at least 1 %.
* ``ttest_change_points``: Mozilla Perfherder's idea -- a Welch t-test between the means
  of a back window and a fore window of per-order averages, reported where ``t`` is a
  local maximum above a threshold.

Both take the same series as ``find_change_points`` (items: number, list of samples, or
None / empty for an unknown order) and return the indices of the first order after each
change, ascending.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from statistics import fmean, median
from typing import Literal

import numpy as np

from perf.analysis.changepoints import SeriesItem, samples_of
from perf.analysis.scipy_stats import stats


def lnt_style_change_points(
    series: Sequence[SeriesItem],
    *,
    min_relative_change: float = 0.01,
    aggregate: Literal["min", "median"] = "min",
) -> list[int]:
    """Indices ``i`` whose aggregate moved by ``>= min_relative_change`` (0.01 = 1 %).

    The aggregate (``min`` of the samples, as LNT uses for times, or ``median``) of order
    ``i`` is compared with that of the previous KNOWN order; unknown orders are skipped.
    The first known order has no history and is never flagged. Direction is ignored.
    A previous value of 0 flags any non-zero value.
    """
    reduce = min if aggregate == "min" else median
    found: list[int] = []
    previous: float | None = None
    for index, item in enumerate(series):
        samples = samples_of(item)
        if not samples:
            continue
        current = float(reduce(samples))
        if previous is not None:
            if previous == 0:
                moved = current != 0
            else:
                moved = abs(current - previous) / abs(previous) >= min_relative_change
            if moved:
                found.append(index)
        previous = current
    return found


def ttest_change_points(
    series: Sequence[SeriesItem],
    *,
    back_window: int = 12,
    fore_window: int = 12,
    t_threshold: float = 7.0,
) -> list[int]:
    """Perfherder-style detection on per-order means (known orders only).

    For each known order ``i`` with at least 2 known orders on each side, Welch's t
    (``scipy.stats.ttest_ind_from_stats(equal_var=False)``) between the ``back_window``
    known orders before it and the ``fore_window`` known orders from it on; ``i`` is
    reported when ``|t| >= t_threshold`` and is the largest ``|t|`` within ``fore_window``
    orders (the earlier one wins a tie). Windows without variance give ``t = inf`` when
    their means differ, and are never reported when they do not.
    """
    positions = [i for i, item in enumerate(series) if samples_of(item)]
    means = np.array([fmean(samples_of(series[i])) for i in positions], dtype=np.float64)
    count = len(positions)
    if count < 4:
        return []
    padded = np.concatenate([np.full(back_window, np.nan), means, np.full(fore_window, np.nan)])
    back = np.lib.stride_tricks.sliding_window_view(padded, back_window)[:count]
    fore = np.lib.stride_tricks.sliding_window_view(padded[back_window:], fore_window)[:count]
    n_back = np.count_nonzero(~np.isnan(back), axis=1)
    n_fore = np.count_nonzero(~np.isnan(fore), axis=1)
    usable = (n_back >= 2) & (n_fore >= 2)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows that are not usable
        statistic = stats().ttest_ind_from_stats(
            np.nanmean(back, axis=1), np.nanstd(back, axis=1, ddof=1), n_back,
            np.nanmean(fore, axis=1), np.nanstd(fore, axis=1, ddof=1), n_fore,
            equal_var=False,
        ).statistic
    scores = np.where(usable, np.nan_to_num(np.abs(statistic), nan=0.0, posinf=math.inf), 0.0)
    found: list[int] = []
    for k, score in enumerate(scores):
        if score < t_threshold:
            continue
        neighbours = scores[max(0, k - fore_window) : k + fore_window + 1]
        if score >= neighbours.max() and not any(
            scores[j] == score for j in range(max(0, k - fore_window), k)
        ):
            found.append(positions[k])
    return found
