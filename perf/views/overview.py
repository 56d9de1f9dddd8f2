"""LNT's overview pages, done with a fixed number of queries: dashboard, matrix, global
status, latest runs report, the daily report by run date and the run report as plain
text (for e-mail).  Thin views: parse the query, call ``selectors.overview``, render.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse

from .. import selectors
from ..models import Metric, TestSuite
from ..selectors import overview as ov
from ..selectors.graphs import MAX_PLOTS, PlotKey, plot_keys_parse
from .common import int_param, page_of, suite_or_404
from .status_rows import status_rows_html

# Machines per page of the latest runs report: its work grows with machines x tests
# (every moved test of a machine is judged against its last runs).
LATEST_RUNS_MACHINES = 5
_PLOT_PARAM = re.compile(r"^plot(?:\.(\d{1,6}))?$")


def _real_metric(metrics: list[Metric], wanted: str) -> Metric | None:
    """The Real metric named ``wanted`` (name or LNT field index), else execution_time,
    else the first Real metric."""
    real = [m for m in metrics if m.type == Metric.REAL]
    for m in real:
        if wanted and (m.name == wanted or str(m.position) == wanted):
            return m
    return next((m for m in real if m.name == "execution_time"), real[0] if real else None)


def _metric_context(
    suite_obj: TestSuite, request: HttpRequest
) -> tuple[list[Metric], Metric | None]:
    metrics = selectors.suite_metrics(suite_obj)
    return [m for m in metrics if m.type == Metric.REAL], _real_metric(
        metrics, request.GET.get("field", "").strip()
    )


# --- dashboard ------------------------------------------------------------------------


def dashboard(request: HttpRequest, suite: str) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    orders = int_param(request, "orders", 20, lo=2, hi=200)
    machines = int_param(request, "machines", 4, lo=1, hi=30)
    metrics = selectors.suite_metrics(suite_obj)
    columns, lines = ov.dashboard(suite_obj, metrics, orders=orders, machines=machines)
    panels: dict[int, dict[str, Any]] = {}
    graph = reverse("perf:graph", args=[suite_obj.name])
    for line in lines:
        panel = panels.setdefault(line.metric.id, {"metric": line.metric, "lines": []})
        panel["lines"].append(
            {
                "line": line,
                "points": ov.sparkline_points(line.values),
                # LNT's geometric-mean graph of one machine and metric.
                "url": f"{graph}?mean={line.machine_id}.{line.metric.position}",
            }
        )
    return render(
        request,
        "perf/overview/dashboard.html",
        {
            "suite": suite_obj,
            "panels": list(panels.values()),
            "orders": orders,
            "machines": machines,
            "first": columns[0] if columns else None,
            "last": columns[-1] if columns else None,
        },
    )


# --- matrix ---------------------------------------------------------------------------


def _plot_values(request: HttpRequest) -> list[str]:
    """LNT's ``plot.N=m.t.f`` parameters in N order, then plain ``plot=`` ones."""
    numbered, plain = [], []
    for key in request.GET:
        match = _PLOT_PARAM.match(key)
        if match is None:
            continue
        if match.group(1) is None:
            plain.extend(request.GET.getlist(key))
        else:
            numbered.append((int(match.group(1)), request.GET[key]))
    return [v for _, v in sorted(numbered)] + plain


def _matrix_url(suite: str, keys: list[PlotKey], orders: int) -> str:
    query = [(f"plot.{k}", str(key)) for k, key in enumerate(keys)] + [("orders", orders)]
    return reverse("perf:matrix", args=[suite]) + "?" + urlencode(query)


def matrix(request: HttpRequest, suite: str) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    orders = int_param(request, "orders", 20, lo=2, hi=200)
    keys = plot_keys_parse(_plot_values(request))
    error = ""
    if request.GET.get("add"):
        # The form names a test; the URL holds ids (LNT's plot.N form).  A GET that
        # only redirects: nothing is stored.
        test = request.GET.get("test", "").strip()
        ids = selectors.test_ids_by_name(suite_obj, [test]) if test else []
        machine = int_param(request, "machine", 0, lo=0, hi=2**62)
        field = int_param(request, "metric", -1, lo=-1, hi=9999)
        if not ids:
            error = f"No test named {test!r} in this suite." if test else "Name a test to add."
        elif not machine or field < 0:
            error = "Choose a machine and a metric."
        elif len(keys) >= MAX_PLOTS:
            error = f"At most {MAX_PLOTS} series."
        else:
            key = PlotKey(machine, ids[0], field)
            return HttpResponseRedirect(
                _matrix_url(suite_obj.name, [*[k for k in keys if k != key], key], orders)
            )
    data = ov.matrix(suite_obj, keys, orders=orders)
    shown = [PlotKey(s["machine_id"], s["test_id"], s["metric__position"]) for s in data.series]
    rows = []
    for s, key in zip(data.series, shown, strict=True):
        cells = data.cells.get(s["id"], {})
        rows.append(
            {
                "series": s,
                "metric": ov.metric_label(s["metric__name"], s["metric__display_name"]),
                "cells": [cells.get(c["order_id"]) for c in data.orders],
                "graph": reverse("perf:graph", args=[suite_obj.name]) + f"?plot={key}",
                "remove": _matrix_url(suite_obj.name, [k for k in shown if k != key], orders),
            }
        )
    table = [
        {"order": o, "cells": [r["cells"][k] for r in rows]} for k, o in enumerate(data.orders)
    ]
    status = 400 if error else 200
    return render(
        request,
        "perf/overview/matrix.html",
        {
            "suite": suite_obj,
            "rows": rows,
            "table": table,  # oldest first: the first row is the reference of Δ %
            "n_orders": orders,
            "keys": [str(k) for k in shown],
            "error": error,
            "machines": selectors.machine_choices(suite_obj),
            "metrics": selectors.real_metric_choices(suite_obj),
            "test": request.GET.get("test", ""),
            "unknown": len(keys) - len(shown),
        },
        status=status,
    )


# --- global status --------------------------------------------------------------------


def global_status(request: HttpRequest, suite: str) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    real, metric = _metric_context(suite_obj, request)
    machine_filter = request.GET.get("machine", "").strip()[:100]
    depth = int_param(request, "runs", 2, lo=2, hi=50)
    recent_days = int_param(request, "days", 7, lo=0, hi=3650)
    baseline_key = request.GET.get("baseline", "").strip()
    baseline = None
    error = ""
    if baseline_key:
        baseline = (
            selectors.run_get(suite_obj, int(baseline_key))
            if baseline_key.isdigit() and len(baseline_key) <= 18
            else None
        )
        if baseline is None:
            error = f"No run {baseline_key!r} in this suite to use as the baseline."
    page = page_of(request, size=50)
    grid = None
    if metric is not None and not error:
        grid = ov.global_status(
            suite_obj,
            metric,
            depth=depth,
            baseline=baseline,
            machine_filter=machine_filter,
            recent_days=recent_days,
            offset=page.offset,
            limit=page.size,
        )
        page.has_next = grid.has_next
    return render(
        request,
        "perf/overview/global_status.html",
        {
            "suite": suite_obj,
            "metrics": real,
            "metric": metric,
            "machine_filter": machine_filter,
            "depth": depth,
            "recent_days": recent_days,
            "baseline_key": baseline_key,
            "baseline": baseline,
            "error": error,
            "grid": grid,
            "page": page,
            "rows_html": status_rows_html(
                grid.rows, reverse("perf:graph", args=[suite_obj.name]) + "?plot="
            )
            if grid
            else "",
        },
        status=404 if error else 200,
    )


# --- latest runs report ---------------------------------------------------------------


def latest_runs(request: HttpRequest, suite: str) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    real, metric = _metric_context(suite_obj, request)
    depth = int_param(request, "num_runs", 10, lo=2, hi=50)
    machine_filter = request.GET.get("machine", "").strip()[:100]
    min_change = float(int_param(request, "min_change", 1, lo=0, hi=1000))
    page = page_of(request, size=LATEST_RUNS_MACHINES)
    results: list[ov.MachineChanges] = []
    if metric is not None:
        results, page.has_next = ov.latest_runs_report(
            suite_obj,
            metric,
            depth=depth,
            min_change=min_change,
            machine_filter=machine_filter,
            offset=page.offset,
            limit=page.size,
        )
    return render(
        request,
        "perf/overview/latest_runs.html",
        {
            "suite": suite_obj,
            "metrics": real,
            "metric": metric,
            "depth": depth,
            "min_change": int(min_change),
            "machine_filter": machine_filter,
            "results": results,
            "page": page,
        },
    )


# --- daily report ---------------------------------------------------------------------


def _day_param(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def daily_report_lnt(
    request: HttpRequest, suite: str, year: int, month: int, day: int
) -> HttpResponse:
    """LNT's ``daily_report/<year>/<month>/<day>?num_days=N``: the same report here."""
    suite_obj = suite_or_404(suite)
    try:
        when = date(year, month, day)
    except ValueError:
        return HttpResponseBadRequest(f"No such day: {year}-{month}-{day}.")
    days = int_param(request, "num_days", 1, lo=1, hi=14)
    query = urlencode({"day": when.isoformat(), "days": days})
    return HttpResponseRedirect(reverse("perf:daily", args=[suite_obj.name]) + "?" + query)


def daily_report(request: HttpRequest, suite: str) -> HttpResponse:
    """The daily report of the runs that ran on ``day`` (YYYY-MM-DD; default the day of
    the newest run, as LNT's) and the ``days - 1`` days before it."""
    suite_obj = suite_or_404(suite)
    days = int_param(request, "days", 1, lo=1, hi=14)
    given = request.GET.get("day", "").strip()
    day = _day_param(given) if given else ov.latest_run_day(suite_obj)
    if given and day is None:
        return render(
            request,
            "perf/overview/daily_report.html",
            {
                "suite": suite_obj,
                "days": days,
                "error": f"day: {given!r} is not a YYYY-MM-DD date.",
            },
            status=400,
        )
    context: dict[str, Any] = {"suite": suite_obj, "days": days, "day": day}
    if day is not None:
        context |= ov.daily_report(suite_obj, day=day, days=days)
    if request.GET.get("format") == "txt":
        return HttpResponse(
            render_to_string("perf/overview/daily_report.txt", context),
            content_type="text/plain; charset=utf-8",
        )
    return render(request, "perf/overview/daily_report.html", context)


# --- the run report as text -----------------------------------------------------------


def run_report_text(sections: list[dict[str, Any]], context: dict[str, Any]) -> HttpResponse:
    """The run report's sections (``pages._render_report``'s) as plain text, LNT's
    e-mail format: each group that is not "unchanged" with its tests, old, new, delta."""
    from ..selectors.runs import GROUPS

    blocks = []
    for s in sections:
        report = s["report"]
        groups = []
        if report is not None:
            for key, label in GROUPS:
                rows = report.groups.get(key, [])
                if key != "unchanged" and rows:
                    groups.append({"label": label, "rows": rows})
        blocks.append({"comparison": s["comparison"], "report": report, "groups": groups})
    body = render_to_string("perf/overview/run_report.txt", {**context, "blocks": blocks})
    return HttpResponse(body, content_type="text/plain; charset=utf-8")
