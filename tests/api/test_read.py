"""LNT's REST read endpoints: JSON, paginated, bounded, and a lossless export."""

import json
from pathlib import Path

import pytest

from perf.models import Machine, Point, Run, Series, Test, TestSuite
from tests.factories import (
    CORPUS,
    make_field_change,
    make_regression,
    make_token,
    report_doc,
    submit_doc,
    unpacked,
)

pytestmark = pytest.mark.django_db

API = "/api/db_default/v4/nts"


@pytest.fixture
def history(db):
    results = []
    for i, value in enumerate([1.0, 1.01, 0.99, 1.5, 1.51]):
        doc = report_doc(
            revision=100 + i,
            tests={
                "a/one": {"execution_time": [value, value], "hash": "h1"},
                "a/two": {"compile_time": value * 2},
            },
            run={"build_log": "https://ci.invalid/1"},
            machine_fields={"hardware": "x86_64", "os": "linux"},
        )
        results.append(submit_doc(doc))
    return results


def test_machines_lists_each_machine_with_run_count(client, history):
    body = client.get(f"{API}/machines").json()
    assert [m["name"] for m in body["machines"]] == ["box-1"]
    assert body["machines"][0]["run_count"] == 5


def test_a_machine_is_found_by_id_or_name_with_its_runs(client, history):
    machine = Machine.objects.get()
    by_id = client.get(f"{API}/machines/{machine.id}").json()
    by_name = client.get(f"{API}/machines/box-1").json()
    assert by_id == by_name
    assert by_id["machine"]["hardware"] == "x86_64"
    assert len(by_id["runs"]) == 5


def test_machine_runs_are_paginated(client, history):
    body = client.get(f"{API}/machines/box-1?limit=2&offset=1").json()
    assert len(body["runs"]) == 2 and body["offset"] == 1


def test_pages_are_capped_at_the_configured_size(client, history, settings):
    settings.PERF_API_PAGE_SIZE = 3
    body = client.get(f"{API}/machines/box-1?limit=1000").json()
    assert len(body["runs"]) == 3 and body["limit"] == 3


def test_bad_paging_is_a_400(client, history):
    assert client.get(f"{API}/machines?limit=x").status_code == 400
    assert client.get(f"{API}/machines?offset=-1").status_code == 400


def test_an_unknown_machine_run_or_order_is_404_json(client, history):
    for path in ["machines/nobody", "runs/999999", "orders/999999", "orders/abc"]:
        response = client.get(f"{API}/{path}")
        assert response.status_code == 404
        assert response.json()["success"] is False


def test_an_exported_run_reimports_to_the_same_samples(client, history):
    run_id = history[-1].run_id
    exported = client.get(f"{API}/runs/{run_id}").json()
    assert exported["run"]["llvm_project_revision"] == "104"
    original = sorted(
        unpacked(
            Point.objects.filter(run_id=run_id).values_list(
                "series__test__name", "series__metric__name", "samples"
            )
        )
    )
    token = make_token("exporter")
    exported["machine"]["name"] = "box-copy"  # a new machine, so it is a new run
    response = client.post(
        f"{API}/runs", json.dumps(exported), content_type="application/json", HTTP_AUTHTOKEN=token
    )
    assert response.status_code == 301, response.content
    copy_id = response.json()["run_id"]
    copied = sorted(
        unpacked(
            Point.objects.filter(run_id=copy_id).values_list(
                "series__test__name", "series__metric__name", "samples"
            )
        )
    )
    assert copied == original
    copy = Run.objects.get(id=copy_id)
    assert copy.parameters == Run.objects.get(id=run_id).parameters
    assert copy.order_id == Run.objects.get(id=run_id).order_id


def test_lnts_own_exported_run_reimports(client):
    token = make_token()
    raw = Path(CORPUS, "server/ui/v4/last-run-report.json").read_bytes()
    response = client.post(
        f"{API}/runs", raw, content_type="application/json", HTTP_AUTHTOKEN=token
    )
    assert response.status_code == 301, response.content


def test_samples_of_several_runs(client, history):
    ids = [r.run_id for r in history[:2]]
    body = client.get(f"{API}/samples?runid={ids[0]}&runid={ids[1]}").json()
    assert {s["run_id"] for s in body["samples"]} == set(ids)
    assert client.get(f"{API}/samples").status_code == 400
    assert client.get(f"{API}/samples?runid=x").status_code == 400


def test_an_order_has_its_neighbours(client, history):
    order_id = Run.objects.get(id=history[2].run_id).order_id
    body = client.get(f"{API}/orders/{order_id}").json()
    assert body["generated_by"]
    (order,) = body["orders"]  # LNT's shape: a list of one order, fields at the top
    assert order["id"] == order_id
    assert order["llvm_project_revision"] == "102"
    assert order["previous_order_id"] is not None and order["next_order_id"] is not None


def test_fields_lists_the_suite_metrics_with_their_index(client, db):
    fields = client.get(f"{API}/fields").json()["fields"]
    assert fields[2] == {
        "column_id": 2,  # LNT's index of compile_time in nts
        "column_type": "FLOAT",
        "column_name": "compile_time",
        "type": "Real",
        "bigger_is_better": False,
        "display_name": "Compile Time",
        "unit": "seconds",
    }
    assert len(fields) == 9


def test_tests_lists_test_names(client, history):
    names = [t["name"] for t in client.get(f"{API}/tests").json()["tests"]]
    assert names == ["a/one", "a/two"]


def test_graph_gives_order_value_and_run_info(client, history):
    machine = Machine.objects.get()
    test = Test.objects.get(name="a/one")
    # 3 = execution_time, as in LNT
    body = client.get(f"{API}/graph/{machine.id}/{test.id}/3").json()
    # One point per sample, as LNT: each run has two samples of a/one.
    assert [p[0] for p in body] == [
        "100",
        "100",
        "101",
        "101",
        "102",
        "102",
        "103",
        "103",
        "104",
        "104",
    ]
    assert [p[1] for p in body] == [1.0, 1.0, 1.01, 1.01, 0.99, 0.99, 1.5, 1.5, 1.51, 1.51]
    assert set(body[0][2]) == {"runID", "date", "label"}
    assert body[0][2]["label"] == "100" and body[0][2]["runID"] == str(history[0].run_id)
    newest = client.get(f"{API}/graph/{machine.id}/{test.id}/3?limit=3").json()
    assert [p[0] for p in newest] == ["103", "104", "104"]
    assert client.get(f"{API}/graph/{machine.id}/{test.id}/3?limit=x").status_code == 400


def test_graph_of_a_series_that_does_not_exist_is_404(client, history):
    machine = Machine.objects.get()
    assert client.get(f"{API}/graph/{machine.id}/999/3").status_code == 404
    assert client.get(f"{API}/graph/{machine.id}/1/99").status_code == 404


def test_regression_lists_the_field_changes_of_a_series(client, history):
    machine = Machine.objects.get()
    test = Test.objects.get(name="a/one")
    change = make_field_change(machine="box-1", test="a/one", at_revision=103)
    regression = make_regression([change], title="a/one is slower")
    body = client.get(f"{API}/regression/{machine.id}/{test.id}/3").json()
    # LNT's shape: a list of regressions, each with its change's end point.
    assert [(r["id"], r["title"], r["state"]) for r in body] == [
        (regression.id, "a/one is slower", regression.state)
    ]
    assert body[0]["end_point"] == ["103", change.new_value]


def test_schema_reads_the_suite_document(client, db):
    body = client.get(f"{API}/schema").json()
    assert body["name"] == "nts"
    assert body["run_fields"] == [{"name": "llvm_project_revision", "order": True}]


def test_a_custom_suite_is_created_by_posting_its_schema_with_a_token(client, db):
    schema = Path(CORPUS, "docs/my_suite.yaml").read_bytes()
    url = "/api/db_default/v4/my_suite/schema"
    assert client.post(url, schema, content_type="application/x-yaml").status_code == 401
    token = make_token()
    response = client.post(url, schema, content_type="application/x-yaml", HTTP_AUTHTOKEN=token)
    assert response.status_code == 201, response.content
    report = Path(CORPUS, "server/db/customschema-report.json").read_bytes()
    submitted = client.post(
        "/api/db_default/v4/my_suite/runs",
        report,
        content_type="application/json",
        HTTP_AUTHTOKEN=token,
    )
    assert submitted.status_code == 301, submitted.content


def test_a_schema_change_that_removes_a_metric_is_refused(client, db):
    token = make_token()
    url = "/api/db_default/v4/my_suite/schema"
    client.post(
        url,
        Path(CORPUS, "docs/my_suite.yaml").read_bytes(),
        content_type="application/x-yaml",
        HTTP_AUTHTOKEN=token,
    )
    bad = Path(CORPUS, "server/db/schema-example-nomigration0.yaml").read_bytes()
    response = client.post(url, bad, content_type="application/x-yaml", HTTP_AUTHTOKEN=token)
    assert response.status_code == 400
    assert "cannot upgrade suite 'my_suite'" in response.json()["error"]
    migratable = Path(CORPUS, "server/db/schema-example-migratable.yaml").read_bytes()
    response = client.post(url, migratable, content_type="application/x-yaml", HTTP_AUTHTOKEN=token)
    assert response.status_code == 200, response.content


def test_deleting_a_run_needs_a_token_and_removes_its_samples(client, history):
    run_id = history[0].run_id
    assert client.delete(f"{API}/runs/{run_id}").status_code == 401
    token = make_token()
    assert client.delete(f"{API}/runs/{run_id}", HTTP_AUTHTOKEN=token).status_code == 200
    assert not Run.objects.filter(id=run_id).exists()
    assert not Point.objects.filter(run_id=run_id).exists()
    assert Series.objects.exists()


def test_read_endpoints_use_a_bounded_number_of_queries(
    client, history, django_assert_max_num_queries
):
    machine = Machine.objects.get()
    test = Test.objects.get(name="a/one")
    for path in [
        "machines",
        "machines/box-1",
        f"runs/{history[0].run_id}",
        "fields",
        "tests",
        f"graph/{machine.id}/{test.id}/3",
        f"regression/{machine.id}/{test.id}/3",
        f"samples?runid={history[0].run_id}",
    ]:
        with django_assert_max_num_queries(6):
            assert client.get(f"{API}/{path}").status_code == 200


def test_a_token_bound_to_a_machine_cannot_delete_another_machines_run(client, history):
    submit_doc(report_doc(machine="other-box", revision=1))
    other = Run.objects.get(machine__name="other-box")
    bound = make_token("bound", machine="box-1")
    response = client.delete(f"{API}/runs/{other.id}", HTTP_AUTHTOKEN=bound)
    assert response.status_code == 404
    assert Run.objects.filter(id=other.id).exists()
    own = history[0].run_id
    assert client.delete(f"{API}/runs/{own}", HTTP_AUTHTOKEN=bound).status_code == 200


def test_a_token_bound_to_a_machine_cannot_change_suites(client, db):
    bound = make_token("bound", machine="box-1")
    schema = Path(CORPUS, "docs/my_suite.yaml").read_bytes()
    response = client.post(
        "/api/db_default/v4/my_suite/schema",
        schema,
        content_type="application/x-yaml",
        HTTP_AUTHTOKEN=bound,
    )
    assert response.status_code == 403
    assert not TestSuite.objects.filter(name="my_suite").exists()


def test_an_unknown_api_path_is_a_json_404(client, db):
    response = client.get("/api/otherdb/v4/nts/runs")
    assert response.status_code == 404
    assert response.json()["error"] == "no such API endpoint: /api/otherdb/v4/nts/runs"
