"""Read side for pages and the API: narrow rows, a bounded number of queries.

Every function here issues a fixed number of queries whatever the size of the
data (tests assert the counts), and returns plain values or small dataclasses.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max

from ..models import (
    Machine,
    Metric,
    Order,
    Run,
    Series,
    Test,
    TestSuite,
)


def suite_get(name: str) -> TestSuite | None:
    return TestSuite.objects.filter(name=name).first()


def suite_metrics(suite: TestSuite) -> list[Metric]:
    return list(Metric.objects.filter(suite=suite).order_by("position"))


def machine_list(suite: TestSuite, offset: int, limit: int) -> list[dict[str, Any]]:
    """Machines with their run count and last submission.  One query."""
    rows = (
        Machine.objects.filter(suite=suite)
        .annotate(run_count=Count("runs"), last_run=Max("runs__submitted_at"))
        .order_by("name")
        .values("id", "name", "fields", "parameters", "run_count", "last_run")[
            offset : offset + limit
        ]
    )
    return list(rows)


def machine_find(suite: TestSuite, key: str) -> Machine | None:
    """By id when ``key`` is all digits, else by name.  One query."""
    qs = Machine.objects.filter(suite=suite)
    if key.isdigit():
        return qs.filter(id=int(key)).first() if len(key) <= 18 else None
    return qs.filter(name=key).first()


def machine_runs(machine: Machine, offset: int, limit: int) -> list[dict[str, Any]]:
    """A machine's runs, newest order first.  One query."""
    rows = (
        Run.objects.filter(machine=machine)
        .order_by("-order__position", "-id")
        .values(
            "id",
            "start_time",
            "end_time",
            "submitted_at",
            "detection_state",
            "order_id",
            "order__fields",
            "run_fields",
            "parameters",
        )[offset : offset + limit]
    )
    return list(rows)


def run_get(suite: TestSuite, run_id: int) -> Run | None:
    return Run.objects.filter(suite=suite, id=run_id).select_related("machine", "order").first()


def order_get(suite: TestSuite, key: str) -> dict[str, Any] | None:
    """An order by id, with its neighbours.  Three queries."""
    if not key.isdigit() or len(key) > 18:  # more digits would overflow a bigint
        return None
    order = (
        Order.objects.filter(suite=suite, id=int(key))
        .values("id", "fields", "position", "created_at")
        .first()
    )
    if order is None:
        return None
    around = Order.objects.filter(suite=suite)
    prev = around.filter(position__lt=order["position"]).order_by("-position").values("id").first()
    nxt = around.filter(position__gt=order["position"]).order_by("position").values("id").first()
    order["previous_order_id"] = prev["id"] if prev else None
    order["next_order_id"] = nxt["id"] if nxt else None
    return order


def test_list(suite: TestSuite, offset: int, limit: int) -> list[dict[str, Any]]:
    return list(
        Test.objects.filter(suite=suite)
        .order_by("name")
        .values("id", "name")[offset : offset + limit]
    )


def series_find(machine_id: int, test_id: int, metric: Metric) -> Series | None:
    return Series.objects.filter(machine_id=machine_id, test_id=test_id, metric=metric).first()


def suite_names() -> list[str]:
    """Every suite's name, alphabetically.  One query."""
    return list(TestSuite.objects.order_by("name").values_list("name", flat=True))


def machine_choices(suite: TestSuite, limit: int = 500) -> list[dict[str, Any]]:
    """(id, name) of a suite's machines for a form's choices.  One query."""
    return list(Machine.objects.filter(suite=suite).order_by("name").values("id", "name")[:limit])


def real_metric_choices(suite: TestSuite) -> list[dict[str, Any]]:
    """The suite's Real metrics (those that can be graphed), by position.  One query."""
    return list(
        Metric.objects.filter(suite=suite, type=Metric.REAL)
        .order_by("position")
        .values("position", "name", "display_name")
    )


def test_ids_by_name(suite: TestSuite, names: list[str]) -> list[int]:
    """Ids of the tests of ``suite`` with these exact names.  One query."""
    return list(Test.objects.filter(suite=suite, name__in=names).values_list("id", flat=True))


__all__ = [
    "suite_get",
    "suite_metrics",
    "machine_list",
    "machine_find",
    "machine_runs",
    "run_get",
    "order_get",
    "test_list",
    "series_find",
    "suite_names",
    "machine_choices",
    "real_metric_choices",
    "test_ids_by_name",
]
