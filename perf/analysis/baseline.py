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
from collections.abc import Sequence
from statistics import fmean, median
from typing import Literal

import numpy as np
from scipy.stats import ttest_ind

from perf.analysis.changepoints import SeriesItem, samples_of


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
    (``scipy.stats.ttest_ind(equal_var=False)``) between the ``back_window`` known orders
    before it and the ``fore_window`` known orders from it on; ``i`` is reported when
    ``|t| >= t_threshold`` and is the largest ``|t|`` within ``fore_window`` orders.
    Identical windows (no variance) give ``t = inf`` when their means differ.
    """
    positions = [i for i, item in enumerate(series) if samples_of(item)]
    means = [fmean(samples_of(series[i])) for i in positions]
    scores = np.zeros(len(positions))
    for k in range(2, len(positions) - 1):
        back = means[max(0, k - back_window) : k]
        fore = means[k : k + fore_window]
        if len(fore) < 2:
            continue
        if np.ptp(back) == 0 and np.ptp(fore) == 0:
            scores[k] = math.inf if back[0] != fore[0] else 0.0
            continue
        scores[k] = abs(float(ttest_ind(back, fore, equal_var=False).statistic))
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
