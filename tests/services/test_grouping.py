"""Grouping: every live regressing change on exactly one regression, grouped as LNT does."""

import random

import pytest
from django.core import mail

from perf.models import FieldChange, Order, Regression, RegressionIndicator, TestSuite
from perf.services.detection import run_detect
from perf.services.grouping import regressions_group
from perf.tasks import detect_run_task
from tests.factories import make_field_change, report_doc, submit_doc, submit_history

pytestmark = pytest.mark.django_db

TEST = "SingleSource/mandel"


def noisy(level, rng, n=3, noise=0.01):
    return [round(level * rng.gauss(1.0, noise), 6) for _ in range(n)]


def submit_and_detect(machine, revision, level, rng, **options):
    doc = report_doc(
        machine=machine, revision=revision, tests={TEST: {"execution_time": noisy(level, rng)}}
    )
    result = submit_doc(doc, **options)
    detect_run_task(result.run_id)  # the task: it also sends what detection says to notify
    return result


def assert_every_live_regressing_change_is_on_one_regression():
    live = FieldChange.objects.filter(is_regression=True, withdrawn=False)
    assert live.exists()
    for change in live:
        assert RegressionIndicator.objects.filter(field_change=change).count() == 1, change


# --- restored changes ----------------------------------------------------------------


def test_a_withdrawn_change_found_again_later_is_grouped_again_and_notified(settings):
    settings.PERF_NOTIFY_EMAILS = ["perf-team@example.com"]
    rng = random.Random(11)
    for i in range(20):
        submit_and_detect("box-1", 1000 + i, 1.0, rng)
    submit_and_detect("box-1", 1020, 1.3, rng)  # a suspect: on a regression, not notified
    assert Regression.objects.count() == 1
    submit_and_detect("box-1", 1021, 1.0, rng)  # not confirmed: withdrawn, regression deleted
    assert not FieldChange.objects.filter(withdrawn=False).exists()
    assert Regression.objects.count() == 0
    # The 1.0 at 1021 was a mistake: it is replaced, and later runs confirm the step.
    submit_and_detect("box-1", 1021, 1.3, rng, merge="replace")
    for i in range(22, 26):
        submit_and_detect("box-1", 1000 + i, 1.3, rng)
    [change] = FieldChange.objects.filter(withdrawn=False)
    assert change.end_order.key == "1020"
    assert change.confirmed and change.is_regression
    assert change.run.order.key == "1020"  # it kept the run that first found it
    assert_every_live_regressing_change_is_on_one_regression()
    assert Regression.objects.get().state == Regression.DETECTED
    assert len(mail.outbox) == 1


def test_a_change_left_ungrouped_by_an_interrupted_evaluation_is_grouped_on_the_next():
    rng = random.Random(12)
    results = [submit_and_detect("box-1", 1000 + i, 1.0, rng) for i in range(20)]
    results += [submit_and_detect("box-1", 1020 + i, 1.1, rng) for i in range(5)]
    # As if the worker died between storing the change and grouping it.
    Regression.objects.all().delete()
    run_detect(results[-1].run_id)
    assert_every_live_regressing_change_is_on_one_regression()
    assert Regression.objects.count() == 1


# --- grouping across machines --------------------------------------------------------


def test_machines_running_every_1_2_and_5_commits_share_one_regression_for_one_step():
    rng = random.Random(13)
    cadences = {"every-1": (1, 60), "every-2": (2, 40), "every-5": (5, 0)}
    for commit in range(140):
        for machine, (every, first) in cadences.items():
            if commit >= first and commit % every == 0:
                level = 1.1 if commit >= 101 else 1.0
                submit_and_detect(machine, 1000 + commit, level, rng)
    changes = FieldChange.objects.filter(withdrawn=False).select_related("end_order", "machine")
    ends = {c.machine.name: c.end_order.key for c in changes}
    assert ends == {"every-1": "1101", "every-2": "1102", "every-5": "1105"}
    [regression] = Regression.objects.all()
    assert regression.indicators.count() == 3
    assert regression.title == f"Regression of {TEST} on 3 machines"
    assert (regression.start_order.key, regression.end_order.key) == ("1100", "1105")
    assert_every_live_regressing_change_is_on_one_regression()


@pytest.fixture
def flat():
    """Three machines with one run at each of revisions 1000..1010, not detected."""
    for machine in ("box-1", "box-2", "box-3"):
        submit_history([1.0] * 11, machine=machine)
    return TestSuite.objects.get(name="nts")


def change(machine, start, end):
    """A regressing change on ``machine`` over the range (start, end]."""
    fc = make_field_change(machine=machine, at_revision=end)
    fc.start_order = Order.objects.get(suite__name="nts", key=str(start))
    fc.save()
    return fc


def test_changes_whose_ranges_overlap_are_one_regression_spanning_them(flat):
    a, b = change("box-1", 1001, 1003), change("box-2", 1002, 1004)
    [created] = regressions_group(flat.id, [a.id, b.id])
    regression = Regression.objects.get(id=created)
    assert set(regression.indicators.values_list("field_change_id", flat=True)) == {a.id, b.id}
    assert (regression.start_order.key, regression.end_order.key) == ("1001", "1004")
    assert regression.title == "Regression of SingleSource/mandel on 2 machines"


def test_steps_at_two_consecutive_orders_are_two_regressions(flat):
    a, b = change("box-1", 1002, 1003), change("box-2", 1003, 1004)
    assert len(regressions_group(flat.id, [a.id, b.id])) == 2


def test_a_later_change_joins_the_open_regression_it_overlaps_and_widens_it(flat):
    [first] = regressions_group(flat.id, [change("box-1", 1004, 1005).id])
    late = change("box-2", 1002, 1005)
    assert regressions_group(flat.id, [late.id]) == []
    regression = Regression.objects.get(id=first)
    assert regression.indicators.count() == 2
    assert (regression.start_position, regression.end_position) == (
        Order.objects.get(key="1002").position,
        Order.objects.get(key="1005").position,
    )


def test_a_change_overlapping_two_open_regressions_joins_the_oldest(flat):
    [older] = regressions_group(flat.id, [change("box-1", 1002, 1003).id])
    [newer] = regressions_group(flat.id, [change("box-2", 1005, 1006).id])
    wide = change("box-3", 1001, 1008)
    assert regressions_group(flat.id, [wide.id]) == []
    assert wide.indicator.regression_id == older
    assert Regression.objects.get(id=newer).indicators.count() == 1


def test_a_closed_regression_receives_no_new_changes(flat):
    [closed] = regressions_group(flat.id, [change("box-1", 1002, 1003).id])
    Regression.objects.filter(id=closed).update(state=Regression.FIXED)
    [new] = regressions_group(flat.id, [change("box-2", 1002, 1003).id])
    assert new != closed


def test_grouping_twice_creates_nothing_twice(flat):
    ids = [change("box-1", 1002, 1003).id, change("box-2", 1001, 1003).id]
    assert len(regressions_group(flat.id, ids)) == 1
    assert regressions_group(flat.id, ids) == []
    assert RegressionIndicator.objects.count() == 2


def test_grouping_queries_do_not_grow_with_the_open_regressions_elsewhere(flat):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(machine, others):
        for end in others:
            regressions_group(flat.id, [change(machine, end - 1, end).id])
        fc = change("box-3", 1000, 1001) if machine == "box-1" else change("box-3", 1009, 1010)
        with CaptureQueriesContext(connection) as ctx:
            regressions_group(flat.id, [fc.id])
        return len(ctx.captured_queries)

    assert queries("box-1", [1003]) == queries("box-2", [1003, 1005, 1007])


def test_the_overlap_index_covers_exactly_the_open_states():
    [index] = [i for i in Regression._meta.indexes if i.name == "regression_open_range_idx"]
    assert dict(index.condition.children)["state__in"] == list(Regression.OPEN_STATES)
