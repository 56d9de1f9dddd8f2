"""The run report's history windows read a series at a time and from the runs' packed
values, alternated in one process, checked equal.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_data \\
        .venv/bin/python bench/history_speed.py bench-m00 bench-big --repeat 9

On the dataset of bench/make_dataset.py (PostgreSQL).  For each machine named, its
newest run against the one before: the series ``report_data`` reads the history of
(every one compared by value, of ``execution_time`` and of both metrics), then the
median wall and process CPU time of ``series_history``'s two reads of their windows:
*index*, a LIMIT range scan of the (series, position) index a series
(``_series_history_copy``), and *packed*, the window's runs' ``RunValues`` rows
(``_series_history_packed``).  Fails if they differ.  Read-only; stops by itself.
"""

from __future__ import annotations

import argparse
import gc
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

    from perf.models import Machine, Metric, Run
    from perf.selectors.runs import (
        _compared_series,
        _report_points,
        _series_history_copy,
        _series_history_packed,
        _series_keys,
    )

    gc.freeze()  # as the gunicorn master does (pages_speed.py --gc-freeze)
    for name in args.machines:
        machine = Machine.objects.get(suite__name="nts", name=name)
        new, old = list(
            Run.objects.filter(machine=machine)
            .select_related("order")
            .order_by("-order__position", "-id")[:2]
        )
        real = list(
            Metric.objects.filter(suite=machine.suite, type=Metric.REAL)
            .order_by("position")
            .values_list("id", "name")
        )
        first = [m for m, n in real if n == "execution_time"]
        every = [m for m, _ in real]
        for label, metric_ids in (("execution_time", first), ("every Real metric", every)):
            columns = _report_points([new.id, old.id], [machine.id], metric_ids)
            series, _ = _compared_series(columns, new.id, [old.id], metric_ids, None)
            keys = _series_keys(columns, new.id, series)
            if keys is None:
                print(f"{name}: {len(series)} series, too few for the packed read")
                continue
            index = _series_history_copy(new, series, 20)
            packed = _series_history_packed(new, series, *keys, 20)
            if packed is None:
                print(f"{name}: a run of the window is not packed")
                continue
            same = (
                index.rows == packed.rows
                and index.last == packed.last
                and np.array_equal(index.levels, packed.levels, equal_nan=True)
            )
            if not same:
                print(f"{name}: the two reads differ")
                return 1
            times: dict[str, list[tuple[float, float]]] = {"index": [], "packed": []}
            for _ in range(args.repeat):
                for way in ("index", "packed"):
                    wall, cpu = time.perf_counter(), time.process_time()
                    if way == "index":
                        _series_history_copy(new, series, 20)
                    else:
                        _series_history_packed(new, series, *keys, 20)
                    times[way].append(
                        ((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000)
                    )
            cells = "  ".join(
                f"{way} {statistics.median(w for w, _ in t):.1f} ms "
                f"(CPU {statistics.median(c for _, c in t):.1f})"
                for way, t in times.items()
            )
            print(f"{name}, {label}, {len(series)} series: {cells}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
