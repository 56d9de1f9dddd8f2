"""Eight identical first submissions of a machine nobody has seen, every policy (PostgreSQL).

Bots that start together submit their first run together.  Each thread posts through
the real submission view on its own connection (``transactional_db``: the point is
what committed, racing transactions do), for every merge x select_machine policy.
"""

import itertools
import json
import threading
import time
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client

from perf.models import Machine, Run
from tests.factories import make_token, report_doc
from tests.pipeline.test_concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and concurrent writers need PostgreSQL (run with DATABASE_URL)",
    ),
]

SUBMITTERS = 8
RUNS_STORED = {"reject": 1, "replace": 1, "append": SUBMITTERS}


@pytest.mark.parametrize("select_machine", ["match", "update", "split"])
@pytest.mark.parametrize("merge", ["reject", "replace", "append"])
def test_eight_identical_first_submissions_of_a_new_machine_get_no_5xx(merge, select_machine):
    token = make_token("racer")
    report = json.dumps(
        report_doc(machine="new-box", tests={f"t{i}": {"execution_time": 1.0} for i in range(1000)})
    )
    body = urlencode({"input_data": report, "merge": merge, "select_machine": select_machine})

    arrivals = itertools.count()
    lock = threading.Lock()

    def submit() -> tuple[int, dict]:
        # Staggered arrivals: some find the machine being created, some find it
        # committed (the mix that deadlocked), not only a perfect stampede.
        with lock:
            turn = next(arrivals)
        time.sleep(0.005 * turn)
        response = Client().post(
            f"/db_default/v4/nts/submitRun?token={token}",
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_ACCEPT="application/json",
        )
        return response.status_code, response.json()

    results = race(submit, SUBMITTERS)

    assert not any(isinstance(r, Exception) for r in results), results
    statuses = sorted(status for status, _ in results)
    assert all(status < 500 for status in statuses), results
    assert Machine.objects.count() == 1
    assert Run.objects.count() == RUNS_STORED[merge]
    if merge == "reject":
        refused = [body for status, body in results if status == 409]
        assert len(refused) == SUBMITTERS - 1, statuses
        assert all("duplicate run" in b["error"] for b in refused), refused
    else:
        assert statuses == [200] * SUBMITTERS, results
