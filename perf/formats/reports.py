"""Parse an LNT JSON report (v1 or v2) into a validated ``Report``.

This is the one place where raw report JSON is read.  Everything it returns is
checked: names, value types, sizes, and that no string holds a NUL character
or an unpaired surrogate (PostgreSQL text can store neither).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NoReturn

from perf.formats.limits import DEFAULT_LIMITS, Limits
from perf.formats.types import (
    FormatError,
    MetricSpec,
    Report,
    SampleValue,
    SuiteSchema,
    TestResult,
)
from perf.formats.v1 import PROFILE_METRIC as PROFILE_KEY
from perf.formats.v1 import merge_v1_entries, report_tag, upgrade_v1, upgrade_v1_header
from perf.formats.values import (
    MACHINE_NAME_FORBIDDEN,
    MAX_ABS_SAMPLE,
    check_key,
    check_name,
    field_path,
    hash_sample,
    is_id_key,
    json_type,
    order_value,
    parameter_value,
    parse_time,
    profile_payload,
    quote,
    real_sample,
    status_sample,
)

DEFAULT_SUITE = "nts"

# Top-level keys of a v2 report.  "generated_by" is written by LNT's run
# export; "schema" names the suite in LNT's own compile-suite test reports.
_V2_TOP_KEYS = frozenset({"format_version", "machine", "run", "tests", "generated_by", "schema"})
_V1_TOP_KEYS = frozenset({"Machine", "Run", "Tests"})
_TIME_KEYS = frozenset({"start_time", "end_time"})
# LNT's API exports name the order fields in the run ("order_by"); it is not data.
_EXPORT_KEYS = frozenset({"order_by"})
# Test names check_name accepts without looking further: printable ASCII, no space at
# either end (so no control character and nothing for strip() to remove).
_PLAIN_NAME = re.compile(r"[!-~](?:[ -~]*[!-~])?")


class DecodedReport:
    """A report's text, decoded (``decode_report``), and whether it may hold NUL or
    lone surrogates (then the whole-document parse checks it).  ``parse_report``
    takes the text out, so that the parse holds its only reference and frees it as
    soon as it is done with it."""

    def __init__(self, text: str, suspicious: bool) -> None:
        self._text: str | None = text
        self.suspicious = suspicious

    def take(self) -> str:
        text, self._text = self._text, None
        if text is None:
            raise RuntimeError("the report's text was already taken")
        return text


def decode_report(raw: bytes | str) -> DecodedReport:
    """The report's text as ``parse_report`` decodes it (``FormatError`` if it is not
    UTF-8 or is empty): a caller that holds the only reference to the bytes can free
    them before the parse, instead of holding them next to the text through it (40.5
    MB each for a 90,000-test v1 report)."""
    return DecodedReport(*_text(raw, "report"))


def parse_report(
    raw: bytes | str | DecodedReport,
    schemas: Mapping[str, SuiteSchema],
    *,
    suite: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Report:
    """Decode, upgrade and validate one report; raise ``FormatError`` if it is refused.

    ``raw``: the report as sent (bytes must be UTF-8; a leading BOM is allowed), or
    as ``decode_report`` decoded it.
    ``schemas``: the suites that exist, by name.  ``suite``: the suite named by
    the submission URL, if any.

    Version: ``format_version`` ``"2"``/``2`` is v2; otherwise
    ``Run.Info.__report_version__`` ``"1"`` is v1; a ``Run.Info`` without it is
    LNT's version 0, refused; a document with neither is v2.  Other versions
    are refused.

    Suite: the ``suite`` argument when given, else the v1 ``Run.Info.tag``,
    else the v2 top-level ``schema`` key, else ``"nts"``; it must be in
    ``schemas``.  When the URL names a suite and the report's tag or
    ``schema`` names another, the URL wins (LNT refuses such reports) and a
    warning says so.

    Machine: ``name`` required; keys that are suite machine fields go to
    ``machine_fields``, the others to ``machine_parameters``.  Run: every
    order field required (string or integer, stripped); ``start_time`` and
    ``end_time`` optional (``None`` when absent, naive UTC otherwise); other
    keys go to ``run_fields`` or ``run_parameters``.  Values are stored as
    strings; JSON null means "absent"; arrays and objects are refused.  Keys
    ``id`` and ``*_id`` are ignored unless the suite defines them, so that an
    exported run re-imports.

    Tests: a list (possibly empty) of objects with a unique ``name`` and one
    key per metric of the suite; a value is one sample or a non-empty list of
    samples (null: metric absent).  Samples are ``float`` for Real, ``int``
    for Status, ``str`` for Hash, in input order.  A test may report no metric.

    Unknown top-level keys are ignored with a warning in ``Report.warnings``.
    """
    if isinstance(raw, DecodedReport):
        text, suspicious = raw.take(), raw.suspicious
    else:
        text, suspicious = _text(raw, "report")
    if not suspicious:
        report = _parse_streamed(text, schemas, suite, limits)
        if report is not None:
            return report
    # The whole document at once: reports with escapes (checked for NUL and lone
    # surrogates over the whole tree), and every refused report, whose message is
    # this path's whatever the streamed parse stumbled on first.
    doc = _loads(text, suspicious, "report")
    del text  # the parsed document replaces it
    version, schema, warnings = _header(doc, schemas, suite)
    if version == 1:
        doc, upgrade_warnings = upgrade_v1(doc, schema, limits=limits)
        warnings.extend(upgrade_warnings)
    return _build_report(doc, schema, limits, version, warnings)


# --- the streamed parse -------------------------------------------------------------
#
# A big report is mostly its tests list.  Decoding it whole holds every test as Python
# objects (dicts, lists, floats: about eight times the JSON) next to the validated
# Report built from them.  The streamed parse reads the top-level object member by
# member with the stdlib decoder, but only notes where each element of the tests list
# starts; once the suite is known it decodes, validates and drops one element at a
# time.  It gives up (returns None) on anything unusual, and the whole-document parse
# then answers: same Report, same refusal messages, by construction.

_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, as the json module skips it
_TESTS_KEYS = frozenset({"tests", "Tests"})  # v2's list, v1's list
_SKIP = json.JSONDecoder()  # to find where elements end: no hooks, the fastest


class _NotStreamed(Exception):
    """The top level is not a plain object with a tests list: parse it whole."""


@dataclass(frozen=True)
class _Elements:
    """Where a tests list's elements start in the text (stands for the list in the doc)."""

    starts: list[int]


@dataclass(frozen=True)
class _LastList:
    """A v2 tests list that is the document's last member: where its ``[`` is and where
    its ``]`` must be (found from the document's end).  Its elements are read once, as
    they are validated; where the list turns out to end elsewhere (it was not last),
    the report goes to the whole-document parse."""

    start: int
    end: int


def _parse_streamed(
    text: str, schemas: Mapping[str, SuiteSchema], suite: str | None, limits: Limits
) -> Report | None:
    """The report, parsed a test at a time; None when the whole-document parse must answer."""
    try:
        doc = _scan_top_level(text)
        version, schema, warnings = _header(doc, schemas, suite)
        decoder = _decoder("report")
        if version == 1:
            elements = doc.get("Tests")
            if not isinstance(elements, _Elements):
                return None
            entries = _decoded(text, elements, decoder)
            header = upgrade_v1_header(doc, schema)
            merged = merge_v1_entries(
                entries, len(elements.starts), schema, report_tag(doc), limits=limits
            )
            tests = (_popped(merged), len(merged))
            return _build_report(header, schema, limits, version, warnings, tests)
        elements = doc.get("tests")
        streamed: tuple[Iterable[Any], int | None]
        if isinstance(elements, _LastList):
            streamed = (_last_list_elements(text, elements, decoder, limits.max_tests), None)
        elif isinstance(elements, _Elements):
            streamed = (_decoded(text, elements, decoder), len(elements.starts))
        else:
            return None
        return _build_report(doc, schema, limits, version, warnings, streamed)
    except (_NotStreamed, ValueError, IndexError, RecursionError):
        # ValueError covers FormatError and json.JSONDecodeError.
        return None


def _popped(merged: dict[str, dict[str, list[Any]]]) -> Iterator[dict[str, Any]]:
    """Each merged v1 test as a v2 test entry, in order, removed from ``merged`` as it
    is handed over: its sample lists are freed once validated, not held with the
    whole report until the end of the parse."""
    for name in list(merged):
        yield {"name": name, **merged.pop(name)}


def _decoded(text: str, elements: _Elements, decoder: json.JSONDecoder) -> Iterator[Any]:
    for start in elements.starts:
        yield decoder.raw_decode(text, start)[0]


def _last_list_elements(
    text: str, elements: _LastList, decoder: json.JSONDecoder, limit: int
) -> Iterator[Any]:
    """The elements of a ``_LastList``, decoded one at a time; ``_NotStreamed`` when the
    list does not end at ``elements.end`` or has more than ``limit`` elements (the
    whole-document parse then answers, and words the limit's refusal)."""
    index = _skip_space(text, elements.start + 1)
    if index == elements.end:
        return
    count = 0
    while True:
        count += 1
        if count > limit:
            raise _NotStreamed
        element, index = decoder.raw_decode(text, index)
        yield element
        index = _skip_space(text, index)
        if text[index] == "]":
            if index != elements.end:
                raise _NotStreamed
            return
        if text[index] != ",":
            raise _NotStreamed
        index = _skip_space(text, index + 1)


def _closing_bracket(text: str) -> int | None:
    """The index of the ``]`` in a document that ends with ``]`` and ``}`` (and
    whitespace): where a list that is the last member of the top level would end."""
    index = len(text) - 1
    for expected in "}]":
        while index >= 0 and text[index] in " \t\n\r":
            index -= 1
        if index < 0 or text[index] != expected:
            return None
        index -= 1
    return index + 1


def _skip_space(text: str, index: int) -> int:
    match = _WHITESPACE.match(text, index)
    assert match is not None  # the pattern matches the empty string
    return match.end()


def _scan_top_level(text: str) -> dict[str, Any]:
    """The top-level object, its tests lists replaced by ``_Elements``.

    Raises ``_NotStreamed`` (or the decoder's ValueError) on anything but a
    well-formed object without duplicate keys.
    """
    decoder = _decoder("report")
    index = _skip_space(text, 0)
    if text[index] != "{":
        raise _NotStreamed
    doc: dict[str, Any] = {}
    index = _skip_space(text, index + 1)
    closed = text[index] == "}"
    while not closed:
        if text[index] != '"':
            raise _NotStreamed
        key, index = decoder.raw_decode(text, index)
        index = _skip_space(text, index)
        if text[index] != ":" or key in doc:
            raise _NotStreamed
        index = _skip_space(text, index + 1)
        last = _closing_bracket(text) if key == "tests" and text[index] == "[" else None
        if last is not None and last > index:
            # Most v2 reports end with their tests: read them once, later (_LastList).
            doc[key], index = _LastList(index, last), last + 1
        elif key in _TESTS_KEYS and text[index] == "[":
            doc[key], index = _element_starts(text, index)
        else:
            doc[key], index = decoder.raw_decode(text, index)
        index = _skip_space(text, index)
        closed = text[index] == "}"
        if not closed and text[index] != ",":
            raise _NotStreamed
        index = _skip_space(text, index + 1)
    if index != len(text):
        raise _NotStreamed
    return doc


def _element_starts(text: str, index: int) -> tuple[_Elements, int]:
    """The start of each element of the list at ``index``, and the end of the list."""
    starts: list[int] = []
    index = _skip_space(text, index + 1)
    if text[index] == "]":
        return _Elements(starts), index + 1
    while True:
        starts.append(index)
        _, index = _SKIP.raw_decode(text, index)
        index = _skip_space(text, index)
        if text[index] == "]":
            return _Elements(starts), index + 1
        if text[index] != ",":
            raise _NotStreamed
        index = _skip_space(text, index + 1)


def _header(
    doc: dict[str, Any], schemas: Mapping[str, SuiteSchema], suite: str | None
) -> tuple[int, SuiteSchema, list[str]]:
    """The version, the suite and the warnings about unknown top-level keys."""
    version = _detect_version(doc)
    warnings: list[str] = []
    schema = _resolve_suite(doc, version, schemas, suite, warnings)
    known_top = _V1_TOP_KEYS if version == 1 else _V2_TOP_KEYS
    for key in doc:
        if key not in known_top:
            warnings.append(f"ignored unknown top-level key {quote(key)}")
    return version, schema, warnings


def decode_json(raw: bytes | str, what: str = "report") -> dict[str, Any]:
    """Decode a JSON object from UTF-8 bytes or text.

    Refused, each with a message starting with ``what``: invalid UTF-8, empty
    input, invalid JSON (message gives line and column), the non-standard
    literals NaN/Infinity/-Infinity, duplicate keys in one object, nesting too
    deep for the decoder, a document that is not an object, and strings
    holding NUL or an unpaired surrogate (escapes ``\\u0000``, ``\\ud800``).
    """
    text, suspicious = _text(raw, what)
    return _loads(text, suspicious, what)


def _text(raw: bytes | str, what: str) -> tuple[str, bool]:
    """The text of a document, and whether it may hold NUL or lone surrogates."""
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as error:
            raise FormatError(
                f"{what} is not valid UTF-8 (invalid byte at offset {error.start})"
            ) from None
        suspicious = "\\u" in text
    elif isinstance(raw, str):
        text = raw
        suspicious = "\\u" in text or _has_surrogate(text)
    else:
        raise TypeError(f"{what} must be bytes or str, not {type(raw).__name__}")
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise FormatError(f"{what} is empty")
    return text, suspicious


def _decoder(what: str) -> json.JSONDecoder:
    """The stdlib decoder, refusing NaN/Infinity and duplicate keys (messages name ``what``)."""

    def refuse_constant(name: str) -> NoReturn:
        raise FormatError(f"{what} contains {name}, which JSON does not allow")

    def refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise FormatError(f"{what} has duplicate key {quote(key)} in one object")
            result[key] = value
        return result

    return json.JSONDecoder(parse_constant=refuse_constant, object_pairs_hook=refuse_duplicates)


def _loads(text: str, suspicious: bool, what: str) -> dict[str, Any]:
    try:
        doc = _decoder(what).decode(text)
    except FormatError:
        raise
    except json.JSONDecodeError as error:
        raise FormatError(
            f"{what} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise FormatError(f"{what} is nested too deeply") from None
    except ValueError as error:  # e.g. an integer literal of more than 4300 digits
        raise FormatError(f"{what} is not valid JSON: {error}") from None
    if not isinstance(doc, dict):
        raise FormatError(f"{what} must be a JSON object, not {json_type(doc)}")
    if suspicious:
        # Only escapes (or a str argument) can produce NUL or lone surrogates:
        # raw control characters are invalid JSON and UTF-8 cannot encode surrogates.
        _check_strings(doc, what)
    return doc


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "a NUL character"
    if _has_surrogate(text):
        return "an unpaired surrogate, which is not valid Unicode"
    return None


def _check_strings(doc: dict[str, Any], what: str) -> None:
    """Refuse NUL characters and unpaired surrogates in any key or string value."""
    stack: list[tuple[str, object]] = [(what, doc)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            problem = _string_problem(value)
            if problem is not None:
                raise FormatError(f"{path} contains {problem}")
        elif isinstance(value, dict):
            for key, item in value.items():
                problem = _string_problem(key)
                if problem is not None:
                    raise FormatError(f"{path} has a key containing {problem}")
                # Top-level keys are named bare when plain, quoted (repr) otherwise, so
                # a message never carries a raw control character.
                top = key if key.isidentifier() else quote(key)
                child = top if path == what else field_path(path, key)
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def _detect_version(doc: dict[str, Any]) -> int:
    if "format_version" in doc:
        version = doc["format_version"]
        if version == "2" or (type(version) is int and version == 2):
            return 2
        raise FormatError(
            f"unsupported format_version {quote(version)} (lntsite reads format_version 2, "
            f"and v1 reports marked by Run.Info.__report_version__)"
        )
    run = doc.get("Run")
    if isinstance(run, dict) and isinstance(run.get("Info"), dict):
        version = run["Info"].get("__report_version__", "0")
        if version == "1" or (type(version) is int and version == 1):
            return 1
        raise FormatError(
            f"unsupported report version {quote(version)} in Run.Info.__report_version__ "
            f"(lntsite reads v1 and v2 reports; resubmit with a current LNT client)"
        )
    return 2


def _resolve_suite(
    doc: dict[str, Any],
    version: int,
    schemas: Mapping[str, SuiteSchema],
    suite: str | None,
    warnings: list[str],
) -> SuiteSchema:
    if version == 1:
        named, source = report_tag(doc), "Run.Info.tag"
    else:
        declared = doc.get("schema")
        if declared is not None and not isinstance(declared, str):
            raise FormatError(f"report 'schema' must be a string, not {json_type(declared)}")
        named, source = declared, "schema"
    if suite is None:
        chosen = named if named is not None else DEFAULT_SUITE
    else:
        chosen = suite
        if named is not None and named != suite:
            warnings.append(
                f"report {source} {quote(named)} ignored: submitted to suite {quote(suite)}"
            )
    schema = schemas.get(chosen)
    if schema is None:
        raise FormatError(f"unknown test suite {quote(chosen)}")
    return schema


def _section(doc: dict[str, Any], key: str, kind: type, missing: str) -> Any:
    value = doc.get(key)
    if value is None:
        raise FormatError(missing)
    if not isinstance(value, kind):
        expected = "an object" if kind is dict else "a list"
        raise FormatError(f"report '{key}' must be {expected}, not {json_type(value)}")
    return value


def _build_report(
    doc: dict[str, Any],
    schema: SuiteSchema,
    limits: Limits,
    version: int,
    warnings: list[str],
    streamed: tuple[Iterable[Any], int | None] | None = None,
) -> Report:
    """Validate a v2 document; its tests are ``doc["tests"]``, or the ``count`` entries
    of ``streamed = (entries, count)`` (read once) when the tests list was streamed
    (count None: ``entries`` enforce the tests limit themselves)."""
    machine = _section(doc, "machine", dict, "report has no 'machine' object")
    run = _section(doc, "run", dict, "report has no 'run' object")
    if streamed is None:
        listed = _section(doc, "tests", list, "report has no 'tests' list")
        streamed = (listed, len(listed))
    tests, count = streamed

    machine_name = check_name(
        machine.get("name"),
        "machine.name",
        max_length=limits.max_name_length,
        forbidden=MACHINE_NAME_FORBIDDEN,
    )
    machine_fields, machine_parameters = _split_keys(
        machine, "machine", set(schema.machine_fields), {"name"}, limits
    )

    order = {
        field: order_value(
            run.get(field),
            f"run.{field}",
            suite=schema.name,
            max_length=limits.max_name_length,
        )
        for field in schema.order_fields
    }
    start_time = parse_time(run.get("start_time"), "run.start_time")
    end_time = parse_time(run.get("end_time"), "run.end_time")
    run_fields, run_parameters = _split_keys(
        run,
        "run",
        set(schema.run_fields),
        _TIME_KEYS | _EXPORT_KEYS | set(schema.order_fields),
        limits,
    )

    return Report(
        suite=schema.name,
        machine_name=machine_name,
        machine_fields=machine_fields,
        machine_parameters=machine_parameters,
        order=order,
        run_fields=run_fields,
        run_parameters=run_parameters,
        start_time=start_time,
        end_time=end_time,
        tests=_tests(tests, count, schema, limits),
        format_version=version,
        warnings=tuple(warnings),
    )


def _split_keys(
    section: dict[str, Any],
    where: str,
    fields: AbstractSet[str],
    handled: AbstractSet[str],
    limits: Limits,
) -> tuple[dict[str, str], dict[str, str]]:
    """Split a machine or run object into (suite fields, free parameters).

    Keys in ``handled`` are skipped (parsed elsewhere); ``id``/``*_id`` keys that
    are not suite fields are ignored; null values are treated as absent.
    """
    if len(section) > limits.max_parameters:
        raise FormatError(
            f"{where} has {len(section)} keys (limit {limits.max_parameters})"
        )
    in_fields: dict[str, str] = {}
    parameters: dict[str, str] = {}
    for key, value in section.items():
        if key in handled:
            continue
        is_field = key in fields
        if not is_field and is_id_key(key):
            continue
        check_key(key, where, max_length=limits.max_name_length)
        text = parameter_value(
            value, field_path(where, key), max_length=limits.max_string_length
        )
        if text is not None:
            (in_fields if is_field else parameters)[key] = text
    return in_fields, parameters


def _tests(
    entries: Iterable[Any], count: int | None, schema: SuiteSchema, limits: Limits
) -> tuple[TestResult, ...]:
    """Validate ``count`` test entries; ``entries`` may be a generator (read once).
    ``count`` None: unknown, ``entries`` stop at the limit themselves."""
    if count is not None and count > limits.max_tests:
        raise FormatError(f"report has {count} tests (limit {limits.max_tests})")
    metrics = {metric.name: metric for metric in schema.metrics}
    first_seen: dict[str, int] = {}
    results: list[TestResult] = []
    max_name, max_string, top = limits.max_name_length, limits.max_string_length, MAX_ABS_SAMPLE
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise FormatError(f"tests[{index}] must be an object, not {json_type(entry)}")
        name = entry.get("name")
        if name is None:
            raise FormatError(f"tests[{index}] has no 'name'")
        # A printable ASCII name passes check_name (most names): one match, no call.
        if type(name) is not str or len(name) > max_name or not _PLAIN_NAME.fullmatch(name):
            name = check_name(name, f"tests[{index}].name", max_length=max_name)
        if name in first_seen:
            raise FormatError(
                f"test {quote(name)} appears more than once "
                f"(tests[{first_seen[name]}] and tests[{index}])"
            )
        first_seen[name] = index
        samples: dict[str, tuple[SampleValue, ...]] = {}
        profile = None
        for key, value in entry.items():
            if key == "name":
                continue
            metric = metrics.get(key)
            if metric is None:
                if is_id_key(key):
                    continue
                if key == PROFILE_KEY:  # unless the suite has a metric of that name
                    profile = None if value is None else profile_payload(value, name)
                    continue
                raise FormatError(
                    f"test {quote(name)}: unknown metric {quote(key)} "
                    f"for suite {quote(schema.name)}"
                )
            if value is None:
                continue
            # Keyed by the schema's own string: one object for every test, where a
            # streamed parse would otherwise hold a copy of the key per test.  One plain
            # Real or Hash sample (most values) is what _samples returns, without a call.
            kind = metric.type
            if kind == "Real" and type(value) is float and -top <= value <= top:
                samples[metric.name] = (value,)
            elif kind == "Hash" and type(value) is str and len(value) <= max_string:
                samples[metric.name] = (value,)
            else:
                samples[metric.name] = _samples(value, name, metric, limits)
        results.append(TestResult(name=name, samples=samples, profile=profile))
    return tuple(results)


def _samples(
    value: object, test: str, metric: MetricSpec, limits: Limits
) -> tuple[SampleValue, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise FormatError(f"test {quote(test)}: {metric.name} has an empty sample list")
    if len(values) > limits.max_samples_per_value:
        raise FormatError(
            f"test {quote(test)}: {metric.name} has {len(values)} samples "
            f"(limit {limits.max_samples_per_value})"
        )
    if metric.type == "Real":
        # Plain numbers in range (nearly every sample) without a call each: what
        # real_sample returns for them.  NaN and the infinities fail the comparison.
        if all(
            (type(v) is float or type(v) is int) and -MAX_ABS_SAMPLE <= v <= MAX_ABS_SAMPLE
            for v in values
        ):
            return tuple(map(float, values))
        return tuple(real_sample(v, test, metric.name) for v in values)
    if metric.type == "Status":
        return tuple(status_sample(v, test, metric.name) for v in values)
    return tuple(
        hash_sample(v, test, metric.name, max_length=limits.max_string_length) for v in values
    )
