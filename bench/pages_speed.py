"""Server time of every page on a large PostgreSQL history, at one or more scales.

    .venv/bin/python bench/pages_speed.py --budget-ms 100 \
        --scale 0.1=postgres://postgres@127.0.0.1:5432/lntsite_data_s10 \
        --scale 0.3=postgres://postgres@127.0.0.1:5432/lntsite_data_s30 \
        --scale 1=postgres://postgres@127.0.0.1:5432/lntsite_data

Each database gets issue #10's dataset at its scale through bench/make_dataset.py (built
once, reused after; at scale 1: 20 machines x 2,000 tests x 2 metrics x 400 orders x 3
samples plus a 5,000-test machine, 36 M points, 108 M sample values).  Then every page
is timed with the Django test client (median of --repeat requests after one warm-up)
and checked against --budget-ms.  With several scales the scales take turns request by
request (one process switches databases), so that the load of a shared machine falls
on every scale alike, and a table prints them side by side with the growth from the
smallest scale to the largest: a page that reads a fixed amount (one run, ten series'
windows) should not grow with the history.  Without --scale: scale 1 in
DATABASE_URL.  Needs a superuser role (the build disables triggers); stops by itself.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
os.environ.setdefault("PERF_DEBUG_TOOLBAR", "0")
os.environ.setdefault("LOG_LEVEL", "ERROR")  # not the SLOW line of every request


def pages_list(args: argparse.Namespace) -> dict[str, str]:
    """Page name -> URL on the dataset in Django's database."""
    from django.urls import reverse

    from perf.models import FieldChange, Machine, Metric, Regression, Run, Series, TestSuite

    suite = TestSuite.objects.get(name="nts")
    metric = Metric.objects.get(suite=suite, name="execution_time")
    machine = Machine.objects.filter(suite=suite, name="bench-m00").get()
    big = Machine.objects.filter(suite=suite, name="bench-big").get()
    runs = list(Run.objects.filter(machine=machine).order_by("-order__position")[:2])
    big_runs = list(Run.objects.filter(machine=big).order_by("-order__position")[:2])
    change = FieldChange.objects.filter(machine=machine, metric=metric).first()
    series = list(
        Series.objects.filter(test_id=change.test_id, metric=metric).order_by("machine_id")[:10]
    )
    plots = [f"{s.machine_id}.{s.test_id}.{metric.position}" for s in series]
    regression = Regression.objects.filter(suite=suite).order_by("id").first()
    s = "nts"
    run_url = reverse("perf:run-detail", args=[s, runs[0].id])
    big_url = reverse("perf:run-detail", args=[s, big_runs[0].id])
    graph_data = reverse("perf:graph-data", args=[s])
    return {
        "home": reverse("perf:home"),
        "suite home": reverse("perf:suite-home", args=[s]),
        "machines": reverse("perf:machine-list", args=[s]),
        "machine": reverse("perf:machine-detail", args=[s, machine.id]),
        "machine 5,000 tests": reverse("perf:machine-detail", args=[s, big.id]),
        # The latest run's counts, which the machine page fetches once shown.
        "machine summary": reverse("perf:machine-summary", args=[s, machine.id]),
        "machine summary 5,000 tests": reverse("perf:machine-summary", args=[s, big.id]),
        "run report": run_url,
        "run report + baseline": run_url + f"?baseline={runs[1].id}",
        "run report CSV": run_url + "?format=csv",
        "run report JSON": run_url + "?format=json",
        # Issue #10's target: the report of a 5,000-test run (10,000 points, 2 metrics).
        "run report 5,000 tests": big_url,
        "run report 5,000 + baseline": big_url + f"?baseline={big_runs[1].id}",
        "compare": reverse("perf:compare", args=[s]) + f"?a={runs[1].id}&b={runs[0].id}",
        "compare sides": reverse("perf:compare-sides", args=[s])
        + f"?a_runs={runs[1].id}&b_runs={runs[0].id}&metric=execution_time",
        "baselines": reverse("perf:baseline-list", args=[s]),
        "graph page": reverse("perf:graph", args=[s])
        + "?"
        + "&".join(f"plot={p}" for p in plots[:4]),
        "graph data x4": graph_data + "?" + "&".join(f"plot={p}" for p in plots[:4]),
        # Issue #10's target: graph data of 10 series (one test on 10 machines).
        "graph data x10": graph_data + "?" + "&".join(f"plot={p}" for p in plots),
        "graph data + samples": graph_data + f"?plot={plots[0]}&samples=1",
        # LNT's geometric mean of all 2,000 tests of one machine over the history.
        "graph mean data": graph_data + f"?mean={machine.id}.{metric.position}",
        "graph page + mean": reverse("perf:graph", args=[s])
        + f"?plot={plots[0]}&mean={machine.id}.{metric.position}",
        "graph point samples": reverse("perf:graph-samples", args=[s])
        + f"?plot={machine.id}.{change.test_id}.{metric.position}&run={runs[0].id}",
        "orders": reverse("perf:order-list", args=[s]),
        "orders search": reverse("perf:order-list", args=[s]) + "?q=6003",
        "order": reverse("perf:order-detail", args=[s, runs[0].order_id]),
        "regressions": reverse("perf:regression-list", args=[s]),
        "regression": reverse("perf:regression-detail", args=[s, regression.id]),
        "daily": reverse("perf:daily", args=[s]) + "?days=14",
        "triage": reverse("perf:triage", args=[s]),
        "triage, ignored": reverse("perf:triage", args=[s]) + "?ignored=1",
        "search": reverse("perf:search", args=[s]) + "?q=test012",
        # The overview pages (perf/views/overview.py).
        "run report text": run_url + "?format=txt",
        "dashboard": reverse("perf:dashboard", args=[s]),
        "matrix x4": reverse("perf:matrix", args=[s])
        + "?"
        + "&".join(f"plot.{k}={p}" for k, p in enumerate(plots[:4])),
        "global status": reverse("perf:global-status", args=[s]),
        "global status + baseline": reverse("perf:global-status", args=[s])
        + f"?baseline={runs[1].id}",
        "latest runs report": reverse("perf:latest-runs", args=[s]),
        "daily report text": reverse("perf:daily", args=[s]) + "?days=14&format=txt",
    }


def database_use(url: str) -> None:
    """Point Django's default connection at ``url`` (closed, reopened on next use).
    The site keeps no cache, so requests after the switch see only that database."""
    from django.db import connections

    parsed = urlparse(url)
    if parsed.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise SystemExit(f"a database on loopback only, got {parsed.hostname}")
    connection = connections["default"]
    connection.close()
    connection.settings_dict.update(
        NAME=parsed.path.lstrip("/"),
        HOST=parsed.hostname,
        PORT=parsed.port or 5432,
        USER=parsed.username or "postgres",
    )


def time_pages(args: argparse.Namespace, scales: list[tuple[float, str]]) -> dict[float, dict]:
    """Build or reuse the dataset in each database; median ms of each page at each
    scale.  The scales take turns request by request (page by page), so that a change
    of the machine's load touches every scale alike."""
    import django

    os.environ["DATABASE_URL"] = scales[0][1]
    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from make_dataset import dataset_ensure

    wanted = [w for w in args.only.split(",") if w] or [""]
    pages = {}
    for scale, url in scales:
        database_use(url)
        call_command("migrate", verbosity=0)
        dataset_ensure(scale)
        pages[scale] = {
            name: path for name, path in pages_list(args).items() if any(w in name for w in wanted)
        }
    client = Client()
    if args.gc_freeze:
        client.get("/")  # the lazy imports of a first request, as a preloaded master has
        gc.collect()
        gc.freeze()
    timings: dict[float, dict[str, list[float]]] = {scale: {} for scale, _ in scales}
    cpu: dict[float, dict[str, list[float]]] = {scale: {} for scale, _ in scales}
    for name in pages[scales[0][0]]:
        for _ in range(args.repeat + 1):  # the first round warms caches and is dropped
            for scale, url in scales:
                database_use(url)
                client.get("/")  # connect outside the timed request
                t, c = time.perf_counter(), time.process_time()
                response = client.get(pages[scale][name])
                timings[scale].setdefault(name, []).append((time.perf_counter() - t) * 1000)
                cpu[scale].setdefault(name, []).append((time.process_time() - c) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{name} at scale {scale}: HTTP {response.status_code}")
        web = "".join(f"{statistics.median(cpu[s][name][1:]):>7.1f}" for s, _ in scales)
        print(
            f"{name:<28}"
            + "".join(f"{statistics.median(timings[s][name][1:]):>10.1f}" for s, _ in scales)
            + (f"  web CPU{web}" if args.cpu else ""),
            flush=True,
        )
    return {
        scale: {name: statistics.median(values[1:]) for name, values in by_page.items()}
        for scale, by_page in timings.items()
    }


def scales_parse(values: list[str]) -> list[tuple[float, str]]:
    scales = []
    for value in values:
        scale, sep, url = value.partition("=")
        if not sep or not url.startswith("postgres"):
            raise SystemExit(f"--scale takes F=postgres://..., got {value!r}")
        scales.append((float(scale), url))
    return sorted(scales)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="requests per page (median)")
    parser.add_argument("--budget-ms", type=float, default=300.0, help="PASS threshold")
    parser.add_argument(
        "--scale",
        action="append",
        default=[],
        help="F=DATABASE_URL: time the dataset at scale F (0.1, 0.3, 1) in that database; "
        "repeat for a table of scales side by side (default: 1=$DATABASE_URL)",
    )
    parser.add_argument(
        "--only",
        default="",
        help="time only the pages whose name contains one of these, comma-separated "
        "(e.g. 'run report,status')",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="freeze the imported objects out of the garbage collector's reach before "
        "timing, as the gunicorn master does before it forks a worker (deploy/gunicorn.conf.py)",
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="also print each page's median CPU time of this process (the web side, without "
        "the database's), which another job's load on a shared machine barely moves",
    )
    args = parser.parse_args()
    scales = scales_parse(args.scale or [f"1={os.environ.get('DATABASE_URL', '')}"])
    started = time.perf_counter()
    print(
        f"{'page (median ms, as measured)':<28}" + "".join(f"{f'{s:g}x':>10}" for s, _ in scales),
        flush=True,
    )
    columns = time_pages(args, scales)
    first, last = min(columns), max(columns)
    header = "".join(f"{f'{s:g}x ms':>10}" for s in columns)
    growth = f"{f'{last:g}/{first:g}':>10}" if len(columns) > 1 else ""
    print(f"\n{'page':<28}{header}{growth}  result at {last:g} (budget {args.budget_ms:.0f} ms)")
    failed = 0
    for name in columns[last]:
        cells = "".join(f"{columns[s][name]:>10.1f}" for s in columns)
        ratio = f"{columns[last][name] / columns[first][name]:>10.2f}" if len(columns) > 1 else ""
        ok = columns[last][name] <= args.budget_ms
        failed += not ok
        print(f"{name:<28}{cells}{ratio}  {'PASS' if ok else 'FAIL'}")
    pages = len(columns[last])
    print(
        f"\n{pages - failed}/{pages} pages within budget at scale {last:g}; "
        f"total {time.perf_counter() - started:.0f}s"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
