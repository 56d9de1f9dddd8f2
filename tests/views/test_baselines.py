"""The baselines page and promoting, renaming and deleting baselines from the web."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from perf.models import Baseline, Order, Run, TestSuite
from tests.factories import make_user, report_doc, submit_doc, submit_grid

pytestmark = pytest.mark.django_db


def url(name: str, *args: object) -> str:
    return reverse(f"perf:{name}", args=["nts", *args])


def first_order() -> Order:
    order = Order.objects.filter(suite__name="nts").order_by("position").first()
    assert order is not None
    return order


def test_a_person_logged_in_promotes_a_runs_order_from_the_run_page(client):
    run = submit_doc(report_doc(revision=1000)).run_id
    client.force_login(make_user())
    page = client.get(url("run-detail", run)).content.decode()
    assert 'id="promote-form"' in page and "This order is no baseline" in page
    response = client.post(
        url("baseline-create"),
        {
            "order": Run.objects.get(id=run).order_id,
            "name": "release",
            "next": url("run-detail", run),
        },
    )
    assert response.status_code == 302 and response["Location"] == url("run-detail", run)
    page = client.get(url("run-detail", run)).content.decode()
    assert "This order is baseline: <strong>release</strong>" in page


def test_promoting_needs_a_login_and_writes_nothing_without(client):
    submit_doc(report_doc(revision=1000))
    response = client.post(url("baseline-create"), {"order": first_order().id, "name": "x"})
    assert response.status_code == 302 and "login" in response["Location"]
    assert not Baseline.objects.exists()
    assert client.get(url("baseline-create")).status_code == 405


def test_promoting_needs_the_csrf_token():
    submit_doc(report_doc(revision=1000))
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user())
    response = client.post(url("baseline-create"), {"order": first_order().id, "name": "x"})
    assert response.status_code == 403
    assert not Baseline.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"order": "", "name": "x"}, "order: give the id of an order."),
        ({"order": "abc", "name": "x"}, "order: give the id of an order."),
        ({"order": "99999999", "name": "x"}, "order: no order 99999999 in suite nts."),
        ({"name": ""}, "name: give the baseline a name."),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(client, data, message):
    submit_doc(report_doc(revision=1000))
    client.force_login(make_user())
    data = {"order": str(first_order().id), **data}
    response = client.post(url("baseline-create"), data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert not Baseline.objects.exists()


def test_the_list_renames_and_deletes(client):
    submit_doc(report_doc(revision=1000))
    baseline = Baseline.objects.create(
        suite=TestSuite.objects.get(name="nts"), name="a", order=first_order()
    )
    client.force_login(make_user())
    client.post(url("baseline-rename", baseline.id), {"name": "b"})
    assert Baseline.objects.get().name == "b"
    response = client.post(url("baseline-rename", baseline.id), {"name": " "})
    assert response.status_code == 400
    client.post(url("baseline-delete", baseline.id))
    assert not Baseline.objects.exists()
    assert "No baselines yet." in client.get(url("baseline-list")).content.decode()


def test_a_redirect_elsewhere_is_not_followed(client):
    submit_doc(report_doc(revision=1000))
    client.force_login(make_user())
    response = client.post(
        url("baseline-create"),
        {"order": first_order().id, "name": "x", "next": "https://evil.example/"},
    )
    assert response["Location"] == url("baseline-list")


def test_names_are_escaped_on_the_list(client):
    submit_doc(report_doc(revision=1000))
    suite = TestSuite.objects.get(name="nts")
    Baseline.objects.create(suite=suite, name="<script>x</script>", order=first_order())
    client.force_login(make_user())
    body = client.get(url("baseline-list")).content.decode()
    assert "<script>x" not in body and "&lt;script&gt;x&lt;/script&gt;" in body


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_reads_a_fixed_number_of_queries(client, count, django_assert_num_queries):
    submit_grid(machines=1, tests=1, orders=count)
    suite = TestSuite.objects.get(name="nts")
    for i, order in enumerate(Order.objects.filter(suite=suite)):
        Baseline.objects.create(suite=suite, name=f"b{i}", order=order)
    client.force_login(make_user())
    # The session, its user, the suite, the baselines.
    with django_assert_num_queries(4):
        body = client.get(url("baseline-list")).content.decode()
    assert body.count('action="/db_default/v4/nts/baselines/') == 2 * count
