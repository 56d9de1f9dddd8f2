"""Triage services: merge and split keep each regression's order range true."""

import pytest

from perf.services.triage import regression_merge, regression_split
from tests.factories import make_field_change, make_regression, make_user, submit_grid

pytestmark = pytest.mark.django_db


def revisions(regression) -> tuple[str, str]:
    regression.refresh_from_db()
    return (
        regression.start_order.fields["llvm_project_revision"],
        regression.end_order.fields["llvm_project_revision"],
    )


def test_merge_widens_the_target_range_and_split_refits_both():
    submit_grid(machines=1, tests=2, orders=6)
    early = make_field_change(machine="box-0", test="suite/t0", at_revision=1002)
    late = make_field_change(machine="box-0", test="suite/t1", at_revision=1005)
    first, second = make_regression([early]), make_regression([late])
    user = make_user()
    assert revisions(first) == ("1001", "1002")
    regression_merge(first.id, [second.id], user=user)
    assert revisions(first) == ("1001", "1005")
    new = regression_split(first.id, [late.id], user=user)
    assert revisions(new) == ("1004", "1005")
    assert revisions(first) == ("1001", "1002")


# --- notes, assignee, regressions by hand, from a point, adding, ignoring ----------

from perf.models import (  # noqa: E402 - the section's own imports
    ChangeIgnore,
    FieldChange,
    Order,
    Regression,
    RegressionEvent,
    Series,
)
from perf.services.triage import (  # noqa: E402
    TriageError,
    changes_ignore,
    changes_unignore,
    regression_add_changes,
    regression_create,
    regression_from_point,
    regression_update,
)


def actions(regression) -> list[str]:
    return list(
        RegressionEvent.objects.filter(regression=regression)
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_notes_and_assignee_are_saved_with_their_history_and_a_repeat_records_nothing():
    submit_grid(machines=1, tests=1, orders=3)
    regression = make_regression([make_field_change(machine="box-0", test="suite/t0")])
    alice, bob = make_user(), make_user("bob")
    assert regression_update(
        regression.id, user=alice, notes=" bisecting ", assignee_id=bob.id
    ) == [
        "notes",
        "assignee",
    ]
    assert regression_update(regression.id, user=alice, notes="bisecting", assignee_id=bob.id) == []
    regression.refresh_from_db()
    assert (regression.notes, regression.assignee_id) == ("bisecting", bob.id)
    event = RegressionEvent.objects.get(regression=regression, action="assignee")
    assert event.detail == {"from": "", "to": "bob"} and event.user == alice
    assert regression_update(regression.id, user=alice, assignee_id=0) == ["assignee"]
    regression.refresh_from_db()
    assert regression.assignee_id is None


def test_assigning_a_user_that_does_not_exist_is_refused():
    submit_grid(machines=1, tests=1, orders=3)
    regression = make_regression([make_field_change(machine="box-0", test="suite/t0")])
    with pytest.raises(TriageError, match="No user 999999"):
        regression_update(regression.id, user=make_user(), assignee_id=999999)
    assert actions(regression) == ["created"]


def test_a_regression_made_by_hand_holds_the_changes_and_spans_them():
    submit_grid(machines=1, tests=2, orders=6)
    early = make_field_change(machine="box-0", test="suite/t0", at_revision=1002)
    late = make_field_change(machine="box-0", test="suite/t1", at_revision=1005)
    ChangeIgnore.objects.create(field_change=late, reason="noise?")
    regression = regression_create(early.machine.suite_id, [late.id, early.id], user=make_user())
    assert revisions(regression) == ("1001", "1005")
    assert set(regression.indicators.values_list("field_change_id", flat=True)) == {
        early.id,
        late.id,
    }
    assert regression.title == "Change of 2 tests on box-0"
    assert not ChangeIgnore.objects.exists()  # tracked now, so no longer ignored
    assert RegressionEvent.objects.get(regression=regression).detail == {
        "field_changes": [early.id, late.id],
        "by_hand": True,
    }


def test_a_change_already_in_a_regression_or_withdrawn_cannot_be_taken_again():
    submit_grid(machines=1, tests=2, orders=3)
    grouped = make_field_change(machine="box-0", test="suite/t0")
    held = make_regression([grouped])
    gone = make_field_change(machine="box-0", test="suite/t1")
    FieldChange.objects.filter(id=gone.id).update(withdrawn=True)
    suite_id = grouped.machine.suite_id
    with pytest.raises(
        TriageError, match=f"Change {grouped.id} is already in regression {held.id}"
    ):
        regression_create(suite_id, [grouped.id], user=make_user())
    with pytest.raises(TriageError, match=f"Change {gone.id} was withdrawn"):
        regression_create(suite_id, [gone.id], user=None)
    with pytest.raises(TriageError, match="Change 999999 does not exist"):
        regression_create(suite_id, [999999], user=None)
    with pytest.raises(TriageError, match="at least one"):
        regression_create(suite_id, [], user=None)
    assert Regression.objects.count() == 1


def test_adding_changes_refits_the_range_records_the_event_and_is_idempotent():
    submit_grid(machines=1, tests=2, orders=6)
    early = make_field_change(machine="box-0", test="suite/t0", at_revision=1002)
    late = make_field_change(machine="box-0", test="suite/t1", at_revision=1005)
    FieldChange.objects.filter(id=late.id).update(is_regression=False)  # an improvement
    regression = make_regression([early])
    user = make_user()
    assert regression_add_changes(regression.id, [late.id], user) == 1
    assert revisions(regression) == ("1001", "1005")
    assert actions(regression) == ["created", "add"]
    assert regression_add_changes(regression.id, [late.id], user) == 0
    assert actions(regression) == ["created", "add"]


def test_adding_to_a_missing_regression_is_refused():
    with pytest.raises(TriageError, match="Regression 424242 does not exist"):
        regression_add_changes(424242, [1], None)


def test_ignoring_keeps_the_first_reason_and_unignoring_takes_it_back():
    submit_grid(machines=1, tests=1, orders=3)
    change = make_field_change(machine="box-0", test="suite/t0")
    suite_id = change.machine.suite_id
    user = make_user()
    assert changes_ignore(suite_id, [change.id], user=user, reason="flaky machine") == 1
    assert changes_ignore(suite_id, [change.id], user=user, reason="other") == 0
    assert ChangeIgnore.objects.get().reason == "flaky machine"
    assert changes_unignore(suite_id, [change.id]) == 1
    assert not ChangeIgnore.objects.exists()


def point_at(revision: int, test: str = "suite/t0") -> tuple[int, int, int]:
    series = Series.objects.get(
        machine__name="box-0", test__name=test, metric__name="execution_time"
    )
    order = Order.objects.get(key=str(revision))
    return series.machine.suite_id, series.id, order.id


def test_a_regression_from_a_graph_point_makes_a_manual_change_from_the_point_before():
    submit_grid(machines=1, tests=1, orders=4, step_at=2, step_factor=1.5)
    suite_id, series_id, order_id = point_at(1002)
    FieldChange.objects.filter(series_id=series_id).delete()  # as if detection missed it
    regression, created = regression_from_point(suite_id, series_id, order_id, user=make_user())
    assert created
    change = FieldChange.objects.get(indicator__regression=regression)
    assert change.method == FieldChange.MANUAL and change.is_regression
    assert change.relative_change == pytest.approx(0.5)
    assert revisions(regression) == ("1001", "1002")
    again, created_again = regression_from_point(suite_id, series_id, order_id, user=None)
    assert (again.id, created_again) == (regression.id, False)


def test_a_regression_from_a_point_without_an_earlier_point_is_refused():
    submit_grid(machines=1, tests=1, orders=2)
    suite_id, series_id, order_id = point_at(1000)
    with pytest.raises(TriageError, match="no point before"):
        regression_from_point(suite_id, series_id, order_id, user=None)
    with pytest.raises(TriageError, match="has no value at order"):
        regression_from_point(suite_id, series_id, 999999, user=None)
    assert not Regression.objects.exists()


def test_detection_never_withdraws_a_change_a_person_made_from_a_point():
    from perf.services.detection import run_detect
    from tests.factories import detected_history, report_doc, submit_doc

    detected_history([1.0] * 8, machine="box-0", test="suite/t0")
    suite_id, series_id, order_id = point_at(1005)
    regression, _ = regression_from_point(suite_id, series_id, order_id, user=None)
    change = FieldChange.objects.get(indicator__regression=regression)
    for revision in (1008, 1009):
        doc = report_doc(
            machine="box-0", revision=revision, tests={"suite/t0": {"execution_time": [1.0] * 3}}
        )
        run_detect(submit_doc(doc).run_id)
    change.refresh_from_db()
    assert not change.withdrawn


def test_several_points_share_one_regression_and_one_in_another_is_refused():
    from perf.services.triage import regression_from_points

    submit_grid(machines=1, tests=2, orders=3, step_at=2, step_factor=1.5)
    suite_id, t0, order_id = point_at(1002)
    _, t1, _ = point_at(1002, test="suite/t1")
    regression, added = regression_from_points(suite_id, [(t0, order_id)], user=None)
    assert added == 1
    same, added = regression_from_points(
        suite_id, [(t0, order_id), (t1, order_id)], user=None, regression_id=regression.id
    )
    assert (same.id, added) == (regression.id, 1)
    with pytest.raises(TriageError, match=f"already in regression {regression.id}"):
        regression_from_points(suite_id, [(t1, order_id)], user=None)
    with pytest.raises(TriageError, match="Choose at least one row"):
        regression_from_points(suite_id, [], user=None)
