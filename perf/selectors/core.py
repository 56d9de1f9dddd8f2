"""Read side for pages and the API: narrow rows, a bounded number of queries.

Every function here issues a fixed number of queries whatever the size of the
data (tests assert the counts), and returns plain values or small dataclasses.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, Max

from ..models import (
    FieldChange,
    Machine,
    Metric,
    Order,
    Point,
    Run,
    Sample,
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
        return qs.filter(id=int(key)).first()
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


def run_samples(run: Run) -> dict[str, dict[str, list[Any]]]:
    """test name -> metric name -> sample values, for one run.  One query."""
    rows = (
        Sample.objects.filter(run=run)
        .order_by("series__test__name", "series__metric__position")
        .values_list("series__test__name", "series__metric__name", "values")
    )
    tests: dict[str, dict[str, list[Any]]] = defaultdict(dict)
    for test, metric, values in rows:
        tests[test][metric] = values
    return tests


def run_export(run: Run, schema_order_fields: list[str]) -> dict[str, Any]:
    """A run as a v2 report (plus ids), which ``parse_report`` re-imports unchanged."""
    machine, order = run.machine, run.order
    run_doc: dict[str, Any] = {
        "id": run.id,
        "start_time": run.start_time.replace(tzinfo=None).isoformat(),
        "end_time": run.end_time.replace(tzinfo=None).isoformat(),
        **run.run_fields,
        **run.parameters,
        **{f: order.fields.get(f) for f in schema_order_fields},
        "order_id": order.id,
        "machine_id": machine.id,
    }
    tests = [{"name": name, **metrics} for name, metrics in run_samples(run).items()]
    return {
        "format_version": "2",
        "generated_by": "lntsite",
        "machine": {"id": machine.id, "name": machine.name, **machine.fields, **machine.parameters},
        "run": run_doc,
        "tests": tests,
    }


def samples_for_runs(run_ids: list[int], offset: int, limit: int) -> list[dict[str, Any]]:
    rows = (
        Sample.objects.filter(run_id__in=run_ids)
        .order_by("run_id", "series_id")
        .values(
            "run_id", "series__test_id", "series__test__name", "series__metric__name", "values"
        )[offset : offset + limit]
    )
    return [
        {
            "run_id": r["run_id"],
            "test_id": r["series__test_id"],
            "name": r["series__test__name"],
            "metric": r["series__metric__name"],
            "values": r["values"],
        }
        for r in rows
    ]


def order_get(suite: TestSuite, key: str) -> dict[str, Any] | None:
    """An order by id, with its neighbours.  Three queries."""
    if not key.isdigit():
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


def series_points(series_id: int, *, offset: int = 0, limit: int = 10_000) -> list[dict[str, Any]]:
    """The points of a series in order: one row per run.  One query, index range scan."""
    return list(
        Point.objects.filter(series_id=series_id)
        .order_by("position", "run_id")
        .values(
            "run_id",
            "position",
            "value",
            "count",
            "minimum",
            "maximum",
            "failed",
            "order__fields",
            "run__start_time",
        )[offset : offset + limit]
    )


def series_changes(series_id: int) -> list[dict[str, Any]]:
    return list(
        FieldChange.objects.filter(series_id=series_id, withdrawn=False)
        .order_by("end_position")
        .values(
            "id",
            "start_order__fields",
            "end_order__fields",
            "end_position",
            "old_value",
            "new_value",
            "relative_change",
            "confidence",
            "is_regression",
            "method",
            "indicator__regression_id",
        )
    )


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
    "run_samples",
    "run_export",
    "samples_for_runs",
    "order_get",
    "test_list",
    "series_find",
    "series_points",
    "series_changes",
    "suite_names",
    "machine_choices",
    "real_metric_choices",
    "test_ids_by_name",
]
