"""Write side of regression triage: state, title, bug, notes, assignee, merge, split;
regressions made by hand from chosen changes or a graph point; adding changes to a
regression; ignoring changes.

Every change is recorded as a RegressionEvent with the user and the time, in the
same transaction as the change.  Rows are locked with ``select_for_update`` so
that two people triaging at once do not lose an event; setting a field to the
value it already has records nothing (a repeated POST is harmless).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import (
    ChangeIgnore,
    FieldChange,
    Point,
    Regression,
    RegressionEvent,
    RegressionIndicator,
)
from .locks import suite_grouping_lock

# At most this many changes in one triage request (a page shows fewer).
MAX_CHANGES = 1000
NOTES_MAX_LENGTH = 20_000

# What regression_fit_range sets: the range and its position copies (the grouping index).
RANGE_FIELDS = ["start_order", "end_order", "start_position", "end_position"]


class TriageError(ValueError):
    """A triage request that cannot be applied; the message is shown to the user."""


def _event(regression: Regression, user: Any, action: str, detail: dict[str, Any]) -> None:
    RegressionEvent.objects.create(regression=regression, user=user, action=action, detail=detail)


def _locked(regression_id: int) -> Regression:
    regression = Regression.objects.select_for_update().filter(id=regression_id).first()
    if regression is None:
        raise TriageError(f"Regression {regression_id} does not exist.")
    return regression


@transaction.atomic
def regression_update(
    regression_id: int,
    *,
    user: Any,
    state: int | None = None,
    title: str | None = None,
    bug: str | None = None,
    notes: str | None = None,
    assignee_id: int | None = None,
) -> list[str]:
    """Set any of state, title, bug, notes and assignee (a user id; 0 for nobody);
    None leaves a field as it is.  Returns the actions recorded (may be empty)."""
    regression = _locked(regression_id)
    valid_states = dict(Regression.STATE_CHOICES)
    changed: list[str] = []
    if state is not None and state != regression.state:
        if state not in valid_states:
            raise TriageError(f"Unknown state {state}.")
        _event(
            regression,
            user,
            "state",
            {"from": valid_states[regression.state], "to": valid_states[state]},
        )
        regression.state = state
        changed.append("state")
    if title is not None and title.strip() and title.strip() != regression.title:
        _event(regression, user, "title", {"from": regression.title, "to": title.strip()})
        regression.title = title.strip()
        changed.append("title")
    if bug is not None and bug.strip() != regression.bug:
        _event(regression, user, "bug", {"from": regression.bug, "to": bug.strip()})
        regression.bug = bug.strip()
        changed.append("bug")
    if notes is not None and notes.strip() != regression.notes:
        if len(notes) > NOTES_MAX_LENGTH:
            raise TriageError(f"Notes are limited to {NOTES_MAX_LENGTH} characters.")
        _event(regression, user, "notes", {"from": regression.notes, "to": notes.strip()})
        regression.notes = notes.strip()
        changed.append("notes")
    if assignee_id is not None and (assignee_id or None) != regression.assignee_id:
        names = dict(
            get_user_model()
            .objects.filter(id__in=[assignee_id, regression.assignee_id or 0])
            .values_list("id", "username")
        )
        if assignee_id and assignee_id not in names:
            raise TriageError(f"No user {assignee_id} to assign.")
        _event(
            regression,
            user,
            "assignee",
            {
                "from": names.get(regression.assignee_id or 0, ""),
                "to": names.get(assignee_id, ""),
            },
        )
        regression.assignee_id = assignee_id or None
        changed.append("assignee")
    if changed:
        regression.save(
            update_fields=[*(f + "_id" if f == "assignee" else f for f in changed), "updated_at"]
        )
    return changed


@transaction.atomic
def regression_merge(target_id: int, source_ids: list[int], *, user: Any) -> int:
    """Move the field changes of ``source_ids`` into ``target_id``.

    The emptied sources are kept (their history stays readable) and set to
    Ignored, with an event pointing at the target.  All must be in the same suite.
    Returns the number of field changes moved.
    """
    sources = sorted({s for s in source_ids if s != target_id})
    if not sources:
        raise TriageError("Choose at least one other regression to merge.")
    # Lock in id order so that two merges over the same regressions cannot deadlock.
    locked = {
        r.id: r
        for r in Regression.objects.select_for_update()
        .filter(id__in=[target_id, *sources])
        .order_by("id")
    }
    target = locked.get(target_id)
    if target is None:
        raise TriageError(f"Regression {target_id} does not exist.")
    missing = [s for s in sources if s not in locked]
    if missing:
        raise TriageError(f"Regression {missing[0]} does not exist.")
    if any(locked[s].suite_id != target.suite_id for s in sources):
        raise TriageError("Regressions of different suites cannot be merged.")
    moved = RegressionIndicator.objects.filter(regression_id__in=sources).update(regression=target)
    for s in sources:
        source = locked[s]
        _event(source, user, "merge", {"merged_into": target.id})
        if source.state != Regression.IGNORED:
            _event(
                source,
                user,
                "state",
                {
                    "from": source.get_state_display(),
                    "to": dict(Regression.STATE_CHOICES)[Regression.IGNORED],
                },
            )
            source.state = Regression.IGNORED
            source.save(update_fields=["state", "updated_at"])
    _event(target, user, "merge", {"merged": sources, "field_changes": moved})
    regression_fit_range(target)
    target.save(update_fields=[*RANGE_FIELDS, "updated_at"])
    return moved


@transaction.atomic
def regression_split(
    regression_id: int, field_change_ids: list[int], *, user: Any, title: str = ""
) -> Regression:
    """Move the given field changes of a regression into a new regression.

    The new one starts in the old one's state; both order ranges are refitted to
    their changes.  Splitting off no
    change, or every change, is refused.
    """
    regression = _locked(regression_id)
    wanted = set(field_change_ids)
    own = set(
        RegressionIndicator.objects.filter(regression=regression).values_list(
            "field_change_id", flat=True
        )
    )
    chosen = sorted(wanted & own)
    if not chosen:
        raise TriageError("Choose at least one field change of this regression to split off.")
    if len(chosen) == len(own):
        raise TriageError("Leave at least one field change in this regression.")
    new = Regression.objects.create(
        suite_id=regression.suite_id,
        title=title.strip() or f"Split from: {regression.title}"[:512],
        bug=regression.bug,
        state=regression.state,
        start_order_id=regression.start_order_id,
        end_order_id=regression.end_order_id,
        start_position=regression.start_position,
        end_position=regression.end_position,
    )
    RegressionIndicator.objects.filter(regression=regression, field_change_id__in=chosen).update(
        regression=new
    )
    _event(new, user, "created", {"split_from": regression.id, "field_changes": chosen})
    _event(regression, user, "split", {"into": new.id, "field_changes": chosen})
    for changed in (new, regression):
        regression_fit_range(changed)
        changed.save(update_fields=[*RANGE_FIELDS, "updated_at"])
    return new


def regression_fit_range(regression: Regression) -> None:
    """Set the order range to span the regression's field changes: from the earliest
    start order to the latest end order (by position).  Two queries."""
    changes = FieldChange.objects.filter(indicator__regression=regression)
    first = (
        changes.order_by("start_order__position")
        .values_list("start_order_id", "start_order__position")
        .first()
    )
    last = changes.order_by("-end_position").values_list("end_order_id", "end_position").first()
    if first is not None and last is not None:
        regression.start_order_id, regression.start_position = first
        regression.end_order_id, regression.end_position = last


def _free_changes(suite_id: int, change_ids: list[int]) -> list[dict[str, Any]]:
    """The chosen changes of the suite, each checked to be live and in no regression;
    one query.  Raises TriageError naming the first change that is not."""
    wanted = sorted(set(change_ids))
    if not wanted:
        raise TriageError("Choose at least one change.")
    if len(wanted) > MAX_CHANGES:
        raise TriageError(f"Choose at most {MAX_CHANGES} changes at once.")
    rows = {
        r["id"]: r
        for r in FieldChange.objects.filter(id__in=wanted, machine__suite_id=suite_id).values(
            "id", "withdrawn", "indicator__regression_id", "machine__name", "test__name"
        )
    }
    for change_id in wanted:
        row = rows.get(change_id)
        if row is None:
            raise TriageError(f"Change {change_id} does not exist in this suite.")
        if row["withdrawn"]:
            raise TriageError(f"Change {change_id} was withdrawn by later runs.")
        if row["indicator__regression_id"] is not None:
            raise TriageError(
                f"Change {change_id} is already in regression {row['indicator__regression_id']}."
            )
    return [rows[c] for c in wanted]


def _lock_suite(suite_id: int) -> None:
    # The lock grouping holds while it places changes: a change cannot be put in two
    # regressions by a person and a worker at once.
    suite_grouping_lock(suite_id)


def _attach(regression: Regression, change_ids: list[int]) -> None:
    RegressionIndicator.objects.bulk_create(
        [RegressionIndicator(regression=regression, field_change_id=c) for c in change_ids]
    )
    # A change in a regression is no longer "ignored": a person chose to track it.
    ChangeIgnore.objects.filter(field_change_id__in=change_ids).delete()
    regression_fit_range(regression)


@transaction.atomic
def regression_create(
    suite_id: int, change_ids: list[int], *, user: Any, title: str = ""
) -> Regression:
    """A new regression (state Detected) holding the chosen live, ungrouped changes of
    the suite, its range fitted to them; ignored ones stop being ignored."""
    _lock_suite(suite_id)
    rows = _free_changes(suite_id, change_ids)
    ids = [r["id"] for r in rows]
    tests = sorted({r["test__name"] for r in rows})
    machines = sorted({r["machine__name"] for r in rows})
    default = (
        f"Change of {tests[0] if len(tests) == 1 else f'{len(tests)} tests'} on "
        f"{machines[0] if len(machines) == 1 else f'{len(machines)} machines'}"
    )
    first = FieldChange.objects.filter(id=ids[0]).values("start_order_id", "end_order_id").get()
    regression = Regression.objects.create(
        suite_id=suite_id,
        title=(title.strip() or default)[:512],
        start_order_id=first["start_order_id"],
        end_order_id=first["end_order_id"],
    )
    _attach(regression, ids)
    regression.save(update_fields=[*RANGE_FIELDS, "updated_at"])
    _event(regression, user, "created", {"field_changes": ids, "by_hand": True})
    if title.strip():
        # A person chose the title: grouping's automatic retitling leaves it alone.
        _event(regression, user, "title", {"from": "", "to": regression.title})
    return regression


@transaction.atomic
def regression_add_changes(regression_id: int, change_ids: list[int], user: Any) -> int:
    """Add the chosen live, ungrouped changes of the regression's suite to it and refit
    its range; changes already in it are skipped.  Returns the number added."""
    suite_id = (
        Regression.objects.filter(id=regression_id).values_list("suite_id", flat=True).first()
    )
    if suite_id is None:
        raise TriageError(f"Regression {regression_id} does not exist.")
    _lock_suite(suite_id)
    regression = _locked(regression_id)
    own = set(
        RegressionIndicator.objects.filter(
            regression=regression, field_change_id__in=change_ids
        ).values_list("field_change_id", flat=True)
    )
    rest = [c for c in change_ids if c not in own]
    if not rest:
        if own:
            return 0
        raise TriageError("Choose at least one change.")
    ids = [r["id"] for r in _free_changes(suite_id, rest)]
    _attach(regression, ids)
    regression.save(update_fields=[*RANGE_FIELDS, "updated_at"])
    _event(regression, user, "add", {"field_changes": ids})
    return len(ids)


@transaction.atomic
def changes_ignore(suite_id: int, change_ids: list[int], *, user: Any, reason: str) -> int:
    """Mark the chosen live, ungrouped changes as not worth a regression, with a reason
    (LNT's ignore).  Ignoring one again keeps the first reason.  Returns how many were
    newly ignored."""
    if len(reason) > 512:
        raise TriageError("The reason is limited to 512 characters.")
    _lock_suite(suite_id)
    ids = [r["id"] for r in _free_changes(suite_id, change_ids)]
    before = ChangeIgnore.objects.filter(field_change_id__in=ids).count()
    ChangeIgnore.objects.bulk_create(
        [ChangeIgnore(field_change_id=c, user=user, reason=reason.strip()) for c in ids],
        ignore_conflicts=True,
    )
    return len(ids) - before


@transaction.atomic
def changes_unignore(suite_id: int, change_ids: list[int]) -> int:
    """Take the chosen changes of the suite off the ignored list; returns how many."""
    deleted, _ = ChangeIgnore.objects.filter(
        field_change_id__in=change_ids[:MAX_CHANGES], field_change__machine__suite_id=suite_id
    ).delete()
    return deleted


@transaction.atomic
def regression_from_point(
    suite_id: int, series_id: int, order_id: int, *, user: Any, title: str = ""
) -> tuple[Regression, bool]:
    """The regression for the step into ``order_id`` on one series (a graph point).

    If the series already has a change at that order in a regression, that regression
    is returned (``False``: nothing created).  Otherwise the change detection found
    there is used, or, if there is none, a change is made by hand (``method="manual"``,
    confidence 1, which detection never withdraws) from the point before it (the
    latest earlier order with a value) to this one; then a regression holds it.
    A point with no value, or without an earlier point, is refused.
    """
    _lock_suite(suite_id)
    change_id, grouped_in = _point_change(suite_id, series_id, order_id)
    if grouped_in is not None:
        return Regression.objects.get(id=grouped_in), False
    return regression_create(suite_id, [change_id], user=user, title=title), True


# At most this many points in one request (rows chosen on the compare page).
MAX_POINTS = 200


@transaction.atomic
def regression_from_points(
    suite_id: int,
    points: list[tuple[int, int]],
    *,
    user: Any,
    title: str = "",
    regression_id: int | None = None,
) -> tuple[Regression, int]:
    """The steps into several (series id, order id) points -- rows chosen on the
    compare page -- in one regression: a new one (``regression_id`` None) or the given
    one of the suite.  Each point's change is found or made as ``regression_from_point``
    does (the change detection found ending at that order, else a manual change from
    the point before).  A point whose change is already in another regression is
    refused, naming it; one already in the target is skipped.  Returns the regression
    and the number of changes added to it.  Queries: a few per point, so at most
    ``MAX_POINTS`` points."""
    wanted = list(dict.fromkeys(points))
    if not wanted:
        raise TriageError("Choose at least one row.")
    if len(wanted) > MAX_POINTS:
        raise TriageError(f"Choose at most {MAX_POINTS} rows at once.")
    if regression_id is not None and not Regression.objects.filter(
        id=regression_id, suite_id=suite_id
    ).exists():
        raise TriageError(f"regression: no regression {regression_id} in this suite.")
    _lock_suite(suite_id)
    change_ids: list[int] = []
    for series_id, order_id in wanted:
        change_id, grouped_in = _point_change(suite_id, series_id, order_id)
        if grouped_in is None:
            change_ids.append(change_id)
        elif grouped_in != regression_id:
            raise TriageError(
                f"The change of series {series_id} at order {order_id} is already in "
                f"regression {grouped_in}."
            )
    if regression_id is None:
        return regression_create(suite_id, change_ids, user=user, title=title), len(change_ids)
    added = regression_add_changes(regression_id, change_ids, user) if change_ids else 0
    return Regression.objects.get(id=regression_id), added


def _point_change(suite_id: int, series_id: int, order_id: int) -> tuple[int, int | None]:
    """The change ending at the point and the regression it is in (None if in none);
    a withdrawn or missing change is made by hand first.  Call with the suite locked."""
    existing = (
        FieldChange.objects.filter(
            series_id=series_id, end_order_id=order_id, machine__suite_id=suite_id
        )
        .values("id", "withdrawn", "indicator__regression_id")
        .first()
    )
    if existing is not None and existing["indicator__regression_id"] is not None:
        return int(existing["id"]), int(existing["indicator__regression_id"])
    if existing is None or existing["withdrawn"]:
        return _manual_change(suite_id, series_id, order_id, existing), None
    return int(existing["id"]), None


def _manual_change(
    suite_id: int, series_id: int, order_id: int, existing: dict[str, Any] | None
) -> int:
    point = (
        Point.objects.filter(
            series_id=series_id, order_id=order_id, series__machine__suite_id=suite_id
        )
        .exclude(value=None)
        .values(
            "run_id",
            "position",
            "value",
            "series__machine_id",
            "series__test_id",
            "series__metric_id",
            "series__metric__bigger_is_better",
        )
        .first()
    )
    if point is None:
        raise TriageError(f"Series {series_id} has no value at order {order_id}.")
    before = (
        Point.objects.filter(series_id=series_id, position__lt=point["position"])
        .exclude(value=None)
        .order_by("-position")
        .values("order_id", "value")
        .first()
    )
    if before is None:
        raise TriageError(f"Series {series_id} has no point before order {order_id}.")
    old, new = before["value"], point["value"]
    relative = (new - old) / abs(old) if old else 0.0
    values = {
        "machine_id": point["series__machine_id"],
        "test_id": point["series__test_id"],
        "metric_id": point["series__metric_id"],
        "start_order_id": before["order_id"],
        "end_position": point["position"],
        "old_value": old,
        "new_value": new,
        "relative_change": relative,
        "confidence": 1.0,
        "is_regression": (new < old) if point["series__metric__bigger_is_better"] else (new > old),
        "method": FieldChange.MANUAL,
        "parameters": {},
        "run_id": point["run_id"],
        "withdrawn": False,
        "confirmed": True,
    }
    if existing is not None:  # withdrawn by detection: a person says it is real
        FieldChange.objects.filter(id=existing["id"]).update(**values, updated_at=timezone.now())
        return int(existing["id"])
    try:
        with transaction.atomic():
            return FieldChange.objects.create(
                series_id=series_id, end_order_id=order_id, **values
            ).id
    except IntegrityError:  # detection stored it meanwhile
        return FieldChange.objects.get(series_id=series_id, end_order_id=order_id).id
