"""``python -m perf.analysis``: one series on stdin, change indices on stdout."""

from __future__ import annotations

import io
import json

import pytest

from perf.analysis.__main__ import main

STEP = [1.0, 1.01, 0.99, 1.03, 1.02, 0.98, 10.0, [10.1, 10.2], None, 9.9, 10.05, 10.03, 9.95, 10.07]


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str,
        *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args", [(), ("--bigger-is-better",)])
def test_it_prints_the_change_indices(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str],
                                      args: tuple[str, ...]) -> None:
    assert run(monkeypatch, capsys, json.dumps(STEP), *args) == (0, "[6]\n", "")


def test_it_prints_an_empty_list_for_an_empty_series(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(monkeypatch, capsys, "[]") == (0, "[]\n", "")


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ("[1, ", "error: input is not valid JSON: Expecting value (line 1)\n"),
        ('{"a": 1}', "error: input must be a JSON list of numbers, lists of numbers or null\n"),
        ('[1, "x"]', 'error: item 1 must be a number, a list of numbers or null, not "x"\n'),
        ("[1, [2, null]]", "error: item 1 must be a number, a list of numbers or null, "
                           "not [2, null]\n"),
        ("[true]", "error: item 0 must be a number, a list of numbers or null, not true\n"),
    ],
)
def test_it_refuses_bad_input_with_exit_code_2(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str],
                                               stdin: str, message: str) -> None:
    assert run(monkeypatch, capsys, stdin) == (2, "", message)
