"""Home, machines, run report and compare pages."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from perf.models import Baseline, Run
from tests.factories import report_doc, submit_doc, submit_grid

pytestmark = pytest.mark.django_db


def run_url(run_id: int, suite: str = "nts") -> str:
    return reverse("perf:run-detail", args=[suite, run_id])


def two_runs() -> tuple[int, int]:
    """An old and a new run of box-1 with one test in each report group."""
    old = submit_doc(
        report_doc(
            revision=1000,
            tests={
                "t/slower": {"execution_time": [1.0, 1.001, 0.999]},
                "t/faster": {"execution_time": [1.0, 1.001, 0.999]},
                "t/same": {"execution_time": [1.0, 1.001, 0.999]},
                "t/breaks": {"execution_time": 1.0, "execution_status": 0},
                "t/heals": {"execution_time": 1.0, "execution_status": 1},
                "t/gone": {"execution_time": 1.0},
            },
        )
    )
    new = submit_doc(
        report_doc(
            revision=1001,
            tests={
                "t/slower": {"execution_time": [1.2, 1.201, 1.199]},
                "t/faster": {"execution_time": [0.8, 0.801, 0.799]},
                "t/same": {"execution_time": [1.001, 1.0, 1.002]},
                "t/breaks": {"execution_time": 1.0, "execution_status": 1},
                "t/heals": {"execution_time": 1.0, "execution_status": 0},
                "t/new": {"execution_time": 1.0},
            },
        )
    )
    return old.run_id, new.run_id


def group_of(rows: list[dict], test: str) -> str:
    return next(r["group"] for r in rows if r["test"] == test)


def test_home_shows_recent_runs_active_machines_and_open_regressions(client):
    submit_grid(machines=2, tests=1, orders=2)
    response = client.get(reverse("perf:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "box-0" in body and "box-1" in body
    assert "Open regressions" in body
    assert 'name="viewport"' in body


@pytest.mark.parametrize("orders", [2, 8])
def test_home_and_suite_pages_use_a_fixed_number_of_queries(
    client, orders, django_assert_num_queries
):
    submit_grid(machines=2, tests=3, orders=orders)
    with django_assert_num_queries(4):
        client.get(reverse("perf:home"))
    with django_assert_num_queries(4):
        client.get(reverse("perf:suite-home", args=["nts"]))


@pytest.mark.parametrize("machines", [1, 6])
def test_machine_list_uses_a_fixed_number_of_queries(client, machines, django_assert_num_queries):
    submit_grid(machines=machines, tests=2, orders=2)
    with django_assert_num_queries(2):
        response = client.get(reverse("perf:machine-list", args=["nts"]))
    assert response.content.decode().count("/machines/") >= machines


@pytest.mark.parametrize("orders", [2, 9])
def test_machine_page_compares_latest_with_previous_in_fixed_queries(
    client, orders, django_assert_num_queries
):
    submit_grid(machines=1, tests=3, orders=orders, step_at=orders - 1)
    machine_id = Run.objects.first().machine_id
    with django_assert_num_queries(7):
        response = client.get(reverse("perf:machine-detail", args=["nts", machine_id]))
    body = response.content.decode()
    assert "Latest run" in body
    assert f"order {1000 + orders - 2}" in body


def test_machine_page_is_paginated(client):
    submit_grid(machines=1, tests=1, orders=55)
    machine_id = Run.objects.first().machine_id
    url = reverse("perf:machine-detail", args=["nts", machine_id])
    first = client.get(url).content.decode()
    assert "Next →" in first and "1054" in first and "1004" not in first
    second = client.get(url + "?page=2").content.decode()
    assert "1004" in second and "Next →" not in second


def test_run_report_json_puts_each_test_in_the_right_group(client):
    _, new = two_runs()
    data = client.get(run_url(new) + "?metric=execution_time&format=json").json()
    rows = data["comparisons"][0]["rows"]
    assert group_of(rows, "t/slower") == "regressions"
    assert group_of(rows, "t/faster") == "improvements"
    assert group_of(rows, "t/same") == "unchanged"
    assert group_of(rows, "t/breaks") == "new_failures"
    assert group_of(rows, "t/heals") == "new_passes"
    assert group_of(rows, "t/new") == "added"
    assert group_of(rows, "t/gone") == "removed"
    slower = next(r for r in rows if r["test"] == "t/slower")
    assert slower["delta_percent"] == pytest.approx(20.0)
    assert data["comparisons"][0]["geomean_new"] is not None


def test_run_report_page_shows_groups_marks_and_graph_links(client):
    _, new = two_runs()
    body = client.get(run_url(new) + "?metric=execution_time").content.decode()
    assert "Regressions <strong>1</strong>" in body
    assert "✗ worse" in body and "✓ better" in body
    assert "Geometric mean" in body
    assert reverse("perf:graph", args=["nts"]) + "?plot=" in body


def test_run_report_filters_by_test_name_and_hides_small_changes(client):
    _, new = two_runs()
    rows = client.get(run_url(new) + "?metric=execution_time&format=json&filter=^t/s").json()[
        "comparisons"
    ][0]["rows"]
    assert {r["test"] for r in rows} == {"t/slower", "t/same"}
    rows = client.get(run_url(new) + "?metric=execution_time&format=json&hide=5").json()[
        "comparisons"
    ][0]["rows"]
    assert "t/same" not in {r["test"] for r in rows}
    assert "t/slower" in {r["test"] for r in rows}


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("t/[", "not a valid regular expression"),
        ("(a+)+$", "nested repetition"),
        ("a" * 101, "too long"),
    ],
)
def test_run_report_refuses_a_bad_filter_with_a_clear_message(client, pattern, message):
    _, new = two_runs()
    response = client.get(run_url(new), {"filter": pattern})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_run_report_compares_against_a_baseline_by_name_or_run_id(client):
    old, new = two_runs()
    Baseline.objects.create(suite_id=Run.objects.get(id=old).suite_id, name="release", run_id=old)
    for key in ("release", str(old)):
        data = client.get(run_url(new), {"baseline": key, "format": "json"}).json()
        assert [c["old_run"] for c in data["comparisons"]] == [old, old]
    body = client.get(run_url(new), {"baseline": "nope"}).content.decode()
    assert "No such baseline" in body


def test_run_report_csv_is_escaped_and_neutralises_formulas(client):
    submit_doc(report_doc(revision=1000, tests={'=HYPERLINK("x"),"q"': {"execution_time": 1.0}}))
    new = submit_doc(
        report_doc(revision=1001, tests={'=HYPERLINK("x"),"q"': {"execution_time": 2.0}})
    ).run_id
    response = client.get(run_url(new), {"metric": "execution_time", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:4] == ["comparison", "metric", "group", "test"]
    assert rows[1][3] == '\'=HYPERLINK("x"),"q"'
    assert rows[1][6] == "100.0"


@pytest.mark.parametrize("tests", [3, 30])
def test_run_report_uses_a_fixed_number_of_queries(client, tests, django_assert_num_queries):
    results = submit_grid(machines=1, tests=tests, orders=3, step_at=2)
    with django_assert_num_queries(6):
        client.get(run_url(results[-1].run_id))
    with django_assert_num_queries(8):
        client.get(run_url(results[-1].run_id), {"baseline": str(results[0].run_id)})


def test_run_report_of_a_first_run_lists_every_test_as_added(client):
    run = submit_grid(machines=1, tests=2, orders=1)[0].run_id
    rows = client.get(run_url(run), {"format": "json", "metric": "execution_time"}).json()[
        "comparisons"
    ][0]["rows"]
    assert {r["group"] for r in rows} == {"added"}


def test_unknown_suite_and_run_are_not_found(client):
    assert client.get(run_url(999, suite="nope")).status_code == 404
    assert client.get(run_url(999)).status_code == 404


def test_compare_two_runs_and_two_orders_of_a_machine(client, django_assert_max_num_queries):
    old, new = two_runs()
    url = reverse("perf:compare", args=["nts"])
    with django_assert_max_num_queries(7):
        data = client.get(url, {"a": old, "b": new, "format": "json", "metric": "execution_time"})
    rows = data.json()["comparisons"][0]["rows"]
    assert group_of(rows, "t/slower") == "regressions"
    by_order = client.get(
        url,
        {
            "machine": "box-1",
            "a": "1000",
            "b": "1001",
            "format": "json",
            "metric": "execution_time",
        },
    ).json()
    assert by_order["comparisons"][0]["old_run"] == old
    assert "not found" in client.get(url, {"a": "1", "b": "99999"}).content.decode()
