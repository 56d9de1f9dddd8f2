"""``GET /metrics``: Prometheus text format (see perf/metrics.py for what is in it).

Who may read it: with PERF_METRICS_TOKEN set, a scraper sending
``Authorization: Bearer <token>``; without it, anyone while DEBUG is on (the
embedded default) and nobody in production (403 naming the setting).  The figures
name routes and counts, never paths, users or tokens, but still describe the site.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from .. import metrics


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.PERF_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return JsonResponse(
                {"error": "metrics need Authorization: Bearer <PERF_METRICS_TOKEN>"}, status=401
            )
    elif not settings.DEBUG:
        return JsonResponse(
            {"error": "set PERF_METRICS_TOKEN to let a scraper read /metrics"}, status=403
        )
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
