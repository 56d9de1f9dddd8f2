"""Helpers shared by the JSON endpoints: errors, tokens, database names, paging."""

from __future__ import annotations

import codecs
import urllib.parse
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from ..models import SubmissionToken
from ..services.tokens import token_authenticate

DEFAULT_DB = "default"

View = Callable[..., HttpResponse]
# Far beyond any table, and offset + limit still fits a signed 64-bit integer.
MAX_OFFSET = 2**62


def is_api_path(path: str) -> bool:
    """Paths whose clients parse JSON: the REST API and LNT's submission URLs."""
    return path.startswith("/api/") or path.rstrip("/").endswith("/submitRun")


def json_error(message: str, status: int, **extra: Any) -> JsonResponse:
    """LNT-shaped error body: ``success`` false and ``error`` the message."""
    return JsonResponse({"success": False, "error": message, **extra}, status=status)


def unknown_db(db: str) -> JsonResponse | None:
    """lntsite serves one database, named ``default`` (LNT's ``/db_default/``)."""
    if db != DEFAULT_DB:
        return json_error(f"unknown database {db!r}; this server has only 'default'", 404)
    return None


def request_token(request: HttpRequest) -> str | None:
    """The token from ``AuthToken``, ``Authorization: Bearer`` or ``?token=``."""
    header = request.headers.get("AuthToken")
    if header:
        return header.strip()
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.GET.get("token") or None


def authenticate(request: HttpRequest) -> SubmissionToken | JsonResponse:
    token = token_authenticate(request_token(request))
    if token is None:
        return json_error(
            "a valid submission token is required: send it as the AuthToken header, "
            "'Authorization: Bearer <token>', or the token query parameter",
            401,
        )
    return token


def too_large(request: HttpRequest) -> JsonResponse | None:
    """413 from the declared length alone, before anything is read or parsed."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return json_error("Content-Length is not a number", 400)
    limit = settings.PERF_MAX_SUBMISSION_BYTES
    if length > limit:
        return json_error(
            f"request body of {length} bytes is larger than the limit of {limit} bytes "
            "(PERF_MAX_SUBMISSION_BYTES)",
            413,
        )
    return None


URLENCODED = "application/x-www-form-urlencoded"
_UNQUOTE_PIECE = 1 << 20  # bytes of an urlencoded value decoded at a time


def urlencoded_form(body: bytes, *, max_fields: int | None) -> dict[str, str] | str:
    """The fields of an ``application/x-www-form-urlencoded`` body, or a message
    saying why it was refused (more than ``max_fields`` fields).

    What Django's ``QueryDict`` gives (``&``-separated, ``+`` is a space, a repeated
    name keeps its last value, UTF-8 with invalid bytes replaced), decoded a
    megabyte at a time: ``urllib.parse.unquote`` holds one object per escape of the
    whole value at once, about 800 MB for the 24 MB form of a 90,000-test report.
    """
    pairs = body.split(b"&") if body else []
    if max_fields is not None and len(pairs) > max_fields:
        return f"the form has {len(pairs)} fields (limit {max_fields})"
    fields: dict[str, str] = {}
    for pair in pairs:
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        fields[_unquote_plus(name)] = _unquote_plus(value)
    return fields


def _unquote_plus(data: bytes) -> str:
    pieces = []
    start = 0
    while start < len(data):
        end = start + _UNQUOTE_PIECE
        if end < len(data):
            # Never cut inside an escape: end the piece before a "%" in its last two bytes.
            escape = data.find(b"%", end - 2, end)
            end = escape if escape > start else end
        pieces.append(_unquote_piece(data[start:end].replace(b"+", b" ")))
        start = end
    return b"".join(pieces).decode("utf-8", errors="replace")


def _unquote_piece(data: bytes) -> bytes:
    """``urllib.parse.unquote_to_bytes(data)``, in C: every ``%XX`` rewritten as
    ``\\xXX`` (a backslash already there as ``\\x5c``) and decoded by
    ``codecs.escape_decode``, about 12 times faster on a report's form, whose every
    quote, colon and comma is an escape.  A ``%`` that starts no escape (``%zz``,
    ``%4``: ``unquote`` keeps it as it is, ``escape_decode`` refuses it) sends the
    piece to ``unquote_to_bytes``."""
    try:
        return codecs.escape_decode(data.replace(b"\\", b"\\x5c").replace(b"%", b"\\x"))[0]
    except ValueError:
        return urllib.parse.unquote_to_bytes(data)


def page_params(request: HttpRequest) -> tuple[int, int] | JsonResponse:
    """(offset, limit) from ``?offset=&limit=``; limit capped at PERF_API_PAGE_SIZE."""
    cap = settings.PERF_API_PAGE_SIZE
    try:
        offset = int(request.GET.get("offset", 0))
        limit = int(request.GET.get("limit", cap))
    except ValueError:
        return json_error("offset and limit must be integers", 400)
    if offset < 0 or limit < 1:
        return json_error("offset must be >= 0 and limit >= 1", 400)
    if offset > MAX_OFFSET:
        return json_error(f"offset must be at most {MAX_OFFSET}, got {offset}", 400)
    return offset, min(limit, cap)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 as JSON under /api/ and on submission URLs (clients parse JSON), else a page."""
    if is_api_path(request.path):
        return json_error(f"no such API endpoint: {request.path}", 404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500 as JSON under /api/ and on submission URLs (logged by Django), else a page."""
    if is_api_path(request.path):
        return json_error("internal server error; it has been logged", 500)
    from django.views.defaults import server_error as page_server_error

    return page_server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF refusal (settings.CSRF_FAILURE_VIEW): JSON on API paths, else Django's page.

    Machine endpoints are csrf_exempt; this answers a POST to an unknown API URL or a
    browser form without its token."""
    if is_api_path(request.path):
        return json_error(f"CSRF check failed: {reason}", 403)
    from django.views.csrf import csrf_failure as page_csrf_failure

    return page_csrf_failure(request, reason)


def api_not_found(request: HttpRequest) -> JsonResponse:
    """Every unknown URL under /api/: a JSON 404 that names the path."""
    return json_error(f"no such API endpoint: {request.path}", 404)
