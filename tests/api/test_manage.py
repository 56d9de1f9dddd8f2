"""``lnt admin`` machine and run commands, replayed as LNT's client sends them.

LNT's client (lnt/lnttool/admin.py) uses a requests session with the ``AuthToken``
header: ``rm-machine`` is ``DELETE machines/<machine>`` read as streamed lines;
``rename-machine`` and ``merge-machine-into`` are form POSTs to the same URL with
``action=rename&name=`` and ``action=merge&into=``; ``rm-run`` is one
``DELETE runs/<id>`` per run.  It treats any status from 200 to 399 as success.
No cookie and no CSRF token are sent, so the client here enforces CSRF checks.
"""

from urllib.parse import urlencode

import pytest
from django.test import Client

from perf.models import FieldChange, Machine, Point, Regression, Run
from tests.factories import detected_history, make_token

pytestmark = pytest.mark.django_db

API = "/api/db_default/v4/nts"
FORM = "application/x-www-form-urlencoded"
TEST = "SingleSource/mandel"


@pytest.fixture
def lnt():
    """A client like LNT's: no cookies, CSRF enforced, form bodies."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def admin_token(db):
    return make_token("lnt-admin")


def history(levels, *, machine="box-1", first=1000, seed=1):
    return detected_history(levels, machine=machine, first_revision=first, seed=seed)


def post_form(lnt, url, token, **fields):
    return lnt.post(url, urlencode(fields), content_type=FORM, HTTP_AUTHTOKEN=token)


# --- rm-machine ------------------------------------------------------------------------


def test_rm_machine_streams_lnts_lines_and_removes_the_machine_and_its_changes(lnt, admin_token):
    history([1.0] * 20 + [1.1] * 5)
    box = Machine.objects.get()
    response = lnt.delete(f"{API}/machines/box-1", HTTP_AUTHTOKEN=admin_token)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("Deleting runs ") and lines[0].endswith("(25/25)")
    assert lines[-1] == f"Deleted machine box-1:{box.id}"
    assert not Machine.objects.exists()
    assert not FieldChange.objects.exists()
    assert not Regression.objects.exists()


def test_rm_machine_accepts_the_machine_id(lnt, admin_token):
    history([1.0] * 2)
    box = Machine.objects.get()
    response = lnt.delete(f"{API}/machines/{box.id}", HTTP_AUTHTOKEN=admin_token)
    b"".join(response.streaming_content)
    assert not Machine.objects.exists()


def test_rm_machine_without_a_token_is_refused_and_deletes_nothing(lnt, db):
    history([1.0] * 2)
    response = lnt.delete(f"{API}/machines/box-1")
    assert response.status_code == 401
    assert "AuthToken" in response.json()["error"]
    assert Machine.objects.exists()


def test_rm_machine_of_an_unknown_machine_is_a_json_404(lnt, admin_token):
    response = lnt.delete(f"{API}/machines/nope", HTTP_AUTHTOKEN=admin_token)
    assert response.status_code == 404
    assert response.json()["error"] == "no machine 'nope' in suite 'nts'"


def test_a_bound_token_may_delete_its_machine_only(lnt, db):
    history([1.0] * 2, machine="box-1")
    history([1.0] * 2, machine="box-2")
    bound = make_token("bound", machine="box-1")
    response = lnt.delete(f"{API}/machines/box-2", HTTP_AUTHTOKEN=bound)
    assert response.status_code == 403
    assert response.json()["error"] == "this token may only change machine 'box-1'"
    assert Machine.objects.filter(name="box-2").exists()
    b"".join(lnt.delete(f"{API}/machines/box-1", HTTP_AUTHTOKEN=bound).streaming_content)
    assert list(Machine.objects.values_list("name", flat=True)) == ["box-2"]


# --- rename-machine --------------------------------------------------------------------


def test_rename_machine_renames_and_retitles(lnt, admin_token):
    history([1.0] * 20 + [1.1] * 5)
    response = post_form(lnt, f"{API}/machines/box-1", admin_token, action="rename", name="box-9")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["machine"]["name"] == "box-9"
    assert Machine.objects.get().name == "box-9"
    assert Regression.objects.get().title == f"Regression of {TEST} on box-9"


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({}, 400, "No 'action' specified: use action=rename or action=merge"),
        ({"action": "explode"}, 400, "Unknown action 'explode': use action=rename or action=merge"),
        ({"action": "rename"}, 400, "Expected 'name' for rename request"),
        ({"action": "rename", "name": "box-2"}, 400, "Machine with name 'box-2' already exists"),
        ({"action": "rename", "name": " padded"}, 400, "name ' padded' has leading"),
        ({"action": "merge"}, 400, "Expected 'into' for merge request"),
        (
            {"action": "merge", "into": "nope"},
            404,
            "no machine 'nope' in suite 'nts' to merge into",
        ),
        ({"action": "merge", "into": "box-1"}, 400, "cannot merge a machine into itself"),
    ],
)
def test_a_bad_machine_request_is_a_4xx_naming_the_field_and_changes_nothing(
    lnt, admin_token, fields, status, error
):
    history([1.0] * 2, machine="box-1")
    history([1.0] * 2, machine="box-2")
    response = post_form(lnt, f"{API}/machines/box-1", admin_token, **fields)
    assert response.status_code == status
    assert response.json()["error"].startswith(error)
    assert sorted(Machine.objects.values_list("name", flat=True)) == ["box-1", "box-2"]
    assert Run.objects.count() == 4


def test_put_on_a_machine_is_refused_with_the_methods_to_use(lnt, admin_token):
    history([1.0])
    response = lnt.put(f"{API}/machines/box-1", "{}", HTTP_AUTHTOKEN=admin_token)
    assert response.status_code == 405
    assert "action=rename" in response.json()["error"]


# --- merge-machine-into ----------------------------------------------------------------


def test_merge_machine_into_moves_the_runs_and_detects_the_joined_history(
    lnt, admin_token, django_capture_on_commit_callbacks
):
    history([1.0] * 20, machine="old-name")
    history([1.1] * 6, machine="new-name", first=1020, seed=2)
    old = Machine.objects.get(name="old-name")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_form(
            lnt, f"{API}/machines/new-name", admin_token, action="merge", into=str(old.id)
        )
    assert response.status_code == 200
    body = response.json()
    assert body["into"] == {"id": old.id, "name": "old-name"}
    assert body["moved_runs"] == 6
    assert list(Machine.objects.values_list("name", flat=True)) == ["old-name"]
    assert Run.objects.filter(machine=old).count() == 26
    [change] = FieldChange.objects.filter(withdrawn=False)
    assert (change.machine_id, change.end_order.key) == (old.id, "1020")
    assert set(Run.objects.values_list("detection_state", flat=True)) == {Run.DONE}


def test_a_bound_token_cannot_merge_machines(lnt, db):
    history([1.0] * 2, machine="box-1")
    history([1.0] * 2, machine="box-2")
    bound = make_token("bound", machine="box-1")
    response = post_form(lnt, f"{API}/machines/box-1", bound, action="merge", into="box-2")
    assert response.status_code == 403
    assert Machine.objects.count() == 2


# --- rm-run ----------------------------------------------------------------------------


def test_rm_run_deletes_each_run_with_its_derived_changes_and_redetects_neighbours(
    lnt, admin_token, django_capture_on_commit_callbacks
):
    results = history([1.0] * 20 + [1.1] * 8)
    step = results[20].run_id
    with django_capture_on_commit_callbacks(execute=True):
        response = lnt.delete(f"{API}/runs/{step}", HTTP_AUTHTOKEN=admin_token)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["deleted_run"] == step
    assert body["removed_field_changes"] == 1 and len(body["deleted_regressions"]) == 1
    assert body["redetected_runs"] == [results[19].run_id, results[21].run_id]
    assert not Run.objects.filter(id=step).exists()
    assert not Point.objects.filter(run_id=step).exists()
    [change] = FieldChange.objects.filter(withdrawn=False)
    assert change.end_order.key == "1021"
    assert Regression.objects.get().indicators.get().field_change == change


def test_rm_run_of_an_unknown_run_is_a_json_404(lnt, admin_token):
    response = lnt.delete(f"{API}/runs/999999", HTTP_AUTHTOKEN=admin_token)
    assert response.status_code == 404
    assert response.json()["error"] == "no run 999999 in suite 'nts'"


def test_rm_run_with_a_token_bound_to_another_machine_is_a_404(lnt, db):
    [result] = history([1.0], machine="box-2")
    bound = make_token("bound", machine="box-1")
    response = lnt.delete(f"{API}/runs/{result.run_id}", HTTP_AUTHTOKEN=bound)
    assert response.status_code == 404
    assert response.json()["error"].endswith("on machine 'box-1'")
    assert Run.objects.filter(id=result.run_id).exists()


def test_get_on_the_managed_urls_still_reads(lnt, db):
    [result] = history([1.0])
    assert lnt.get(f"{API}/runs/{result.run_id}").status_code == 200
    assert lnt.get(f"{API}/machines/box-1").json()["machine"]["name"] == "box-1"
