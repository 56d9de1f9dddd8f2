"""Big reports: a 90,000-test report submitted to gunicorn with the production settings.

Starts its own submit pool (deploy/gunicorn.conf.py, PERF_POOL=submit: 2 sync workers,
the production timeout) on 127.0.0.1:PORT against a fresh PostgreSQL database
(BENCH_DATABASE_URL, default lntsite_bench), then for each wire format (v2, v1):

- one submission, then two at once (different machines); v2 as ``lnt submit``
  sends it (form field ``input_data``, urlencoded), v1 as the raw body of
  ``POST /api/db_default/v4/nts/runs`` (its 40 MB urlencoded pass the 50 MB limit);
- prints the HTTP status, the client's wall time and the server's ``total_time``,
  each worker's CPU time (steadier than wall time on a shared machine), its peak RSS
  during the submission (VmHWM, reset before it through /proc/<pid>/clear_refs) and
  its RSS afterwards (VmRSS);
- prints the worker's RSS when idle before the first submission, the baseline the
  others are read against.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_bigreport \\
        .venv/bin/python bench/big_report.py                 # 90,000 tests, v2 and v1
    .venv/bin/python bench/big_report.py --tests 20000 --formats v2   # a quick run

``--imports N`` instead times N imports (``report_import``, as ``submitRun`` calls it,
collector paused) in this process, machines ``m0``-``m3`` in turn at new revisions:
each import's wall time, its Python CPU (both threads) and its PostgreSQL backend's
CPU, then the medians for new machines (the first four) and known ones; ``--tree``
runs another checkout's code, for an A/B in the same minutes; ``--jobs`` logs the jobs
of the second thread that writes a big report (``lntsite.db.queue``):

    .venv/bin/python bench/big_report.py --imports 2                  # 90,000 tests
    .venv/bin/python bench/big_report.py --tests 1000 --imports 40
    .venv/bin/python bench/big_report.py --imports 2 --tree ../old    # the code before
    .venv/bin/python bench/big_report.py --imports 2 --jobs

``--stages`` instead runs each step of a v2 submission in this process and prints
its CPU time, its PostgreSQL backend's, and its peak RSS growth (the run-over-run
answer is the ``test_results`` that ``submitRun`` returns for every test and Real
metric, streamed as ``submitRun`` does: compared from the report just stored, and
with the run read back as round 2 did); ``--stages --statements`` adds the import's
costliest statements by their PostgreSQL backend's CPU time; ``--stages
--collector-on`` leaves the cyclic garbage collector on, as before 2026-11-30 16:00.

Loopback only.  Exit status 1 when a submission did not answer 200/301.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import ROOT, bench_database, v2_report  # noqa: E402 - after the path is set

METRICS_PER_TEST = 4  # compile_time, execution_time (3 samples), hash, code_size


def big_report(tests: int, *, machine: str, revision: int, version: int, seed: int = 1) -> bytes:
    """An nts report of ``tests`` tests (about 195 bytes of v2 JSON each)."""
    rng = random.Random(seed)
    rows = []
    for i in range(tests):
        rows.append(
            (
                f"SingleSource/Benchmarks/Group{i % 500:03d}/test_{i:06d}.c",
                round(rng.uniform(0.1, 3), 4),
                [round(rng.uniform(0.1, 3), 5) for _ in range(3)],
                f"{rng.getrandbits(128):032x}",
                rng.randrange(10**4, 10**6),
            )
        )
    if version == 2:
        doc: dict[str, Any] = v2_report(
            machine,
            revision,
            [
                {"name": n, "compile_time": c, "execution_time": e, "hash": h, "code_size": s}
                for n, c, e, h, s in rows
            ],
        )
    else:
        entries = []
        for n, c, e, h, s in rows:
            pairs = ((".compile", [c]), (".exec", e), (".hash", [h]), (".code_size", [s]))
            for suffix, data in pairs:
                entries.append({"Name": f"nts.{n}{suffix}", "Info": {}, "Data": data})
        doc = {
            "Machine": {"Name": machine, "Info": {"hardware": "x86_64", "os": "linux"}},
            "Run": {
                "Start Time": "2026-03-02 01:10:00",
                "End Time": "2026-03-02 01:52:13",
                "Info": {"tag": "nts", "run_order": str(revision), "__report_version__": "1"},
            },
            "Tests": entries,
        }
    return json.dumps(doc).encode()


def _status(pid: int, key: str) -> int:
    """A /proc/<pid>/status figure in MB; -1 when the process is gone (killed)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return -1
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    return -1


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (the machine is shared: wall time is noisy)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


def _workers(master: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{master}/task").iterdir():
        children += [int(p) for p in (task / "children").read_text().split()]
    return sorted(children)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the API's 301 is the answer, not a page to fetch


_OPENER = urllib.request.build_opener(_NoRedirect)


def _submit(port: int, token: str, body: bytes, out: dict[str, Any]) -> None:
    if body.startswith(b'{"format_version"'):  # v2: as `lnt submit` sends it
        data = urllib.parse.urlencode({"input_data": body, "merge": "replace"}).encode()
        url = f"http://127.0.0.1:{port}/db_default/v4/nts/submitRun?token={token}"
    else:  # v1: its form would pass PERF_MAX_SUBMISSION_BYTES; the raw body does not
        data = body
        url = f"http://127.0.0.1:{port}/api/db_default/v4/nts/runs?token={token}&merge=replace"
    request = urllib.request.Request(url, data=data)  # noqa: S310 - http://127.0.0.1
    out["bytes"] = len(data)
    started = time.perf_counter()
    try:
        with _OPENER.open(request, timeout=600) as response:
            out["status"], answer = response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:  # 301 (the API's answer to a stored run) too
        text = error.read()
        try:
            out["status"], answer = error.code, json.loads(text)
        except ValueError:
            out["status"], answer = error.code, {"error": text[:300].decode()}
    except OSError as error:  # the worker was killed: no answer at all
        out["status"], answer = 0, {"error": repr(error)}
    out["wall"] = time.perf_counter() - started
    out["server"] = answer.get("total_time")
    out["error"] = answer.get("error")


def _round(port: int, token: str, bodies: list[bytes], workers: list[int]) -> bool:
    cpu = {}
    for pid in workers:
        _reset_peak(pid)
        cpu[pid] = _cpu_seconds(pid)
    outs: list[dict[str, Any]] = [{} for _ in bodies]
    threads = [
        threading.Thread(target=_submit, args=(port, token, body, out))
        for body, out in zip(bodies, outs, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(1.0)
    ok = True
    for out in outs:
        server = f"{out['server']:.1f} s" if out["server"] is not None else "-"
        print(
            f"    status {out['status']}  body {out['bytes'] / 1e6:.1f} MB  "
            f"wall {out['wall']:.1f} s  server {server}"
            + (f"  error: {out['error']}" if out["error"] else "")
        )
        ok = ok and out["status"] in (200, 301)
    for pid in workers:
        if _status(pid, "VmRSS") < 0:
            print(f"    worker {pid}: gone (killed, e.g. by gunicorn's timeout)")
            continue
        peak, after = _status(pid, "VmHWM"), _status(pid, "VmRSS")
        used = _cpu_seconds(pid) - cpu[pid]
        print(f"    worker {pid}: peak RSS {peak} MB, after {after} MB, CPU {used:.1f} s")
    return ok


def stages(tests: int, *, statements: bool = False, collector_on: bool = False) -> None:
    """CPU time and RSS growth of each step of a submission, in this process; with
    ``statements``, the import's statements too, by their PostgreSQL CPU time."""
    from django.db import connection

    from perf.api.lnt_shapes import submission_body_chunks
    from perf.formats import BUILTIN_SUITES, parse_report, report_digest
    from perf.selectors import lnt
    from perf.services.ingest import report_import

    me = os.getpid()
    with connection.cursor() as cursor:  # this process's PostgreSQL backend (on loopback)
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]

    def step(name: str, run: Any) -> Any:
        _reset_peak(me)
        before, cpu, pg = _status(me, "VmRSS"), time.process_time(), _cpu_seconds(backend)
        result = run()
        print(f"  {name}: {time.process_time() - cpu:.1f} CPU s "
              f"(PostgreSQL {_cpu_seconds(backend) - pg:.1f} s), "
              f"peak RSS +{_status(me, 'VmHWM') - before} MB")
        return result

    try:  # as submitRun: a big report stored and compared with the collector paused
        from perf.api.submit import collector_paused
    except ImportError:  # trees before 2026-11-30 16:00
        collector_paused = contextlib.nullcontext
    if collector_on:  # to see what pausing it saves
        collector_paused = contextlib.nullcontext

    def streamed(run_id: int, *report: Any) -> int:  # the reply as submitRun streams it
        with collector_paused():
            verdicts = getattr(lnt, "submission_verdicts", lnt.iter_submission_results)
            chunks = submission_body_chunks({}, verdicts(run_id, *report))
        return sum(len(chunk) for chunk in chunks)

    spent: dict[str, list[float]] = {}  # statement -> [backend CPU s, count]

    def timed(execute: Any, sql: str, *args: Any) -> Any:
        before = _cpu_seconds(backend)
        try:
            return execute(sql, *args)
        finally:
            entry = spent.setdefault(" ".join(sql.split())[:100], [0.0, 0])
            entry[0] += _cpu_seconds(backend) - before
            entry[1] += 1

    def imported(raw: bytes) -> Any:
        if not statements:
            with collector_paused():
                return report_import(raw, suite="nts")
        spent.clear()
        with connection.execute_wrapper(timed), collector_paused():
            result = report_import(raw, suite="nts")
        for sql, (cpu, count) in sorted(spent.items(), key=lambda kv: -kv[1][0])[:4]:
            print(f"    {cpu:.1f} s PostgreSQL in {count} x {sql}")
        print("    (the rest of the import's PostgreSQL time: the COPY of the points, commit)")
        return result

    for i in range(2):
        raw = big_report(tests, machine="stages", revision=1 + i, version=2, seed=i)
        print(f"v2 report #{i} (machine's {'first' if i == 0 else 'second'} run):")
        report = step("parse", lambda raw=raw: parse_report(raw, BUILTIN_SUITES))
        step("digest (of the parsed report)", lambda report=report: report_digest(report))
        del report
        result = step("import (parse, digest, store)", partial(imported, raw))
        # Smallest first: memory a step frees stays in RSS and would hide the next's.
        if getattr(result, "report", None) is not None:  # not on trees before 2026-11-30 06:00
            step(
                "run-over-run answer, streamed, from the stored report (as submitRun does)",
                partial(streamed, result.run_id, result.report),
            )
        size = step("run-over-run answer, streamed, the run read back as round 2 did",
                    partial(streamed, result.run_id))
        print(f"  (the answer: {size / 1e6:.1f} MB of JSON)")
        del result


def _log_jobs() -> list[tuple[str, float, float, float]]:
    """Log each job of ``lntsite.db.queue.DatabaseQueue`` (trees after 2026-12-01):
    (kind, start, end, the job's own thread CPU s); the list is the log."""
    from lntsite.db.queue import DatabaseQueue

    log: list[tuple[str, float, float, float]] = []
    run = DatabaseQueue._run

    def logged(self: Any, fn: Any, args: Any, kwargs: Any) -> Any:
        started, cpu = time.monotonic(), time.thread_time()
        try:
            return run(self, fn, args, kwargs)
        finally:
            kind = getattr(fn, "__name__", "lookup")  # a partial: a chunk's ids
            log.append((kind, started, time.monotonic(), time.thread_time() - cpu))

    DatabaseQueue._run = logged  # type: ignore[method-assign]
    return log


def imports(tests: int, count: int, *, jobs: bool = False) -> None:
    """``count`` imports of ``tests`` tests in this process (``--imports``)."""
    import statistics

    from django.db import connection

    from perf.api.submit import collector_paused
    from perf.services.ingest import report_import

    log = _log_jobs() if jobs else []

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    walls: dict[str, list[float]] = {"new": [], "known": []}
    for i in range(count):
        raw = big_report(tests, machine=f"m{i % 4}", revision=1 + i, version=2, seed=i)
        log.clear()
        started, cpu, pg = time.monotonic(), time.process_time(), _cpu_seconds(backend)
        with collector_paused():
            report_import(raw, suite="nts")
        wall = time.monotonic() - started
        if log:  # the queue's jobs: from when to when it was busy, and on what
            first, last = min(j[1] for j in log), max(j[2] for j in log)
            kinds: dict[str, list[float]] = {}
            for kind, start, end, job_cpu in log:
                entry = kinds.setdefault(kind, [0, 0.0, 0.0])
                entry[0] += 1
                entry[1] += end - start
                entry[2] += job_cpu
            idle = (last - first) - sum(entry[1] for entry in kinds.values())
            print(f"  queue: busy from {first - started:.2f} to {last - started:.2f} s "
                  f"(idle {idle:.2f} s between jobs); "
                  + "; ".join(f"{n:.0f} x {kind} {seconds:.2f} s (its thread's CPU {c:.2f} s)"
                              for kind, (n, seconds, c) in kinds.items()))
        walls["new" if i < 4 else "known"].append(wall)
        if count <= 10:
            print(f"  import {i} ({'new' if i < 4 else 'known'} machine): wall {wall:.2f} s, "
                  f"Python {time.process_time() - cpu:.2f} CPU s, "
                  f"PostgreSQL {_cpu_seconds(backend) - pg:.2f} CPU s")
        del raw
    for kind, seconds in walls.items():
        if seconds:
            median = statistics.median(seconds) * 1000
            print(f"{tests} tests, {kind} machines: median wall {median:.1f} ms "
                  f"of {len(seconds)} imports")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tests", type=int, default=90_000, help="tests per report")
    parser.add_argument("--formats", default="v2,v1", help="wire formats, comma-separated")
    parser.add_argument("--port", type=int, default=8400, help="gunicorn's loopback port")
    parser.add_argument(
        "--timeout",
        type=int,
        help="gunicorn worker timeout, seconds (default: deploy/gunicorn.conf.py's); a "
        "longer one lets a saturated machine finish, to read its CPU time and memory",
    )
    parser.add_argument(
        "--stages", action="store_true", help="time each step in this process instead"
    )
    parser.add_argument(
        "--imports", type=int, default=0, help="time this many imports in this process instead"
    )
    parser.add_argument(
        "--tree", default=str(ROOT), help="with --imports: the checkout whose code runs"
    )
    parser.add_argument(
        "--jobs",
        action="store_true",
        help="with --imports: when the second thread's jobs ran, and how long each kind took",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="with --stages: the import's four costliest statements by PostgreSQL CPU",
    )
    parser.add_argument(
        "--collector-on",
        action="store_true",
        help="with --stages: leave Python's cyclic garbage collector on during the import "
        "and the answer (submitRun pauses it for a big report)",
    )
    args = parser.parse_args()

    url = bench_database(tree=args.tree)
    if args.imports:
        imports(args.tests, args.imports, jobs=args.jobs)
        return 0
    if args.stages:
        stages(args.tests, statements=args.statements, collector_on=args.collector_on)
        return 0
    from perf.services.tokens import token_create

    _, token = token_create("big-report bench")
    var = Path(tempfile.mkdtemp(prefix="big_report."))
    (var / "run").mkdir()
    (var / "log").mkdir()
    env = {
        **os.environ,
        "PERF_POOL": "submit",
        "PERF_VAR_DIR": str(var),
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PERF_PLAIN_HTTP_SUBMISSIONS": "1",
        "CELERY_BROKER_URL": os.environ.get("PERF_TEST_BROKER_URL", "redis://127.0.0.1:6379/6"),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PERF_DEBUG_TOOLBAR": "0",
    }
    gunicorn = subprocess.Popen(  # noqa: S603 - the venv's gunicorn, fixed arguments
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "deploy/gunicorn.conf.py",
         "--bind", f"127.0.0.1:{args.port}", "--error-logfile", "-",
         *(["--timeout", str(args.timeout)] if args.timeout else [])],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(var / "log" / "stderr", "w"),
        start_new_session=True,
    )
    ok = True
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/health", timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.2)
        workers = _workers(gunicorn.pid)
        timeout = args.timeout or "deploy/gunicorn.conf.py's"
        print(f"gunicorn submit pool: workers {workers}, timeout {timeout}")
        for pid in workers:
            print(f"  worker {pid} idle: RSS {_status(pid, 'VmRSS')} MB")
        revision = 1000
        for fmt in args.formats.split(","):
            version = int(fmt.lstrip("v"))
            bodies = [
                big_report(args.tests, machine=f"big-{fmt}-{i}", revision=revision, version=version)
                for i in range(3)
            ]
            revision += 10
            print(f"{fmt}: {args.tests} tests, {len(bodies[0]) / 1e6:.1f} MB of JSON")
            print("  one submission:")
            ok = _round(args.port, token, bodies[:1], _workers(gunicorn.pid)) and ok
            print("  two at once:")
            ok = _round(args.port, token, bodies[1:], _workers(gunicorn.pid)) and ok
            del bodies
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)
    if not ok:
        print(f"a submission failed; gunicorn's log: {var / 'log' / 'stderr'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
