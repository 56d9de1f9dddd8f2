"""Per-run geometric means of every Real metric, kept next to the run's points.

LNT draws a machine's "Geometric Mean" series (``mean=<machine>.<field>``) from all
of its samples at every order; lntsite stores the mean of each run once, when the run
is written, so that the graph reads one row per run (see models.RunGeomean).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from django.db.models import Avg, Count
from django.db.models.functions import Exp, Ln

from ..models import Metric, Point, RunGeomean


def run_geomeans_refresh(run_ids: list[int]) -> int:
    """(Re)compute the RunGeomean rows of these runs from their points.

    The mean is over the tests with a valid (not failed), positive value of each Real
    metric; a metric with no such test gets no row.  Idempotent and safe when two
    workers refresh the same run: an upsert on (run, metric), then the removal of
    rows of metrics the run no longer has.  Three queries; returns the rows written.
    """
    if not run_ids:
        return 0
    rows = (
        Point.objects.filter(
            run_id__in=run_ids,
            series__metric__type=Metric.REAL,
            failed=False,
            value__gt=0,
        )
        .values("run_id", "series__metric_id")
        .annotate(g=Exp(Avg(Ln("value"))), n=Count("id"))
        .order_by()
    )
    means = [
        RunGeomean(run_id=r["run_id"], metric_id=r["series__metric_id"], value=r["g"], tests=r["n"])
        for r in rows
    ]
    RunGeomean.objects.bulk_create(
        means,
        update_conflicts=True,
        unique_fields=["run", "metric"],
        update_fields=["value", "tests"],
    )
    keep = {(m.run_id, m.metric_id) for m in means}
    stale = [
        pk
        for pk, run_id, metric_id in RunGeomean.objects.filter(run_id__in=run_ids).values_list(
            "id", "run_id", "metric_id"
        )
        if (run_id, metric_id) not in keep
    ]
    if stale:
        RunGeomean.objects.filter(id__in=stale).delete()
    return len(means)


def run_geomeans_save(
    run_id: int, logs: Mapping[int, tuple[float, int]], *, fresh: bool = False
) -> int:
    """Store one run's geometric means from sums its writer kept while writing its points.

    ``logs``: Real metric id -> (sum of ln(value), number of values) over the run's
    points that are not failed and have a positive value -- what
    ``run_geomeans_refresh`` reads back from the points, without a query over them
    (on a 90,000-test run that aggregate is the slowest statement of the import).
    Metrics without such a point get no row; rows of other metrics are removed, unless
    the run is ``fresh`` (created in this transaction: it has no rows yet).  Two
    queries; one when there is nothing to store or the run is fresh.
    """
    means = [
        RunGeomean(run_id=run_id, metric_id=metric_id, value=math.exp(total / count), tests=count)
        for metric_id, (total, count) in logs.items()
        if count
    ]
    if means:
        RunGeomean.objects.bulk_create(
            means,
            update_conflicts=True,
            unique_fields=["run", "metric"],
            update_fields=["value", "tests"],
        )
    if fresh:
        return len(means)
    RunGeomean.objects.filter(run_id=run_id).exclude(
        metric_id__in=[m.metric_id for m in means]
    ).delete()
    return len(means)
