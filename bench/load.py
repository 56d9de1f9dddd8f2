"""Load on the production stack: N submitters of 1,000-test reports, M readers, T seconds.

Run against the stack that ``make prod`` started (loopback only), with the same
environment (DATABASE_URL, PERF_HTTP_PORT, ...), e.g.::

    make prod
    nice -n 10 .venv/bin/python bench/load.py                 # 16 / 32 / 60 s
    nice -n 10 .venv/bin/python bench/load.py --seconds 10    # a quick run
    nice -n 10 .venv/bin/python bench/load.py --read-think 2 --submit-think 30  # clients that pause

Submitters post like ``lnt submit`` (form field ``input_data``, token in the query
string, plain HTTP as an internal bot would), each on its own machine, one new
revision per report; a request that fails without an answer is retried with the
identical report (which the server answers with the stored run).  Readers fetch pages
over HTTPS (keep-alive) and API reads over HTTP.  At the end it prints read and
submission p50/p95, the number of 5xx answers, runs accepted vs stored (each exactly
once), how long after the load detection was done for every run, and peak PostgreSQL
connections held by the stack (pg_stat_activity's client backends whose client end is
still open on this host; server_peak_connections also counts server processes still
ending after their client closed) against the bound (README "Scaling out")

    web_nodes x (web_workers x web_threads + submit_workers)
      + celery_workers x celery_concurrency + 1

and, with DATABASE_REPLICA_URL set, peak connections on the replica against
web_nodes x web_workers x web_threads.  Exit status 1 when there was a 5xx, a lost
or duplicated run, or a bound was passed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pg import v2_report  # noqa: E402 - after the path is set (pure: no Django)

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    read_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    client_errors: list[str] = field(default_factory=list)
    accepted: dict[tuple[str, str], int] = field(default_factory=dict)  # -> run_id
    retries: int = 0
    already_stored: int = 0
    run_ids: list[int] = field(default_factory=list)

    def answer(self, status: int, what: str) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status >= 500:
                self.server_errors.append(f"{status} {what}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(machine: str, revision: int, tests: int, rng: random.Random) -> str:
    return json.dumps(
        v2_report(
            machine,
            revision,
            [
                {
                    "name": f"SingleSource/Benchmarks/load/t{i:04d}",
                    "execution_time": [round(1.0 + i / 1000 + rng.gauss(0, 0.01), 5)],
                    "compile_time": round(0.5 + rng.gauss(0, 0.005), 5),
                }
                for i in range(tests)
            ],
        )
    )


def think_seconds(rng: random.Random, mean: float, now: float, deadline: float) -> float:
    """How long a client waits before its next request: exponential with ``mean``
    seconds (requests of many such clients then arrive as a Poisson process, as people
    and nightly bots do), never past the deadline; 0 for a closed loop (``mean`` 0)."""
    if mean <= 0:
        return 0.0
    return max(0.0, min(rng.expovariate(1.0 / mean), deadline - now))


def submitter(
    index: int, args: argparse.Namespace, token: str, deadline: float, tally: Tally
) -> None:
    rng = random.Random(index)
    machine = f"load-{args.nonce}-{index:02d}"
    path = "/db_default/v4/nts/submitRun?" + urllib.parse.urlencode({"token": token})
    revision = 1000
    while time.monotonic() < deadline:
        time.sleep(think_seconds(rng, args.submit_think, time.monotonic(), deadline))
        if time.monotonic() >= deadline:
            break
        revision += 1
        body = urllib.parse.urlencode(
            {"input_data": report(machine, revision, args.tests, rng), "merge": "replace"}
        )
        for attempt in range(4):  # the first try and three retries of the identical report
            started = time.monotonic()
            conn = http.client.HTTPConnection(LOOPBACK, args.http_port, timeout=60)
            try:
                conn.request(
                    "POST",
                    path,
                    body,
                    {"Content-Type": "application/x-www-form-urlencoded"},
                )
                response = conn.getresponse()
                content = response.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                with tally.lock:
                    tally.client_errors.append(f"submit {machine}@{revision}: {exc!r}")
                    tally.retries += 1
                continue
            conn.close()
            elapsed = (time.monotonic() - started) * 1000
            tally.answer(response.status, f"POST submitRun {machine}@{revision}")
            if response.status == 200:
                answer = json.loads(content)
                with tally.lock:
                    tally.submit_ms.append(elapsed)
                    tally.accepted[(machine, str(revision))] = answer["run_id"]
                    tally.run_ids.append(answer["run_id"])
                    tally.already_stored += bool(answer.get("already_stored"))
                break
            if response.status == 503 and attempt < 3:
                with tally.lock:
                    tally.retries += 1
                time.sleep(float(response.getheader("Retry-After") or 1))
                continue
            break


def reader(index: int, args: argparse.Namespace, deadline: float, tally: Tally) -> None:
    rng = random.Random(1000 + index)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # make prod's self-signed certificate, loopback
    pages = http.client.HTTPSConnection(LOOPBACK, args.https_port, timeout=60, context=context)
    api = http.client.HTTPConnection(LOOPBACK, args.http_port, timeout=60)
    while time.monotonic() < deadline:
        time.sleep(think_seconds(rng, args.read_think, time.monotonic(), deadline))
        if time.monotonic() >= deadline:
            break
        with tally.lock:
            run_id = rng.choice(tally.run_ids) if tally.run_ids else None
        choices = [
            (pages, "/db_default/v4/nts/"),
            (pages, "/db_default/v4/nts/machines"),
            (pages, "/db_default/v4/nts/regressions"),
            (api, "/api/db_default/v4/nts/machines"),
            (api, "/api/db_default/v4/nts/fields"),
        ]
        if run_id is not None:
            choices += [
                (pages, f"/db_default/v4/nts/{run_id}"),
                (api, f"/api/db_default/v4/nts/runs/{run_id}/detection"),
            ]
        conn, path = rng.choice(choices)
        started = time.monotonic()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            with tally.lock:
                tally.client_errors.append(f"GET {path}: {exc!r}")
            conn.close()  # reconnects on the next request
            continue
        elapsed = (time.monotonic() - started) * 1000
        tally.answer(response.status, f"GET {path}")
        with tally.lock:
            tally.read_ms.append(elapsed)
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
    pages.close()
    api.close()


class SlowClients:
    """Connections that send a submission's headers, then one body byte a second:
    without a buffering proxy, ``count`` of them hold as many submission workers.
    Used by tests/deploy/test_stack.py and bench/faults.py."""

    def __init__(self, port: int, count: int = 8) -> None:
        self.port, self.count = port, count
        self.stop = threading.Event()
        self.sockets: list[socket.socket] = []
        self.thread = threading.Thread(target=self.trickle)

    def start(self) -> None:
        for _ in range(self.count):
            sock = socket.create_connection((LOOPBACK, self.port), timeout=10)
            sock.sendall(
                b"POST /db_default/v4/nts/submitRun?token=x HTTP/1.1\r\n"
                b"Host: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
            self.sockets.append(sock)
        self.thread.start()

    def trickle(self) -> None:
        while not self.stop.wait(1.0):
            for sock in self.sockets:
                try:
                    sock.sendall(b"x")
                except OSError:
                    pass  # the server gave up on it (nginx's client_body_timeout)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for sock in self.sockets:
            sock.close()


def pg_connect(database_url: str) -> Any:
    import psycopg2

    parsed = urllib.parse.urlparse(database_url)
    if parsed.hostname not in {"127.0.0.1", "localhost", "::1"}:
        sys.exit(f"DATABASE_URL must point at loopback, got {parsed.hostname}")
    conn = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        dbname=parsed.path.lstrip("/"),
        connect_timeout=3,
    )
    conn.autocommit = True
    return conn


def live_client_ports(server_port: int) -> set[int]:
    """The local ports of this host's established TCP connections to ``server_port``
    (/proc/net/tcp and tcp6): the database connections a local client still holds."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, remote, state = line.split()[1:4]
            if state == "01" and int(remote.rsplit(":", 1)[1], 16) == server_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def sample_connections(
    database_url: str,
    stop: threading.Event,
    peak: list[int],
    others: list[int] | None = None,
    server_peak: list[int] | None = None,
) -> None:
    """Peak connections the stack holds to its database, this sampler's own excluded:
    the server's client backends whose client end is still open here (a server
    process whose client has closed lingers in pg_stat_activity while it ends, for
    longer on a loaded machine; ``server_peak`` gets the count with those).  In
    ``others``, connections to the server's other databases: work that shares its CPU.
    While the database is away (bench/faults.py stops it) it tries again."""
    import psycopg2

    server_port = urllib.parse.urlparse(database_url).port or 5432
    conn = None
    while not stop.is_set():
        try:
            conn = conn or pg_connect(database_url)
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT datname = current_database(), client_port FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
                )
                rows = cursor.fetchall()
            live = live_client_ports(server_port)
            ours = [port for is_ours, port in rows if is_ours]
            # A unix-socket client (no port) cannot be told apart: counted as held.
            peak[0] = max(peak[0], sum(1 for port in ours if port is None or port in live))
            if server_peak is not None:
                server_peak[0] = max(server_peak[0], len(ours))
            if others is not None:
                others[0] = max(others[0], len(rows) - len(ours))
        except psycopg2.Error:
            if conn is not None:
                conn.close()
            conn = None
        stop.wait(0.2)
    if conn is not None:
        conn.close()


def stored_runs(database_url: str, nonce: str) -> dict[tuple[str, str], list[int]]:
    conn = pg_connect(database_url)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT m.name, o.key, r.id FROM perf_run r "
            "JOIN perf_machine m ON m.id = r.machine_id JOIN perf_order o ON o.id = r.order_id "
            "WHERE m.name LIKE %s",
            [f"load-{nonce}-%"],
        )
        runs: dict[tuple[str, str], list[int]] = {}
        for name, key, run_id in cursor.fetchall():
            runs.setdefault((name, key), []).append(run_id)
    conn.close()
    return runs


def pending_detections(database_url: str, run_ids: list[int]) -> int:
    if not run_ids:
        return 0
    conn = pg_connect(database_url)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM perf_run WHERE id = ANY(%s) AND detection_state <> 'done'",
            [run_ids],
        )
        count = int(cursor.fetchone()[0])
    conn.close()
    return count


# The stack's processes by pid file under PERF_VAR_DIR/run/ (deploy/prod.sh's names).
COMPONENTS = {
    "nginx": ("nginx",),
    "web": ("gunicorn-web",),
    "submit": ("gunicorn-submit",),
    "celery": ("celery-worker", "celery-beat"),
}


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU seconds (user + system) used so far by ``roots`` and every process under
    them, the exited ones included (their time is in their parent's reaped-children
    counters): a difference of two calls is what the tree used in between."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone while we looked
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    total, todo, seen = 0, [r for r in roots if r in stats], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        # utime, stime, cutime, cstime: fields 14-17 of /proc/PID/stat
        total += sum(int(v) for v in stats[pid][11:15])
        todo.extend(children.get(pid, []))
    return total / tick


def postmaster_pid(database_url: str) -> int | None:
    """The pid of the PostgreSQL server (postmaster) that serves ``database_url``, when
    it runs on this host: the parent of the backend a connection gets.  None when the
    server is elsewhere (its backend's pid is not ours to see)."""
    conn = pg_connect(database_url)
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = int(cursor.fetchone()[0])
    try:
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    finally:
        conn.close()
    return int(fields[1])  # ppid, field 4 of /proc/PID/stat


def stack_cpu(pg_pids: list[int]) -> dict[str, float]:
    """CPU seconds used so far by each component of the stack (postgres: the servers
    whose postmaster pids are given, every database on them: a shared server's other
    databases count too, see ``other_databases_peak_connections``)."""
    run_dir = Path(os.environ.get("PERF_VAR_DIR", ROOT / "var")) / "run"
    used = {}
    for name, prefixes in COMPONENTS.items():
        pids = [
            int(f.read_text().split()[0])
            for f in run_dir.glob("*.pid")
            if f.stem.startswith(prefixes) and f.read_text().strip().isdigit()
        ]
        used[name] = tree_cpu_seconds(pids)
    used["postgres"] = tree_cpu_seconds(pg_pids)
    return used


# deploy/prod.sh's database when DATABASE_URL is not set (the stack's default).
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lntsite_prod"


def stack_database_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def make_token(nonce: str, database_url: str = "") -> str:
    """A submission token in the stack's database (``database_url``, else the one
    deploy/prod.sh uses): manage.py is given it explicitly, since without
    DATABASE_URL in the environment it would write the token to its SQLite default."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url or stack_database_url(),
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench"),
    }
    result = subprocess.run(  # noqa: S603 - our own manage.py, the stack's environment
        [sys.executable, "manage.py", "create_token", f"load-bench-{nonce}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.strip().splitlines()[-1]


def knob(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def connection_bound() -> tuple[int, str]:
    """The most connections the stack can hold on the primary, from deploy/prod.sh's
    settings: one per gunicorn thread and per Celery process (kept between requests,
    PERF_CONN_MAX_AGE), beat none (it only publishes), 1 for a ``manage.py`` command.
    A page read from the replica may also open one on the primary (a 404 retried
    there), so the replica does not lower this bound."""
    nodes = knob("PERF_WEB_NODES", 1)
    web = knob("PERF_WEB_WORKERS", 3)
    threads = knob("PERF_WEB_THREADS", 4)
    submit = knob("PERF_SUBMIT_WORKERS", 2)
    workers = knob("PERF_WORKERS", 1)
    celery = knob("PERF_CELERY_CONCURRENCY", 2)
    bound = nodes * (web * threads + submit) + workers * celery + 1
    return bound, f"{nodes} x ({web} x {threads} + {submit}) + {workers} x {celery} + 1"


def replica_connection_bound() -> tuple[int, str]:
    """The most on the replica: one per page thread (the submit pool, Celery and
    commands never read it)."""
    nodes = knob("PERF_WEB_NODES", 1)
    web = knob("PERF_WEB_WORKERS", 3)
    threads = knob("PERF_WEB_THREADS", 4)
    return nodes * web * threads, f"{nodes} x {web} x {threads}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The load run; returns its figures (also used by tests/deploy/test_stack.py)."""
    database_url = stack_database_url()
    replica_url = os.environ.get("DATABASE_REPLICA_URL", "")
    token = args.token or make_token(args.nonce, database_url)
    tally = Tally()
    stop = threading.Event()
    peak, replica_peak, others_peak, server_peak = [0], [0], [0], [0]
    samplers = [
        threading.Thread(
            target=sample_connections,
            args=(database_url, stop, peak, others_peak, server_peak),
        )
    ]
    if replica_url:
        samplers.append(
            threading.Thread(target=sample_connections, args=(replica_url, stop, replica_peak))
        )
    for sampler in samplers:
        sampler.start()
    # The servers whose CPU counts: those given, else the stack's own when it runs here.
    pg_pids = args.pg_pid or [
        pid for url in (database_url, replica_url) if url and (pid := postmaster_pid(url))
    ]
    cpu_before = stack_cpu(pg_pids)
    deadline = time.monotonic() + args.seconds
    threads = [
        threading.Thread(target=submitter, args=(i, args, token, deadline, tally))
        for i in range(args.submitters)
    ] + [
        threading.Thread(target=reader, args=(i, args, deadline, tally))
        for i in range(args.readers)
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    load_ended = time.monotonic()
    elapsed = load_ended - started
    stop.set()
    for sampler in samplers:
        sampler.join()

    stored = stored_runs(database_url, args.nonce)
    missing = [k for k in tally.accepted if k not in stored]
    duplicated = [k for k, ids in stored.items() if len(ids) > 1]
    unanswered = [k for k in stored if k not in tally.accepted]  # stored, answer lost
    wait_until = load_ended + args.detect_wait
    pending = pending_detections(database_url, list(tally.accepted.values()))
    while pending and time.monotonic() < wait_until:
        time.sleep(0.5)
        pending = pending_detections(database_url, list(tally.accepted.values()))
    detected_after = time.monotonic() - load_ended
    cpu_wall = time.monotonic() - started
    cpu = {k: round(v - cpu_before[k], 1) for k, v in stack_cpu(pg_pids).items()}
    bound, formula = connection_bound()
    replica_figures: dict[str, Any] = {}
    if replica_url:
        replica_bound, replica_formula = replica_connection_bound()
        replica_figures = {
            "replica_peak_connections": replica_peak[0],
            "replica_connection_bound": replica_bound,
            "replica_connection_formula": replica_formula,
        }
    return {
        "seconds": round(elapsed, 1),
        "read_think_s": args.read_think,
        "submit_think_s": args.submit_think,
        "reads": len(tally.read_ms),
        "read_p50_ms": round(percentile(tally.read_ms, 0.50), 1),
        "read_p95_ms": round(percentile(tally.read_ms, 0.95), 1),
        "submissions": len(tally.submit_ms),
        "submit_p50_ms": round(percentile(tally.submit_ms, 0.50), 1),
        "submit_p95_ms": round(percentile(tally.submit_ms, 0.95), 1),
        "statuses": dict(sorted(tally.statuses.items())),
        "server_errors": len(tally.server_errors),
        "server_error_examples": tally.server_errors[:5],
        "client_errors": len(tally.client_errors),
        "client_error_examples": tally.client_errors[:5],
        "retries": tally.retries,
        "already_stored_answers": tally.already_stored,
        "accepted": len(tally.accepted),
        "stored": sum(len(ids) for ids in stored.values()),
        "missing": len(missing),
        "duplicated": len(duplicated),
        "stored_but_unanswered": len(unanswered),
        "detection_pending_after_wait": pending,
        "detect_wait_s": args.detect_wait,
        # seconds from the end of the load until every accepted run was detected
        # (checked every 0.5 s); with runs still pending, the whole wait
        "detection_done_after_s": round(detected_after, 1),
        # CPU seconds each component used from the start of the load until detection
        # was done, and how many of the machine's cores that kept busy on average
        "cpu_seconds": cpu,
        "cpu_cores_busy": round(sum(cpu.values()) / cpu_wall, 2),
        # connections to the PostgreSQL server's other databases at most: when not 0,
        # cpu_seconds["postgres"] counts their work too (a shared server)
        "other_databases_peak_connections": others_peak[0],
        "peak_connections": peak[0],
        # with the server processes still ending after their client closed
        "server_peak_connections": server_peak[0],
        "connection_bound": bound,
        "connection_formula": formula,
        **replica_figures,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submitters", type=int, default=16, help="concurrent submitters")
    parser.add_argument("--readers", type=int, default=32, help="concurrent readers")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load")
    parser.add_argument("--tests", type=int, default=1000, help="tests per report")
    parser.add_argument("--token", default="", help="a submission token (else one is made)")
    parser.add_argument(
        "--read-think",
        type=float,
        default=0.0,
        help="mean seconds a reader waits between reads (exponential; 0: closed loop, "
        "each reader asks again as soon as it is answered)",
    )
    parser.add_argument(
        "--submit-think",
        type=float,
        default=0.0,
        help="mean seconds a submitter waits between reports (exponential; 0: closed loop)",
    )
    parser.add_argument(
        "--detect-wait", type=float, default=60.0, help="seconds to wait for detection after"
    )
    parser.add_argument(
        "--http-port", type=int, default=int(os.environ.get("PERF_HTTP_PORT", "8080"))
    )
    parser.add_argument(
        "--https-port", type=int, default=int(os.environ.get("PERF_HTTPS_PORT", "8443"))
    )
    parser.add_argument(
        "--nonce", default=str(int(time.time())), help="machine names load-<nonce>-NN"
    )
    parser.add_argument(
        "--pg-pid",
        type=int,
        action="append",
        default=[],
        help="postmaster pid of a cluster the stack uses (its CPU is counted); default: "
        "the server of DATABASE_URL (and DATABASE_REPLICA_URL) when it runs on this host",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.seconds > 600:
        parser.error("--seconds must be in (0, 600]")
    if args.read_think < 0 or args.submit_think < 0:
        parser.error("--read-think and --submit-think must be >= 0")
    return args


def main() -> int:
    figures = run(parse_args())
    for key, value in figures.items():
        print(f"{key:28} {value}")
    ok = (
        figures["server_errors"] == 0
        and figures["missing"] == 0
        and figures["duplicated"] == 0
        and figures["peak_connections"] <= figures["connection_bound"]
        and figures.get("replica_peak_connections", 0) <= figures.get("replica_connection_bound", 0)
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
