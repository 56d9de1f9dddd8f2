"""Server-rendered pages: thin views over selectors."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from .. import selectors
from ..models import Run, TestSuite


def home(request: HttpRequest) -> HttpResponse:
    suites = list(TestSuite.objects.order_by("name").values("id", "name"))
    recent = list(
        Run.objects.order_by("-submitted_at").values(
            "id", "suite__name", "machine__name", "order__fields", "submitted_at", "detection_state"
        )[:20]
    )
    return render(request, "perf/home.html", {"suites": suites, "recent": recent})


def run_detail(request: HttpRequest, suite: str, run_id: int) -> HttpResponse:
    suite_obj = selectors.suite_get(suite)
    if suite_obj is None:
        raise Http404("unknown suite")
    run = selectors.run_get(suite_obj, run_id)
    if run is None:
        raise Http404("no such run")
    return render(
        request,
        "perf/run_detail.html",
        {"suite": suite_obj, "run": run, "tests": sorted(selectors.run_samples(run).items())},
    )
