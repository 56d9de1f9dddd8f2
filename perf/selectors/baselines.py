"""Read side of baselines: named orders of a suite (LNT's baselines).

A run is compared against a baseline through the same machine's run at the baseline's
order; a graph draws the series' value at that order as a dashed line.
"""

from __future__ import annotations

from typing import Any

from ..models import Baseline, Point, Run, TestSuite


def suite_baselines(suite: TestSuite) -> list[dict[str, Any]]:
    """The suite's baselines by name: id, name, order id and order fields.  One query."""
    return list(
        Baseline.objects.filter(suite=suite)
        .order_by("name")
        .values("id", "name", "order_id", "order__fields", "created_at")
    )


def order_baselines(order_id: int) -> list[dict[str, Any]]:
    """The baselines an order is (for the order and run pages).  One query."""
    return list(Baseline.objects.filter(order_id=order_id).order_by("name").values("id", "name"))


def baseline_get(suite: TestSuite, key: str) -> dict[str, Any] | None:
    """A baseline by name, with its order's fields.  One query."""
    return (
        Baseline.objects.filter(suite=suite, name=key)
        .values("id", "name", "order_id", "order__fields")
        .first()
    )


def baseline_run_for_machine(suite: TestSuite, name: str, machine_id: int) -> Run | None:
    """The machine's latest run at the order of the baseline called ``name``.

    None when there is no such baseline or the machine has no run at its order (call
    ``baseline_get`` to tell which).  One query.
    """
    return (
        Run.objects.filter(
            suite=suite,
            machine_id=machine_id,
            order__baselines__suite=suite,
            order__baselines__name=name,
        )
        .select_related("machine", "order")
        .order_by("-id")
        .first()
    )


def series_baseline_values(
    series_ids: list[int], suite: TestSuite
) -> dict[int, list[dict[str, Any]]]:
    """Each series' value at each baseline order of the suite where it has a point.

    ``{series id: [{"name", "order", "value"}, ...]}`` by baseline name; a series with
    no run at a baseline's order has no entry for it; failed points are left out.
    When a machine ran an order twice the latest run wins.  One query, whatever the
    number of series or baselines (a suite has few baselines).
    """
    if not series_ids:
        return {}
    rows = (
        Point.objects.filter(
            series_id__in=series_ids,
            order__baselines__suite=suite,
            failed=False,
            value__isnull=False,
        )
        .order_by("series_id", "order__baselines__name", "run_id")
        .values("series_id", "value", "order__baselines__name", "order__fields")
    )
    out: dict[int, dict[str, dict[str, Any]]] = {}
    for row in rows:
        # Later runs overwrite earlier ones: the rows come by run id.
        out.setdefault(row["series_id"], {})[row["order__baselines__name"]] = {
            "name": row["order__baselines__name"],
            "order": ", ".join(str(v) for v in row["order__fields"].values()),
            "value": row["value"],
        }
    return {sid: list(by_name.values()) for sid, by_name in out.items()}


def run_baseline_values(
    series: list[dict[str, Any]], runs: list[tuple[str, int]], suite: TestSuite
) -> dict[int, list[dict[str, Any]]]:
    """LNT's graph baselines (``baseline.<title>=<run id>``): for each plotted series
    (rows with ``id``, ``test_id`` and ``metric_id``), the value of its test and metric
    in each given run of the suite, whatever that run's machine, as
    ``{series id: [{"name": title, "order", "value", "run"}]}`` in the order given.
    Runs of other suites, and runs without a value for the test, add nothing.  One
    query."""
    if not series or not runs:
        return {}
    rows = Point.objects.filter(
        run_id__in=[r for _, r in runs],
        run__suite=suite,
        series__test_id__in={s["test_id"] for s in series},
        series__metric_id__in={s["metric_id"] for s in series},
        failed=False,
        value__isnull=False,
    ).values("run_id", "series__test_id", "series__metric_id", "value", "order__fields")
    found = {(r["run_id"], r["series__test_id"], r["series__metric_id"]): r for r in rows}
    out: dict[int, list[dict[str, Any]]] = {}
    for s in series:
        for title, run_id in runs:
            row = found.get((run_id, s["test_id"], s["metric_id"]))
            if row is not None:
                out.setdefault(s["id"], []).append(
                    {
                        "name": title,
                        "order": ", ".join(str(v) for v in row["order__fields"].values()),
                        "value": row["value"],
                        "run": run_id,
                    }
                )
    return out
