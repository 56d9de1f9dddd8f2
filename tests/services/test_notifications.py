"""Notifications are delivered: each attempt recorded, retried with back-off against a
real SMTP server (aiosmtpd) and a real local HTTP endpoint, never sent twice, given up
after the limit, and never storing a secret."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from perf import tasks
from perf.models import NotificationDelivery, Regression, Run
from perf.services.notifications import (
    notifications_enqueue_overdue,
    regression_notify,
    regressions_claim_notification,
)
from tests.factories import (
    make_field_change,
    make_regression,
    report_doc,
    submit_doc,
    submit_history,
)

pytestmark = pytest.mark.django_db

SECRET = "s3cret-pass"
TOKEN = "tok-abc123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler: answers 451 (try again later) to the first ``refuse``
    messages, then accepts and keeps them."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 mailbox busy, try again later"
        self.messages.append(envelope.content)
        return "250 2.0.0 OK"


@pytest.fixture
def smtp(settings) -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 with Django's SMTP backend pointed at it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.PERF_NOTIFY_EMAILS = ["perf-team@example.com"]
    try:
        yield mailbox
    finally:
        controller.stop()


class Hook:
    """A local HTTP endpoint answering POSTs with the statuses in ``script`` (the last
    one repeats); ``stop()`` closes the port (connection refused), ``start()`` reopens
    it on the same port."""

    def __init__(self, script: list[int]) -> None:
        self.script = list(script)
        self.received: list[dict] = []
        self.auth: list[str | None] = []
        self.port = free_port()
        self.server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.received.append(json.loads(body))
                hook.auth.append(self.headers.get("Authorization"))
                status = hook.script.pop(0) if len(hook.script) > 1 else hook.script[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def hook(settings) -> Iterator[Hook]:
    endpoint = Hook([500, 204])
    endpoint.start()
    # Credentials in the URL, as operators do: they must never be stored.
    settings.PERF_NOTIFY_WEBHOOK_URL = (
        f"http://bot:{SECRET}@127.0.0.1:{endpoint.port}/hook?token={TOKEN}"
    )
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def regression() -> Regression:
    submit_history([1.0, 1.1])
    return make_regression([make_field_change()])


def attempts(regression: Regression) -> list[tuple[str, int, str]]:
    return list(
        NotificationDelivery.objects.filter(regression=regression)
        .order_by("channel", "attempt")
        .values_list("channel", "attempt", "outcome")
    )


def test_failed_deliveries_are_retried_with_back_off_until_they_succeed(
    settings, smtp, hook, regression
):
    settings.PERF_NOTIFY_RETRY_SECONDS = 60
    settings.PERF_NOTIFY_MAX_ATTEMPTS = 5
    smtp.refuse = 1
    t0 = timezone.now()

    first = regression_notify(regression.id, now=t0)
    assert attempts(regression) == [("email", 1, "failed"), ("webhook", 1, "failed")]
    assert first.retry_in == 60  # both wait 60 s after their 1st failure
    regression.refresh_from_db()
    assert not regression.notified and regression.notify_due_at == t0 + timedelta(seconds=60)

    early = regression_notify(regression.id, now=t0 + timedelta(seconds=30))
    assert early.retry_in == 30 and len(attempts(regression)) == 2  # nothing was due

    hook.stop()  # the endpoint is down: connection refused
    second = regression_notify(regression.id, now=t0 + timedelta(seconds=61))
    assert attempts(regression) == [
        ("email", 1, "failed"),
        ("email", 2, "ok"),
        ("webhook", 1, "failed"),
        ("webhook", 2, "failed"),
    ]
    assert second.retry_in == 120  # the webhook's 2nd failure doubles the wait

    hook.start()
    third = regression_notify(regression.id, now=t0 + timedelta(seconds=61 + 120))
    assert third.retry_in is None and third.summary == "delivered: email,webhook"
    assert attempts(regression)[-1] == ("webhook", 3, "ok")
    regression.refresh_from_db()
    assert regression.notified and not regression.notify_failed

    assert len(smtp.messages) == 1  # the e-mail that got through, once
    assert b"Subject: [lntsite] Slower mandel" in smtp.messages[0]
    assert [body["event"] for body in hook.received] == ["regression.created"] * 2
    assert hook.received[-1]["regression"]["id"] == regression.id
    expected = "Basic " + base64.b64encode(f"bot:{SECRET}".encode()).decode()
    assert hook.auth == [expected, expected]  # the URL's user and password, as Basic auth

    errors = dict(
        NotificationDelivery.objects.filter(outcome="failed")
        .values_list("channel", "error")
        .order_by("attempt")
    )
    assert "451" in errors["email"]
    assert "Connection refused" in errors["webhook"]

    again = regression_notify(regression.id, now=t0 + timedelta(days=1))
    assert again.summary == "already notified" and len(attempts(regression)) == 5


def test_no_secret_of_the_webhook_url_is_stored(settings, hook, regression):
    settings.PERF_NOTIFY_EMAILS = []
    hook.stop()
    regression_notify(regression.id)
    [row] = NotificationDelivery.objects.all()
    assert row.target == f"http://127.0.0.1:{hook.port}/hook?***"
    stored = json.dumps(list(NotificationDelivery.objects.values()), default=str)
    assert SECRET not in stored and TOKEN not in stored and "bot:" not in stored


def test_a_channel_is_given_up_after_the_limit_and_shown_as_failed(
    client, settings, hook, regression
):
    settings.PERF_NOTIFY_EMAILS = []
    settings.PERF_NOTIFY_MAX_ATTEMPTS = 3
    settings.PERF_NOTIFY_RETRY_SECONDS = 10
    hook.script = [500]
    now = timezone.now()
    waits = []
    for _ in range(3):
        result = regression_notify(regression.id, now=now)
        waits.append(result.retry_in)
        now += timedelta(hours=1)
    assert waits == [10, 20, None]
    assert attempts(regression) == [("webhook", n, "failed") for n in (1, 2, 3)]
    regression.refresh_from_db()
    assert regression.notify_failed and not regression.notified
    assert regression_notify(regression.id, now=now + timedelta(days=1)).retry_in is None
    assert len(hook.received) == 3  # no 4th attempt
    assert regressions_claim_notification([regression.id]) == []  # no more tasks for it

    page = client.get(reverse("perf:regression-detail", args=["nts", regression.id]))
    assert "webhook: gave up (3 attempts)" in page.content.decode()

    admin = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw")
    client.force_login(admin)
    listing = client.get(
        reverse("admin:perf_notificationdelivery_changelist") + "?outcome__exact=failed"
    ).content.decode()
    assert listing.count("HTTP Error 500") == 3
    delivery = NotificationDelivery.objects.first()
    change = client.get(reverse("admin:perf_notificationdelivery_change", args=[delivery.id]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()


def test_an_attempt_another_worker_is_making_is_not_made_twice(settings, hook, regression):
    settings.PERF_NOTIFY_EMAILS = []
    now = timezone.now()
    NotificationDelivery.objects.create(
        regression=regression, channel="webhook", attempt=1, attempted_at=now
    )  # in flight ("sending") on another worker
    result = regression_notify(regression.id, now=now + timedelta(seconds=5))
    assert hook.received == [] and result.retry_in is not None
    assert attempts(regression) == [("webhook", 1, "sending")]


def test_an_attempt_whose_worker_died_counts_as_failed_and_is_retried(settings, hook, regression):
    settings.PERF_NOTIFY_EMAILS = []
    settings.PERF_NOTIFY_LOST_SECONDS = 900
    hook.script = [204]
    now = timezone.now()
    NotificationDelivery.objects.create(
        regression=regression, channel="webhook", attempt=1, attempted_at=now
    )
    regression_notify(regression.id, now=now + timedelta(seconds=901))
    assert attempts(regression) == [("webhook", 1, "failed"), ("webhook", 2, "ok")]
    assert NotificationDelivery.objects.get(attempt=1).error == "worker lost during delivery"


def test_the_database_refuses_a_second_delivered_row_or_attempt(regression):
    now = timezone.now()
    NotificationDelivery.objects.create(
        regression=regression, channel="email", attempt=1, attempted_at=now, outcome="ok"
    )
    for attempt, outcome in ((2, "ok"), (1, "failed")):
        with pytest.raises(IntegrityError), transaction.atomic():
            NotificationDelivery.objects.create(
                regression=regression,
                channel="email",
                attempt=attempt,
                attempted_at=now,
                outcome=outcome,
            )


def test_a_regression_is_handed_to_one_notification_task_only(regression):
    assert regressions_claim_notification([regression.id]) == [regression.id]
    assert regressions_claim_notification([regression.id]) == []


def test_the_sweep_re_enqueues_a_notification_whose_task_was_lost(settings, regression):
    settings.PERF_NOTIFY_LOST_SECONDS = 900
    t0 = timezone.now()
    regressions_claim_notification([regression.id], now=t0)
    handed: list[int] = []
    assert notifications_enqueue_overdue(enqueue=handed.append, now=t0 + timedelta(seconds=60)) == 0
    later = t0 + timedelta(seconds=901)
    assert notifications_enqueue_overdue(enqueue=handed.append, now=later) == 1
    assert notifications_enqueue_overdue(enqueue=handed.append, now=later) == 0
    assert handed == [regression.id]


def test_the_task_schedules_its_next_run_after_the_back_off(
    settings, monkeypatch, hook, regression
):
    settings.PERF_NOTIFY_EMAILS = []
    settings.PERF_NOTIFY_RETRY_SECONDS = 60
    scheduled: list[tuple[tuple, float]] = []
    monkeypatch.setattr(tasks, "_eager", lambda task: False)  # as with a broker
    monkeypatch.setattr(
        tasks.notify_regression_task,
        "apply_async",
        lambda args, countdown: scheduled.append((args, countdown)),
    )
    tasks.notify_regression_task(regression.id)  # the endpoint answers 500
    assert scheduled == [((regression.id,), pytest.approx(60, abs=1))]


def test_detection_hands_each_new_regression_to_one_notification_task(monkeypatch):
    """However many runs see the regression, one task is published for it."""
    import random

    published: list[tuple[str, tuple]] = []
    monkeypatch.setattr(tasks, "publish", lambda task, *args: published.append((task.name, args)))
    rng = random.Random(1)
    for i, level in enumerate([1.0] * 20 + [1.1] * 5):
        samples = [round(level * rng.gauss(1.0, 0.01), 6) for _ in range(3)]
        doc = report_doc(
            revision=1000 + i, tests={"SingleSource/mandel": {"execution_time": samples}}
        )
        tasks.detect_run_task(submit_doc(doc).run_id)
    [regression_id] = Regression.objects.values_list("id", flat=True)
    assert published == [("perf.tasks.notify_regression_task", (regression_id,))]


def test_without_a_broker_the_sweep_runs_a_retry_once_it_is_due(settings, hook, regression):
    """Eager mode (no broker) cannot hold a delayed task: the periodic sweep runs the
    retry when it is due, not before."""
    settings.PERF_NOTIFY_EMAILS = []
    settings.PERF_NOTIFY_RETRY_SECONDS = 60
    Run.objects.update(detection_state=Run.DONE)  # this sweep has only the notification to do
    regressions_claim_notification([regression.id])
    tasks.notify_regression_task(regression.id)  # 500: retry due in 60 s
    tasks.detect_pending_task()
    assert attempts(regression) == [("webhook", 1, "failed")]  # not due yet
    # A minute passes.
    NotificationDelivery.objects.update(attempted_at=F("attempted_at") - timedelta(seconds=61))
    Regression.objects.update(notify_due_at=F("notify_due_at") - timedelta(seconds=61))
    tasks.detect_pending_task()
    assert attempts(regression) == [("webhook", 1, "failed"), ("webhook", 2, "ok")]
    regression.refresh_from_db()
    assert regression.notified
