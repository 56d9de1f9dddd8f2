"""/health: database, broker (bounded wait) and the detection backlog, as JSON."""

from __future__ import annotations

import os
import socket

import pytest
from django.urls import reverse

from perf.models import Run
from perf.services.detection import runs_enqueue
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db


def test_health_reports_the_database_and_the_detection_backlog(client, django_assert_num_queries):
    ids = [submit_doc(report_doc(revision=1000 + i)).run_id for i in range(4)]
    runs_enqueue([ids[0]], enqueue=lambda run_id: None)  # published, not yet run
    Run.objects.filter(id=ids[1]).update(detection_state=Run.FAILED)
    Run.objects.filter(id=ids[2]).update(detection_state=Run.DONE)
    with django_assert_num_queries(2):
        response = client.get(reverse("perf:health"))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["broker"] == "not used (tasks run in-process)"
    backlog = body["detection"]
    assert (backlog["pending"], backlog["queued"], backlog["failed"]) == (1, 1, 1)
    assert 0 <= backlog["oldest_pending_seconds"] < 3600


def test_health_with_nothing_to_detect_has_no_oldest_pending_run(client):
    body = client.get(reverse("perf:health")).json()
    assert body["detection"] == {
        "pending": 0,
        "queued": 0,
        "failed": 0,
        "oldest_pending_seconds": None,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_is_503_when_the_broker_refuses_connections(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = client.get(reverse("perf:health"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert body["broker"].startswith("unreachable: ")
    assert "127.0.0.1" not in body["broker"]  # no addresses or credentials in the answer


def test_health_gives_up_on_a_broker_that_accepts_but_never_answers(client, settings):
    """A frozen broker (the TCP handshake completes, nothing is ever said) costs the
    configured timeout, not a hung request."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.PERF_HEALTH_BROKER_TIMEOUT_SECONDS = 1
    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(8)  # never accepted, never answered
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{frozen.getsockname()[1]}/0"
        response = client.get(reverse("perf:health"))
    assert response.status_code == 503
    assert response.json()["broker"].startswith("unreachable: ")


@pytest.mark.skipif(
    not os.environ.get("PERF_TEST_BROKER_URL"), reason="needs PERF_TEST_BROKER_URL (Redis)"
)
def test_health_is_200_with_a_reachable_broker(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = os.environ["PERF_TEST_BROKER_URL"]
    response = client.get(reverse("perf:health"))
    assert response.status_code == 200, response.json()
    assert response.json()["broker"] == "ok"


def test_health_only_answers_get(client):
    assert client.post(reverse("perf:health")).status_code == 405
