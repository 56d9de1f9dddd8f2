"""The graph page and its JSON data endpoint (a page endpoint, not the LNT API)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from .. import selectors
from ..selectors import baselines as baseline_selectors
from ..selectors import graphs
from . import lnt_links
from .common import int_param, suite_or_404

AGGREGATES = ("median", "min", "mean")
SMOOTHING = ("none", "mean", "median")
X_AXES = ("order", "date")
# The display options of the canonical URL, in the order the URL lists them.
OPTION_NAMES = (
    "agg",
    "smooth",
    "window",
    "x",
    "log",
    "samples",
    "normalize_by_median",
    "hide_lineplot",
    "show_stddev",
    "highlight",
)
# LNT's graph options this page accepts but does not draw (yet): the page says so.
LNT_NOT_DRAWN = ("show_mad", "show_linear_regression", "show_failures")
_FALSE = ("", "0", "false", "off", "no")
MAX_BASELINE_RUNS = 10


@dataclass
class GraphQuery:
    """A graph URL in lntsite's names or LNT's (v4_graph), normalised.

    ``plots`` and ``means`` are the raw key strings (validated later by the
    selectors' parsers); ``notes`` say which of LNT's parameters were ignored.
    """

    plots: list[str]
    means: list[str]
    options: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    # LNT's ``baseline.<title>=<run id>``: (title, run id), drawn as dashed lines.
    baseline_runs: list[tuple[str, int]] = field(default_factory=list)


def _flag(request: HttpRequest, *names: str) -> bool:
    """True when any of ``names`` is given with a value other than empty/0/false/off/no.

    LNT tests ``bool(request.args.get(name))``, so "1", "on", "yes" all mean on.
    """
    return any(request.GET.get(n, "").strip().lower() not in _FALSE for n in names)


def graph_query(request: HttpRequest) -> GraphQuery:
    """Read a graph URL written with lntsite's parameter names or with LNT's.

    LNT: ``plot.<n>=<machine>.<test>.<field>``, ``mean=<machine>.<field>``,
    ``highlight_run``/``hide_highlight``, ``show_moving_average``/``moving_average``,
    ``show_moving_median``/``moving_median``, ``moving_window_size``,
    ``switch_min_mean`` (mean instead of the default aggregate),
    ``show_all_points``/``hide_all_points``, ``hide_lineplot``, ``xaxis_date``,
    ``logarithmic_scale``, ``normalize_by_median``, ``show_stddev``, ``baseline.<title>=<run id>``
    (each plotted test's value in that run, a dashed line labelled ``title``; at most
    MAX_BASELINE_RUNS; a value that is not a run id is named in ``notes``).  The options
    in LNT_NOT_DRAWN are accepted and named in ``notes``.
    Junk values fall back to the defaults: a graph URL never fails.
    """
    get = request.GET
    plots = list(get.getlist("plot"))
    notes = []
    baseline_runs: list[tuple[str, int]] = []
    for name in get:
        if name.startswith("plot.") and name != "plot.":
            plots.extend(get.getlist(name))
        elif name.startswith("baseline."):
            value = get.get(name, "").strip()
            title = name[len("baseline.") :][:80] or "baseline"
            if not value.isdigit() or len(value) > 18:
                notes.append(f"{name}={value[:40]} is not a run id: that baseline was ignored.")
            elif len(baseline_runs) < MAX_BASELINE_RUNS:
                baseline_runs.append((title, int(value)))
    notes.extend(
        f"LNT's option {n} is accepted but not drawn by this graph."
        for n in LNT_NOT_DRAWN
        if _flag(request, n)
    )

    def pick(name: str, allowed: tuple[str, ...]) -> str:
        value = get.get(name, allowed[0])
        return value if value in allowed else allowed[0]

    smooth = pick("smooth", SMOOTHING)
    if _flag(request, "show_moving_average", "moving_average"):
        smooth = "mean"
    elif _flag(request, "show_moving_median", "moving_median"):
        smooth = "median"
    window_name = "moving_window_size" if "moving_window_size" in get else "window"
    highlight_name = "highlight_run" if "highlight_run" in get else "highlight"
    options = {
        "agg": "mean" if _flag(request, "switch_min_mean") else pick("agg", AGGREGATES),
        "smooth": smooth,
        "window": int_param(request, window_name, 5, lo=2, hi=100),
        "x": "date" if _flag(request, "xaxis_date") else pick("x", X_AXES),
        "log": _flag(request, "log", "logarithmic_scale"),
        "samples": _flag(request, "samples", "show_all_points")
        and not _flag(request, "hide_all_points"),
        "normalize_by_median": _flag(request, "normalize_by_median"),
        "hide_lineplot": _flag(request, "hide_lineplot"),
        "show_stddev": _flag(request, "show_stddev"),
        "highlight": 0
        if _flag(request, "hide_highlight")
        else int_param(request, highlight_name, 0, lo=0, hi=2**62),
    }
    return GraphQuery(
        plots=plots,
        means=list(get.getlist("mean")),
        options=options,
        notes=notes,
        baseline_runs=baseline_runs,
    )


def _option_pairs(options: dict[str, Any]) -> list[tuple[str, str]]:
    """The canonical URL's option parameters (booleans only when on, 0s left out)."""
    pairs = []
    for name in OPTION_NAMES:
        value = options[name]
        if value is True:
            pairs.append((name, "1"))
        elif value not in (False, 0):
            pairs.append((name, str(value)))
    return pairs


def _add_series(
    request: HttpRequest, suite_obj: Any, keys: list[graphs.PlotKey], means: list[graphs.MeanKey]
) -> tuple[list[graphs.PlotKey], list[graphs.MeanKey], str]:
    """Apply the "Add series" form: (plot keys, mean keys, error message)."""
    machine_ids = [int(m) for m in request.GET.getlist("machine") if m.isdigit()][:20]
    test_names = [t.strip() for t in request.GET.get("tests", "").splitlines() if t.strip()]
    metric_pos = int_param(request, "metric", 0, lo=0, hi=9999)
    want_mean = _flag(request, "add_mean")
    tests = selectors.test_ids_by_name(suite_obj, test_names[: graphs.MAX_PLOTS])
    if _flag(request, "all_machines") and tests:
        machine_ids = graphs.machines_running(suite_obj, tests, metric_pos)
    if not machine_ids:
        return keys, means, "Choose at least one machine (or all machines that run the tests)."
    if not tests and not want_mean:
        return keys, means, "Name at least one existing test, or add the geometric mean."
    new = [f"{m}.{t}.{metric_pos}" for m in machine_ids for t in tests]
    keys = graphs.plot_keys_parse([str(k) for k in keys] + new)
    if want_mean:
        means = graphs.mean_keys_parse(
            [str(k) for k in means] + [f"{m}.{metric_pos}" for m in machine_ids]
        )
    return keys, means, ""


def graph(request: HttpRequest, suite: str) -> HttpResponse:
    """The graph page.  Adding series from the form redirects to the canonical URL.

    The form's GET (machines, tests, metric, "all machines", "geometric mean") is
    resolved into ``plot`` and ``mean`` keys and the browser is sent to a URL with
    only those and the display options, so that a graph can be shared by its URL.
    LNT's graph URLs open the same view (see ``graph_query``).  Nothing is written.
    """
    suite_obj = suite_or_404(suite)
    lnt_url = lnt_links.graph_redirect(request, suite_obj)  # LNT's plot.N=... links
    if lnt_url is not None:
        return lnt_url
    query = graph_query(request)
    keys = graphs.plot_keys_parse(query.plots)
    means = graphs.mean_keys_parse(query.means)
    add_error = ""
    if "add" in request.GET:
        keys, means, add_error = _add_series(request, suite_obj, keys, means)
        if not add_error:
            canonical = [("plot", str(k)) for k in keys] + [("mean", str(k)) for k in means]
            url = reverse("perf:graph", args=[suite]) + "?"
            return redirect(url + urlencode(canonical + _option_pairs(query.options)))
    series = graphs.graph_series(suite_obj, keys)
    mean_rows = graphs.mean_series(suite_obj, means)
    machines = selectors.machine_choices(suite_obj, limit=200)
    metrics = selectors.real_metric_choices(suite_obj)
    shown = [("plot", s["key"]) for s in series] + [("mean", m["key"]) for m in mean_rows]
    kept = [(f"baseline.{title}", str(run)) for title, run in query.baseline_runs]
    for name, rows in (("plot", series), ("mean", mean_rows)):
        for row in rows:
            others = [pair for pair in shown if pair != (name, row["key"])]
            row["remove_url"] = "?" + urlencode(others + _option_pairs(query.options) + kept)
    config = {
        "dataUrl": reverse("perf:graph-data", args=[suite]),
        "samplesUrl": reverse("perf:graph-samples", args=[suite]),
        "runUrl": reverse("perf:run-detail", args=[suite, 0]).rstrip("0"),
        "plots": [s["key"] for s in series],
        "means": [m["key"] for m in mean_rows],
        "baselineRuns": query.baseline_runs,
        **query.options,
    }
    return render(
        request,
        "perf/graph.html",
        {
            "suite": suite_obj,
            "series": series,
            "means": mean_rows,
            "machines": machines,
            "metrics": metrics,
            "options": query.options,
            "notes": query.notes,
            "config": config,
            "add_error": add_error,
            "max_plots": graphs.MAX_PLOTS,
            "max_means": graphs.MAX_MEANS,
            # The add form offers the metric already on the graph first.
            "add_metric": series[0]["metric__position"]
            if series
            else (mean_rows[0]["metric"]["position"] if mean_rows else None),
        },
    )


def graph_data(request: HttpRequest, suite: str) -> JsonResponse:
    """Points, samples and change markers of up to MAX_PLOTS series, as JSON,
    then the geometric-mean series of up to MAX_MEANS ``mean`` keys (whole history).

    ``before`` pages to older points; ``around`` (a position) returns a window of
    ``width`` points each side instead, for the small graphs of a regression;
    ``max_points`` thins a long series server-side (min/max per bucket).  Each series
    carries ``baselines``: ``[{"name", "order", "value"}]``, its value at each baseline
    order of the suite (``series_baseline_values``), then its test's value in each run
    of LNT's ``baseline.<title>=<run id>`` (``run_baseline_values``, one more query).
    The points of all the series are one query on PostgreSQL (``series_windows``),
    their samples one more.  The runs' free parameters are not here: the hover reads
    them with the point's samples (``graph_samples``).
    """
    suite_obj = suite_or_404(suite)
    query = graph_query(request)
    keys = graphs.plot_keys_parse(query.plots)
    means = graphs.mean_keys_parse(query.means)
    series = graphs.graph_series(suite_obj, keys)
    before = request.GET.get("before", "")
    around = request.GET.get("around", "")
    max_points = int_param(request, "max_points", graphs.POINT_LIMIT, lo=100, hi=graphs.POINT_LIMIT)
    want_samples = request.GET.get("samples") == "1"
    changes_by_series: dict[int, list[dict[str, Any]]] = {}
    for c in graphs.graph_changes([s["id"] for s in series]):
        changes_by_series.setdefault(c["series_id"], []).append(
            {
                "position": c["end_position"],
                "old": c["old_value"],
                "new": c["new_value"],
                "relative_change": c["relative_change"],
                "is_regression": c["is_regression"],
                "suspect": not c["confirmed"],  # seen on the newest run alone, not yet confirmed
                "regression": c["indicator__regression_id"],
                "title": c["indicator__regression__title"],
            }
        )
    # The series' values at the suite's baseline orders (dashed lines); the small graphs
    # of a regression (``around``) draw none.
    baselines = (
        {}
        if around
        else baseline_selectors.series_baseline_values([s["id"] for s in series], suite_obj)
    )
    if query.baseline_runs and series and not around:
        for sid, lines in baseline_selectors.run_baseline_values(
            series, query.baseline_runs, suite_obj
        ).items():
            baselines.setdefault(sid, []).extend(lines)
    ids = [s["id"] for s in series]
    older = int(before) if before.lstrip("-").isdigit() else None
    # The common case, whole windows without samples: PostgreSQL builds the points'
    # JSON (a window holds at most POINT_LIMIT points, so nothing is thinned).
    ready = (
        graphs.series_windows_json(ids, before=older)
        if not around and not want_samples and max_points >= graphs.POINT_LIMIT
        else None
    )
    if ready is not None:
        return _series_json_response(
            [_series_json(suite_obj, s, changes_by_series, baselines) for s in series],
            [ready[s["id"]] for s in series],
            [_mean_json(suite_obj, m) for m in graphs.mean_series(suite_obj, means)],
        )
    if around.lstrip("-").isdigit():
        width = int_param(request, "width", 30, lo=2, hi=500)
        around_rows = graphs.series_around(ids, int(around), width=width)
        windows = {sid: (rows, False) for sid, rows in around_rows.items()}
    else:
        windows = graphs.series_windows(ids, before=older)
    shown = {sid: graphs.downsample(rows, max_points) for sid, (rows, _) in windows.items()}
    samples = {}
    if want_samples:  # the newest SAMPLE_POINT_LIMIT points of each series
        recent = graphs.SAMPLE_POINT_LIMIT
        samples = graphs.series_samples(
            {sid: [p.run for p in rows[-recent:]] for sid, (rows, _) in shown.items()}
        )
    out = []
    for s in series:
        points, thinned = shown[s["id"]]
        out.append(
            _series_json(suite_obj, s, changes_by_series, baselines)
            | {
                "points": graphs.point_columns(points),
                "samples": [samples.get((s["id"], p.run)) for p in points]
                if want_samples
                else None,
                "more_before": windows[s["id"]][1],
                "downsampled": thinned,
            }
        )
    out.extend(_mean_json(suite_obj, m) for m in graphs.mean_series(suite_obj, means))
    return JsonResponse({"series": out})


def _series_json(
    suite_obj: Any,
    s: dict[str, Any],
    changes: dict[int, list[dict[str, Any]]],
    baselines: dict[int, list[dict[str, Any]]],
) -> dict[str, Any]:
    """A plotted series' names, unit, changes and baselines: all but its points."""
    return {
        "key": s["key"],
        "machine": s["machine__name"],
        "test": s["test__name"],
        "metric": s["metric__display_name"] or s["metric__name"],
        "unit": graphs.metric_unit(suite_obj.name, s["metric__name"], s["metric__unit_abbrev"]),
        "bigger_is_better": s["metric__bigger_is_better"],
        "samples": None,
        "changes": changes.get(s["id"], []),
        "baselines": baselines.get(s["id"], []),
        "downsampled": False,
    }


def _series_json_response(
    series: list[dict[str, Any]], points: list[tuple[str, bool]], means: list[dict[str, Any]]
) -> HttpResponse:
    """The graph data of ``series`` whose points are JSON text already (``points``:
    (JSON text, more before) each), then the ``means``: the same document as
    JsonResponse({"series": [...]}) would write, the points' text put in as it is."""
    parts = []
    for row, (columns, more) in zip(series, points, strict=True):
        text = json.dumps(row | {"more_before": more}, cls=DjangoJSONEncoder)
        parts.append(text[:-1] + ', "points": ' + columns + "}")  # a dict's text ends in }
    parts.extend(json.dumps(m, cls=DjangoJSONEncoder) for m in means)
    return HttpResponse(
        '{"series": [' + ", ".join(parts) + "]}", content_type="application/json"
    )


def _mean_json(suite_obj: Any, mean: dict[str, Any]) -> dict[str, Any]:
    """One geometric-mean series in the shape of a plotted series (one query)."""
    metric = mean["metric"]
    rows = graphs.geomean_points(
        mean["machine_id"], metric["id"], bigger_is_better=metric["bigger_is_better"]
    )
    values = [r["value"] for r in rows]
    return {
        "key": "mean:" + mean["key"],
        "is_mean": True,
        "machine": mean["machine__name"],
        "test": "Geometric mean of all tests",
        "metric": metric["display_name"] or metric["name"],
        "unit": graphs.metric_unit(suite_obj.name, metric["name"], metric["unit_abbrev"]),
        "bigger_is_better": metric["bigger_is_better"],
        "points": {
            "position": [r["position"] for r in rows],
            "time": [int(r["start_time"].timestamp()) for r in rows],
            "run": [r["run_id"] for r in rows],
            "order": [", ".join(str(v) for v in r["order_fields"].values()) for r in rows],
            "median": values,
            "min": values,
            "mean": values,
            "failed": [False] * len(rows),
            "tests": [r["tests"] for r in rows],
        },
        "samples": None,
        "changes": [],
        "more_before": False,
        "downsampled": False,
    }


def graph_samples(request: HttpRequest, suite: str) -> JsonResponse:
    """The raw samples behind one point and its run's free parameters:
    ``?plot=<machine>.<test>.<field>&run=<id>``.

    Fetched by the graph's hover, one point at a time.  Bad keys are a JSON 400
    naming the parameter; a run without samples for that series answers ``null``.
    """
    suite_obj = suite_or_404(suite)
    keys = graphs.plot_keys_parse([request.GET.get("plot", "")])
    run = request.GET.get("run", "")
    if not keys:
        return JsonResponse(
            {"error": "plot must be <machine id>.<test id>.<field index>"}, status=400
        )
    if not run.isdigit() or len(run) > 18:
        return JsonResponse({"error": "run must be a run id"}, status=400)
    samples, parameters = graphs.point_samples(suite_obj, keys[0], int(run))
    return JsonResponse(
        {"plot": str(keys[0]), "run": int(run), "samples": samples, "parameters": parameters}
    )
