"""Read side of the regression pages and search.

Fixed query counts whatever the number of regressions, changes or runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Max, Min, OuterRef, Q

from ..models import (
    ChangeIgnore,
    FieldChange,
    Machine,
    Metric,
    NotificationDelivery,
    Order,
    Regression,
    RegressionEvent,
    RegressionIndicator,
    Run,
    Series,
    Test,
    TestSuite,
)

DETAIL_CHANGE_LIMIT = 500  # field changes listed on one regression page
SEARCH_MAX_LENGTH = 100


def regression_list(
    suite: TestSuite,
    *,
    states: list[int] | None = None,
    machine_id: int | None = None,
    since: datetime | None = None,
    assignee_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Regressions newest first with their size and impact.  One query.

    ``assignee_id`` keeps those assigned to that user ("assigned to me").

    ``size`` is the largest |relative change| of its live (not withdrawn) field
    changes in percent; impact is counted as live field changes, distinct tests and
    distinct machines; ``n_suspects`` counts the live changes not yet confirmed.
    """
    qs = Regression.objects.filter(suite=suite)
    if states:
        qs = qs.filter(state__in=states)
    if machine_id is not None:
        qs = qs.filter(
            id__in=RegressionIndicator.objects.filter(
                field_change__machine_id=machine_id, field_change__withdrawn=False
            ).values("regression_id")
        )
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    # Withdrawn changes (later runs did not confirm them) count for nothing.
    live = Q(indicators__field_change__withdrawn=False)
    rows = list(
        qs.annotate(
            n_changes=Count("indicators", filter=live),
            n_tests=Count("indicators__field_change__test", filter=live, distinct=True),
            n_machines=Count("indicators__field_change__machine", filter=live, distinct=True),
            n_suspects=Count(
                "indicators", filter=live & Q(indicators__field_change__confirmed=False)
            ),
            up=Max("indicators__field_change__relative_change", filter=live),
            down=Min("indicators__field_change__relative_change", filter=live),
        )
        .order_by("-created_at", "-id")
        .values(
            "id",
            "title",
            "state",
            "bug",
            "assignee__username",
            "created_at",
            "start_order__fields",
            "end_order__fields",
            "n_changes",
            "n_tests",
            "n_machines",
            "n_suspects",
            "up",
            "down",
        )[offset : offset + limit]
    )
    labels = dict(Regression.STATE_CHOICES)
    for r in rows:
        r["state_label"] = labels.get(r["state"], str(r["state"]))
        sizes = [abs(v) * 100.0 for v in (r["up"], r["down"]) if v is not None]
        r["size"] = max(sizes) if sizes else None
    return rows


def regression_get(suite: TestSuite, regression_id: int) -> Regression | None:
    return (
        Regression.objects.filter(suite=suite, id=regression_id)
        .select_related("start_order", "end_order", "assignee")
        .first()
    )


def regression_changes(regression: Regression) -> list[dict[str, Any]]:
    """The live (not withdrawn) field changes of a regression, biggest first.  One query.

    ``confirmed`` False marks a suspect: seen on the newest run alone.
    """
    rows = list(
        FieldChange.objects.filter(indicator__regression=regression, withdrawn=False)
        .order_by("-relative_change", "id")
        .values(*CHANGE_FIELDS, "metric__bigger_is_better", "confirmed", "created_at")[
            :DETAIL_CHANGE_LIMIT
        ]
    )
    return _with_delta_and_plot(rows)


# The columns of a change row on the regression and triage pages.
CHANGE_FIELDS = (
    "id",
    "series_id",
    "machine_id",
    "machine__name",
    "test_id",
    "test__name",
    "metric__name",
    "metric__display_name",
    "metric__position",
    "start_order__fields",
    "end_order__fields",
    "end_position",
    "old_value",
    "new_value",
    "relative_change",
    "confidence",
    "is_regression",
)


def _with_delta_and_plot(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row gets ``delta`` (the relative change in percent) and ``plot`` (its
    graph's plot parameter)."""
    for r in rows:
        r["delta"] = r["relative_change"] * 100.0
        r["plot"] = f"{r['machine_id']}.{r['test_id']}.{r['metric__position']}"
    return rows


def regression_events(regression: Regression, *, limit: int = 200) -> list[dict[str, Any]]:
    """The audit history, newest first.  One query."""
    return list(
        RegressionEvent.objects.filter(regression=regression)
        .order_by("-at", "-id")
        .values("at", "action", "detail", "user__username")[:limit]
    )


def since_days(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def search(suite: TestSuite, q: str, *, limit: int = 50) -> dict[str, list[dict[str, Any]]]:
    """Machines, tests and revisions whose name contains ``q``.  Four queries.

    Tests come with the machines that ran them (for graph links), on the suite's
    first numeric metric.
    """
    q = q.strip()[:SEARCH_MAX_LENGTH]
    if not q:
        return {"machines": [], "tests": [], "orders": []}
    machines = list(
        Machine.objects.filter(suite=suite, name__icontains=q)
        .order_by("name")
        .values("id", "name")[:limit]
    )
    tests = list(
        Test.objects.filter(suite=suite, name__icontains=q)
        .order_by("name")
        .values("id", "name")[:limit]
    )
    metric = (
        Metric.objects.filter(suite=suite, type=Metric.REAL)
        .order_by("position")
        .values("id", "position")
        .first()
    )
    if tests and metric:
        by_test: dict[int, list[dict[str, Any]]] = {}
        for s in (
            Series.objects.filter(test_id__in=[t["id"] for t in tests], metric_id=metric["id"])
            .order_by("machine__name")
            .values("test_id", "machine_id", "machine__name")[: limit * 20]
        ):
            by_test.setdefault(s["test_id"], []).append(s)
        for t in tests:
            t["machines"] = by_test.get(t["id"], [])
            t["metric_position"] = metric["position"]
    orders = list(
        Run.objects.filter(
            suite=suite,
            order__in=Order.objects.filter(suite=suite, key__icontains=q).values("id")[:limit],
        )
        .order_by("-order__position", "machine__name")
        .values("id", "order__fields", "machine_id", "machine__name", "start_time")[:limit]
    )
    return {"machines": machines, "tests": tests, "orders": orders}


def regression_deliveries(regression: Regression) -> list[dict[str, Any]]:
    """Per notification channel, its latest attempt (``outcome``, ``attempt``,
    ``attempted_at``, ``error``) with a ``label`` and a ``status`` in words
    (delivered, sending, retrying, gave up), for the regression page.  One query."""
    rows = (
        NotificationDelivery.objects.filter(regression=regression)
        .order_by("channel", "-attempt")
        .values("channel", "attempt", "outcome", "attempted_at", "error")
    )
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        latest.setdefault(row["channel"], row)
    labels = dict(NotificationDelivery.CHANNEL_CHOICES)
    for row in latest.values():
        row["label"] = labels.get(row["channel"], row["channel"])
        if row["outcome"] == NotificationDelivery.FAILED:
            last = row["attempt"] >= settings.PERF_NOTIFY_MAX_ATTEMPTS
            row["status"] = "gave up" if last else "failed, retrying"
        else:
            row["status"] = "delivered" if row["outcome"] == NotificationDelivery.OK else "sending"
    return list(latest.values())


TRIAGE_KINDS = ("all", "regressions", "improvements")


def triage_changes(
    suite: TestSuite,
    *,
    ignored: bool = False,
    kind: str = "all",
    machine_id: int | None = None,
    metric_position: int | None = None,
    since: datetime | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Detected changes in no regression (LNT's "new regressions" page), newest first.
    One query.

    Only live, confirmed changes: suspects wait for the next runs, withdrawn ones were
    not confirmed.  With ``ignored`` the ignored ones (with who and why), otherwise the
    others.  ``kind`` keeps regressions or improvements only; ``since`` bounds
    ``created_at``.  ``delta`` is the relative change in percent.
    """
    qs = FieldChange.objects.filter(
        machine__suite=suite, withdrawn=False, confirmed=True, indicator__isnull=True
    )
    has_ignore = ChangeIgnore.objects.filter(field_change_id=OuterRef("id"))
    qs = qs.filter(Exists(has_ignore)) if ignored else qs.exclude(Exists(has_ignore))
    if kind == "regressions":
        qs = qs.filter(is_regression=True)
    elif kind == "improvements":
        qs = qs.filter(is_regression=False)
    if machine_id is not None:
        qs = qs.filter(machine_id=machine_id)
    if metric_position is not None:
        qs = qs.filter(metric__position=metric_position)
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    fields = [*CHANGE_FIELDS, "method", "created_at"]
    if ignored:
        fields += ["ignore__reason", "ignore__user__username", "ignore__created_at"]
    return _with_delta_and_plot(
        list(qs.order_by("-created_at", "-id").values(*fields)[offset : offset + limit])
    )


def user_choices(limit: int = 500) -> list[dict[str, Any]]:
    """(id, username) of active users by name, for the assignee choice.  One query."""
    return list(
        get_user_model()
        .objects.filter(is_active=True)
        .order_by("username")
        .values("id", "username")[:limit]
    )
