"""Regressions: grouping detected changes for triage, Verify, and who to notify.

Called by ``perf.services.detection`` after each evaluation; every function is idempotent and
holds the suite's grouping lock (``services.locks``) while it creates, so two workers
never create one regression twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import FieldChange, Regression, RegressionEvent, RegressionIndicator
from .locks import suite_grouping_lock
from .triage import RANGE_FIELDS, regression_fit_range


def regressions_group(
    suite_id: int,
    change_ids: Iterable[int] | None = None,
    *,
    machine_id: int | None = None,
) -> list[int]:
    """Group live, ungrouped regressing changes into regressions; return the new ones' ids.

    The changes considered are ``change_ids`` (those an evaluation wrote, restored or
    left live in its window, whatever run first found them), or with ``machine_id``
    every change of that machine.  As in LNT, changes of a suite whose order ranges
    overlap go together, across machines, tests and metrics: a change whose range
    (start, end] overlaps the range of an open regression joins it, and the
    regression's range grows to span it; a change that overlaps several open
    regressions joins the oldest (lowest id), so a triaged regression keeps receiving
    its changes and none is split by a late arrival; a change that overlaps none
    starts a new regression, which later changes of the same evaluation may join.
    Ranges are half-open, so steps at two consecutive orders stay apart.

    Cost: one indexed query for the open regressions overlapping the span of the
    changes, plus a constant number per regression touched.  The suite's grouping lock
    is held, so two workers cannot both create a regression for one range; the
    suite's row is not locked, so submissions of new orders do not wait for it.
    """
    if change_ids is not None:
        change_ids = list(change_ids)
        scope = Q(id__in=change_ids)
    elif machine_id is not None:
        scope = Q(machine_id=machine_id)
    else:
        raise ValueError("regressions_group needs change_ids or machine_id")
    created: list[int] = []
    with transaction.atomic():
        suite_grouping_lock(suite_id)
        if change_ids != []:
            changes = list(
                FieldChange.objects.filter(
                    scope, is_regression=True, withdrawn=False, indicator__isnull=True
                ).values(
                    "id",
                    "start_order_id",
                    "end_order_id",
                    "start_order__position",
                    "end_position",
                    "machine__name",
                    "test__name",
                )
            )
            if changes:
                created = _group(suite_id, changes)
            _widen(scope)
            _verify_reversed(suite_id, scope)
        _retire_withdrawn(suite_id)
    return created


@dataclass
class _Open:
    """An open regression's range while changes are being placed."""

    id: int
    start: int
    end: int
    start_order_id: int
    end_order_id: int
    members: list[dict[str, Any]] = field(default_factory=list)
    new: bool = False

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


def _group(suite_id: int, changes: list[dict[str, Any]]) -> list[int]:
    """Place ``changes`` (rows of regressing, ungrouped changes) in regressions."""
    lo = min(c["start_order__position"] for c in changes)
    hi = max(c["end_position"] for c in changes)
    candidates = [
        _Open(
            r["id"], r["start_position"], r["end_position"], r["start_order_id"], r["end_order_id"]
        )
        for r in Regression.objects.filter(
            suite_id=suite_id,
            state__in=Regression.OPEN_STATES,
            end_position__gt=lo,
            start_position__lt=hi,
        )
        .order_by("id")
        .values("id", "start_position", "end_position", "start_order_id", "end_order_id")
    ]
    for change in sorted(changes, key=lambda c: (c["start_order__position"], c["end_position"])):
        start, end = change["start_order__position"], change["end_position"]
        home = next((r for r in candidates if r.overlaps(start, end)), None)
        if home is None:
            home = _Open(0, start, end, change["start_order_id"], change["end_order_id"], new=True)
            candidates.append(home)  # appended last: existing regressions stay preferred
        home.members.append(change)
        if start < home.start:
            home.start, home.start_order_id = start, change["start_order_id"]
        if end > home.end:
            home.end, home.end_order_id = end, change["end_order_id"]
    created = []
    for home in candidates:
        if not home.members:
            continue
        if home.new:
            regression = Regression.objects.create(
                suite_id=suite_id,
                start_order_id=home.start_order_id,
                end_order_id=home.end_order_id,
                start_position=home.start,
                end_position=home.end,
                title=_title(home.members),
            )
            home.id = regression.id
            RegressionEvent.objects.create(
                regression=regression, action="created", detail={"changes": len(home.members)}
            )
            created.append(regression.id)
        else:
            Regression.objects.filter(id=home.id).update(
                start_order_id=home.start_order_id,
                end_order_id=home.end_order_id,
                start_position=home.start,
                end_position=home.end,
                updated_at=timezone.now(),
            )
        RegressionIndicator.objects.bulk_create(
            [
                RegressionIndicator(regression_id=home.id, field_change_id=m["id"])
                for m in home.members
            ],
            ignore_conflicts=True,
        )
        if not home.new:
            regression_retitle(home.id)
    return created


def _widen(scope: Q) -> None:
    """Refit the range of regressions holding a change of ``scope`` that now reaches
    outside it (re-detection moved its start to an earlier order, e.g. after the run
    before the step was deleted), so that the overlap query keeps finding them."""
    outside = (
        FieldChange.objects.filter(scope, withdrawn=False, indicator__isnull=False)
        .filter(
            Q(start_order__position__lt=F("indicator__regression__start_position"))
            | Q(end_position__gt=F("indicator__regression__end_position"))
        )
        .values_list("indicator__regression_id", flat=True)
        .distinct()
    )
    for regression in Regression.objects.filter(id__in=list(outside)):
        regression_fit_range(regression)
        regression.save(update_fields=[*RANGE_FIELDS, "updated_at"])


def _title(members: list[dict[str, Any]]) -> str:
    machines = sorted({m["machine__name"] for m in members})
    tests = sorted({m["test__name"] for m in members})
    what = tests[0] if len(tests) == 1 else f"{len(tests)} tests"
    where = machines[0] if len(machines) == 1 else f"{len(machines)} machines"
    return f"Regression of {what} on {where}"[:512]


def regression_retitle(regression_id: int) -> None:
    """Keep the automatic title in step with the members, unless a person set one."""
    if RegressionEvent.objects.filter(regression_id=regression_id, action="title").exists():
        return
    members = list(
        RegressionIndicator.objects.filter(regression_id=regression_id).values(
            "field_change__machine__name", "field_change__test__name"
        )
    )
    title = _title(
        [
            {
                "machine__name": m["field_change__machine__name"],
                "test__name": m["field_change__test__name"],
            }
            for m in members
        ]
    )
    if members:
        Regression.objects.filter(id=regression_id).exclude(title=title).update(title=title)


def _verify_reversed(suite_id: int, scope: Q) -> None:
    """Move to Verify the open regressions whose every change has been undone.

    A change is undone when a later, non-withdrawn change of the same series brings
    the level back to within half the original step of the old level.
    """
    later = list(
        FieldChange.objects.filter(scope, withdrawn=False).values(
            "series_id", "end_position", "new_value"
        )
    )
    if not later:
        return
    by_series: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for change in later:
        by_series[change["series_id"]].append(change)
    candidates = FieldChange.objects.filter(
        series_id__in=list(by_series),
        withdrawn=False,
        indicator__regression__suite_id=suite_id,
        indicator__regression__state__in=[
            Regression.DETECTED,
            Regression.STAGED,
            Regression.ACTIVE,
        ],
    ).values(
        "id", "series_id", "end_position", "old_value", "new_value", "indicator__regression_id"
    )
    reversed_ids = set()
    regressions = set()
    for change in candidates:
        step = change["new_value"] - change["old_value"]
        regressions.add(change["indicator__regression_id"])
        for follow in by_series[change["series_id"]]:
            if (
                follow["end_position"] > change["end_position"]
                and abs(follow["new_value"] - change["old_value"]) <= abs(step) / 2
            ):
                reversed_ids.add(change["id"])
    if not reversed_ids:
        return
    members = FieldChange.objects.filter(
        indicator__regression_id__in=regressions, withdrawn=False
    ).values_list("indicator__regression_id", "id")
    pending: dict[int, set[int]] = defaultdict(set)
    for regression_id, change_id in members:
        pending[regression_id].add(change_id)
    for regression_id, change_ids in pending.items():
        if change_ids and change_ids <= reversed_ids:
            updated = Regression.objects.filter(
                id=regression_id,
                state__in=[Regression.DETECTED, Regression.STAGED, Regression.ACTIVE],
            ).update(state=Regression.VERIFY, updated_at=timezone.now())
            if updated:
                RegressionEvent.objects.create(
                    regression_id=regression_id,
                    action="state",
                    detail={"to": "Verify", "why": "every change returned to its old level"},
                )


def _retire_withdrawn(suite_id: int) -> None:
    """Delete Detected regressions whose every change was withdrawn, unless a person
    touched them: they were provisional verdicts that later runs did not confirm."""
    stale = (
        Regression.objects.filter(suite_id=suite_id, state=Regression.DETECTED)
        .filter(indicators__isnull=False)
        .exclude(indicators__field_change__withdrawn=False)
        .exclude(events__user__isnull=False)
        .values_list("id", flat=True)
    )
    Regression.objects.filter(id__in=list(stale)).delete()


def regressions_to_notify(suite_id: int, limit: int = 50) -> list[int]:
    """Open, not yet notified regressions whose every live change is confirmed.

    A regression made of suspects waits: if the next runs withdraw them it is deleted
    and nobody was disturbed; if they confirm them it is notified then.
    """
    return list(
        Regression.objects.filter(
            suite_id=suite_id,
            notified=False,
            state__in=Regression.OPEN_STATES,
            indicators__field_change__withdrawn=False,
        )
        .exclude(
            indicators__field_change__confirmed=False, indicators__field_change__withdrawn=False
        )
        .distinct()
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
