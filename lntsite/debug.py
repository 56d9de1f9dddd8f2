"""Development helpers (DEBUG only)."""

from __future__ import annotations

from debug_toolbar.middleware import show_toolbar as default_show_toolbar
from django.http import HttpRequest


def show_toolbar(request: HttpRequest) -> bool:
    """The debug toolbar on pages, never on the API or the submission endpoints."""
    if request.path.startswith("/api/") or request.path.endswith("/submitRun"):
        return False
    return bool(default_show_toolbar(request))
