"""Time of the detection task for one run of 5,000 tests x 2 metrics, on PostgreSQL.

Two machines share the tests: one with 500 orders of history, one with 10.  The data
is written with COPY (5M points and 5M sample rows for the long history), then the
detection of each machine's newest run is timed (median of --repeat, the task is
idempotent).  Targets (issue #10): < 1 s for the long history, and a ratio
long/short <= 1.3: the work is proportional to tests x window, not to the length of
the history.  Each row also gives the CPU seconds of this process and of its
PostgreSQL backend (``/proc``; the server must run on this machine), and --profile N
a cProfile of one detection.

    python bench/detection_speed.py [--tests 5000] [--orders 500] [--repeat 3]

Needs PostgreSQL on loopback (BENCH_DATABASE_URL, default .../lntsite_bench, recreated).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import UTC, datetime

from _pg import bench_database, copy_rows, next_ids


def build(tests: int, orders: int, machine_name: str, rng: random.Random) -> int:
    """A machine with ``orders`` runs of ``tests`` tests; returns its newest run id."""
    from django.utils import timezone

    from perf.formats.samples import pack_samples
    from perf.models import Machine, Metric, Order, Run, Series, Test, TestSuite

    suite = TestSuite.objects.get(name="nts")
    metrics = list(Metric.objects.filter(suite=suite, name__in=["execution_time", "compile_time"]))
    machine = Machine.objects.create(suite=suite, name=machine_name)
    existing = dict(Test.objects.filter(suite=suite).values_list("name", "id"))
    names = [f"bench/test{i:05d}" for i in range(tests)]
    missing = [n for n in names if n not in existing]
    if missing:
        Test.objects.bulk_create([Test(suite=suite, name=n) for n in missing], batch_size=5000)
        existing = dict(Test.objects.filter(suite=suite).values_list("name", "id"))
    series = Series.objects.bulk_create(
        [Series(machine=machine, test_id=existing[n], metric=m) for n in names for m in metrics],
        batch_size=5000,
    )
    order_objs = []
    for o in range(orders):
        rev = str(1_000_000 + o)
        order, _ = Order.objects.get_or_create(
            suite=suite,
            key=rev,
            defaults={
                "fields": {"llvm_project_revision": rev},
                "sort_key": f"{int(rev):020d}",
                "position": o << 32,
            },
        )
        order_objs.append(order)
    now = timezone.now()
    first_run = next_ids("perf_run", orders)
    copy_rows(
        "perf_run",
        [
            "id",
            "suite_id",
            "machine_id",
            "order_id",
            "position",
            "start_time",
            "end_time",
            "submitted_at",
            "run_fields",
            "parameters",
            "source",
            "source_detail",
            "detection_state",
            "detection_attempts",
            "detection_error",
            "report_digest",
        ],
        (
            (
                first_run + o,
                suite.id,
                machine.id,
                order_objs[o].id,
                order_objs[o].position,
                now.isoformat(),
                now.isoformat(),
                now.isoformat(),
                "{}",
                "{}",
                "bench",
                "",
                "done",
                1,
                "",
                "",
            )
            for o in range(orders)
        ),
    )
    base = {s.id: rng.uniform(0.1, 5.0) for s in series}
    multi = {s.id: s.metric.name == "execution_time" for s in series}

    def rows():
        for o in range(orders):
            for s in series:
                if multi[s.id]:
                    values = [round(base[s.id] * rng.gauss(1, 0.01), 5) for _ in range(3)]
                else:
                    values = [round(base[s.id] * rng.gauss(1, 0.02), 5)]
                yield o, s.id, values

    point_rows: list[tuple] = []
    for o, series_id, values in rows():
        run_id = first_run + o
        med = statistics.median(values)
        point_rows.append(
            (
                run_id,
                series_id,
                order_objs[o].id,
                order_objs[o].position,
                len(values),
                len(values),
                med,
                med,
                min(values),
                max(values),
                None,
                "f",
                None,
                pack_samples("Real", values),
            )
        )
        if len(point_rows) >= 200_000:
            flush(point_rows)
    flush(point_rows)
    Run.objects.filter(machine=machine).update(detection_state="done")
    pack_runs(machine.name)
    return first_run + orders - 1


def pack_runs(machine_name: str) -> int:
    """Pack the machine's runs that have no complete ``RunValues`` rows (as ingest
    would have written them; a database built before detection read them has
    none, or rows without means and counts); returns how many were packed.  The
    tree at hand writes what its model has (an older tree: no means and counts)."""
    from django.db.models import Q

    from perf.models import Run, RunValues
    from perf.services.runvalues import run_values_refresh

    fields = {f.name for f in RunValues._meta.get_fields()}
    packed = RunValues.objects.filter(run__machine__name=machine_name)
    if "means" in fields:
        packed = packed.exclude(Q(means__isnull=True) | Q(counts__isnull=True))
    done = set(packed.values_list("run_id", flat=True))
    todo = [
        r
        for r in Run.objects.filter(machine__name=machine_name).values_list("id", flat=True)
        if r not in done
    ]
    if todo:
        run_values_refresh(todo)
    return len(todo)


def flush(point_rows: list) -> None:
    from perf.services.ingest import POINT_COLUMNS

    copy_rows("perf_point", POINT_COLUMNS, point_rows)
    point_rows.clear()


def backend_cpu() -> float:
    """CPU seconds (user + system) used so far by this connection's PostgreSQL backend,
    read from /proc (the server runs on this machine; 0.0 where /proc cannot tell)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_detection(run_id: int, repeat: int) -> tuple[float, int, float, float]:
    """Median wall seconds of ``repeat`` detections of the run, its query count, and the
    median CPU seconds of this Python process and of the PostgreSQL backend."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from perf.services.detection import run_detect

    timings, python_cpu, database_cpu = [], [], []
    queries = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as ctx:
            backend = backend_cpu()
            process = time.process_time()
            started = time.perf_counter()
            run_detect(run_id)
            timings.append(time.perf_counter() - started)
            python_cpu.append(time.process_time() - process)
            database_cpu.append(backend_cpu() - backend)
        queries = len(ctx.captured_queries)
    return (
        statistics.median(timings),
        queries,
        statistics.median(python_cpu),
        statistics.median(database_cpu),
    )


STEPS = (
    "_window_around",
    "_packed_window",
    "_level_columns",
    "_load_levels",
    "screen_levels",
    "screen_suspects",
    "_series_meta",
    "_load_items",
    "_evaluate",
    "regressions_group",
)


def step_cpu(run_id: int, repeat: int) -> None:
    """Python CPU seconds of each step of the detection of the run (``time.process_time``
    around the detection module's functions; ``_load_levels`` includes ``_level_columns``,
    the points' read, which a run without packed rows costs),
    per detection, for ``repeat`` detections."""
    from perf.services import detection

    spent: dict[str, float] = {}

    def timed(name: str, function):  # noqa: ANN001, ANN202 - a bench's wrapper
        def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - started

        return call

    originals = {name: getattr(detection, name) for name in STEPS}
    for name, function in originals.items():
        setattr(detection, name, timed(name, function))
    try:
        for _ in range(repeat):
            spent.clear()
            started = time.process_time()
            detection.run_detect(run_id)
            total = time.process_time() - started
            print(f"python cpu {total:.3f} s: "
                  + ", ".join(f"{name} {seconds:.3f}" for name, seconds in spent.items()))
    finally:
        for name, function in originals.items():
            setattr(detection, name, function)


def points_only(run_id: int, repeat: int) -> None:
    """Python CPU of ``repeat`` detections of the run with every run of its window read
    from its points, as for runs without packed rows (the fallback), then packed."""
    from perf.models import Run
    from perf.services import detection

    real = detection._packed_window

    def unpacked(machine_id, window, keys):  # noqa: ANN001, ANN202 - a bench's stand-in
        runs = sorted(
            Run.objects.filter(
                machine_id=machine_id,
                position__gte=window.positions[0],
                position__lte=window.positions[-1],
            ).values_list("id", flat=True)
        )
        return detection.PackedWindow([], {m: runs for _, m in keys.values()}, keys)

    for label, function in (("from the points", unpacked), ("packed", real)):
        detection._packed_window = function
        try:
            cpu = []
            for _ in range(repeat):
                started = time.process_time()
                detection.run_detect(run_id)
                cpu.append(time.process_time() - started)
        finally:
            detection._packed_window = real
        print(f"{label}: python cpu " + ", ".join(f"{c:.3f}" for c in cpu) + " s")


def profile_detection(run_id: int, top: int) -> None:
    """cProfile of one detection of the run: the ``top`` functions by own time."""
    import cProfile
    import pstats

    from perf.services.detection import run_detect

    profiler = cProfile.Profile()
    profiler.runcall(run_detect, run_id)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def newest_run(machine: str) -> int | None:
    from perf.models import Run

    return (
        Run.objects.filter(machine__name=machine)
        .order_by("-order__position")
        .values_list("id", flat=True)
        .first()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--short-orders", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="Drop the data and build again.")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="Also print a cProfile of one detection of the long history (N functions).",
    )
    parser.add_argument(
        "--steps",
        action="store_true",
        help="Also print the Python CPU of each step of the long history's detection.",
    )
    parser.add_argument(
        "--points",
        action="store_true",
        help="Also time the long history's detection with every run read from its points.",
    )
    parser.add_argument(
        "--no-pack",
        action="store_true",
        help="Do not pack the runs of a reused history that have no RunValues rows.",
    )
    args = parser.parse_args()
    bench_database(recreate=args.rebuild)
    from django.db import connection

    histories = {
        "long": ("bench-long-history", args.orders),
        "short": ("bench-short-history", args.short_orders),
        # Long enough to fill the detection window (59 orders): the fair comparison
        # for "the work does not grow with the length of the history".
        "window": ("bench-window-history", 60),
    }
    rng = random.Random(1)
    runs = {}
    for key, (name, orders) in histories.items():
        runs[key] = newest_run(name)
        if runs[key] is None:
            started = time.perf_counter()
            runs[key] = build(args.tests, orders, name, rng)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            print(
                f"built {name}: {args.tests} tests x 2 metrics x {orders} orders "
                f"in {time.perf_counter() - started:.0f}s"
            )
        else:
            print(f"reusing {name} (--rebuild to start over)")
            if not args.no_pack and (packed := pack_runs(name)):
                print(f"packed {packed} runs of {name} (RunValues)")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    timed = {key: time_detection(run_id, args.repeat) for key, run_id in runs.items()}
    # CPU: of this process (Python, numpy, the driver) and of its PostgreSQL backend;
    # the rest of the wall time is waiting (the other's CPU, the machine's load).
    print(
        f"{'history':>10} {'series':>7} {'seconds':>8} {'queries':>8} "
        f"{'py cpu':>7} {'pg cpu':>7}"
    )
    for key, (_, orders) in histories.items():
        seconds, queries, python_cpu, database_cpu = timed[key]
        print(
            f"{orders:>10} {2 * args.tests:>7} {seconds:>8.2f} {queries:>8} "
            f"{python_cpu:>7.2f} {database_cpu:>7.2f}"
        )
    long_t, short_t, window_t = timed["long"][0], timed["short"][0], timed["window"][0]
    ratio = long_t / short_t
    print(
        f"ratio {args.orders}/{args.short_orders}: {ratio:.2f};  ratio {args.orders}/60: "
        f"{long_t / window_t:.2f} (60 orders already fill the 59-order window)"
    )
    print(f"{'PASS' if long_t < 1.0 else 'FAIL'} detection of one run < 1 s ({long_t:.2f} s)")
    print(f"{'PASS' if ratio <= 1.3 else 'FAIL'} ratio {args.orders}/{args.short_orders} <= 1.3")
    print(f"{'PASS' if long_t / window_t <= 1.3 else 'FAIL'} ratio {args.orders}/60 <= 1.3")
    if args.steps:
        step_cpu(runs["long"], args.repeat)
    if args.points:
        points_only(runs["long"], args.repeat)
    if args.profile:
        profile_detection(runs["long"], args.profile)


if __name__ == "__main__":
    main()
