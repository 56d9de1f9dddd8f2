"""Every malformed report of tests/data/bad/ is refused with the message its manifest expects.

The manifest, ``expected.json``, maps each file name to ``message_contains`` (a
substring of the FormatError message) and optionally ``suite`` (the suite of
the submission URL).  The HTTP tests reuse it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perf.formats import BUILTIN_SUITES, FormatError, parse_report

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
MANIFEST: dict[str, dict[str, str]] = json.loads((BAD / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_each_bad_report_is_refused_with_its_expected_message(name: str) -> None:
    expected = MANIFEST[name]
    with pytest.raises(FormatError) as caught:
        parse_report((BAD / name).read_bytes(), BUILTIN_SUITES, suite=expected.get("suite"))
    assert expected["message_contains"] in caught.value.message


def test_every_file_in_the_bad_folder_is_in_the_manifest() -> None:
    files = {path.name for path in BAD.iterdir() if path.name != "expected.json"}
    assert files == set(MANIFEST)


def test_the_manifest_entries_have_only_the_documented_keys() -> None:
    for name, entry in MANIFEST.items():
        assert set(entry) <= {"message_contains", "suite"}, name
        assert entry["message_contains"], name


def test_the_bad_corpus_is_big_enough_and_small_on_disk() -> None:
    assert len(MANIFEST) >= 34
    assert all(path.stat().st_size < 200_000 for path in BAD.iterdir())
