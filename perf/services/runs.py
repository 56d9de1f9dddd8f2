"""Deleting runs and machines, merging and renaming machines: with what was derived.

A run's data feeds detection: field changes at its order, the verdicts of the
orders around it, and the regressions grouping built from them.  Removing or moving
data by a plain ``DELETE`` leaves all of that behind (``FieldChange.run`` is SET_NULL,
so the changes stay live and their regressions stay open).  Every entry point that
deletes, merges or replaces data (the API, the admin, ingest's ``merge=replace``)
goes through this module instead, which

* removes the field changes that can no longer exist: those of the affected
  machine ending at an order where it no longer has a run;
* settles the regressions that held them: a regression left empty is deleted when
  it is still Detected and no person touched it (its events have no user), else it
  keeps a ``changes_removed`` event in its history and, if open, is closed
  (Ignored) with a ``state`` event; a regression that keeps members gets its range
  and automatic title refitted;
* re-detects the affected window: the neighbouring runs of a deleted run (their
  detection re-evaluates every order whose verdict depended on it, withdrawing or
  updating changes in place, so triaged changes keep their regression), or the
  whole history of a machine that received another's runs.

Re-detection is handed to a callback, called after the commit (``redetect`` takes a
run id, ``redetect_machine`` a machine id); entry points pass the Celery tasks.
Without one, detection runs in-process after the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Case, Value, When

from ..formats import FormatError
from ..formats.values import MACHINE_NAME_FORBIDDEN, check_name
from ..models import (
    FieldChange,
    Machine,
    Point,
    Regression,
    RegressionEvent,
    RegressionIndicator,
    Run,
    Series,
    TestSuite,
)
from .detection import machine_detect_all, run_detect
from .grouping import regression_retitle
from .locks import suite_grouping_lock
from .triage import RANGE_FIELDS, regression_fit_range

MACHINE_DELETE_CHUNK = 50  # runs deleted per transaction (each has thousands of rows)
SERIES_CHUNK = 500  # series remapped per UPDATE when merging machines


class LifecycleError(ValueError):
    """A request that cannot be applied; the message names the value at fault."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Removal:
    """What a delete, merge or replace removed, and what it re-detects."""

    deleted_runs: list[int] = field(default_factory=list)
    deleted_changes: list[int] = field(default_factory=list)
    deleted_regressions: list[int] = field(default_factory=list)
    closed_regressions: list[int] = field(default_factory=list)
    redetect_runs: list[int] = field(default_factory=list)
    redetect_machine: int | None = None

    def add(self, other: Removal) -> None:
        self.deleted_changes += other.deleted_changes
        self.deleted_regressions += other.deleted_regressions
        self.closed_regressions += other.closed_regressions


# --- runs ------------------------------------------------------------------------------


def run_delete(
    run_id: int,
    *,
    machine_name: str = "",
    redetect: Callable[[int], Any] | None = None,
    user: Any = None,
) -> Removal | None:
    """Delete a run and what was derived from it; None when there is no such run
    (or, with ``machine_name``, no such run on that machine).

    The run's neighbours are re-detected after the commit: another run of the
    machine at the same order if there is one (the order stays in the history),
    else the nearest run before and the nearest after.
    """
    with transaction.atomic():
        runs = Run.objects.filter(id=run_id)
        if machine_name:
            runs = runs.filter(machine__name=machine_name)
        # The suite lock first, as ingest and grouping take it: a concurrent delete of
        # the same run then finds nothing, and no lock is taken in the other order.
        TestSuite.objects.select_for_update(no_key=True).filter(
            id__in=runs.values("suite_id")
        ).values_list("id").first()
        run = runs.values("id", "suite_id", "machine_id", "order_id", "position").first()
        if run is None:
            return None
        machine_id, position = run["machine_id"], run["position"]
        same_order = list(
            Run.objects.filter(machine_id=machine_id, order_id=run["order_id"])
            .exclude(id=run_id)
            .order_by("id")
            .values_list("id", flat=True)[:1]
        )
        removal = Removal(deleted_runs=[run_id])
        if not same_order:
            removal.add(
                derived_remove(machine_id, [position], why=f"run {run_id} was deleted", user=user)
            )
        Run.objects.filter(id=run_id).delete()
        removal.redetect_runs = same_order or _neighbours(machine_id, position)
        _schedule(removal, redetect, None)
    return removal


def derived_remove(
    machine_id: int, positions: Iterable[int], *, why: str, user: Any = None
) -> Removal:
    """Remove the machine's field changes that end at ``positions`` (orders where it
    has no run any more, or whose data is being replaced) and settle their
    regressions.  Call inside a transaction that holds the suite's row lock if it
    needs one; this takes the grouping lock (after the row, as every writer).

    Served by the index on ``FieldChange.machine``: a machine holds few changes.
    """
    suite_id = Machine.objects.filter(id=machine_id).values_list("suite_id", flat=True).first()
    if suite_id is not None:
        suite_grouping_lock(suite_id)
    changes = FieldChange.objects.filter(machine_id=machine_id, end_position__in=list(positions))
    return _changes_remove(changes, why=why, user=user)


def _neighbours(machine_id: int, position: int) -> list[int]:
    """The machine's nearest run before ``position`` and nearest after.  Two queries."""
    runs = Run.objects.filter(machine_id=machine_id)
    before = (
        runs.filter(position__lt=position).order_by("-position", "-id").values_list("id", flat=True)
    )
    after = (
        runs.filter(position__gt=position).order_by("position", "id").values_list("id", flat=True)
    )
    return [r for r in (before.first(), after.first()) if r is not None]


# --- machines --------------------------------------------------------------------------


def machine_delete_steps(
    machine_id: int, *, user: Any = None, chunk: int = MACHINE_DELETE_CHUNK
) -> Iterator[str]:
    """Delete a machine, its runs and what was derived, yielding a line per step.

    Derived data goes first, in one transaction; then the runs, ``chunk`` per
    transaction (a machine may hold millions of samples); then the machine.  The
    lines are those LNT's ``lnt admin rm-machine`` prints: ``Deleting runs <ids>
    (<done>/<total>)`` and ``Deleted machine <name>:<id>``.  Nothing is re-detected:
    other machines' verdicts never depend on this one's data.
    """
    machine = Machine.objects.filter(id=machine_id).values("id", "name", "suite_id").first()
    if machine is None:
        raise LifecycleError(f"no machine with id {machine_id}", status=404)
    label = f"{machine['name']}:{machine_id}"
    with transaction.atomic():
        _lock_suite(machine["suite_id"])
        _changes_remove(
            FieldChange.objects.filter(machine_id=machine_id),
            why=f"machine {label} was deleted",
            user=user,
        )
    total = Run.objects.filter(machine_id=machine_id).count()
    done = 0
    while True:
        with transaction.atomic():
            ids = list(
                Run.objects.filter(machine_id=machine_id)
                .order_by("id")
                .values_list("id", flat=True)[:chunk]
            )
            if not ids:
                break
            Run.objects.filter(id__in=ids).delete()
        done += len(ids)
        yield f"Deleting runs {' '.join(map(str, ids))} ({done}/{total})"
    with transaction.atomic():
        Machine.objects.filter(id=machine_id).delete()
    yield f"Deleted machine {label}"


def machine_delete(machine_id: int, *, user: Any = None) -> list[str]:
    """``machine_delete_steps`` run to the end; returns its lines."""
    return list(machine_delete_steps(machine_id, user=user))


def machine_rename(machine_id: int, new_name: str) -> Machine:
    """Rename a machine; the automatic titles of its regressions follow.

    Refused: a name reports could not use, or one another machine of the suite
    has.  Tokens bound to the old name keep it (they name what a bot submits).
    """
    try:
        name = check_name(new_name, "name", max_length=512, forbidden=MACHINE_NAME_FORBIDDEN)
    except FormatError as exc:
        raise LifecycleError(exc.message) from None
    with transaction.atomic():
        machine = Machine.objects.select_for_update().filter(id=machine_id).first()
        if machine is None:
            raise LifecycleError(f"no machine with id {machine_id}", status=404)
        taken = Machine.objects.filter(suite_id=machine.suite_id, name=name).exclude(id=machine_id)
        if taken.exists():
            raise LifecycleError(f"Machine with name {name!r} already exists")
        machine.name = name
        machine.save(update_fields=["name"])
        for regression_id in _regressions_of(FieldChange.objects.filter(machine_id=machine_id)):
            regression_retitle(regression_id)
    return machine


def machine_merge(
    source_id: int,
    into_id: int,
    *,
    redetect_machine: Callable[[int], Any] | None = None,
    user: Any = None,
) -> Removal:
    """LNT's merge-machine-into: move the source's runs to ``into``, delete the source.

    The source's series are mapped to the target's (same test and metric; created
    where missing) and its points and samples follow, a chunk of series per UPDATE.
    Runs at an order the target already has are kept beside its own (as with
    ``merge=append``).  The source's field changes are removed (regressions settled
    as for a delete) and the target's whole history is re-detected after the
    commit, which updates or withdraws its changes in place.
    """
    if source_id == into_id:
        raise LifecycleError("cannot merge a machine into itself")
    with transaction.atomic():
        machines = {
            m["id"]: m
            for m in Machine.objects.filter(id__in=[source_id, into_id]).values(
                "id", "name", "suite_id"
            )
        }
        for machine_id in (source_id, into_id):
            if machine_id not in machines:
                raise LifecycleError(f"no machine with id {machine_id}", status=404)
        source, into = machines[source_id], machines[into_id]
        if source["suite_id"] != into["suite_id"]:
            raise LifecycleError("machines of different suites cannot be merged")
        # The machines' rows before the suite's, in the order imports take them.
        list(
            Machine.objects.select_for_update(no_key=True)
            .filter(id__in=[source_id, into_id])
            .order_by("id")
            .values_list("id")
        )
        _lock_suite(source["suite_id"])
        removal = _changes_remove(
            FieldChange.objects.filter(machine_id=source_id),
            why=f"machine {source['name']}:{source_id} was merged into {into['name']}:{into_id}",
            user=user,
        )
        _series_move(source_id, into_id)
        moved = Run.objects.filter(machine_id=source_id)
        removal.deleted_runs = []
        removal.redetect_runs = list(moved.values_list("id", flat=True))
        moved.update(machine_id=into_id, detection_state=Run.PENDING)
        Series.objects.filter(machine_id=source_id).delete()
        Machine.objects.filter(id=source_id).delete()
        removal.redetect_machine = into_id
        _schedule(removal, None, redetect_machine)
    return removal


def _series_move(source_id: int, into_id: int) -> None:
    """Point the source's points and samples at the target's matching series."""
    source = list(
        Series.objects.filter(machine_id=source_id).values_list("id", "test_id", "metric_id")
    )
    target = {
        (t, m): s
        for s, t, m in Series.objects.filter(machine_id=into_id).values_list(
            "id", "test_id", "metric_id"
        )
    }
    missing = [(t, m) for _, t, m in source if (t, m) not in target]
    Series.objects.bulk_create(
        [Series(machine_id=into_id, test_id=t, metric_id=m) for t, m in missing],
        ignore_conflicts=True,
    )
    if missing:
        target = {
            (t, m): s
            for s, t, m in Series.objects.filter(machine_id=into_id).values_list(
                "id", "test_id", "metric_id"
            )
        }
    pairs = [(s, target[(t, m)]) for s, t, m in source]
    for start in range(0, len(pairs), SERIES_CHUNK):
        part = pairs[start : start + SERIES_CHUNK]
        mapping = Case(*[When(series_id=s, then=Value(d)) for s, d in part])
        sources = [s for s, _ in part]
        Point.objects.filter(series_id__in=sources).update(series_id=mapping)


# --- derived rows ------------------------------------------------------------------


def _changes_remove(changes: Any, *, why: str, user: Any) -> Removal:
    """Delete these field changes and settle the regressions that held them."""
    rows = list(changes.values_list("id", "indicator__regression_id"))
    removal = Removal(deleted_changes=[c for c, _ in rows])
    if not rows:
        return removal
    held: dict[int, list[int]] = {}
    for change_id, regression_id in rows:
        if regression_id is not None:
            held.setdefault(regression_id, []).append(change_id)
    FieldChange.objects.filter(id__in=removal.deleted_changes).delete()
    for regression_id, change_ids in sorted(held.items()):
        _regression_settle(regression_id, change_ids, why=why, user=user, removal=removal)
    return removal


def _regression_settle(
    regression_id: int, change_ids: list[int], *, why: str, user: Any, removal: Removal
) -> None:
    regression = Regression.objects.select_for_update().filter(id=regression_id).first()
    if regression is None:
        return
    left = RegressionIndicator.objects.filter(regression_id=regression_id).exists()
    touched = (
        regression.state != Regression.DETECTED
        or regression.events.filter(user__isnull=False).exists()
    )
    if not left and not touched:
        regression.delete()
        removal.deleted_regressions.append(regression_id)
        return
    RegressionEvent.objects.create(
        regression=regression,
        user=user,
        action="changes_removed",
        detail={"field_changes": change_ids, "why": why},
    )
    if left:
        regression_fit_range(regression)
        regression.save(update_fields=[*RANGE_FIELDS, "updated_at"])
        regression_retitle(regression_id)
    elif regression.state in Regression.OPEN_STATES:
        states = dict(Regression.STATE_CHOICES)
        RegressionEvent.objects.create(
            regression=regression,
            user=user,
            action="state",
            detail={
                "from": states[regression.state],
                "to": states[Regression.IGNORED],
                "why": "every field change it held was removed",
            },
        )
        regression.state = Regression.IGNORED
        regression.save(update_fields=["state", "updated_at"])
        removal.closed_regressions.append(regression_id)


def _regressions_of(changes: Any) -> list[int]:
    return sorted(
        set(
            RegressionIndicator.objects.filter(field_change__in=changes.values("id")).values_list(
                "regression_id", flat=True
            )
        )
    )


def _lock_suite(suite_id: int) -> None:
    """The suite's row (no order is created meanwhile), then the lock
    grouping takes (no regression is created or filled meanwhile); in that order, as
    every writer that takes both.  NO KEY, as ingest's: other writers' foreign-key
    checks on the suite row do not wait for it."""
    TestSuite.objects.select_for_update(no_key=True).filter(id=suite_id).values_list("id").first()
    suite_grouping_lock(suite_id)


def _schedule(
    removal: Removal,
    redetect: Callable[[int], Any] | None,
    redetect_machine: Callable[[int], Any] | None,
) -> None:
    """Mark the runs to re-detect pending and hand them over after the commit."""
    if removal.redetect_runs:
        Run.objects.filter(id__in=removal.redetect_runs).update(detection_state=Run.PENDING)
    if removal.redetect_machine is not None:
        machine_id = removal.redetect_machine
        call_machine = redetect_machine or machine_redetect
        transaction.on_commit(partial(call_machine, machine_id), robust=True)
        return
    for run_id in removal.redetect_runs:
        transaction.on_commit(partial(redetect or run_detect, run_id), robust=True)


def machine_redetect(machine_id: int) -> str:
    """Detect over a machine's whole history (after a merge) and mark its pending runs
    done: the whole-history pass settled every order they could affect."""
    outcome = machine_detect_all(machine_id)
    Run.objects.filter(machine_id=machine_id, detection_state=Run.PENDING).update(
        detection_state=Run.DONE
    )
    return (
        f"machine {machine_id}: {outcome.series} series, {outcome.created} new changes, "
        f"{outcome.withdrawn} withdrawn, {len(outcome.regressions)} new regressions"
    )
