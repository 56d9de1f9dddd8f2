"""The run report's read of two runs' points, as main read it and by binary COPY,
alternated in one process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_data \\
        .venv/bin/python bench/report_points_speed.py bench-big --repeat 9

On the dataset of bench/make_dataset.py (PostgreSQL).  For each machine named, its
newest two runs: the median wall and process CPU time of reading their points into
``PointColumns`` each way, --repeat times alternated, for one metric with the tests'
names (the run report page, CSV, JSON) and for every metric without them (the machine
summary): *cursor*, the Django query the report used before (a tuple a point with its
test's name, then ``_columns_of``), and *COPY*, ``report_data``'s read now
(``_report_points``, plus the names' query when rows are shown).  Checks that both
give the same columns.  Read-only; stops by itself.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

from _pg import django_on_dataset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("machines", nargs="+", help="machine names")
    parser.add_argument("--repeat", type=int, default=9, help="reads each way (median)")
    args = parser.parse_args()
    django_on_dataset()
    import numpy as np

    from perf.models import Machine, Metric, Point, Run, Series
    from perf.selectors.runs import PointColumns, _columns_of, _report_points

    gc.freeze()  # as the gunicorn master does (pages_speed.py --gc-freeze)
    for name in args.machines:
        machine = Machine.objects.get(suite__name="nts", name=name)
        run_ids = list(
            Run.objects.filter(machine=machine)
            .order_by("-order__position", "-id")
            .values_list("id", flat=True)[:2]
        )
        real = list(
            Metric.objects.filter(suite=machine.suite, type=Metric.REAL)
            .order_by("position")
            .values_list("id", flat=True)
        )

        def cursor(
            run_ids: list[int], machine_id: int, metric_ids: list[int], names: bool
        ) -> PointColumns:
            points = Point.objects.filter(
                run_id__in=run_ids,
                series__machine_id__in=[machine_id],
                series__metric_id__in=metric_ids,
            ).values_list(
                "run_id", "series_id", "series__test_id", "series__test__name",
                "series__metric_id", "value", "failed", "hash",
            )
            return _columns_of(list(points), None)

        def copy(
            run_ids: list[int], machine_id: int, metric_ids: list[int], names: bool
        ) -> PointColumns:
            columns = _report_points(run_ids, [machine_id], metric_ids)
            if names:
                columns.names.update(
                    Series.objects.filter(machine_id=machine_id, metric_id__in=metric_ids)
                    .order_by()
                    .values_list("test_id", "test__name")
                )
            return columns

        for label, metric_ids, names in (
            ("one metric with names (run report)", real[:1], True),
            ("every metric, no names (machine summary)", real, False),
        ):
            wall: dict[str, list[float]] = {"cursor": [], "COPY": []}
            cpu: dict[str, list[float]] = {"cursor": [], "COPY": []}
            got: dict[str, PointColumns] = {}
            for _ in range(args.repeat):
                for way, read in (("cursor", cursor), ("COPY", copy)):
                    started, started_cpu = time.perf_counter(), time.process_time()
                    got[way] = read(run_ids, machine.id, metric_ids, names)
                    cpu[way].append((time.process_time() - started_cpu) * 1000)
                    wall[way].append((time.perf_counter() - started) * 1000)
            a, b = got["cursor"], got["COPY"]
            order_a = np.lexsort((a.series, a.run))
            order_b = np.lexsort((b.series, b.run))
            same = all(
                np.array_equal(getattr(a, f)[order_a], getattr(b, f)[order_b], equal_nan=True)
                for f in ("run", "series", "test", "metric", "value", "has_value", "failed",
                          "has_hash")
            ) and (not names or a.names == b.names)
            print(
                f"{name}, {label}, {len(b.run)} points: cursor "
                f"{statistics.median(wall['cursor']):.1f} ms (CPU "
                f"{statistics.median(cpu['cursor']):.1f}), COPY "
                f"{statistics.median(wall['COPY']):.1f} ms (CPU "
                f"{statistics.median(cpu['COPY']):.1f}); medians of {args.repeat}, "
                f"alternated, load {os.getloadavg()[0]:.1f}; "
                f"{'same columns' if same else 'COLUMNS DIFFER'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
