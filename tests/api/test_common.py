"""perf.api.common.urlencoded_form: Django's QueryDict fields, decoded in pieces."""

import random
from urllib.parse import unquote_to_bytes, urlencode

import pytest
from django.http import QueryDict

from perf.api import common


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"a=1&b=2&a=3",
        b"input_data=%7B%22x%22%3A+1%7D&merge=replace",
        b"k=%e9t%C3%A9&bad=%ff%fe&lone=%&half=%4",
        b"&&=empty-name&novalue&x=a+b%2Bc",
        urlencode({"input_data": '{"n": "\u2603 \u00e9", "v": [1, 2]}', "commit": "1"}).encode(),
    ],
)
def test_it_reads_the_fields_querydict_reads(body: bytes) -> None:
    assert common.urlencoded_form(body, max_fields=None) == QueryDict(body).dict()


def test_it_never_cuts_an_escape_between_two_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "_UNQUOTE_PIECE", 5)
    rng = random.Random(7)
    alphabet = ["%", "+", "a", "%41", "%e9", "%C3%A9", " ", "\u2603", "%2", "&", "=", "\\", "\\x41"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(30)))
        body = urlencode({"input_data": text}).encode() + b"&raw=" + text.encode()
        assert common.urlencoded_form(body, max_fields=None) == QueryDict(body).dict()


def test_it_refuses_more_fields_than_the_limit() -> None:
    assert common.urlencoded_form(b"a=1&b=2&c=3", max_fields=2) == (
        "the form has 3 fields (limit 2)"
    )


def test_it_decodes_any_bytes_as_unquote_does() -> None:
    # Backslashes, escapes of every byte, stray "%" and control bytes: the C decoder
    # and its fallback give what urllib.parse does.
    rng = random.Random(11)
    raw = [bytes([b]) for b in range(256) if b not in b"&=%"]
    escapes = [f"%{b:02x}".encode() for b in range(256)] + [b"%5C", b"%E9", b"\\x41"]
    for stray in (b"", b"%", b"%g1", b"%4"):  # with and without a "%" that is no escape
        pieces = [*raw, *escapes, stray]
        for _ in range(300):
            value = b"".join(rng.choice(pieces) for _ in range(rng.randrange(40)))
            body = b"input_data=" + value
            plus = value.replace(b"+", b" ")
            expected = unquote_to_bytes(plus).decode("utf-8", errors="replace")
            assert common.urlencoded_form(body, max_fields=None) == {"input_data": expected}
