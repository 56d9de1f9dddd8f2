"""A run's profiles over the API: the list, and one profile's bytes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from .. import selectors
from ..models import TestSuite
from ..selectors import profiles
from ..views.profiles import profile_response
from .common import json_error
from .read import suite_view


@suite_view
def run_profiles(request: HttpRequest, suite: TestSuite, run_id: int) -> HttpResponse:
    """``runs/<id>/profiles``: each profile's test, size (bytes), counters and URL."""
    if selectors.run_get(suite, run_id) is None:
        return json_error(f"no run {run_id} in suite {suite.name!r}", 404)
    return JsonResponse(
        {
            "run": run_id,
            "profiles": [
                {
                    "test": p["test__name"],
                    "test_id": p["test_id"],
                    "size": p["size"],
                    "counters": p["counters"],
                    "url": request.build_absolute_uri(
                        reverse(
                            "perf:api-run-profile",
                            args=["default", suite.name, run_id, p["test_id"]],
                        )
                    ),
                }
                for p in profiles.run_profiles(run_id)
            ],
        }
    )


@suite_view
def run_profile(request: HttpRequest, suite: TestSuite, run_id: int, test_id: int) -> HttpResponse:
    """``runs/<id>/profiles/<test id>``: the bytes, as the client sent them."""
    data = profiles.profile_bytes(suite, run_id, test_id)
    if data is None:
        return json_error(f"no profile of test {test_id} in run {run_id}", 404)
    return profile_response(data, run_id, test_id)
