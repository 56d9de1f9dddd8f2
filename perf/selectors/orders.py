"""Read side of the order pages: the orders of a suite and the runs at one order.

Every function here runs a fixed number of queries whatever the number of orders,
runs or machines (the runs at one order are capped at RUNS_LIMIT).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, Subquery

from ..models import Order, Run, TestSuite
from .core import order_get

RUNS_LIMIT = 1_000  # runs listed on one order page (one per machine, usually)


def order_list(
    suite: TestSuite, *, search: str = "", offset: int = 0, limit: int = 50
) -> list[dict[str, Any]]:
    """A page of a suite's orders, newest (highest position) first, with run counts.

    ``search`` keeps orders whose revision contains it (case-insensitive).  Two
    queries: the page of orders (index on (suite, position), read backwards) and the
    run counts of that page's orders (index on run.order).
    """
    qs = Order.objects.filter(suite=suite)
    if search:
        qs = qs.filter(key__icontains=search)
    rows = list(
        qs.order_by("-position").values("id", "fields", "position", "created_at")[
            offset : offset + limit
        ]
    )
    counts = dict(
        Run.objects.filter(order_id__in=[r["id"] for r in rows])
        .values("order_id")
        .annotate(n=Count("id"))
        .values_list("order_id", "n")
    )
    for r in rows:
        r["label"] = _label(r["fields"])
        r["run_count"] = counts.get(r["id"], 0)
    return rows


def order_detail(suite: TestSuite, order_id: int) -> dict[str, Any] | None:
    """One order, its previous and next orders (with labels) and every run at it.

    Each run carries its machine's name and the id of that machine's previous run
    (by order), for a compare link.  Five queries (three of them ``order_get``'s);
    None when the order is not in this suite.
    """
    order = order_get(suite, str(order_id))
    if order is None:
        return None
    order["label"] = _label(order["fields"])
    neighbour_ids = [i for i in (order["previous_order_id"], order["next_order_id"]) if i]
    labels = {
        r["id"]: _label(r["fields"])
        for r in Order.objects.filter(id__in=neighbour_ids).values("id", "fields")
    }
    order["previous"] = _neighbour(order["previous_order_id"], labels)
    order["next"] = _neighbour(order["next_order_id"], labels)
    # The machine's run just before this order: served by the (machine, position) index.
    previous_run = (
        Run.objects.filter(machine_id=OuterRef("machine_id"), position__lt=OuterRef("position"))
        .order_by("-position", "-id")
        .values("id")[:1]
    )
    order["runs"] = list(
        Run.objects.filter(suite=suite, order_id=order_id)
        .annotate(previous_run_id=Subquery(previous_run))
        .order_by("machine__name", "id")
        .values(
            "id",
            "machine_id",
            "machine__name",
            "start_time",
            "end_time",
            "detection_state",
            "previous_run_id",
        )[: RUNS_LIMIT + 1]
    )
    order["runs_truncated"] = len(order["runs"]) > RUNS_LIMIT
    order["runs"] = order["runs"][:RUNS_LIMIT]
    return order


def _label(fields: dict[str, Any]) -> str:
    return ", ".join(str(v) for v in fields.values())


def _neighbour(order_id: int | None, labels: dict[int, str]) -> dict[str, Any] | None:
    if order_id is None or order_id not in labels:
        return None
    return {"id": order_id, "label": labels[order_id]}
