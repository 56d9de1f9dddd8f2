"""Regression list, detail and triage (login, CSRF, audit); daily report; search; graph."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from perf.models import FieldChange, Regression, RegressionEvent, RegressionIndicator
from tests.factories import (
    make_field_change,
    make_regression,
    make_user,
    submit_grid,
)
from tests.views.test_graph_pages import point_queries

pytestmark = pytest.mark.django_db


def detail(regression: Regression, name: str = "perf:regression-detail") -> str:
    return reverse(name, args=["nts", regression.id])


def two_change_regression() -> Regression:
    submit_grid(machines=2, tests=2, orders=3, step_at=2)
    changes = [make_field_change(machine=f"box-{m}", test="suite/t0") for m in range(2)]
    return make_regression(changes)


@pytest.mark.parametrize("count", [1, 6])
def test_regression_list_filters_by_state_and_uses_fixed_queries(
    client, count, django_assert_num_queries
):
    submit_grid(machines=1, tests=count, orders=2)
    for t in range(count):
        change = make_field_change(machine="box-0", test=f"suite/t{t}", relative_change=0.2)
        make_regression([change], title=f"regression {t}")
    url = reverse("perf:regression-list", args=["nts"])
    with django_assert_num_queries(3):
        body = client.get(url).content.decode()
    assert "regression 0" in body and "20.0 %" in body
    assert "regression 0" not in client.get(url, {"state": Regression.FIXED}).content.decode()


def test_regression_list_filters_by_machine_and_age(client):
    regression = two_change_regression()
    url = reverse("perf:regression-list", args=["nts"])
    machine_id = regression.indicators.first().field_change.machine_id
    assert regression.title in client.get(url, {"machine": machine_id, "age": 1}).content.decode()
    assert regression.title not in client.get(url, {"machine": 999999}).content.decode()


def test_regression_detail_lists_changes_history_and_small_graphs(
    client, django_assert_num_queries
):
    regression = two_change_regression()
    with django_assert_num_queries(5):  # the 5th: the notification delivery line
        body = client.get(detail(regression)).content.decode()
    assert body.count('class="mini-graph"') == 2
    assert "box-0" in body and "box-1" in body
    assert "created" in body
    assert "Log in</a> to triage" in body
    assert 'name="state"' not in body


def test_anonymous_users_cannot_change_anything(client):
    regression = two_change_regression()
    for name in ("perf:regression-update", "perf:regression-merge", "perf:regression-split"):
        response = client.post(detail(regression, name), {"state": Regression.ACTIVE})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        # after logging in, the person lands on the regression, not the POST-only URL
        assert response["Location"].endswith("?next=" + detail(regression))
        assert client.get(detail(regression, name)).status_code == 405
    regression.refresh_from_db()
    assert regression.state == Regression.DETECTED
    assert list(regression.events.values_list("action", flat=True)) == ["created"]


def test_triage_forms_need_a_csrf_token():
    regression = two_change_regression()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    response = client.post(detail(regression, "perf:regression-update"), {"state": 10})
    assert response.status_code == 403


def test_a_logged_in_user_changes_state_title_and_bug_and_each_is_audited(client):
    regression = two_change_regression()
    user = make_user()
    client.force_login(user)
    response = client.post(
        detail(regression, "perf:regression-update"),
        {"state": Regression.ACTIVE, "title": "mandel 20% slower", "bug": "https://bugs.example/1"},
    )
    assert response.status_code == 302
    regression.refresh_from_db()
    assert (regression.state, regression.title, regression.bug) == (
        Regression.ACTIVE,
        "mandel 20% slower",
        "https://bugs.example/1",
    )
    events = list(regression.events.filter(user=user).values_list("action", "detail"))
    assert ("state", {"from": "Detected", "to": "Active"}) in events
    assert {a for a, _ in events} == {"state", "title", "bug"}
    # The same POST again changes nothing and records nothing.
    client.post(
        detail(regression, "perf:regression-update"),
        {"state": Regression.ACTIVE, "title": "mandel 20% slower", "bug": "https://bugs.example/1"},
    )
    assert regression.events.filter(user=user).count() == 3
    body = client.get(detail(regression)).content.decode()
    assert "alice" in body and "Detected → Active" in body


def test_an_invalid_bug_link_is_refused_with_a_message(client):
    regression = two_change_regression()
    client.force_login(make_user())
    response = client.post(
        detail(regression, "perf:regression-update"), {"bug": "javascript:alert(1)"}, follow=True
    )
    assert "Enter a valid URL" in response.content.decode()
    regression.refresh_from_db()
    assert regression.bug == ""


def test_merge_moves_changes_and_ignores_the_emptied_regression(client):
    regression = two_change_regression()
    other = make_regression([make_field_change(machine="box-0", test="suite/t1")], title="other")
    client.force_login(make_user())
    client.post(detail(regression, "perf:regression-merge"), {"others": str(other.id)})
    assert RegressionIndicator.objects.filter(regression=regression).count() == 3
    other.refresh_from_db()
    assert other.state == Regression.IGNORED
    assert RegressionEvent.objects.filter(regression=other, action="merge").exists()
    assert regression.events.filter(action="merge").get().detail["merged"] == [other.id]


def test_split_moves_chosen_changes_to_a_new_regression(client):
    regression = two_change_regression()
    change = regression.indicators.first().field_change_id
    client.force_login(make_user())
    response = client.post(
        detail(regression, "perf:regression-split"), {"change": [change], "title": "box-0 only"}
    )
    new = Regression.objects.get(title="box-0 only")
    assert response["Location"] == detail(new)
    assert list(new.indicators.values_list("field_change_id", flat=True)) == [change]
    assert regression.indicators.count() == 1
    assert regression.events.filter(action="split").exists()
    # Splitting off every remaining change is refused.
    last = regression.indicators.get().field_change_id
    client.post(detail(regression, "perf:regression-split"), {"change": [last]})
    assert regression.indicators.count() == 1


def test_daily_report_lists_recent_changes_by_machine(client, django_assert_num_queries):
    regression = two_change_regression()
    with django_assert_num_queries(4):  # suite, newest run's day, machines, changes
        body = client.get(reverse("perf:daily", args=["nts"]), {"days": 2}).content.decode()
    assert "box-0" in body and "box-1" in body and f"#{regression.id}" in body


def test_search_finds_machines_tests_and_revisions(client, django_assert_max_num_queries):
    submit_grid(machines=2, tests=2, orders=2)
    url = reverse("perf:search", args=["nts"])
    with django_assert_max_num_queries(6):
        body = client.get(url, {"q": "box-1"}).content.decode()
    assert "box-1" in body
    assert "suite/t1" in client.get(url, {"q": "t1"}).content.decode()
    assert "1001 · box-0" in client.get(url, {"q": "1001"}).content.decode()
    assert "too long" in client.get(url, {"q": "x" * 101}).content.decode()


@pytest.mark.parametrize("orders", [3, 12])
def test_graph_page_and_data_use_fixed_queries(client, orders, django_assert_num_queries):
    results = submit_grid(machines=2, tests=2, orders=orders, step_at=orders - 1)
    make_field_change(machine="box-0", test="suite/t0")
    from perf.models import Series

    plots = [
        f"{s.machine_id}.{s.test_id}.{s.metric.position}"
        for s in Series.objects.select_related("metric").filter(metric__name="execution_time")
    ]
    with django_assert_num_queries(4):
        page = client.get(reverse("perf:graph", args=["nts"]), {"plot": plots})
    assert page.status_code == 200
    assert 'id="graph-config"' in page.content.decode()
    # One query for the series, one for the changes, one for the values at baseline
    # orders, one for the points of all the series (PostgreSQL; one a series on SQLite).
    with django_assert_num_queries(4 + point_queries(len(plots))):
        data = client.get(reverse("perf:graph-data", args=["nts"]), {"plot": plots}).json()
    assert len(data["series"]) == 4
    assert all(len(s["points"]["run"]) == orders for s in data["series"])
    assert sum(len(s["changes"]) for s in data["series"]) == 1
    assert results


def test_graph_form_resolves_names_into_a_shareable_url(client):
    submit_grid(machines=1, tests=1, orders=2)
    from perf.models import Machine, Test

    machine, test = Machine.objects.get(), Test.objects.get()
    response = client.get(
        reverse("perf:graph", args=["nts"]),
        {"add": "1", "machine": machine.id, "tests": test.name, "metric": 3},
    )
    assert response.status_code == 302
    assert f"plot={machine.id}.{test.id}.3" in response["Location"]  # 3: execution_time, as in LNT


def test_suspects_are_badged_on_list_detail_daily_and_graph(client):
    regression = two_change_regression()
    suspect = regression.indicators.order_by("id").first().field_change
    FieldChange.objects.filter(id=suspect.id).update(confirmed=False)
    listing = client.get(reverse("perf:regression-list", args=["nts"])).content.decode()
    assert 'class="badge badge-suspect"' in listing
    body = client.get(detail(regression)).content.decode()
    assert body.count('class="badge badge-suspect"') == 2  # the title and the change
    assert "1 of its 2 changes is a suspect" in body
    daily = client.get(reverse("perf:daily", args=["nts"]), {"days": 2}).content.decode()
    assert daily.count('class="badge badge-suspect"') == 1
    plot = f"{suspect.machine_id}.{suspect.test_id}.{suspect.metric.position}"
    data = client.get(reverse("perf:graph-data", args=["nts"]), {"plot": plot}).json()
    assert [c["suspect"] for c in data["series"][0]["changes"]] == [True]


def test_withdrawn_changes_are_hidden_everywhere(client):
    regression = two_change_regression()
    gone = regression.indicators.order_by("id").first().field_change
    FieldChange.objects.filter(id=gone.id).update(withdrawn=True)
    listing = client.get(reverse("perf:regression-list", args=["nts"])).content.decode()
    row = listing.split(regression.title)[1].split("</tr>")[0]
    assert '<td class="num">1</td><td class="num">1</td><td class="num">1</td>' in row
    body = client.get(detail(regression)).content.decode()
    assert "Field changes (1)" in body and body.count('class="mini-graph"') == 1
    daily = client.get(reverse("perf:daily", args=["nts"]), {"days": 2}).content.decode()
    assert gone.machine.name not in daily.split("<h2>Machines that ran")[1].split("</table>", 1)[1]
    plot = f"{gone.machine_id}.{gone.test_id}.{gone.metric.position}"
    data = client.get(reverse("perf:graph-data", args=["nts"]), {"plot": plot}).json()
    assert data["series"][0]["changes"] == []
    by_machine = client.get(
        reverse("perf:regression-list", args=["nts"]), {"machine": gone.machine_id}
    ).content.decode()
    assert regression.title not in by_machine
