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


def test_the_table_shows_each_number_to_its_places_and_a_dash_where_a_side_has_none(client):
    old = submit_doc(report_doc(revision=1000, tests={"t": {"execution_time": 1.0}})).run_id
    tests = {"t": {"execution_time": 2.0}, "u": {"execution_time": 3.0}}
    new = submit_doc(report_doc(revision=1001, tests=tests)).run_id
    body = client.get(URL, {"a_runs": old, "b_runs": new, "metric": "execution_time"})
    cells = body.content.decode()
    # t: old, new, delta, delta %, ratio; u: no old value, so no delta, ratio or p.
    assert '<td class="num">1.0000 <span' in cells and '<td class="num">2.0000 <span' in cells
    num = '<td class="num">{}</td>'.format
    delta_cells = num("1.0000") + num("100.00") + num("2.0000")
    assert delta_cells in cells
    assert '<td>u</td><td class="num">—</td><td class="num">3.0000 <span' in cells


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


# --- chosen rows into a regression -------------------------------------------------

REGRESS = reverse("perf:compare-regression", args=["nts"])


def regress_post(run_id: int, *tests: str, **fields: str) -> dict:
    return {"run": str(run_id), "metric": "execution_time", "test": list(tests), **fields}


def test_logged_in_people_get_a_csrf_form_to_track_chosen_rows(client):
    from tests.factories import make_user

    submit_grid(machines=1, tests=2, orders=2, step_at=1, step_factor=1.5)
    query = two_orders("1000", "1001")
    anonymous = client.get(URL, query).content.decode()
    assert 'id="regress-form"' not in anonymous
    assert "to put chosen rows in a regression" in anonymous
    client.force_login(make_user())
    body = client.get(URL, query).content.decode()
    assert 'id="regress-form"' in body and "csrfmiddlewaretoken" in body
    assert 'name="test" value="suite/t0" form="regress-form"' in body


def test_chosen_rows_make_a_regression_with_the_detected_or_a_manual_change(client):
    from perf.models import FieldChange, Regression, RegressionEvent
    from tests.factories import make_user

    results = submit_grid(machines=1, tests=2, orders=3, step_at=2, step_factor=1.5)
    FieldChange.objects.all().delete()  # as if detection found nothing
    client.force_login(make_user())
    response = client.post(
        REGRESS, regress_post(results[-1].run_id, "suite/t0", "suite/t1", action="create")
    )
    regression = Regression.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("perf:regression-detail", args=["nts", regression.id])
    changes = FieldChange.objects.filter(indicator__regression=regression).order_by("test__name")
    assert [(c.test.name, c.method, c.is_regression) for c in changes] == [
        ("suite/t0", FieldChange.MANUAL, True),
        ("suite/t1", FieldChange.MANUAL, False),
    ]
    assert changes[0].relative_change == pytest.approx(0.5)
    assert RegressionEvent.objects.filter(regression=regression, action="created").exists()


def test_chosen_rows_are_added_to_a_regression_and_a_repeat_adds_nothing(client):
    from perf.models import FieldChange, RegressionEvent
    from tests.factories import make_field_change, make_regression, make_user

    results = submit_grid(machines=1, tests=2, orders=3, step_at=2, step_factor=1.5)
    regression = make_regression([make_field_change(machine="box-0", test="suite/t0")])
    client.force_login(make_user())
    post = regress_post(
        results[-1].run_id, "suite/t0", "suite/t1", action="add", regression=str(regression.id)
    )
    assert client.post(REGRESS, post).status_code == 302
    assert client.post(REGRESS, post).status_code == 302
    held = FieldChange.objects.filter(indicator__regression=regression)
    assert sorted(held.values_list("test__name", flat=True)) == ["suite/t0", "suite/t1"]
    assert RegressionEvent.objects.filter(regression=regression, action="add").count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"run": "x"}, "run: give the id of the new side's run."),
        ({"run": "999999"}, "run: no run 999999."),
        ({"test": []}, "test: choose at least one row."),
        ({"test": ["nope"]}, "test: 'nope' has no execution_time value in run"),
        ({"action": "drop"}, "action: expected create or add, got 'drop'."),
        ({"action": "add", "regression": ""}, "regression: give the id of the regression"),
        ({"action": "add", "regression": "999999"}, "regression: no regression 999999"),
    ],
)
def test_bad_choices_are_refused_naming_the_field_and_write_nothing(client, fields, message):
    from perf.models import FieldChange, Regression
    from tests.factories import make_user

    results = submit_grid(machines=1, tests=1, orders=2)
    before = FieldChange.objects.count()
    client.force_login(make_user())
    post = {**regress_post(results[-1].run_id, "suite/t0", action="create"), **fields}
    response = client.post(REGRESS, post)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Regression.objects.exists() and FieldChange.objects.count() == before


def test_a_row_already_in_another_regression_is_refused_naming_it(client):
    from tests.factories import make_field_change, make_regression, make_user

    results = submit_grid(machines=1, tests=1, orders=2)
    held = make_regression([make_field_change(machine="box-0", test="suite/t0")])
    client.force_login(make_user())
    response = client.post(REGRESS, regress_post(results[-1].run_id, "suite/t0", action="create"))
    assert response.status_code == 400
    assert f"already in regression {held.id}" in response.content.decode()


def test_anonymous_posts_are_sent_to_log_in_and_gets_are_refused(client):
    from perf.models import Regression

    results = submit_grid(machines=1, tests=1, orders=2)
    response = client.post(REGRESS, regress_post(results[-1].run_id, "suite/t0", action="create"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(REGRESS).status_code == 405
    assert not Regression.objects.exists()


def test_the_form_needs_the_csrf_token():
    from django.test import Client

    from tests.factories import make_user

    results = submit_grid(machines=1, tests=1, orders=2)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_user())
    response = strict.post(REGRESS, regress_post(results[-1].run_id, "suite/t0", action="create"))
    assert response.status_code == 403
