"""Regression list, detail and triage; search."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import selectors
from ..models import Regression
from ..selectors import regressions as reg_selectors
from ..services import triage
from . import lnt_links
from .common import int_param, page_of, page_rows, suite_or_404

AGES = (
    (0, "any age"),
    (1, "last day"),
    (7, "last week"),
    (30, "last 30 days"),
    (90, "last 90 days"),
)


def regression_list(request: HttpRequest, suite: str) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    valid = dict(Regression.STATE_CHOICES)
    states = [int(s) for s in request.GET.getlist("state") if s.isdigit() and int(s) in valid]
    if not request.GET.getlist("state"):
        states = list(Regression.OPEN_STATES)
    machine_id = int_param(request, "machine", 0, lo=0, hi=2**62) or None
    age = int_param(request, "age", 0, lo=0, hi=3650)
    mine = request.GET.get("mine") == "1" and request.user.is_authenticated
    page = page_of(request)
    rows = page_rows(
        page,
        reg_selectors.regression_list(
            suite_obj,
            states=states,
            machine_id=machine_id,
            assignee_id=request.user.pk if mine else None,
            since=reg_selectors.since_days(timezone.now(), age) if age else None,
            offset=page.offset,
            limit=page.size + 1,
        ),
    )
    machines = selectors.machine_choices(suite_obj)
    return render(
        request,
        "perf/regression_list.html",
        {
            "suite": suite_obj,
            "regressions": rows,
            "page": page,
            "states": Regression.STATE_CHOICES,
            "chosen_states": states,
            "machines": machines,
            "machine_id": machine_id,
            "ages": AGES,
            "age": age,
            "mine": mine,
        },
    )


class UpdateForm(forms.Form):
    state = forms.TypedChoiceField(choices=Regression.STATE_CHOICES, coerce=int, required=False)
    title = forms.CharField(max_length=512, required=False)
    bug = forms.URLField(max_length=512, required=False, assume_scheme="https")
    notes = forms.CharField(
        max_length=triage.NOTES_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
    )
    # An id, not a ModelChoiceField: the choices come from one counted selector query.
    assignee = forms.IntegerField(min_value=0, required=False)


def regression_detail(request: HttpRequest, suite: str, regression_id: int) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    regression = reg_selectors.regression_get(suite_obj, regression_id)
    if regression is None:
        return lnt_links.regression_moved(suite_obj, regression_id)  # LNT's id, or 404
    changes = reg_selectors.regression_changes(regression)
    form = UpdateForm(
        initial={
            "state": regression.state,
            "title": regression.title,
            "bug": regression.bug,
            "notes": regression.notes,
        }
    )
    return render(
        request,
        "perf/regression_detail.html",
        {
            "suite": suite_obj,
            "regression": regression,
            "changes": changes,
            "suspects": sum(1 for c in changes if not c["confirmed"]),
            "events": reg_selectors.regression_events(regression),
            "deliveries": reg_selectors.regression_deliveries(regression),
            "form": form,
            "users": reg_selectors.user_choices() if request.user.is_authenticated else [],
            "mini_graphs": [
                {"plot": c["plot"], "around": c["end_position"], "id": c["id"]}
                for c in changes[:20]
            ],
        },
    )


def _ids(request: HttpRequest, name: str, *, limit: int) -> list[int] | None:
    """The ids typed in form field ``name`` (separated by spaces or commas), or None
    when there are none, more than ``limit``, or one is not an id."""
    raw = request.POST.get(name, "").replace(",", " ").split()
    if not raw or len(raw) > limit or not all(r.isdigit() and len(r) < 19 for r in raw):
        return None
    return [int(r) for r in raw]


def _back(suite: str, regression_id: int) -> HttpResponse:
    return redirect("perf:regression-detail", suite, regression_id)


def login_then_detail(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like login_required, but after logging in the person lands on the regression's
    page, not on this POST-only URL (which would answer 405 to the GET)."""

    @wraps(view)
    def wrapper(
        request: HttpRequest, suite: str, regression_id: int, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(reverse("perf:regression-detail", args=[suite, regression_id]))
        return view(request, suite, regression_id, *args, **kwargs)

    return wrapper


@require_POST
@login_then_detail
def regression_update(request: HttpRequest, suite: str, regression_id: int) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    if reg_selectors.regression_get(suite_obj, regression_id) is None:
        raise Http404("No such regression.")
    form = UpdateForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return _back(suite, regression_id)
    data = form.cleaned_data
    try:
        changed = triage.regression_update(
            regression_id,
            user=request.user,
            state=data["state"] if data["state"] != "" else None,
            title=data["title"] or None,
            bug=data["bug"] if "bug" in request.POST else None,
            notes=data["notes"] if "notes" in request.POST else None,
            assignee_id=data["assignee"] if data["assignee"] is not None else None,
        )
    except triage.TriageError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Saved: {', '.join(changed)}." if changed else "Nothing changed."
        )
    return _back(suite, regression_id)


@require_POST
@login_then_detail
def regression_merge(request: HttpRequest, suite: str, regression_id: int) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    if reg_selectors.regression_get(suite_obj, regression_id) is None:
        raise Http404("No such regression.")
    others = _ids(request, "others", limit=50)
    if others is None:
        messages.error(request, "Give the ids of the regressions to merge, separated by spaces.")
        return _back(suite, regression_id)
    try:
        moved = triage.regression_merge(regression_id, others, user=request.user)
    except triage.TriageError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Merged: {moved} field changes moved here.")
    return _back(suite, regression_id)


@require_POST
@login_then_detail
def regression_split(request: HttpRequest, suite: str, regression_id: int) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    if reg_selectors.regression_get(suite_obj, regression_id) is None:
        raise Http404("No such regression.")
    ids = [int(c) for c in request.POST.getlist("change") if c.isdigit()][:1000]
    try:
        new = triage.regression_split(
            regression_id, ids, user=request.user, title=request.POST.get("title", "")[:512]
        )
    except triage.TriageError as exc:
        messages.error(request, str(exc))
        return _back(suite, regression_id)
    messages.success(request, f"Split into regression {new.id}.")
    return _back(suite, new.id)


@require_POST
@login_then_detail
def regression_add(request: HttpRequest, suite: str, regression_id: int) -> HttpResponse:
    """Add changes (ids in ``changes``, separated by spaces or commas) to the regression."""
    suite_obj = suite_or_404(suite)
    if reg_selectors.regression_get(suite_obj, regression_id) is None:
        raise Http404("No such regression.")
    changes = _ids(request, "changes", limit=triage.MAX_CHANGES)
    if changes is None:
        messages.error(request, "changes: give the ids of the changes to add, separated by spaces.")
        return _back(suite, regression_id)
    try:
        added = triage.regression_add_changes(regression_id, changes, request.user)
    except triage.TriageError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Added {added} change{'s' * (added != 1)}.")
    return _back(suite, regression_id)


def search(request: HttpRequest, suite: str) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    q = request.GET.get("q", "")
    too_long = len(q) > reg_selectors.SEARCH_MAX_LENGTH
    results = reg_selectors.search(suite_obj, "" if too_long else q)
    return render(
        request,
        "perf/search.html",
        {"suite": suite_obj, "search_q": q, "too_long": too_long, **results},
    )
