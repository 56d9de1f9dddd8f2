"""A whole ``submitRun`` request in one process, for comparing two checkouts (A/B).

Each checkout (``--tree``, this one by default; give two or more to compare them)
serves ``lnt submit``'s urlencoded form through Django's test client -- middleware,
token, form decoding, parse, store, commit, the detection task published to a real
broker (``CELERY_BROKER_URL``, default Redis db 9 on loopback) and the run-over-run
answer -- against its own PostgreSQL database (``BENCH_DATABASE_URL`` with the
checkout's number appended, recreated at the start).  No HTTP server, no proxy: the
figures are the application's own, steadier than bench/submit_vs_lnt.py's on a
shared machine.  The checkouts take turns, --requests timed submissions each per
round for --rounds rounds (after --warmup untimed ones), each in a fresh process of
the checkout's code, with what it imported frozen out of the garbage collector's
passes as production's workers have it; every submission is a new order of the same
machine (a history that grows).  Prints per checkout the median wall time of a
request, its Python CPU, its PostgreSQL backend's CPU and the server's own
``load_time``, ``import_time``, ``report_time`` and ``total_time``.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_submitreq \\
        nice -n 10 .venv/bin/python bench/submit_request.py --tree . --tree ../old-checkout \\
        [--tests 1000 --requests 10 --rounds 3]

Loopback only; stops after rounds x requests submissions per checkout.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve()
FIGURES = ("wall", "cpu", "pg", "load_time", "import_time", "report_time", "total_time")


def child(args: argparse.Namespace) -> None:
    """Run in the checkout's code: submit and print one JSON line of figures."""
    tree = Path(args.tree).resolve()
    os.chdir(tree)
    sys.path[:0] = [str(tree), str(tree / "bench")]
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/9")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    from _pg import backend_cpu_seconds, bench_database

    bench_database(recreate=args.first)
    from django.test import Client
    from write_speed import report

    from perf.services.tokens import token_create

    _, secret = token_create(f"submit-request-{time.time_ns()}")
    client = Client()
    # As gunicorn's pre_fork does for its workers (deploy/gunicorn.conf.py): what was
    # imported is left out of the collector's full passes.
    gc.freeze()
    rng = random.Random(args.seed)
    url = f"/db_default/v4/nts/submitRun?token={secret}"
    figures: dict[str, list[float]] = {name: [] for name in FIGURES}
    for i in range(args.warmup + args.requests):
        form = {"input_data": report(args.tests, args.revision + i, rng), "commit": "1"}
        body = urllib.parse.urlencode({**form, "merge": "replace"}).encode()
        backend = backend_cpu_seconds() or 0.0
        cpu, started = time.process_time(), time.perf_counter()
        response = client.post(url, body, content_type="application/x-www-form-urlencoded")
        content = b"".join(response.streaming_content) if response.streaming else response.content
        wall = time.perf_counter() - started
        if response.status_code != 200:
            sys.exit(f"{tree}: submission answered {response.status_code}: {content[:300]!r}")
        if i < args.warmup:
            continue
        answer = json.loads(content)
        figures["wall"].append(wall)
        figures["cpu"].append(time.process_time() - cpu)
        figures["pg"].append((backend_cpu_seconds() or 0.0) - backend)
        for name in FIGURES[3:]:
            figures[name].append(answer[name])
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", action="append", help="a checkout (repeat to compare)")
    parser.add_argument("--tests", type=int, default=1000, help="tests per report")
    parser.add_argument("--requests", type=int, default=10, help="timed submissions a round")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each checkout")
    parser.add_argument("--warmup", type=int, default=2, help="untimed submissions a round")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--revision", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.tree = args.tree[0]
        child(args)
        return
    trees = args.tree or [str(HERE.parent.parent)]
    base_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/lntsite_submitreq"
    )
    results: dict[str, dict[str, list[float]]] = {t: {n: [] for n in FIGURES} for t in trees}
    load = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    per_round = args.warmup + args.requests
    for round_ in range(args.rounds):
        for number, tree in enumerate(trees, 1):
            env = {**os.environ, "BENCH_DATABASE_URL": f"{base_url}_{number}"}
            command = [sys.executable, str(HERE), "--child", "--tree", tree]
            command += ["--tests", str(args.tests), "--requests", str(args.requests)]
            command += ["--warmup", str(args.warmup), "--seed", str(round_)]
            command += ["--revision", str(1 + round_ * per_round)]
            if round_ == 0:
                command.append("--first")
            # This script again, with arguments built here.
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True)  # noqa: S603
            for name, values in json.loads(out.stdout.strip().splitlines()[-1]).items():
                results[tree][name].extend(values)
    print(
        f"{started}-{time.strftime('%H:%M:%S', time.gmtime())} UTC; load average (1 min) "
        f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} cores"
    )
    print(
        f"{args.tests}-test reports, {args.rounds} rounds x {args.requests} submissions "
        "a checkout, medians in ms:"
    )
    print(f"{'checkout':40} " + " ".join(f"{n:>11}" for n in FIGURES))
    for tree, figures in results.items():
        cells = " ".join(f"{statistics.median(v) * 1000:11.1f}" for v in figures.values())
        print(f"{tree[-40:]:40} {cells}")


if __name__ == "__main__":
    main()
