"""The reads behind LNT's shapes: fixed query counts, whatever the size of the runs."""

import json

import pytest

from perf.analysis.lnt_compare import iter_test_sides
from perf.formats.samples import unpack_samples
from perf.models import Point, Run, Series, TestSuite
from perf.selectors import lnt
from tests.factories import report_doc, submit_doc, varied_tests

pytestmark = pytest.mark.django_db


def submit_runs(tests: int, revisions=(100, 101)) -> list[int]:
    ids = []
    for i, revision in enumerate(revisions):
        doc = report_doc(
            revision=revision,
            tests={
                f"t{t}": {"execution_time": [1.0 + i, 1.1 + i, 1.2 + i], "compile_time": 0.5}
                for t in range(tests)
            },
        )
        ids.append(submit_doc(doc).run_id)
    return ids


@pytest.mark.parametrize("tests", [1, 20])
def test_sample_rows_take_two_queries_and_give_one_row_per_repetition(
    tests, django_assert_num_queries
):
    ids = submit_runs(tests)
    nts = TestSuite.objects.get(name="nts")
    with django_assert_num_queries(2):
        rows = lnt.sample_rows(nts, ids, 0, 1000)
    assert len(rows) == 2 * tests * 3  # two runs x tests x three repetitions
    first = [r for r in rows if r["name"] == "t0" and r["run_id"] == ids[0]]
    assert [r["execution_time"] for r in first] == [1.0, 1.1, 1.2]
    assert [r.get("compile_time") for r in first] == [0.5, None, None]
    assert len({r["id"] for r in rows}) == len(rows)


def test_sample_rows_page_by_run_and_test():
    ids = submit_runs(3)
    nts = TestSuite.objects.get(name="nts")
    page = lnt.sample_rows(nts, ids, 1, 2)
    assert {(r["run_id"], r["name"]) for r in page} == {(ids[0], "t1"), (ids[0], "t2")}


def test_a_sample_is_found_by_its_id_in_two_queries(django_assert_num_queries):
    ids = submit_runs(2)
    nts = TestSuite.objects.get(name="nts")
    rows = lnt.sample_rows(nts, ids, 0, 1000)
    with django_assert_num_queries(2):
        assert lnt.sample_row(nts, rows[4]["id"])["execution_time"] == rows[4]["execution_time"]
    other = TestSuite.objects.get(name="compile")
    assert lnt.sample_row(other, rows[4]["id"]) is None


@pytest.mark.parametrize("runs", [2, 6])
def test_graph_samples_take_one_query_and_keep_the_newest(runs, django_assert_num_queries):
    submit_runs(1, revisions=range(100, 100 + runs))
    series = Series.objects.get(metric__name="execution_time")
    with django_assert_num_queries(1):  # the samples are in the point rows
        points = lnt.graph_samples(series.id, limit=4)
    assert len(points) == 4
    newest = Run.objects.order_by("-position").first()
    assert [p[3] for p in points][-3:] == [newest.id] * 3  # oldest first, newest last


@pytest.mark.parametrize("tests", [1, 30])
def test_submission_results_take_at_most_five_queries(tests, django_assert_max_num_queries):
    ids = submit_runs(tests)
    with django_assert_max_num_queries(5):
        rows = lnt.submission_results(ids[1])
    # 5 Real nts metrics x tests; execution_time moved 1.0 -> 2.0 on every test.
    assert len(rows) == 5 * tests
    assert ("t0.execution_time", "UNCHANGED_PASS", "REGRESSED") in rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_submission_results_from_the_stored_report_are_those_read_from_the_run(
    seed, django_assert_num_queries
):
    first = submit_doc(report_doc(revision=100, tests=varied_tests(seed)))
    second = submit_doc(report_doc(revision=101, tests=varied_tests(seed + 100)))
    for queries, result in ((3, first), (4, second)):
        read_back = lnt.submission_results(result.run_id)
        # The run, its predecessor, the metrics, and the previous run's points if any.
        with django_assert_num_queries(queries):
            from_report = lnt.submission_results(result.run_id, result.report)
        assert from_report == read_back
        # The verdicts over columns are the row-by-row ones (round 2's path).
        assert from_report == list(iter_test_sides(*lnt.run_over_run_inputs(result.run_id)))
    verdicts = {perf for _, _, perf in read_back} | {status for _, status, _ in read_back}
    assert {"REGRESSED", "IMPROVED", "UNCHANGED_FAIL", None} <= verdicts


def test_a_previous_point_not_packed_as_real_samples_is_read_row_by_row():
    # The aggregated read takes Real points' packed doubles; a point of several samples
    # packed otherwise (JSON) sends the previous run to the row-by-row read.
    first = submit_doc(report_doc(revision=100, tests=varied_tests(4)))
    second = submit_doc(report_doc(revision=101, tests=varied_tests(104)))
    point = Point.objects.filter(run_id=first.run_id, count__gt=1).first()
    values = unpack_samples(point.samples)
    Point.objects.filter(id=point.id).update(samples=b"j" + json.dumps(values).encode())
    assert lnt.submission_results(second.run_id, second.report) == lnt.submission_results(
        second.run_id
    )
