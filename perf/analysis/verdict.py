"""The verdict on one test's move between two runs: the run report's only judge.

Pure: numpy only, no Django.  The run report used to judge a move with its own rule (a
MAD noise and a rank or Welch test at p < 0.05) while the change detector
(``perf.analysis.changepoints``) judged the same series with another (a pairwise noise
and a rank test at p <= 0.001), so the two could disagree about one row.  Now the report
asks the detector's own model, through its public ``candidate_cells``, and reads the
stored state of the detector (its live change at the new run, confirmed or suspect).
Each row gets one of these verdicts, in this order of precedence:

``SMALL``
    the move is under the report's threshold (``min_change`` percent): never counted,
    whatever else is known (a detected change still gets its badge from the caller);
``SAME_BINARY``
    the metric ignores moves with an unchanged binary (``ignore_same_hash``) and both
    runs report the same binary hash: the detector drops such a change, and so does
    the report (it is unchanged);
``DETECTED``
    the detector stored a confirmed change at the new run's order;
``SUSPECT``
    it stored an unconfirmed one (a *suspect*, seen on this run alone);
``CHANGED``
    the new run passes every condition of the detector's model that a single run can
    pass: the detector's test of a step at this run, with one order at the new level
    (``min_after = 1``), on the levels alone (the medians of each run's samples, the
    figures the detector's ``levels_of`` gives).  It is not (yet) a detection: the
    detector also wants ``min_after`` (2) runs at the new level, or a run of several
    samples whose rank test clears ``alpha`` (a suspect).  The bucket exists because a
    report is read on the day of the run, before the next run can confirm anything: a
    real step that the detector will confirm tomorrow is shown today, marked as not yet
    confirmed, and the detector's own thresholds keep clean runs out of it (a move must
    stand out by the z threshold the detector uses for that much history);
``FEW`` (too little history)
    the move reaches the threshold, the detector's model does not pass it, and the
    series has fewer than ``min_history`` known runs before the new one: the model's
    threshold with that little history is a Student t quantile on very few degrees of
    freedom (``changepoints._z_thresholds``), so high that not passing it says nothing.
    A step of ``min_step_ratio`` (2x) or more is the exception: the detector's
    short-history rule passes it, so it is ``CHANGED`` however short the history;
``NOISE``
    within the noise: enough history, and the model does not pass the move.

The history is the levels of the series' runs before the new run, oldest first, as
stored (``Point.value``).  When the old run is the newest of them (the previous order)
the question is the detector's: does the new run stand at a new level?  When it is not
(a baseline older than the history, another machine's run), the history is shifted to
the old run's level before it is asked, so that the step since the old run is judged
against the series' recent noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from perf.analysis.changepoints import (
    DetectionParams,
    FloatArray,
    # The detector's noise estimate, shown as Noise %: the number it holds a step to.
    _pairwise_scale,
    _row_median,
    candidate_cells,
)

DETECTED = "detected"
SUSPECT = "suspect"
CHANGED = "changed"
SMALL = "small"
SAME_BINARY = "same_binary"
FEW = "few"
NOISE = "noise"

# The verdicts that make a row a regression or an improvement.
FLAGGED = (DETECTED, SUSPECT, CHANGED)

MIN_HISTORY = 10
"""Known runs before the new one below which an unflagged move is FEW, not NOISE."""


class Move(NamedTuple):
    """One test's move from the old run to the new one (one Real metric).

    ``delta`` is ``(new - old) / |old|`` in percent, signed.  ``new_level`` and
    ``old_level`` are the runs' levels (median of their valid samples).  ``history`` is
    the levels of the runs before the new one, oldest first, None (or NaN) for a failed
    or missing run; only the last ``window_before`` count.  ``adjacent`` says the old
    run is the newest of them.  ``stored`` is the detector's live change at the new
    run's order: DETECTED, SUSPECT or "".  ``same_binary``: the metric ignores moves
    of an unchanged binary and both runs report the same binary hash.  A tuple: a
    report builds thousands, and a frozen dataclass costs more to build.
    """

    delta: float
    new_level: float
    old_level: float
    history: Sequence[float | None]
    adjacent: bool = True
    stored: str = ""
    same_binary: bool = False


class Verdict(NamedTuple):
    """The judgement of one move.  A tuple, as ``Move``: a report builds thousands, and
    a frozen dataclass costs several times more to build.

    ``noise`` is the detector's noise estimate of one run's level, in percent of the
    history's median, None with fewer than two known runs (no pair to estimate it).
    ``z`` is the move in standard errors of the detector's model, None when the move
    failed an earlier condition (threshold, sharpness) or the model did not get to it.
    ``known`` is the number of known runs in the history window.
    """

    kind: str
    noise: float | None
    z: float | None
    known: int

    @property
    def flagged(self) -> bool:
        """A regression or an improvement (which of the two is the caller's business)."""
        return self.kind in FLAGGED


def judge(
    moves: Sequence[Move],
    *,
    min_change: float = 1.0,
    min_history: int = MIN_HISTORY,
    params: DetectionParams = DetectionParams(),  # noqa: B008 -- frozen, safe to share
    history: FloatArray | None = None,
) -> list[Verdict]:
    """The verdict of each move (see the module docstring), in order.

    ``min_change`` (percent) is the report's threshold, and also the detector's
    ``min_relative_change`` for CHANGED, so that one threshold means one thing.
    ``params`` are the detector's (its windows, noise floor and z threshold); the
    check runs with ``min_after = 1``.  Vectorised: one evaluation of the detector's
    conditions for the whole list, since a report judges thousands of tests.
    ``bigger_is_better`` plays no part: it only names the direction.

    ``history``, when given, is the moves' histories as one matrix, a row a move
    (``windows`` of them: oldest first, right-aligned, NaN for an unknown run; of any
    width, only the last ``window_before`` columns count); the moves' own
    ``history`` is then not read.  A caller that reads the histories as a matrix (the
    run report) so builds no Python value per history point.
    """
    if not moves:
        return []
    if history is None:
        history = windows([m.history for m in moves], params.window_before)
    found = judge_columns(
        MoveColumns(
            delta=np.array([m.delta for m in moves], dtype=np.float64),
            new_level=np.array([m.new_level for m in moves], dtype=np.float64),
            old_level=np.array([m.old_level for m in moves], dtype=np.float64),
            adjacent=np.array([m.adjacent for m in moves], dtype=np.bool_),
            stored=[m.stored for m in moves],
            same_binary=np.array([m.same_binary for m in moves], dtype=np.bool_),
        ),
        history,
        min_change=min_change,
        min_history=min_history,
        params=params,
    )
    return [
        Verdict(kind, noise, z, known)
        for kind, noise, z, known in zip(
            found.kind, found.noise, found.z, found.known, strict=True
        )
    ]


class MoveColumns(NamedTuple):
    """Moves (``Move``) as columns, one entry a move, for ``judge_columns``: what a
    caller holding its tests in arrays (the run report) passes without building a
    ``Move`` a test.  ``stored`` is DETECTED, SUSPECT or "" a move."""

    delta: FloatArray
    new_level: FloatArray
    old_level: FloatArray
    adjacent: npt.NDArray[np.bool_]
    stored: Sequence[str]
    same_binary: npt.NDArray[np.bool_]


class VerdictColumns(NamedTuple):
    """The verdicts of ``judge_columns`` as Python lists, one entry a move (the fields
    of ``Verdict``): ``kind`` holds this module's constants."""

    kind: list[str]
    noise: list[float | None]
    z: list[float | None]
    known: list[int]


# The kinds by their code in ``judge_columns``.
_KINDS = (SMALL, SAME_BINARY, DETECTED, SUSPECT, CHANGED, FEW, NOISE)


def judge_columns(
    moves: MoveColumns,
    history: FloatArray,
    *,
    min_change: float = 1.0,
    min_history: int = MIN_HISTORY,
    params: DetectionParams = DetectionParams(),  # noqa: B008 -- frozen, safe to share
    evidence: bool | Literal["flagged"] = True,
) -> VerdictColumns:
    """``judge`` of moves given as columns, with their histories as one matrix (a row
    a move, as ``judge``'s ``history``): the same verdicts, as lists, with no Python
    object built a move but the lists' values.  ``evidence`` False: the kinds and
    known runs alone, ``noise`` and ``z`` all None (the noise estimate, which no kind
    depends on, is not computed), for a caller that only counts the kinds;
    ``"flagged"``: ``noise`` and ``z`` of the flagged moves only (``FLAGGED``), None
    for the rest, for a caller that shows those alone (the latest runs report).  In
    both the detector's model is asked only where it decides a kind or gives a
    flagged move's ``z``: not for a move already SMALL or SAME_BINARY, nor (without
    evidence) for one with a stored change.  The kinds are the same in every mode."""
    count = len(moves.delta)
    if count == 0:
        return VerdictColumns([], [], [], [])
    # The history is the detector's before window, not its longer noise window: a move
    # judged on one run alone with the noise of 40 runs would need z >= 3.3 instead of
    # 3.6, and unconfirmed flags on the demo data rise from 0.41 to 0.49 tests per run
    # (bench/report_quality.py); the detection's own looks need two runs at the level.
    width = params.window_before
    before = _fit(history, count, width)
    # The median of each row's known runs (NaN for none): the mean of its two middle
    # values, as ``np.nanmedian`` takes them, without its masked-array detour.
    median, known = _row_median(before)
    olds = np.asarray(moves.old_level, dtype=np.float64)
    news = np.asarray(moves.new_level, dtype=np.float64)
    distant = ~np.asarray(moves.adjacent, dtype=np.bool_) & (known > 0)
    # A distant old run: the history's noise around the old run's level.
    before[distant] += (olds - median)[distant, None]
    median = np.where(distant, olds, median)
    levels = np.concatenate([before, news[:, None]], axis=1)
    # The history holds the runs' levels (``Point.value``) only: the model is asked on
    # them, means or not.
    relaxed = replace(params, min_after=1, min_relative_change=min_change / 100.0,
                      use_means=False)
    # The model and the noise row by row (``candidate_cells`` and ``_pairwise_scale``
    # give a row the same result whatever rows come with it), on the rows that can
    # have them: a move without a known run before it is never a candidate (the
    # detector wants ``min_before`` >= 1 of them, the short-history rule one) and one
    # with fewer than two has no pair to estimate the noise: NaN.  A caller that reads
    # only the history it shows (the run report's page) so pays for those rows alone.
    deltas = np.asarray(moves.delta, dtype=np.float64)
    small = np.abs(deltas) < min_change
    same_binary = np.asarray(moves.same_binary, dtype=np.bool_)
    stored = np.asarray(moves.stored, dtype=object)
    asked = known > 0
    if evidence is not True:
        # The rows whose kind the model cannot change and whose z is not shown.
        asked &= ~small & ~same_binary
        if evidence is False:
            asked &= stored == ""
    judged = np.flatnonzero(asked)
    cells = candidate_cells(
        levels[judged],
        np.arange(len(judged), dtype=np.intp),
        np.full(len(judged), width, dtype=np.intp),
        relaxed,
    )
    candidate = np.zeros(count, dtype=np.bool_)
    candidate[judged] = cells.candidate & (
        np.sign(cells.new - cells.old) == np.sign(deltas[judged])
    )
    # The precedence of the module docstring: the first condition that holds decides.
    codes = np.select(
        [
            small,
            same_binary,
            stored == DETECTED,
            stored == SUSPECT,
            candidate,
            known < min_history,
        ],
        [0, 1, 2, 3, 4, 5],
        default=6,
    )
    # Python lists from here: a numpy scalar a move costs more than the whole judgement.
    kind = [_KINDS[c] for c in codes.tolist()]
    if not evidence:
        return VerdictColumns(kind, [None] * count, [None] * count, known.tolist())
    z = np.full(count, np.nan)
    z[judged] = cells.z
    two_known = known > 1
    if evidence == "flagged":
        shown = (codes >= 2) & (codes <= 4)  # DETECTED, SUSPECT, CHANGED in _KINDS
        z[~shown] = np.nan
        two_known &= shown
    paired = np.flatnonzero(two_known)
    scale = np.full(count, np.nan)
    if len(paired):
        scale[paired], _ = _pairwise_scale(before[paired], np.full((len(paired), 1), np.nan))
    with np.errstate(all="ignore"):
        noise = np.maximum(scale, params.noise_floor_relative * np.abs(median))
        noise_percent = noise / np.abs(median) * 100.0
    return VerdictColumns(
        kind=kind,
        noise=_finite_or_none_list(noise_percent),
        z=_finite_or_none_list(z),
        known=known.tolist(),
    )


def windows(histories: Sequence[Sequence[float | None]], width: int) -> FloatArray:
    """The last ``width`` values of each history, one row a history, right-aligned
    (oldest first), NaN before a short history and for None and every non-finite
    value: ``judge``'s ``history`` matrix."""
    tails = [h[-width:] for h in histories]
    lengths = np.array([len(t) for t in tails], dtype=np.intp)
    # float64 turns None into NaN; one array for all histories, not one a history.
    flat = np.array([v for t in tails for v in t], dtype=np.float64)
    flat[~np.isfinite(flat)] = np.nan
    rows = np.repeat(np.arange(len(histories), dtype=np.intp), lengths)
    ends = np.cumsum(lengths)
    # Column of each value: its rank from its history's last value, counted from the right.
    columns = width - (ends[rows] - np.arange(len(flat), dtype=np.intp))
    before = np.full((len(histories), width), np.nan)
    before[rows, columns] = flat
    return before


def _fit(history: FloatArray, count: int, width: int) -> FloatArray:
    """A copy of a ``count`` x any-width history matrix as ``width`` columns: its last
    ``width``, NaN-padded on the left when it is narrower; non-finite values NaN."""
    if history.shape[0] != count:
        raise ValueError(f"history has {history.shape[0]} rows for {count} moves")
    before = np.full((count, width), np.nan)
    kept = min(width, history.shape[1])
    if kept:
        before[:, width - kept :] = history[:, history.shape[1] - kept :]
    before[~np.isfinite(before)] = np.nan
    return before


def _finite_or_none_list(values: FloatArray) -> list[float | None]:
    """``values`` as Python floats, None for every non-finite one."""
    finite = np.isfinite(values)
    return [v if ok else None for v, ok in zip(values.tolist(), finite.tolist(), strict=True)]
