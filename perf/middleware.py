"""One log line per request: method, path, status, duration, query count and time.

Requests slower than ``PERF_SLOW_REQUEST_MS`` are logged at WARNING so they stand
out.  Queries are counted with a connection execute wrapper, which works with
DEBUG off (unlike ``connection.queries``) and costs two clock reads per query.
The query string is never logged: it may carry a submission token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

log = logging.getLogger("perf.request")


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - start


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        counter = QueryCounter()
        start = time.perf_counter()
        wrappers = [c.execute_wrapper(counter) for c in connections.all()]
        for w in wrappers:
            w.__enter__()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            for w in reversed(wrappers):
                w.__exit__(None, None, None)
            elapsed_ms = (time.perf_counter() - start) * 1000
            slow = elapsed_ms > settings.PERF_SLOW_REQUEST_MS
            log.log(
                logging.WARNING if slow else logging.INFO,
                "%s %s %s %.1fms queries=%d db=%.1fms%s",
                request.method,
                request.path,
                status,
                elapsed_ms,
                counter.count,
                counter.seconds * 1000,
                " SLOW" if slow else "",
            )


class MetricsMiddleware:
    """Request latency for /metrics, labelled by the route's URL name (bounded; the
    path and query string, which may hold a token, are never used)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from .metrics import request_observe

        start = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            match = getattr(request, "resolver_match", None)
            route = (match.view_name if match else "") or "unmatched"
            request_observe(route, request.method or "", status, time.perf_counter() - start)
