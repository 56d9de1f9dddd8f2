"""The embedded default (`make run`) keeps detection off the submission request: the
web process publishes the task on kombu's filesystem broker (``filesystem://``, a file
a message under ``PERF_VAR_DIR/broker``) and a separate `celery worker` detects it.

``transactional_db``: the web server and the worker are other processes and must see
committed rows.  PostgreSQL only (they cannot share the SQLite pass's in-memory
database); the broker is the embedded one, no service.  Every wait is bounded.
"""

from __future__ import annotations

import pytest
from django.db import connection

from perf.models import Run
from tests.factories import make_token, report_doc
from tests.pipeline.processes import Stack, wait_for
from tests.pipeline.test_celery_pipeline import lnt_submit

pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the web server and worker processes need DATABASE_URL (PostgreSQL)",
    ),
]


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path, "filesystem://")
    try:
        yield s
    finally:
        s.stop()


def test_a_submission_is_published_on_the_embedded_broker_and_detected_by_the_worker(stack):
    stack.web()
    token = make_token()
    body = lnt_submit(stack.base, token, report_doc(revision=8100))
    assert body["success"] is True
    run = Run.objects.get(id=body["run_id"])
    # No worker yet: had the request run detection itself, the run would be done.
    assert run.detection_state == Run.PENDING
    assert run.detection_queued_at is not None  # published
    messages = list((stack.tmp / "broker" / "queue").glob("*.msg"))
    assert len(messages) == 1  # the task, waiting on disk

    stack.worker()
    wait_for(
        lambda: Run.objects.filter(id=run.id, detection_state=Run.DONE).exists(),
        60,
        "the worker to detect the run",
    )
    wait_for(
        lambda: not list((stack.tmp / "broker" / "queue").glob("*.msg")),
        30,
        "the message to be consumed",
    )
