"""The graph page and its JSON data endpoint (a page endpoint, not the LNT API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

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


def _options(request: HttpRequest) -> dict[str, Any]:
    def pick(name: str, allowed: tuple[str, ...]) -> str:
        value = request.GET.get(name, allowed[0])
        return value if value in allowed else allowed[0]

    return {
        "agg": pick("agg", AGGREGATES),
        "smooth": pick("smooth", SMOOTHING),
        "window": int_param(request, "window", 5, lo=2, hi=100),
        "x": pick("x", X_AXES),
        "log": request.GET.get("log") == "1",
        "samples": request.GET.get("samples") == "1",
    }


def graph(request: HttpRequest, suite: str) -> HttpResponse:
    """The graph page.  Adding series from the form redirects to the canonical URL.

    The form's GET (machine, test, metric) is resolved into ``plot`` keys and the
    browser is sent to a URL with only ``plot`` and the display options, so that
    a graph can be shared by its URL.  Nothing is written.
    """
    suite_obj = suite_or_404(suite)
    lnt_url = lnt_links.graph_redirect(request, suite_obj)  # LNT's plot.N=... links
    if lnt_url is not None:
        return lnt_url
    keys = graphs.plot_keys_parse(request.GET.getlist("plot"))
    add_error = ""
    if "add" in request.GET:
        machine_ids = [int(m) for m in request.GET.getlist("machine") if m.isdigit()][:20]
        test_names = [t.strip() for t in request.GET.get("tests", "").splitlines() if t.strip()]
        metric_pos = int_param(request, "metric", 0, lo=0, hi=9999)
        tests = selectors.test_ids_by_name(suite_obj, test_names[: graphs.MAX_PLOTS])
        if not machine_ids or not tests:
            add_error = "Choose at least one machine and one existing test name."
        else:
            new = [f"{m}.{t}.{metric_pos}" for m in machine_ids for t in tests]
            keys = graphs.plot_keys_parse([str(k) for k in keys] + new)
            query = [("plot", str(k)) for k in keys] + [
                (k, v)
                for k, v in request.GET.items()
                if k in ("agg", "smooth", "window", "x", "log", "samples")
            ]
            return redirect(reverse("perf:graph", args=[suite]) + "?" + urlencode(query))
    series = graphs.graph_series(suite_obj, keys)
    machines = selectors.machine_choices(suite_obj, limit=200)
    metrics = selectors.real_metric_choices(suite_obj)
    for s in series:
        others = [str(k) for k in keys if str(k) != s["key"]]
        s["remove_url"] = "?" + urlencode(
            [("plot", k) for k in others] + [(k, v) for k, v in request.GET.items() if k != "plot"]
        )
    config = {
        "dataUrl": reverse("perf:graph-data", args=[suite]),
        "runUrl": reverse("perf:run-detail", args=[suite, 0]).rstrip("0"),
        "plots": [s["key"] for s in series],
        "highlight": int_param(request, "highlight", 0, lo=0, hi=2**62),
        **_options(request),
    }
    return render(
        request,
        "perf/graph.html",
        {
            "suite": suite_obj,
            "series": series,
            "machines": machines,
            "metrics": metrics,
            "options": _options(request),
            "config": config,
            "add_error": add_error,
            "max_plots": graphs.MAX_PLOTS,
        },
    )


def _point_arrays(points: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {
        "position": [p["position"] for p in points],
        "time": [int(p["run__start_time"].timestamp()) for p in points],
        "run": [p["run_id"] for p in points],
        "order": [", ".join(str(v) for v in p["order__fields"].values()) for p in points],
        "median": [None if p["failed"] else p["value"] for p in points],
        "min": [None if p["failed"] else p["minimum"] for p in points],
        "mean": [None if p["failed"] else p["mean"] for p in points],
        "failed": [p["failed"] for p in points],
    }


def graph_data(request: HttpRequest, suite: str) -> JsonResponse:
    """Points, samples and change markers of up to MAX_PLOTS series, as JSON.

    ``before`` pages to older points; ``around`` (a position) returns a window of
    ``width`` points each side instead, for the small graphs of a regression;
    ``max_points`` thins a long series server-side (min/max per bucket).  Each series
    carries ``baselines``: ``[{"name", "order", "value"}]``, its value at each baseline
    order of the suite (``series_baseline_values``).
    """
    suite_obj = suite_or_404(suite)
    keys = graphs.plot_keys_parse(request.GET.getlist("plot"))
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
    out = []
    for s in series:
        more = False
        if around.lstrip("-").isdigit():
            points = graphs.series_around(
                s["id"], int(around), width=int_param(request, "width", 30, lo=2, hi=500)
            )
        else:
            points, more = graphs.series_window(
                s["id"], before=int(before) if before.lstrip("-").isdigit() else None
            )
        points, thinned = graphs.downsample(points, max_points)
        params = {str(p["run_id"]): p["run__parameters"] for p in points}
        samples = None
        if want_samples:
            recent = [p["run_id"] for p in points[-graphs.SAMPLE_POINT_LIMIT :]]
            by_run = graphs.series_samples(s["id"], recent)
            samples = [by_run.get(p["run_id"]) for p in points]
        out.append(
            {
                "key": s["key"],
                "machine": s["machine__name"],
                "test": s["test__name"],
                "metric": s["metric__display_name"] or s["metric__name"],
                "unit": s["metric__unit_abbrev"],
                "bigger_is_better": s["metric__bigger_is_better"],
                "points": _point_arrays(points),
                "params": params,
                "samples": samples,
                "changes": changes_by_series.get(s["id"], []),
                "baselines": baselines.get(s["id"], []),
                "more_before": more,
                "downsampled": thinned,
            }
        )
    return JsonResponse({"series": out})
