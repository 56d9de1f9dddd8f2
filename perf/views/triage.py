"""The triage page (changes in no regression) and its actions; a regression from a
graph point."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import selectors
from ..selectors import regressions as reg_selectors
from ..services import triage
from .common import int_param, page_of, page_rows, suite_or_404
from .regressions import AGES

TRIAGE_PAGE_SIZE = 100


def triage_page(request: HttpRequest, suite: str) -> HttpResponse:
    """Detected changes in no regression, filtered by machine, metric, age and kind;
    ``ignored=1`` lists the ignored ones instead."""
    suite_obj = suite_or_404(suite)
    kind = request.GET.get("kind", "all")
    if kind not in reg_selectors.TRIAGE_KINDS:
        kind = "all"
    ignored = request.GET.get("ignored") == "1"
    machine_id = int_param(request, "machine", 0, lo=0, hi=2**62) or None
    metric = int_param(request, "metric", -1, lo=-1, hi=10_000)
    age = int_param(request, "age", 0, lo=0, hi=3650)
    page = page_of(request, size=TRIAGE_PAGE_SIZE)
    rows = page_rows(
        page,
        reg_selectors.triage_changes(
            suite_obj,
            ignored=ignored,
            kind=kind,
            machine_id=machine_id,
            metric_position=None if metric < 0 else metric,
            since=reg_selectors.since_days(timezone.now(), age) if age else None,
            offset=page.offset,
            limit=page.size + 1,
        ),
    )
    return render(
        request,
        "perf/triage.html",
        {
            "suite": suite_obj,
            "changes": rows,
            "page": page,
            "kinds": reg_selectors.TRIAGE_KINDS,
            "kind": kind,
            "ignored": ignored,
            "machines": selectors.machine_choices(suite_obj),
            "machine_id": machine_id,
            "metrics": selectors.real_metric_choices(suite_obj),
            "metric": metric,
            "ages": AGES,
            "age": age,
        },
    )


def _chosen(request: HttpRequest) -> list[int]:
    return [int(c) for c in request.POST.getlist("change") if c.isdigit() and len(c) < 19][
        : triage.MAX_CHANGES + 1
    ]


def _back_to_triage(request: HttpRequest, suite: str) -> HttpResponse:
    # Back to the same filters; only a path of this site is followed.
    back = request.POST.get("back", "")
    base = reverse("perf:triage", args=[suite])
    return redirect(back if back.startswith(base) else base)


@require_POST
@login_required
def triage_action(request: HttpRequest, suite: str) -> HttpResponse:
    """One form, three buttons (``action``): ``create`` a regression of the chosen
    changes, ``add`` them to regression ``regression``, ``ignore`` them with a
    ``reason``, or ``unignore`` them."""
    suite_obj = suite_or_404(suite)
    ids = _chosen(request)
    action = request.POST.get("action", "")
    try:
        if action == "create":
            new = triage.regression_create(
                suite_obj.id, ids, user=request.user, title=request.POST.get("title", "")[:512]
            )
            messages.success(request, f"Created regression {new.id}.")
            return redirect("perf:regression-detail", suite, new.id)
        if action == "add":
            target = request.POST.get("regression", "").strip()
            if not target.isdigit() or len(target) > 18:
                raise triage.TriageError("regression: give the id of the regression to add to.")
            if reg_selectors.regression_get(suite_obj, int(target)) is None:
                raise triage.TriageError(f"regression: no regression {target} in this suite.")
            added = triage.regression_add_changes(int(target), ids, request.user)
            messages.success(request, f"Added {added} change{'s' * (added != 1)}.")
            return redirect("perf:regression-detail", suite, int(target))
        if action == "ignore":
            n = triage.changes_ignore(
                suite_obj.id, ids, user=request.user, reason=request.POST.get("reason", "")
            )
            messages.success(request, f"Ignored {n} change{'s' * (n != 1)}.")
        elif action == "unignore":
            n = triage.changes_unignore(suite_obj.id, ids)
            messages.success(request, f"{n} change{'s' * (n != 1)} no longer ignored.")
        else:
            raise triage.TriageError(f"action: unknown action {action[:20]!r}.")
    except triage.TriageError as exc:
        messages.error(request, str(exc))
    return _back_to_triage(request, suite)


@require_POST
def regression_from_point(request: HttpRequest, suite: str) -> HttpResponse:
    """POST ``series`` (id) and ``order`` (id), optional ``title``: the regression for
    the step into that order on that series, made if needed (see
    ``triage.regression_from_point``).  Answers JSON ``{"regression", "url",
    "created"}`` (201 when made, 200 when it existed), or 400 JSON naming the bad
    field; a form that asks for HTML is redirected to the regression instead.
    Needs a logged-in user (403 JSON otherwise) and the CSRF token."""
    suite_obj = suite_or_404(suite)
    wants_html = "text/html" in request.headers.get("Accept", "")
    if not request.user.is_authenticated:
        return JsonResponse({"error": "log in to create a regression"}, status=403)
    values = {}
    for name in ("series", "order"):
        raw = request.POST.get(name, "").strip()
        if not raw.isdigit() or len(raw) > 18:
            return JsonResponse({"error": f"{name}: expected an id, got {raw[:40]!r}"}, status=400)
        values[name] = int(raw)
    try:
        regression, created = triage.regression_from_point(
            suite_obj.id,
            values["series"],
            values["order"],
            user=request.user,
            title=request.POST.get("title", "")[:512],
        )
    except triage.TriageError as exc:
        if wants_html:
            messages.error(request, str(exc))
            return redirect("perf:triage", suite)
        return JsonResponse({"error": str(exc)}, status=400)
    url = reverse("perf:regression-detail", args=[suite, regression.id])
    if wants_html:
        return redirect(url)
    return JsonResponse(
        {"regression": regression.id, "url": url, "created": created},
        status=201 if created else 200,
    )
