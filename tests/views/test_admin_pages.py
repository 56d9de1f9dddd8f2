"""Smoke test: every admin changelist and add page opens for a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import make_field_change, make_regression, submit_history

pytestmark = pytest.mark.django_db


def test_every_admin_changelist_and_add_page_opens(client):
    submit_history([1.0, 1.5])
    make_regression([make_field_change()])
    user = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw")
    client.force_login(user)
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        if model_admin.has_add_permission(type("R", (), {"user": user})()):
            add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
            assert client.get(add).status_code == 200, add


def test_deleting_a_machine_in_the_admin_confirms_with_a_summary_and_cascades(client):
    from perf.models import Machine, Point, Run

    submit_history([1.0, 1.5, 1.2])
    user = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw")
    client.force_login(user)
    machine = Machine.objects.get()
    url = reverse("admin:perf_machine_delete", args=[machine.id])
    page = client.get(url)
    assert page.status_code == 200
    assert b"with everything that depends on it" in page.content
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Run.objects.exists() and not Point.objects.exists()


def test_the_admin_refuses_a_machine_name_that_reports_may_not_use(client):
    from perf.models import Machine

    submit_history([1.0])
    user = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw")
    client.force_login(user)
    machine = Machine.objects.get()
    response = client.post(
        reverse("admin:perf_machine_change", args=[machine.id]),
        {"suite": machine.suite_id, "name": "qa/bad<name>", "fields": "{}", "parameters": "{}"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert b"not allowed in machine names" in response.content
    machine.refresh_from_db()
    assert machine.name == "box-1"
