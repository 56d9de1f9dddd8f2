"""Baselines (named orders) and the two-sided compare page.  Thin views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from ..selectors import baselines as baseline_selectors
from ..services import baselines as baseline_service
from .common import suite_or_404


def baseline_list(request: HttpRequest, suite: str) -> HttpResponse:
    """The suite's baselines, with rename and delete forms for people logged in."""
    suite_obj = suite_or_404(suite)
    return render(
        request,
        "perf/baselines.html",
        {"suite": suite_obj, "baselines": baseline_selectors.suite_baselines(suite_obj)},
    )


def _login_then_list(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like login_required, but after logging in the person lands on the baselines
    page, not on this POST-only URL (which would answer 405 to the GET)."""

    @wraps(view)
    def wrapper(request: HttpRequest, suite: str, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(reverse("perf:baseline-list", args=[suite]))
        return view(request, suite, *args, **kwargs)

    return wrapper


def _refuse(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 naming the field: JSON for scripts, the message as text for a browser."""
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"error": message}, status=400)
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _done(request: HttpRequest, suite: str, message: str) -> HttpResponse:
    messages.success(request, message)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("perf:baseline-list", args=[suite])
    return redirect(target)


def _int_field(request: HttpRequest, name: str) -> int | None:
    raw = request.POST.get(name, "").strip()
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@require_POST
@_login_then_list
def baseline_create(request: HttpRequest, suite: str) -> HttpResponse:
    """Promote an order to a named baseline: POST ``order`` (id) and ``name``."""
    suite_obj = suite_or_404(suite)
    order_id = _int_field(request, "order")
    if order_id is None:
        return _refuse(request, "order: give the id of an order.")
    try:
        baseline = baseline_service.baseline_create(
            suite_obj, order_id, request.POST.get("name", "")
        )
    except baseline_service.BaselineError as exc:
        return _refuse(request, str(exc))
    return _done(request, suite, f"Baseline {baseline.name} created.")


@require_POST
@_login_then_list
def baseline_rename(request: HttpRequest, suite: str, baseline_id: int) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    try:
        baseline_service.baseline_rename(suite_obj, baseline_id, request.POST.get("name", ""))
    except baseline_service.BaselineError as exc:
        return _refuse(request, str(exc))
    return _done(request, suite, "Baseline renamed.")


@require_POST
@_login_then_list
def baseline_delete(request: HttpRequest, suite: str, baseline_id: int) -> HttpResponse:
    baseline_service.baseline_delete(suite_or_404(suite), baseline_id)
    return _done(request, suite, "Baseline deleted.")
