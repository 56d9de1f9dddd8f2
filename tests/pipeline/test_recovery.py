"""Detection recovers within 60 s, and only once, after a worker is SIGKILLed mid-task
or the broker goes away and comes back (real Redis, real `celery worker` processes).

``transactional_db``: the worker and web server are other processes and must see
committed rows.  Each test is bounded: every wait has a timeout.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest
from django.db import connection, transaction

from perf.models import FieldChange, Run
from tests.factories import make_token, report_doc
from tests.pipeline.processes import Stack, free_port, kill_group, purge, wait_for
from tests.pipeline.test_celery_pipeline import BROKER, lnt_submit

pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not BROKER or connection.vendor != "postgresql",
        reason="needs PERF_TEST_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL)",
    ),
]

RECOVERY_SECONDS = 60


def submit_history(stack: Stack, token: str, levels: list[float]) -> list[int]:
    run_ids = []
    for i, level in enumerate(levels):
        tests = {
            "bench/regressed": {"execution_time": [level, level * 1.001, level * 0.999]},
            "bench/steady": {"execution_time": [2.0, 2.002, 1.998]},
        }
        body = lnt_submit(stack.base, token, report_doc(revision=7000 + i, tests=tests))
        assert body["success"] is True
        run_ids.append(body["run_id"])
    return run_ids


def all_detected(run_ids: list[int]) -> bool:
    return Run.objects.filter(id__in=run_ids, detection_state=Run.DONE).count() == len(run_ids)


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path, BROKER)
    purge(s.env)
    try:
        yield s
    finally:
        s.stop()


def test_a_run_whose_worker_is_killed_mid_task_is_detected_once_within_60_s(stack):
    stack.web()
    run_ids = submit_history(stack, make_token("bot"), [1.0] * 12 + [1.2] * 3)
    first = run_ids[0]
    # Hold detection mid-task: the worker takes the run's lease, then waits on this lock.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE perf_fieldchange IN ACCESS EXCLUSIVE MODE")
        worker = stack.worker()
        wait_for(
            lambda: Run.objects.filter(id=first, detection_started_at__isnull=False).exists(),
            60,
            "the worker to start detecting the first run",
        )
        kill_group(worker, signal.SIGKILL)  # the worker and its beat, as a dying host
        worker.wait(timeout=10)
        killed = time.monotonic()
    stack.worker()
    wait_for(lambda: all_detected(run_ids), RECOVERY_SECONDS, "a new worker to detect every run")
    took = time.monotonic() - killed
    print(f"worker SIGKILL: every run detected {took:.1f} s after the kill")  # noqa: T201
    detected = dict(Run.objects.filter(id__in=run_ids).values_list("id", "detected_at"))
    assert Run.objects.get(id=first).detection_attempts == 2  # the killed one and the retry
    # Two more sweep periods: nothing is detected again.
    time.sleep(20)
    assert dict(Run.objects.filter(id__in=run_ids).values_list("id", "detected_at")) == detected
    changes = FieldChange.objects.filter(test__name="bench/regressed", withdrawn=False)
    assert changes.count() == 1
    assert FieldChange.objects.filter(test__name="bench/steady", withdrawn=False).count() == 0


@pytest.fixture
def private_redis(tmp_path):
    """A Redis of our own on a free port, without persistence, that the test can stop."""
    port = free_port()
    args = [
        shutil.which("redis-server") or "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    state = {"proc": None}

    def start() -> None:
        state["proc"] = subprocess.Popen(  # noqa: S603 - Debian's redis-server
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for(lambda: _pings(port), 20, "redis-server")

    def kill() -> None:
        state["proc"].kill()
        state["proc"].wait(timeout=10)

    start()
    try:
        yield f"redis://127.0.0.1:{port}/0", start, kill
    finally:
        if state["proc"].poll() is None:
            kill()


@pytest.fixture
def redis_stack(tmp_path, private_redis):
    """The site's processes (started by the test) on the private Redis."""
    url, start_redis, kill_redis = private_redis
    stack = Stack(tmp_path, url)
    try:
        yield stack, start_redis, kill_redis
    finally:
        stack.stop()


def _pings(port: int) -> bool:
    result = subprocess.run(  # noqa: S603
        [shutil.which("redis-cli") or "redis-cli", "-p", str(port), "ping"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() == "PONG"


def test_a_run_submitted_while_the_broker_is_down_is_detected_within_60_s_of_its_return(
    redis_stack,
):
    stack, start_redis, kill_redis = redis_stack
    stack.web()
    stack.worker()
    token = make_token("bot")
    before = submit_history(stack, token, [1.0])
    wait_for(lambda: all_detected(before), 60, "detection with the broker up")
    kill_redis()
    body = lnt_submit(stack.base, token, report_doc(revision=8000))
    assert body["success"] is True  # stored, answered, left for the sweep
    run_id = body["run_id"]
    time.sleep(5)
    start_redis()
    back = time.monotonic()
    wait_for(lambda: all_detected([run_id]), RECOVERY_SECONDS, "detection after the outage")
    took = time.monotonic() - back
    print(f"broker outage: run detected {took:.1f} s after Redis returned")  # noqa: T201
    assert Run.objects.get(id=run_id).detection_attempts == 1


def test_a_queued_run_whose_message_a_restarted_broker_lost_is_detected_within_60_s(
    redis_stack,
):
    stack, start_redis, kill_redis = redis_stack
    stack.web()
    body = lnt_submit(stack.base, make_token("bot"), report_doc(revision=9000))
    run_id = body["run_id"]
    assert Run.objects.filter(id=run_id, detection_queued_at__isnull=False).exists()
    kill_redis()  # no persistence: the published message is gone
    start_redis()
    back = time.monotonic()
    stack.worker()
    wait_for(lambda: all_detected([run_id]), RECOVERY_SECONDS, "the lost run's detection")
    took = time.monotonic() - back
    print(f"lost message: run detected {took:.1f} s after Redis returned")  # noqa: T201
    assert Run.objects.get(id=run_id).detection_attempts == 1
