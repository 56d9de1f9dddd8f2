"""Names from reports are escaped on every page (HTML, attributes, JS data, CSV)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from perf.models import Run
from tests.factories import make_field_change, make_regression, report_doc, submit_doc

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"onmouseover=alert(1) x="'


def hostile_history() -> tuple[Run, int]:
    tests = {SCRIPT: {"execution_time": 1.0}, ATTRIBUTE: {"execution_time": 1.0}}
    for revision, value in ((1000, 1.0), (1001, 1.5)):
        doc = report_doc(
            revision=revision,
            tests={name: {"execution_time": value} for name in tests},
            machine_fields={"os": SCRIPT, "owner": ATTRIBUTE},
            run={"build_log": SCRIPT, "note": ATTRIBUTE},
        )
        result = submit_doc(doc)
    run = Run.objects.select_related("machine").get(id=result.run_id)
    change = make_field_change(test=SCRIPT, relative_change=0.5)
    other = make_field_change(test=ATTRIBUTE, relative_change=0.5)
    regression = make_regression([change, other], title=SCRIPT)
    return run, regression.id


def test_hostile_names_are_escaped_on_every_page(client):
    run, regression_id = hostile_history()
    suite = "nts"
    plots = [
        f"{run.machine_id}.{s.test_id}.{s.metric.position}"
        for s in run.machine.series.select_related("metric").filter(metric__name="execution_time")
    ]
    pages = [
        reverse("perf:home"),
        reverse("perf:suite-home", args=[suite]),
        reverse("perf:machine-list", args=[suite]),
        reverse("perf:machine-detail", args=[suite, run.machine_id]),
        reverse("perf:run-detail", args=[suite, run.id]) + "?metric=execution_time",
        reverse("perf:run-detail", args=[suite, run.id]) + "?filter=%3Cscript%3E&baseline=%22x",
        reverse("perf:compare", args=[suite]) + f"?a={run.id - 1}&b={run.id}",
        reverse("perf:graph", args=[suite]) + "?" + "&".join(f"plot={p}" for p in plots),
        reverse("perf:regression-list", args=[suite]),
        reverse("perf:regression-detail", args=[suite, regression_id]),
        reverse("perf:daily", args=[suite]),
        reverse("perf:search", args=[suite]) + "?q=script",
        reverse("perf:search", args=[suite]) + "?q=%3Cscript%3Ealert(1)%3C/script%3E",
        reverse("perf:machine-summary", args=[suite, run.machine_id]),
    ]
    shown = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert SCRIPT not in body, url
        assert ATTRIBUTE not in body, url
        shown[url] = "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # The names are shown, escaped, where a person needs them.
    assert shown[pages[3]] and shown[pages[4]] and shown[pages[9]] and shown[pages[10]]


def test_graph_data_is_json_not_html(client):
    run, _ = hostile_history()
    series = run.machine.series.select_related("metric").filter(metric__name="execution_time")
    plots = [f"{run.machine_id}.{s.test_id}.{s.metric.position}" for s in series]
    response = client.get(reverse("perf:graph-data", args=["nts"]), {"plot": plots})
    assert response["Content-Type"] == "application/json"
    names = {s["test"] for s in response.json()["series"]}
    assert names == {SCRIPT, ATTRIBUTE}
    # The run's parameters come with a point's samples, as JSON (the page puts them
    # in text nodes).
    samples = client.get(
        reverse("perf:graph-samples", args=["nts"]), {"plot": plots[0], "run": run.id}
    )
    assert samples["Content-Type"] == "application/json"
    assert samples.json()["parameters"]["build_log"] == SCRIPT


def test_hostile_names_are_escaped_in_the_compare_rows_form_and_graph_baselines(client):
    from tests.factories import make_user

    run, _ = hostile_history()
    client.force_login(make_user())
    sides = reverse("perf:compare-sides", args=["nts"])
    body = client.get(
        sides, {"a_runs": run.id - 1, "b_runs": run.id, "metric": "execution_time"}
    ).content.decode()
    assert 'id="regress-form"' in body
    assert SCRIPT not in body and ATTRIBUTE not in body
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;" form="regress-form"' in body
    graph = reverse("perf:graph", args=["nts"])
    body = client.get(graph, {f"baseline.{SCRIPT}": run.id, "baseline.x": SCRIPT}).content.decode()
    assert SCRIPT not in body and ATTRIBUTE not in body
