"""LNT's submission reply written in pieces: the same JSON as the whole, in bounded memory."""

import json
import tracemalloc

import pytest

from perf.api.lnt_shapes import RESULTS_CHUNK, submission_body_chunks, submission_test_results

BODY = {"success": True, "error": None, "run_id": 7, "warnings": ["a \"quoted\" one"]}


def rows(n: int):
    for i in range(n):
        metric = ("compile_time", "execution_time", "score", "mem_bytes", "code_size")[i % 5]
        perf = (None, "REGRESSED", "IMPROVED")[i % 3]
        yield f"SingleSource/Benchmarks/Group{i % 500:03d}/test_{i // 5:06d}.c.{metric}", (
            "UNCHANGED_PASS"
        ), perf


@pytest.mark.parametrize("n", [0, 1, RESULTS_CHUNK, RESULTS_CHUNK + 1, 3 * RESULTS_CHUNK + 7])
def test_the_streamed_reply_is_the_whole_reply(n):
    streamed = json.loads(b"".join(submission_body_chunks(BODY, rows(n))))
    whole = json.loads(json.dumps({**BODY, "test_results": submission_test_results(rows(n))}))
    assert streamed == whole
    assert list(streamed)[-1] == "test_results"


def traced_peak(build) -> tuple[int, int]:
    """(what ``build`` returns, its tracemalloc peak)."""
    tracemalloc.start()
    try:
        out = build()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


def streamed_size(n: int) -> int:
    return sum(len(chunk) for chunk in submission_body_chunks(BODY, rows(n)))


def whole_size(n: int) -> int:
    return len(json.dumps({**BODY, "test_results": submission_test_results(rows(n))}).encode())


def test_the_reply_for_a_big_run_is_written_in_memory_that_does_not_grow_with_it():
    # 10,000 and 50,000 results (a 90,000-test run has 450,000): five times the rows,
    # the same peak -- one chunk of rows and its text -- where the reply built whole
    # holds every row as a list and the whole text.
    small, small_peak = traced_peak(lambda: streamed_size(2 * RESULTS_CHUNK))
    big, big_peak = traced_peak(lambda: streamed_size(10 * RESULTS_CHUNK))
    whole, whole_peak = traced_peak(lambda: whole_size(10 * RESULTS_CHUNK))
    assert big == whole > 4.5 * small
    assert big_peak < 1.2 * small_peak, (small_peak, big_peak)
    assert big_peak < whole_peak / 4, (big_peak, whole_peak)
