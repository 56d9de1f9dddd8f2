"""Each run's values of each metric packed in one row (``models.RunValues``), kept next
to the run's points.

Global status compares every machine's newest run with an older one and ranks all
tests by their worst change: read from the points, that is every point of some forty
runs through the (run, series) index, which holds both metrics.  Ingest stores the
run's values here when it writes its points (``run_values_save``, from what it already
has in memory: no query over the points), in the same transaction; an import of LNT
data and the migration that made this table fill it from the points
(``run_values_refresh``).  The reader falls back to the points for a run without a row,
so a missing row costs time, never a wrong page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import connection

from ..formats.run_values import run_values_group, run_values_pack
from ..models import Point, RunValues

# Runs packed per statement by ``run_values_refresh`` on PostgreSQL: each statement
# reads about this many runs' points by the (run, series) index (400,000 points for
# 100 runs of 2,000 tests x 2 metrics), well under the statement timeout.
RUNS_PER_BATCH = 100

# The rows of some runs (``%s``: an array of run ids) packed from their points in SQL,
# byte for byte what ``run_values_pack`` makes (formats/run_values.py; ``+ 0.0``
# turns -0.0 into 0.0 as it does); an upsert.  Used by ``run_values_refresh``,
# migration 0021 and bench/make_dataset.py.
RUN_VALUES_SQL = """
INSERT INTO perf_runvalues (run_id, metric_id, tests, "values")
SELECT p.run_id, s.metric_id,
       string_agg(int8send(s.test_id), ''::bytea ORDER BY s.test_id),
       string_agg(float8send(CASE WHEN p.failed OR p.value IS NULL THEN 'NaN'::float8
                                  ELSE p.value + 0.0 END), ''::bytea ORDER BY s.test_id)
FROM perf_point p JOIN perf_series s ON s.id = p.series_id
WHERE p.run_id = ANY(%s)
GROUP BY p.run_id, s.metric_id
ON CONFLICT (run_id, metric_id) DO UPDATE SET tests = EXCLUDED.tests, "values" = EXCLUDED."values"
"""


def run_values_save(
    run_id: int,
    kept: Mapping[int, tuple[Sequence[int], Sequence[float | None]]],
    *,
    fresh: bool = False,
) -> int:
    """Store one run's values from what its writer kept while writing its points.

    ``kept``: metric id -> (test ids, values), one entry per point of the run, the
    value None for a failed point or one with no value; a metric with no point gets
    an empty row.  Rows of metrics not in ``kept`` are removed, unless the run is
    ``fresh`` (created in this transaction: it has no rows yet).  An upsert on (run,
    metric): idempotent, and safe when two writers race.  Two queries; one when the
    run is fresh.  Returns the rows written.
    """
    rows = [
        RunValues(run_id=run_id, metric_id=metric_id, tests=packed[0], values=packed[1])
        for metric_id, (tests, values) in kept.items()
        for packed in [run_values_pack(tests, values)]
    ]
    _upsert(rows)
    if not fresh:
        RunValues.objects.filter(run_id=run_id).exclude(metric_id__in=list(kept)).delete()
    return len(rows)


def run_values_refresh(run_ids: Sequence[int]) -> int:
    """(Re)compute the rows of these runs from their points: each run's rows are
    removed, then written for every metric it has points of (not, as ingest does, an
    empty row for the others: a reader reads those runs' points, finding none).
    Idempotent.  On PostgreSQL packed in SQL (``RUN_VALUES_SQL``), ``RUNS_PER_BATCH``
    runs a statement; elsewhere in Python.  Returns the rows written."""
    run_ids = sorted(set(run_ids))
    written = 0
    for start in range(0, len(run_ids), RUNS_PER_BATCH):
        batch = run_ids[start : start + RUNS_PER_BATCH]
        RunValues.objects.filter(run_id__in=batch).delete()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(RUN_VALUES_SQL, [batch])
                written += cursor.rowcount
            continue
        packed = run_values_group(
            Point.objects.filter(run_id__in=batch).values_list(
                "run_id", "series__metric_id", "series__test_id", "value", "failed"
            )
        )
        rows = [
            RunValues(run_id=run_id, metric_id=metric_id, tests=tests, values=values)
            for (run_id, metric_id), (tests, values) in packed.items()
        ]
        _upsert(rows)
        written += len(rows)
    return written


def _upsert(rows: list[RunValues]) -> None:
    if rows:
        RunValues.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["run", "metric"],
            update_fields=["tests", "values"],
        )
