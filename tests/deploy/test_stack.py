"""The production stack as `make prod` starts it: nginx, two gunicorn pools, Celery.

deploy/prod.sh starts the real stack on the test database (hence ``transactional_db``:
its processes must see committed rows) with a private var/ directory and free ports;
bench/load.py puts 10 s of load on it (4 submitters, 8 readers) while 8 slow clients
trickle submission bodies at a byte a second (nginx buffers them, so no worker waits;
with `proxy_request_buffering off` no submission gets through and this test fails).
Then requests that carry a token in every way a client sends one go through,
including ones that end in nginx's and Django's error paths, and every log file of
every component is scanned for the token.  PostgreSQL + Redis only (the CI's second
pass).
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.deploy.test_database_faults import send_half_and_close
from tests.factories import make_token
from tests.pipeline import test_celery_pipeline
from tests.pipeline.processes import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
# The pipeline tests' marks: PostgreSQL + Redis, committed rows (transactional_db).
pytestmark = test_celery_pipeline.pytestmark
BROKER = test_celery_pipeline.BROKER

sys.path.insert(0, str(ROOT / "bench"))
import load  # noqa: E402 - bench/load.py, the benchmark this test runs briefly


@pytest.fixture
def stack(monkeypatch):
    # Not pytest's tmp_path: it is private to root (0700), and nginx's workers run as
    # www-data and must reach the sockets and static files.
    tmp_path = Path(tempfile.mkdtemp(prefix="lntsite-stack-"))
    tmp_path.chmod(0o755)
    db = connection.settings_dict
    env = {
        "PERF_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "PERF_HTTP_PORT": str(free_port()),
        "PERF_HTTPS_PORT": str(free_port()),
        "STATIC_ROOT": str(tmp_path / "static"),
        "PERF_MAX_SUBMISSION_BYTES": str(4 * 1024 * 1024),
        "PY": sys.executable,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    script = str(ROOT / "deploy" / "prod.sh")
    started = subprocess.run(  # noqa: S603 - our own script
        [script, "start"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield env
    finally:
        subprocess.run([script, "stop"], cwd=ROOT, timeout=120, check=False)  # noqa: S603
        shutil.rmtree(tmp_path, ignore_errors=True)


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """The status of a POST whose answer is a JSON error (as on every API path)."""
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        with exc:
            assert json.loads(exc.read())["success"] is False
        return exc.code


def show_server_errors(logs: Path) -> None:
    """Print the 5xx lines of the access logs and the tails of the error logs."""
    for path in sorted(logs.glob("*access*.log")):
        lines = [line for line in path.read_text().splitlines() if '" 50' in line]
        print(path.name, *lines[-20:], sep="\n")  # noqa: T201
    for path in sorted(logs.glob("*error*.log")) + sorted(logs.glob("celery-*.log")):
        print(path.name, path.read_text()[-3000:], sep="\n")  # noqa: T201


def niceness(pid_file: Path) -> int:
    """The CPU niceness of the process a pid file names (field 19 of /proc/PID/stat)."""
    pid = pid_file.read_text().split()[0]
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def environment(pid_file: Path) -> dict[str, str]:
    """The environment the process a pid file names was started with."""
    pid = pid_file.read_text().split()[0]
    pairs = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)


def test_the_stack_takes_load_with_no_5xx_stores_each_run_once_and_logs_no_token(stack):
    # The write side yields the CPU to page reads: PERF_WRITE_NICE (10 by default) above
    # the niceness prod.sh was started with (nice(1) adds; this test may run niced).
    run = Path(stack["PERF_VAR_DIR"]) / "run"
    base = os.nice(0)
    assert niceness(run / "gunicorn-web.pid") == base
    assert niceness(run / "gunicorn-submit.pid") == min(base + 10, 19)
    assert niceness(run / "celery-worker.pid") == min(base + 10, 19)
    # Every process keeps its database connection (PERF_CONN_MAX_AGE, 60 s).
    for name in ("gunicorn-web", "gunicorn-submit", "celery-worker"):
        assert environment(run / f"{name}.pid")["DATABASE_CONN_MAX_AGE"] == "60", name
    token = make_token("load-bot")
    slow = load.SlowClients(int(stack["PERF_HTTP_PORT"]))
    slow.start()
    args = load.parse_args(
        [
            "--seconds", "10", "--submitters", "4", "--readers", "8", "--tests", "200",
            "--detect-wait", "60", "--token", token,
            "--http-port", stack["PERF_HTTP_PORT"], "--https-port", stack["PERF_HTTPS_PORT"],
        ]
    )  # fmt: skip
    try:
        figures = load.run(args)
    finally:
        slow.close()
    assert figures["submissions"] > 0 and figures["reads"] > 0, figures
    if figures["server_errors"]:  # shown with the failure: what answered 5xx, and why
        print(figures["server_error_examples"], figures.get("statuses"))  # noqa: T201
        show_server_errors(Path(stack["PERF_VAR_DIR"]) / "log")
    assert figures["server_errors"] == 0, figures["server_error_examples"]
    assert figures["missing"] == 0 and figures["duplicated"] == 0, figures
    assert figures["stored"] == figures["accepted"], figures
    assert figures["detection_pending_after_wait"] == 0, figures
    assert figures["peak_connections"] <= figures["connection_bound"], figures

    # Tokens in the query string, in headers, wrong ones, on error paths.
    base = f"http://127.0.0.1:{stack['PERF_HTTP_PORT']}"
    wrong = "lnt_" + "W" * 43
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    small = urllib.parse.urlencode({"input_data": "{not json"}).encode()
    huge = b"input_data=" + b"x" * (5 * 1024 * 1024)  # over the stack's 4 MB limit
    assert post(f"{base}/submitRun?token={token}", small, form) == 400
    assert post(f"{base}/db_default/v4/nts/submitRun?token={wrong}", small, form) == 401
    assert post(f"{base}/db_default/v4/nts/submitRun?token={token}", huge, form) == 413
    assert post(f"{base}/api/db_default/v4/nts/runs", b"[]", {"AuthToken": token}) == 400
    bearer = {"Authorization": f"Bearer {wrong}"}
    assert post(f"{base}/api/db_default/v4/nts/runs", b"{}", bearer) == 401
    assert post(f"{base}/api/nosuch?token={token}", b"", form) == 403  # CSRF, as JSON

    subprocess.run([str(ROOT / "deploy" / "prod.sh"), "stop"], cwd=ROOT, timeout=120)  # noqa: S603
    logs = sorted((Path(stack["PERF_VAR_DIR"]) / "log").glob("*.log"))
    names = {p.name for p in logs}
    assert {"nginx-access.log", "nginx-error.log", "celery-worker.log"} <= names
    assert {"gunicorn-web-error.log", "gunicorn-submit-access.log"} <= names
    nginx_errors = (Path(stack["PERF_VAR_DIR"]) / "log" / "nginx-error.log").read_text()
    assert "too large body" in nginx_errors  # the 413 was logged, with its request line...
    for path in logs:
        text = path.read_text(errors="replace")
        for secret in (token, token[4:], wrong):
            assert secret not in text, f"a token is in {path.name}"


def test_a_client_gone_mid_upload_through_nginx_reaches_no_worker_and_stores_nothing(stack):
    """nginx reads a whole body before it passes a request on, so a client that goes away
    half-way costs nginx a connection and nothing else: no submission worker sees it,
    nothing is stored, nothing answers 5xx, and the same report sent whole is stored."""
    token = make_token("gone-bot")
    port = int(stack["PERF_HTTP_PORT"])
    logs = Path(stack["PERF_VAR_DIR"]) / "log"
    path = f"/db_default/v4/nts/submitRun?token={token}"
    doc = load.report("gone-mid-upload", 1, 2000, random.Random(0))
    body = urllib.parse.urlencode({"input_data": doc}).encode()
    for _ in range(5):
        send_half_and_close(port, path, body)
    # Every one of them is logged by nginx (400: the client closed before its body was
    # complete), none reached the submission pool.
    def half_sent() -> list[str]:
        return [line for line in access_lines(logs / "nginx-access.log") if "submitRun" in line]

    wait_for(lambda: len(half_sent()) == 5, 30, "nginx to log the five closed connections")
    assert all(" 400 " in line for line in half_sent()), half_sent()
    assert access_lines(logs / "gunicorn-submit-access.log") == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM perf_run")
        assert cursor.fetchone()[0] == 0
    # The site answers on both pools; the whole report is stored once.
    api = f"http://127.0.0.1:{port}/api/db_default/v4/nts/machines"
    with urllib.request.urlopen(api, timeout=30) as response:  # noqa: S310 - loopback
        assert response.status == 200
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        assert response.status == 200 and json.loads(response.read())["success"] is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM perf_run")
        assert cursor.fetchone()[0] == 1
    for name in ("nginx-access.log", "gunicorn-web-access.log", "gunicorn-submit-access.log"):
        assert [line for line in access_lines(logs / name) if '" 5' in line] == []
    errors = (logs / "gunicorn-submit-error.log").read_text()
    assert "Traceback" not in errors, errors[-3000:]


def access_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []
