"""Tell people about new regressions: e-mail (Django's mail backend) and a webhook."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from ..models import Regression

log = logging.getLogger(__name__)


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


def regression_notify(regression_id: int) -> str:
    """Send the notifications of one regression, once (the ``notified`` flag)."""
    claimed = Regression.objects.filter(id=regression_id, notified=False).update(notified=True)
    if not claimed:
        return "already notified"
    regression = Regression.objects.select_related("suite").get(id=regression_id)
    payload = regression_payload(regression, settings.PERF_SITE_URL)
    sent = []
    if settings.PERF_NOTIFY_EMAILS:
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
        )
        sent.append("email")
    if settings.PERF_NOTIFY_WEBHOOK_URL:
        request = urllib.request.Request(  # noqa: S310 - the operator's configured URL
            settings.PERF_NOTIFY_WEBHOOK_URL,
            data=json.dumps({"event": "regression.created", "regression": payload}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()
        sent.append("webhook")
    return ",".join(sent) or "nothing configured"
