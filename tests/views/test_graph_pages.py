"""The graph page with LNT's URL parameters, geometric means, samples on hover."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.urls import reverse

from perf.models import Machine, Metric, Run, Test
from tests.factories import submit_grid

pytestmark = pytest.mark.django_db

GRAPH, DATA, SAMPLES = "perf:graph", "perf:graph-data", "perf:graph-samples"


def point_queries(scans: int) -> int:
    """Queries for ``scans`` range scans of points (one a series; two a series for
    ``around``): one on PostgreSQL (their UNION ALL), one a scan on SQLite (which runs
    in-process: no round trips to save)."""
    return 1 if connection.features.supports_slicing_ordering_in_compound else scans


def field() -> int:
    return Metric.objects.get(suite__name="nts", name="execution_time").position


def page_config(response) -> dict:
    body = response.content.decode()
    match = re.search(r'<script id="graph-config" type="application/json">(.*?)</script>', body)
    assert match, "no graph-config"
    return json.loads(match.group(1))


def plot_of(machine: str, test: str) -> str:
    m, t = Machine.objects.get(name=machine), Test.objects.get(name=test)
    return f"{m.id}.{t.id}.{field()}"


def test_an_lnt_graph_url_opens_the_same_view(client):
    submit_grid(machines=2, tests=2, orders=3)
    run = Run.objects.order_by("id").last()
    box0, box1 = Machine.objects.get(name="box-0"), Machine.objects.get(name="box-1")
    lnt = {
        "plot.0": plot_of("box-0", "suite/t0"),
        "plot.7": plot_of("box-1", "suite/t0"),
        "mean": f"{box0.id}.{field()}",
        "highlight_run": str(run.id),
        "show_moving_average": "yes",
        "moving_window_size": "7",
        "logarithmic_scale": "1",
        "xaxis_date": "on",
        "normalize_by_median": "1",
        "hide_lineplot": "1",
        "show_all_points": "1",
        "switch_min_mean": "1",
        "baseline.release": "3",
        "baseline.bad": "three",
        "show_stddev": "1",
        "show_mad": "1",
    }
    response = client.get(reverse(GRAPH, args=["nts"]), lnt)
    assert response.status_code == 200
    config = page_config(response)
    assert config["plots"] == [lnt["plot.0"], lnt["plot.7"]]
    assert config["means"] == [lnt["mean"]]
    assert (config["smooth"], config["window"], config["agg"], config["x"]) == (
        "mean",
        7,
        "mean",
        "date",
    )
    assert config["log"] and config["normalize_by_median"] and config["hide_lineplot"]
    assert config["samples"] and config["highlight"] == run.id and config["show_stddev"]
    body = response.content.decode()
    assert config["baselineRuns"] == [["release", 3]]
    assert "baseline.bad=three is not a run id: that baseline was ignored." in body
    assert "show_mad is accepted but not drawn" in body
    assert "show_stddev is accepted" not in body
    data = client.get(reverse(DATA, args=["nts"]), lnt).json()
    names = [(s["machine"], s["test"]) for s in data["series"]]
    assert data["series"][0]["points"]["stdev"][0] == pytest.approx(0.001, rel=0.01)
    assert data["series"][0]["points"]["order"][:2] == ["1000", "1001"]
    assert names == [
        ("box-0", "suite/t0"),
        (box1.name, "suite/t0"),
        ("box-0", "Geometric mean of all tests"),
    ]


def test_lnt_moving_median_and_hidden_highlight_and_points_are_understood(client):
    submit_grid(machines=1, tests=1, orders=2)
    params = {
        "plot.0": plot_of("box-0", "suite/t0"),
        "moving_median": "1",
        "highlight_run": "5",
        "hide_highlight": "1",
        "show_all_points": "1",
        "hide_all_points": "1",
    }
    config = page_config(client.get(reverse(GRAPH, args=["nts"]), params))
    assert config["smooth"] == "median"
    assert config["highlight"] == 0 and not config["samples"]
    assert not config["log"] and config["x"] == "order"


def test_junk_graph_parameters_fall_back_to_defaults_never_a_500(client):
    submit_grid(machines=1, tests=1, orders=1)
    junk = {
        "plot.x": "a.b.c",
        "mean": "1.2.3",
        "moving_window_size": "ten",
        "highlight_run": "-4",
        "agg": "<b>",
        "baseline.<script>": "<script>",
    }
    response = client.get(reverse(GRAPH, args=["nts"]), junk)
    assert response.status_code == 200
    config = page_config(response)
    assert config["plots"] == [] and config["means"] == []
    assert config["window"] == 5 and config["agg"] == "median"
    assert "<script>" not in response.content.decode()
    assert client.get(reverse(DATA, args=["nts"]), junk).json() == {"series": []}


@pytest.mark.parametrize("orders", [3, 12])
def test_mean_series_are_read_in_fixed_queries(client, orders, django_assert_num_queries):
    submit_grid(machines=2, tests=4, orders=orders, step_at=1, step_factor=2.0)
    means = [f"{m.id}.{field()}" for m in Machine.objects.all()]
    plot = plot_of("box-0", "suite/t0")
    # suite, series, changes, the series' points, the suite's baselines at them; the
    # means' machines and metrics; per mean its runs' stored geometric means
    with django_assert_num_queries(5 + 2 + len(means)):
        data = client.get(reverse(DATA, args=["nts"]), {"plot": plot, "mean": means}).json()
    mean = data["series"][1]
    assert mean["is_mean"] and mean["key"] == "mean:" + means[0]
    assert mean["unit"] == "s"
    assert len(mean["points"]["median"]) == orders
    assert mean["points"]["tests"] == [4] * orders
    assert mean["points"]["order"][0] == "1000"
    # t0 doubled from the second order on: the mean of four tests moves by 2 ** (1/4)
    first, second = mean["points"]["median"][:2]
    assert second / first == pytest.approx(2**0.25)
    # the page: suite, series, the means' machines and metrics, machine and metric choices
    with django_assert_num_queries(6):
        page = client.get(reverse(GRAPH, args=["nts"]), {"plot": plot, "mean": means})
    assert page.content.decode().count("geometric mean of all tests") == len(means)


def test_the_form_adds_all_machines_that_run_a_test(client):
    submit_grid(machines=3, tests=2, orders=1)
    only = Machine.objects.get(name="box-2")
    response = client.get(
        reverse(GRAPH, args=["nts"]),
        {"add": "1", "all_machines": "1", "tests": "suite/t1", "metric": field(), "log": "1"},
    )
    assert response.status_code == 302
    query = parse_qsl(urlsplit(response["Location"]).query)
    plots = [v for k, v in query if k == "plot"]
    assert plots == [plot_of(f"box-{m}", "suite/t1") for m in range(3)]
    assert ("log", "1") in query
    # without the box, the chosen machines are used
    response = client.get(
        reverse(GRAPH, args=["nts"]),
        {"add": "1", "machine": only.id, "tests": "suite/t1", "metric": field()},
    )
    assert [v for k, v in parse_qsl(urlsplit(response["Location"]).query) if k == "plot"] == [
        plot_of("box-2", "suite/t1")
    ]


def test_the_form_adds_a_geometric_mean_without_naming_tests(client):
    submit_grid(machines=1, tests=2, orders=1)
    machine = Machine.objects.get()
    response = client.get(
        reverse(GRAPH, args=["nts"]),
        {"add": "1", "machine": machine.id, "add_mean": "1", "metric": field()},
    )
    assert response.status_code == 302
    assert f"mean={machine.id}.{field()}" in response["Location"]


def test_the_form_says_what_is_missing(client):
    submit_grid(machines=1, tests=1, orders=1)
    machine = Machine.objects.get()
    body = client.get(
        reverse(GRAPH, args=["nts"]), {"add": "1", "machine": machine.id, "tests": "nope"}
    ).content.decode()
    assert "Name at least one existing test, or add the geometric mean." in body
    body = client.get(reverse(GRAPH, args=["nts"]), {"add": "1", "tests": "suite/t0"})
    assert "Choose at least one machine" in body.content.decode()


def test_removing_a_series_keeps_the_others_and_the_options(client):
    submit_grid(machines=1, tests=2, orders=1)
    machine = Machine.objects.get()
    a, b, mean = plot_of("box-0", "suite/t0"), plot_of("box-0", "suite/t1"), f"{machine.id}.3"
    body = client.get(
        reverse(GRAPH, args=["nts"]), {"plot": [a, b], "mean": mean, "normalize_by_median": "1"}
    ).content.decode()
    removes = re.findall(r'<a href="\?([^"]*)" class="small remove-series"', body)
    assert len(removes) == 3
    first = parse_qsl(removes[0].replace("&amp;", "&"))
    assert ("plot", a) not in first and ("plot", b) in first and ("mean", mean) in first
    assert ("normalize_by_median", "1") in first
    last = parse_qsl(removes[2].replace("&amp;", "&"))
    assert ("mean", mean) not in last and ("plot", a) in last


def test_the_points_and_samples_of_several_series_come_in_fixed_queries(
    client, django_assert_num_queries
):
    submit_grid(machines=2, tests=2, orders=4)
    # Two tests of each machine: two series share every run, and keep their own samples.
    plots = [plot_of(f"box-{m}", f"suite/t{t}") for m in range(2) for t in range(2)]
    url = reverse(DATA, args=["nts"])
    # suite, series, changes, the values at baseline orders, the points, their samples
    with django_assert_num_queries(5 + point_queries(len(plots))):
        data = client.get(url, {"plot": plots, "samples": "1"}).json()
    assert [s["key"] for s in data["series"]] == plots
    for s, level in zip(data["series"], [1.0, 1.1, 1.0, 1.1], strict=True):
        positions = s["points"]["position"]
        assert positions == sorted(positions) and len(positions) == 4
        assert s["points"]["order"] == ["1000", "1001", "1002", "1003"]
        assert s["samples"] == [pytest.approx([level, level * 1.001, level * 0.999])] * 4
        assert not s["more_before"] and not s["downsampled"]
        assert "params" not in s  # the hover reads a run's parameters (graph-samples)
    # Older points of all the series: before the newest order, in the same queries.
    newest = data["series"][0]["points"]["position"][-1]
    with django_assert_num_queries(4 + point_queries(len(plots))):
        older = client.get(url, {"plot": plots, "before": newest}).json()
    assert all(s["points"]["order"] == ["1000", "1001", "1002"] for s in older["series"])
    # The small graphs of a regression: ``width`` points each side of a position; no
    # baselines read; two range scans a series.
    third, newest = data["series"][0]["points"]["position"][2:]
    with django_assert_num_queries(3 + point_queries(2 * len(plots))):
        around = client.get(url, {"plot": plots, "around": third, "width": 2}).json()
    assert all(s["points"]["order"] == ["1000", "1001", "1002", "1003"] for s in around["series"])
    around = client.get(url, {"plot": plots, "around": newest, "width": 2}).json()
    assert all(s["points"]["order"] == ["1001", "1002", "1003"] for s in around["series"])


def test_samples_and_parameters_of_a_point_are_served_one_point_at_a_time(
    client, django_assert_num_queries
):
    results = submit_grid(machines=1, tests=1, orders=2)
    plot, run = plot_of("box-0", "suite/t0"), results[-1].run_id
    url = reverse(SAMPLES, args=["nts"])
    Run.objects.filter(id=run).update(parameters={"compiler": "clang 21"})
    with django_assert_num_queries(2):
        data = client.get(url, {"plot": plot, "run": run}).json()
    assert data == {
        "plot": plot,
        "run": run,
        "samples": [1.0, 1.001, 0.999],
        "parameters": {"compiler": "clang 21"},
    }
    missing = client.get(url, {"plot": plot, "run": 10**12}).json()
    assert missing["samples"] is None and missing["parameters"] == {}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"plot": "1.2", "run": "1"}, "plot must be"),
        ({"run": "1"}, "plot must be"),
        ({"plot": "1.2.3", "run": "x"}, "run must be"),
        ({"plot": "1.2.3", "run": "9" * 19}, "run must be"),
    ],
)
def test_bad_sample_requests_are_json_400s_naming_the_parameter(client, params, message):
    response = client.get(reverse(SAMPLES, args=["nts"]), params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_lnt_baseline_runs_are_dashed_lines_of_each_plotted_test_in_that_run(
    client, django_assert_num_queries
):
    results = submit_grid(machines=2, tests=2, orders=3, step_at=2, step_factor=2.0)
    first = results[0].run_id  # box-0 at the first order: t0 at its old level
    plots = [plot_of("box-0", "suite/t0"), plot_of("box-1", "suite/t0")]
    params = {"plot": plots, "baseline.before": str(first), "baseline.x": "999999"}
    # suite, series, changes, the suite's baselines, the baseline runs' values, the
    # series' points
    with django_assert_num_queries(5 + point_queries(len(plots))):
        data = client.get(reverse(DATA, args=["nts"]), params).json()
    for series in data["series"]:
        assert series["baselines"] == [
            {"name": "before", "order": "1000", "value": pytest.approx(1.0), "run": first}
        ]
        assert series["points"]["median"][-1] == pytest.approx(2.0)
    # Removing a series from the page keeps the baselines.
    body = client.get(reverse(GRAPH, args=["nts"]), params).content.decode()
    assert f"baseline.before={first}" in body
