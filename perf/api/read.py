"""LNT's REST read endpoints (``/api/db_<db>/v4/<suite>/...``), JSON only, paginated.

Writes here (POST schema) need a submission token; deletes, renames and merges are
in ``perf.api.manage``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import selectors
from ..formats import FormatError, parse_suite_schema
from ..models import Metric, Run, TestSuite
from ..services.suites import suite_save
from .common import authenticate, json_error, page_params, too_large, unknown_db

View = Callable[..., HttpResponse]


def suite_view(view: View) -> View:
    """Resolve ``db`` and ``suite`` from the URL; 404 JSON when unknown."""

    @wraps(view)
    def wrapper(
        request: HttpRequest, db: str, suite: str, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        error = unknown_db(db)
        if error:
            return error
        suite_obj = selectors.suite_get(suite)
        if suite_obj is None:
            return json_error(f"unknown test suite {suite!r}", 404)
        return view(request, suite_obj, *args, **kwargs)

    return wrapper


def _page(request: HttpRequest) -> tuple[int, int] | JsonResponse:
    return page_params(request)


@suite_view
def machines(request: HttpRequest, suite: TestSuite) -> HttpResponse:
    page = _page(request)
    if isinstance(page, JsonResponse):
        return page
    offset, limit = page
    return JsonResponse(
        {"machines": selectors.machine_list(suite, offset, limit), "offset": offset, "limit": limit}
    )


@suite_view
def machine(request: HttpRequest, suite: TestSuite, key: str) -> HttpResponse:
    found = selectors.machine_find(suite, key)
    if found is None:
        return json_error(f"no machine {key!r} in suite {suite.name!r}", 404)
    page = _page(request)
    if isinstance(page, JsonResponse):
        return page
    offset, limit = page
    return JsonResponse(
        {
            "machine": {
                "id": found.id,
                "name": found.name,
                **found.fields,
                "parameters": found.parameters,
            },
            "runs": selectors.machine_runs(found, offset, limit),
            "offset": offset,
            "limit": limit,
        }
    )


@suite_view
def run(request: HttpRequest, suite: TestSuite, run_id: int) -> HttpResponse:
    """GET a run (DELETE is served by ``perf.api.manage.run``)."""
    found = selectors.run_get(suite, run_id)
    if found is None:
        return json_error(f"no run {run_id} in suite {suite.name!r}", 404)
    order_fields = [m for m in parse_suite_schema(suite.schema).order_fields]
    return JsonResponse(selectors.run_export(found, order_fields))


@suite_view
def run_detection(request: HttpRequest, suite: TestSuite, run_id: int) -> HttpResponse:
    row = (
        Run.objects.filter(suite=suite, id=run_id)
        .values("id", "detection_state", "detection_attempts", "detected_at", "detection_error")
        .first()
    )
    if row is None:
        return json_error(f"no run {run_id} in suite {suite.name!r}", 404)
    return JsonResponse(row)


@suite_view
def samples(request: HttpRequest, suite: TestSuite) -> HttpResponse:
    raw_ids = request.GET.getlist("runid")
    if not raw_ids or not all(r.isdigit() for r in raw_ids):
        return json_error("give one or more runid=<integer> parameters", 400)
    if len(raw_ids) > 100:
        return json_error("at most 100 runid parameters per request", 400)
    page = _page(request)
    if isinstance(page, JsonResponse):
        return page
    offset, limit = page
    rows = selectors.samples_for_runs([int(r) for r in raw_ids], offset, limit)
    return JsonResponse({"samples": rows, "offset": offset, "limit": limit})


@suite_view
def order(request: HttpRequest, suite: TestSuite, key: str) -> HttpResponse:
    found = selectors.order_get(suite, key)
    if found is None:
        return json_error(f"no order {key!r} in suite {suite.name!r}", 404)
    return JsonResponse({"order": found})


@suite_view
def fields(request: HttpRequest, suite: TestSuite) -> HttpResponse:
    return JsonResponse(
        {
            "fields": [
                {
                    "column_id": m.position,
                    "column_name": m.name,
                    "type": m.type,
                    "bigger_is_better": m.bigger_is_better,
                    "display_name": m.label,
                    "unit": m.unit,
                }
                for m in selectors.suite_metrics(suite)
            ]
        }
    )


@suite_view
def tests(request: HttpRequest, suite: TestSuite) -> HttpResponse:
    page = _page(request)
    if isinstance(page, JsonResponse):
        return page
    offset, limit = page
    return JsonResponse(
        {"tests": selectors.test_list(suite, offset, limit), "offset": offset, "limit": limit}
    )


def _series(
    suite: TestSuite, machine_id: int, test_id: int, field_index: int
) -> tuple[int, Metric] | JsonResponse:
    metric = Metric.objects.filter(suite=suite, position=field_index).first()
    if metric is None:
        return json_error(f"no field {field_index} in suite {suite.name!r}", 404)
    series = selectors.series_find(machine_id, test_id, metric)
    if series is None:
        return json_error(
            f"no data for machine {machine_id}, test {test_id}, field {field_index}", 404
        )
    return series.id, metric


@suite_view
def graph(
    request: HttpRequest, suite: TestSuite, machine_id: int, test_id: int, field_index: int
) -> HttpResponse:
    found = _series(suite, machine_id, test_id, field_index)
    if isinstance(found, JsonResponse):
        return found
    page = _page(request)
    if isinstance(page, JsonResponse):
        return page
    offset, limit = page
    points = selectors.series_points(found[0], offset=offset, limit=limit)
    body = [
        [
            ", ".join(str(v) for v in p["order__fields"].values()),
            p["value"],
            {"runID": p["run_id"], "date": p["run__start_time"].isoformat(), "label": ""},
        ]
        for p in points
        if p["value"] is not None and not p["failed"]
    ]
    return JsonResponse(body, safe=False)


@suite_view
def regression(
    request: HttpRequest, suite: TestSuite, machine_id: int, test_id: int, field_index: int
) -> HttpResponse:
    found = _series(suite, machine_id, test_id, field_index)
    if isinstance(found, JsonResponse):
        return found
    return JsonResponse({"field_changes": selectors.series_changes(found[0])})


@csrf_exempt
def schema(request: HttpRequest, db: str, suite: str) -> HttpResponse:
    """GET the suite's schema document; POST one (with a token) to create or extend it."""
    error = unknown_db(db)
    if error:
        return error
    if request.method == "POST":
        token = authenticate(request)
        if isinstance(token, JsonResponse):
            return token
        if token.machine_name:
            return json_error(
                "this token is bound to a machine and may not change suites; "
                "use a token without a machine",
                403,
            )
        error = too_large(request)
        if error:
            return error
        try:
            parsed = parse_suite_schema(request.body)
            if parsed.name != suite:
                raise FormatError(
                    f"schema name {parsed.name!r} does not match the URL's suite {suite!r}"
                )
            saved, created = suite_save(parsed)
        except FormatError as exc:
            return json_error(exc.message, 400)
        return JsonResponse(
            {"success": True, "suite": saved.name, "created": created, "schema": saved.schema},
            status=201 if created else 200,
        )
    if request.method != "GET":
        return json_error("use GET to read the schema or POST (with a token) to change it", 405)
    found = selectors.suite_get(suite)
    if found is None:
        return json_error(f"unknown test suite {suite!r}", 404)
    return JsonResponse(found.schema)
