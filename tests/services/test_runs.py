"""Deletes, merges, renames and replaces remove what was derived and re-detect."""

import pytest

from perf.models import FieldChange, Machine, Regression, RegressionEvent, Run, Series
from perf.services.detection import machine_detect_all, run_detect
from perf.services.runs import (
    LifecycleError,
    machine_delete,
    machine_merge,
    machine_rename,
    run_delete,
)
from perf.services.triage import regression_update
from tests.factories import detected_history, make_user, report_doc, submit_doc

pytestmark = pytest.mark.django_db

TEST = "SingleSource/mandel"


def history(levels, *, machine="box-1", first=1000, seed=1):
    return detected_history(levels, machine=machine, first_revision=first, seed=seed)


def live():
    return sorted(
        (c.machine.name, c.test.name, c.end_order.key)
        for c in FieldChange.objects.filter(withdrawn=False, confirmed=True).select_related(
            "machine", "test", "end_order"
        )
    )


def assert_verdicts_equal_a_detection_from_scratch():
    found = live()
    FieldChange.objects.all().delete()
    Regression.objects.all().delete()
    for machine_id in Machine.objects.values_list("id", flat=True):
        machine_detect_all(machine_id)
    assert live() == found


def run_at(revision, machine="box-1"):
    return Run.objects.get(order__key=str(revision), machine__name=machine).id


# --- run_delete ------------------------------------------------------------------------


def test_deleting_the_run_that_carried_a_suspect_removes_the_change_and_the_regression(
    django_capture_on_commit_callbacks,
):
    history([1.0] * 20 + [1.3])
    assert FieldChange.objects.filter(withdrawn=False).count() == 1
    assert Regression.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        removal = run_delete(run_at(1020))
    assert removal.redetect_runs == [run_at(1019)]
    assert not FieldChange.objects.exists()
    assert not Regression.objects.exists()
    assert set(Run.objects.values_list("detection_state", flat=True)) == {Run.DONE}
    assert_verdicts_equal_a_detection_from_scratch()


def test_deleting_the_first_run_of_a_step_moves_the_change_to_the_next_run(
    django_capture_on_commit_callbacks,
):
    history([1.0] * 20 + [1.1] * 8)
    assert live() == [("box-1", TEST, "1020")]
    with django_capture_on_commit_callbacks(execute=True):
        removal = run_delete(run_at(1020))
    assert removal.redetect_runs == [run_at(1019), run_at(1021)]
    assert len(removal.deleted_changes) == 1 and len(removal.deleted_regressions) == 1
    assert live() == [("box-1", TEST, "1021")]
    [regression] = Regression.objects.all()
    assert regression.indicators.get().field_change.end_order.key == "1021"
    assert_verdicts_equal_a_detection_from_scratch()


def test_deleting_the_run_before_a_step_widens_the_regression_to_the_earlier_run(
    django_capture_on_commit_callbacks,
):
    history([1.0] * 20 + [1.1] * 8)
    regression = Regression.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        removal = run_delete(run_at(1019))
    assert removal.deleted_changes == []
    assert live() == [("box-1", TEST, "1020")]
    regression.refresh_from_db()
    assert (regression.start_order.key, regression.end_order.key) == ("1018", "1020")
    assert regression.start_position == regression.start_order.position


def test_a_regression_a_person_triaged_is_closed_with_a_history_event_not_deleted(
    django_capture_on_commit_callbacks,
):
    history([1.0] * 20 + [1.1] * 8)
    regression = Regression.objects.get()
    user = make_user()
    regression_update(regression.id, user=user, state=Regression.ACTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        removal = run_delete(run_at(1020), user=user)
    regression.refresh_from_db()
    assert removal.closed_regressions == [regression.id]
    assert regression.state == Regression.IGNORED
    assert regression.indicators.count() == 0
    removed = regression.events.get(action="changes_removed")
    assert removed.detail["why"] == f"run {removal.deleted_runs[0]} was deleted"
    assert removed.user == user
    assert regression.events.filter(action="state", detail__to="Ignored").exists()
    assert live() == [("box-1", TEST, "1021")]  # found again by the neighbours' detection


def test_deleting_one_of_two_runs_at_an_order_keeps_the_change_and_redetects_the_other(
    django_capture_on_commit_callbacks,
):
    history([1.0] * 20 + [1.1] * 8)
    doc = report_doc(revision=1020, tests={TEST: {"execution_time": [1.1, 1.1, 1.1]}})
    extra = submit_doc(doc, merge="append")
    run_detect(extra.run_id)
    with django_capture_on_commit_callbacks(execute=True):
        removal = run_delete(extra.run_id)
    assert removal.deleted_changes == []
    assert removal.redetect_runs == [run_at(1020)]
    assert live() == [("box-1", TEST, "1020")]
    assert Regression.objects.get().indicators.count() == 1


def test_a_run_of_another_machine_is_not_deleted_for_a_bound_caller():
    history([1.0] * 3)
    assert run_delete(run_at(1001), machine_name="other") is None
    assert Run.objects.count() == 3


def test_replacing_the_run_that_carried_a_suspect_removes_its_change_and_regression():
    history([1.0] * 20 + [1.3])
    doc = report_doc(revision=1020, tests={TEST: {"execution_time": [1.0, 1.0, 1.0]}})
    result = submit_doc(doc, merge="replace")
    assert not FieldChange.objects.exists()
    assert not Regression.objects.exists()  # not left empty and open
    run_detect(result.run_id)
    assert not Regression.objects.exists()


# --- machines --------------------------------------------------------------------------


def test_deleting_a_machine_removes_its_changes_and_keeps_the_shared_regression():
    history([1.0] * 20 + [1.1] * 8, machine="box-1")
    history([1.0] * 20 + [1.1] * 8, machine="box-2", seed=2)
    [regression] = Regression.objects.all()
    assert regression.title == f"Regression of {TEST} on 2 machines"
    box = Machine.objects.get(name="box-1")
    lines = machine_delete(box.id)
    assert lines[0].startswith("Deleting runs ") and lines[0].endswith("(28/28)")
    assert lines[-1] == f"Deleted machine box-1:{box.id}"
    assert not Machine.objects.filter(name="box-1").exists()
    assert live() == [("box-2", TEST, "1020")]
    regression.refresh_from_db()
    assert regression.title == f"Regression of {TEST} on box-2"
    assert regression.events.filter(action="changes_removed").exists()


def test_deleting_a_machine_reports_each_chunk_of_runs():
    from perf.services.runs import machine_delete_steps

    history([1.0] * 5)
    lines = list(machine_delete_steps(Machine.objects.get().id, chunk=2))
    assert [line.split("(")[-1] for line in lines[:-1]] == ["2/5)", "4/5)", "5/5)"]


def test_merging_a_machine_moves_its_runs_and_detects_the_joined_history(
    django_capture_on_commit_callbacks,
):
    history([1.0] * 20, machine="old-name")
    history([1.1] * 8, machine="new-name", first=1020, seed=2)
    old, new = Machine.objects.get(name="old-name"), Machine.objects.get(name="new-name")
    assert live() == []
    with django_capture_on_commit_callbacks(execute=True):
        machine_merge(new.id, old.id)
    assert not Machine.objects.filter(id=new.id).exists()
    assert Run.objects.filter(machine=old).count() == 28
    assert Series.objects.filter(machine_id=new.id).count() == 0
    assert live() == [("old-name", TEST, "1020")]
    assert set(Run.objects.values_list("detection_state", flat=True)) == {Run.DONE}
    assert Regression.objects.get().title == f"Regression of {TEST} on old-name"
    assert_verdicts_equal_a_detection_from_scratch()


def test_merging_removes_the_source_machines_changes_and_empty_regressions(
    django_capture_on_commit_callbacks,
):
    history([1.0] * 20 + [1.1] * 8, machine="box-1")
    history([1.0] * 30, machine="box-2", seed=2)
    source, into = Machine.objects.get(name="box-1"), Machine.objects.get(name="box-2")
    with django_capture_on_commit_callbacks(execute=True):
        removal = machine_merge(source.id, into.id)
    assert len(removal.deleted_regressions) == 1
    assert_verdicts_equal_a_detection_from_scratch()


@pytest.mark.parametrize(
    ("source", "into", "message"),
    [
        ("box-1", "box-1", "cannot merge a machine into itself"),
        ("box-1", None, "no machine with id"),
    ],
)
def test_a_merge_that_cannot_be_done_is_refused_and_writes_nothing(source, into, message):
    history([1.0] * 2)
    box = Machine.objects.get(name=source).id
    with pytest.raises(LifecycleError, match=message):
        machine_merge(box, box if into else 999_999)
    assert Run.objects.filter(machine_id=box).count() == 2


def test_renaming_a_machine_retitles_its_regressions():
    history([1.0] * 20 + [1.1] * 8)
    machine_rename(Machine.objects.get().id, "box-renamed")
    assert Regression.objects.get().title == f"Regression of {TEST} on box-renamed"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("box-2", "Machine with name 'box-2' already exists"),
        ("", "name must not be empty"),
        ("a/b", "name"),
    ],
)
def test_a_rename_to_a_taken_or_unusable_name_is_refused(name, message):
    history([1.0], machine="box-1")
    history([1.0], machine="box-2")
    with pytest.raises(LifecycleError, match=message):
        machine_rename(Machine.objects.get(name="box-1").id, name)
    assert Machine.objects.filter(name="box-1").exists()


def test_regression_events_record_no_user_for_automatic_removals():
    history([1.0] * 20 + [1.1] * 8, machine="box-1")
    history([1.0] * 20 + [1.1] * 8, machine="box-2", seed=2)
    machine_delete(Machine.objects.get(name="box-1").id)
    assert RegressionEvent.objects.get(action="changes_removed").user is None


def test_deleting_a_run_twice_deletes_nothing_the_second_time():
    history([1.0] * 3)
    run_id = run_at(1001)
    assert run_delete(run_id).deleted_runs == [run_id]
    assert run_delete(run_id) is None
    assert Run.objects.count() == 2
