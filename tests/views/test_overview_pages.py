"""The overview pages: dashboard, matrix, global status, latest runs report, the daily
report by run date, and the run report as plain text."""

from __future__ import annotations

import pytest
from django.urls import reverse

from perf.models import Machine, Metric, Run, Test, TestSuite
from tests.factories import make_field_change, make_regression, report_doc, submit_doc, submit_grid

pytestmark = pytest.mark.django_db


def url(name: str, *args: object) -> str:
    return reverse(f"perf:{name}", args=["nts", *args])


def plot_key(machine: str, test: str, metric: str = "execution_time") -> str:
    m = Machine.objects.get(name=machine)
    t = Test.objects.get(name=test)
    position = Metric.objects.get(suite__name="nts", name=metric).position
    return f"{m.id}.{t.id}.{position}"


# --- dashboard --------------------------------------------------------------------------


@pytest.mark.parametrize(("machines", "tests", "orders"), [(1, 2, 3), (3, 6, 8)])
def test_dashboard_draws_a_sparkline_per_machine_and_metric_with_fixed_queries(
    client, django_assert_num_queries, machines, tests, orders
):
    submit_grid(machines=machines, tests=tests, orders=orders)
    # session-less page: suite, metrics, orders, active machines, the runs' stored means
    with django_assert_num_queries(5):
        body = client.get(url("dashboard")).content.decode()
    # execution_time and compile_time are the Real metrics with data.
    assert body.count("<polyline") == machines * 2
    assert body.count('class="sparkline"') == machines * 2
    machine = Machine.objects.get(name="box-0")
    position = Metric.objects.get(suite__name="nts", name="execution_time").position
    assert f"?mean={machine.id}.{position}" in body


def test_dashboard_keeps_only_the_most_active_machines(client):
    submit_grid(machines=2, tests=1, orders=3)
    submit_doc(report_doc(machine="busy", revision=1003))
    submit_doc(report_doc(machine="busy", revision=1004))
    submit_doc(report_doc(machine="busy", revision=1005))
    submit_doc(report_doc(machine="busy", revision=1006))
    body = client.get(url("dashboard"), {"machines": 1}).content.decode()
    assert "busy" in body and "box-0" not in body


def test_dashboard_geometric_mean_follows_a_step(client):
    submit_grid(machines=1, tests=2, orders=4, step_at=2, step_factor=4.0)
    body = client.get(url("dashboard")).content.decode()
    # Tests at 1.0 and 1.1; test 0 quadruples: the mean doubles (+100 %).
    assert "+100.00 %" in body


def test_dashboard_pools_two_runs_at_one_order_as_the_mean_of_all_their_points():
    from perf.selectors.overview import dashboard

    for revision, value in ((1000, 1.0), (1001, 1.0)):
        submit_doc(
            report_doc(
                machine="m",
                revision=revision,
                tests={"a": {"execution_time": value}, "b": {"execution_time": value}},
            )
        )
    # A second run at 1001 with one test at 8.0: the three points' mean is 2.0.
    extra = report_doc(machine="m", revision=1001, tests={"c": {"execution_time": 8.0}})
    submit_doc(extra, merge="append")
    suite = TestSuite.objects.get(name="nts")
    metric = Metric.objects.get(suite=suite, name="execution_time")
    _, lines = dashboard(suite, [metric])
    assert lines[0].values == [pytest.approx(1.0), pytest.approx(2.0)]


def test_sparkline_points_scale_to_the_box_and_break_at_gaps():
    from perf.selectors.overview import sparkline_points

    assert sparkline_points([1.0, 2.0], width=10, height=10, pad=0) == ["0.0,10.0 10.0,0.0"]
    # A 0.2 % wiggle stays near the middle of the box (the scale spans at least 2 %).
    assert sparkline_points([0.999, 1.001], width=10, height=10, pad=0) == ["0.0,5.5 10.0,4.5"]
    assert sparkline_points([1.0, None, 1.0, 3.0], width=30, height=10, pad=0) == [
        "0.0,10.0",
        "20.0,10.0 30.0,0.0",
    ]
    assert sparkline_points([None, None]) == []


# --- matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize(("series", "orders"), [(1, 3), (4, 9)])
def test_matrix_shows_values_and_change_against_the_first_order_with_fixed_queries(
    client, django_assert_num_queries, series, orders
):
    submit_grid(machines=2, tests=2, orders=orders, step_at=orders - 1, step_factor=1.5)
    keys = [plot_key(f"box-{m}", f"suite/t{t}") for m in range(2) for t in range(2)][:series]
    params = {f"plot.{k}": key for k, key in enumerate(keys)}
    with django_assert_num_queries(5):
        response = client.get(url("matrix"), params)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('<th scope="row">') == orders
    assert "+50.00 %" in body  # t0 on box-0 at the last order against the first


def test_matrix_limits_the_orders_and_reads_plain_plot_params(client):
    submit_grid(machines=1, tests=1, orders=6)
    body = client.get(
        url("matrix"), {"plot": plot_key("box-0", "suite/t0"), "orders": 3}
    ).content.decode()
    assert body.count('<th scope="row">') == 3
    assert ">1005<" in body and ">1002<" not in body


def test_matrix_form_adds_a_series_by_test_name(client):
    submit_grid(machines=1, tests=2, orders=2)
    machine = Machine.objects.get(name="box-0")
    response = client.get(
        url("matrix"), {"add": "1", "machine": machine.id, "test": "suite/t1", "metric": 3}
    )
    assert response.status_code == 302
    assert f"plot.0={plot_key('box-0', 'suite/t1')}" in response["Location"]


def test_matrix_form_names_an_unknown_test(client):
    submit_grid(machines=1, tests=1, orders=2)
    machine = Machine.objects.get(name="box-0")
    response = client.get(
        url("matrix"), {"add": "1", "machine": machine.id, "test": "nope<b>", "metric": 3}
    )
    assert response.status_code == 400
    assert "No test named &#x27;nope&lt;b&gt;&#x27;" in response.content.decode()


# --- global status ----------------------------------------------------------------------


@pytest.mark.parametrize(("machines", "tests"), [(1, 2), (3, 7)])
def test_global_status_is_a_test_by_machine_grid_worst_first_with_fixed_queries(
    client, django_assert_num_queries, machines, tests
):
    submit_grid(machines=machines, tests=tests, orders=3, step_at=2, step_factor=1.3)
    with django_assert_num_queries(5):
        body = client.get(url("global-status")).content.decode()
    rows = body.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    assert len(rows) == tests
    assert "suite/t0" in rows[0]  # +30 % on every machine: the worst
    assert rows[0].count("+30.00") == machines
    assert 'class="num heat bad-3"' in rows[0]


def test_global_status_compares_with_a_baseline_run(client, django_assert_num_queries):
    results = submit_grid(machines=2, tests=2, orders=4, step_at=1, step_factor=1.3)
    first = Run.objects.get(id=results[0].run_id)  # box-0 at 1000, before the step
    with django_assert_num_queries(7):
        body = client.get(url("global-status"), {"baseline": first.id}).content.decode()
    # Both machines compared with their run at 1000: t0 is 30 % slower.
    assert body.count("+30.00") == 2  # one cell per machine
    assert "1000 → 1003" in body


def test_global_status_filters_machines_and_refuses_an_unknown_baseline(client):
    submit_grid(machines=2, tests=1, orders=2)
    body = client.get(url("global-status"), {"machine": "box-1"}).content.decode()
    assert ">box-1<" in body and ">box-0<" not in body
    response = client.get(url("global-status"), {"baseline": "999999"})
    assert response.status_code == 404
    assert "No run &#x27;999999&#x27; in this suite" in response.content.decode()


def test_global_status_direction_follows_bigger_is_better(client):
    from perf.selectors.overview import heat_class

    assert heat_class(30.0) == "bad-3" and heat_class(-2.0) == "good-1"
    assert heat_class(0.5) == "" and heat_class(None) == ""
    submit_grid(machines=1, tests=2, orders=2, step_at=1, step_factor=1.3)
    Metric.objects.filter(suite__name="nts", name="execution_time").update(bigger_is_better=True)
    body = client.get(url("global-status")).content.decode()
    assert "good-3" in body and "bad-3" not in body


# --- latest runs report -----------------------------------------------------------------


def _noisy_history(machine: str, tests: int, orders: int, step_test: int | None) -> None:
    for o in range(orders):
        values = {}
        for t in range(tests):
            level = (1.0 + t / 10) * (1 + 0.004 * ((o * 7 + t * 3) % 5 - 2))
            if t == step_test and o == orders - 1:
                level *= 1.25
            values[f"suite/t{t}"] = {"execution_time": [level, level * 1.001, level * 0.999]}
        submit_doc(report_doc(machine=machine, revision=1000 + o, tests=values))


@pytest.mark.parametrize(("machines", "tests"), [(1, 3), (3, 8)])
def test_latest_runs_report_lists_changes_beyond_noise_with_fixed_queries(
    client, django_assert_num_queries, machines, tests
):
    for m in range(machines):
        _noisy_history(f"box-{m}", tests, 12, step_test=1)
    with django_assert_num_queries(6):
        body = client.get(url("latest-runs")).content.decode()
    assert body.count("Regressions (1)") == machines
    assert body.count(">suite/t1</a>") == machines
    assert "suite/t0</a>" not in body  # noise only


def test_latest_runs_report_leaves_out_small_moves(client):
    _noisy_history("box-0", 3, 12, step_test=1)
    body = client.get(url("latest-runs"), {"min_change": 30}).content.decode()
    assert "No change beyond the noise." in body


# --- daily report -----------------------------------------------------------------------


def _run_on(day: str, revision: int, machine: str = "box-0", level: float = 1.0) -> int:
    doc = report_doc(
        machine=machine,
        revision=revision,
        tests={"suite/t0": {"execution_time": [level, level, level]}},
        run={"start_time": f"{day}T03:00:00", "end_time": f"{day}T03:30:00"},
    )
    return submit_doc(doc).run_id


def test_daily_report_goes_by_run_date_not_submission_date(client):
    _run_on("2026-01-10", 1000)
    _run_on("2026-01-11", 1001)
    _run_on("2026-01-12", 1002, level=1.5)  # all three submitted now
    change = make_field_change(machine="box-0", test="suite/t0", at_revision=1002)
    Metric.objects.filter(id=change.metric_id).update(display_name="Execution Time")
    default = client.get(url("daily")).content.decode()  # the newest run's day
    assert "2026-01-12" in default and "Execution Time" in default
    assert "1 regression " in default
    older = client.get(url("daily"), {"day": "2026-01-11"}).content.decode()
    assert "0 regressions" in older and ">box-0<" in older
    both = client.get(url("daily"), {"day": "2026-01-12", "days": 3}).content.decode()
    assert "2026-01-10 to 2026-01-12" in both and "ran on 2026-01-12" in default
    assert (
        "No runs ran on these days."
        in client.get(url("daily"), {"day": "2026-02-01"}).content.decode()
    )


@pytest.mark.parametrize("changes", [1, 5])
def test_daily_report_uses_fixed_queries(client, django_assert_num_queries, changes):
    submit_grid(machines=2, tests=changes, orders=2)
    for t in range(changes):
        make_regression([make_field_change(machine="box-1", test=f"suite/t{t}")])
    with django_assert_num_queries(4):
        body = client.get(url("daily")).content.decode()
    assert body.count('class="row-regressions"') == changes


def test_daily_report_refuses_a_bad_day_and_speaks_plain_text(client):
    _run_on("2026-01-12", 1000)
    response = client.get(url("daily"), {"day": "12/01/2026"})
    assert response.status_code == 400
    assert "is not a YYYY-MM-DD date" in response.content.decode()
    text = client.get(url("daily"), {"format": "txt"})
    assert text["Content-Type"].startswith("text/plain")
    assert "box-0: 1 run, last 2026-01-12 03:00" in text.content.decode()


# --- run report as text -----------------------------------------------------------------


def test_run_report_as_plain_text_lists_the_regressions(client):
    results = submit_grid(machines=1, tests=3, orders=3, step_at=2, step_factor=1.5)
    response = client.get(url("run-detail", results[-1].run_id), {"format": "txt"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "box-0 at 1002" in text
    assert "Too little history to judge (1)" in text or "Regressions (1)" in text
    assert "+50.00%" in text and "suite/t0" in text
    assert "<" not in text.replace("->", "")


def test_hostile_test_names_are_escaped_on_the_overview_pages(client):
    from tests.views.test_escaping import ATTRIBUTE, SCRIPT, hostile_history

    run, _ = hostile_history()
    keys = [
        f"{run.machine_id}.{s.test_id}.{s.metric.position}"
        for s in run.machine.series.select_related("metric").filter(metric__name="execution_time")
    ]
    pages = [
        url("dashboard"),
        url("matrix") + "?" + "&".join(f"plot.{k}={key}" for k, key in enumerate(keys)),
        url("matrix") + "?add=1&metric=3&machine=1&test=%3Cscript%3E",
        url("global-status") + "?machine=%3Cscript%3E",
        url("global-status"),
        url("latest-runs") + "?num_runs=2",
        url("daily"),
    ]
    for page in pages:
        body = client.get(page).content.decode()
        assert SCRIPT not in body and ATTRIBUTE not in body, page
    for page in pages[1], pages[4], pages[6]:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(page).content.decode(), page


def test_latest_runs_report_pages_machines(client):
    submit_grid(machines=7, tests=1, orders=2)
    first = client.get(url("latest-runs")).content.decode()
    assert ">box-4</a>" in first and ">box-5</a>" not in first and 'rel="next"' in first
    second = client.get(url("latest-runs"), {"page": 2}).content.decode()
    assert ">box-5</a>" in second and ">box-6</a>" in second and ">box-0</a>" not in second


def test_lnt_daily_report_urls_open_the_same_report(client):
    response = client.get(url("daily-report-lnt", 2026, 1, 12), {"num_days": 3})
    assert response.status_code == 302
    assert response["Location"].endswith("/daily?day=2026-01-12&days=3")
    assert client.get(url("daily-report-lnt", 2026, 2, 30)).status_code == 400


def test_global_status_leaves_out_machines_that_stopped_running(client):
    for machine, day in (("old-box", "2025-06-01"), ("old-box", "2025-06-02")):
        submit_doc(
            report_doc(
                machine=machine,
                revision=1000 if day.endswith("01") else 1001,
                run={"start_time": f"{day}T03:00:00", "end_time": f"{day}T03:30:00"},
            )
        )
    submit_grid(machines=1, tests=1, orders=2)  # runs of 2026-03-02
    body = client.get(url("global-status")).content.decode()
    assert ">box-0<" in body and ">old-box<" not in body
    everyone = client.get(url("global-status"), {"days": 0}).content.decode()
    assert ">box-0<" in everyone and ">old-box<" in everyone
