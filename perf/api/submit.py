"""Run submission over HTTP: LNT's form endpoint and the REST endpoint.

Both are token-authenticated machine endpoints (no cookies), hence csrf_exempt.
A submission is: check size and token, parse, one transaction, enqueue, answer.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..formats import FormatError
from ..selectors import lnt
from ..services.ingest import ImportRefused, report_import
from ..tasks import enqueue_detection
from .common import URLENCODED, authenticate, json_error, too_large, unknown_db, urlencoded_form
from .lnt_shapes import submission_body_chunks, submission_test_results

# A reply with this many run-over-run results or more is streamed (JSON written in
# chunks as the verdicts come) rather than built whole: a 90,000-test run has 450,000.
STREAM_RESULTS_FROM = 20_000
# A report of this many bytes or more (about 250 tests) is stored and compared with
# the cyclic garbage collector paused (``collector_paused``): its collections during a
# 5,000-test submission found nothing and cost 5 % of its CPU after ``gc.freeze`` (25 %
# without it; docs/performance.md "Submissions, round 4").  Gunicorn's post_request
# collects after a report of 4 MB or more (PERF_TRIM_AFTER_BYTES).
PAUSE_COLLECTOR_FROM_BYTES = 64 * 1024


@contextmanager
def collector_paused(pause: bool = True) -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector off (when ``pause``),
    as it was after.  Reference counting still frees everything that is not in a
    cycle; a report's objects are not.  Process-wide: a sync worker serves one
    request at a time."""
    was_enabled = gc.isenabled()
    if pause:
        gc.disable()
    try:
        yield
    finally:
        if pause and was_enabled:
            gc.enable()


class _Body:
    """A report's text, handed over once (``take``): then the import holds the only
    reference, and frees it once parsed instead of at the end of the request (17.6 MB
    of JSON for a 90,000-test report, while its 71 MB of parsed tests are stored)."""

    def __init__(self, raw: bytes | str) -> None:
        self._raw: bytes | str | None = raw
        self.size = len(raw)

    def take(self) -> bytes | str:
        raw, self._raw = self._raw, None
        if raw is None:
            raise RuntimeError("the report's text was already taken")
        return raw


def _submit(
    request: HttpRequest,
    body: _Body,
    suite: str | None,
    *,
    source: str,
    form: Mapping[str, str],
    api_db: str | None = None,
) -> HttpResponseBase:
    started = time.monotonic()
    token = authenticate(request)
    if isinstance(token, JsonResponse):
        return token
    import_started = time.monotonic()
    # A report's parse, store and verdicts allocate objects that live to the end of
    # the request: the cyclic collector's passes over them find nothing, and cost
    # about a CPU second of a 90,000-test report (README "Big reports").
    with collector_paused(body.size >= PAUSE_COLLECTOR_FROM_BYTES):
        try:
            result = report_import(
                body.take(),
                suite=suite,
                merge=form.get("merge") or request.GET.get("merge") or "reject",
                select_machine=(
                    form.get("select_machine") or request.GET.get("select_machine") or "match"
                ),
                source=source,
                source_detail=token.name,
                allowed_machine=token.machine_name,
                enqueue=enqueue_detection,
            )
        except FormatError as exc:
            unknown_suite = exc.message.startswith("unknown test suite")
            return json_error(exc.message, 404 if unknown_suite else 400)
        except ImportRefused as exc:
            return json_error(exc.message, exc.status)
        imported = time.monotonic()
        # LNT's quick run-over-run check against the machine's previous run, which
        # `lnt submit -v` prints; lntsite's own detection runs in the background.
        # The verdicts are computed here, all of them (report_time counts the whole
        # comparison), held as arrays; a big run's JSON is streamed into the reply.
        # The report just stored stands for the new run: only the previous one is read.
        verdicts = lnt.submission_verdicts(result.run_id, result.report)
        result.report = None  # no longer needed: the verdicts are a few bytes a row
    finished = time.monotonic()
    run_path = reverse("perf:run-detail", args=[result.suite, result.run_id])
    status = 200
    if api_db is not None:
        # LNT answers a created run with 301, Location and result_url its absolute
        # API URL (`lnt admin post-run` prints the Location).
        status = 301
        run_path = reverse("perf:api-run", args=[api_db, result.suite, result.run_id])
    body: dict[str, Any] = {
        "success": True,
        "error": None,
        "run_id": result.run_id,
        "result_url": request.build_absolute_uri(run_path),
        "added_machines": result.added_machines,
        "added_runs": result.added_runs,
        "added_tests": result.added_tests,
        "added_samples": result.added_samples,
        "committed": True,
        "replaced_run": result.replaced_run,
        # A retry of an identical report: the run stored the first time, nothing added.
        "already_stored": result.already_stored,
        # LNT's times, in seconds: reading and checking the report, storing it,
        # comparing it with the previous run, and all of the request.
        "load_time": round(max(imported - import_started - result.seconds, 0.0), 4),
        "import_time": round(result.seconds, 4),
        "report_time": round(finished - imported, 4),
        "total_time": round(finished - started, 4),
        "report_to_address": None,  # lntsite e-mails regressions, not every run
        "detection_status_url": request.build_absolute_uri(
            reverse("perf:api-run-detection", args=["default", result.suite, result.run_id])
        ),
        "warnings": result.warnings,
    }
    response: HttpResponseBase
    if len(verdicts) < STREAM_RESULTS_FROM:  # a plain answer
        body["test_results"] = submission_test_results(verdicts)
        response = JsonResponse(body, status=status)
    else:
        response = StreamingHttpResponse(
            submission_body_chunks(body, verdicts),
            content_type="application/json",
            status=status,
        )
    if status == 301:
        response["Location"] = body["result_url"]
    return response


def _form_report(request: HttpRequest) -> tuple[_Body, Mapping[str, str]] | JsonResponse:
    """The report and the form's fields.  An urlencoded body (what ``lnt submit``
    sends) is decoded by ``urlencoded_form``, not by ``request.POST``, and only once;
    it is read from the request's stream, so that Django keeps no copy of it
    (``request.body``: 23.5 MB for a 90,000-test report, for the whole request), and
    the report is not kept among the fields."""
    try:
        if request.content_type == URLENCODED:
            # too_large has bounded the body by its declared length (the stream reads
            # no further), as request.body would.
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            form = urlencoded_form(request.read(), max_fields=limit)
            if isinstance(form, str):
                return json_error(form, 400)
            data = form.pop("input_data", None)
        else:
            upload = request.FILES.get("file")
            if upload is not None:
                return _Body(upload.read()), request.POST
            form, data = request.POST, request.POST.get("input_data")
    except RequestDataTooBig:
        return json_error("request body is larger than the limit (PERF_MAX_SUBMISSION_BYTES)", 413)
    if not data:
        return json_error("no report: send it in the form field input_data or as file", 400)
    return _Body(data), form


@csrf_exempt
@require_POST
def submit_run(
    request: HttpRequest, db: str = "default", suite: str | None = None
) -> HttpResponseBase:
    """LNT's ``submitRun`` form endpoint, as used by ``lnt submit``."""
    error = unknown_db(db) or too_large(request)
    if error:
        return error
    report = _form_report(request)
    if isinstance(report, JsonResponse):
        return report
    body, form = report
    return _submit(request, body, suite, source="submitRun", form=form)


@csrf_exempt
def runs_collection(request: HttpRequest, db: str, suite: str) -> HttpResponseBase:
    """``POST /api/db_<db>/v4/<suite>/runs``: the raw report is the body."""
    if request.method != "POST":
        return json_error("use POST to submit a run, or GET runs/<id> to read one", 405)
    error = unknown_db(db) or too_large(request)
    if error:
        return error
    # Read from the request's stream (too_large has bounded it by its declared length),
    # so that Django keeps no copy (``request.body``: 40.5 MB for a 90,000-test v1
    # report, held to the end of the request) and the import frees it once parsed.
    # The body is the report, not a form: no fields (merge= comes in the query string).
    return _submit(request, _Body(request.read()), suite, source="api", form={}, api_db=db)
