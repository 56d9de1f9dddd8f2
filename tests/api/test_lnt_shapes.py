"""LNT's submission reply written in pieces: the same JSON as the whole, in bounded memory."""

import json
import tracemalloc

import numpy as np
import pytest

from perf.analysis.lnt_compare import PAIRS, ColumnVerdicts
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


@pytest.mark.parametrize("n", [0, 7, RESULTS_CHUNK + 3])
def test_verdicts_held_as_arrays_are_written_as_their_rows_would_be(n):
    # Names JSON must escape (quotes, backslashes, control and non-ASCII characters).
    tests = [f'Single/"q"\\{i}\t\u00e9\u2603.c' if i % 3 else f"t{i}" for i in range(n)]
    rng = np.random.default_rng(n)
    metrics = [
        (name, rng.permutation(n).astype(np.int64), rng.integers(0, len(PAIRS), n))
        for name in ("compile_time", "exec\u00e9")
    ]
    verdicts = ColumnVerdicts(tests, metrics)
    assert len(verdicts) == 2 * n
    fast = b"".join(submission_body_chunks(BODY, verdicts))
    assert fast == b"".join(submission_body_chunks(BODY, iter(list(verdicts))))
    assert json.loads(fast) == json.loads(
        json.dumps({**BODY, "test_results": submission_test_results(verdicts)})
    )


def verdicts_of(tests: int) -> ColumnVerdicts:
    """Five metrics' verdicts of ``tests`` tests, in test order, every pair used."""
    names = [f"SingleSource/Benchmarks/Group{i % 500:03d}/test_{i:06d}.c" for i in range(tests)]
    order = np.arange(tests, dtype=np.int64)
    return ColumnVerdicts(names, [(f"metric{m}", order, order % len(PAIRS)) for m in range(5)])


def test_verdicts_held_as_arrays_are_written_in_memory_that_grows_only_with_the_tests():
    # The arrays are the caller's (16 bytes a row).  Writing them holds one chunk's
    # rows and text at a time, whatever the row count, and each test's escaped name
    # (about 100 bytes here: 9 MB for a 90,000-test run) for the whole reply.
    small, big = verdicts_of(2 * RESULTS_CHUNK), verdicts_of(10 * RESULTS_CHUNK)
    small_size, small_peak = traced_peak(
        lambda: sum(len(c) for c in submission_body_chunks(BODY, small))
    )
    big_size, big_peak = traced_peak(lambda: sum(len(c) for c in submission_body_chunks(BODY, big)))
    assert big_size > 4.5 * small_size
    assert big_peak - small_peak < 120 * 8 * RESULTS_CHUNK, (small_peak, big_peak)
