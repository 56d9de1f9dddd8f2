"""End to end through a real broker: HTTP submission -> Redis -> celery worker -> regression.

The test starts the web server and a `celery worker` as real processes on the test
database (hence ``transactional_db``: they must see committed rows), submits runs
over loopback HTTP as `lnt submit` would, and waits (bounded) for detection.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from perf.models import FieldChange, Regression, Run
from tests.factories import make_token, report_doc

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("PERF_TEST_BROKER_URL", "")

pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not BROKER or connection.vendor != "postgresql",
        reason="needs PERF_TEST_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL)",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def services(tmp_path):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "lntsite.settings",
        "PERF_DEBUG_TOOLBAR": "0",
        "PERF_VAR_DIR": str(tmp_path),
    }
    subprocess.run(  # noqa: S603 - our own celery app; start from an empty queue
        [sys.executable, "-m", "celery", "-A", "lntsite", "purge", "-f"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    port = free_port()
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("web", "worker")}  # noqa: SIM115
    procs = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=logs["web"],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "lntsite",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=logs["worker"],
            stderr=subprocess.STDOUT,
        ),
    ]
    base = f"http://127.0.0.1:{port}"

    def web_up() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/api/db_default/v4/nts/fields", timeout=2):  # noqa: S310
                return True
        except OSError:
            return False

    try:
        wait_for(web_up, 60, "the web server")
        yield base
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in logs.values():
            f.close()
        print((tmp_path / "worker.log").read_text()[-3000:])  # noqa: T201 - shown on failure


def lnt_submit(base: str, token: str, doc: dict) -> dict:
    data = urllib.parse.urlencode(
        {"input_data": json.dumps(doc), "commit": "1", "merge": "replace"}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback test server
        f"{base}/db_default/v4/nts/submitRun?token={token}",
        data=data,
        headers={"Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def test_a_10_percent_regression_flows_through_redis_and_a_worker(services):
    import random

    token = make_token("pipeline")
    rng = random.Random(11)
    run_ids = []
    for i, level in enumerate([1.0] * 20 + [1.1] * 2):
        tests = {
            "bench/regressed": {"execution_time": [level * rng.gauss(1, 0.01) for _ in range(3)]},
            "bench/steady": {"execution_time": [2.0 * rng.gauss(1, 0.01) for _ in range(3)]},
        }
        body = lnt_submit(services, token, report_doc(revision=5000 + i, tests=tests))
        assert body["success"] is True
        run_ids.append(body["run_id"])
    wait_for(
        lambda: (
            Run.objects.filter(id__in=run_ids, detection_state=Run.DONE).count() == len(run_ids)
        ),
        120,
        "the worker to detect every run",
    )
    [change] = FieldChange.objects.filter(withdrawn=False)
    assert change.test.name == "bench/regressed"
    assert change.confirmed and change.is_regression
    [regression] = Regression.objects.all()
    assert regression.title == "Regression of bench/regressed on box-1"
