"""The admin's deletes go through perf.services.runs: nothing derived is left behind."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from perf.models import FieldChange, Machine, Regression, Run
from tests.factories import detected_history as history

pytestmark = pytest.mark.django_db

TEST = "SingleSource/mandel"


@pytest.fixture
def root(client):
    user = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw")
    client.force_login(user)
    return client


def live_ends():
    return [c.end_order.key for c in FieldChange.objects.filter(withdrawn=False)]


def test_deleting_the_run_of_a_step_in_the_admin_moves_the_change_and_its_regression(
    root, django_capture_on_commit_callbacks
):
    results = history([1.0] * 20 + [1.1] * 8)
    url = reverse("admin:perf_run_delete", args=[results[20].run_id])
    with django_capture_on_commit_callbacks(execute=True):
        assert root.post(url, {"post": "yes"}).status_code == 302
    assert not Run.objects.filter(id=results[20].run_id).exists()
    assert live_ends() == ["1021"]
    [regression] = Regression.objects.all()
    assert regression.indicators.get().field_change.end_order.key == "1021"


def test_the_admins_bulk_delete_of_runs_goes_through_the_service(
    root, django_capture_on_commit_callbacks
):
    results = history([1.0] * 20 + [1.3])
    ids = [results[19].run_id, results[20].run_id]
    with django_capture_on_commit_callbacks(execute=True):
        response = root.post(
            reverse("admin:perf_run_changelist"),
            {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
        )
    assert response.status_code == 302
    assert not Run.objects.filter(id__in=ids).exists()
    assert live_ends() == []
    assert not Regression.objects.exists()


def test_the_admins_bulk_delete_of_machines_removes_their_regressions(root):
    history([1.0] * 20 + [1.1] * 5)
    machine = Machine.objects.get()
    response = root.post(
        reverse("admin:perf_machine_changelist"),
        {"action": "delete_selected", "_selected_action": [machine.id], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Machine.objects.exists()
    assert not FieldChange.objects.exists()
    assert not Regression.objects.exists()


def test_the_regression_page_says_why_its_changes_were_removed(
    root, django_capture_on_commit_callbacks
):
    from perf.services.triage import regression_update

    results = history([1.0] * 20 + [1.1] * 8)
    regression = Regression.objects.get()
    regression_update(regression.id, user=get_user_model().objects.get(), state=Regression.ACTIVE)
    url = reverse("admin:perf_run_delete", args=[results[20].run_id])
    with django_capture_on_commit_callbacks(execute=True):
        root.post(url, {"post": "yes"})
    page = root.get(reverse("perf:regression-detail", args=["nts", regression.id]))
    assert f"changes_removed: run {results[20].run_id} was deleted" in page.content.decode()
