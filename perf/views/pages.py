"""Server-rendered pages: home, machines, run report and compare.  Thin views."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape

from .. import selectors
from ..models import Metric, Run, TestSuite
from ..selectors import baselines as baseline_selectors
from ..selectors import profiles as profile_selectors
from ..selectors import runs as run_selectors
from . import lnt_links
from .common import float_param, page_of, page_rows, suite_or_404
from .overview import run_report_text
from .report_rows import RowLinks, report_rows_html
from .run_rows import machine_runs_html


def home(request: HttpRequest) -> HttpResponse:
    suites = selectors.suite_names()
    return render(
        request,
        "perf/home.html",
        {"suites": suites, "suite": None, **run_selectors.home_summary()},
    )


def suite_home(request: HttpRequest, suite: str) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    return render(
        request,
        "perf/home.html",
        {"suites": [suite_obj.name], "suite": suite_obj, **run_selectors.home_summary(suite_obj)},
    )


def machine_list(request: HttpRequest, suite: str) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    page = page_of(request)
    machines = page_rows(page, selectors.machine_list(suite_obj, page.offset, page.size + 1))
    return render(
        request,
        "perf/machine_list.html",
        {"suite": suite_obj, "machines": machines, "page": page},
    )


def machine_detail(request: HttpRequest, suite: str, machine_id: int) -> HttpResponse:
    """A machine and its runs, newest order first (what LNT's machine page shows).

    The comparison of its latest run with the previous one is not built here: the
    page fetches its counts from ``machine_summary`` once shown (a link to the run
    report without JavaScript).  One query whatever the number of tests (three for a
    page without runs).
    """
    page = page_of(request)
    found = run_selectors.machine_page(suite, machine_id, page.offset, page.size + 1)
    if found == "suite":
        raise Http404("No such test suite.")
    if not isinstance(found, run_selectors.MachinePage):
        raise Http404("No such machine.")
    runs = page_rows(page, found.runs)
    return render(
        request,
        "perf/machine_detail.html",
        {
            "suite": found.suite,
            "machine": found.machine,
            "runs_html": machine_runs_html(runs, found.suite.name),
            "page": page,
            "latest": runs[0] if runs and page.number == 1 else None,
        },
    )


# Runs read to find the latest run's previous one without a query of its own.
_SUMMARY_RUNS = 10


def machine_summary(request: HttpRequest, suite: str, machine_id: int) -> HttpResponse:
    """The latest run of a machine against its previous one: each Real metric's
    counts of regressions, improvements, failures... (an HTML fragment that the
    machine page inserts).  Seven queries whatever the number of tests; 404 for a
    machine without runs."""
    suite_obj = suite_or_404(suite)
    machine = selectors.machine_find(suite_obj, str(machine_id))
    if machine is None:
        raise Http404("No such machine.")
    fetched = run_selectors.machine_runs_page(machine, 0, _SUMMARY_RUNS)
    if not fetched:
        raise Http404("This machine has no runs.")
    latest = fetched[0]
    metrics = selectors.suite_metrics(suite_obj)
    previous = run_selectors.run_previous(
        latest, newest_first=fetched, complete=len(fetched) < _SUMMARY_RUNS
    )
    # Only the groups' counts are shown: the history of small moves, which cannot
    # change a count, is not read (run_selectors.report_data), nor the tests' names,
    # and no row is built (run_selectors.report_compare).
    (comparison,) = _comparisons(
        latest, [(previous, "previous")], metrics, metrics, small_rows=0, rows=False
    )
    return render(
        request,
        "perf/includes/machine_summary.html",
        {"suite": suite_obj, "latest": latest, "comparison": comparison},
    )


# --- run report and compare -------------------------------------------------------------


@dataclass
class Comparison:
    """One run compared against another, every Real metric."""

    label: str
    old: Run | None
    new: Run
    reports: list[run_selectors.MetricReport]

    def report_for(self, metric: Metric | None) -> run_selectors.MetricReport | None:
        for report in self.reports:
            if metric is not None and report.metric.id == metric.id:
                return report
        return self.reports[0] if self.reports else None


def _comparisons(
    new: Run,
    olds: list[tuple[Run | None, str]],
    shown: list[Metric],
    metrics: list[Metric],
    *,
    min_change: float = 1.0,
    small_rows: int | None = None,
    options: ReportOptions | None = None,
    rows: bool = True,
) -> list[Comparison]:
    """``new`` against each (old, label) on the Real metrics among ``shown``
    (``metrics``: the suite's, to find their status metrics).  ``small_rows``: how many
    rows of moves under ``min_change`` the caller shows, in the order and with the
    filters of ``options`` (``_small_rows``); None for all.  ``rows`` False: the
    caller shows the groups' counts only (``MetricReport.counts``), the reports have
    no rows (with ``small_rows`` 0).

    The data of all comparisons is read together: at most three queries.
    """
    real = [m for m in shown if m.type == Metric.REAL]
    status_of = run_selectors.report_status_metrics(metrics)
    data = run_selectors.report_data(
        new,
        [old for old, _ in olds],
        [m.id for m in real],
        status_metric_ids=[status_of[m.id] for m in real if m.id in status_of],
        shown=None
        if small_rows is None
        else run_selectors.ShownRows(
            min_change,
            small_rows,
            sort=options.sort if options else "delta",
            name_filter=options.name_filter if options else None,
            hide_below=options.hide_below if options else 0.0,
            rows=rows,
        ),
    )
    # A baseline that is the previous run gives the same reports: computed once (the
    # views read the reports and rows, never change them).
    reports: dict[int | None, list[run_selectors.MetricReport]] = {}
    for old, _ in olds:
        old_id = old.id if old else None
        if old_id not in reports:
            reports[old_id] = run_selectors.report_compare(
                data,
                old_id,
                new.id,
                real,
                min_change=min_change,
                status_metrics=status_of,
                rows=rows,
            )
    return [
        Comparison(label=label, old=old, new=new, reports=reports[old.id if old else None])
        for old, label in olds
    ]


@dataclass
class ReportOptions:
    metric: Metric | None
    sort: str
    filter_text: str
    name_filter: run_selectors.NameFilter | None
    filter_error: str
    hide_below: float
    min_change: float


def _report_options(
    request: HttpRequest, metrics: list[Metric], present: set[int]
) -> ReportOptions:
    """The report's options from the query string.  ``present``: the metric ids the
    (new) run has data for, which choose the default metric."""
    real = [m for m in metrics if m.type == Metric.REAL]
    wanted = request.GET.get("metric", "")
    metric = next(
        (m for m in real if m.name == wanted),
        run_selectors.report_metric_default(metrics, present),
    )
    filter_text = request.GET.get("filter", "")
    try:
        name_filter, error = run_selectors.name_filter_compile(filter_text), ""
    except run_selectors.FilterError as exc:
        name_filter, error = None, str(exc)
    sort = request.GET.get("sort", "delta")
    return ReportOptions(
        metric=metric,
        sort=sort if sort in run_selectors.SORTS else "delta",
        filter_text=filter_text,
        name_filter=name_filter,
        filter_error=error,
        hide_below=float_param(request, "hide", 0.0, lo=0.0, hi=1000.0),
        min_change=float_param(request, "threshold", 1.0, lo=0.0, hi=1000.0),
    )


def _small_rows(request: HttpRequest) -> int | None:
    """How many rows of moves under the threshold (SMALL, "unchanged" whatever their
    history) a report in the request's format shows with their noise estimate, the
    only thing their history gives: the page the first of the "unchanged" group, the
    text report none (it leaves that group out), the CSV and JSON exports all (None)."""
    output = request.GET.get("format", "html")
    if output in ("csv", "json"):
        return None
    return 0 if output == "txt" else run_selectors.UNCHANGED_ROW_LIMIT


def _render_report(
    request: HttpRequest,
    suite: TestSuite,
    comparisons: list[Comparison],
    options: ReportOptions,
    metrics: list[Metric],
    context: dict[str, Any],
    filename: str,
) -> HttpResponse:
    sections = []
    # Comparisons against one run (a baseline that is the previous run) share their
    # reports (``_comparisons``): each is refined, and its rows rendered, once.
    refined_of: dict[int, run_selectors.MetricReport] = {}
    for comparison in comparisons:
        report = comparison.report_for(options.metric)
        refined = None
        if report:
            refined = refined_of.get(id(report))
            if refined is None:
                refined = refined_of[id(report)] = run_selectors.report_refine(
                    report,
                    sort=options.sort,
                    name_filter=options.name_filter,
                    hide_below=options.hide_below,
                )
        sections.append({"comparison": comparison, "report": refined})
    output = request.GET.get("format", "html")
    if output in ("json", "csv", "txt") and options.filter_error:
        # The page shows the message beside the form; an export must not silently
        # ignore the filter it was asked for.
        return JsonResponse({"error": f"filter: {options.filter_error}"}, status=400)
    if output == "json":
        return JsonResponse(
            {
                "suite": suite.name,
                "metric": options.metric.name if options.metric else None,
                "comparisons": [
                    {
                        "label": s["comparison"].label,
                        "old_run": s["comparison"].old.id if s["comparison"].old else None,
                        "new_run": s["comparison"].new.id,
                        "geomean_old": s["report"].geomean_old if s["report"] else None,
                        "geomean_new": s["report"].geomean_new if s["report"] else None,
                        "rows": [r.as_dict() for r in s["report"].rows()] if s["report"] else [],
                    }
                    for s in sections
                ],
            }
        )
    if output == "csv":
        return _report_csv(sections, options, filename)
    if output == "txt":  # plain text for e-mail (perf/views/overview.py)
        return run_report_text(sections, {**context, "suite": suite})
    graph_url = reverse("perf:graph", args=[suite.name])
    regressions_url = reverse("perf:regression-list", args=[suite.name])
    from_point_action = csrf_input = ""
    if context.get("mode") == "run" and request.user.is_authenticated:
        from_point_action = reverse("perf:regression-from-point", args=[suite.name])
        csrf_input = (
            '<input type="hidden" name="csrfmiddlewaretoken" '
            f'value="{escape(get_token(request))}">'
        )
    groups = []
    shown_of: dict[int, tuple[int, list[dict[str, Any]]]] = {}  # refined report -> its groups
    for s in sections:
        report = s["report"]
        if report and id(report) in shown_of:
            s["detected"], s["groups"] = shown_of[id(report)]
            groups.append(s)
            continue
        s["detected"] = report.detected_count if report else 0
        limits = {"unchanged": run_selectors.UNCHANGED_ROW_LIMIT}
        s["groups"] = [
            {
                "key": key,
                "label": label,
                "rows": (
                    report.groups[key][: limits.get(key, run_selectors.GROUP_ROW_LIMIT)]
                    if report
                    else []
                ),
                "total": len(report.groups[key]) if report else 0,
                "limit": limits.get(key, run_selectors.GROUP_ROW_LIMIT),
            }
            for key, label in run_selectors.GROUPS
        ]
        if report:
            new = s["comparison"].new
            # The graph link of each row, but for the test id, built once.
            links = RowLinks(
                plot_prefix=f"{graph_url}?plot={new.machine_id}.",
                plot_suffix=f".{report.metric.position}&highlight={new.id}",
                regressions_url=regressions_url,
                from_point_action=from_point_action,
                csrf_input=csrf_input,
                order_id=new.order_id,
            )
            for group in s["groups"]:
                group["rows_html"] = report_rows_html(group["rows"], links)
            shown_of[id(report)] = (s["detected"], s["groups"])
        groups.append(s)
    query = request.GET.copy()
    query.pop("format", None)
    return render(
        request,
        "perf/run_report.html",
        {
            "suite": suite,
            "sections": groups,
            "options": options,
            "real_metrics": [m for m in metrics if m.type == Metric.REAL],
            "sorts": list(run_selectors.SORTS),
            "query": query.urlencode(),
            "row_limit": run_selectors.GROUP_ROW_LIMIT,
            **context,
        },
    )


def csv_cell(value: Any) -> Any:
    """Neutralise spreadsheet formula injection in a text cell.

    A text cell starting with = + - @ (or a tab/CR, which some spreadsheets skip)
    gets a leading apostrophe.  Numbers the site computed are written as numbers.
    """
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _report_csv(
    sections: list[dict[str, Any]], options: ReportOptions, filename: str
) -> HttpResponse:
    # The rows are written to one string, then to the response at once: a row at a time,
    # the response encodes and stores each line (2,000-10,000 of them) on its own.
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "comparison",
            "metric",
            "group",
            "test",
            "old",
            "new",
            "delta_percent",
            "noise_percent",
            "verdict",
            "z",
            "history_runs",
            "detected",
        ]
    )
    for s in sections:
        if not s["report"]:
            continue
        label, metric = csv_cell(s["comparison"].label), csv_cell(s["report"].metric.name)
        writer.writerows(
            [
                label,
                metric,
                row.group,
                csv_cell(row.test),
                "" if row.old is None else row.old,
                "" if row.new is None else row.new,
                "" if row.delta is None else round(row.delta, 4),
                "" if row.noise is None else round(row.noise, 4),
                row.verdict,
                "" if row.z is None else round(row.z, 3),
                row.history_runs,
                row.detected,
            ]
            for row in s["report"].rows()
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def run_detail(request: HttpRequest, suite: str, run_id: int) -> HttpResponse:
    suite_obj = suite_or_404(suite)
    run = selectors.run_get(suite_obj, run_id)
    if run is None:
        return lnt_links.run_moved(suite_obj, run_id)  # an LNT run id, or 404
    metrics = selectors.suite_metrics(suite_obj)
    present = run_selectors.run_metric_ids(run)
    options = _report_options(request, metrics, present)
    shown = [options.metric] if options.metric else []
    previous = run_selectors.run_previous(run)
    olds: list[tuple[Run | None, str]] = [(previous, "previous order")]
    baseline_key = request.GET.get("baseline", "").strip()
    baseline_error = ""
    if baseline_key:
        baseline = run_selectors.baseline_run(suite_obj, baseline_key, run.machine_id)
        if baseline is None:
            baseline_error = _baseline_missing(suite_obj, baseline_key, run)
        else:
            olds.append((baseline, f"baseline {baseline_key}"))
    comparisons = _comparisons(
        run,
        olds,
        shown,
        metrics,
        min_change=options.min_change,
        small_rows=_small_rows(request),
        options=options,
    )
    baselines = baseline_selectors.suite_baselines(suite_obj)  # a suite has few
    return _render_report(
        request,
        suite_obj,
        comparisons,
        options,
        metrics,
        {
            "run": run,
            "page_title": f"Run {run.id}",
            "baseline_key": baseline_key,
            "baseline_error": baseline_error,
            "baselines": baselines,
            "order_baselines": [b for b in baselines if b["order_id"] == run.order_id],
            "present": present,
            "profiles": profile_selectors.run_profiles(run.id),
            "mode": "run",
        },
        f"run-{run.id}",
    )


def _baseline_missing(suite: TestSuite, key: str, run: Run) -> str:
    """Why ``?baseline=key`` found no run: no such baseline, or no run of this machine at
    the baseline's order."""
    if key.isdigit():
        return f"No run {key} in this suite: give a run id or a baseline name."
    baseline = baseline_selectors.baseline_get(suite, key)
    if baseline is None:
        return f"No baseline called {key!r}: give a run id or a baseline name."
    order = ", ".join(str(v) for v in baseline["order__fields"].values())
    return (
        f"Machine {run.machine.name} has no run at order {order}, the order of baseline "
        f"{key!r}: nothing to compare against."
    )


def compare(request: HttpRequest, suite: str) -> HttpResponse:
    """Two runs (?a=<run>&b=<run>) or two orders of a machine (?machine=&a=rev&b=rev).

    ``a`` is the old side, ``b`` the new one.
    """
    suite_obj = suite_or_404(suite)
    metrics = selectors.suite_metrics(suite_obj)
    a_key, b_key = request.GET.get("a", "").strip(), request.GET.get("b", "").strip()
    machine_key = request.GET.get("machine", "").strip()
    error = ""
    old = new = None
    if a_key and b_key:
        if machine_key:
            machine = selectors.machine_find(suite_obj, machine_key)
            if machine is None:
                error = "No such machine."
            else:
                old = run_selectors.run_for_order(machine.id, a_key, suite_obj)
                new = run_selectors.run_for_order(machine.id, b_key, suite_obj)
        elif a_key.isdigit() and b_key.isdigit():
            old = selectors.run_get(suite_obj, int(a_key))
            new = selectors.run_get(suite_obj, int(b_key))
        if not error and (old is None or new is None):
            error = "One of the two runs or orders was not found."
    present = run_selectors.run_metric_ids(new) if old is not None and new is not None else set()
    options = _report_options(request, metrics, present)
    comparisons = []
    if old is not None and new is not None:
        comparisons = _comparisons(
            new,
            [(old, f"run {old.id}")],
            [options.metric] if options.metric else [],
            metrics,
            min_change=options.min_change,
            small_rows=_small_rows(request),
            options=options,
        )
    return _render_report(
        request,
        suite_obj,
        comparisons,
        options,
        metrics,
        {
            "run": new,
            "page_title": "Compare",
            "compare_error": error,
            "a": a_key,
            "b": b_key,
            "machine_key": machine_key,
            "present": present,
            "mode": "compare",
        },
        "compare",
    )
