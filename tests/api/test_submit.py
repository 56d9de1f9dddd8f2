"""The form endpoint and REST endpoint, as build bots use them."""

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from perf.formats.samples import unpack_samples
from perf.models import Machine, Point, Run
from tests.factories import CORPUS, make_token, report_doc, varied_tests
from tests.rowcounts import row_counts

pytestmark = pytest.mark.django_db

NTS_RUN1 = Path(CORPUS, "utils/base-reports/nts-run1.json").read_text()


def lnt_submit(client, url: str, report: str, **extra):
    """Exactly what an unmodified `lnt submit URL FILE` sends."""
    body = urlencode(
        {"input_data": report, "commit": "1", "select_machine": "match", "merge": "replace"}
    )
    return client.post(
        url,
        body,
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT="application/json",
        **extra,
    )


def test_lnt_submit_request_stores_the_run_and_answers_lnt_json(client, token):
    response = lnt_submit(client, f"/db_default/v4/nts/submitRun?token={token}", NTS_RUN1)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["error"] is None
    assert body["result_url"] == f"http://testserver/db_default/v4/nts/{body['run_id']}"
    assert body["added_machines"] == 1 and body["added_runs"] == 1
    assert body["added_tests"] == 2
    assert body["added_samples"] == 4  # nts-run1: two tests, two metrics each, one sample
    assert body["committed"] is True
    # A first run: every test and Real metric is "added" (no previous run to compare).
    (pset,) = body["test_results"]
    assert all(status == "UNCHANGED_PASS" and perf is None for _, status, perf in pset["results"])
    assert body["detection_status_url"].endswith(f"/runs/{body['run_id']}/detection")
    assert Run.objects.filter(id=body["run_id"]).exists()


@pytest.mark.parametrize(
    "url",
    [
        "/db_default/v4/nts/submitRun",
        "/db_default/submitRun",
        "/v4/nts/submitRun",
        "/submitRun",
    ],
)
def test_every_form_endpoint_accepts_a_submission(client, token, url):
    response = lnt_submit(client, f"{url}?token={token}", NTS_RUN1)
    assert response.status_code == 200, response.content


def test_the_db_submit_endpoint_takes_the_suite_from_a_v1_tag(client, token):
    report = Path(CORPUS, "lnttool/compile_submission.json").read_text()
    response = lnt_submit(client, f"/db_default/submitRun?token={token}", report)
    assert response.status_code == 200, response.content
    assert Run.objects.get(id=response.json()["run_id"]).suite.name == "compile"


def test_a_report_can_come_as_an_uploaded_file(client, token):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("report.json", NTS_RUN1.encode())
    response = client.post(f"/db_default/v4/nts/submitRun?token={token}", {"file": upload})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "how",
    [
        lambda t: ({"HTTP_AUTHTOKEN": t}, ""),
        lambda t: ({"HTTP_AUTHORIZATION": f"Bearer {t}"}, ""),
        lambda t: ({}, f"?token={t}"),
    ],
    ids=["AuthToken header", "Bearer header", "token query parameter"],
)
def test_the_token_is_accepted_from_each_place(client, token, how):
    headers, query = how(token)
    response = lnt_submit(client, f"/db_default/v4/nts/submitRun{query}", NTS_RUN1, **headers)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("query", ["", "?token=wrong", "?token="])
def test_a_submission_without_a_valid_token_gets_401_json_and_writes_nothing(client, query):
    before = row_counts()
    response = lnt_submit(client, f"/db_default/v4/nts/submitRun{query}", NTS_RUN1)
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert "token" in response.json()["error"]
    assert row_counts() == before


def test_a_token_bound_to_a_machine_cannot_submit_another(client):
    bound = make_token("bound", machine="some-other-machine")
    before = row_counts()
    response = lnt_submit(client, f"/db_default/v4/nts/submitRun?token={bound}", NTS_RUN1)
    assert response.status_code == 403
    assert "some-other-machine" in response.json()["error"]
    assert row_counts() == before


def test_an_inactive_token_is_refused(client):
    from perf.models import SubmissionToken

    raw = make_token("old")
    SubmissionToken.objects.filter(name="old").update(is_active=False)
    response = lnt_submit(client, f"/db_default/v4/nts/submitRun?token={raw}", NTS_RUN1)
    assert response.status_code == 401


def test_a_body_over_the_limit_gets_413_before_parsing(client, token, settings):
    settings.PERF_MAX_SUBMISSION_BYTES = 1000
    before = row_counts()
    response = lnt_submit(client, f"/db_default/v4/nts/submitRun?token={token}", NTS_RUN1)
    assert response.status_code == 413
    assert "PERF_MAX_SUBMISSION_BYTES" in response.json()["error"]
    assert row_counts() == before


def test_an_unknown_database_is_404(client, token):
    response = lnt_submit(client, f"/db_other/v4/nts/submitRun?token={token}", NTS_RUN1)
    assert response.status_code == 404
    assert "unknown database 'other'" in response.json()["error"]


def test_an_unknown_suite_is_404_naming_it(client, token):
    response = lnt_submit(client, f"/db_default/v4/nosuch/submitRun?token={token}", NTS_RUN1)
    assert response.status_code == 404
    assert "nosuch" in response.json()["error"]


def test_a_get_on_submit_run_changes_nothing(client, token):
    before = row_counts()
    response = client.get(f"/db_default/v4/nts/submitRun?token={token}&input_data={NTS_RUN1}")
    assert response.status_code == 405
    assert row_counts() == before


def test_an_empty_form_names_the_missing_field(client, token):
    response = client.post(f"/db_default/v4/nts/submitRun?token={token}", {})
    assert response.status_code == 400
    assert "input_data" in response.json()["error"]


def test_a_bad_merge_option_is_refused_by_name(client, token):
    response = client.post(
        f"/db_default/v4/nts/submitRun?token={token}", {"input_data": NTS_RUN1, "merge": "yes"}
    )
    assert response.status_code == 400
    assert "merge must be one of reject, replace, append" in response.json()["error"]


def test_the_rest_endpoint_answers_a_redirect_to_the_new_run(client, token):
    response = client.post(
        "/api/db_default/v4/nts/runs",
        NTS_RUN1,
        content_type="application/json",
        HTTP_AUTHTOKEN=token,
    )
    assert response.status_code == 301
    run_id = response.json()["run_id"]
    assert response["Location"] == f"http://testserver/api/db_default/v4/nts/runs/{run_id}"
    assert client.get(response["Location"]).status_code == 200


def test_the_rest_endpoint_needs_a_token(client):
    response = client.post("/api/db_default/v4/nts/runs", NTS_RUN1, content_type="application/json")
    assert response.status_code == 401


# --- merge policies ----------------------------------------------------------------


def post(client, token, doc, **options):
    data = {"input_data": json.dumps(doc), **options}
    return client.post(f"/db_default/v4/nts/submitRun?token={token}", data)


def test_another_report_at_the_same_order_with_reject_answers_409_and_writes_nothing(
    client, token
):
    first = post(client, token, report_doc(tests={"t": {"execution_time": 1.0}}), merge="reject")
    assert first.status_code == 200
    before = row_counts()
    second = post(client, token, report_doc(tests={"t": {"execution_time": 2.0}}), merge="reject")
    assert second.status_code == 409
    error = second.json()["error"]
    assert "duplicate run" in error and "box-1" in error and "1000" in error
    assert row_counts() == before


def test_replace_keeps_the_run_id_and_swaps_the_samples(client, token):
    first = post(client, token, report_doc(tests={"t": {"execution_time": 1.0}}), merge="reject")
    second = post(client, token, report_doc(tests={"t": {"execution_time": 2.0}}), merge="replace")
    assert second.status_code == 200
    assert second.json()["run_id"] == first.json()["run_id"]
    assert Run.objects.count() == 1
    assert [unpack_samples(p) for p in Point.objects.values_list("samples", flat=True)] == [[2.0]]


def test_append_keeps_both_runs_at_the_same_order(client, token):
    post(client, token, report_doc(tests={"t": {"execution_time": 1.0}}), merge="append")
    second = post(client, token, report_doc(tests={"t": {"execution_time": 2.0}}), merge="append")
    assert second.status_code == 200
    assert Run.objects.count() == 2
    assert sorted(
        unpack_samples(p)[0] for p in Point.objects.values_list("samples", flat=True)
    ) == [1.0, 2.0]


@pytest.mark.parametrize("merge", ["reject", "replace", "append"])
def test_a_retry_of_the_identical_report_is_answered_with_the_stored_run(client, token, merge):
    doc = report_doc()
    first = post(client, token, doc, merge=merge)
    before = row_counts()
    # The same report again, its tests in another order and its keys respelled: a
    # client retrying after a timeout.  Whatever the merge policy: no 409, no new run.
    doc["tests"] = list(reversed(doc["tests"]))
    retry = post(client, token, json.loads(json.dumps(doc, indent=1)), merge=merge)
    assert retry.status_code == 200, retry.content
    body = retry.json()
    assert body["run_id"] == first.json()["run_id"]
    assert body["already_stored"] is True and body["added_runs"] == 0
    assert row_counts() == before


def test_a_retry_through_the_rest_endpoint_is_answered_301_with_the_stored_run(client, token):
    url = "/api/db_default/v4/nts/runs"
    body = json.dumps(report_doc())
    first = client.post(url, body, content_type="application/json", HTTP_AUTHTOKEN=token)
    retry = client.post(url, body, content_type="application/json", HTTP_AUTHTOKEN=token)
    assert first.status_code == retry.status_code == 301
    assert retry["Location"] == first["Location"]
    assert Run.objects.count() == 1


def test_the_rest_endpoint_reads_the_report_from_the_stream_and_keeps_no_copy(token):
    """``request.body`` would hold the whole report (40.5 MB for a 90,000-test v1
    report) to the end of the request; the stream's bytes are the import's to free."""
    from django.test import RequestFactory

    from perf.api.submit import runs_collection

    request = RequestFactory().post(
        "/api/db_default/v4/nts/runs",
        json.dumps(report_doc()),
        content_type="application/json",
        HTTP_AUTHTOKEN=token,
    )
    response = runs_collection(request, "default", "nts")
    assert response.status_code == 301
    assert Run.objects.count() == 1
    assert not hasattr(request, "_body")  # Django cached no copy


def test_the_same_samples_at_another_start_time_are_another_run(client, token):
    post(client, token, report_doc(), merge="append")
    later = report_doc(run={"start_time": "2026-03-03T01:10:00"})
    assert post(client, token, later, merge="append").json()["already_stored"] is False
    assert Run.objects.count() == 2


# --- machine selection ------------------------------------------------------------------


def compile_report(name: str) -> str:
    return Path(CORPUS, f"lnttool/{name}.json").read_text()


def submit_compile(client, token, name: str, select_machine: str):
    return client.post(
        f"/db_default/v4/compile/submitRun?token={token}",
        {"input_data": compile_report(name), "select_machine": select_machine, "merge": "append"},
    )


def test_match_refuses_a_machine_whose_fields_changed(client, token):
    assert submit_compile(client, token, "compile_submission", "match").status_code == 200
    before = row_counts()
    response = submit_compile(client, token, "compile_submission_machine_diff_reject", "match")
    assert response.status_code == 409
    assert "exists with different fields" in response.json()["error"]
    assert row_counts() == before


def test_match_accepts_a_machine_that_only_adds_fields(client, token):
    assert submit_compile(client, token, "compile_submission", "match").status_code == 200
    response = submit_compile(client, token, "compile_submission_machine_diff_fine", "match")
    assert response.status_code == 200, response.content
    assert Machine.objects.filter(suite__name="compile").count() == 1


def test_update_overwrites_the_machine_fields(client, token):
    submit_compile(client, token, "compile_submission", "match")
    response = submit_compile(client, token, "compile_submission_machine_diff_reject", "update")
    assert response.status_code == 200, response.content
    assert Machine.objects.filter(suite__name="compile").count() == 1


def test_split_creates_a_machine_with_a_distinct_name_and_reuses_it(client, token):
    submit_compile(client, token, "compile_submission", "match")
    first = submit_compile(client, token, "compile_submission_machine_diff_split", "split")
    again = submit_compile(client, token, "compile_submission_machine_diff_split", "split")
    assert first.status_code == again.status_code == 200
    names = sorted(Machine.objects.filter(suite__name="compile").values_list("name", flat=True))
    assert len(names) == 2
    assert names[1] == names[0] + "~2"
    assert first.json()["added_machines"] == 1 and again.json()["added_machines"] == 0


def test_the_detection_status_url_reports_the_run_state(
    client, token, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = lnt_submit(client, f"/db_default/v4/nts/submitRun?token={token}", NTS_RUN1).json()
    status = client.get(body["detection_status_url"].removeprefix("http://testserver")).json()
    assert status["id"] == body["run_id"]
    assert status["detection_state"] == "done"
    assert status["detection_attempts"] == 1


def test_an_urlencoded_form_with_too_many_fields_is_refused_with_a_message(client, token):
    body = "&".join(f"f{i}=1" for i in range(1100)) + "&input_data=" + NTS_RUN1
    response = client.post(
        f"/db_default/v4/nts/submitRun?token={token}",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "the form has 1101 fields (limit 1000)"
    assert Run.objects.count() == 0


def test_the_urlencoded_form_s_merge_option_is_read(client, token):
    body = urlencode({"input_data": NTS_RUN1, "merge": "bogus"})
    response = client.post(
        f"/db_default/v4/nts/submitRun?token={token}",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("merge must be one of reject, replace, append")


# --- big replies -------------------------------------------------------------------


def reply(response) -> dict:
    """The JSON of an answer, streamed or not."""
    if response.streaming:
        return json.loads(b"".join(response.streaming_content))
    return response.json()


def test_a_reply_with_many_results_is_streamed_and_reads_the_same(client, token, monkeypatch):
    url = f"/db_default/v4/nts/submitRun?token={token}"
    whole = lnt_submit(client, url, NTS_RUN1)
    assert not whole.streaming
    monkeypatch.setattr("perf.api.submit.STREAM_RESULTS_FROM", 3)  # nts-run1 has 10 results
    streamed = lnt_submit(client, url, NTS_RUN1)  # a retry: the same run, the same answer
    assert streamed.streaming and streamed["Content-Type"] == "application/json"
    first, again = whole.json(), reply(streamed)
    assert again["already_stored"] is True and again["run_id"] == first["run_id"]
    assert again["test_results"] == first["test_results"]
    assert len(again["test_results"][0]["results"]) == 10
    assert set(again) == set(first)


def test_a_streamed_reply_of_the_rest_endpoint_is_still_a_redirect(client, token, monkeypatch):
    monkeypatch.setattr("perf.api.submit.STREAM_RESULTS_FROM", 3)
    response = client.post(
        "/api/db_default/v4/nts/runs", NTS_RUN1, content_type="application/json",
        HTTP_AUTHTOKEN=token,
    )
    assert response.status_code == 301 and response.streaming
    body = reply(response)
    assert response["Location"] == body["result_url"]
    assert body["result_url"] == f"http://testserver/api/db_default/v4/nts/runs/{body['run_id']}"


def test_the_report_text_is_held_by_the_import_alone_and_the_body_not_kept(
    client, token, monkeypatch
):
    # So the import frees it once parsed, not after storing it: a 90,000-test
    # report's 17.6 MB of JSON and 23.5 MB of form (README "Big reports").
    import sys

    from perf.services import ingest

    refs = []
    parse = ingest.parse_report

    def counting(raw, *args, **kwargs):
        refs.append(sys.getrefcount(raw))
        return parse(raw, *args, **kwargs)

    monkeypatch.setattr(ingest, "parse_report", counting)
    response = lnt_submit(client, f"/db_default/v4/nts/submitRun?token={token}", NTS_RUN1)
    assert response.status_code == 200
    # report_import's argument, this function's, and getrefcount's own
    assert refs == [3]
    assert not hasattr(response.wsgi_request, "_body")  # Django kept no copy of the form


@pytest.mark.parametrize("seed", [1, 2])
def test_the_streamed_reply_is_byte_for_byte_the_row_by_row_one(client, token, monkeypatch, seed):
    # Round 2's answer: the run read back, each verdict computed row by row
    # (lnt_compare.iter_test_sides), its JSON encoded from row tuples.
    from perf.analysis.lnt_compare import iter_test_sides
    from perf.api.lnt_shapes import submission_body_chunks
    from perf.selectors import lnt

    monkeypatch.setattr("perf.api.submit.STREAM_RESULTS_FROM", 3)
    url = f"/db_default/v4/nts/submitRun?token={token}"
    for revision, tests in ((100, varied_tests(seed)), (101, varied_tests(seed + 100))):
        response = lnt_submit(client, url, json.dumps(report_doc(revision=revision, tests=tests)))
        assert response.status_code == 200 and response.streaming
        sent = b"".join(response.streaming_content)
    body = json.loads(sent)
    del body["test_results"]
    rows = iter_test_sides(*lnt.run_over_run_inputs(body["run_id"]))
    assert sent == b"".join(submission_body_chunks(body, rows))
    results = json.loads(sent)["test_results"][0]["results"]
    verdicts = {perf for _, _, perf in results} | {status for _, status, _ in results}
    assert {"REGRESSED", "IMPROVED", "UNCHANGED_FAIL", "UNCHANGED_PASS", None} <= verdicts


@pytest.mark.parametrize("report", [NTS_RUN1, "{not json"])
def test_a_big_report_is_stored_with_the_collector_paused_and_resumed_after(
    client, token, monkeypatch, report
):
    import gc

    from perf.services import ingest

    seen = []
    parse = ingest.parse_report

    def watching(raw, *args, **kwargs):
        seen.append(gc.isenabled())
        return parse(raw, *args, **kwargs)

    monkeypatch.setattr(ingest, "parse_report", watching)
    url = f"/db_default/v4/nts/submitRun?token={token}"
    assert lnt_submit(client, url, NTS_RUN1).status_code == 200
    assert seen == [True] and gc.isenabled()  # a small report: not paused
    monkeypatch.setattr("perf.api.submit.PAUSE_COLLECTOR_FROM_BYTES", 5)
    lnt_submit(client, url, report)  # stored, or refused: the collector is back on
    assert seen[1:] == [False] and gc.isenabled()
