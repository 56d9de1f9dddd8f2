"""Who is asking: the client address that login throttling (django-axes) counts."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: nginx's X-Real-IP when PERF_BEHIND_PROXY, else REMOTE_ADDR.

    deploy/nginx.conf sets X-Real-IP to the connection's address, overwriting any value
    the client sent, so it cannot be forged through the proxy; without the proxy the
    header is ignored (anyone could send it).
    """
    if settings.PERF_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_REAL_IP", "").strip()
        if forwarded:
            return forwarded
    return str(request.META.get("REMOTE_ADDR", ""))
