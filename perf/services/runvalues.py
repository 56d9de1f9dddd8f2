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

Detection reads a run's window the same way (``services.detection``): the rows' means
and counts too, NULL in a row written before they existed (read from the points).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.db import connection

from ..formats.run_values import level_mean, run_levels_pack, run_values_pack
from ..models import Point, RunValues

# What a writer keeps of each point of a run, by metric id: test ids, values (None:
# failed or none), level means (``formats.run_values.level_mean``, None where the value
# is) and sample counts, in the same order.
Kept = Mapping[
    int, tuple[Sequence[int], Sequence[float | None], Sequence[float | None], Sequence[int]]
]

# Runs packed per statement by ``run_values_refresh`` on PostgreSQL: each statement
# reads about this many runs' points by the (run, series) index (400,000 points for
# 100 runs of 2,000 tests x 2 metrics), well under the statement timeout.
RUNS_PER_BATCH = 100

# The rows of some runs (``%s``: an array of run ids) packed from their points in SQL,
# byte for byte what ``run_values_pack`` and ``run_levels_pack`` make
# (formats/run_values.py; ``+ 0.0`` turns -0.0 into 0.0 as they do; the means'
# CASE is ``level_mean``); an upsert.  Used by ``run_values_refresh`` and
# bench/make_dataset.py (migrations keep their own copy: this one follows the model).
RUN_VALUES_SQL = """
INSERT INTO perf_runvalues (run_id, metric_id, tests, "values", means, counts)
SELECT p.run_id, s.metric_id,
       string_agg(int8send(s.test_id), ''::bytea ORDER BY s.test_id),
       string_agg(float8send(CASE WHEN p.failed OR p.value IS NULL THEN 'NaN'::float8
                                  ELSE p.value + 0.0 END), ''::bytea ORDER BY s.test_id),
       string_agg(float8send(CASE WHEN p.failed OR p.value IS NULL THEN 'NaN'::float8
                                  WHEN p.count > 1 AND p.count = p.valid_count
                                  THEN COALESCE(p.mean, 'NaN'::float8) + 0.0
                                  ELSE p.value + 0.0 END), ''::bytea ORDER BY s.test_id),
       string_agg(int4send(p.count), ''::bytea ORDER BY s.test_id)
FROM perf_point p JOIN perf_series s ON s.id = p.series_id
WHERE p.run_id = ANY(%s)
GROUP BY p.run_id, s.metric_id
ON CONFLICT (run_id, metric_id) DO UPDATE SET tests = EXCLUDED.tests,
    "values" = EXCLUDED."values", means = EXCLUDED.means, counts = EXCLUDED.counts
"""


def run_values_save(run_id: int, kept: Kept, *, fresh: bool = False) -> int:
    """Store one run's values from what its writer kept while writing its points.

    ``kept``: metric id -> (test ids, values, level means, counts), one entry per
    point of the run (see ``Kept``); a metric with no point gets an empty row.  Rows
    of metrics not in ``kept`` are removed, unless the run is ``fresh`` (created in
    this transaction: it has no rows yet).  An upsert on (run,
    metric): idempotent, and safe when two writers race.  Two queries; one when the
    run is fresh.  Returns the rows written.
    """
    rows = [
        RunValues(
            run_id=run_id, metric_id=metric_id, tests=tests, values=values, means=means,
            counts=counts,
        )
        for metric_id, tests, values, means, counts in run_values_packed(kept)
    ]
    _upsert(rows)
    if not fresh:
        RunValues.objects.filter(run_id=run_id).exclude(metric_id__in=list(kept)).delete()
    return len(rows)


def run_values_packed(kept: Kept) -> Iterator[tuple[int, bytes, bytes, bytes, bytes]]:
    """(metric id, tests, values, means, counts) of each metric of ``kept``, packed as
    ``RunValues`` stores them; one metric at a time (a writer sending them as they come
    holds one metric's bytes at once)."""
    for metric_id, (tests, values, means, counts) in kept.items():
        yield (
            metric_id,
            *run_values_pack(tests, values),
            *run_levels_pack(tests, means, counts),
        )


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
        kept: dict[int, dict[int, tuple[list[int], list[Any], list[Any], list[int]]]] = {}
        for run_id, metric_id, test_id, value, failed, mean, count, valid in (
            Point.objects.filter(run_id__in=batch).values_list(
                "run_id", "series__metric_id", "series__test_id", "value", "failed", "mean",
                "count", "valid_count",
            )
        ):
            tests, values, means, counts = kept.setdefault(run_id, {}).setdefault(
                metric_id, ([], [], [], [])
            )
            value = None if failed else value
            tests.append(test_id)
            values.append(value)
            means.append(level_mean(value, mean, count, valid))
            counts.append(count)
        for run_id, by_metric in kept.items():
            written += run_values_save(run_id, by_metric, fresh=True)
    return written


def _upsert(rows: list[RunValues]) -> None:
    if rows:
        RunValues.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["run", "metric"],
            update_fields=["tests", "values", "means", "counts"],
        )
