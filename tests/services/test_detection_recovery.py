"""Recovery without double work: a worker's lease on the run it detects, database
connection errors that do not burn poison-run attempts, and a sweep that tells a run
waiting in the queue from one whose worker died."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from perf import tasks
from perf.models import FieldChange, Run
from perf.services import detection
from perf.services.detection import run_detect, runs_enqueue, runs_enqueue_pending
from tests.factories import report_doc, submit_doc, submit_history

pytestmark = pytest.mark.django_db


def queued_run() -> int:
    run_id = submit_doc(report_doc()).run_id
    assert runs_enqueue([run_id], enqueue=lambda rid: None) == 1
    return run_id


def sweep_at(seconds_from_now: float) -> list[int]:
    handed: list[int] = []
    runs_enqueue_pending(
        enqueue=handed.append, now=timezone.now() + timedelta(seconds=seconds_from_now)
    )
    return handed


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_a_lost_connection_keeps_the_run_queued_without_back_off(monkeypatch, error):
    run_id = queued_run()

    def lost(machine_id: int, position: int):
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr(detection, "_window_around", lost)
    with pytest.raises(error):
        run_detect(run_id, from_queue=True)
    run = Run.objects.get(id=run_id)
    assert run.detection_state == Run.PENDING
    assert run.detection_queued_at is not None and run.detection_started_at is not None
    assert run.detection_next_attempt_at is None and run.detection_error == ""


def test_retries_after_lost_connections_do_not_use_up_the_poison_run_attempts(
    settings, monkeypatch
):
    settings.PERF_DETECTION_MAX_ATTEMPTS = 2
    settings.PERF_DETECTION_LEASE_SECONDS = 3
    run_id = queued_run()
    real = detection._window_around
    outages = iter([True] * 5 + [False])

    def flaky(machine_id: int, position: int):
        if next(outages):
            raise OperationalError("could not connect to server")
        return real(machine_id, position)

    monkeypatch.setattr(detection, "_window_around", flaky)
    with pytest.raises(OperationalError):
        run_detect(run_id, from_queue=True)
    for _ in range(5):
        Run.objects.filter(id=run_id).update(
            detection_started_at=timezone.now() - timedelta(seconds=4)  # the lease expired
        )
        try:
            run_detect(run_id, from_queue=True, count_attempt=False)
        except OperationalError:
            pass
    run = Run.objects.get(id=run_id)
    assert (run.detection_state, run.detection_attempts) == (Run.DONE, 1)
    assert run.detection_started_at is None and run.detection_queued_at is None


def test_a_second_copy_of_a_message_does_nothing_while_a_worker_holds_the_lease():
    run_id = queued_run()
    Run.objects.filter(id=run_id).update(detection_started_at=timezone.now())
    result = run_detect(run_id, from_queue=True)
    assert "being detected" in result.summary
    run = Run.objects.get(id=run_id)
    assert (run.detection_state, run.detection_attempts) == (Run.PENDING, 0)


def test_a_message_for_a_run_already_detected_detects_nothing_again():
    results = submit_history([1.0] * 12 + [1.2] * 3)
    last = results[-1].run_id
    for result in results:
        run_detect(result.run_id)
    detected_at = Run.objects.get(id=last).detected_at
    changes = FieldChange.objects.count()
    assert changes >= 1
    run_detect(last, from_queue=True)
    assert Run.objects.get(id=last).detected_at == detected_at
    assert FieldChange.objects.count() == changes


def test_the_sweep_leaves_a_run_waiting_in_the_queue_alone():
    queued_run()
    assert sweep_at(60) == []


def test_the_sweep_leaves_a_run_alone_while_its_worker_renews_the_lease(settings):
    run_id = queued_run()
    Run.objects.filter(id=run_id).update(detection_started_at=timezone.now())
    assert sweep_at(settings.PERF_DETECTION_LEASE_SECONDS - 1) == []


def test_the_sweep_takes_a_run_whose_worker_died_once_its_lease_expired(settings):
    run_id = queued_run()
    Run.objects.filter(id=run_id).update(detection_started_at=timezone.now())
    assert sweep_at(settings.PERF_DETECTION_LEASE_SECONDS + 1) == [run_id]
    run = Run.objects.get(id=run_id)
    assert run.detection_started_at is None  # the dead worker's lease is gone
    assert sweep_at(settings.PERF_DETECTION_LEASE_SECONDS + 1) == []  # queued again


def test_the_default_recovery_settings_pick_up_a_dead_workers_run_within_a_minute(settings):
    assert settings.PERF_DETECTION_LEASE_SECONDS + settings.PERF_PENDING_SWEEP_SECONDS < 60
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > (
        settings.CELERY_TASK_TIME_LIMIT
    )


def test_the_task_retries_a_lost_connection_after_its_lease_without_counting_it(
    settings, monkeypatch
):
    calls: list[dict] = []

    def down(run_id: int, **options):
        calls.append(options)
        raise OperationalError("the database system is shutting down")

    class Retried(Exception):
        pass

    def retry(**options):
        calls.append(options)
        return Retried()

    monkeypatch.setattr(detection, "run_detect", down)
    monkeypatch.setattr(tasks.detect_run_task, "retry", retry)
    with pytest.raises(Retried):
        tasks.detect_run_task.run(7)
    first, retried = calls
    assert first == {"from_queue": True, "count_attempt": True}
    assert retried["kwargs"] == {"resumed": True}
    assert retried["countdown"] > settings.PERF_DETECTION_LEASE_SECONDS


def test_a_queued_run_never_started_is_lost_after_the_grace_the_sweep_is_given():
    run_id = queued_run()
    handed: list[int] = []
    later = timezone.now() + timedelta(seconds=31)
    runs_enqueue_pending(enqueue=handed.append, now=later)
    assert handed == []  # the queue may hold it: only the long timeout applies
    runs_enqueue_pending(enqueue=handed.append, now=later, lost_after=30)
    assert handed == [run_id]


def test_the_sweep_uses_the_short_grace_only_when_the_broker_says_the_queue_is_empty(
    settings, monkeypatch
):
    given: list[float | None] = []
    monkeypatch.setattr(
        detection, "runs_enqueue_pending", lambda **options: given.append(options["lost_after"])
    )
    for depth in (0, 5, None):
        monkeypatch.setattr(tasks, "queue_depth", lambda task, depth=depth: depth)
        tasks.detect_pending_task.run()
    assert given == [settings.PERF_DETECTION_QUEUED_GRACE_SECONDS, None, None]


def test_a_long_detection_renews_its_lease_every_third_of_it(settings):
    settings.PERF_DETECTION_LEASE_SECONDS = 30
    run_id = queued_run()
    taken = timezone.now() - timedelta(seconds=9)
    Run.objects.filter(id=run_id).update(detection_started_at=taken)
    lease = detection._Lease(run_id, taken)
    lease.renew()  # 9 s in: not yet
    assert Run.objects.get(id=run_id).detection_started_at == taken
    lease.taken = timezone.now() - timedelta(seconds=11)
    lease.renew()
    assert Run.objects.get(id=run_id).detection_started_at > taken + timedelta(seconds=8)


def test_a_replaced_run_is_detected_again_even_while_a_worker_held_its_lease():
    doc = report_doc()
    run_id = submit_doc(doc).run_id
    Run.objects.filter(id=run_id).update(
        detection_started_at=timezone.now(), detection_queued_at=timezone.now()
    )
    # New data for the same run (an identical retry would simply be answered as stored).
    new = report_doc(tests={"SingleSource/mandel": {"execution_time": [1.2, 1.21, 1.19]}})
    assert submit_doc(new, merge="replace").run_id == run_id
    result = run_detect(run_id, from_queue=True)
    assert "being detected" not in result.summary
    assert Run.objects.get(id=run_id).detection_state == Run.DONE
