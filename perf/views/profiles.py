"""Downloading one profile of a run (the run page lists them)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from ..selectors import profiles
from .common import suite_or_404


def profile_download(request: HttpRequest, suite: str, run_id: int, test_id: int) -> HttpResponse:
    """The profile's bytes as the client sent them (base64-decoded), as an attachment."""
    suite_obj = suite_or_404(suite)
    data = profiles.profile_bytes(suite_obj, run_id, test_id)
    if data is None:
        raise Http404("No such profile.")
    return profile_response(data, run_id, test_id)


def profile_response(data: bytes, run_id: int, test_id: int) -> HttpResponse:
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = (
        f'attachment; filename="run{run_id}-test{test_id}.lntprof"'  # ids only: no escaping
    )
    return response
