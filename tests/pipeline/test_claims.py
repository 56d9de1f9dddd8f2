"""Claims under real races (PostgreSQL): two sweeps never publish one run twice, and
two workers never deliver one notification twice.

``transactional_db`` because each thread commits on its own connection: the point
is what the row locks (SKIP LOCKED) and unique constraints do when transactions race.
"""

from __future__ import annotations

import http.server
import threading

import pytest
from django.db import connection

from perf.models import NotificationDelivery
from perf.services.detection import runs_enqueue_pending
from perf.services.notifications import regression_notify, regressions_claim_notification
from tests.factories import make_field_change, make_regression, report_doc, submit_doc
from tests.pipeline.test_concurrency import race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row locks and concurrent writers need PostgreSQL (run with DATABASE_URL)",
    ),
]


def test_four_sweeps_at_once_publish_each_pending_run_exactly_once():
    ids = [submit_doc(report_doc(revision=1000 + i)).run_id for i in range(30)]
    published: list[int] = []
    lock = threading.Lock()

    def publish(run_id: int) -> None:
        with lock:
            published.append(run_id)

    counts = race(lambda: runs_enqueue_pending(enqueue=publish), count=4)
    assert sum(counts) == 30, counts
    assert sorted(published) == ids


def test_two_detections_at_once_hand_a_regression_to_one_notification_task():
    submit_doc(report_doc())
    regression = make_regression([make_field_change()])
    claimed = race(lambda: regressions_claim_notification([regression.id]), count=4)
    assert sorted(map(len, claimed)) == [0, 0, 0, 1], claimed


def test_two_workers_notifying_one_regression_post_the_webhook_once(settings):
    posts: list[bytes] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.PERF_NOTIFY_EMAILS = []
    settings.PERF_NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        submit_doc(report_doc())
        regression = make_regression([make_field_change()])
        results = race(lambda: regression_notify(regression.id), count=3)
    finally:
        server.shutdown()
        server.server_close()
    assert not any(isinstance(r, Exception) for r in results), results
    assert len(posts) == 1
    assert list(NotificationDelivery.objects.values_list("attempt", "outcome")) == [(1, "ok")]
