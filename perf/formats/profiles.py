"""LNT's profile files (``.lntprof``): bytes -> a typed ``Profile``.  Pure, bounded.

Two versions exist (LNT's ``docs/profiles.rst``):

* **v1**: a zlib-compressed Python pickle of a plain dict
  (``disassembly-format``, ``counters``, ``functions`` -> {``counters``, ``data``:
  [[counters, address, text], ...]}).  A pickle can run code when loaded, so it is
  **never unpickled** here: ``pickletools.genops`` only decodes the opcodes, and a
  small stack machine builds the value from a safe subset (dicts, lists, tuples,
  strings, numbers, None, booleans).  Any other opcode (globals, object
  construction, persistent ids...) is refused with ``ProfileError``.
* **v2**: a binary file starting with the version number 2 (ULEB128), then eight
  section headers (offset and size, ULEB128; the text pool's also has a pool file
  name, a line) and the sections: header (disassembly format), counter-name pool,
  top-level counters, line counters, line addresses, line text (these three bz2),
  text pool (bz2), functions.  Line counters are float32 bit patterns written as
  ULEB128 numbers, one per counter of the function (counter names sorted) per
  instruction; addresses are deltas from the previous one; line text entries are
  offsets into the text pool.

Every size is bounded by ``ProfileLimits``: compressed input, each decompression
(checked while decompressing, so a "zip bomb" stops at the limit), the number of
functions, instructions and counters.  Every malformed input raises ``ProfileError``
with a message saying what is wrong; nothing else escapes.
"""

from __future__ import annotations

import bz2
import io
import math
import pickletools
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ProfileError(ValueError):
    """A profile that cannot be read; the message says why (shown to people)."""


@dataclass(frozen=True)
class ProfileLimits:
    """Upper bounds on one profile; exceeding one is a ProfileError naming it.

    ``max_bytes``: the file as stored; ``max_expanded``: any one decompressed part;
    ``max_functions``; ``max_instructions``: in one function (v1: over all, as a v1
    file holds them all in memory anyway); ``max_counters``:
    distinct counter names; ``max_pickle_ops``: opcodes of a v1 pickle.
    """

    max_bytes: int = 64 * 1024 * 1024
    max_expanded: int = 256 * 1024 * 1024
    max_functions: int = 200_000
    max_instructions: int = 1_000_000
    max_counters: int = 64
    max_pickle_ops: int = 50_000_000


DEFAULT_PROFILE_LIMITS = ProfileLimits()


@dataclass(frozen=True)
class Instruction:
    """One line of disassembly: its address, its counters (name -> value; a counter
    the profiler did not see on it is absent) and its text."""

    address: int
    text: str
    counters: dict[str, float]


@dataclass(frozen=True)
class Function:
    """A function's own counters (LNT: the share of each counter spent in it, in
    percent) and its number of instructions."""

    name: str
    counters: dict[str, float]
    length: int


@dataclass(frozen=True)
class Profile:
    """``counters``: the top-level (whole program) counters; ``functions`` by name.
    A function's disassembly is decoded only when asked for (``code``), so reading
    the index of a large v2 profile costs little."""

    version: int
    disassembly_format: str
    counters: dict[str, float]
    functions: dict[str, Function]
    _code: Callable[[str], list[Instruction]] = field(repr=False, compare=False)

    def code(self, name: str) -> list[Instruction]:
        """The disassembly of function ``name`` in recorded order ([] if unknown)."""
        return self._code(name) if name in self.functions else []

    def hottest(self, counter: str | None = None) -> list[Function]:
        """Functions by ``counter`` (default: the first top-level counter by name),
        largest first, then by name; a function without the counter counts as 0."""
        key = counter or (sorted(self.counters)[0] if self.counters else "")
        return sorted(self.functions.values(), key=lambda f: (-f.counters.get(key, 0.0), f.name))


def parse_profile(data: bytes, *, limits: ProfileLimits = DEFAULT_PROFILE_LIMITS) -> Profile:
    """Read a ``.lntprof`` file's bytes (v1 or v2)."""
    if not data:
        raise ProfileError("The profile is empty.")
    if len(data) > limits.max_bytes:
        raise ProfileError(f"The profile is {len(data)} bytes; the limit is {limits.max_bytes}.")
    if data[0] == 2:
        return _parse_v2(data, limits)
    if data[0] == 0x78:  # zlib's first byte: a v1 profile
        return _parse_v1(data, limits)
    raise ProfileError(f"Not an LNT profile: unknown version byte 0x{data[0]:02x}.")


# --- v1: zlib + pickle, read without unpickling -------------------------------------


def _inflate(data: bytes, limits: ProfileLimits) -> bytes:
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limits.max_expanded)
    except zlib.error as exc:
        raise ProfileError(f"The v1 profile is not valid zlib data ({exc}).") from None
    if d.unconsumed_tail:
        raise ProfileError(f"The v1 profile expands beyond {limits.max_expanded} bytes.")
    if not d.eof:
        raise ProfileError("The v1 profile is truncated (its zlib stream does not end).")
    return out


_MARK = object()
_SCALARS = {
    "INT",
    "BININT",
    "BININT1",
    "BININT2",
    "LONG",
    "LONG1",
    "LONG4",
    "FLOAT",
    "BINFLOAT",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
    "BINBYTES",
    "SHORT_BINBYTES",
    "BINBYTES8",
}
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


def _safe_unpickle(raw: bytes, limits: ProfileLimits) -> Any:
    """The value of a pickle made only of plain containers and scalars."""
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    ops = 0
    try:
        for op, arg, _pos in pickletools.genops(raw):
            ops += 1
            index = arg if isinstance(arg, int) else -1  # memo index of PUT/GET
            if ops > limits.max_pickle_ops:
                raise ProfileError("The v1 profile has too many pickle operations.")
            name = op.name
            if name in _SCALARS:
                value = arg
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                if name == "INT" and isinstance(value, bool):  # protocol 0 writes I01/I00
                    value = bool(value)
                stack.append(value)
            elif name in _CONSTANTS:
                stack.append(_CONSTANTS[name])
            elif name == "MARK":
                stack.append(_MARK)
            elif name in ("EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE"):
                stack.append({"EMPTY_DICT": {}, "EMPTY_LIST": [], "EMPTY_TUPLE": ()}[name])
            elif name in ("DICT", "LIST", "TUPLE", "SETITEMS", "APPENDS"):
                items = _pop_mark(stack)
                if name == "DICT":
                    stack.append(_pairs({}, items))
                elif name == "LIST":
                    stack.append(items)
                elif name == "TUPLE":
                    stack.append(tuple(items))
                elif name == "SETITEMS":
                    _pairs(_top(stack, dict), items)
                else:
                    _top(stack, list).extend(items)
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                if len(stack) < n:
                    raise ProfileError("The v1 profile's pickle is malformed (stack underflow).")
                items = stack[-n:]
                del stack[-n:]
                stack.append(tuple(items))
            elif name == "SETITEM":
                if len(stack) < 3:
                    raise ProfileError("The v1 profile's pickle is malformed (stack underflow).")
                value, key = stack.pop(), stack.pop()
                _pairs(_top(stack, dict), [key, value])
            elif name == "APPEND":
                if len(stack) < 2:
                    raise ProfileError("The v1 profile's pickle is malformed (stack underflow).")
                value = stack.pop()
                _top(stack, list).append(value)
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[index] = _top(stack, object)
            elif name == "MEMOIZE":
                memo[len(memo)] = _top(stack, object)
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                if index not in memo:
                    raise ProfileError("The v1 profile's pickle is malformed (unknown memo).")
                stack.append(memo[index])
            elif name == "POP":
                _top(stack, object)
                stack.pop()
            elif name in ("PROTO", "FRAME"):
                pass
            elif name == "STOP":
                if len(stack) != 1:
                    raise ProfileError("The v1 profile's pickle is malformed (stack at stop).")
                return stack[0]
            else:
                raise ProfileError(
                    f"The v1 profile's pickle uses {name}, which could run code; "
                    "only plain data is read.  Convert it with `lnt profile upgrade`."
                )
    except ProfileError:
        raise
    except Exception as exc:  # pickletools' own errors: truncated or unknown opcodes
        raise ProfileError(f"The v1 profile's pickle is malformed ({exc}).") from None
    raise ProfileError("The v1 profile's pickle is truncated (no STOP).")


def _pop_mark(stack: list[Any]) -> list[Any]:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is _MARK:
            items = stack[i + 1 :]
            del stack[i:]
            return items
    raise ProfileError("The v1 profile's pickle is malformed (no mark).")


def _top(stack: list[Any], kind: type) -> Any:
    if not stack or not isinstance(stack[-1], kind) or stack[-1] is _MARK:
        raise ProfileError("The v1 profile's pickle is malformed (unexpected value).")
    return stack[-1]


def _pairs(target: dict[Any, Any], items: list[Any]) -> dict[Any, Any]:
    if len(items) % 2:
        raise ProfileError("The v1 profile's pickle is malformed (odd dict items).")
    for k, v in zip(items[::2], items[1::2], strict=True):
        if not isinstance(k, str | int | float | bool | tuple) or k is None:
            raise ProfileError("The v1 profile's pickle is malformed (bad dict key).")
        target[k] = v
    return target


def _parse_v1(data: bytes, limits: ProfileLimits) -> Profile:
    value = _safe_unpickle(_inflate(data, limits), limits)
    if not isinstance(value, dict):
        raise ProfileError("The v1 profile is not a dictionary.")
    counters = _counter_map(value.get("counters", {}), "top-level counters")
    raw_functions = value.get("functions", {})
    if not isinstance(raw_functions, dict):
        raise ProfileError("The v1 profile's functions are not a dictionary.")
    if len(raw_functions) > limits.max_functions:
        raise ProfileError(f"The profile has more than {limits.max_functions} functions.")
    functions: dict[str, Function] = {}
    code: dict[str, list[Instruction]] = {}
    total = 0
    for name, f in raw_functions.items():
        if not isinstance(name, str) or not isinstance(f, dict):
            raise ProfileError("The v1 profile's functions are malformed.")
        lines = f.get("data", [])
        if not isinstance(lines, list):
            raise ProfileError(f"Function {name!r}: its data is not a list.")
        total += len(lines)
        if total > limits.max_instructions:
            raise ProfileError(f"The profile has more than {limits.max_instructions} instructions.")
        instructions = []
        for line in lines:
            if not isinstance(line, list | tuple) or len(line) != 3:
                raise ProfileError(f"Function {name!r}: a line is not [counters, address, text].")
            c, address, text = line
            if not isinstance(address, int) or isinstance(address, bool) or address < 0:
                raise ProfileError(f"Function {name!r}: an address is not a number.")
            if not isinstance(text, str):
                raise ProfileError(f"Function {name!r}: an instruction's text is not a string.")
            instructions.append(Instruction(address, text, _counter_map(c, f"{name!r} line")))
        functions[name] = Function(
            name, _counter_map(f.get("counters", {}), f"{name!r} counters"), len(instructions)
        )
        code[name] = instructions
    fmt = value.get("disassembly-format", "raw")
    return Profile(1, fmt if isinstance(fmt, str) else "raw", counters, functions, code.__getitem__)


def _counter_map(raw: Any, what: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise ProfileError(f"The profile's {what} are not a dictionary.")
    out: dict[str, float] = {}
    for k, v in raw.items():
        if not isinstance(k, str) or not isinstance(v, int | float) or isinstance(v, bool):
            raise ProfileError(f"The profile's {what} are not names with numbers.")
        if not math.isfinite(v):
            raise ProfileError(f"The profile's {what} hold a non-finite number.")
        out[k] = float(v)
    return out


# --- v2: sections ---------------------------------------------------------------

_SECTIONS = 8  # header, counter names, top counters, line counters/addresses/text, pool, fns


class _Reader:
    """ULEB128 numbers and newline-terminated strings from bytes, bounds-checked."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def num(self) -> int:
        n = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise ProfileError(f"The v2 profile's {self.what} is truncated.")
            b = self.data[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
            if shift > 63:
                raise ProfileError(f"The v2 profile's {self.what} holds a number too large.")

    def string(self) -> str:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise ProfileError(f"The v2 profile's {self.what} is truncated (unterminated text).")
        text = self.data[self.pos : end].decode("utf-8", "replace")
        self.pos = end + 1
        return text

    def float32(self) -> float:
        bits = self.num()
        if bits >= 1 << 32:
            raise ProfileError(f"The v2 profile's {self.what} holds a counter that is not a float.")
        value: float = struct.unpack(">f", struct.pack(">I", bits))[0]
        if not math.isfinite(value):
            raise ProfileError(f"The v2 profile's {self.what} holds a non-finite counter.")
        return value

    def at(self, offset: int) -> _Reader:
        if offset > len(self.data):
            raise ProfileError(f"The v2 profile points outside its {self.what}.")
        r = _Reader(self.data, self.what)
        r.pos = offset
        return r


def _bunzip(data: bytes, what: str, limits: ProfileLimits) -> bytes:
    if not data:
        return b""
    d = bz2.BZ2Decompressor()
    try:
        out = d.decompress(data, limits.max_expanded)
    except (OSError, ValueError) as exc:
        raise ProfileError(f"The v2 profile's {what} is not valid bz2 data ({exc}).") from None
    if not d.eof:
        if d.needs_input:
            raise ProfileError(f"The v2 profile's {what} is truncated.")
        raise ProfileError(f"The v2 profile's {what} expands beyond {limits.max_expanded} bytes.")
    return out


def _parse_v2(data: bytes, limits: ProfileLimits) -> Profile:
    head = _Reader(data, "section index")
    head.num()  # the version, 2
    spans = []
    for i in range(_SECTIONS):
        offset, size = head.num(), head.num()
        if i == 6 and head.string():
            raise ProfileError("The v2 profile's text pool is in a separate file; not supported.")
        spans.append((offset, size))
    start = head.pos
    names = (
        "header",
        "counter names",
        "top-level counters",
        "line counters",
        "line addresses",
        "line text",
        "text pool",
        "functions",
    )
    raw: list[bytes] = []
    for (offset, size), what in zip(spans, names, strict=True):
        lo = start + offset
        if lo + size > len(data):
            raise ProfileError(
                f"The v2 profile is truncated: its {what} section ends past the end."
            )
        raw.append(data[lo : lo + size])
    header, cnp, tlc, lc, la, lt, pool, fns = raw
    fmt = _Reader(header, "header").string() if header else "raw"
    r = _Reader(cnp, "counter names")
    n_names = r.num()
    if n_names > limits.max_counters:
        raise ProfileError(f"The profile has more than {limits.max_counters} counter names.")
    counter_names = [r.string() for _ in range(n_names)]

    def counter_name(index: int, what: str) -> str:
        if index >= len(counter_names):
            raise ProfileError(f"The v2 profile's {what} name an unknown counter {index}.")
        return counter_names[index]

    r = _Reader(tlc, "top-level counters")
    counters = {}
    n_top = r.num()
    if n_top > limits.max_counters:
        raise ProfileError(f"The profile has more than {limits.max_counters} top-level counters.")
    for _ in range(n_top):
        k = counter_name(r.num(), "top-level counters")
        counters[k] = float(r.num())
    line_counters = _Reader(_bunzip(lc, "line counters", limits), "line counters")
    line_addresses = _Reader(_bunzip(la, "line addresses", limits), "line addresses")
    line_text = _Reader(_bunzip(lt, "line text", limits), "line text")
    text_pool = _bunzip(pool, "text pool", limits)
    r = _Reader(fns, "functions")
    n_functions = r.num()
    if n_functions > limits.max_functions:
        raise ProfileError(f"The profile has more than {limits.max_functions} functions.")
    functions: dict[str, Function] = {}
    where: dict[str, tuple[int, int, int]] = {}
    for _ in range(n_functions):
        name, length = r.string(), r.num()
        if length > limits.max_instructions:
            raise ProfileError(
                f"Function {name!r} has more than {limits.max_instructions} instructions."
            )
        where[name] = (r.num(), r.num(), r.num())
        own = {}
        n_own = r.num()
        if n_own > limits.max_counters:
            raise ProfileError(f"Function {name!r} has more than {limits.max_counters} counters.")
        for _ in range(n_own):
            key = counter_name(r.num(), f"function {name!r} counters")  # before the value
            own[key] = r.float32()
        functions[name] = Function(name, own, length)

    def code(name: str) -> list[Instruction]:
        f = functions[name]
        keys = sorted(f.counters)
        at_counters, at_addresses, at_text = where[name]
        cr = line_counters.at(at_counters)
        ar, tr = line_addresses.at(at_addresses), line_text.at(at_text)
        instructions = []
        address = 0
        for _ in range(f.length):
            line = {k: v for k in keys if (v := cr.float32())}
            address += ar.num()
            instructions.append(Instruction(address, _pool_text(text_pool, tr.num()), line))
        return instructions

    return Profile(2, fmt, counters, functions, code)


def _pool_text(pool: bytes, offset: int) -> str:
    if offset >= len(pool):
        raise ProfileError("The v2 profile's line text points outside its text pool.")
    end = pool.find(b"\n", offset)
    return pool[offset : end if end >= 0 else len(pool)].decode("utf-8", "replace")


def write_profile_v2(profile: Profile) -> bytes:
    """``profile`` in the v2 layout (for tests and fixtures: the inverse of
    ``parse_profile`` for counters that are non-negative floats)."""

    def num(out: io.BytesIO, n: int) -> None:
        while True:
            b, n = n & 0x7F, n >> 7
            out.write(bytes([b | (0x80 if n else 0)]))
            if not n:
                return

    def text(out: io.BytesIO, s: str) -> None:
        out.write(s.encode() + b"\n")

    def f32(out: io.BytesIO, v: float) -> None:
        num(out, struct.unpack(">I", struct.pack(">f", v))[0] if v else 0)

    names = sorted(
        {*profile.counters, *(k for f in profile.functions.values() for k in f.counters)}
    )
    index = {n: i for i, n in enumerate(names)}
    sections = [io.BytesIO() for _ in range(_SECTIONS)]
    header, cnp, tlc, lc, la, lt, pool, fns = sections
    text(header, profile.disassembly_format)
    num(cnp, len(names))
    for n in names:
        text(cnp, n)
    num(tlc, len(profile.counters))
    for k, v in sorted(profile.counters.items()):
        num(tlc, index[k])
        num(tlc, int(v))
    pool.write(b"\n")  # offset 0 is never a string: line text ends with 0
    pool_at: dict[str, int] = {}
    num(fns, len(profile.functions))
    for name, f in sorted(profile.functions.items()):
        text(fns, name)
        instructions = profile.code(name)
        num(fns, len(instructions))
        for section in (lc, la, lt):
            num(fns, section.tell())
        num(fns, len(f.counters))
        for k, v in sorted(f.counters.items()):
            num(fns, index[k])
            f32(fns, v)
        previous = 0
        for ins in instructions:
            for k in sorted(f.counters):
                f32(lc, ins.counters.get(k, 0.0))
            num(la, max(0, ins.address - previous))
            previous = ins.address
            if ins.text not in pool_at:
                pool_at[ins.text] = pool.tell()
                text(pool, ins.text)
            num(lt, pool_at[ins.text])
        num(lt, 0)
    blobs = [s.getvalue() for s in sections]
    for i in (3, 4, 5, 6):
        blobs[i] = bz2.compress(blobs[i])
    out = io.BytesIO()
    num(out, 2)
    offset = 0
    for i, blob in enumerate(blobs):
        num(out, offset)
        num(out, len(blob))
        if i == 6:
            text(out, "")
        offset += len(blob)
    for blob in blobs:
        out.write(blob)
    return out.getvalue()
