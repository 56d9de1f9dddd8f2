"""Faults on the production stack: what other clients see, and how long recovery takes.

Starts the stack as `make prod` does (deploy/prod.sh: nginx, two gunicorn pools, Celery
worker and beat) on a PostgreSQL cluster and a Redis of its own (tests/pgcluster.py,
redis-server without persistence), so that both can be stopped and frozen; loopback
only, every wait bounded, everything stopped and removed at the end::

    nice -n 10 .venv/bin/python bench/faults.py                  # every fault, 15 s each
    nice -n 10 .venv/bin/python bench/faults.py --faults pg-stop,pg-freeze --seconds 10

For each fault, bench/load.py's submitters and readers run for 3 s, through the fault
(``--seconds``), and 3 s after it; then the script waits (at most 120 s) for every
accepted run to be detected.  It prints, per fault: reads and their p95, 503 answers
(expected while a service is down) and any other 5xx (a bug), submissions accepted,
seconds from the end of the fault until the site answers again and until every
accepted run is detected, and runs lost (accepted, then not stored or never detected)
or duplicated (stored twice).  Exit status 1 on another 5xx, a lost or duplicated
run, or a recovery over 60 s.

Faults: worker-kill (SIGKILL the Celery worker and its children; deploy/supervise.sh
starts it again), broker-stop (Redis killed; restarted empty), broker-freeze (SIGSTOP/SIGCONT),
pg-stop (fast shutdown; started again), pg-freeze (SIGSTOP the postmaster and every
backend), slow-clients (8 clients trickling a submission body at a byte a second),
disconnects (clients that send half a submission and close, through nginx and
straight to the submission pool's gunicorn).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402 - bench/load.py

from tests.pgcluster import Cluster, free_port_in, scratch_dir  # noqa: E402

FAULTS = (
    "worker-kill",
    "broker-stop",
    "broker-freeze",
    "pg-stop",
    "pg-freeze",
    "slow-clients",
    "disconnects",
)
LEAD = 3.0  # seconds of load before and after each fault
RECOVERY_BOUND = 60.0  # the promise
DETECT_WAIT = 120.0  # how long to wait for detection before counting runs lost


class Redis:
    """A redis-server of our own without persistence, on a loopback port."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.args = [
            shutil.which("redis-server") or "redis-server",
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(directory),
        ]  # fmt: skip
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - Debian's redis-server
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait(lambda: _accepts(self.port), 20, "redis-server")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _accepts(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``predicate`` until true; the seconds it took.  SystemExit after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.2)
    raise SystemExit(f"faults: timed out after {timeout}s waiting for {what}")


class ProdStack:
    """deploy/prod.sh start/stop with every setting pointing at our own services."""

    def __init__(self, tmp: Path, database_url: str, broker_url: str, ports: range) -> None:
        self.var = tmp / "var"
        http_port = free_port_in(ports)
        https_port = free_port_in(range(http_port + 1, ports.stop))
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
            "PERF_VAR_DIR": str(self.var),
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "PERF_HTTP_PORT": str(http_port),
            "PERF_HTTPS_PORT": str(https_port),
            "STATIC_ROOT": str(tmp / "static"),
            "PERF_MAX_SUBMISSION_BYTES": str(4 * 1024 * 1024),
            "PY": sys.executable,
        }
        self.http_port, self.https_port = http_port, https_port
        self.script = str(ROOT / "deploy" / "prod.sh")
        started = subprocess.run(  # noqa: S603 - our own script
            [self.script, "start"], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        if started.returncode != 0:
            self.stop()
            raise SystemExit(f"faults: the stack did not start:\n{started.stdout}{started.stderr}")

    def stop(self) -> None:
        subprocess.run(  # noqa: S603 - our own script
            [self.script, "stop"], cwd=ROOT, env=self.env, capture_output=True, timeout=180,
            check=False,
        )  # fmt: skip

    def manage(self, *args: str) -> str:
        env = {**self.env, "DEBUG": "0", "SECRET_KEY": (self.var / "secret_key").read_text()}
        return subprocess.run(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=120, check=True,
        ).stdout  # fmt: skip

    def pid(self, name: str) -> int:
        return int((self.var / "run" / f"{name}.pid").read_text().split()[0])

    def answers(self) -> bool:
        """True when an API read that needs the database is answered 200."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=15)
        try:
            conn.request("GET", "/api/db_default/v4/nts/machines")
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()


class Worker:
    """The stack's Celery worker, kept running by deploy/supervise.sh: the worker-kill
    fault SIGKILLs it with its children, and the supervisor starts it again."""

    def __init__(self, stack: ProdStack) -> None:
        self.stack = stack
        self.killed = 0

    def pid(self) -> int:
        try:
            return self.stack.pid("celery-worker")
        except (OSError, ValueError, IndexError):  # between two starts
            return 0

    def alive(self) -> bool:
        pid = self.pid()
        try:
            stat = Path(f"/proc/{pid}/stat").read_text() if pid else ""
        except OSError:
            return False
        return bool(stat) and stat.rsplit(")", 1)[1].split()[0] != "Z"

    def inject(self) -> None:
        self.killed = self.pid()
        os.killpg(self.killed, signal.SIGKILL)  # its own session: the pool goes too

    def lift(self) -> None:
        wait(
            lambda: self.pid() not in (0, self.killed) and self.alive(),
            60,
            "the supervisor to start the worker again",
        )


class Disconnects:
    """Clients that send half of a submission's body and close, in a loop: through
    nginx (HTTP) and straight to the submission pool's gunicorn socket."""

    def __init__(self, stack: ProdStack, token: str) -> None:
        self.stack = stack
        doc = load.report("gone-mid-upload", 1, 500, __import__("random").Random(0))
        self.body = urllib.parse.urlencode({"input_data": doc}).encode()
        self.path = f"/db_default/v4/nts/submitRun?token={token}"
        self.sent = 0

    def connect(self, direct: bool) -> socket.socket:
        if direct:
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(10)
            sock.connect(str(self.stack.var / "run" / "gunicorn-submit.sock"))
            return sock
        return socket.create_connection(("127.0.0.1", self.stack.http_port), timeout=10)

    def inject(self) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop)
        self.thread.start()

    def loop(self) -> None:
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(self.body)}\r\n\r\n"
        ).encode()
        direct = False
        while not self.stop.wait(0.2):
            direct = not direct
            try:
                with self.connect(direct) as sock:
                    sock.sendall(head + self.body[: len(self.body) // 2])
                    time.sleep(0.1)
                self.sent += 1
            except OSError:
                pass  # refused while busy: a client that could not even connect

    def lift(self) -> None:
        self.stop.set()
        self.thread.join()


class Signal:
    """A fault made of two calls."""

    def __init__(self, inject: Callable[[], None], lift: Callable[[], None]) -> None:
        self.inject, self.lift = inject, lift


def runs_of(database_url: str, machine_prefix: str, *, pending: bool = False) -> int:
    """Runs stored on the machines named ``machine_prefix``...; with ``pending``, only
    those not yet detected."""
    conn = load.pg_connect(database_url)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM perf_run r JOIN perf_machine m ON m.id = r.machine_id "
            "WHERE m.name LIKE %s AND (NOT %s OR r.detection_state <> 'done')",
            [machine_prefix + "%", pending],
        )
        count = int(cursor.fetchone()[0])
    conn.close()
    return count


def phase(
    name: str, fault: Any, stack: ProdStack, args: argparse.Namespace, token: str
) -> dict[str, Any]:
    """Load through one fault; the figures for its line of the table."""
    nonce = f"{name}-{int(time.time())}"
    load_args = load.parse_args(
        [
            "--seconds", str(2 * LEAD + args.seconds), "--submitters", str(args.submitters),
            "--readers", str(args.readers), "--tests", str(args.tests), "--detect-wait", "0",
            "--token", token, "--http-port", str(stack.http_port),
            "--https-port", str(stack.https_port), "--nonce", nonce,
        ]
    )  # fmt: skip
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(load.run(load_args)))
    runner.start()
    time.sleep(LEAD)
    fault.inject()
    time.sleep(args.seconds)
    fault.lift()
    lifted = time.monotonic()
    answers_after = wait(stack.answers, 120, "the site to answer after " + name)
    runner.join()
    figures = result
    accepted = figures["accepted"]
    database_url = stack.env["DATABASE_URL"]
    machine_prefix = f"load-{nonce}-"

    def all_detected() -> bool:
        return runs_of(database_url, machine_prefix, pending=True) == 0

    try:
        wait(all_detected, DETECT_WAIT, "detection")
        detected_after: float | None = time.monotonic() - lifted
        undetected = 0
    except SystemExit:
        detected_after = None
        undetected = accepted
    statuses = figures["statuses"]
    other_5xx = sum(n for s, n in statuses.items() if s >= 500 and s != 503)
    return {
        "fault": name,
        "reads": figures["reads"],
        "read_p95_ms": figures["read_p95_ms"],
        "503": statuses.get(503, 0),
        "other_5xx": other_5xx,
        "accepted": accepted,
        "answers_after_s": round(answers_after, 1),
        "detected_after_s": None if detected_after is None else round(detected_after, 1),
        "lost": figures["missing"] + undetected,
        "duplicated": figures["duplicated"],
        "stored": runs_of(database_url, machine_prefix),
        "examples": figures["server_error_examples"],
        # disconnects: half-sent submissions, and runs stored from them (must be 0)
        "half_sent": getattr(fault, "sent", None),
        "half_stored": runs_of(database_url, "gone-mid-upload"),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--faults", default=",".join(FAULTS), help=f"comma-separated, of: {', '.join(FAULTS)}"
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each fault")
    parser.add_argument("--submitters", type=int, default=2, help="concurrent submitters")
    parser.add_argument("--readers", type=int, default=4, help="concurrent readers")
    parser.add_argument("--tests", type=int, default=100, help="tests per submitted report")
    parser.add_argument(
        "--pg-ports", default="15432-15439", help="ports for the private PostgreSQL (first-last)"
    )
    parser.add_argument(
        "--http-ports", default="8500-8549", help="ports for nginx and Redis (first-last)"
    )
    parser.add_argument(
        "--keep-logs", default="", help="copy the stack's logs to this directory at the end"
    )
    args = parser.parse_args(argv)
    args.faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = sorted(set(args.faults) - set(FAULTS))
    if unknown:
        parser.error(f"unknown faults: {', '.join(unknown)}")
    if not 1 <= args.seconds <= 120:
        parser.error("--seconds must be in [1, 120]")
    return args


def ports(spec: str) -> range:
    first, last = (int(p) for p in spec.split("-"))
    return range(first, last + 1)


def main() -> int:
    args = parse_args()
    # Not under a 0700 directory: nginx's workers run as www-data.
    tmp = Path(tempfile.mkdtemp(prefix="lntsite-faults-"))
    tmp.chmod(0o755)
    http_ports = ports(args.http_ports)
    rows = []
    with Cluster.create(scratch_dir(), free_port_in(ports(args.pg_ports))) as pg:
        redis = Redis(free_port_in(http_ports), tmp)
        database_url = pg.create_database("lntsite_faults")
        os.environ["DATABASE_URL"] = database_url  # bench/load.py's connection sampler
        stack = None
        try:
            stack = ProdStack(tmp, database_url, redis.url, range(redis.port + 1, http_ports.stop))
            slow = load.SlowClients(stack.http_port)
            worker = Worker(stack)
            token = stack.manage("create_token", "faults-bench").strip().splitlines()[-1]
            faults: dict[str, Any] = {
                "worker-kill": worker,
                "broker-stop": Signal(redis.kill, redis.start),
                "broker-freeze": Signal(
                    lambda: redis.signal(signal.SIGSTOP), lambda: redis.signal(signal.SIGCONT)
                ),
                "pg-stop": Signal(lambda: pg.stop("fast"), pg.start),
                "pg-freeze": Signal(pg.freeze, pg.thaw),
                "slow-clients": Signal(slow.start, slow.close),
                "disconnects": Disconnects(stack, token),
            }
            for name in args.faults:
                before = worker.pid()
                row = phase(name, faults[name], stack, args, token)
                # A fault the worker did not survive, other than its own kill: said (the
                # supervisor started it again, or the stack has no worker: a failure).
                row["worker_restarted"] = name != "worker-kill" and worker.pid() != before
                try:
                    wait(worker.alive, 40, "a worker")
                    row["worker_died"] = False
                except SystemExit:
                    row["worker_died"] = True
                rows.append(row)
                print(json.dumps(row), flush=True)  # noqa: T201 - a benchmark's output
        finally:
            if stack is not None:
                stack.stop()
                if args.keep_logs:
                    shutil.copytree(stack.var / "log", args.keep_logs, dirs_exist_ok=True)
            redis.kill()
            shutil.rmtree(tmp, ignore_errors=True)
    columns = [
        "fault", "reads", "read_p95_ms", "503", "other_5xx", "accepted",
        "answers_after_s", "detected_after_s", "lost", "duplicated", "worker_restarted",
        "worker_died",
    ]  # fmt: skip
    print()  # noqa: T201
    print(" | ".join(columns))  # noqa: T201
    for row in rows:
        print(" | ".join(str(row[c]) for c in columns))  # noqa: T201
    bad = [
        r
        for r in rows
        if r["other_5xx"]
        or r["lost"]
        or r["duplicated"]
        or r["half_stored"]
        or r["worker_died"]
        or r["detected_after_s"] is None
        or r["detected_after_s"] > RECOVERY_BOUND
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
