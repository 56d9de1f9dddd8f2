"""Detection after submission: the right changes, once, grouped into regressions."""

import json
import random
from pathlib import Path

import numpy as np
import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from perf.analysis import find_change_points, levels_of, means_of
from perf.models import FieldChange, Point, Regression, RegressionIndicator, Run
from perf.services import detection
from perf.services.detection import run_detect
from perf.tasks import detect_run_task, enqueue_detection
from tests.factories import CORPUS, report_doc, submit_doc

pytestmark = pytest.mark.django_db

TEST = "SingleSource/mandel"


def submit_and_detect(doc, **options):
    """Submit, then run the detection task's body here (detection, then the
    notifications it hands back, published in-process as with no broker)."""
    result = submit_doc(doc, **options)
    detect_run_task(result.run_id)
    return result


def noisy(level: float, rng: random.Random, n: int = 3, noise: float = 0.01) -> list[float]:
    return [round(level * rng.gauss(1.0, noise), 6) for _ in range(n)]


def history(levels, *, machine="box-1", tests=None, seed=1, first=1000):
    """Submit one run per level (3 samples, 1 % noise) and detect after each."""
    rng = random.Random(seed)
    results = []
    for i, level in enumerate(levels):
        names = tests or [TEST]
        doc = report_doc(
            machine=machine,
            revision=first + i,
            tests={name: {"execution_time": noisy(level, rng)} for name in names},
        )
        results.append(submit_and_detect(doc))
    return results


def live_changes():
    return list(FieldChange.objects.filter(withdrawn=False).order_by("end_position"))


def test_an_injected_10_percent_regression_produces_exactly_that_regression():
    runs = history([1.0] * 20 + [1.1] * 5)
    [change] = live_changes()
    assert change.end_order_id == Run.objects.get(id=runs[20].run_id).order_id
    assert change.start_order_id == Run.objects.get(id=runs[19].run_id).order_id
    assert change.is_regression
    assert change.relative_change == pytest.approx(0.10, abs=0.02)
    assert change.test.name == TEST and change.metric.name == "execution_time"
    [regression] = Regression.objects.all()
    assert regression.state == Regression.DETECTED
    assert list(regression.indicators.values_list("field_change_id", flat=True)) == [change.id]


def test_the_first_run_after_a_clear_step_shows_it_as_a_suspect_not_yet_notified(settings):
    settings.PERF_NOTIFY_EMAILS = ["perf-team@example.com"]
    history([1.0] * 20 + [1.1])
    [suspect] = live_changes()
    assert not suspect.confirmed
    assert Regression.objects.count() == 1
    assert mail.outbox == []  # suspects wait for the next run


def test_the_second_run_after_the_step_confirms_it_and_notifies(settings):
    settings.PERF_NOTIFY_EMAILS = ["perf-team@example.com"]
    history([1.0] * 20 + [1.1])
    history([1.1], first=1021, seed=2)
    [change] = live_changes()
    assert change.confirmed
    assert len(mail.outbox) == 1


def test_a_suspect_that_the_next_runs_do_not_confirm_disappears(settings):
    settings.PERF_NOTIFY_EMAILS = ["perf-team@example.com"]
    history([1.0] * 20 + [1.3] + [1.0] * 3)
    assert live_changes() == []
    assert Regression.objects.count() == 0
    assert mail.outbox == []


def test_a_clean_history_raises_nothing():
    history([1.0] * 60)
    assert FieldChange.objects.count() == 0
    assert Regression.objects.count() == 0


def test_a_single_outlier_raises_no_alarm():
    history([1.0] * 20 + [1.5] + [1.0] * 10)
    assert live_changes() == []
    assert Regression.objects.count() == 0


def test_an_improvement_is_a_change_but_not_a_regression():
    history([1.0] * 20 + [0.8] * 5)
    [change] = live_changes()
    assert not change.is_regression
    assert Regression.objects.count() == 0


def test_running_detection_twice_creates_nothing_twice():
    runs = history([1.0] * 20 + [1.1] * 5)
    before = (FieldChange.objects.count(), Regression.objects.count())
    for result in runs:
        run_detect(result.run_id)
    assert (FieldChange.objects.count(), Regression.objects.count()) == before
    assert RegressionIndicator.objects.count() == 1


def test_changes_on_several_tests_at_one_order_are_one_regression():
    names = [f"t{i}" for i in range(5)]
    history([1.0] * 20 + [1.2] * 4, tests=names)
    assert FieldChange.objects.filter(withdrawn=False).count() == 5
    [regression] = Regression.objects.all()
    assert regression.indicators.count() == 5
    assert regression.title == "Regression of 5 tests on box-1"


def test_a_test_that_disappears_is_not_fixed():
    history([1.0] * 20 + [1.1] * 5)
    for i in range(12):  # later runs without the test at all
        doc = report_doc(revision=2000 + i, tests={"other": {"execution_time": 1.0}})
        submit_and_detect(doc)
    [regression] = Regression.objects.all()
    assert regression.state == Regression.DETECTED
    assert len(live_changes()) == 1


def test_a_series_back_at_its_old_level_moves_the_regression_to_verify():
    history([1.0] * 20 + [1.1] * 12 + [1.0] * 6)
    [regression] = Regression.objects.all()
    assert regression.state == Regression.VERIFY
    assert regression.events.filter(action="state").exists()


def test_a_failing_run_is_skipped_not_a_change():
    history([1.0] * 20)
    for i in range(3):
        doc = report_doc(
            revision=1020 + i,
            tests={TEST: {"execution_time": [9.0, 9.0, 9.0], "execution_status": 1}},
        )
        submit_and_detect(doc)
    history([1.0] * 5, first=1023, seed=3)
    assert live_changes() == []


def test_a_change_with_an_unchanged_binary_hash_is_ignored():
    rng = random.Random(4)
    for i, level in enumerate([1.0] * 20 + [1.2] * 5):
        doc = report_doc(
            revision=1000 + i, tests={TEST: {"execution_time": noisy(level, rng), "hash": "same"}}
        )
        submit_and_detect(doc)
    assert live_changes() == []


def test_the_detection_task_runs_when_the_submission_commits(django_capture_on_commit_callbacks):
    rng = random.Random(5)
    for i, level in enumerate([1.0] * 20 + [1.1] * 3):
        doc = report_doc(revision=1000 + i, tests={TEST: {"execution_time": noisy(level, rng)}})
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            submit_doc(doc, enqueue=enqueue_detection)
        assert len(callbacks) == 1
    assert set(Run.objects.values_list("detection_state", flat=True)) == {Run.DONE}
    assert len(live_changes()) == 1


def test_stored_verdicts_equal_the_offline_function_on_the_same_history():
    """The incremental check after each run agrees with the offline detector."""
    rng = random.Random(7)
    levels, level = [], 1.0
    for _ in range(90):
        if rng.random() < 0.05:
            level *= rng.choice([0.8, 0.9, 1.1, 1.25])
        levels.append(level)
    series = []
    for i, lv in enumerate(levels):
        samples = noisy(lv, rng, noise=0.02)
        if rng.random() < 0.05:
            doc = report_doc(revision=1000 + i, tests={"other": {"execution_time": 1.0}})
            series.append(None)
        else:
            doc = report_doc(revision=1000 + i, tests={TEST: {"execution_time": samples}})
            series.append(samples)
        submit_and_detect(doc)
    offline = find_change_points(series)
    positions = sorted(Run.objects.values_list("order__position", flat=True).distinct())
    stored = [
        positions.index(fc.end_position)
        for fc in FieldChange.objects.filter(withdrawn=False, test__name=TEST)
    ]
    assert sorted(stored) == [cp.index for cp in offline]
    assert len(offline) >= 1  # the generated history has real steps


def test_a_run_submitted_late_into_the_middle_of_history_is_evaluated_there():
    history([1.0] * 20 + [1.2] * 10)  # revisions 1000..1029, change at 1020
    changes_before = [(c.end_position, c.withdrawn) for c in FieldChange.objects.all()]
    rng = random.Random(9)
    doc = report_doc(revision="1010.5", tests={TEST: {"execution_time": noisy(1.0, rng)}})
    submit_and_detect(doc)
    assert len(live_changes()) == 1
    assert len(changes_before) == 1


def test_detection_queries_do_not_grow_with_the_number_of_tests():
    def queries(names, machine):
        history([1.0] * 3, tests=names, machine=machine, first=1000)
        last = submit_doc(
            report_doc(
                machine=machine,
                revision=1003,
                tests={n: {"execution_time": [1.0, 1.0, 1.0]} for n in names},
            )
        )
        with CaptureQueriesContext(connection) as ctx:
            run_detect(last.run_id)
        return len(ctx.captured_queries)

    assert queries([f"a{i}" for i in range(5)], "small") == queries(
        [f"b{i}" for i in range(400)], "big"
    )


def test_detection_queries_do_not_grow_with_the_history():
    def queries(length, machine):
        results = history([1.0] * length, machine=machine)
        with CaptureQueriesContext(connection) as ctx:
            run_detect(results[-1].run_id)
        return len(ctx.captured_queries)

    assert queries(60, "short") == queries(150, "long")


def test_new_regressions_are_emailed_and_posted_to_the_webhook(settings):
    import http.server
    import threading

    received = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the stdlib's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    settings.PERF_NOTIFY_EMAILS = ["perf-team@example.com"]
    settings.PERF_NOTIFY_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    history([1.0] * 20 + [1.1] * 3)
    thread.join(timeout=10)
    server.server_close()
    [message] = mail.outbox
    assert message.to == ["perf-team@example.com"]
    assert "Regression of SingleSource/mandel on box-1" in message.subject
    [body] = received
    assert body["event"] == "regression.created"
    assert body["regression"]["changes"][0]["test"] == TEST
    assert Regression.objects.get().notified


def test_the_pending_sweep_detects_runs_whose_message_was_lost():
    from io import StringIO

    from django.core.management import call_command

    results = [submit_doc(report_doc(revision=1000 + i)) for i in range(3)]
    assert set(Run.objects.values_list("detection_state", flat=True)) == {Run.PENDING}
    call_command("detect_changes", "--pending", stdout=StringIO())
    assert set(Run.objects.values_list("detection_state", flat=True)) == {Run.DONE}
    assert len(results) == 3


def test_detect_changes_over_a_machine_finds_what_the_incremental_path_found():
    from io import StringIO

    from django.core.management import call_command

    history([1.0] * 20 + [1.15] * 6)
    found = [(c.series_id, c.end_position) for c in live_changes()]
    FieldChange.objects.all().delete()
    Regression.objects.all().delete()
    out = StringIO()
    call_command("detect_changes", "--machine", "box-1", stdout=out, stderr=StringIO())
    assert [(c.series_id, c.end_position) for c in live_changes()] == found
    assert "1 new changes" in out.getvalue()
    call_command("detect_changes", stdout=out, stderr=StringIO())  # idempotent
    assert [(c.series_id, c.end_position) for c in live_changes()] == found


def corpus_report(name: str) -> dict:
    return json.loads(Path(CORPUS, "utils/extra-reports", name).read_text())


def test_lnts_tenfold_step_on_a_two_run_history_is_a_suspect_then_confirmed(settings):
    # LNT's corpus: machine2/test1 execution_time 1.0 (order 152292) -> 10.0 (152293), one
    # sample per run, no history before: the short-history rule, through the service.
    settings.PERF_NOTIFY_EMAILS = ["perf-team@example.com"]
    for name in ("nts-machine2-run1.json", "nts-regression-run1.json",
                 "nts-regression-run2.json"):
        submit_and_detect(corpus_report(name))
    [suspect] = live_changes()
    assert (suspect.test.name, suspect.metric.name) == ("test1", "execution_time")
    assert (suspect.old_value, suspect.new_value) == (1.0, 10.0)
    assert suspect.end_order.key == "152293"
    assert not suspect.confirmed and mail.outbox == []
    again = corpus_report("nts-regression-run2.json")
    again["run"]["llvm_project_revision"] = "152294"
    submit_and_detect(again)
    [change] = live_changes()
    assert change.confirmed and change.is_regression
    assert (change.start_order.key,
            change.end_order.key) == ("152292", "152293")
    assert change.relative_change == pytest.approx(9.0)
    assert len(mail.outbox) == 1


def test_the_screen_reads_each_runs_mean_exactly_as_the_analysis_computes_it(monkeypatch):
    # The screen rules series out on the stored means (Point.mean): a mean that differs
    # from the analysis' own, even in the last bit, voids its guarantee.
    seen = []
    screen = detection.screen_levels

    def spy(levels, **options):
        seen.append((np.array(levels), np.array(options["means"])))
        return screen(levels, **options)

    monkeypatch.setattr(detection, "screen_levels", spy)
    rng = random.Random(3)
    series = [noisy(1.0, rng, noise=0.05) for _ in range(6)]
    for i, samples in enumerate(series):
        submit_and_detect(report_doc(revision=1000 + i, tests={TEST: {"execution_time": samples}}))
    levels, means = seen[-1]
    assert means[0].tolist() == means_of(series).tolist()
    assert levels[0].tolist() == levels_of(series).tolist()
    assert means[0].tolist() != levels[0].tolist()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the binary COPY is PostgreSQL's")
def test_the_levels_read_by_binary_copy_are_the_rows_a_plain_select_reads():
    rng = random.Random(5)
    history([1.0] * 4, tests=["a", "b"])
    # A failed run (value kept, failed set) and a point with one sample.
    submit_doc(report_doc(revision=1004, tests={
        "a": {"execution_time": noisy(1.0, rng), "execution_status": 1},
        "b": {"execution_time": [1.0]},
    }))
    series = sorted(set(Point.objects.values_list("series_id", flat=True)))
    positions = sorted(set(Point.objects.values_list("position", flat=True)))
    window = detection.Window(positions=positions, order_ids=[], offset=0, total=len(positions))
    columns = detection._level_columns(series, window)
    rows = list(
        Point.objects.filter(series_id__in=series).values_list(
            "series_id", "position", "value", "count", "failed", "mean", "valid_count"
        )
    )
    got = sorted(zip(*(c.tolist() for c in columns), strict=True))
    nan_as_none = [
        tuple(None if isinstance(v, float) and np.isnan(v) else v for v in row) for row in got
    ]
    assert [(s, p, v, c, bool(f), m, k) for s, p, v, c, f, m, k in nan_as_none] == sorted(rows)
    assert any(row[4] for row in rows) and any(row[3] == 1 for row in rows)
