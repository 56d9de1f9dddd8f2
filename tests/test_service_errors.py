"""Errors the views do not handle: services down, numbers out of range, crashes.

Under /api/ and on the submission URLs every one is LNT's JSON; a database or broker
that is down is a 503 with Retry-After (the client retries), never an HTML 500.
"""

import json

import kombu.exceptions
import pytest
from django.db import DataError, InterfaceError, OperationalError

from perf.api import submit
from perf.models import Run
from perf.selectors import lnt
from tests.factories import report_doc

pytestmark = pytest.mark.django_db


def down(*args, **kwargs):
    raise OperationalError("could not connect to server: Connection refused")


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("connection timeout expired"),
        InterfaceError("connection already closed"),
        kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379"),
    ],
)
def test_a_submission_while_a_service_is_down_is_a_json_503_with_retry_after(
    client, token, monkeypatch, error
):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(submit, "report_import", fail)
    response = client.post(
        f"/db_default/v4/nts/submitRun?token={token}", {"input_data": json.dumps(report_doc())}
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert response.json() == {
        "success": False,
        "error": "the database or the task broker is unavailable or too busy; retry later",
    }


def test_an_api_read_while_the_database_is_down_is_a_json_503(client, monkeypatch):
    monkeypatch.setattr(lnt, "sample_rows", down)
    response = client.get("/api/db_default/v4/nts/samples?runid=1")
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert response.json()["success"] is False


def test_a_page_while_the_database_is_down_is_a_plain_503(client, monkeypatch):
    monkeypatch.setattr("perf.views.pages.render", down)
    response = client.get("/db_default/v4/nts/")
    assert response.status_code == 503 and response["Retry-After"] == "10"
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("offset", [str(2**63), str(2**62 + 1), "9" * 40])
def test_an_absurd_offset_is_a_400_naming_it(client, offset):
    response = client.get(f"/api/db_default/v4/nts/machines?offset={offset}")
    assert response.status_code == 400
    assert "offset must be at most" in response.json()["error"]


def test_an_offset_at_the_bound_is_an_empty_page(client):
    response = client.get(f"/api/db_default/v4/nts/machines?offset={2**62}")
    assert response.status_code == 200
    assert response.json()["machines"] == []


def test_a_run_id_too_long_to_be_one_is_a_json_400(client):
    response = client.get(f"/api/db_default/v4/nts/samples?runid={2**64}")
    assert response.status_code == 400
    assert "runid=<integer>" in response.json()["error"]


@pytest.mark.parametrize(
    "error", [OverflowError("Python int too large to convert"), DataError("bigint out of range")]
)
def test_a_number_the_database_cannot_hold_is_a_json_400(client, monkeypatch, error):
    def overflow(*args, **kwargs):
        raise error

    monkeypatch.setattr(lnt, "sample_rows", overflow)
    response = client.get("/api/db_default/v4/nts/samples?runid=1")
    assert response.status_code == 400
    assert response.json()["error"] == "a number in the request is out of range"


def test_a_crash_under_the_api_is_a_json_500(client, monkeypatch):
    client.raise_request_exception = False

    def crash(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(lnt, "sample_rows", crash)
    response = client.get("/api/db_default/v4/nts/samples?runid=1")
    assert response.status_code == 500
    assert response.json()["success"] is False


def test_a_committed_run_is_answered_as_stored_when_the_broker_cannot_take_it(
    client, token, monkeypatch, settings, django_capture_on_commit_callbacks
):
    # The broker refuses the detection task after the run committed: the run is
    # answered as stored and stays pending for the sweep.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from perf import tasks

    def refuse(*args, **kwargs):
        raise kombu.exceptions.OperationalError("timed out")

    monkeypatch.setattr(tasks.detect_run_task, "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            f"/db_default/v4/nts/submitRun?token={token}",
            {"input_data": json.dumps(report_doc())},
        )
    assert len(callbacks) == 1  # the enqueue was attempted, and refused
    assert response.status_code == 200 and response.json()["committed"] is True
    assert Run.objects.get(id=response.json()["run_id"]).detection_state == Run.PENDING


def test_a_csrf_refusal_under_the_api_is_json(client):
    client.handler.enforce_csrf_checks = True
    response = client.post("/api/db_default/v4/nts/nosuch")
    assert response.status_code == 403
    assert response.json()["error"].startswith("CSRF check failed")
