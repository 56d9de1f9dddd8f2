"""The two-sided compare page: sides of runs or orders, knobs in the URL, CSV, zoom."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from perf.formats import BUILTIN_SUITES
from tests.factories import report_doc, submit_doc, submit_grid

pytestmark = pytest.mark.django_db

URL = reverse("perf:compare-sides", args=["nts"])


def two_orders(old: str, new: str) -> dict[str, str]:
    """The query comparing box-0's execution time at two revisions."""
    return {
        "a_machine": "box-0",
        "a_orders": old,
        "b_machine": "box-0",
        "b_orders": new,
        "metric": "execution_time",
    }


def test_two_orders_of_a_machine_compare_test_by_test(client):
    submit_grid(machines=1, tests=3, orders=3, step_at=2, step_factor=1.5)
    query = two_orders("1000", "1002")
    body = client.get(URL, query).content.decode()
    assert "regressed <strong>1</strong>" in body and "unchanged <strong>2</strong>" in body
    rows = client.get(URL, {**query, "format": "json"}).json()["rows"]
    slower = next(r for r in rows if r["test"] == "suite/t0")
    assert slower["ratio"] == pytest.approx(1.5) and slower["status"] == "regressed"
    assert 'id="geomean-row"' in body and 'id="compare-chart"' in body


def test_several_runs_on_a_side_pool_their_samples(client):
    results = submit_grid(machines=1, tests=1, orders=4)
    ids = [r.run_id for r in results]
    query = {
        "a_runs": f"{ids[0]},{ids[1]}",
        "b_runs": f"{ids[2]} {ids[3]}",
        "metric": "execution_time",
        "format": "json",
    }
    row = client.get(URL, query).json()["rows"][0]
    assert (row["old_n"], row["new_n"]) == (6, 6)


def test_sides_of_different_suites_match_tests_and_metrics_by_name(client):
    from perf.services.suites import suite_save

    other = BUILTIN_SUITES["nts"].__class__(**{**vars(BUILTIN_SUITES["nts"]), "name": "nts2"})
    suite_save(other)
    old = submit_doc(report_doc(revision=1000, tests={"t": {"execution_time": 1.0}})).run_id
    new = submit_doc(
        report_doc(revision=1000, tests={"t": {"execution_time": 2.0}}), suite="nts2"
    ).run_id
    query = {"a_runs": old, "b_runs": new, "b_suite": "nts2", "metric": "execution_time"}
    rows = client.get(URL, {**query, "format": "json"}).json()["rows"]
    assert [(r["test"], r["ratio"]) for r in rows] == [("t", 2.0)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"a_runs": "x", "b_runs": "RUN"}, "a_runs: 'x' is not a run id."),
        ({"a_runs": "999999", "b_runs": "RUN"}, "a_runs: no run 999999 in suite nts."),
        ({"a_orders": "1000", "b_runs": "RUN"}, "a_machine: give the machine"),
        ({"a_runs": "RUN"}, "b_runs: give run ids, or b_machine and b_orders."),
        ({"a_baseline": "rel", "b_runs": "RUN"}, "a_machine: give the machine whose run at the"),
        (
            {"a_baseline": "nope", "a_machine": "box-0", "b_runs": "RUN"},
            "a_baseline: machine box-0 has no run at the order of a baseline called 'nope'",
        ),
        (
            {"a_machine": "box-0", "a_orders": "77", "b_runs": "RUN"},
            "a_orders: machine box-0 has no run at 77",
        ),
        (
            {"a_runs": "RUN", "b_runs": "RUN", "metric": "nope"},
            "metric: no Real metric called 'nope'",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, query, message):
    run = str(submit_grid(machines=2, tests=1, orders=1)[0].run_id)
    query = {k: run if v == "RUN" else v for k, v in query.items()}  # ids vary by database
    response = client.get(URL, {**query, "format": "json"})
    assert response.status_code == 400 and response.json()["error"].startswith(message)
    page = client.get(URL, query)
    assert page.status_code == 400 and 'id="compare-error"' in page.content.decode()


def test_runs_of_two_machines_cannot_share_a_side(client):
    results = submit_grid(machines=2, tests=1, orders=1)
    query = {"a_runs": f"{results[0].run_id},{results[1].run_id}", "b_runs": results[0].run_id}
    response = client.get(URL, {**query, "format": "json"})
    assert response.status_code == 400 and "must all be of machine" in response.json()["error"]


def test_the_knobs_and_the_zoom_in_the_url_reproduce_the_view(client):
    submit_grid(machines=1, tests=4, orders=2, step_at=1, step_factor=1.5)
    base = two_orders("1000", "1001")
    strict = client.get(URL, {**base, "min_delta": "60", "format": "json"}).json()["rows"]
    assert {r["status"] for r in strict} == {"unchanged"}
    zoomed = client.get(URL, {**base, "zlo": "0.5", "zhi": "1", "format": "csv"})
    rows = list(csv.reader(io.StringIO(zoomed.content.decode())))
    assert rows[0][:3] == ["test", "old", "new"]
    assert [r[0] for r in rows[1:]] == ["suite/t0"]
    page = client.get(URL, {**base, "zlo": "0.5", "zhi": "1"}).content.decode()
    assert page.count("<tr data-status") == 4 and page.count(" hidden>") == 3
    assert "1 of 4 tests shown" in page


def test_test_names_are_escaped_in_the_page_and_neutralised_in_the_csv(client):
    name = '=cmd|"<script>x</script>'
    old = submit_doc(report_doc(revision=1000, tests={name: {"execution_time": 1.0}})).run_id
    new = submit_doc(report_doc(revision=1001, tests={name: {"execution_time": 2.0}})).run_id
    query = {"a_runs": old, "b_runs": new, "metric": "execution_time"}
    page = client.get(URL, query).content.decode()
    assert "<script>x" not in page and "&lt;script&gt;x" in page
    rows = list(
        csv.reader(io.StringIO(client.get(URL, {**query, "format": "csv"}).content.decode()))
    )
    assert rows[1][0] == "'" + name


@pytest.mark.parametrize("tests", [3, 40])
def test_the_page_reads_a_fixed_number_of_queries(client, tests, django_assert_num_queries):
    results = submit_grid(machines=1, tests=tests, orders=4)
    ids = [r.run_id for r in results]
    query = {
        "a_runs": f"{ids[0]},{ids[1]}",
        "b_runs": f"{ids[2]},{ids[3]}",
        "metric": "execution_time",
    }
    # The suite, each side's runs, the metrics, each side's samples.
    with django_assert_num_queries(6):
        body = client.get(URL, query).content.decode()
    assert body.count("<tr data-status") == tests


def test_an_empty_form_is_just_the_form(client):
    response = client.get(URL)
    assert response.status_code == 200 and 'id="compare-form"' in response.content.decode()


def test_a_side_can_be_a_machines_run_at_a_baseline(client):
    from perf.models import Baseline, Run

    results = submit_grid(machines=1, tests=1, orders=3, step_at=2, step_factor=2.0)
    first = Run.objects.get(id=results[0].run_id)
    Baseline.objects.create(suite_id=first.suite_id, name="rel", order_id=first.order_id)
    query = {
        "a_machine": "box-0",
        "a_baseline": "rel",
        "b_runs": results[2].run_id,
        "metric": "execution_time",
    }
    rows = client.get(URL, {**query, "format": "json"}).json()["rows"]
    assert [(r["test"], r["ratio"]) for r in rows] == [("suite/t0", 2.0)]
    assert 'value="rel"' in client.get(URL, query).content.decode()
