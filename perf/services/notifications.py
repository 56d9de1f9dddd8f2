"""Tell people about new regressions: e-mail (Django's mail backend) and a webhook.

Delivery is recorded, retried and never doubled:

* every attempt on a channel is a ``NotificationDelivery`` row, written (``sending``)
  before the message goes out; the unique (regression, channel, attempt) constraint
  lets one worker make each attempt, so two workers never send one channel twice;
* a failed channel is tried again PERF_NOTIFY_RETRY_SECONDS x 2^(attempt - 1) later
  (60 s, 120 s, 240 s, ... by default), at most PERF_NOTIFY_MAX_ATTEMPTS times, then
  given up (``Regression.notify_failed``); a channel that succeeded is never retried;
* ``regression_notify`` says when it wants to run again; the task schedules that, and
  the periodic sweep re-enqueues a notification whose task is long overdue
  (``notifications_enqueue_overdue``: a lost message, or no broker at all).

Credentials never reach the database: the webhook URL is stored without user, password
or query string, and those (and the SMTP password) are masked in error texts.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from ..models import NotificationDelivery, Regression
from .claims import rows_claim

log = logging.getLogger(__name__)

MASK = "***"


def regression_payload(regression: Regression, base_url: str) -> dict[str, Any]:
    changes = list(
        regression.indicators.values(
            "field_change__machine__name",
            "field_change__test__name",
            "field_change__metric__name",
            "field_change__old_value",
            "field_change__new_value",
            "field_change__relative_change",
        )[:50]
    )
    return {
        "id": regression.id,
        "title": regression.title,
        "suite": regression.suite.name,
        "state": regression.get_state_display(),
        "url": base_url.rstrip("/")
        + reverse("perf:regression-detail", args=[regression.suite.name, regression.id]),
        "changes": [
            {
                "machine": c["field_change__machine__name"],
                "test": c["field_change__test__name"],
                "metric": c["field_change__metric__name"],
                "old": c["field_change__old_value"],
                "new": c["field_change__new_value"],
                "relative_change": c["field_change__relative_change"],
            }
            for c in changes
        ],
    }


# --- handing out notification tasks ----------------------------------------------------


def regressions_claim_notification(
    regression_ids: list[int], *, now: datetime | None = None
) -> list[int]:
    """Of these regressions, those whose notification task nobody has enqueued yet,
    now marked as enqueued (``notify_due_at``): each is handed out once, so a
    regression gets one notification task, however many runs see it."""
    if not regression_ids:
        return []
    return rows_claim(
        Regression.objects.filter(
            id__in=regression_ids,
            notified=False,
            notify_failed=False,
            notify_due_at__isnull=True,
        ),
        mark="notify_due_at",
        now=now or timezone.now(),
    )


def notifications_enqueue_overdue(
    *,
    enqueue: Callable[[int], Any],
    grace: float | None = None,
    limit: int = 100,
    now: datetime | None = None,
) -> int:
    """Re-enqueue notifications whose task is ``grace`` seconds overdue (default
    PERF_NOTIFY_LOST_SECONDS: its message was lost; 0 when there is no broker to hold
    a delayed retry).  Returns how many were handed to ``enqueue``."""
    now = now or timezone.now()
    if grace is None:
        grace = settings.PERF_NOTIFY_LOST_SECONDS
    overdue = now - timedelta(seconds=grace)
    claimed = rows_claim(
        Regression.objects.filter(notified=False, notify_failed=False, notify_due_at__lte=overdue),
        mark="notify_due_at",
        now=now,
        limit=limit,
    )
    for handed, regression_id in enumerate(claimed):
        try:
            enqueue(regression_id)
        except Exception:  # broker down: still overdue, the next sweep tries again
            log.warning(
                "could not enqueue notification of regression %s", regression_id, exc_info=True
            )
            return handed
    return len(claimed)


# --- delivering ----------------------------------------------------------------------------


@dataclass
class NotifyResult:
    summary: str
    retry_in: float | None = None  # seconds until the next attempt is due; None: done


def notify_backoff(attempt: int) -> timedelta:
    """Wait after failed attempt number ``attempt`` (1-based): doubles each time."""
    return timedelta(seconds=settings.PERF_NOTIFY_RETRY_SECONDS * 2 ** max(0, attempt - 1))


def regression_notify(regression_id: int, *, now: datetime | None = None) -> NotifyResult:
    """Make the attempts that are due on each configured channel of one regression.

    A channel is due when it has not succeeded, has attempts left, and its back-off
    after the last failed attempt has passed.  Returns what happened and, when a
    channel still waits for a retry, in how many seconds the earliest one is due (also
    stored in ``notify_due_at``).  Idempotent: calling it again early sends nothing.
    """
    now = now or timezone.now()
    regression = Regression.objects.select_related("suite").filter(id=regression_id).first()
    if regression is None:
        return NotifyResult("missing")
    if regression.notified:
        return NotifyResult("already notified")
    channels = _channels()
    if not channels:
        Regression.objects.filter(id=regression_id).update(notified=True, notify_due_at=None)
        return NotifyResult("nothing configured")
    payload = regression_payload(regression, settings.PERF_SITE_URL)
    done: list[str] = []
    waits: list[datetime] = []
    gave_up: list[str] = []
    for channel, (target, send) in channels.items():
        state, due, row = _channel_attempt(regression_id, channel, target, now)
        if row is not None:
            state, due = _deliver(row, send, regression, payload, now)
        if state == "ok":
            done.append(channel)
        elif due is not None:
            waits.append(due)
        else:
            gave_up.append(channel)
    if len(done) == len(channels):
        Regression.objects.filter(id=regression_id).update(notified=True, notify_due_at=None)
        return NotifyResult("delivered: " + ",".join(done))
    if waits:
        due = min(waits)
        Regression.objects.filter(id=regression_id).update(notify_due_at=due)
        return NotifyResult(
            f"delivered: {','.join(done) or '-'}; retrying in {(due - now).total_seconds():.0f}s",
            retry_in=max(0.0, (due - now).total_seconds()),
        )
    Regression.objects.filter(id=regression_id).update(notify_failed=True, notify_due_at=None)
    return NotifyResult(f"gave up on {','.join(gave_up)}")


Sender = Callable[[Regression, dict[str, Any]], None]


def _channels() -> dict[str, tuple[str, Sender]]:
    channels: dict[str, tuple[str, Sender]] = {}
    if settings.PERF_NOTIFY_EMAILS:
        channels[NotificationDelivery.EMAIL] = (
            ", ".join(settings.PERF_NOTIFY_EMAILS)[:512],
            _send_email,
        )
    if settings.PERF_NOTIFY_WEBHOOK_URL:
        channels[NotificationDelivery.WEBHOOK] = (
            redact_url(settings.PERF_NOTIFY_WEBHOOK_URL)[:512],
            _send_webhook,
        )
    return channels


Standing = tuple[str, datetime | None, NotificationDelivery | None]


def _channel_attempt(regression_id: int, channel: str, target: str, now: datetime) -> Standing:
    """Where a channel stands: ok, gave up, wait (until a due time) or ready (with the
    claimed attempt row).  Two queries; three when claiming."""
    if NotificationDelivery.objects.filter(
        regression_id=regression_id, channel=channel, outcome=NotificationDelivery.OK
    ).exists():
        return "ok", None, None
    last = (
        NotificationDelivery.objects.filter(regression_id=regression_id, channel=channel)
        .order_by("-attempt")
        .first()
    )
    lease = timedelta(seconds=settings.PERF_NOTIFY_LOST_SECONDS)
    if last is not None and last.outcome == NotificationDelivery.SENDING:
        if last.attempted_at + lease > now:
            return "wait", last.attempted_at + lease, None  # another worker is sending
        # The worker died mid-send: that attempt failed (it may have been delivered;
        # a delivery cannot be both at-most-once and retried after a crash).
        NotificationDelivery.objects.filter(
            id=last.id, outcome=NotificationDelivery.SENDING
        ).update(
            outcome=NotificationDelivery.FAILED,
            finished_at=now,
            error="worker lost during delivery",
        )
        last.outcome = NotificationDelivery.FAILED
    attempts = last.attempt if last is not None else 0
    if attempts >= settings.PERF_NOTIFY_MAX_ATTEMPTS:
        return "gave up", None, None
    if last is not None:
        due = last.attempted_at + notify_backoff(last.attempt)
        if due > now:
            return "wait", due, None
    try:
        with transaction.atomic():
            row = NotificationDelivery.objects.create(
                regression_id=regression_id,
                channel=channel,
                attempt=attempts + 1,
                attempted_at=now,
                target=target,
            )
    except IntegrityError:  # another worker claimed this attempt first
        return "wait", now + lease, None
    return "ready", None, row


def _deliver(
    row: NotificationDelivery,
    send: Sender,
    regression: Regression,
    payload: dict[str, Any],
    now: datetime,
) -> tuple[str, datetime | None]:
    """Send once and record the outcome on the claimed row: ("ok", None), ("wait",
    when the next attempt is due) or ("gave up", None)."""
    try:
        send(regression, payload)
    except Exception as exc:  # SMTP, HTTP and socket errors alike: recorded, retried
        log.warning("notification %s failed: %s", row, redact_text(f"{type(exc).__name__}: {exc}"))
        NotificationDelivery.objects.filter(id=row.id).update(
            outcome=NotificationDelivery.FAILED,
            finished_at=timezone.now(),
            error=redact_text(f"{type(exc).__name__}: {exc}")[:2000],
        )
        if row.attempt >= settings.PERF_NOTIFY_MAX_ATTEMPTS:
            return "gave up", None
        return "wait", now + notify_backoff(row.attempt)
    NotificationDelivery.objects.filter(id=row.id).update(
        outcome=NotificationDelivery.OK, finished_at=timezone.now()
    )
    return "ok", None


def _send_email(regression: Regression, payload: dict[str, Any]) -> None:
    lines = [payload["url"], ""] + [
        f"{c['machine']}  {c['test']}  {c['metric']}: {c['old']:.4g} -> {c['new']:.4g} "
        f"({c['relative_change']:+.1%})"
        for c in payload["changes"]
    ]
    send_mail(
        subject=f"[lntsite] {regression.title}",
        message="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=settings.PERF_NOTIFY_EMAILS,
        fail_silently=False,
    )


def _send_webhook(regression: Regression, payload: dict[str, Any]) -> None:
    """POST the payload as JSON; ``user:password@`` in the URL becomes Basic auth
    (urllib would take it for part of the host name).  Any non-2xx status raises."""
    parts = urlsplit(settings.PERF_NOTIFY_WEBHOOK_URL)
    headers = {"Content-Type": "application/json"}
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        parts = parts._replace(netloc=netloc)
    request = urllib.request.Request(  # noqa: S310 - the operator's configured URL
        urlunsplit(parts),
        data=json.dumps({"event": "regression.created", "regression": payload}).encode(),
        headers=headers,
        method="POST",
    )
    timeout = settings.PERF_NOTIFY_TIMEOUT_SECONDS
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        response.read()


# --- keeping secrets out of the database -----------------------------------------------------


def redact_url(url: str) -> str:
    """``url`` without user, password, query string or fragment (where tokens live)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "?" + MASK if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, "", "")) + query


def redact_text(text: str) -> str:
    """Mask the webhook URL's secrets and the SMTP password wherever they appear."""
    secrets: list[str] = []
    url = settings.PERF_NOTIFY_WEBHOOK_URL
    if url:
        parts = urlsplit(url)
        secrets += [url, parts.query, parts.password or "", parts.username or ""]
    secrets.append(settings.EMAIL_HOST_PASSWORD)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, redact_url(secret) if secret == url else MASK)
    return text
