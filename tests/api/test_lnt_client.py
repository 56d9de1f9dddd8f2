"""Replays of the requests LNT's own client sends (LNT 0.4.2, llvm/llvm-lnt), and what
it reads from the answers.

Each helper sends exactly what the named command sends (method, path, headers,
form or body), as read from ``lnt/lnttool/admin.py``, ``lnt/util/ServerUtil.py``
and ``lnt/util/ImportData.py``; the assertions check the keys the command reads,
so a command that would crash or print nothing fails here.  CSRF checks are on:
LNT's client never has a cookie.
"""

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from django.test import Client

from perf.formats import parse_report
from perf.models import Point, Run, TestSuite
from perf.services.suites import suite_schemas
from tests.factories import CORPUS, make_token, unpacked

pytestmark = pytest.mark.django_db

URL = "http://testserver"
API = "/api/db_default/v4/nts"
REPORTS = Path(CORPUS, "utils")


@pytest.fixture
def lnt(db) -> Client:
    """A client like LNT's: no cookies, CSRF enforced, token in the AuthToken header."""
    return Client(enforce_csrf_checks=True, HTTP_AUTHTOKEN=make_token("lnt-admin"))


def lnt_submit(client: Client, url: str, path: Path, **values: str):
    """`lnt submit [-v] URL FILE`: ServerUtil.submitFileToServer's urlencoded POST."""
    form = {"input_data": path.read_text(), "commit": "1", "merge": "replace", **values}
    return client.post(
        url,
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT="application/json",
    )


def post_run(client: Client, path: Path | str, suite: str = "nts", **params: str):
    """`lnt admin post-run FILE`: requests' POST of a str body, no Content-Type."""
    data = path.read_text() if isinstance(path, Path) else path
    query = urlencode({"select_machine": "match", "merge": "replace", **params})
    return client.generic("POST", f"/api/db_default/v4/{suite}/runs?{query}", data, content_type="")


def printed_report(result: dict) -> list[str]:
    """What ImportData.print_report_result reads from a reply, as lines; a missing key
    raises as it would in LNT's client."""
    lines = ["Import succeeded." if result["success"] else "Import Failed:"]
    for item in result.get("test_results") or []:
        item["pset"]  # noqa: B018 - the client reads it
        for name, test_status, perf_status in item["results"]:
            lines.append(f"{test_status}/{perf_status}: {name}")
    if result["report_to_address"]:
        lines.append(f"Report emailed to: {result['report_to_address']!r}")
    for key in ("load_time", "import_time", "report_time", "total_time"):
        lines.append(f"{key}: {result[key]:.2f}s")
    lines.append(str(result["added_machines"] + result["added_runs"] + result["added_tests"]))
    lines.append(str(result.get("added_samples", 0)))
    return lines


# --- lnt submit -------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/db_default/v4/nts/submitRun", "/submitRun"])
def test_lnt_submit_gets_a_reply_its_verbose_printer_reads(lnt, url):
    token = make_token("bot")
    response = lnt_submit(lnt, f"{url}?token={token}", REPORTS / "base-reports/nts-run1.json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["result_url"] == f"{URL}/db_default/v4/nts/{body['run_id']}"  # absolute
    lines = printed_report(body)
    assert lines[0] == "Import succeeded."
    assert body["report_to_address"] is None


def test_lnt_submit_v_reports_a_regression_against_the_previous_run(lnt):
    token = make_token("bot")
    url = f"/db_default/v4/nts/submitRun?token={token}"
    first = lnt_submit(lnt, url, REPORTS / "extra-reports/nts-regression-run1.json").json()
    # The first run of a machine: every test is new, nothing regressed.
    assert {perf for _, _, perf in first["test_results"][0]["results"]} == {None}
    second = lnt_submit(lnt, url, REPORTS / "extra-reports/nts-regression-run2.json").json()
    results = {name: (status, perf) for name, status, perf in second["test_results"][0]["results"]}
    assert results["test1.execution_time"] == ("UNCHANGED_PASS", "REGRESSED")  # 1.0 -> 10.0
    # test2 is gone from the new run: no value, no verdict, as LNT says.
    assert results["test2.execution_time"] == ("UNCHANGED_PASS", None)
    assert "UNCHANGED_PASS/REGRESSED: test1.execution_time" in printed_report(second)


def test_lnt_submit_of_a_bad_report_gets_a_json_error_the_client_prints(lnt):
    token = make_token("bot")
    path = Path(CORPUS, "lnttool/invalid_submission1.json")
    response = lnt_submit(lnt, f"/submitRun?token={token}", path)
    assert response.status_code == 400
    assert response.json()["error"]


# --- lnt admin --------------------------------------------------------------------


@pytest.fixture
def two_runs(lnt):
    for name in ("nts-run1", "nts-run2"):
        assert post_run(lnt, REPORTS / f"base-reports/{name}.json").status_code == 301
    return list(Run.objects.order_by("id"))


def test_post_run_prints_an_absolute_location(lnt):
    response = post_run(lnt, REPORTS / "base-reports/nts-run1.json")
    assert response.status_code == 301, response.content
    run_id = Run.objects.get().id
    assert response["Location"] == f"{URL}{API}/runs/{run_id}"
    assert response.json()["result_url"] == response["Location"]


def test_list_machines_reads_name_and_id_of_each(lnt, two_runs):
    body = lnt.get(f"{API}/machines").json()
    machine = two_runs[0].machine
    assert [(m["name"], m["id"]) for m in body["machines"]] == [(machine.name, machine.id)]
    assert body["machines"][0]["hardware"] == machine.fields["hardware"]  # fields flattened


@pytest.mark.parametrize("spec", ["id", "name"])
def test_list_runs_finds_every_order_field_that_order_by_names(lnt, two_runs, spec):
    machine = two_runs[0].machine
    body = lnt.get(f"{API}/machines/{getattr(machine, spec)}").json()
    lines = []
    for run in body["runs"]:  # what `lnt admin list-runs` prints
        fields = [f.strip() for f in run["order_by"].split(",")]
        lines.append(";".join(f"{f}={run[f]}" for f in fields) + f" {run['id']}")
    revisions = {r.id: r.order.fields["llvm_project_revision"] for r in two_runs}
    assert sorted(lines) == sorted(f"llvm_project_revision={v} {k}" for k, v in revisions.items())
    assert body["machine"]["name"] == machine.name  # machine-info and get-machine


def test_get_run_saves_a_report_that_reimports_and_checks_as_lnt_format(lnt, two_runs):
    run = two_runs[1]
    body = lnt.get(f"{API}/runs/{run.id}").json()
    assert body["run"]["id"] == run.id and body["machine"]["id"] == run.machine_id
    assert body["run"]["order_by"] == "llvm_project_revision"
    assert all({"id", "run_id", "name"} <= set(t) for t in body["tests"])
    saved = json.dumps(body, indent=2, sort_keys=True)  # as get-run writes run_<id>.json
    report = parse_report(saved, suite_schemas(), suite="nts")  # checkformat's question
    assert report.format_version == 2 and len(report.tests) == len(body["tests"])
    before = sorted(unpacked(Point.objects.filter(run=run).values_list("series_id", "samples")))
    assert post_run(lnt, saved).status_code == 301  # post-run of the saved file
    after = unpacked(Point.objects.filter(run=run).values_list("series_id", "samples"))
    assert sorted(after) == before


def test_rm_run_deletes_with_the_token_and_no_csrf_cookie(lnt, two_runs):
    run_id = two_runs[0].id
    assert lnt.delete(f"{API}/runs/{run_id}").status_code == 200
    assert not Run.objects.filter(id=run_id).exists()
    assert lnt.delete(f"{API}/runs/{run_id}").status_code == 404


def test_a_machine_bound_token_only_touches_its_machine(two_runs):
    other = Client(enforce_csrf_checks=True, HTTP_AUTHTOKEN=make_token("b", machine="elsewhere"))
    assert other.delete(f"{API}/runs/{two_runs[0].id}").status_code == 404
    assert Run.objects.filter(id=two_runs[0].id).exists()
    assert post_run(other, REPORTS / "base-reports/nts-run1.json").status_code == 403


def test_test_suite_add_prints_the_suite_name(lnt):
    raw = Path(CORPUS, "docs/my_suite.yaml").read_bytes()
    response = lnt.post(
        "/api/db_default/v4/my_suite/schema", raw, content_type="application/x-yaml"
    )
    assert response.status_code == 201, response.content
    assert response.json()["testsuite"] == "my_suite"  # what the command prints
    assert TestSuite.objects.filter(name="my_suite").exists()
    again = lnt.post("/api/db_default/v4/my_suite/schema", raw, content_type="application/x-yaml")
    assert again.status_code == 200 and again.json()["testsuite"] == "my_suite"


def test_an_unknown_suite_is_a_json_404_the_client_prints(lnt):
    response = lnt.get("/api/db_default/v4/nope/machines")
    assert response.status_code == 404
    assert "nope" in response.json()["error"]


# --- routes and shapes ------------------------------------------------------------


def test_every_api_url_answers_with_or_without_a_trailing_slash(lnt, two_runs):
    run = two_runs[0]
    test_id = Point.objects.filter(run=run).values_list("series__test_id", flat=True)[0]
    sample_id = lnt.get(f"{API}/samples?runid={run.id}").json()["samples"][0]["id"]
    paths = [
        "machines",
        f"machines/{run.machine_id}",
        f"runs/{run.id}",
        f"orders/{run.order_id}",
        f"samples?runid={run.id}",
        f"samples/{sample_id}",
        "fields",
        "tests",
        "schema",
        f"graph/{run.machine_id}/{test_id}/3",
        f"regression/{run.machine_id}/{test_id}/3",
    ]
    for path in paths:
        route, _, query = path.partition("?")
        for url in (f"{API}/{route}", f"{API}/{route}/"):
            response = lnt.get(url + (f"?{query}" if query else ""))
            assert response.status_code == 200, (url, response.content)
            assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_urls_are_json_404s_even_in_debug(lnt, settings, debug):
    settings.DEBUG = debug
    for url in ("/api/nothing", f"{API}/machines/x/y/z", f"{API}/graph/1/2"):
        response = lnt.get(url)
        assert response.status_code == 404
        assert response.json()["success"] is False


def test_samples_are_one_row_per_sample_with_metric_columns(lnt):
    post_run(lnt, REPORTS / "extra-reports/nts-regression-run1.json")
    run = Run.objects.get()
    rows = lnt.get(f"{API}/samples?runid={run.id}").json()["samples"]
    test2 = [r for r in rows if r["name"] == "test2"]  # two samples of each metric
    assert len(test2) == 2
    assert [r["execution_status"] for r in test2] == [1, 0]
    assert all(r["llvm_project_revision"] == "152292" and r["run_id"] == run.id for r in test2)
    for row in rows:  # each row is found again by its id
        (again,) = lnt.get(f"{API}/samples/{row['id']}").json()["samples"]
        assert again["execution_time"] == row["execution_time"]
    assert lnt.get(f"{API}/samples/{rows[0]['id'] + 999}").status_code == 404
    assert lnt.get(f"{API}/samples/x").status_code == 404


def test_an_order_is_lnts_list_of_one_with_its_fields(lnt, two_runs):
    order = two_runs[0].order
    body = lnt.get(f"{API}/orders/{order.id}").json()
    assert body["orders"][0]["id"] == order.id
    assert body["orders"][0]["llvm_project_revision"] == order.fields["llvm_project_revision"]


def test_the_schema_answer_is_an_lnt_schema_document(lnt):
    body = lnt.get(f"{API}/schema").json()
    assert body["name"] == "nts" and body["format_version"] == "2"
    assert yaml.safe_load(json.dumps(body))["metrics"][0]["name"] == "compile_time"


def test_writes_to_read_endpoints_are_json_405s_not_csrf_pages(lnt, two_runs):
    for path in ("machines", "fields", "tests", f"samples?runid={two_runs[0].id}"):
        response = lnt.post(f"{API}/{path}", "x", content_type="text/plain")
        assert response.status_code == 405
        assert "GET" in response.json()["error"]


def test_absurd_ids_are_404s(lnt):
    huge = "9" * 30
    for path in (
        f"samples/{huge}",
        f"orders/{huge}",
        f"runs/{huge}",
        f"machines/{huge}",
        f"graph/{huge}/1/3",
        f"regression/1/{huge}/3",
    ):
        response = lnt.get(f"{API}/{path}")
        assert response.status_code == 404
        assert response.json()["success"] is False
