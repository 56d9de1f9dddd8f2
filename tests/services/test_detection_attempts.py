"""Poison runs and the sweep: capped attempts with back-off, a failure shown where
people look, and never two messages for one queued run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from perf.models import Run
from perf.services import detection
from perf.services.detection import run_detect, runs_enqueue, runs_enqueue_pending
from tests.factories import report_doc, submit_doc

pytestmark = pytest.mark.django_db


class Boom(RuntimeError):
    pass


@pytest.fixture
def poison(monkeypatch):
    """Detection of every run raises, as for a run whose data breaks the analysis."""
    calls: list[int] = []

    def explode(machine_id: int, position: int):
        calls.append(position)
        raise Boom("the analysis choked on this run")

    monkeypatch.setattr(detection, "_window_around", explode)
    return calls


def detect_now(run_id: int) -> None:
    """What the worker does with a message: run detection; a failure is recorded."""
    try:
        run_detect(run_id)
    except Boom:
        pass


def sweep_at(seconds_from_now: float) -> int:
    return runs_enqueue_pending(
        enqueue=detect_now, now=timezone.now() + timedelta(seconds=seconds_from_now)
    )


def test_a_run_whose_detection_always_raises_is_tried_at_most_the_limit_then_failed(
    settings, poison
):
    settings.PERF_DETECTION_MAX_ATTEMPTS = 3
    settings.PERF_DETECTION_RETRY_SECONDS = 100
    run_id = submit_doc(report_doc()).run_id
    assert sweep_at(0) == 1
    run = Run.objects.get(id=run_id)
    assert (run.detection_state, run.detection_attempts) == (Run.PENDING, 1)
    assert "Boom: the analysis choked" in run.detection_error
    assert run.detection_queued_at is None
    # Back-off (the clock does not move here; the sweep is told a later time): the
    # run is due 100 s after the 1st failure, 200 s after the 2nd.
    assert run.detection_next_attempt_at == pytest.approx(
        timezone.now() + timedelta(seconds=100), abs=timedelta(seconds=5)
    )
    assert sweep_at(50) == 0
    assert sweep_at(105) == 1
    assert Run.objects.get(id=run_id).detection_attempts == 2
    assert sweep_at(150) == 0
    assert sweep_at(205) == 1
    run.refresh_from_db()
    assert (run.detection_state, run.detection_attempts) == (Run.FAILED, 3)
    assert run.detection_next_attempt_at is None
    for later in (10_000, 100_000, 1_000_000):
        assert sweep_at(later) == 0
    assert len(poison) == 3


def test_a_message_for_a_run_that_used_its_attempts_does_nothing_but_fail_it(settings, poison):
    """A run that kills its worker never records its failure; its attempts, counted
    before the work, still run out."""
    settings.PERF_DETECTION_MAX_ATTEMPTS = 2
    run_id = submit_doc(report_doc()).run_id
    Run.objects.filter(id=run_id).update(detection_attempts=2)  # two workers lost
    result = run_detect(run_id)
    assert "gave up after 2 attempts" in result.summary
    assert poison == []
    assert Run.objects.get(id=run_id).detection_state == Run.FAILED


def test_a_run_failed_for_good_is_shown_on_the_run_page_the_admin_and_health(
    client, settings, poison
):
    settings.PERF_DETECTION_MAX_ATTEMPTS = 2
    settings.PERF_DETECTION_RETRY_SECONDS = 1
    run_id = submit_doc(report_doc()).run_id
    sweep_at(0)
    sweep_at(10)
    assert Run.objects.get(id=run_id).detection_state == Run.FAILED

    page = client.get(reverse("perf:run-detail", args=["nts", run_id])).content.decode()
    assert 'id="detection-failed"' in page
    assert "failed for good</strong> after 2 attempts" in page
    assert "Boom: the analysis choked on this run" in page

    health = client.get(reverse("perf:health")).json()
    assert health["detection"]["failed"] == 1
    assert health["detection"]["pending"] == 0

    admin = get_user_model().objects.create_superuser("root", "root@example.invalid", "pw")
    client.force_login(admin)
    listing = client.get(reverse("admin:perf_run_changelist") + "?detection_state__exact=failed")
    assert f">{run_id}<" in listing.content.decode()
    # The admin's action gives the run fresh attempts and enqueues it (here, in-process).
    poison.clear()
    response = client.post(
        reverse("admin:perf_run_changelist"),
        {"action": "retry_detection", "_selected_action": [run_id]},
        follow=True,
    )
    assert "1 run(s) given fresh detection attempts, 1 enqueued" in response.content.decode()
    run = Run.objects.get(id=run_id)
    assert (run.detection_state, run.detection_attempts) == (Run.PENDING, 1)  # tried again
    assert len(poison) == 1


def test_the_sweep_never_enqueues_a_queued_run_twice():
    ids = [submit_doc(report_doc(revision=1000 + i)).run_id for i in range(3)]
    published: list[int] = []
    assert runs_enqueue_pending(enqueue=published.append) == 3
    assert runs_enqueue_pending(enqueue=published.append) == 0
    assert runs_enqueue(ids, enqueue=published.append) == 0  # e.g. a late submit callback
    assert published == ids
    assert all(Run.objects.filter(id__in=ids).values_list("detection_queued_at", flat=True))


def test_a_queued_run_whose_message_was_lost_is_picked_up_after_the_timeout(settings):
    settings.PERF_DETECTION_QUEUED_TIMEOUT_SECONDS = 1800
    run_id = submit_doc(report_doc()).run_id
    published: list[int] = []
    assert runs_enqueue_pending(enqueue=published.append) == 1  # ... and the message is lost
    for seconds in (60, 600, 1790):
        assert sweep_at_with(published, seconds) == 0
    assert sweep_at_with(published, 1810) == 1
    assert published == [run_id, run_id]


def sweep_at_with(published: list[int], seconds: float) -> int:
    return runs_enqueue_pending(
        enqueue=published.append, now=timezone.now() + timedelta(seconds=seconds)
    )


def test_a_run_is_left_unqueued_for_the_next_sweep_when_the_broker_is_down():
    ids = [submit_doc(report_doc(revision=1000 + i)).run_id for i in range(3)]
    published: list[int] = []

    def flaky(run_id: int) -> None:
        if len(published) == 1:
            raise ConnectionError("broker down")
        published.append(run_id)

    assert runs_enqueue_pending(enqueue=flaky) == 1
    queued = dict(Run.objects.values_list("id", "detection_queued_at"))
    assert queued[ids[0]] is not None and queued[ids[1]] is None and queued[ids[2]] is None
    assert runs_enqueue_pending(enqueue=published.append) == 2
    assert published == ids


def test_a_successful_detection_clears_the_queue_mark_and_the_error():
    run_id = submit_doc(report_doc()).run_id
    runs_enqueue_pending(enqueue=lambda rid: run_detect(rid))
    run = Run.objects.get(id=run_id)
    assert (run.detection_state, run.detection_attempts) == (Run.DONE, 1)
    assert run.detection_queued_at is None and run.detection_error == ""


def test_a_replaced_run_starts_with_fresh_attempts(settings, poison):
    settings.PERF_DETECTION_MAX_ATTEMPTS = 1
    run_id = submit_doc(report_doc()).run_id
    sweep_at(0)
    assert Run.objects.get(id=run_id).detection_state == Run.FAILED
    new_data = {"SingleSource/mandel": {"execution_time": [1.2, 1.21, 1.19]}}
    submit_doc(report_doc(tests=new_data), merge="replace")
    run = Run.objects.get(id=run_id)
    assert (run.detection_state, run.detection_attempts, run.detection_error) == (
        Run.PENDING,
        0,
        "",
    )


def test_the_migration_gives_runs_failed_under_the_old_meaning_back_to_the_sweep():
    """Before 0004 "failed" meant "retried forever"; those runs get one more look,
    and one that used its attempts is failed for good without running detection."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("perf.migrations.0004_notify_poison")
    fresh, worn = (submit_doc(report_doc(revision=1000 + i)).run_id for i in range(2))
    Run.objects.update(detection_state=Run.FAILED)
    Run.objects.filter(id=worn).update(detection_attempts=300)
    migration.failed_runs_back_to_pending(apps, None)
    assert set(Run.objects.values_list("detection_state", flat=True)) == {Run.PENDING}
    runs_enqueue_pending(enqueue=lambda run_id: run_detect(run_id))
    states = dict(Run.objects.values_list("id", "detection_state"))
    assert states == {fresh: Run.DONE, worn: Run.FAILED}
