"""Detection orchestration: load windows of series -> analysis -> idempotent upserts.

After a run is stored, ``run_detect`` evaluates every series the run touched, in
batches, on a window of the machine's history around the run's order: a constant
number of queries per batch and work proportional to tests x window, never to the
length of the history.  Verdicts are those of ``perf.analysis.find_change_points``
on the whole history (the analysis guarantees it for the indices a slice settles):

* a change point found in the settled range is upserted as a ``FieldChange``
  (unique per series and order, so two workers or two runs create nothing twice);
* a stored change in the settled range that is no longer found is *withdrawn*
  (later data did not confirm it); one found again is restored;
* the live regressing changes of the evaluated window that are on no regression
  (new, restored, or left ungrouped by an interrupted evaluation) are grouped by
  overlapping order ranges into ``Regression`` rows (``perf.services.grouping``);
  a regression whose every change has been reversed by a later change back to the
  old level moves to Verify by itself; a test that disappeared
  produces no change at all, so it never looks fixed.

A run's series history is the sequence of orders at which its machine has runs; a
test missing from one of those runs is an unknown (None) item, never a value.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg2
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from ..analysis import (
    ChangePoint,
    DetectionParams,
    affected_indices,
    evaluate_slice,
    find_suspect,
    screen_levels,
    screen_suspects,
    slice_bounds,
)
from ..copy_out import copy_records, copy_tuples
from ..formats.run_values import run_levels_unpack, run_values_unpack
from ..formats.samples import unpack_samples
from ..models import (
    FieldChange,
    Metric,
    Point,
    Run,
    RunValues,
    Series,
)
from .claims import rows_claim
from .grouping import regressions_group, regressions_to_notify
from .notifications import regressions_claim_notification

log = logging.getLogger(__name__)

# A lost or refused database connection: an outage, not the run's fault.  Django wraps
# the driver's errors in its own; a connection that breaks while being opened or
# closed can surface the driver's unwrapped.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
)

# Series per batch: bounds the rows one query returns (5,000 series x a 59-order window
# is ~295,000 rows, ~21 MB of binary COPY) while keeping the task's round trips few: a
# 5,000-test run (10,000 series) is two batches, not twenty.
BATCH_SIZE = 5000
# A stand-in for "somewhere past the start / end of history": the analysis only needs
# to know whether a slice touches the true start or end, never the absolute index.
FAR = 10**9
PARAMS = DetectionParams()


@dataclass
class Window:
    """Positions of a machine's history loaded for one evaluation.

    ``positions`` are sorted; ``offset`` is the global index of the first one (0 when
    the window starts at the start of history, else FAR); ``total`` is the history
    length in the same frame.
    """

    positions: list[int]
    order_ids: list[int]
    offset: int
    total: int

    def global_index(self, position: int) -> int:
        return self.offset + self.positions.index(position)

    def is_newest(self, index: int) -> bool:
        """Whether global ``index`` is the last order of the machine's whole history."""
        return index == self.total - 1


@dataclass
class Outcome:
    series: int = 0
    created: int = 0
    updated: int = 0
    withdrawn: int = 0
    regressions: list[int] = field(default_factory=list)
    # Live changes in the evaluated windows: what grouping looks at (a change restored
    # by this evaluation keeps the run_id of the run that first found it).
    changes: list[int] = field(default_factory=list)

    def add(self, other: Outcome) -> None:
        self.series += other.series
        self.created += other.created
        self.updated += other.updated
        self.withdrawn += other.withdrawn
        self.regressions += other.regressions
        self.changes += other.changes


# --- entry points ---------------------------------------------------------------------


@dataclass
class DetectResult:
    """What ``run_detect`` did, and the regressions whose notification the caller
    must enqueue (already claimed: each is handed out once)."""

    summary: str
    notify: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return self.summary


def run_detect(
    run_id: int, *, from_queue: bool = False, count_attempt: bool = True
) -> DetectResult:
    """Detect the changes a run introduced; idempotent.

    Each call counts one attempt, counted before the work so that an attempt that
    kills its worker counts too (``count_attempt=False``: the call retries one that a
    lost database connection interrupted, which was counted already).  A run that is
    not done and has used PERF_DETECTION_MAX_ATTEMPTS is marked ``failed`` for good.

    ``from_queue`` (a task): the run is detected only if it is still ``pending`` and no
    other worker holds its lease (``detection_started_at`` younger than
    PERF_DETECTION_LEASE_SECONDS); a second copy of a message (a re-published lost run,
    a redelivery) then does nothing, so a run is never detected twice.  The lease is
    renewed while the work goes on.

    On success the run becomes ``done``; on a database connection error the run keeps
    its queue mark and the error is re-raised for the task to retry (the outage is not
    the run's fault); on any other error the run stays ``pending`` with the error and
    a back-off time (``detection_next_attempt_at``, for the sweep), or becomes
    ``failed`` on the last attempt, and the error is re-raised.  The result lists the
    regressions now ready to be notified; the caller (the task) enqueues them.
    """
    run = Run.objects.filter(id=run_id).only("id", "machine_id", "suite_id", "position").first()
    if run is None:
        return DetectResult("missing")
    limit = settings.PERF_DETECTION_MAX_ATTEMPTS
    now = timezone.now()
    claim = Run.objects.filter(id=run_id)
    if from_queue:
        lease_expired = now - timedelta(seconds=settings.PERF_DETECTION_LEASE_SECONDS)
        claim = claim.filter(
            Q(detection_started_at__isnull=True) | Q(detection_started_at__lt=lease_expired),
            detection_state=Run.PENDING,
        )
    if count_attempt:
        claim = claim.filter(Q(detection_state=Run.DONE) | Q(detection_attempts__lt=limit))
    counted = claim.update(
        detection_attempts=F("detection_attempts") + int(count_attempt),
        detection_started_at=now,
    )
    if not counted:
        state = Run.objects.filter(id=run_id).values_list("detection_state", "detection_attempts")
        current = state.first()
        busy = current is None or current[0] != Run.PENDING or current[1] < limit
        if from_queue and busy:
            return DetectResult(f"run {run_id}: already detected, failed, or being detected")
        Run.objects.filter(id=run_id).exclude(detection_state=Run.DONE).update(
            detection_state=Run.FAILED,
            detection_queued_at=None,
            detection_next_attempt_at=None,
            detection_started_at=None,
        )
        return DetectResult(f"run {run_id}: gave up after {limit} attempts")
    lease = _Lease(run_id, now)
    try:
        window = _window_around(run.machine_id, run.position)
        keyed = list(
            Point.objects.filter(run_id=run_id, series__metric__type=Metric.REAL).values_list(
                "series_id", "series__test_id", "series__metric_id"
            )
        )
        series_ids = [series_id for series_id, _, _ in keyed]
        packed = _packed_window(
            run.machine_id, window, {series_id: (t, m) for series_id, t, m in keyed}
        )
        k = window.global_index(run.position)
        affected = affected_indices(k, window.total, PARAMS)
        outcome = Outcome()
        for batch in _chunks(series_ids, BATCH_SIZE):
            lease.renew()
            outcome.add(
                _detect_batch(
                    run.machine_id,
                    batch,
                    window,
                    affected,
                    run_id,
                    newest=window.is_newest(k),
                    packed=packed,
                )
            )
        lease.renew()
        outcome.regressions = regressions_group(run.suite_id, outcome.changes)
    except CONNECTION_ERRORS:
        raise  # the task retries; the run stays queued, its lease expires by itself
    except Exception as exc:
        _record_failure(run_id, f"{type(exc).__name__}: {exc}")
        raise
    Run.objects.filter(id=run_id).update(
        detection_state=Run.DONE,
        detection_error="",
        detected_at=timezone.now(),
        detection_queued_at=None,
        detection_next_attempt_at=None,
        detection_started_at=None,
    )
    notify = regressions_claim_notification(regressions_to_notify(run.suite_id))
    return DetectResult(
        f"run {run_id}: {outcome.series} series, {outcome.created} new changes, "
        f"{outcome.updated} updated, {outcome.withdrawn} withdrawn, "
        f"{len(outcome.regressions)} new regressions",
        notify,
    )


class _Lease:
    """Renews a run's detection lease at most every third of its length (one UPDATE)."""

    def __init__(self, run_id: int, taken: datetime) -> None:
        self.run_id = run_id
        self.taken = taken
        self.every = timedelta(seconds=settings.PERF_DETECTION_LEASE_SECONDS / 3)

    def renew(self) -> None:
        now = timezone.now()
        if now - self.taken >= self.every:
            Run.objects.filter(id=self.run_id).update(detection_started_at=now)
            self.taken = now


def run_detection_failed(run_id: int, error: str) -> None:
    """Record a failed attempt that the task gave up retrying (e.g. the database stayed
    unreachable through every connection retry): back-off or ``failed``, as any error."""
    _record_failure(run_id, error)


def _record_failure(run_id: int, error: str) -> None:
    """A failed attempt: back off (pending) or, on the last attempt, fail for good."""
    attempts = (
        Run.objects.filter(id=run_id).values_list("detection_attempts", flat=True).first() or 0
    )
    final = attempts >= settings.PERF_DETECTION_MAX_ATTEMPTS
    Run.objects.filter(id=run_id).update(
        detection_state=Run.FAILED if final else Run.PENDING,
        detection_error=error[:2000],
        detection_queued_at=None,
        detection_started_at=None,
        detection_next_attempt_at=None if final else timezone.now() + detection_backoff(attempts),
    )


def detection_backoff(attempts: int) -> timedelta:
    """Wait after ``attempts`` failed attempts: PERF_DETECTION_RETRY_SECONDS doubled
    after each one (300 s, 600 s, 1,200 s, ... by default), at most a day."""
    seconds = settings.PERF_DETECTION_RETRY_SECONDS * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, 86_400))


def machine_detect_all(
    machine_id: int, *, chunk: int = 400, progress: Callable[[int], None] | None = None
) -> Outcome:
    """Re-evaluate every series of a machine over its whole history; idempotent.

    Walks the history in chunks of ``chunk`` orders (plus the analysis' lookback and
    lookahead), so memory stays bounded however long the history is.
    """
    positions = list(
        Run.objects.filter(machine_id=machine_id)
        .order_by("position")
        .values_list("position", "order_id")
        .distinct()
    )
    total = len(positions)
    series_ids = list(
        Series.objects.filter(machine_id=machine_id, metric__type=Metric.REAL)
        .order_by("id")
        .values_list("id", flat=True)
    )
    outcome = Outcome()
    suite_id = (
        Series.objects.filter(machine_id=machine_id)
        .values_list("metric__suite_id", flat=True)
        .first()
    )
    for start in range(0, total, chunk):
        stop = min(total, start + chunk)
        lo, hi = slice_bounds(start, stop, total, PARAMS)
        part = positions[lo:hi]
        window = Window(
            positions=[p for p, _ in part],
            order_ids=[o for _, o in part],
            offset=lo,
            total=total,
        )
        for batch in _chunks(series_ids, BATCH_SIZE):
            outcome.add(_detect_batch(machine_id, batch, window, range(start, stop), None))
        if progress:
            progress(stop - start)
    if suite_id is not None:
        outcome.regressions = regressions_group(suite_id, machine_id=machine_id)
    return outcome


def runs_enqueue_pending(
    *,
    enqueue: Callable[[int], Any],
    limit: int = 1000,
    now: datetime | None = None,
    lost_after: float | None = None,
) -> int:
    """The sweep: hand to ``enqueue`` the runs whose detection is due; oldest first.

    Due: see ``_due_runs``; ``lost_after`` (seconds, default
    PERF_DETECTION_QUEUED_TIMEOUT_SECONDS) is how long a queued run that no worker
    started may wait before its message counts as lost: the caller passes a short one
    when the broker says the queue is empty.  Runs that are waiting in the queue or
    running are left alone; runs ``failed`` for good too.
    Returns how many were handed over.
    """
    now = now or timezone.now()
    ids = list(_due_runs(now, lost_after).order_by("id").values_list("id", flat=True)[:limit])
    return runs_enqueue(ids, enqueue=enqueue, now=now, lost_after=lost_after)


def runs_enqueue(
    run_ids: list[int],
    *,
    enqueue: Callable[[int], Any],
    now: datetime | None = None,
    lost_after: float | None = None,
) -> int:
    """Mark these runs queued and hand each to ``enqueue`` (publishing a task).

    The mark is a conditional UPDATE on rows locked with SKIP LOCKED, so of two
    sweeps (or a sweep and a submission) racing for a run exactly one publishes it.
    Called outside any transaction (after commit): a run is marked before its message
    exists, never the reverse.  If ``enqueue`` raises (broker down) the runs not
    handed over are unmarked, left to the next sweep.  Returns how many were handed.
    """
    now = now or timezone.now()
    claimed = rows_claim(
        _due_runs(now, lost_after).filter(id__in=run_ids),
        mark="detection_queued_at",
        now=now,
        reset={"detection_started_at": None},  # a dead worker's lease
    )
    for handed, run_id in enumerate(claimed):
        try:
            enqueue(run_id)
        except Exception:  # broker down: the sweep will try these again
            log.warning(
                "could not enqueue detection of run %s; left pending", run_id, exc_info=True
            )
            Run.objects.filter(id__in=claimed[handed:], detection_queued_at=now).update(
                detection_queued_at=None
            )
            return handed
    return len(claimed)


def _due_runs(now: datetime, lost_after: float | None = None) -> QuerySet[Run]:
    """Pending runs past their back-off time that no live task holds: not queued; or
    queued and their worker's lease expired (it died: killed, or its database
    connection retries ran out); or queued, never started, and marked longer than
    ``lost_after`` seconds ago (default PERF_DETECTION_QUEUED_TIMEOUT_SECONDS: the
    broker lost the message).  A run merely waiting in the queue (queued, no lease)
    is not due."""
    if lost_after is None:
        lost_after = settings.PERF_DETECTION_QUEUED_TIMEOUT_SECONDS
    lost_message = now - timedelta(seconds=lost_after)
    dead_worker = now - timedelta(seconds=settings.PERF_DETECTION_LEASE_SECONDS)
    return Run.objects.filter(
        Q(detection_queued_at__isnull=True)
        | Q(detection_started_at__lt=dead_worker)
        | Q(detection_started_at__isnull=True, detection_queued_at__lt=lost_message),
        Q(detection_next_attempt_at__isnull=True) | Q(detection_next_attempt_at__lte=now),
        detection_state=Run.PENDING,
    )


def runs_retry_detection(run_ids: list[int]) -> int:
    """Give runs a fresh set of attempts (the admin's "retry detection"): back to
    ``pending``, attempts and back-off reset.  Done runs are left alone."""
    return (
        Run.objects.filter(id__in=run_ids)
        .exclude(detection_state=Run.DONE)
        .update(
            detection_state=Run.PENDING,
            detection_attempts=0,
            detection_next_attempt_at=None,
            detection_queued_at=None,
        )
    )


# --- windows -------------------------------------------------------------------------


def _window_around(machine_id: int, position: int) -> Window:
    """The machine's orders around ``position``: enough to settle every affected index.

    Two indexed queries bounded by the window size (LIMIT), whatever the history.
    """
    need = PARAMS.lookback + PARAMS.lookahead
    runs = Run.objects.filter(machine_id=machine_id)
    before = list(
        runs.filter(position__lt=position)
        .order_by("-position")
        .values_list("position", "order_id")
        .distinct()[: need + 1]
    )[::-1]
    after = list(
        runs.filter(position__gte=position)
        .order_by("position")
        .values_list("position", "order_id")
        .distinct()[: need + 1]
    )
    at_start = len(before) <= need  # fewer than asked: the history starts in the window
    at_end = len(after) <= need
    part = (before if at_start else before[1:]) + (after if at_end else after[:need])
    offset = 0 if at_start else FAR
    total = offset + len(part) + (0 if at_end else FAR)
    return Window(
        positions=[p for p, _ in part],
        order_ids=[o for _, o in part],
        offset=offset,
        total=total,
    )


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- one batch -----------------------------------------------------------------------


def _detect_batch(
    machine_id: int,
    series_ids: list[int],
    window: Window,
    affected: Iterable[int],
    run_id: int | None,
    *,
    newest: bool = False,
    packed: PackedWindow | None = None,
) -> Outcome:
    """Evaluate a batch of series on a window and store the verdicts.  Four queries when
    the screen keeps no series and nothing changes, at most ten.

    With ``newest`` (the run is the machine's latest order), a change seen on that
    run alone is stored as an unconfirmed suspect (see ``perf.analysis.suspects``).
    ``packed``: the window's runs read from their packed rows (``_packed_window``,
    which must know every series of the batch); without, the levels come from the
    points.
    """
    outcome = Outcome(series=len(series_ids))
    if not window.positions or not series_ids:
        return outcome
    loaded = _load_levels(series_ids, window, packed)
    affected_set = set(affected)
    settled = [
        i
        for i in evaluate_slice(
            [None] * len(window.positions), offset=window.offset, total_length=window.total
        ).settled
        if i in affected_set
    ]
    settled_positions = [window.positions[i - window.offset] for i in settled]
    found: dict[tuple[int, int], tuple[ChangePoint, bool]] = {}  # -> (change, confirmed)
    meta: dict[int, dict[str, Any]] = {}  # of the candidates: changes are theirs only
    if settled:
        report = range(settled[0], settled[-1] + 1)
        maybe = screen_levels(
            loaded.levels,
            offset=window.offset,
            total_length=window.total,
            report=report,
            params=PARAMS,
            means=loaded.means,
        )
        if newest:
            maybe |= screen_suspects(loaded.levels, loaded.counts, params=PARAMS,
                                     means=loaded.means)
        maybe |= loaded.pooled
        candidates = [series_ids[k] for k in np.flatnonzero(maybe)]
        meta.update(_series_meta(candidates))
        items = _load_items(candidates, window)
        for series_id in candidates:
            found.update(_evaluate(series_id, items, meta[series_id], window, affected_set, newest))
    if not settled_positions:
        return outcome
    lo, hi = settled_positions[0], settled_positions[-1]
    with transaction.atomic():
        existing = {
            (fc.series_id, fc.end_position): fc
            for fc in FieldChange.objects.filter(
                series_id__any_of=series_ids, end_position__gte=lo, end_position__lte=hi
            )
        }
        to_create, to_update, to_withdraw = [], [], []
        order_at = dict(zip(window.positions, window.order_ids, strict=True))
        for (series_id, position), (cp, confirmed) in found.items():
            start_position = _previous_known(
                loaded.levels[loaded.row[series_id]], window.positions.index(position), window
            )
            values = {
                "start_order_id": order_at[start_position],
                "old_value": _finite(cp.old_value),
                "new_value": _finite(cp.new_value),
                "relative_change": _finite(cp.relative_change),
                "confidence": cp.confidence,
                "is_regression": cp.is_regression,
                "method": cp.method,
                "parameters": asdict(PARAMS),
                "withdrawn": False,
                "confirmed": confirmed,
            }
            current = existing.pop((series_id, position), None)
            if current is None:
                info = meta[series_id]
                to_create.append(
                    FieldChange(
                        series_id=series_id,
                        machine_id=machine_id,
                        test_id=info["test_id"],
                        metric_id=info["metric_id"],
                        end_order_id=order_at[position],
                        end_position=position,
                        run_id=run_id,
                        **values,
                    )
                )
            elif any(getattr(current, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(current, k, v)
                to_update.append(current)
        to_withdraw = [
            fc.id
            for fc in existing.values()
            if not fc.withdrawn and fc.method not in FieldChange.KEPT_METHODS
        ]
        # ignore_conflicts: a concurrent worker may have stored the same change.
        FieldChange.objects.bulk_create(to_create, ignore_conflicts=True)
        if to_update:
            FieldChange.objects.bulk_update(to_update, [*values.keys(), "updated_at"])
        if to_withdraw:
            FieldChange.objects.filter(id__in=to_withdraw).update(
                withdrawn=True, updated_at=timezone.now()
            )
        outcome.changes = list(
            FieldChange.objects.filter(
                series_id__any_of=series_ids,
                end_position__gte=lo,
                end_position__lte=hi,
                withdrawn=False,
            ).values_list("id", flat=True)
        )
    outcome.created, outcome.updated, outcome.withdrawn = (
        len(to_create),
        len(to_update),
        len(to_withdraw),
    )
    return outcome


def _series_meta(series_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Test, metric and the metric's direction and hash policy of each series.  One
    query, none for no series: only the few series the screen keeps need them."""
    if not series_ids:
        return {}
    return {
        s["id"]: s
        for s in Series.objects.filter(id__any_of=series_ids).values(
            "id", "test_id", "metric_id", "metric__bigger_is_better", "metric__ignore_same_hash"
        )
    }


@dataclass
class Levels:
    """One batch's window as the analysis screens it (see ``_load_levels``)."""

    levels: Any  # float (series, orders): the order's level; NaN unknown
    means: Any  # float (series, orders): the mean of the samples behind the level
    counts: Any  # int (series, orders): samples behind each level
    pooled: Any  # bool (series,): an order with several runs (level from pooled samples)
    row: dict[int, int]


def _load_levels(
    series_ids: list[int], window: Window, packed: PackedWindow | None = None
) -> Levels:
    """The per-order levels of a batch from the ``Point`` aggregates.  One query; with
    ``packed``, none when it holds every run of the window (the levels come from its
    rows), else one per metric some runs have no usable row of.

    A range scan of the (series, position) index over the window's orders, read with
    a plain cursor and placed with numpy: the cost is one row per series and order.
    Failed runs are unknown.  Where the machine has several runs at one order, the
    analysis pools their samples; such rows are always evaluated in full (the screen
    would see the median of medians, not the pooled median).  The means are what the
    analysis computes from what ``_load_items`` gives it: ``Point.mean`` (the same
    ``sample_mean``) for a run whose samples are all valid, else the point's value,
    which is then the one sample it is given (``formats.run_values.level_mean``).
    """
    n = len(window.positions)
    row = {s: k for k, s in enumerate(series_ids)}
    levels = np.full((len(series_ids), n), np.nan)
    means = np.full((len(series_ids), n), np.nan)
    counts = np.zeros((len(series_ids), n), dtype=np.int64)
    pooled = np.zeros(len(series_ids), dtype=bool)
    parts = []
    if packed is None:
        reads = [(series_ids, None)]
    else:
        parts.append(packed.cells(series_ids))
        # The points of a metric's series in the runs that have no usable row of it.
        reads = [
            ([s for s in series_ids if packed.keys[s][1] == metric_id], run_ids)
            for metric_id, run_ids in sorted(packed.unpacked.items())
        ]
    for some, run_ids in reads:
        columns = _level_columns(some, window, run_ids) if some else None
        if columns is not None:
            parts.append(_point_cells(series_ids, window, columns))
    if not parts:
        return Levels(levels, means, counts, pooled, row)
    rows_k, cols, values, run_means, sizes = (
        np.concatenate(part) for part in zip(*parts, strict=True)
    )
    ok = ~np.isnan(values)
    cells = rows_k[ok] * n + cols[ok]
    unique, first, times = np.unique(cells, return_index=True, return_counts=True)
    levels.flat[unique] = values[ok][first]
    means.flat[unique] = run_means[ok][first]
    np.add.at(counts.reshape(-1), cells, sizes[ok])
    for cell in unique[times > 1]:  # several runs at one order: rare
        pooled[cell // n] = True
        levels.flat[cell] = statistics.median(values[ok][cells == cell])
    return Levels(levels, means, counts, pooled, row)


# One batch's cells as five arrays: row in the batch, column in the window, level
# (NaN: unknown, the cell is skipped), level mean and sample count.
Cells = tuple[Any, Any, Any, Any, Any]


def _point_cells(series_ids: list[int], window: Window, columns: tuple[Any, ...]) -> Cells:
    """The cells of the point rows ``_level_columns`` read."""
    sid, pos, value, count, failed, mean, valid = columns
    ids = np.asarray(series_ids)
    by_id = np.argsort(ids)
    rows_k = by_id[np.searchsorted(ids[by_id], np.asarray(sid))]
    positions = np.asarray(window.positions)
    cols = np.clip(np.searchsorted(positions, np.asarray(pos)), 0, len(positions) - 1)
    values = np.asarray(value, dtype=float)  # None -> NaN
    ok = (positions[cols] == np.asarray(pos)) & ~np.asarray(failed, dtype=bool) & ~np.isnan(values)
    sizes = np.asarray(count, dtype=np.int64)
    whole = (sizes > 1) & (sizes == np.asarray(valid, dtype=np.int64))
    run_means = np.where(whole, np.asarray(mean, dtype=float), values)
    return rows_k, cols, np.where(ok, values, np.nan), run_means, sizes


@dataclass
class PackedWindow:
    """A window's runs as their packed rows (``models.RunValues``): one row per run
    and metric, each test's level, level mean and count, read once for all batches.

    ``rows``: (window column, metric id, test ids, levels, means, counts) of each row;
    ``unpacked``: metric id -> the window's runs whose row of it is missing or predates
    the means and counts: the batches read those runs' points of that metric's series
    instead (correctness never depends on the copy); ``keys``: each series' (test id,
    metric id).
    """

    rows: list[tuple[int, int, Any, Any, Any, Any]]
    unpacked: dict[int, list[int]]
    keys: Mapping[int, tuple[int, int]]

    def __post_init__(self) -> None:
        # ``keys`` as arrays sorted by series id, for the batches' look-ups.
        series = np.fromiter(self.keys, dtype=np.int64, count=len(self.keys))
        pairs = np.array(list(self.keys.values()), dtype=np.int64).reshape(-1, 2)
        order = np.argsort(series)
        self._series, self._pairs = series[order], pairs[order]

    def cells(self, series_ids: list[int]) -> Cells:
        """The cells of these series (all in ``keys``) in the packed rows."""
        at = np.searchsorted(self._series, np.asarray(series_ids, dtype=np.int64))
        tests, metrics = self._pairs[at, 0], self._pairs[at, 1]
        sorted_tests = {}
        for metric_id in np.unique(metrics).tolist():
            rows = np.flatnonzero(metrics == metric_id)
            order = np.argsort(tests[rows], kind="stable")
            sorted_tests[metric_id] = (tests[rows][order], rows[order])
        parts: list[Cells] = []
        for col, metric_id, tests, values, means, counts in self.rows:
            found = sorted_tests.get(metric_id)
            if found is None or not tests.size:
                continue
            batch_tests, batch_rows = found
            at = np.clip(np.searchsorted(batch_tests, tests), 0, len(batch_tests) - 1)
            match = batch_tests[at] == tests
            parts.append(
                (
                    batch_rows[at[match]],
                    np.full(int(match.sum()), col, dtype=np.int64),
                    values[match],
                    means[match],
                    counts[match],
                )
            )
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0), np.zeros(0), empty
        return tuple(np.concatenate(part) for part in zip(*parts, strict=True))  # type: ignore[return-value]


def _packed_window(
    machine_id: int, window: Window, keys: Mapping[int, tuple[int, int]]
) -> PackedWindow:
    """The packed rows of the window's runs for the metrics of ``keys`` (series ->
    (test, metric)).  Two queries: the window's runs (by the (machine, position)
    index), their rows (by the (run, metric) one): ~60 runs and ~120 rows of a few
    hundred kilobytes for a 59-order window of a 5,000-test machine, instead of
    ~590,000 point rows."""
    metrics = sorted({metric_id for _, metric_id in keys.values()})
    if not window.positions or not metrics:
        return PackedWindow([], {}, keys)
    runs = dict(
        Run.objects.filter(
            machine_id=machine_id,
            position__gte=window.positions[0],
            position__lte=window.positions[-1],
        ).values_list("id", "position")
    )
    column = {p: i for i, p in enumerate(window.positions)}
    query = RunValues.objects.filter(run_id__in=list(runs), metric_id__in=metrics).values_list(
        "run_id", "metric_id", "tests", "values", "means", "counts"
    )
    read: Iterable[tuple[Any, ...]] = query
    if connection.vendor == "postgresql":
        # By binary COPY: the bytes as stored, not 33 MB of hex text to decode (most
        # of this read's Python time).
        sql, params = query.query.sql_with_params()
        read = (
            (int.from_bytes(r, "big", signed=True), int.from_bytes(m, "big", signed=True), *rest)
            for r, m, *rest in copy_tuples(sql, params, 6)
            if r is not None and m is not None
        )
    rows = []
    usable = set()
    for run_id, metric_id, tests, values, means, counts in read:
        if tests is None or values is None or means is None or counts is None:
            continue
        test_ids, levels = run_values_unpack(tests, values)
        level_means, sizes = run_levels_unpack(means, counts)
        rows.append((column[runs[run_id]], metric_id, test_ids, levels, level_means, sizes))
        usable.add((run_id, metric_id))
    unpacked = {
        metric_id: missing
        for metric_id in metrics
        if (missing := sorted(r for r in runs if (r, metric_id) not in usable))
    }
    return PackedWindow(rows, unpacked, keys)


# The columns _load_levels reads, with their PostgreSQL types for the binary COPY.
_LEVEL_FIELDS = (
    ("series_id", "int8"),
    ("position", "int8"),
    ("value", "float8"),
    ("count", "int4"),
    ("failed", "bool"),
    ("mean", "float8"),
    ("valid_count", "int4"),
)


def _level_columns(
    series_ids: list[int], window: Window, run_ids: list[int] | None = None
) -> tuple[Any, ...] | None:
    """The window's points of these series as columns (series, position, value, count,
    failed, mean, valid count), None when there are none; of the runs ``run_ids`` only
    if given.  One statement.

    On PostgreSQL a binary COPY of the query read into numpy (``copy_records``): a batch
    is ~295,000 rows of seven columns, which a cursor's ``fetchall`` turns into 2,000,000
    Python objects for the numpy code below to turn back (most of the task's time).
    NULL value and mean come as NaN, as ``np.asarray(..., dtype=float)`` makes them.
    """
    table = connection.ops.quote_name(Point._meta.db_table)
    bounds = [window.positions[0], window.positions[-1]]
    if connection.vendor == "postgresql":
        select = (
            "SELECT series_id, position, COALESCE(value, 'NaN'), count, failed, "  # noqa: S608 - quoted table, bound values
            f"COALESCE(mean, 'NaN'), valid_count FROM {table} "
            "WHERE series_id = ANY(%s) AND position >= %s AND position <= %s"
        )
        params: list[Any] = [list(series_ids), *bounds]
        if run_ids is not None:
            select += " AND run_id = ANY(%s)"
            params.append(list(run_ids))
        records = copy_records(select, params, _LEVEL_FIELDS)
        if not records.size:
            return None
        return tuple(records[name] for name, _ in _LEVEL_FIELDS)
    names = ", ".join(name for name, _ in _LEVEL_FIELDS)
    marks = ", ".join(["%s"] * len(series_ids))
    runs = "" if run_ids is None else " AND run_id IN (" + ", ".join(["%s"] * len(run_ids)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {names} FROM "  # noqa: S608 - quoted table, bound values
            f"{table} WHERE series_id IN ({marks}) AND position >= %s AND position <= %s"
            + runs,
            [*series_ids, *bounds, *(run_ids or [])],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    return tuple(zip(*rows, strict=True))


@dataclass
class Items:
    """What the full analysis needs for the series the screen kept."""

    samples: dict[int, list[list[float] | None]]
    hashes: dict[int, list[str | None]]


def _load_items(series_ids: list[int], window: Window) -> Items:
    """Samples and binary hashes of the few series the screen kept.  Two queries at
    most, none when the screen kept nothing.

    A run with one sample, or whose samples were not all valid (a ``<metric>_status``
    said FAIL for some), contributes its point's value (the median of the valid
    samples); other runs contribute their raw samples.
    """
    n = len(window.positions)
    samples: dict[int, list[list[float] | None]] = {s: [None] * n for s in series_ids}
    hashes: dict[int, list[str | None]] = {s: [None] * n for s in series_ids}
    if not series_ids:
        return Items(samples, hashes)
    index_of = {p: i for i, p in enumerate(window.positions)}
    points = list(
        Point.objects.filter(
            series_id__any_of=series_ids,
            position__gte=window.positions[0],
            position__lte=window.positions[-1],
        ).values_list(
            "series_id", "position", "run_id", "value", "count", "valid_count", "failed", "hash"
        )
    )
    need = [(s, r) for s, _, r, v, c, valid, f, _ in points if c > 1 and valid == c and not f]
    raw: dict[tuple[int, int], list[float]] = {}
    if need:
        wanted = set(need)
        rows = Point.objects.filter(
            series_id__in={s for s, _ in need}, run_id__in={r for _, r in need}
        ).values_list("series_id", "run_id", "samples")
        raw = {
            (s, r): [float(x) for x in unpack_samples(v)] for s, r, v in rows if (s, r) in wanted
        }
    for series_id, position, run_id, value, _, _, failed, binary in points:
        i = index_of.get(position)
        if i is None:
            continue
        if binary:
            hashes[series_id][i] = binary
        if failed or value is None:
            continue
        pooled = samples[series_id][i] or []
        pooled.extend(raw.get((series_id, run_id), [value]))
        samples[series_id][i] = pooled
    return Items(samples, hashes)


def _evaluate(
    series_id: int,
    loaded: Items,
    info: dict[str, Any],
    window: Window,
    affected: set[int],
    newest: bool,
) -> dict[tuple[int, int], tuple[ChangePoint, bool]]:
    """The analysis on one series' samples: change points, and a suspect if newest."""
    found: dict[tuple[int, int], tuple[ChangePoint, bool]] = {}
    items = loaded.samples[series_id]
    hashes = loaded.hashes[series_id] if info["metric__ignore_same_hash"] else None
    result = evaluate_slice(
        items,
        offset=window.offset,
        total_length=window.total,
        bigger_is_better=info["metric__bigger_is_better"],
        hashes=hashes,
        params=PARAMS,
    )
    for cp in result.change_points:
        if cp.index in affected:
            found[(series_id, window.positions[cp.index - window.offset])] = (cp, True)
    if newest:
        suspect = find_suspect(
            items, bigger_is_better=info["metric__bigger_is_better"], hashes=hashes, params=PARAMS
        )
        key = (series_id, window.positions[-1])
        if suspect is not None and suspect.index == len(items) - 1 and key not in found:
            found[key] = (suspect, False)
    return found


def _previous_known(levels: Any, index: int, window: Window) -> int:
    """Position of the last order before ``index`` where the series had a value."""
    for i in range(index - 1, -1, -1):
        if not np.isnan(levels[i]):
            return window.positions[i]
    return window.positions[max(0, index - 1)]


def _finite(value: float) -> float:
    """Infinite relative changes (old level 0) are stored as a large finite number."""
    if value != value:  # NaN
        return 0.0
    return max(-1e300, min(1e300, value))
