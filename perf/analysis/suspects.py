"""Suspects: a change seen on the newest order alone.  Pure: numpy and scipy only.

``find_change_points`` needs ``min_after`` (2) known orders at the new level, so that
one wild run never raises an alarm.  A run with several samples can still carry
strong evidence on its own: all its samples beyond the old level, far outside the
noise.  Such a change is reported as a *suspect*: shown at once, never notified,
and either confirmed by the next run (it then becomes an ordinary change point) or
withdrawn when the next runs do not show it.  Only the newest known order of a
history can be a suspect; a single-sample order is one only by the short-history rule
(``DetectionParams.min_step_ratio``: at most ``short_history`` known orders before it,
and a step of at least that ratio), since the rank test cannot reach ``alpha`` on one
sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from perf.analysis.changepoints import (
    SHORT_HISTORY_METHOD,
    ChangePoint,
    DetectionParams,
    SeriesItem,
    evaluate_slice,
    samples_of,
)

SUSPECT_METHOD_SUFFIX = "/suspect"


def find_suspect(
    series: Sequence[SeriesItem],
    *,
    bigger_is_better: bool = False,
    hashes: Sequence[str | None] | None = None,
    params: DetectionParams = DetectionParams(),  # noqa: B008 -- frozen, safe to share
    min_samples: int = 3,
    min_effect_sigmas: float = 3.5,
    min_z: float = 3.5,
    alpha: float = 0.001,
) -> ChangePoint | None:
    """The change at the newest known order of ``series``, seen on that order alone.

    Runs the detector with ``min_after = 1`` and stricter evidence (a step of at least
    ``min_effect_sigmas`` noise units, z past the t threshold of ``min_z``, rank test
    p <= ``alpha``; each the stricter of this and ``params``) and keeps only a change at
    the last known index, which must hold at least ``min_samples`` finite samples (any
    number for a change by the short-history rule, which needs no rank test).  Only
    the last ``lookback + 1`` items are evaluated: nothing earlier can change that verdict.
    Measured by ``bench/detection_quality.py`` (1,000 trials a rate) on 3-sample runs
    (with a shared run offset) after 30 clean orders: a 10 % step on the newest run is a
    suspect 90 % of the time at 1 % noise, 81 % at 2 %, 37 % at 3 % (the tenth of runs
    that keep one sample never is); a clean newest run is none in 2,000 with Gaussian,
    heavy-tailed, bimodal or drifting noise, but a whole wild run (all its samples
    x1.3-x3) is indistinguishable from a step and is one (1.8 % when 2 % of runs are
    wild). On a short history a wild single-sample run of x2 or more is one too.  Returns None when
    there is no such change, when the newest order is unknown-only, or when the ordinary
    detector would need more data anyway.  ``method`` ends in ``/suspect``.
    """
    known = [i for i, item in enumerate(series) if samples_of(item)]
    if not known:
        return None
    last = known[-1]
    enough = len(samples_of(series[last])) >= min_samples
    relaxed = replace(
        params,
        min_after=1,
        min_effect_sigmas=max(min_effect_sigmas, params.min_effect_sigmas),
        min_z=max(min_z, params.min_z),
        alpha=min(alpha, params.alpha),
    )
    # Only the verdict at ``last`` matters, and it depends on nothing before
    # ``last - lookback``; everything after ``last`` is unknown, exactly like the end of
    # history. So a slice that ends at ``last``, presented as the whole history, settles
    # ``last`` alone (and costs a window, not the whole series).
    start = max(0, last - relaxed.lookback)
    found = evaluate_slice(
        series[start : last + 1],
        offset=start,
        total_length=last + 1,
        bigger_is_better=bigger_is_better,
        hashes=None if hashes is None else hashes[start : last + 1],
        params=relaxed,
    ).change_points
    for change in found:
        if change.index == last and (enough or change.method == SHORT_HISTORY_METHOD):
            return replace(change, method=change.method + SUSPECT_METHOD_SUFFIX)
    return None
