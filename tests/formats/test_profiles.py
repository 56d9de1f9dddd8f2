"""LNT profiles: v1 read without unpickling, v2 sections, and bad files refused clearly."""

from __future__ import annotations

import bz2
import io
import pickle
import random
import zlib
from pathlib import Path

import pytest

from perf.formats.profiles import (
    ProfileError,
    ProfileLimits,
    parse_profile,
    write_profile_v2,
)

CORPUS = Path("/work/shared/lnt-corpus/lnt-instance/data/profiles/t-foo-s-3s7hx3hl.lntprof")


@pytest.fixture
def corpus_bytes() -> bytes:
    return CORPUS.read_bytes()


def uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def test_the_corpus_v1_profile_is_read_without_unpickling(corpus_bytes):
    profile = parse_profile(corpus_bytes)
    assert profile.version == 1 and profile.disassembly_format == "raw"
    assert profile.counters == {"cycles": 12345.0, "branch-misses": 200.0}
    assert profile.functions["fn1"].counters == {"cycles": 45.0, "branch-misses": 10.0}
    assert [(i.address, i.text, i.counters) for i in profile.code("fn1")] == [
        (1048576, "add r0, r0, r0", {}),
        (1048580, "sub r1, r0, r0", {"cycles": 100.0}),
    ]
    assert profile.code("no such function") == []


def test_a_v2_profile_reads_back_what_was_written(corpus_bytes):
    v1 = parse_profile(corpus_bytes)
    data = write_profile_v2(v1)
    assert data[0] == 2
    v2 = parse_profile(data)
    assert v2.version == 2
    assert v2.counters == v1.counters and v2.functions == v1.functions
    assert v2.code("fn1") == v1.code("fn1")


def many_functions_profile() -> bytes:
    functions = {
        f"f{i}": {
            "counters": {"cycles": float(i)},
            "data": [[{"cycles": float(j)}, 0x1000 + 4 * j, f"insn {j % 3}"] for j in range(5)],
        }
        for i in range(4)
    }
    doc = {"disassembly-format": "raw", "counters": {"cycles": 100.0}, "functions": functions}
    return zlib.compress(pickle.dumps(doc, protocol=2))


def test_functions_come_hottest_first_and_addresses_and_texts_survive_v2():
    v1 = parse_profile(many_functions_profile())
    assert [f.name for f in v1.hottest()] == ["f3", "f2", "f1", "f0"]
    v2 = parse_profile(write_profile_v2(v1))
    assert [f.name for f in v2.hottest("cycles")] == ["f3", "f2", "f1", "f0"]
    assert [i.address for i in v2.code("f2")] == [0x1000, 0x1004, 0x1008, 0x100C, 0x1010]
    assert [i.text for i in v2.code("f2")][:4] == ["insn 0", "insn 1", "insn 2", "insn 0"]


class Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize(
    "payload", [Boom(), {"functions": {}, "when": __import__("datetime").date(2020, 1, 1)}]
)
def test_a_v1_pickle_that_would_build_objects_is_refused(payload, capsys):
    data = zlib.compress(pickle.dumps(payload, protocol=2))
    with pytest.raises(ProfileError, match="could run code; only plain data is read"):
        parse_profile(data)
    assert "must never run" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x07abc", "unknown version byte 0x07"),
        (b"x\x9c\x01\x02", "not valid zlib data|truncated"),
        (zlib.compress(pickle.dumps([1, 2], protocol=2)), "not a dictionary"),
        (zlib.compress(pickle.dumps({"functions": {"f": {"data": [[{}, "x", "t"]]}}})), "address"),
        (zlib.compress(pickle.dumps({"counters": {"c": float("nan")}})), "non-finite"),
        (zlib.compress(b"(dp0\n"), "exhausted before seeing STOP"),
    ],
)
def test_bad_v1_profiles_give_clear_errors(data, message):
    with pytest.raises(ProfileError, match=message):
        parse_profile(data)


def test_a_v1_profile_that_expands_beyond_the_limit_stops_there():
    bomb = zlib.compress(b"(" * 10_000_000, 9)
    with pytest.raises(ProfileError, match="expands beyond 1000000 bytes"):
        parse_profile(bomb, limits=ProfileLimits(max_expanded=1_000_000))


def test_a_profile_larger_than_the_limit_is_refused_before_reading():
    with pytest.raises(ProfileError, match="the limit is 10"):
        parse_profile(b"\x02" + b"\x00" * 20, limits=ProfileLimits(max_bytes=10))


def v2_with_functions_section(functions: bytes, *, counter_names: int = 1) -> bytes:
    """A v2 file whose other sections are empty but valid, with ``functions`` raw."""
    names = uleb(counter_names) + b"cycles\n" * min(counter_names, 1)
    blobs = [b"raw\n", names, uleb(0), bz2.compress(b""), bz2.compress(b""), bz2.compress(b"")]
    blobs += [bz2.compress(b"\n"), functions]
    out = io.BytesIO()
    out.write(uleb(2))
    offset = 0
    for i, blob in enumerate(blobs):
        out.write(uleb(offset) + uleb(len(blob)) + (b"\n" if i == 6 else b""))
        offset += len(blob)
    out.write(b"".join(blobs))
    return out.getvalue()


@pytest.mark.parametrize(
    ("functions", "counter_names", "message"),
    [
        (uleb(10**9), 1, "more than 200000 functions"),
        (uleb(1) + b"f\n" + uleb(10**12), 1, "more than 1000000 instructions"),
        (uleb(1) + b"f\n" + uleb(1) + uleb(0) * 3 + uleb(10**6), 1, "more than 64 counters"),
        (uleb(1) + b"f\n" + uleb(1) + uleb(0) * 3 + uleb(1) + uleb(5) + uleb(0), 1, "unknown"),
        (uleb(3) + b"f\n", 1, "functions is truncated"),
        (b"", 10**6, "more than 64 counter names"),
        (b"\xff" * 20, 1, "number too large"),
    ],
)
def test_v2_profiles_with_huge_or_bad_counts_give_clear_errors(functions, counter_names, message):
    with pytest.raises(ProfileError, match=message):
        parse_profile(v2_with_functions_section(functions, counter_names=counter_names))


def test_a_v2_function_longer_than_its_line_data_is_refused_when_its_code_is_read():
    # One function of 3 instructions, whose line sections are empty.
    data = v2_with_functions_section(uleb(1) + b"f\n" + uleb(3) + uleb(0) * 3 + uleb(0))
    profile = parse_profile(data)
    assert profile.functions["f"].length == 3
    with pytest.raises(ProfileError, match="truncated"):
        profile.code("f")


def test_every_truncation_of_a_v2_profile_is_a_clear_error(corpus_bytes):
    data = write_profile_v2(parse_profile(corpus_bytes))
    for cut in range(len(data)):
        with pytest.raises(ProfileError):
            profile = parse_profile(data[:cut])
            for name in profile.functions:
                profile.code(name)


def test_random_damage_never_escapes_as_anything_but_a_profile_error(corpus_bytes):
    rng = random.Random(7)
    samples = [corpus_bytes, write_profile_v2(parse_profile(many_functions_profile()))]
    for _ in range(3000):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            profile = parse_profile(bytes(data))
            for name in list(profile.functions)[:5]:
                profile.code(name)
        except ProfileError:
            pass
