"""The machine page's runs table built in Python from machine_page's rows is the
template's over the runs as model instances, byte for byte."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import engines
from django.utils import timezone

from perf.models import Order, Run
from perf.selectors.runs import MachinePage, machine_page, machine_runs_page
from perf.views.run_rows import id_url, machine_runs_html
from tests.factories import submit_grid

pytestmark = pytest.mark.django_db

# The loop machine_detail.html had before perf.views.run_rows replaced it.
TEMPLATE_LOOP = """{% for r in runs %}<tr><td><a href="{% url 'perf:run-detail' suite r.id %}">\
Run {{ r.id }}</a></td><td><a href="{% url 'perf:order-detail' suite r.order_id %}">\
{{ r.order.label }}</a></td>
<td><time datetime="{{ r.start_time|date:'c' }}">{{ r.start_time|date:"Y-m-d H:i" }}</time>\
</td><td>{{ r.submitted_at|date:"Y-m-d H:i" }}</td><td>{{ r.detection_state }}</td></tr>
{% empty %}<tr><td colspan="5" class="muted">No runs.</td></tr>{% endfor %}"""


def template_rows(runs: list[Run], suite: str) -> str:
    return engines["django"].from_string(TEMPLATE_LOOP).render({"runs": runs, "suite": suite})


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Chatham"])
def test_the_runs_table_is_the_templates_byte_for_byte(zone):
    submit_grid(machines=1, tests=1, orders=3)
    machine = Run.objects.first().machine
    # An order label and a start time that need escaping and a time-zone shift.
    Order.objects.filter(runs__machine=machine).update(fields={"rev": "<b>&\"'r1</b>"})
    Run.objects.filter(machine=machine).update(
        start_time=dt.datetime(2026, 1, 31, 23, 59, 30, 123456, tzinfo=dt.UTC)
    )
    runs = machine_runs_page(machine, 0, 10)
    page = machine_page("nts", machine.id, 0, 10)
    assert isinstance(page, MachinePage)
    with timezone.override(zone):
        html = machine_runs_html(page.runs, "nts")
        assert html == template_rows(runs, "nts")
        assert machine_runs_html([], "nts") == template_rows([], "nts")
    assert html.count("<tr>") == 3 and "&lt;b&gt;&amp;&quot;&#x27;r1" in html


def test_id_url_splits_a_reversed_url_around_the_id():
    prefix, suffix = id_url("perf:order-detail", "nts")
    assert (prefix, suffix) == ("/db_default/v4/nts/orders/", "")
    prefix, suffix = id_url("perf:machine-summary", "nts")
    assert (prefix, suffix) == ("/db_default/v4/nts/machines/", "/summary")
