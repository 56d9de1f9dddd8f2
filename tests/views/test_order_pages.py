"""The order list and the order page: content, paging, search, escaping, query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from perf.models import Order, Run
from tests.factories import make_user, report_doc, submit_doc, submit_grid

pytestmark = pytest.mark.django_db


def order_of(revision: int) -> Order:
    return Order.objects.get(suite__name="nts", key=str(revision))


@pytest.mark.parametrize("orders", [3, 12])
def test_order_list_shows_newest_first_with_run_counts_in_fixed_queries(
    client, orders, django_assert_num_queries
):
    submit_grid(machines=2, tests=2, orders=orders)
    url = reverse("perf:order-list", args=["nts"])
    # suite, the page of orders, the run counts of that page
    with django_assert_num_queries(3):
        body = client.get(url).content.decode()
    newest, oldest = str(1000 + orders - 1), "1000"
    assert body.index(f">{newest}</a>") < body.index(f">{oldest}</a>")
    assert body.count('<td class="num">2</td>') == orders


def test_order_list_pages_fifty_at_a_time(client):
    submit_grid(machines=1, tests=1, orders=52)
    url = reverse("perf:order-list", args=["nts"])
    first = client.get(url).content.decode()
    assert ">1051</a>" in first and ">1001</a>" not in first and 'rel="next"' in first
    second = client.get(url, {"page": 2}).content.decode()
    assert ">1001</a>" in second and ">1000</a>" in second and 'rel="next"' not in second


def test_order_list_finds_orders_by_revision(client):
    submit_grid(machines=1, tests=1, orders=12)
    url = reverse("perf:order-list", args=["nts"])
    body = client.get(url, {"q": "101"}).content.decode()
    assert ">1010</a>" in body and ">1011</a>" in body and ">1009</a>" not in body
    assert "No order" in client.get(url, {"q": "zzz"}).content.decode()


def test_lnt_all_orders_url_opens_the_order_list(client):
    submit_grid(machines=1, tests=1, orders=2)
    body = client.get(reverse("perf:order-list-lnt", args=["nts"])).content.decode()
    assert ">1001</a>" in body


@pytest.mark.parametrize("machines", [1, 5])
def test_order_page_lists_runs_of_every_machine_in_fixed_queries(
    client, machines, django_assert_num_queries
):
    submit_grid(machines=machines, tests=2, orders=3)
    order = order_of(1001)
    url = reverse("perf:order-detail", args=["nts", order.id])
    # suite, order, previous id, next id, neighbour labels, runs (with previous run),
    # the baselines it is
    with django_assert_num_queries(7):
        body = client.get(url).content.decode()
    for m in range(machines):
        assert f">box-{m}</a>" in body
    for run in Run.objects.filter(order=order):
        assert reverse("perf:run-detail", args=["nts", run.id]) in body
        previous = Run.objects.get(machine_id=run.machine_id, order=order_of(1000))
        assert f"?a={previous.id}&amp;b={run.id}" in body
    assert f'href="{reverse("perf:order-detail", args=["nts", order_of(1000).id])}"' in body
    assert f'href="{reverse("perf:order-detail", args=["nts", order_of(1002).id])}"' in body


def test_first_and_newest_orders_say_so_instead_of_linking(client):
    submit_grid(machines=1, tests=1, orders=2)
    first = client.get(reverse("perf:order-detail", args=["nts", order_of(1000).id]))
    assert "First order" in first.content.decode()
    assert "first run of this machine" in first.content.decode()
    newest = client.get(reverse("perf:order-detail", args=["nts", order_of(1001).id]))
    assert "Newest order" in newest.content.decode()


def test_lnt_order_url_opens_the_same_page(client):
    submit_grid(machines=1, tests=1, orders=2)
    order = order_of(1001)
    body = client.get(reverse("perf:order-detail-lnt", args=["nts", order.id])).content.decode()
    assert "<h1>Order 1001</h1>" in body


def test_an_unknown_order_or_one_of_another_suite_is_a_404(client):
    submit_grid(machines=1, tests=1, orders=1)
    order = order_of(1000)
    assert client.get(reverse("perf:order-detail", args=["nts", 999999])).status_code == 404
    assert client.get(reverse("perf:order-detail", args=["compile", order.id])).status_code == 404
    assert client.get("/db_default/v4/nts/orders/" + "9" * 19).status_code == 404


def test_revisions_from_reports_are_escaped_on_order_pages(client):
    hostile = '<script>alert(1)</script>"x'
    submit_doc(report_doc(revision=hostile, tests={"t": {"execution_time": 1.0}}))
    order = Order.objects.get(suite__name="nts")
    detail = client.get(reverse("perf:order-detail", args=["nts", order.id])).content.decode()
    listing = client.get(reverse("perf:order-list", args=["nts"]), {"q": hostile})
    for body in (detail, listing.content.decode()):
        assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_an_order_can_be_promoted_to_a_baseline_from_its_page(client):
    submit_grid(machines=1, tests=1, orders=2)
    order = order_of(1001)
    url = reverse("perf:order-detail", args=["nts", order.id])
    assert "Log in to promote this order" in client.get(url).content.decode()
    client.force_login(make_user())
    page = client.get(url).content.decode()
    assert 'id="promote-form"' in page and "This order is no baseline" in page
    response = client.post(
        reverse("perf:baseline-create", args=["nts"]),
        {"order": order.id, "name": "release-<1>", "next": url},
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "This order is baseline: <strong>release-&lt;1&gt;</strong>" in page
