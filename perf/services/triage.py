"""Write side of regression triage: state, title, bug link, merge and split.

Every change is recorded as a RegressionEvent with the user and the time, in the
same transaction as the change.  Rows are locked with ``select_for_update`` so
that two people triaging at once do not lose an event; setting a field to the
value it already has records nothing (a repeated POST is harmless).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..models import FieldChange, Regression, RegressionEvent, RegressionIndicator

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
) -> list[str]:
    """Set any of state, title and bug; returns the actions recorded (may be empty)."""
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
    if changed:
        regression.save(update_fields=[*changed, "updated_at"])
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
