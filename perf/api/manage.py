"""LNT's management endpoints, as ``lnt admin`` calls them; thin over ``services.runs``.

* ``DELETE machines/<id or name>`` (``rm-machine``): streams ``text/plain`` lines,
  one per chunk of runs deleted, then ``Deleted machine <name>:<id>``, as LNT does;
* ``POST machines/<id or name>`` with form fields ``action=rename&name=<new>``
  (``rename-machine``) or ``action=merge&into=<id or name>`` (``merge-machine-into``):
  JSON;
* ``DELETE runs/<id>`` (``rm-run``, one request per run): JSON.

All need a submission token (``AuthToken`` header, as ``lnt admin`` sends it); they
are token-authenticated machine endpoints without cookies, hence csrf_exempt.  A
token bound to a machine may delete or rename that machine and delete its runs,
never merge (a merge touches two machines).  Re-detection is handed to Celery.
GET on the same URLs is the read side (``perf.api.read``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from .. import selectors
from ..models import Machine, SubmissionToken, TestSuite
from ..services.runs import (
    LifecycleError,
    machine_delete_steps,
    machine_merge,
    machine_rename,
    run_delete,
)
from ..tasks import detect_machine_task, enqueue_detection, publish
from . import read
from .common import authenticate, json_error, too_large, unknown_db

MACHINE_ACTIONS = ("rename", "merge")


@csrf_exempt
def machine(request: HttpRequest, db: str, suite: str, key: str) -> HttpResponse:
    """``machines/<id or name>``: GET reads; DELETE deletes; POST renames or merges."""
    if request.method == "GET":
        return read.machine(request, db, suite, key)
    if request.method not in ("DELETE", "POST"):
        return json_error(
            "use GET to read a machine, DELETE to delete it, or POST with "
            "action=rename (and name) or action=merge (and into)",
            405,
        )
    found = _resolve(request, db, suite)
    if isinstance(found, JsonResponse):
        return found
    suite_obj, token = found
    target = selectors.machine_find(suite_obj, key)
    if target is None:
        return json_error(f"no machine {key!r} in suite {suite_obj.name!r}", 404)
    if token.machine_name and token.machine_name != target.name:
        return json_error(f"this token may only change machine {token.machine_name!r}", 403)
    if request.method == "DELETE":
        lines = (f"{line}\n" for line in machine_delete_steps(target.id))
        return StreamingHttpResponse(lines, content_type="text/plain; charset=utf-8")
    return _machine_action(request, suite_obj, token, target)


def _machine_action(
    request: HttpRequest, suite: TestSuite, token: SubmissionToken, target: Machine
) -> HttpResponse:
    error = too_large(request)
    if error:
        return error
    action = request.POST.get("action")
    if not action:
        return json_error("No 'action' specified: use action=rename or action=merge", 400)
    if action not in MACHINE_ACTIONS:
        return json_error(f"Unknown action {action!r}: use action=rename or action=merge", 400)
    try:
        if action == "rename":
            name = request.POST.get("name")
            if name is None:
                return json_error("Expected 'name' for rename request", 400)
            renamed = machine_rename(target.id, name)
            return JsonResponse(
                {"success": True, "machine": {"id": renamed.id, "name": renamed.name}}
            )
        if token.machine_name:
            return json_error("a token bound to a machine cannot merge machines", 403)
        into_key = request.POST.get("into")
        if not into_key:
            return json_error("Expected 'into' for merge request", 400)
        into = selectors.machine_find(suite, into_key)
        if into is None:
            return json_error(f"no machine {into_key!r} in suite {suite.name!r} to merge into", 404)
        removal = machine_merge(
            target.id, into.id, redetect_machine=lambda m: publish(detect_machine_task, m)
        )
    except LifecycleError as exc:
        return json_error(exc.message, exc.status)
    return JsonResponse(
        {
            "success": True,
            "merged": {"id": target.id, "name": target.name},
            "into": {"id": into.id, "name": into.name},
            "moved_runs": len(removal.redetect_runs),
            "removed_field_changes": len(removal.deleted_changes),
        }
    )


@csrf_exempt
def run(request: HttpRequest, db: str, suite: str, run_id: int) -> HttpResponse:
    """``runs/<id>``: GET reads; DELETE deletes the run and what was derived from it."""
    if request.method == "GET":
        return read.run(request, db, suite, run_id)
    if request.method != "DELETE":
        return json_error("use GET to read a run or DELETE (with a token) to delete it", 405)
    found = _resolve(request, db, suite)
    if isinstance(found, JsonResponse):
        return found
    suite_obj, token = found
    if not selectors.run_get(suite_obj, run_id):
        return json_error(f"no run {run_id} in suite {suite_obj.name!r}", 404)
    removal = run_delete(run_id, machine_name=token.machine_name, redetect=enqueue_detection)
    if removal is None:
        return json_error(
            f"no run {run_id} in suite {suite_obj.name!r} on machine {token.machine_name!r}", 404
        )
    return JsonResponse(
        {
            "success": True,
            "deleted_run": run_id,
            "removed_field_changes": len(removal.deleted_changes),
            "deleted_regressions": removal.deleted_regressions,
            "closed_regressions": removal.closed_regressions,
            "redetected_runs": removal.redetect_runs,
        }
    )


def _resolve(
    request: HttpRequest, db: str, suite: str
) -> tuple[TestSuite, SubmissionToken] | JsonResponse:
    """The suite and the caller's token, or the error to answer."""
    error = unknown_db(db)
    if error:
        return error
    token = authenticate(request)
    if isinstance(token, JsonResponse):
        return token
    suite_obj = selectors.suite_get(suite)
    if suite_obj is None:
        return json_error(f"unknown test suite {suite!r}", 404)
    return suite_obj, token
