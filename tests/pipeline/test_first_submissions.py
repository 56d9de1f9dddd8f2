"""Eight first submissions of a machine nobody has seen at once, every policy (PostgreSQL).

Bots that start together submit their first run together.  Each thread posts through
the real submission view on its own connection (``transactional_db``: the point is
what committed, racing transactions do), for every merge x select_machine policy:
reports with the same machine and order but different samples (the merge policy
decides), and identical reports (a client's retries: one run, every answer 200).
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


def race_first_submissions(token: str, bodies: list[str]) -> list[tuple[int, dict]]:
    """POST each body from its own thread, arrivals staggered by 5 ms: some find the
    machine being created, some find it committed (the mix that deadlocked)."""
    arrivals = itertools.count()
    lock = threading.Lock()

    def submit() -> tuple[int, dict]:
        with lock:
            turn = next(arrivals)
        time.sleep(0.005 * turn)
        response = Client().post(
            f"/db_default/v4/nts/submitRun?token={token}",
            bodies[turn],
            content_type="application/x-www-form-urlencoded",
            HTTP_ACCEPT="application/json",
        )
        return response.status_code, response.json()

    results = race(submit, len(bodies))
    assert not any(isinstance(r, Exception) for r in results), results
    assert all(status < 500 for status, _ in results), results
    return results


def first_report(value: float) -> str:
    tests = {f"t{i}": {"execution_time": value} for i in range(1000)}
    return json.dumps(report_doc(machine="new-box", tests=tests))


@pytest.mark.parametrize("select_machine", ["match", "update", "split"])
@pytest.mark.parametrize("merge", ["reject", "replace", "append"])
def test_eight_first_submissions_of_a_new_machine_get_no_5xx(merge, select_machine):
    token = make_token("racer")
    policy = {"merge": merge, "select_machine": select_machine}
    bodies = [
        urlencode({"input_data": first_report(1.0 + turn / 100), **policy})
        for turn in range(SUBMITTERS)
    ]

    results = race_first_submissions(token, bodies)

    statuses = sorted(status for status, _ in results)
    assert Machine.objects.count() == 1
    assert Run.objects.count() == RUNS_STORED[merge]
    if merge == "reject":
        refused = [body for status, body in results if status == 409]
        assert len(refused) == SUBMITTERS - 1, statuses
        assert all("duplicate run" in b["error"] for b in refused), refused
    else:
        assert statuses == [200] * SUBMITTERS, results


@pytest.mark.parametrize("merge", ["reject", "replace", "append"])
def test_eight_identical_first_submissions_store_one_run_and_answer_it_to_all(merge):
    token = make_token("racer")
    body = urlencode({"input_data": first_report(1.0), "merge": merge})

    results = race_first_submissions(token, [body] * SUBMITTERS)

    assert sorted(status for status, _ in results) == [200] * SUBMITTERS, results
    assert Machine.objects.count() == 1 and Run.objects.count() == 1
    assert {answer["run_id"] for _, answer in results} == {Run.objects.get().id}
    assert sum(bool(answer.get("already_stored")) for _, answer in results) == SUBMITTERS - 1
