"""Screening: which series could have a change, decided from their levels alone.

Pure: numpy only.  After a run, the detection task evaluates thousands of series, almost
all of them clean.  Whether an index can be a change depends on its raw samples only
through the rank test, which can only remove a candidate; every other condition of the
method (``perf.analysis.changepoints``) depends on the per-order *levels* alone, the
medians of each order's samples.  So from levels (which the database stores per run) one
can tell, for thousands of series at once, which ones could possibly report a change, and
load raw samples and run the detector for those only.

The guarantee is one-sided: a row screened False reports nothing (in the range asked
for), whatever the samples behind its levels; a row screened True may or may not (the
rank test, non-maximum suppression and the hash filter decide).  The screen evaluates the
very function the detector uses (``candidate_cells``), so the two cannot drift apart.

The levels must be exactly what the detector computes (``levels_of``): the
``statistics.median`` of the order's finite samples, pooled over every run at that order.
A level computed any other way (a median of per-run medians, a rounded or single-precision
copy) voids the guarantee for the rows where it differs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import numpy.typing as npt

from perf.analysis.changepoints import (
    BoolArray,
    DetectionParams,
    FloatArray,
    _settled_range,
    candidate_cells,
)


def screen_levels(
    levels: npt.ArrayLike,
    *,
    offset: int,
    total_length: int,
    report: range | None = None,
    params: DetectionParams = DetectionParams(),  # noqa: B008 -- frozen, safe to share
    means: npt.ArrayLike | None = None,
) -> BoolArray:
    """For each row of ``levels``, whether ``evaluate_slice`` could report a change in ``report``.

    ``levels`` is (series, orders): row ``s`` holds the levels (``levels_of``: median of the
    finite samples, NaN or any non-finite value for an unknown order) of one series over
    ``history[offset : offset + orders]`` of a history of ``total_length`` orders, the
    same slice for every row.  ``report`` is a range of global indices (step 1); by default
    the slice's settled range, as ``evaluate_slice`` computes it.

    Returns a bool array of shape (series,).  False is a guarantee: ``evaluate_slice`` on
    that slice, with any samples whose medians are these levels, any ``hashes`` and either
    ``bigger_is_better``, returns no change at an index in ``report``.  True means some
    index of ``report`` that the slice settles passes every condition but the rank test.
    A row is never True for an index outside the settled range, nor when ``report`` and
    that range do not meet (then every row is False).

    With ``params.use_means``, ``means`` must hold the mean of the same finite samples
    (``means_of``) for every order, shaped like ``levels``; it is ignored otherwise.
    """
    grid = _as_levels(levels)
    mean_grid = None if means is None or not params.use_means else _as_levels(means)
    rows_count, length = grid.shape
    if offset < 0 or total_length < offset + length:
        raise ValueError("the slice must lie inside the history: 0 <= offset <= "
                         "offset + orders <= total_length")
    settled = _settled_range(offset, length, total_length, params)
    if report is None:
        report = settled
    if report.step != 1:
        raise ValueError("report must be a range with step 1")
    start, stop = max(report.start, settled.start), min(report.stop, settled.stop)
    if start >= stop or rows_count == 0:
        return np.zeros(rows_count, dtype=np.bool_)
    width = stop - start
    rows = np.repeat(np.arange(rows_count, dtype=np.intp), width)
    columns = np.tile(np.arange(start - offset, stop - offset, dtype=np.intp), rows_count)
    cells = candidate_cells(grid, rows, columns, params, mean_grid)
    return np.asarray(cells.candidate.reshape(rows_count, width).any(axis=1))


def screen_suspects(
    levels: npt.ArrayLike,
    counts: npt.ArrayLike,
    *,
    params: DetectionParams = DetectionParams(),  # noqa: B008 -- frozen, safe to share
    min_samples: int = 3,
    min_effect_sigmas: float = 3.5,
    min_z: float = 3.5,
    alpha: float = 0.001,
    means: npt.ArrayLike | None = None,
) -> BoolArray:
    """For each row, whether ``find_suspect`` on that series could return a suspect.

    ``levels`` is (series, orders) as for ``screen_levels``, each row the levels of the
    whole sequence passed to ``find_suspect`` (a window ending at the newest order is
    enough: the suspect looks back ``lookback`` orders only).  ``counts`` is (series,
    orders): the number of finite samples behind each level.  The keywords are those of
    ``find_suspect``, with the same defaults and meaning; ``alpha`` only enters the rank
    test, which the screen does not run, and is accepted so that a caller can pass one set
    of keywords to both.

    Returns a bool array of shape (series,).  False is a guarantee: ``find_suspect``
    returns None for that series, whatever its samples (with these medians and counts),
    ``hashes`` and ``bigger_is_better``.  True means the newest known order passes every
    condition but the rank test and holds at least ``min_samples`` samples, or passes the
    short-history rule (which needs neither).  ``means`` as for ``screen_levels``.
    """
    del alpha  # the rank test can only turn a True into "no suspect"
    grid = _as_levels(levels)
    sizes = np.asarray(counts)
    if sizes.shape != grid.shape:
        raise ValueError("counts must have the same shape as levels")
    rows_count, length = grid.shape
    if length == 0 or rows_count == 0:
        return np.zeros(rows_count, dtype=np.bool_)
    known = ~np.isnan(grid)
    # The newest known column of each row (length - 1 - first known from the right).
    last = (length - 1 - np.argmax(known[:, ::-1], axis=1)).astype(np.intp)
    rows = np.arange(rows_count, dtype=np.intp)
    eligible = known[rows, last]
    relaxed = replace(
        params,
        min_after=1,
        min_effect_sigmas=max(min_effect_sigmas, params.min_effect_sigmas),
        min_z=max(min_z, params.min_z),
    )
    # Nothing after the newest known order is known, exactly like the end of the history
    # find_suspect presents to the detector, so the cells can be evaluated in place.
    chosen = np.flatnonzero(eligible)
    screened = np.zeros(rows_count, dtype=np.bool_)
    mean_grid = None if means is None or not params.use_means else _as_levels(means)
    cells = candidate_cells(grid, rows[chosen], last[chosen], relaxed, mean_grid)
    enough = sizes[chosen, last[chosen]] >= min_samples
    screened[chosen] = (cells.candidate & enough) | cells.short_history
    return screened


def _as_levels(levels: npt.ArrayLike) -> FloatArray:
    """A float64 (series, orders) copy of ``levels`` with every non-finite value NaN."""
    grid = np.array(levels, dtype=np.float64)
    if grid.ndim != 2:
        raise ValueError("levels must be a 2-D array (series, orders)")
    grid[~np.isfinite(grid)] = np.nan
    return grid
