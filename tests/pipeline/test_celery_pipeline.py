"""End to end through a real broker: HTTP submission -> Redis -> celery worker -> regression.

The test starts the web server and a `celery worker` as real processes on the test
database (hence ``transactional_db``: they must see committed rows), submits runs
over loopback HTTP as `lnt submit` would, and waits (bounded) for detection.
"""

import json
import os
import urllib.parse
import urllib.request

import pytest
from django.db import connection

from perf.models import FieldChange, Regression, Run
from tests.factories import make_token, report_doc
from tests.pipeline.processes import Stack, purge, wait_for

BROKER = os.environ.get("PERF_TEST_BROKER_URL", "")

pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not BROKER or connection.vendor != "postgresql",
        reason="needs PERF_TEST_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL)",
    ),
]


@pytest.fixture
def services(tmp_path):
    stack = Stack(tmp_path, BROKER)
    purge(stack.env)
    try:
        stack.web()
        stack.worker()
        yield stack.base
    finally:
        stack.stop()


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
