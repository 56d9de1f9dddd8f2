"""Where the detection task's PostgreSQL time goes: the window read, taken apart.

On the database ``detection_speed.py`` built (BENCH_DATABASE_URL, reused, never
recreated), reads the long history's detection window (the task's query: 7 columns of
every point of the run's series in its newest 59 orders) with binary COPY, and the same
index scan with no output (``count(...)`` of the columns only the heap or a covering
index holds), in batches of --batch series; prints for each the wall seconds and the CPU
seconds of this process and of its PostgreSQL backend (``/proc``), --rounds times,
alternated.

    python bench/detection_copy_cost.py [--batch 500,5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import os
import time
from datetime import UTC, datetime

from _pg import bench_database

READS = {
    "copy 7 columns": (
        "SELECT series_id, position, COALESCE(value, 'NaN'), count, failed, "
        "COALESCE(mean, 'NaN'), valid_count"
    ),
    "scan only": "SELECT count(mean) + count(valid_count)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", default="500,5000", help="Series per statement, a list.")
    parser.add_argument("--rounds", type=int, default=3, help="Alternations of every read.")
    parser.add_argument("--orders", type=int, default=59, help="Newest orders read.")
    args = parser.parse_args()
    bench_database(recreate=False)
    from detection_speed import backend_cpu
    from django.db import connection

    from perf.models import Machine, Run, Series

    machine = Machine.objects.get(name="bench-long-history")
    ids = list(Series.objects.filter(machine=machine).order_by("id").values_list("id", flat=True))
    positions = list(
        Run.objects.filter(machine=machine)
        .order_by("-position")
        .values_list("position", flat=True)[: args.orders]
    )
    where = " FROM perf_point WHERE series_id = ANY(%s) AND position >= %s AND position <= %s"
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg())
          + f"; {len(ids)} series x {len(positions)} orders")
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for _ in range(args.rounds):
            for size in (int(b) for b in args.batch.split(",")):
                for name, select in READS.items():
                    database, python = backend_cpu(), time.process_time()
                    started = time.perf_counter()
                    for i in range(0, len(ids), size):
                        query = raw.mogrify(
                            select + where, [ids[i : i + size], positions[-1], positions[0]]
                        ).decode()
                        raw.copy_expert(f"COPY ({query}) TO STDOUT (FORMAT binary)", io.BytesIO())
                    print(
                        f"{name:>15}, batches of {size:>5}: {time.perf_counter() - started:.2f} s,"
                        f" python cpu {time.process_time() - python:.2f},"
                        f" postgres cpu {backend_cpu() - database:.2f}"
                    )


if __name__ == "__main__":
    main()
