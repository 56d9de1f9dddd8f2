"""``GET /health``: JSON for monitors and load balancers.  200 when the database answers
and the broker is reachable (or not used: tasks run in-process), else 503."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from ..selectors import health as selectors


@require_GET
@never_cache
def health(request: HttpRequest) -> JsonResponse:
    database = selectors.database_status()
    if settings.CELERY_TASK_ALWAYS_EAGER:
        broker = "not used (tasks run in-process)"
    else:
        broker = selectors.broker_status(
            settings.CELERY_BROKER_URL, timeout=settings.PERF_HEALTH_BROKER_TIMEOUT_SECONDS
        )
    body = {
        "status": "ok",
        "database": database,
        "broker": broker,
        "detection": selectors.detection_backlog() if database == "ok" else None,
    }
    if database != "ok" or broker.startswith("unreachable"):
        body["status"] = "unavailable"
        return JsonResponse(body, status=503)
    return JsonResponse(body)
