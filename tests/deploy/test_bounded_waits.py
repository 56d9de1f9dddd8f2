"""Every wait is bounded: a frozen broker or database cannot hold a request.

A "frozen" service here is a loopback socket that accepts connections (the kernel
completes the handshake) and never answers: what a SIGSTOPped Redis or PostgreSQL
looks like to a client.  The site runs under gunicorn with deploy/gunicorn.conf.py
(worker timeout 30 s) on a SQLite file of its own, so these tests need no services.
A request held past the worker timeout would get no answer (the worker is killed),
so an answer at all is the check; the client's own timeout only stops a hung test.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.factories import report_doc
from tests.pipeline.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
CLIENT_TIMEOUT = 40  # above gunicorn's 30 s worker timeout: a held request fails


@pytest.fixture
def frozen_port():
    """A listening socket that never accepts nor answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        yield s.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout


def site_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "bounded-waits-test-" + "k" * 50,
            "SECURE_SSL_REDIRECT": "0",
            "PERF_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
            "CELERY_BROKER_URL": "",
            "PERF_DEBUG_TOOLBAR": "0",
        }
    )
    env.update(overrides)
    return env


class Site:
    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        (tmp_path / "log").mkdir(exist_ok=True)
        (tmp_path / "run").mkdir(exist_ok=True)
        self.base = f"http://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(  # noqa: S603 - gunicorn with our config
            [str(GUNICORN), "-c", "deploy/gunicorn.conf.py", "-b", self.base[7:], "-w", "1"],
            cwd=ROOT,
            env={**env, "PERF_POOL": "submit"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", int(self.base.rsplit(":", 1)[1]))):
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("gunicorn did not start")

    def request(self, path: str, data: bytes | None = None) -> tuple[int, dict, dict]:
        request = urllib.request.Request(self.base + path, data=data)  # noqa: S310 - loopback
        try:
            with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:  # noqa: S310
                return response.status, dict(response.headers), json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, dict(exc.headers), json.loads(exc.read())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def submit(site: Site, token: str) -> tuple[int, dict, dict]:
    body = urllib.parse.urlencode({"input_data": json.dumps(report_doc()), "merge": "replace"})
    return site.request(f"/db_default/v4/nts/submitRun?token={token}", body.encode())


def test_a_frozen_broker_cannot_hold_a_submission_the_run_is_answered_as_stored(
    tmp_path, frozen_port
):
    env = site_env(
        tmp_path,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{frozen_port}/0",
        CELERY_TASK_ALWAYS_EAGER="0",
    )
    manage(env, "migrate", "--no-input", "-v", "0")
    token = manage(env, "create_token", "frozen-broker-bot").strip().splitlines()[-1]
    site = Site(tmp_path, env)
    try:
        status, _, body = submit(site, token)
        assert status == 200, body
        assert body["committed"] is True and body["added_runs"] == 1
        run_id = body["run_id"]
        status, _, detection = site.request(f"/api/db_default/v4/nts/runs/{run_id}/detection")
        assert detection["detection_state"] == "pending"  # left for the sweep
        # The client retries (it did not trust the first answer): the same run.
        status, _, again = submit(site, token)
        assert status == 200 and again["run_id"] == run_id and again["already_stored"] is True
    finally:
        site.stop()


def test_a_frozen_database_is_a_json_503_with_retry_after(tmp_path, frozen_port):
    env = site_env(tmp_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{frozen_port}/lntsite")
    site = Site(tmp_path, env)
    try:
        status, headers, body = site.request("/api/db_default/v4/nts/machines")
        assert status == 503 and headers["Retry-After"] == "10"
        assert body == {
            "success": False,
            "error": "the database or the task broker is unavailable or too busy; retry later",
        }
        status, headers, body = submit(site, "lnt_whatever")
        assert status == 503 and body["success"] is False
    finally:
        site.stop()
