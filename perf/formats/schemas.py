"""Suite schema documents (LNT's ``schemas/*.yaml`` format) and schema upgrades."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

import yaml

from perf.formats.types import FormatError, MetricSpec, MetricType, SuiteSchema
from perf.formats.values import json_type, quote

_SUITE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}", re.ASCII)
_METRIC_TYPES: tuple[MetricType, ...] = ("Real", "Hash", "Status")
_MAX_LABEL_LENGTH = 256

_TOP_KEYS = frozenset({"format_version", "name", "metrics", "run_fields", "machine_fields"})
_METRIC_KEYS = frozenset(
    {"name", "type", "bigger_is_better", "ignore_same_hash", "display_name", "unit",
     "unit_abbrev"}
)
_RUN_FIELD_KEYS = frozenset({"name", "order"})
_MACHINE_FIELD_KEYS = frozenset({"name"})

# Names that would collide with keys every report already uses: a test's
# "name", the run's times, and the "id" keys of exported runs.
_RESERVED_METRICS = frozenset({"name", "id"})
_RESERVED_RUN_FIELDS = frozenset({"start_time", "end_time", "id"})
_RESERVED_MACHINE_FIELDS = frozenset({"name", "id"})


def parse_suite_schema(data: bytes | str | Mapping[str, Any]) -> SuiteSchema:
    """Parse and validate a suite schema: YAML or JSON text, or an already-decoded mapping.

    Keys: ``format_version`` (optional, ``'2'``), ``name`` (``[A-Za-z0-9_-]{1,64}``),
    ``metrics`` (at least one: ``name``, ``type`` Real/Hash/Status default Real,
    booleans ``bigger_is_better`` and ``ignore_same_hash`` default false, strings
    ``display_name``, ``unit``, ``unit_abbrev`` default ""), ``run_fields`` (at
    least one with ``order: true``), ``machine_fields`` (optional).  Field and
    metric names are identifiers of at most 64 characters, unique within their
    list.  JSON null stands for the default (LNT's own schema export writes null
    units).  Unknown keys are refused so that a typo such as
    ``bigger_is_beter`` cannot silently change how changes are detected.
    """
    doc = _load(data)
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise FormatError(f"schema has unknown key {quote(unknown[0])}")
    version = doc.get("format_version")
    if version is not None and (isinstance(version, bool) or version not in ("2", 2)):
        raise FormatError(f"schema format_version must be '2', not {quote(version)}")

    name = doc.get("name")
    if name is None:
        raise FormatError("schema name is required")
    if not isinstance(name, str) or _SUITE_NAME.fullmatch(name) is None:
        raise FormatError(
            f"schema name {quote(name)} is not a suite name (1 to 64 letters, digits, '_', '-')"
        )

    metrics = tuple(
        _metric(entry, f"schema metrics[{index}]")
        for index, entry in enumerate(_entries(doc, "metrics", required=True))
    )
    if not metrics:
        raise FormatError("schema has no metrics")
    _refuse_duplicates([m.name for m in metrics], "metric")

    order_fields: list[str] = []
    run_fields: list[str] = []
    for index, entry in enumerate(_entries(doc, "run_fields", required=True)):
        where = f"schema run_fields[{index}]"
        fields = _mapping(entry, where, _RUN_FIELD_KEYS)
        field_name = _identifier(fields.get("name"), where, _RESERVED_RUN_FIELDS)
        is_order = _boolean(fields.get("order"), f"{where}.order")
        (order_fields if is_order else run_fields).append(field_name)
    _refuse_duplicates(order_fields + run_fields, "run field")
    if not order_fields:
        raise FormatError("schema has no order field (a run field with 'order: true')")

    machine_fields: list[str] = []
    for index, entry in enumerate(_entries(doc, "machine_fields", required=False)):
        where = f"schema machine_fields[{index}]"
        fields = _mapping(entry, where, _MACHINE_FIELD_KEYS)
        machine_fields.append(_identifier(fields.get("name"), where, _RESERVED_MACHINE_FIELDS))
    _refuse_duplicates(machine_fields, "machine field")

    return SuiteSchema(
        name=name,
        metrics=metrics,
        order_fields=tuple(order_fields),
        run_fields=tuple(run_fields),
        machine_fields=tuple(machine_fields),
    )


def check_schema_upgrade(old: SuiteSchema, new: SuiteSchema) -> None:
    """Refuse replacing suite ``old`` by ``new`` when stored data would no longer fit.

    Allowed: new metrics, new non-order run fields, new machine fields, and
    metadata changes (display names, units, ``bigger_is_better``,
    ``ignore_same_hash``).  Refused, all problems listed in one message:
    another suite name, a removed or retyped metric, a removed run or machine
    field, a run field turned into an order field, and any change of the order
    fields (LNT refuses these too).
    """
    problems: list[str] = []
    if old.name != new.name:
        problems.append(f"suite name changed from {quote(old.name)} to {quote(new.name)}")
    for metric in old.metrics:
        replacement = new.metric(metric.name)
        if replacement is None:
            problems.append(f"metric {quote(metric.name)} removed")
        elif replacement.type != metric.type:
            problems.append(
                f"metric {quote(metric.name)} changed type from {metric.type} "
                f"to {replacement.type}"
            )
    if old.order_fields != new.order_fields:
        problems.append(
            f"order fields changed from {', '.join(old.order_fields)} "
            f"to {', '.join(new.order_fields)}"
        )
    for field in old.run_fields:
        if field in new.order_fields:
            problems.append(f"run field {quote(field)} became an order field")
        elif field not in new.run_fields:
            problems.append(f"run field {quote(field)} removed")
    for field in old.machine_fields:
        if field not in new.machine_fields:
            problems.append(f"machine field {quote(field)} removed")
    if problems:
        raise FormatError(f"cannot upgrade suite {quote(old.name)}: {'; '.join(problems)}")


def _load(data: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        document: object = data
    else:
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError as error:
                raise FormatError(
                    f"schema is not valid UTF-8 (invalid byte at offset {error.start})"
                ) from None
        try:
            document = yaml.safe_load(data)
        except yaml.MarkedYAMLError as error:
            where = ""
            if error.problem_mark is not None:
                mark = error.problem_mark
                where = f" at line {mark.line + 1} column {mark.column + 1}"
            raise FormatError(f"schema is not valid YAML: {error.problem}{where}") from None
        except yaml.YAMLError as error:
            raise FormatError(f"schema is not valid YAML: {error}") from None
    if not isinstance(document, Mapping) or not all(isinstance(k, str) for k in document):
        raise FormatError(f"schema must be a mapping, not {json_type(document)}")
    return cast(Mapping[str, Any], document)


def _entries(doc: Mapping[str, Any], key: str, *, required: bool) -> list[object]:
    value = doc.get(key)
    if value is None:
        if required:
            raise FormatError(f"schema has no {key} list")
        return []
    if not isinstance(value, list):
        raise FormatError(f"schema {key} must be a list, not {json_type(value)}")
    return value


def _mapping(entry: object, where: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise FormatError(f"{where} must be a mapping, not {json_type(entry)}")
    unknown = sorted(str(key) for key in entry if key not in allowed)
    if unknown:
        raise FormatError(f"{where} has unknown key {quote(unknown[0])}")
    return cast(Mapping[str, Any], entry)


def _identifier(value: object, where: str, reserved: frozenset[str]) -> str:
    if value is None:
        raise FormatError(f"{where}.name is required")
    if not isinstance(value, str) or _IDENTIFIER.fullmatch(value) is None:
        raise FormatError(
            f"{where}.name {quote(value)} is not an identifier "
            f"(a letter or '_', then letters, digits or '_'; at most 64)"
        )
    if value in reserved:
        raise FormatError(f"{where}.name {quote(value)} is reserved")
    return value


def _boolean(value: object, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FormatError(f"{where} must be true or false, not {quote(value)}")
    return value


def _label(value: object, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FormatError(f"{where} must be a string, not {json_type(value)}")
    if len(value) > _MAX_LABEL_LENGTH:
        raise FormatError(
            f"{where} is {len(value)} characters long (limit {_MAX_LABEL_LENGTH})"
        )
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise FormatError(f"{where} {quote(value)} contains a control character")
    return value


def _metric(entry: object, where: str) -> MetricSpec:
    fields = _mapping(entry, where, _METRIC_KEYS)
    name = _identifier(fields.get("name"), where, _RESERVED_METRICS)
    where = f"schema metric {quote(name)}"
    metric_type = fields.get("type")
    if metric_type is None:
        metric_type = "Real"
    if metric_type not in _METRIC_TYPES:
        raise FormatError(
            f"{where}: type {quote(metric_type)} is not one of {', '.join(_METRIC_TYPES)}"
        )
    return MetricSpec(
        name=name,
        type=cast(MetricType, metric_type),
        bigger_is_better=_boolean(fields.get("bigger_is_better"), f"{where}: bigger_is_better"),
        ignore_same_hash=_boolean(fields.get("ignore_same_hash"), f"{where}: ignore_same_hash"),
        display_name=_label(fields.get("display_name"), f"{where}: display_name"),
        unit=_label(fields.get("unit"), f"{where}: unit"),
        unit_abbrev=_label(fields.get("unit_abbrev"), f"{where}: unit_abbrev"),
    )


def _refuse_duplicates(names: list[str], kind: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise FormatError(f"schema {kind} {quote(name)} is defined twice")
        seen.add(name)
