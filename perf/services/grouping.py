"""Regressions: grouping detected changes for triage, Verify, and who to notify.

Called by ``perf.services.detection`` after each evaluation; every function is idempotent and
holds the suite's row lock while it creates, so two workers never create one
regression twice.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import FieldChange, Regression, RegressionEvent, RegressionIndicator, TestSuite


def regressions_group(
    suite_id: int, run_id: int | None, *, machine_id: int | None = None
) -> list[int]:
    """Group ungrouped regressing changes into regressions; return the new ones' ids.

    Changes with the same order range (start, end) go together, across tests and
    machines, into the open regression for that range or a new one.  The suite row is
    locked, so two workers cannot both create the regression for one range.
    """
    scope = Q(run_id=run_id) if run_id is not None else Q(machine_id=machine_id)
    created: list[int] = []
    with transaction.atomic():
        TestSuite.objects.select_for_update().filter(id=suite_id).values_list("id").first()
        changes = list(
            FieldChange.objects.filter(
                scope, is_regression=True, withdrawn=False, indicator__isnull=True
            ).values("id", "start_order_id", "end_order_id", "machine__name", "test__name")
        )
        groups: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for change in changes:
            groups[(change["start_order_id"], change["end_order_id"])].append(change)
        for (start_id, end_id), members in groups.items():
            regression = (
                Regression.objects.filter(
                    suite_id=suite_id,
                    start_order_id=start_id,
                    end_order_id=end_id,
                    state__in=Regression.OPEN_STATES,
                )
                .order_by("id")
                .first()
            )
            if regression is None:
                regression = Regression.objects.create(
                    suite_id=suite_id,
                    start_order_id=start_id,
                    end_order_id=end_id,
                    title=_title(members),
                )
                RegressionEvent.objects.create(
                    regression=regression, action="created", detail={"changes": len(members)}
                )
                created.append(regression.id)
            RegressionIndicator.objects.bulk_create(
                [
                    RegressionIndicator(regression=regression, field_change_id=m["id"])
                    for m in members
                ],
                ignore_conflicts=True,
            )
            if regression.id not in created:
                _retitle(regression)
        _verify_reversed(suite_id, scope)
        _retire_withdrawn(suite_id)
    return created


def _title(members: list[dict[str, Any]]) -> str:
    machines = sorted({m["machine__name"] for m in members})
    tests = sorted({m["test__name"] for m in members})
    what = tests[0] if len(tests) == 1 else f"{len(tests)} tests"
    where = machines[0] if len(machines) == 1 else f"{len(machines)} machines"
    return f"Regression of {what} on {where}"[:512]


def _retitle(regression: Regression) -> None:
    """Keep the automatic title in step with the members, unless a person set one."""
    if regression.events.filter(action="title").exists():
        return
    members = list(
        regression.indicators.values("field_change__machine__name", "field_change__test__name")
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
    if members and title != regression.title:
        Regression.objects.filter(id=regression.id).update(title=title)


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
