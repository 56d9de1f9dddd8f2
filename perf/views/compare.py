"""Baselines (named orders) and the two-sided compare page.  Thin views."""

from __future__ import annotations

import csv
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

from ..analysis import sides
from ..selectors import baselines as baseline_selectors
from ..selectors import compare as compare_selectors
from ..services import baselines as baseline_service
from ..services import triage
from .common import float_param, suite_or_404
from .compare_rows import sides_rows_html
from .pages import csv_cell


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


# --- two-sided compare -------------------------------------------------------------------

SORTS = ("change", "test", "delta_pct", "status")
CSV_HEADER = [
    "test", "old", "new", "old_samples", "new_samples", "delta", "delta_pct", "ratio",
    "log2_ratio", "p_value", "status",
]  # fmt: skip


def _side(request: HttpRequest, prefix: str, suite: str) -> compare_selectors.Side | None:
    """The side's query parameters, or None when none was given; SideError on junk."""
    get = request.GET
    runs_raw = get.get(f"{prefix}_runs", "").replace(",", " ").split()
    orders = [o.strip() for o in get.get(f"{prefix}_orders", "").split(",") if o.strip()]
    machine = get.get(f"{prefix}_machine", "").strip()
    baseline = get.get(f"{prefix}_baseline", "").strip()
    if not runs_raw and not orders and not machine and not baseline:
        return None
    for raw in runs_raw:
        if not raw.isdigit() or len(raw) > 18:
            raise compare_selectors.SideError(f"{prefix}_runs: {raw!r} is not a run id.")
    return compare_selectors.Side(
        prefix=prefix,
        suite=get.get(f"{prefix}_suite", "").strip() or suite,
        machine=machine,
        runs=[int(r) for r in runs_raw],
        orders=orders[: compare_selectors.MAX_RUNS_PER_SIDE],
        baseline=baseline,
    )


def _knobs(request: HttpRequest, bigger_is_better: bool) -> sides.Knobs:
    return sides.Knobs(
        min_delta_pct=float_param(request, "min_delta", 1.0, lo=0.0, hi=1000.0),
        max_p=float_param(request, "pvalue", 0.05, lo=0.0, hi=1.0),
        abs_floor=float_param(request, "floor", 0.0, lo=0.0, hi=1e12),
        bigger_is_better=bigger_is_better,
    )


def _zoom(request: HttpRequest) -> tuple[float | None, float | None]:
    lo = float_param(request, "zlo", float("nan"), lo=-64.0, hi=64.0)
    hi = float_param(request, "zhi", float("nan"), lo=-64.0, hi=64.0)
    return (None if lo != lo else lo), (None if hi != hi else hi)


def _in_zoom(row: sides.Row, lo: float | None, hi: float | None) -> bool:
    if lo is None and hi is None:
        return True
    if row.log2_ratio is None:
        return False
    return (lo is None or row.log2_ratio >= lo) and (hi is None or row.log2_ratio <= hi)


def _sorted(rows: list[sides.Row], how: str) -> list[sides.Row]:
    if how == "test":
        return sorted(rows, key=lambda r: r.test)
    if how == "delta_pct":
        return sorted(rows, key=lambda r: (r.delta_pct is None, -(r.delta_pct or 0.0), r.test))
    if how == "status":
        order = {s: i for i, s in enumerate(sides.STATUSES)}
        return sorted(rows, key=lambda r: (order[r.status], -abs(r.log2_ratio or 0.0), r.test))
    return sorted(rows, key=lambda r: (r.log2_ratio is None, -abs(r.log2_ratio or 0.0), r.test))


def _csv(rows: list[sides.Row]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="compare.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [
                csv_cell(r.test),
                *("" if v is None else v for v in (r.old, r.new)),
                r.old_n,
                r.new_n,
                *("" if v is None else round(v, 6) for v in (r.delta, r.delta_pct, r.ratio)),
                "" if r.log2_ratio is None else round(r.log2_ratio, 6),
                "" if r.p_value is None else round(r.p_value, 6),
                r.status,
            ]
        )
    return response


def compare_sides(request: HttpRequest, suite: str) -> HttpResponse:
    """Two sides, each a machine and one or more runs or orders (suites may differ),
    compared test by test and metric by name.  Every knob is in the query string."""
    suite_obj = suite_or_404(suite)
    wants_data = request.GET.get("format") in ("csv", "json")
    context: dict[str, Any] = {
        "suite": suite_obj,
        "q": request.GET,
        "sorts": SORTS,
        "side_fields": [
            {
                "prefix": p,
                "legend": legend,
                "suite": request.GET.get(f"{p}_suite") or suite_obj.name,
                **{
                    k: request.GET.get(f"{p}_{k}", "")
                    for k in ("machine", "runs", "orders", "baseline")
                },
            }
            for p, legend in (("a", "Old side (a)"), ("b", "New side (b)"))
        ],
    }
    try:
        specs = [_side(request, p, suite_obj.name) for p in ("a", "b")]
        resolved = (
            [compare_selectors.side_resolve(s) for s in specs if s is not None]
            if all(specs)
            else []
        )
    except compare_selectors.SideError as exc:
        if wants_data:
            return JsonResponse({"error": str(exc)}, status=400)
        context["error"] = str(exc)
        return render(request, "perf/compare_sides.html", context, status=400)
    if not resolved:
        if not any(specs) and not wants_data:
            return render(request, "perf/compare_sides.html", context)  # the empty form
        p = "a" if specs[0] is None else "b"
        message = f"{p}_runs: give run ids, or {p}_machine and {p}_orders."
        if wants_data:
            return JsonResponse({"error": message}, status=400)
        context["error"] = message
        return render(request, "perf/compare_sides.html", context, status=400)
    old, new = resolved
    metrics = compare_selectors.compare_metrics(sorted({old.suite_id, new.suite_id}))
    names = [m["name"] for m in metrics]
    metric_name = request.GET.get("metric", "") or (names[0] if names else "")
    metric = next((m for m in metrics if m["name"] == metric_name), None)
    if metric is None:
        message = f"metric: no Real metric called {metric_name!r} in these suites."
        if wants_data:
            return JsonResponse({"error": message}, status=400)
        context.update(error=message, metrics=metrics)
        return render(request, "perf/compare_sides.html", context, status=400)
    knobs = _knobs(request, metric["bigger_is_better"])
    rows = sides.compare_sides(
        compare_selectors.side_samples(old, metric_name),
        compare_selectors.side_samples(new, metric_name),
        knobs,
    )
    sort = request.GET.get("sort", "change")
    rows = _sorted(rows, sort if sort in SORTS else "change")
    lo, hi = _zoom(request)
    shown = [r for r in rows if _in_zoom(r, lo, hi)]
    if request.GET.get("format") == "csv":
        return _csv(shown)
    if request.GET.get("format") == "json":
        return JsonResponse({"rows": [vars(r) for r in shown]})
    chart = sorted(
        ([r.log2_ratio, r.test, r.status] for r in rows if r.log2_ratio is not None),
        key=lambda p: (p[0], p[1]),
    )
    context.update(
        old=old,
        new=new,
        metric=metric,
        metrics=metrics,
        knobs=knobs,
        rows_html=sides_rows_html(
            [(r, _in_zoom(r, lo, hi)) for r in rows], choose=request.user.is_authenticated
        ),
        n_rows=len(rows),
        geomean=sides.geomean(shown),
        counts=sides.status_counts(shown),
        shown=len(shown),
        chart={"points": chart, "zoom": [lo, hi]},
        sort=sort,
    )
    return render(request, "perf/compare_sides.html", context)


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_POST
def compare_regression(request: HttpRequest, suite: str) -> HttpResponse:
    """Rows chosen on the compare page into a regression: POST ``run`` (the new side's
    run whose points the rows stand for), ``metric`` (name), ``test`` (names, repeated),
    ``action`` ``create`` (with an optional ``title``) or ``add`` (to ``regression``, an
    id).  Each row's change is the one detection found ending at that run's order, or
    one made by hand from the point before (``triage.regression_from_points``).  Logged-in
    users only (others are sent to log in and back to ``next``); a 400 names the bad
    field and writes nothing; success lands on the regression."""
    suite_obj = suite_or_404(suite)
    back = _safe_next(request, reverse("perf:compare-sides", args=[suite]))
    if not request.user.is_authenticated:
        return redirect_to_login(back)
    raw_run = request.POST.get("run", "").strip()
    if not raw_run.isdigit() or len(raw_run) > 18:
        return _refuse(request, "run: give the id of the new side's run.")
    tests = list(dict.fromkeys(t for t in request.POST.getlist("test") if t))
    if not tests:
        return _refuse(request, "test: choose at least one row.")
    if len(tests) > triage.MAX_POINTS:
        return _refuse(request, f"test: choose at most {triage.MAX_POINTS} rows at once.")
    action = request.POST.get("action", "")
    regression_id = None
    if action == "add":
        raw = request.POST.get("regression", "").strip()
        if not raw.isdigit() or len(raw) > 18:
            return _refuse(request, "regression: give the id of the regression to add to.")
        regression_id = int(raw)
    elif action != "create":
        return _refuse(request, f"action: expected create or add, got {action[:20]!r}.")
    metric = request.POST.get("metric", "")
    run_suite, points = compare_selectors.run_points(int(raw_run), metric, tests)
    if run_suite is None:
        return _refuse(request, f"run: no run {raw_run}.")
    missing = [t for t in tests if t not in points]
    if missing:
        return _refuse(
            request,
            f"test: {missing[0]!r} has no {metric or 'metric'} value in run {raw_run} "
            "(a removed test has no step to track).",
        )
    try:
        regression, added = triage.regression_from_points(
            run_suite,
            [points[t] for t in tests],
            user=request.user,
            title=request.POST.get("title", "")[:512],
            regression_id=regression_id,
        )
    except triage.TriageError as exc:
        return _refuse(request, str(exc))
    verb = "Created regression" if regression_id is None else "Added to regression"
    messages.success(
        request, f"{verb} {regression.id}: {added} change{'s' * (added != 1)} from the compare."
    )
    run_suite_name = (
        suite_obj.name
        if run_suite == suite_obj.id
        else compare_selectors.suite_name(run_suite)
    )
    return redirect("perf:regression-detail", run_suite_name, regression.id)
