"""LNT's REST read endpoints (``/api/db_<db>/v4/<suite>/...``), JSON only, paginated.

Answers have LNT's shapes (``lnt_shapes``), with lntsite's extras as added keys
(``offset``/``limit`` on lists, run counts...).  Writes here (POST schema) need a
submission token; deletes, renames and merges are in ``perf.api.manage``.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .. import selectors
from ..formats import FormatError, parse_suite_schema
from ..models import Metric, Run, TestSuite
from ..selectors import graphs, lnt
from ..services.suites import suite_save
from .common import View, authenticate, json_error, page_params, too_large, unknown_db
from .lnt_shapes import (
    field_json,
    graph_points,
    lnt_body,
    lnt_time,
    machine_json,
    order_json,
    order_label,
    run_json,
)


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


def read_only(view: View) -> View:
    """A GET endpoint: any other method is a JSON 405, never Django's CSRF page
    (machine clients have no cookie, and only GET and HEAD reach the view)."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return json_error(f"{request.method} is not allowed here; use GET", 405)
        return view(request, *args, **kwargs)

    return wrapper


def _page(request: HttpRequest) -> tuple[int, int] | JsonResponse:
    return page_params(request)


@read_only
@suite_view
def machines(request: HttpRequest, suite: TestSuite) -> HttpResponse:
    page = _page(request)
    if isinstance(page, JsonResponse):
        return page
    offset, limit = page
    rows = selectors.machine_list(suite, offset, limit)
    return JsonResponse(
        lnt_body(
            machines=[
                machine_json(
                    r["id"],
                    r["name"],
                    r["fields"],
                    r["parameters"],
                    run_count=r["run_count"],
                    last_run=lnt_time(r["last_run"]),
                )
                for r in rows
            ],
            offset=offset,
            limit=limit,
        )
    )


@read_only
@suite_view
def machine(request: HttpRequest, suite: TestSuite, key: str) -> HttpResponse:
    found = selectors.machine_find(suite, key)
    if found is None:
        return json_error(f"no machine {key!r} in suite {suite.name!r}", 404)
    page = _page(request)
    if isinstance(page, JsonResponse):
        return page
    offset, limit = page
    order_fields = list(parse_suite_schema(suite.schema).order_fields)
    runs = [
        run_json(
            r,
            r["order__fields"],
            order_fields,
            submitted_at=lnt_time(r["submitted_at"]),
            detection_state=r["detection_state"],
        )
        for r in selectors.machine_runs(found, offset, limit)
    ]
    return JsonResponse(
        lnt_body(
            machine=machine_json(found.id, found.name, found.fields, found.parameters),
            runs=runs,
            offset=offset,
            limit=limit,
        )
    )


@suite_view
def run(request: HttpRequest, suite: TestSuite, run_id: int) -> HttpResponse:
    """GET a run (DELETE is served by ``perf.api.manage.run``)."""
    found = selectors.run_get(suite, run_id)
    if found is None:
        return json_error(f"no run {run_id} in suite {suite.name!r}", 404)
    order_fields = list(parse_suite_schema(suite.schema).order_fields)
    run_row = {
        "id": found.id,
        "start_time": found.start_time,
        "end_time": found.end_time,
        "order_id": found.order_id,
        "run_fields": found.run_fields,
        "parameters": found.parameters,
    }
    machine = found.machine
    # LNT's shape; format_version makes the file that `lnt admin get-run` saves a
    # report that `lnt checkformat`, `lnt submit` and lntsite read back unchanged.
    return JsonResponse(
        lnt_body(
            format_version="2",
            run=run_json(run_row, found.order.fields, order_fields, machine_id=machine.id),
            machine=machine_json(machine.id, machine.name, machine.fields, machine.parameters),
            tests=lnt.run_test_rows(found),
        )
    )


@read_only
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


@read_only
@suite_view
def samples(request: HttpRequest, suite: TestSuite) -> HttpResponse:
    """LNT's ``samples?runid=``: one row per sample; paged by (run, test)."""
    raw_ids = request.GET.getlist("runid")
    # At most 18 digits, as for ids in URLs: a longer one cannot be a run.
    if not raw_ids or not all(r.isdigit() and len(r) <= 18 for r in raw_ids):
        return json_error(
            'give one or more runid=<integer> parameters: "samples?runid=1&runid=2"', 400
        )
    if len(raw_ids) > 100:
        return json_error("at most 100 runid parameters per request", 400)
    page = _page(request)
    if isinstance(page, JsonResponse):
        return page
    offset, limit = page
    rows = lnt.sample_rows(suite, [int(r) for r in raw_ids], offset, limit)
    return JsonResponse(lnt_body(samples=rows, offset=offset, limit=limit))


@read_only
@suite_view
def sample(request: HttpRequest, suite: TestSuite, sample_id: str) -> HttpResponse:
    """LNT's ``samples/<id>``, with the ids that ``samples?runid=`` gives."""
    # More than 18 digits cannot be an id (and would overflow a bigint column).
    is_id = sample_id.isdigit() and len(sample_id) <= 18
    row = lnt.sample_row(suite, int(sample_id)) if is_id else None
    if row is None:
        return json_error(f"no sample {sample_id!r} in suite {suite.name!r}", 404)
    return JsonResponse(lnt_body(samples=[row]))


@read_only
@suite_view
def order(request: HttpRequest, suite: TestSuite, key: str) -> HttpResponse:
    found = selectors.order_get(suite, key)
    if found is None:
        return json_error(f"no order {key!r} in suite {suite.name!r}", 404)
    return JsonResponse(lnt_body(orders=[order_json(found)]))


@read_only
@suite_view
def fields(request: HttpRequest, suite: TestSuite) -> HttpResponse:
    return JsonResponse(
        lnt_body(
            fields=[
                field_json(
                    m.position,
                    m.name,
                    m.type,
                    type=m.type,
                    bigger_is_better=m.bigger_is_better,
                    display_name=m.label,
                    unit=m.unit,
                )
                for m in selectors.suite_metrics(suite)
            ]
        )
    )


@read_only
@suite_view
def tests(request: HttpRequest, suite: TestSuite) -> HttpResponse:
    page = _page(request)
    if isinstance(page, JsonResponse):
        return page
    offset, limit = page
    return JsonResponse(
        lnt_body(tests=selectors.test_list(suite, offset, limit), offset=offset, limit=limit)
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


@read_only
@suite_view
def graph(
    request: HttpRequest, suite: TestSuite, machine_id: int, test_id: int, field_index: int
) -> HttpResponse:
    """LNT's graph data: ``[revision, value, {label, date, runID}]`` per sample, oldest
    first; ``limit`` keeps the newest samples (at most graphs.POINT_LIMIT)."""
    found = _series(suite, machine_id, test_id, field_index)
    if isinstance(found, JsonResponse):
        return found
    raw_limit = request.GET.get("limit", "")
    if raw_limit and not raw_limit.isdigit():
        return json_error(f"limit must be a non-negative integer, not {raw_limit!r}", 400)
    limit = min(int(raw_limit or 0) or graphs.POINT_LIMIT, graphs.POINT_LIMIT)
    return JsonResponse(graph_points(lnt.graph_samples(found[0], limit=limit)), safe=False)


@read_only
@suite_view
def regression(
    request: HttpRequest, suite: TestSuite, machine_id: int, test_id: int, field_index: int
) -> HttpResponse:
    """LNT's list of the regressions holding a change of this series."""
    found = _series(suite, machine_id, test_id, field_index)
    if isinstance(found, JsonResponse):
        return found
    return JsonResponse(
        [
            {
                "title": c["indicator__regression__title"],
                "id": c["indicator__regression_id"],
                "state": c["indicator__regression__state"],
                "end_point": [order_label(c["end_order__fields"]), c["new_value"]],
                "field_change_id": c["id"],
                "old_value": c["old_value"],
                "relative_change": c["relative_change"],
                "is_regression": c["is_regression"],
            }
            for c in lnt.series_regressions(found[0])
        ],
        safe=False,
    )


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
            lnt_body(
                testsuite=saved.name,  # what `lnt admin test-suite add` prints
                success=True,
                suite=saved.name,
                created=created,
                schema=saved.schema,
            ),
            status=201 if created else 200,
        )
    if request.method != "GET":
        return json_error("use GET to read the schema or POST (with a token) to change it", 405)
    found = selectors.suite_get(suite)
    if found is None:
        return json_error(f"unknown test suite {suite!r}", 404)
    return JsonResponse(found.schema)
