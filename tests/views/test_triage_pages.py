"""The triage page, its actions, a regression from a graph point, notes and assignee."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from perf.models import ChangeIgnore, FieldChange, Order, Regression, RegressionEvent, Series
from tests.factories import make_field_change, make_regression, make_user, submit_grid

pytestmark = pytest.mark.django_db

TRIAGE = reverse("perf:triage", args=["nts"])
ACTION = reverse("perf:triage-action", args=["nts"])
FROM_POINT = reverse("perf:regression-from-point", args=["nts"])


def free_changes(count: int) -> list[FieldChange]:
    """``count`` changes at the newest order, none in a regression."""
    submit_grid(machines=1, tests=count, orders=3)
    return [make_field_change(machine="box-0", test=f"suite/t{t}") for t in range(count)]


@pytest.mark.parametrize("count", [2, 9])
def test_the_triage_page_lists_changes_in_no_regression_with_fixed_queries(
    client, count, django_assert_num_queries
):
    changes = free_changes(count)
    make_regression([changes[0]], title="held")
    FieldChange.objects.filter(id=changes[1].id).update(confirmed=False)  # a suspect
    client.force_login(make_user())
    with django_assert_num_queries(6):  # session, user, suite, changes, machines, metrics
        body = client.get(TRIAGE).content.decode()
    listed = [c.id for c in changes if f'id="change-{c.id}"' in body]
    assert listed == [c.id for c in changes[2:]]


def test_the_filters_keep_improvements_machines_and_ignored_changes(client):
    changes = free_changes(3)
    FieldChange.objects.filter(id=changes[0].id).update(is_regression=False)
    ChangeIgnore.objects.create(field_change=changes[1], reason="flaky <b>box</b>")
    client.force_login(make_user())

    def listed(**params) -> set[int]:
        body = client.get(TRIAGE, params).content.decode()
        return {c.id for c in changes if f'id="change-{c.id}"' in body}

    assert listed() == {changes[0].id, changes[2].id}
    assert listed(kind="improvements") == {changes[0].id}
    assert listed(kind="regressions") == {changes[2].id}
    assert listed(machine=999999) == set()
    assert listed(ignored=1) == {changes[1].id}
    body = client.get(TRIAGE, {"ignored": 1}).content.decode()
    assert "flaky &lt;b&gt;box&lt;/b&gt;" in body


def test_anonymous_people_see_the_page_but_cannot_act(client):
    changes = free_changes(1)
    body = client.get(TRIAGE).content.decode()
    assert "Log in</a> to triage" in body and 'name="change"' not in body
    response = client.post(ACTION, {"action": "create", "change": [changes[0].id]})
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert client.get(ACTION).status_code == 405
    assert not Regression.objects.exists()


def test_the_actions_need_a_csrf_token():
    changes = free_changes(1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    assert client.post(ACTION, {"action": "create", "change": [changes[0].id]}).status_code == 403
    assert client.post(FROM_POINT, {"series": 1, "order": 1}).status_code == 403
    assert not Regression.objects.exists()


def test_creating_a_regression_from_chosen_changes_opens_it(client):
    changes = free_changes(2)
    client.force_login(make_user())
    response = client.post(
        ACTION, {"action": "create", "change": [c.id for c in changes], "title": "both"}
    )
    regression = Regression.objects.get()
    assert response["Location"] == reverse("perf:regression-detail", args=["nts", regression.id])
    assert regression.title == "both" and regression.indicators.count() == 2
    body = client.get(response["Location"]).content.decode()
    assert f"changes {changes[0].id}, {changes[1].id}" in body


def test_adding_chosen_changes_to_a_regression_and_ignoring_others(client):
    changes = free_changes(3)
    regression = make_regression([changes[0]])
    client.force_login(make_user())
    client.post(ACTION, {"action": "add", "change": [changes[1].id], "regression": regression.id})
    assert regression.indicators.count() == 2
    client.post(ACTION, {"action": "ignore", "change": [changes[2].id], "reason": "known"})
    assert ChangeIgnore.objects.get().field_change_id == changes[2].id
    client.post(ACTION, {"action": "unignore", "change": [changes[2].id]})
    assert not ChangeIgnore.objects.exists()


@pytest.mark.parametrize(
    ("post", "message"),
    [
        ({"action": "create", "change": []}, "Choose at least one change."),
        ({"action": "add", "regression": "x"}, "regression: give the id"),
        ({"action": "add", "regression": "999999"}, "regression: no regression 999999"),
        ({"action": "explode"}, "action: unknown action"),
    ],
)
def test_bad_actions_are_refused_with_a_message_and_write_nothing(client, post, message):
    changes = free_changes(1)
    client.force_login(make_user())
    response = client.post(ACTION, {"change": [c.id for c in changes], **post}, follow=True)
    assert message in response.content.decode()
    assert not Regression.objects.exists() and not ChangeIgnore.objects.exists()


def point(revision: int) -> dict[str, int]:
    series = Series.objects.get(
        machine__name="box-0", test__name="suite/t0", metric__name="execution_time"
    )
    return {"series": series.id, "order": Order.objects.get(key=str(revision)).id}


def test_a_regression_from_a_graph_point_answers_json_and_a_repeat_finds_it(client):
    submit_grid(machines=1, tests=1, orders=4, step_at=2)
    client.force_login(make_user())
    first = client.post(FROM_POINT, point(1002))
    assert first.status_code == 201
    data = first.json()
    assert data["created"] and data["url"].endswith(f"/regressions/{data['regression']}")
    again = client.post(FROM_POINT, point(1002))
    assert again.status_code == 200 and again.json()["regression"] == data["regression"]
    # A form in a page asks for HTML and lands on the regression.
    html = client.post(FROM_POINT, point(1003), HTTP_ACCEPT="text/html")
    assert html.status_code == 302 and "/regressions/" in html["Location"]


@pytest.mark.parametrize(
    ("post", "status", "message"),
    [
        ({"series": "abc", "order": "1"}, 400, "series: expected an id, got 'abc'"),
        ({"series": "1"}, 400, "order: expected an id, got ''"),
        ({"series": "999999", "order": "999999"}, 400, "Series 999999 has no value"),
    ],
)
def test_a_bad_graph_point_is_a_json_error_naming_the_field(client, post, status, message):
    submit_grid(machines=1, tests=1, orders=2)
    client.force_login(make_user())
    response = client.post(FROM_POINT, post)
    assert response.status_code == status and message in response.json()["error"]
    assert not Regression.objects.exists()


def test_a_graph_point_needs_a_logged_in_user(client):
    submit_grid(machines=1, tests=1, orders=3)
    response = client.post(FROM_POINT, point(1002))
    assert response.status_code == 403 and "log in" in response.json()["error"]
    assert not Regression.objects.exists()


def test_the_run_report_offers_a_regression_from_a_changed_row(client):
    results = submit_grid(machines=1, tests=1, orders=4, step_at=3, step_factor=2.0)
    client.force_login(make_user())
    body = client.get(reverse("perf:run-detail", args=["nts", results[-1].run_id])).content.decode()
    assert 'class="inline from-point"' in body


def test_notes_and_assignee_are_edited_on_the_regression_page_shown_and_audited(client):
    changes = free_changes(1)
    regression = make_regression(changes)
    bob = make_user("bob")
    client.force_login(make_user())
    url = reverse("perf:regression-update", args=["nts", regression.id])
    client.post(url, {"notes": "bisect <script>x</script>", "assignee": bob.id})
    regression.refresh_from_db()
    assert regression.assignee == bob and regression.notes.startswith("bisect")
    body = client.get(reverse("perf:regression-detail", args=["nts", regression.id])).content
    text = body.decode()
    assert "bisect &lt;script&gt;" in text and "<script>x" not in text
    assert '<dd id="regression-assignee">bob</dd>' in text
    assert {"notes", "assignee"} <= set(
        RegressionEvent.objects.filter(regression=regression).values_list("action", flat=True)
    )


@pytest.mark.parametrize("count", [1, 5])
def test_the_list_filters_regressions_assigned_to_me_with_fixed_queries(
    client, count, django_assert_num_queries
):
    submit_grid(machines=1, tests=count + 1, orders=2)
    me = make_user()
    for t in range(count + 1):
        r = make_regression(
            [make_field_change(machine="box-0", test=f"suite/t{t}")], title=f"regression {t}"
        )
        if t < count:
            Regression.objects.filter(id=r.id).update(assignee=me)
    client.force_login(me)
    url = reverse("perf:regression-list", args=["nts"])
    with django_assert_num_queries(5):
        body = client.get(url, {"mine": 1}).content.decode()
    assert f"regression {count}<" not in body and "regression 0<" in body
    assert f"regression {count}<" in client.get(url).content.decode()


def test_adding_changes_by_id_on_the_regression_page(client):
    changes = free_changes(2)
    regression = make_regression([changes[0]])
    client.force_login(make_user())
    url = reverse("perf:regression-add", args=["nts", regression.id])
    client.post(url, {"changes": f"{changes[1].id}"})
    assert regression.indicators.count() == 2
    response = client.post(url, {"changes": "1; drop"}, follow=True)
    assert "changes: give the ids" in response.content.decode()
