"""PostgreSQL stopped, PostgreSQL frozen, a client gone mid-upload (issue #9).

The site runs as in production -- gunicorn with deploy/gunicorn.conf.py and a real
Celery worker (with the sweep) on Redis -- on a PostgreSQL cluster of the test's own
(tests/pgcluster.py), which the test stops or freezes (SIGSTOP) under it.  While the
database is away every request is answered 503 with Retry-After (JSON on the API),
never 500 and never held past gunicorn's worker timeout; once it is back the same
processes answer again, and the runs whose detection the outage interrupted are
detected within 60 s, once each.

Needs PERF_TEST_BROKER_URL (Redis) and PostgreSQL's server binaries; the test's own
database (Django's, SQLite is fine) is not used.  Ports: PERF_TEST_PG_PORTS
(default 15432-15439) for the cluster, PERF_TEST_HTTP_PORTS ("first-last") for
gunicorn if set, else a free one.  Every wait is bounded.
"""

from __future__ import annotations

import glob
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from tests.factories import report_doc
from tests.pgcluster import Cluster, free_port_in, scratch_dir
from tests.pipeline.processes import Stack, free_port, purge, wait_for

BROKER = os.environ.get("PERF_TEST_BROKER_URL", "")
pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.skipif(
        not BROKER or not glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        reason="needs PERF_TEST_BROKER_URL (Redis) and PostgreSQL's server binaries",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
RECOVERY_SECONDS = 60
OUTAGE_SECONDS = 12  # longer than one sweep period and than a connect timeout
CLIENT_TIMEOUT = 40  # above gunicorn's 30 s worker timeout: a held request gets no answer
UNAVAILABLE = "the database or the task broker is unavailable or too busy; retry later"


def port_range(variable: str, default: str) -> range:
    first, last = (int(p) for p in os.environ.get(variable, default).split("-"))
    return range(first, last + 1)


def sql(url: str, query: str, params: list | None = None) -> list[tuple]:
    conn = psycopg2.connect(url, connect_timeout=3)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        conn.close()


class Site:
    """gunicorn (2 gthread workers) and a Celery worker with the sweep, on ``db_url``."""

    def __init__(self, tmp: Path, db_url: str) -> None:
        self.db_url = db_url
        self.stack = Stack(tmp, BROKER)
        self.stack.env.update(
            {
                "DATABASE_URL": db_url,
                "DEBUG": "0",
                "SECRET_KEY": "database-faults-test-" + "k" * 50,
                "SECURE_SSL_REDIRECT": "0",
                "PERF_PLAIN_HTTP_SUBMISSIONS": "1",
                "PERF_POOL": "web",
                "PERF_WEB_WORKERS": "2",
                "STATIC_ROOT": str(tmp / "static"),  # pages need the manifest (DEBUG=0)
            }
        )
        for sub in ("log", "run"):
            (tmp / sub).mkdir(exist_ok=True)
        self.logs = tmp / "log"
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("collectstatic", "--no-input", "-v", "0")
        self.token = self.manage("create_token", "faults-bot").strip().splitlines()[-1]
        ports = os.environ.get("PERF_TEST_HTTP_PORTS")
        port = free_port_in(port_range("PERF_TEST_HTTP_PORTS", ports)) if ports else free_port()
        self.base = f"http://127.0.0.1:{port}"
        purge(self.stack.env)
        self.stack.start(
            "gunicorn", [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "-b", self.base[7:]]
        )
        wait_for(lambda: self.get("/health")[0] in (200, 503), 60, "gunicorn")

    def manage(self, *args: str) -> str:
        return subprocess.run(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.stack.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout

    def worker(self) -> subprocess.Popen:
        return self.stack.worker()

    def request(self, path: str, data: bytes | None = None) -> tuple[int, dict, bytes]:
        """Status, headers and body of one request; (0, {}, b"") when nothing answered."""
        request = urllib.request.Request(self.base + path, data=data)  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers), exc.read()
        except OSError:
            return 0, {}, b""

    def get(self, path: str) -> tuple[int, dict, bytes]:
        return self.request(path)

    def submit(self, doc: dict) -> tuple[int, dict, bytes]:
        body = urllib.parse.urlencode({"input_data": json.dumps(doc), "merge": "replace"})
        return self.request(f"/db_default/v4/nts/submitRun?token={self.token}", body.encode())

    def server_errors(self) -> list[str]:
        """The 5xx lines of gunicorn's access log other than the 503s meant here."""
        lines = (self.logs / "gunicorn-web-access.log").read_text().splitlines()
        return [line for line in lines if '" 5' in line and '" 503 ' not in line]

    def stop(self) -> None:
        self.stack.stop()


@pytest.fixture
def cluster():
    with Cluster.create(
        scratch_dir(), free_port_in(port_range("PERF_TEST_PG_PORTS", "15432-15439"))
    ) as pg:
        yield pg


@pytest.fixture
def site(tmp_path, cluster):
    s = Site(tmp_path, cluster.create_database("lntsite"))
    try:
        yield s
    finally:
        s.stop()


def submit_history(site: Site, levels: list[float]) -> list[int]:
    run_ids = []
    for i, level in enumerate(levels):
        tests = {
            "bench/regressed": {"execution_time": [level, level * 1.001, level * 0.999]},
            "bench/steady": {"execution_time": [2.0, 2.002, 1.998]},
        }
        status, _, body = site.submit(report_doc(revision=7000 + i, tests=tests))
        assert status == 200, body
        run_ids.append(json.loads(body)["run_id"])
    return run_ids


def detected(site: Site, run_ids: list[int]) -> dict[int, object]:
    """run id -> detected_at of the runs detected so far."""
    rows = sql(
        site.db_url,
        "SELECT id, detected_at FROM perf_run WHERE id = ANY(%s) AND detection_state = 'done'",
        [run_ids],
    )
    return dict(rows)


def hold_detection(site: Site, run_ids: list[int]):
    """Start the worker with detection held mid-task (a lock on the changes table),
    and wait until it has taken the first run; returns the lock's connection."""
    holder = psycopg2.connect(site.db_url, connect_timeout=3)
    with holder.cursor() as cursor:
        cursor.execute("LOCK TABLE perf_fieldchange IN ACCESS EXCLUSIVE MODE")
    site.worker()
    started = "SELECT count(*) FROM perf_run WHERE id = %s AND detection_started_at IS NOT NULL"
    wait_for(lambda: sql(site.db_url, started, [run_ids[0]])[0][0] == 1, 60, "detection to start")
    return holder


def assert_unavailable(site: Site) -> None:
    """Pages, API reads and submissions: 503 with Retry-After; JSON on the API."""
    status, headers, body = site.get("/api/db_default/v4/nts/machines")
    assert status == 503 and headers["Retry-After"] == "10", (status, body)
    assert json.loads(body) == {"success": False, "error": UNAVAILABLE}
    status, headers, body = site.get("/db_default/v4/nts/machines")
    assert status == 503 and headers["Retry-After"] == "10", (status, body)
    assert body.decode() == UNAVAILABLE
    status, headers, body = site.submit(report_doc(revision=9999))
    assert status == 503 and headers["Retry-After"] == "10", (status, body)
    assert json.loads(body)["success"] is False


def assert_detected_once_within_60_s(site: Site, run_ids: list[int], since: float, what: str):
    wait_for(
        lambda: len(detected(site, run_ids)) == len(run_ids),
        RECOVERY_SECONDS - (time.monotonic() - since),
        f"every run to be detected after {what}",
    )
    took = time.monotonic() - since
    print(f"{what}: every run detected {took:.1f} s after the database's return")  # noqa: T201
    first = detected(site, run_ids)
    time.sleep(20)  # two sweep periods: nothing is detected again
    assert detected(site, run_ids) == first
    live = (
        "SELECT t.name, count(*) FROM perf_fieldchange c JOIN perf_test t ON t.id = c.test_id "
        "WHERE NOT c.withdrawn GROUP BY t.name"
    )
    assert dict(sql(site.db_url, live)) == {"bench/regressed": 1}
    # Nothing submitted during the outage was stored.
    assert sql(site.db_url, "SELECT count(*) FROM perf_run")[0][0] == len(run_ids)


def test_a_stopped_database_is_a_503_and_interrupted_detections_finish_once_after_it(site, cluster):
    run_ids = submit_history(site, [1.0] * 12 + [1.2] * 3)
    holder = hold_detection(site, run_ids)
    cluster.stop("fast")  # ends every session: the worker's query fails mid-task
    holder.close()
    stopped = time.monotonic()
    assert_unavailable(site)
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
    cluster.start()
    back = time.monotonic()
    # The same processes answer again: connections are opened per request.
    assert site.get("/api/db_default/v4/nts/machines")[0] == 200
    assert site.get("/db_default/v4/nts/machines")[0] == 200
    assert_detected_once_within_60_s(site, run_ids, back, "PostgreSQL stopped")
    assert site.server_errors() == []


def test_a_frozen_database_is_a_503_within_the_bounded_waits_and_recovers(site, cluster):
    run_ids = submit_history(site, [1.0] * 12 + [1.2] * 3)
    holder = hold_detection(site, run_ids)
    cluster.freeze()  # the worker's session and the lock's hang, new ones get no answer
    frozen = time.monotonic()
    try:
        # Each is answered (by the connect timeout), none is held to the worker timeout.
        assert_unavailable(site)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - frozen)))
    finally:
        cluster.thaw()
    back = time.monotonic()
    holder.rollback()  # the lock held detection; let it go on
    holder.close()
    assert site.get("/api/db_default/v4/nts/machines")[0] == 200
    assert_detected_once_within_60_s(site, run_ids, back, "PostgreSQL frozen")
    assert site.server_errors() == []


def waiting_on_a_lock(site: Site) -> int:
    """How many of the site's sessions wait for a lock (another session holds it)."""
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return sql(site.db_url, query)[0][0]


def test_a_query_running_when_the_database_freezes_is_a_503_before_the_worker_timeout(
    site, cluster
):
    """The server can no longer cancel a statement (its statement timeout) nor answer
    for itself; its kernel still acknowledges and answers keepalives.  The requests'
    round trips are cut at DATABASE_CLIENT_TIMEOUT (12 s by default) instead of
    waiting for gunicorn's 30 s worker timeout, which would kill the worker unanswered
    (status 0 here)."""
    # A real page and a real API read, in flight: each waits on the machines table,
    # which this connection locks, when the server freezes.
    holder = psycopg2.connect(site.db_url, connect_timeout=3)
    with holder.cursor() as cursor:
        cursor.execute("LOCK TABLE perf_machine IN ACCESS EXCLUSIVE MODE")
    answers: dict[str, tuple[int, dict, bytes]] = {}
    paths = {"api": "/api/db_default/v4/nts/machines", "page": "/db_default/v4/nts/machines"}
    readers = [
        threading.Thread(target=lambda k=k, p=p: answers.__setitem__(k, site.get(p)))
        for k, p in paths.items()
    ]
    for reader in readers:
        reader.start()
    wait_for(lambda: waiting_on_a_lock(site) == 2, 30, "both reads to wait on the lock")
    cluster.freeze()
    try:
        for reader in readers:
            reader.join(CLIENT_TIMEOUT)
        answered_while_frozen = dict(answers)
    finally:
        cluster.thaw()
    holder.rollback()
    holder.close()
    status, headers, body = answered_while_frozen["api"]
    assert status == 503 and headers["Retry-After"] == "10", (status, body)
    assert json.loads(body) == {"success": False, "error": UNAVAILABLE}
    status, headers, body = answered_while_frozen["page"]
    assert status == 503 and headers["Retry-After"] == "10", (status, body)
    assert body.decode() == UNAVAILABLE
    # Cut by the client-side bound (not by a statement timeout, nor by the worker timeout).
    errors = (site.logs / "gunicorn-web-error.log").read_text()
    assert errors.count("no answer within the client timeout; connection cut") == 2, errors[-3000:]
    assert "WORKER TIMEOUT" not in errors
    # The same processes answer at once after the thaw.
    assert site.get(paths["api"])[0] == 200
    assert site.get(paths["page"])[0] == 200
    assert site.server_errors() == []


def send_half_and_close(port: int, path: str, body: bytes) -> None:
    """A client that sends the headers and half the body, then goes away."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[: len(body) // 2]
        )
        time.sleep(0.5)


def test_a_client_gone_mid_upload_stores_nothing_and_the_site_answers_on(site):
    doc = report_doc(
        revision=5000, tests={f"bench/t{i}": {"execution_time": [1.0]} for i in range(2000)}
    )
    body = urllib.parse.urlencode({"input_data": json.dumps(doc)}).encode()
    port = int(site.base.rsplit(":", 1)[1])
    for _ in range(5):
        send_half_and_close(port, f"/db_default/v4/nts/submitRun?token={site.token}", body)
    assert site.get("/api/db_default/v4/nts/machines")[0] == 200
    assert sql(site.db_url, "SELECT count(*) FROM perf_run")[0][0] == 0
    # The whole report, sent whole, is stored: the half ones were cut, not refused.
    status, _, answer = site.request(f"/db_default/v4/nts/submitRun?token={site.token}", body)
    assert status == 200, answer
    assert sql(site.db_url, "SELECT count(*) FROM perf_run")[0][0] == 1
    assert site.server_errors() == []
    errors = (site.logs / "gunicorn-web-error.log").read_text()
    assert "Traceback" not in errors, errors[-3000:]
