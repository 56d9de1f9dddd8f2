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

import kombu.exceptions
import redis.exceptions
from django import db
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from .api.common import is_api_path

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


# Raised while the database or the broker is down, unreachable or frozen past a timeout,
# and when a statement outlives DATABASE_STATEMENT_TIMEOUT_MS (QueryCanceled is an
# OperationalError): all are worth retrying later, none is the client's fault.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    db.OperationalError,
    db.InterfaceError,
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# A number in the request the database cannot hold (a 19-digit id, an offset >= 2**63).
_OUT_OF_RANGE: tuple[type[BaseException], ...] = (db.DataError, OverflowError)
RETRY_AFTER_SECONDS = 10


class ServiceErrorMiddleware:
    """Answers what a view could not: 503 + Retry-After while a service is down, 400 for
    numbers out of range, and on API and submission paths every error as LNT's JSON.

    Nothing is retried here: a request that failed on the database wrote nothing that
    was committed (one transaction per submission), so the client may send it again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        api = is_api_path(request.path)
        if isinstance(exc, _UNAVAILABLE):
            log.warning("%s %s: service unavailable: %s", request.method, request.path, exc)
            message = "the database or the task broker is unavailable or too busy; retry later"
            response: HttpResponse = (
                JsonResponse({"success": False, "error": message}, status=503)
                if api
                else HttpResponse(message, status=503, content_type="text/plain")
            )
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if isinstance(exc, _OUT_OF_RANGE):
            log.warning("%s %s: value out of range: %s", request.method, request.path, exc)
            message = "a number in the request is out of range"
            if api:
                return JsonResponse({"success": False, "error": message}, status=400)
            return HttpResponse(message, status=400, content_type="text/plain")
        return None  # Django's handler500 (JSON on API paths) after logging it
