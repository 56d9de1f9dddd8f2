"""Submissions side by side (issue 10): LNT's server and lntsite, the same reports,
alternating, over loopback HTTP, each posted the way ``lnt submit`` posts it.

Set-up used for docs/performance.md "Submissions side by side with LNT (h/lntsubmit)"
(LNT outside the project, never committed; both on the machine's PostgreSQL):

    # LNT (llvm/llvm-lnt) in /work/lntclient/venv, 4 gunicorn workers as in issue 10,
    # at the niceness deploy/prod.sh gives lntsite's submit pool (PERF_WRITE_NICE, 10)
    git --git-dir=<llvm-lnt mirror> archive HEAD | tar -x -C /work/lntsrc
    python3 -m venv /work/lntclient/venv
    SETUPTOOLS_SCM_PRETEND_VERSION=0.4.3.dev0 /work/lntclient/venv/bin/pip install \\
        -e /work/lntsrc psycopg2-binary gunicorn
    createdb -h 127.0.0.1 -U postgres lntsite_lntsubmit_lnt
    /work/lntclient/venv/bin/lnt create /tmp/lntsubmit-lnt \\
        --db-dir postgresql://postgres@127.0.0.1:5432 --default-db lntsite_lntsubmit_lnt
    cp /tmp/lntsubmit-lnt/lnt.wsgi /tmp/lntsubmit-lnt/lnt_app.py
    nice -n 10 /work/lntclient/venv/bin/gunicorn -w 4 -b 127.0.0.1:18301 --timeout 120 \\
        --chdir /tmp/lntsubmit-lnt --pid /tmp/lntsubmit-lnt/gunicorn.pid lnt_app:application
    # lntsite in production shape (nginx -> submit pool -> PostgreSQL, Celery on Redis)
    export PERF_VAR_DIR=/tmp/lntsubmit-var STATIC_ROOT=/tmp/lntsubmit-var/static \\
        DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_lntsubmit \\
        CELERY_BROKER_URL=redis://127.0.0.1:6379/5 PERF_HTTP_PORT=18302 PERF_HTTPS_PORT=18303
    deploy/prod.sh start

    nice -n 10 .venv/bin/python bench/submit_vs_lnt.py --rounds 9 \\
        --lnt-pidfile /tmp/lntsubmit-lnt/gunicorn.pid \\
        --lnt-database postgres://postgres@127.0.0.1:5432/lntsite_lntsubmit_lnt
    # and --tests 5000

Each round generates one report (bench/write_speed.py's generator: --tests tests x
execution_time and compile_time x 3 samples, machine ``bench-box``, a new revision
each round, numbered from the clock so that a second run on the same databases still
adds new runs) and posts the identical form to each server in turn (the order swaps
every round): ``input_data``, ``commit=1``, ``select_machine=match``,
``merge=replace``, as LNT's client does (lnt/util/ServerUtil.py), one new connection
a request, lntsite's token in the query string.  LNT's server runs its regression
pass (fieldchange.post_submit_tasks) inside the request, as ``lnt submit`` asks by
default; lntsite answers after the commit and detects in Celery, which the bench waits
for after each lntsite request (so that it neither slows the next request nor lands
in its window) and whose CPU it prints apart.  With --lnt-ignore-regressions a third
target is LNT given ``ignore_regressions=1``: its storage path alone.

Prints for each target the median and 90th percentile of the request's wall time; the
median of the ``total_time`` the server reports in its answer, and of its parts
(``load_time``, ``import_time``, ``report_time``: both servers report them); the
median CPU per request of the server: its web processes (LNT's gunicorn tree from
the pid file; lntsite's submit pool and nginx from deploy/prod.sh's pid files) and
the PostgreSQL backends connected to its database (this host's /proc, sampled every
5 ms: LNT's server opens and closes a connection a request); the ratios LNT/lntsite;
the bare COPY of bench/write_speed.py (the same runs' ``perf_point`` rows COPYed
again into temporary tables with no index, key or WAL) and a bare COPY of the values
themselves (one row per sample value), lntsite's median as a multiple of each.  One
warm-up round is dropped.  Loopback only; stops after --rounds rounds (--timeout per
request).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import (  # noqa: E402 - bench/ is not a package
    make_token,
    pg_connect,
    postmaster_pid,
    stack_cpu,
    stack_database_url,
    tree_cpu_seconds,
)
from write_speed import METRICS, SAMPLES, report  # noqa: E402

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# The parts of a request both servers time and report in their answer (seconds):
# reading and checking the report, storing it, comparing it with the previous run.
PHASES = ("load_time", "import_time", "report_time")


def lnt_form(report_json: str, *, ignore_regressions: bool = False) -> bytes:
    """The body ``lnt submit`` posts (lnt/util/ServerUtil.py ``submitFileToServer``
    with the command's defaults): urlencoded, ASCII."""
    values = {
        "input_data": report_json,
        "commit": "1",
        "select_machine": "match",
        "merge": "replace",
    }
    if ignore_regressions:
        values["ignore_regressions"] = "True"
    return urllib.parse.urlencode(values).encode("ascii")


def first_revision(now: float) -> int:
    """The first revision of a bench run: 10,000 a second since 2026-01-01, so that
    the next run, even a second later, stores only new runs (a run uses
    ``rounds x 10`` revisions, rounds < 1,000)."""
    return (int(now) - 1_767_225_600) * 10_000


def revision_of(first: int, round_: int, target: int) -> int:
    """Each target stores its own revision each round: LNT's two variants share a
    database and must not merge (``merge=replace``) into one run."""
    return first + round_ * 10 + target


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


@dataclass
class Target:
    label: str
    url: str
    pidfile: Path | None
    database_url: str
    ignore_regressions: bool = False
    wall_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    run_ids: list[int] = field(default_factory=list)
    phases_ms: dict[str, list[float]] = field(default_factory=dict)
    app_ms: list[float] = field(default_factory=list)
    pg_ms: list[float] = field(default_factory=list)


def post(url: str, body: bytes, timeout: float) -> tuple[float, int, dict[str, Any]]:
    """Wall ms, HTTP status and JSON answer of one submission, on a new connection."""
    parsed = urllib.parse.urlsplit(url)
    path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=timeout)
    try:
        conn.request(
            "POST",
            path,
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        )
        response = conn.getresponse()
        content = response.read()
    finally:
        conn.close()
    elapsed = (time.perf_counter() - started) * 1000
    try:
        answer = json.loads(content)
    except ValueError:
        answer = {"error": content[:300].decode("utf-8", "replace")}
    return elapsed, response.status, answer


def backends_cpu(postmaster: int, database: str) -> dict[int, float]:
    """CPU seconds used so far by each client backend of the PostgreSQL server
    ``postmaster`` connected to ``database`` (this host's /proc: a backend's command
    line reads ``postgres: <cluster>: <user> <database> <client> <state>``)."""
    try:
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except OSError:
        return {}
    used = {}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in map(int, children):
        try:
            words = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace").split()
            if database not in words[2:4] or "autovacuum" in words:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    return used


class BackendSampler:
    """The CPU a database's backends use between ``start`` and ``stop``, those that
    begin and end in between included: LNT's server opens a connection a request
    and closes it, and a backend that ended takes its CPU time with it (only its
    server, shared with every other database, is credited).  Each backend's CPU is
    read every ``interval`` seconds; what one that ends uses after its last reading
    (at most ``interval`` of work) is missed."""

    def __init__(self, postmaster: int | None, database: str, interval: float = 0.005) -> None:
        self.postmaster, self.database, self.interval = postmaster, database, interval
        self.before: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _read(self) -> dict[int, float]:
        if self.postmaster is None:
            return {}
        return backends_cpu(self.postmaster, self.database)

    def _poll(self) -> None:
        while not self._done.wait(self.interval):
            self.last.update(self._read())

    def start(self) -> BackendSampler:
        self.before = self._read()
        self.last = dict(self.before)
        self._thread.start()
        return self

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        self.last.update(self._read())
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.last.items())


def app_cpu(target: Target) -> float:
    """CPU seconds used so far by the target's web server: LNT's gunicorn tree, or
    lntsite's submit pool and nginx (deploy/prod.sh's pid files)."""
    if target.pidfile is not None:
        return tree_cpu_seconds([int(target.pidfile.read_text().split()[0])])
    used = stack_cpu([])
    return used["submit"] + used["nginx"]


def wait_for_detection(admin: Any, run_id: int, timeout: float) -> None:
    """Until lntsite's Celery worker has run detection for ``run_id``."""
    deadline = time.monotonic() + timeout
    with admin.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT detection_state FROM perf_run WHERE id = %s", [run_id])
            if cursor.fetchone()[0] == "done":
                return
            time.sleep(0.01)
    raise SystemExit(f"lntsite: detection of run {run_id} not done in {timeout:.0f} s")


def database_name(url: str) -> str:
    return urllib.parse.urlsplit(url).path.lstrip("/")


def django_setup(database_url: str) -> None:
    """Django in this process, on lntsite's database, in production settings."""
    os.environ["DATABASE_URL"] = database_url
    for name, value in (("DEBUG", "0"), ("SECRET_KEY", "bench"), ("PERF_DEBUG_TOOLBAR", "0")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()


def profile_submissions(args: argparse.Namespace, database_url: str, token: str) -> None:
    """cProfile of --profile lntsite submissions of this shape in this process, through
    Django's test client and the whole middleware stack (no nginx, no gunicorn), after
    one unprofiled: the functions with the most cumulative time, and the CPU per
    submission of this process and of its PostgreSQL backend.  Detection goes to the
    stack's Celery (CELERY_BROKER_URL must be set, else it would run here)."""
    import cProfile
    import pstats

    if not os.environ.get("CELERY_BROKER_URL"):
        raise SystemExit("--profile needs the stack's CELERY_BROKER_URL")
    os.environ.setdefault("PERF_PLAIN_HTTP_SUBMISSIONS", "1")
    django_setup(database_url)
    from _pg import backend_cpu_seconds
    from django.test import Client

    client = Client()
    path = "/db_default/submitRun?" + urllib.parse.urlencode({"token": token})
    rng = random.Random(2)
    first = first_revision(time.time())
    bodies = [lnt_form(report(args.tests, first + i, rng)) for i in range(args.profile + 1)]
    content_type = "application/x-www-form-urlencoded"
    client.generic("POST", path, bodies.pop(), content_type=content_type)
    profiler = cProfile.Profile()
    backend, cpu = backend_cpu_seconds() or 0.0, time.process_time()
    for body in bodies:
        profiler.enable()
        response = client.generic("POST", path, body, content_type=content_type)
        profiler.disable()
        if response.status_code != 200:
            raise SystemExit(f"lntsite: HTTP {response.status_code}: {response.content[:300]!r}")
    cpu, backend = time.process_time() - cpu, (backend_cpu_seconds() or 0.0) - backend
    print(
        f"{args.profile} submissions of {args.tests} tests in this process: CPU per "
        f"submission {cpu / args.profile * 1000:.0f} ms Python (profiled) + "
        f"{backend / args.profile * 1000:.0f} ms PostgreSQL"
    )
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


def bare_copies(
    database_url: str, run_ids: list[int], values: list[list[Any]]
) -> tuple[float, float]:
    """Seconds per run of a bare COPY (temporary tables: no index, key or WAL) of
    lntsite's ``perf_point`` rows of ``run_ids`` (bench/write_speed.py's floor), and of
    ``values`` as (run, test, metric, sample, value) rows."""
    django_setup(database_url)
    from _pg import bare_copy_seconds
    from django.db import connection

    points = bare_copy_seconds(run_ids) / len(run_ids)
    text = "".join("\t".join(map(str, row)) + "\n" for row in values)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bare_value (run integer, test integer, metric smallint, "
            "sample smallint, value double precision)"
        )
        started = time.perf_counter()
        cursor.cursor.copy_expert("COPY bare_value FROM STDIN", io.StringIO(text))
        plain = time.perf_counter() - started
    return points, plain / len(run_ids)


def value_rows(run: int, report_json: str) -> list[list[Any]]:
    """The sample values of a generated report, one (run, test, metric, sample, value)
    row each (test: its position)."""
    rows = []
    for t, test in enumerate(json.loads(report_json)["tests"]):
        for m, metric in enumerate(METRICS):
            for s, value in enumerate(test[metric]):
                rows.append([run, t, m, s, value])
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=1000, help="tests per report")
    parser.add_argument("--rounds", type=int, default=9, help="timed reports per server")
    parser.add_argument(
        "--lnt-url", default="http://127.0.0.1:18301/db_default/submitRun", help="LNT's submitRun"
    )
    parser.add_argument(
        "--lntsite-url",
        default="http://127.0.0.1:18302/db_default/submitRun",
        help="lntsite's submitRun (deploy/prod.sh's plain-HTTP port)",
    )
    parser.add_argument("--lnt-pidfile", type=Path, help="LNT's gunicorn pid file (its CPU)")
    parser.add_argument("--lnt-database", default="", help="LNT's database URL (its backends' CPU)")
    parser.add_argument("--token", default="", help="lntsite submission token (default: a new one)")
    parser.add_argument(
        "--lnt-ignore-regressions",
        action="store_true",
        help="also time LNT with ignore_regressions=1 (its regression pass skipped)",
    )
    parser.add_argument("--timeout", type=float, default=120, help="seconds per request")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        help="instead: cProfile this many lntsite submissions in this process",
    )
    parser.add_argument("--top", type=int, default=40, help="with --profile: functions shown")
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args()
    if not 1 <= args.rounds < 1000 or args.tests < 1:
        print(
            "--rounds must be 1-999 (revisions, see first_revision), --tests >= 1", file=sys.stderr
        )
        return 2
    database_url = stack_database_url()
    for url in (args.lnt_url, args.lntsite_url, database_url, args.lnt_database or database_url):
        if urllib.parse.urlsplit(url).hostname not in LOOPBACK:
            print(f"not a loopback URL: {url}", file=sys.stderr)
            return 2
    token = args.token or make_token(f"vs-lnt-{int(time.time())}", database_url)
    if args.profile:
        profile_submissions(args, database_url, token)
        return 0
    site_url = args.lntsite_url + "?" + urllib.parse.urlencode({"token": token})
    targets = [Target("LNT", args.lnt_url, args.lnt_pidfile, args.lnt_database)]
    if args.lnt_ignore_regressions:
        targets.append(
            Target(
                "LNT ignore_regressions", args.lnt_url, args.lnt_pidfile, args.lnt_database, True
            )
        )
    site = Target("lntsite", site_url, None, database_url)
    targets.append(site)
    admin = pg_connect(database_url)
    postmaster = postmaster_pid(database_url)
    rng = random.Random(1)
    first = first_revision(time.time())
    values: list[list[Any]] = []
    detection_ms: list[float] = []
    started = time.strftime("%H:%M:%S", time.gmtime())
    load_before = os.getloadavg()[0]
    for round_ in range(args.rounds + 1):  # round 0 is the warm-up
        state = rng.getstate()  # every target gets the same values
        for index in range(len(targets)) if round_ % 2 else reversed(range(len(targets))):
            target = targets[index]
            rng.setstate(state)
            raw = report(args.tests, revision_of(first, round_, index), rng)
            body = lnt_form(raw, ignore_regressions=target.ignore_regressions)
            app, celery = app_cpu(target), stack_cpu([])["celery"]
            backends = BackendSampler(postmaster, database_name(target.database_url)).start()
            wall, status, answer = post(target.url, body, args.timeout)
            pg = backends.stop()
            app = app_cpu(target) - app
            if status != 200 or not answer.get("run_id"):
                print(f"{target.label}: HTTP {status}: {answer.get('error')}", file=sys.stderr)
                return 1
            run_id = int(answer["run_id"])
            if target is site:
                # Detection runs in Celery after the answer: waited for here, so that it
                # neither slows the next request nor lands in its CPU window.  The
                # worker's CPU is counted from before the request (the task may start
                # before the answer is read), its database's from the answer on.
                backends = BackendSampler(postmaster, database_name(database_url)).start()
                wait_for_detection(admin, run_id, args.timeout)
                detection = backends.stop() + stack_cpu([])["celery"] - celery
            if round_:
                target.wall_ms.append(wall)
                target.server_ms.append(float(answer.get("total_time") or "nan") * 1000)
                for phase in PHASES:
                    ms = float(answer.get(phase) or "nan") * 1000
                    target.phases_ms.setdefault(phase, []).append(ms)
                target.app_ms.append(app * 1000)
                target.pg_ms.append(pg * 1000)
                if target is site:
                    site.run_ids.append(run_id)
                    values.extend(value_rows(run_id, raw))
                    detection_ms.append(detection * 1000)
    admin.close()
    points, plain = bare_copies(database_url, site.run_ids, values)

    load = os.getloadavg()
    print(f"{time.strftime('%Y-%m-%d', time.gmtime())} {started}-", end="")
    print(time.strftime("%H:%M:%S UTC", time.gmtime()), end="; ")
    print(f"load average (1 min) {load_before:.1f} at the start, {load[0]:.1f} at the end", end="")
    print(f" ({load[1]:.1f} 5 min, {load[2]:.1f} 15 min) on {os.cpu_count()} cores")
    shape = f"{args.tests} tests x {len(METRICS)} metrics x {SAMPLES} samples"
    print(f"report: {shape}, {args.rounds} rounds")
    print(
        f"{'server':<24}{'median ms':>10}{'p90 ms':>9}{'own ms':>8}"
        f"{'CPU: app':>10}{'+ pg':>7}{'= ms':>7}{'wall/lntsite':>13}{'CPU/lntsite':>12}"
    )
    site_median = statistics.median(site.wall_ms)
    site_cpu = statistics.median(a + p for a, p in zip(site.app_ms, site.pg_ms, strict=True))
    for target in targets:
        median = statistics.median(target.wall_ms)
        cpu = statistics.median(a + p for a, p in zip(target.app_ms, target.pg_ms, strict=True))
        print(
            f"{target.label:<24}{median:>10.1f}{p90(target.wall_ms):>9.1f}"
            f"{statistics.median(target.server_ms):>8.1f}{statistics.median(target.app_ms):>10.0f}"
            f"{statistics.median(target.pg_ms):>7.0f}{cpu:>7.0f}{median / site_median:>12.1f}x"
            f"{cpu / site_cpu:>11.1f}x"
        )
    # LNT's report_time runs from the start of its import to its end (the run report,
    # the commit, the regression pass), its import_time included; lntsite's parts
    # are disjoint (report: the run-over-run results alone).
    print(
        "as the servers time them (median ms; LNT's report includes its import): "
        + "; ".join(
            f"{t.label} "
            + ", ".join(
                f"{phase.removesuffix('_time')} {statistics.median(t.phases_ms[phase]):.0f}"
                for phase in PHASES
            )
            for t in targets
        )
    )
    print(
        "lntsite's detection in Celery, after the answer (worker + database CPU, median): "
        f"{statistics.median(detection_ms):.1f} ms"
    )
    print(
        f"bare COPY per run: perf_point rows {points * 1000:.2f} ms (lntsite median = "
        f"{site_median / (points * 1000):.1f}x), one row per value {plain * 1000:.2f} ms "
        f"({site_median / (plain * 1000):.1f}x)"
    )
    if targets[0].pidfile is None or not args.lnt_database or postmaster is None:
        print("(CPU counts only what --lnt-pidfile, --lnt-database and this host's /proc show)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
