"""Upgrade of LNT's v1 report layout to the v2 layout (as LNT's ``upgrade_1_to_2``).

v1 has one ``Tests`` entry per (test, metric), named ``<tag>.<test>.<suffix>``,
and keeps machine and run details under ``Info``.  ``upgrade_v1`` only
reshapes: the v2 validation that follows checks every name and value, so its
messages use v2 names (``machine.hostname``, ``test 'foo': execution_time ...``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from perf.formats.limits import Limits
from perf.formats.types import FormatError, SuiteSchema
from perf.formats.values import json_type, quote

# Suffix -> metric, per suite, from LNT's upgrade tables.  A suffix not listed
# (and every suffix of other suites) is taken as the metric name itself.
SUFFIXES: dict[str, dict[str, str]] = {
    "nts": {
        ".code_size": "code_size",
        ".compile": "compile_time",
        ".compile.status": "compile_status",
        ".exec": "execution_time",
        ".exec.status": "execution_status",
        ".hash": "hash",
        ".hash.status": "hash_status",
        ".mem": "mem_bytes",
        ".score": "score",
    },
    "compile": {
        ".mem": "mem_bytes",
        ".mem.status": "mem_status",
        ".size": "size_bytes",
        ".size.status": "size_status",
        ".sys": "sys_time",
        ".sys.status": "sys_status",
        ".user": "user_time",
        ".user.status": "user_status",
        ".wall": "wall_time",
        ".wall.status": "wall_status",
    },
}

# Machine.Info key -> v2 machine key.  "name" always moves to "hostname" so it
# cannot clash with the machine's own name; the compile suite also renames
# the sysctl keys its client reports.
_MACHINE_RENAMES: dict[str, dict[str, str]] = {
    "compile": {"name": "hostname", "hw.model": "hardware", "kern.version": "os_version"},
}
_DEFAULT_MACHINE_RENAMES = {"name": "hostname"}

PROFILE_METRIC = "profile"


def report_tag(doc: dict[str, Any]) -> str | None:
    """The suite named by ``Run.Info.tag``, or ``None`` when absent.

    Only called once ``Run.Info`` is known to be an object.
    """
    tag = doc["Run"]["Info"].get("tag")
    if tag is None:
        return None
    if not isinstance(tag, str):
        raise FormatError(f"Run.Info.tag must be a string, not {json_type(tag)}")
    return tag


def upgrade_v1(
    doc: dict[str, Any], schema: SuiteSchema, *, limits: Limits
) -> tuple[dict[str, Any], list[str]]:
    """Reshape a v1 report into a v2 document for ``schema``; return it and warnings.

    - ``Machine.Name`` -> ``machine.name``; ``Machine.Info`` keys -> machine keys
      (``name`` -> ``hostname``; for ``compile`` also ``hw.model`` -> ``hardware``,
      ``kern.version`` -> ``os_version``).  A rename onto an existing key is an error.
    - ``Run.Start Time``/``End Time`` -> ``start_time``/``end_time``;
      ``Run.Info`` keys -> run keys, except ``tag`` and ``__report_version__``
      (dropped) and ``run_order``, which becomes the suite's order field when
      the suite has exactly one.
    - Test names must start with ``<tag>.`` (the suite name if there is no tag);
      the longest known suffix of the suite gives the metric, else the text
      after the last dot does.  Entries for the same (test, metric) merge into
      one sample list in input order; tests keep the order of first appearance.
    - A ``.profile`` entry becomes the test's ``profile`` (its Data: one base64 string).
    - A non-empty test ``Info`` is refused, as LNT refuses it.
    """
    entries = doc.get("Tests")
    header = upgrade_v1_header(doc, schema)
    if entries is None:
        raise FormatError("report has no 'Tests' list")
    if not isinstance(entries, list):
        raise FormatError(f"report 'Tests' must be a list, not {json_type(entries)}")
    tests = merge_v1_entries(entries, len(entries), schema, report_tag(doc), limits=limits)
    upgraded: dict[str, Any] = {
        **header,
        "tests": [{"name": name, **metrics} for name, metrics in tests.items()],
    }
    return upgraded, []


def upgrade_v1_header(doc: dict[str, Any], schema: SuiteSchema) -> dict[str, Any]:
    """The v2 ``format_version``, ``machine`` and ``run`` of a v1 report (see ``upgrade_v1``)."""
    machine_in = _object(doc, "Machine", "report has no 'Machine' object")
    machine: dict[str, Any] = {"name": machine_in.get("Name")}
    sources = {"name": "Machine.Name"}
    renames = _MACHINE_RENAMES.get(schema.name, _DEFAULT_MACHINE_RENAMES)
    for key, value in _info(machine_in, "Machine").items():
        new_key = renames.get(key, key)
        if new_key in machine:
            raise FormatError(_clash(sources[new_key], f"Machine.Info.{key}", "machine", new_key))
        machine[new_key] = value
        sources[new_key] = f"Machine.Info.{key}"

    run_in = doc["Run"]
    run: dict[str, Any] = {}
    sources.clear()
    for old_key, new_key in (("Start Time", "start_time"), ("End Time", "end_time")):
        if run_in.get(old_key) is not None:
            run[new_key] = run_in[old_key]
            sources[new_key] = f"Run.{old_key}"
    order_rename = schema.order_fields[0] if len(schema.order_fields) == 1 else "run_order"
    for key, value in _info(run_in, "Run").items():
        if key in ("tag", "__report_version__"):
            continue
        new_key = order_rename if key == "run_order" else key
        if new_key in run:
            raise FormatError(_clash(sources[new_key], f"Run.Info.{key}", "run", new_key))
        run[new_key] = value
        sources[new_key] = f"Run.Info.{key}"
    return {"format_version": "2", "machine": machine, "run": run}


def merge_v1_entries(
    entries: Iterable[Any],
    count: int,
    schema: SuiteSchema,
    tag: str | None,
    *,
    limits: Limits,
) -> dict[str, dict[str, list[Any]]]:
    """The ``count`` v1 ``Tests`` entries merged into v2 tests: name -> metric -> samples.

    ``entries`` may be a generator (a streamed report): each entry is read once.
    """
    entry_limit = limits.max_tests * (len(schema.metrics) + 1)
    if count > entry_limit:
        raise FormatError(f"report has {count} test entries (limit {entry_limit})")

    prefix = f"{tag if tag is not None else schema.name}."
    suffixes = sorted(SUFFIXES.get(schema.name, {}).items(), key=lambda kv: -len(kv[0]))
    tests: dict[str, dict[str, list[Any]]] = {}
    for index, entry in enumerate(entries):
        where = f"Tests[{index}]"
        if not isinstance(entry, dict):
            raise FormatError(f"{where} must be an object, not {json_type(entry)}")
        full_name = entry.get("Name")
        if full_name is None:
            raise FormatError(f"{where}.Name is required")
        if not isinstance(full_name, str):
            raise FormatError(f"{where}.Name must be a string, not {json_type(full_name)}")
        info = entry.get("Info")
        if info:
            raise FormatError(
                f"v1 test {quote(full_name)}: a non-empty Info record is not supported"
            )
        data = entry.get("Data")
        if not isinstance(data, list):
            raise FormatError(
                f"v1 test {quote(full_name)}: Data must be a list, not {json_type(data)}"
            )
        name, metric = _split_name(full_name, prefix, suffixes)
        if schema.metric(metric) is None:
            if metric == PROFILE_METRIC:  # the v2 test's "profile" key: one base64 string
                if PROFILE_METRIC in tests.get(name, {}):
                    raise FormatError(f"v1 test {quote(name)} has more than one '.profile' entry")
                tests.setdefault(name, {})[PROFILE_METRIC] = data
                continue
            # Checked here, not left to the v2 validation, which ignores "*_id" keys.
            raise FormatError(
                f"test {quote(name)}: unknown metric {quote(metric)} "
                f"for suite {quote(schema.name)}"
            )
        tests.setdefault(name, {}).setdefault(metric, []).extend(data)
    return tests


def _clash(first: str, second: str, section: str, key: str) -> str:
    return f"{quote(first)} and {quote(second)} would both become {section}.{key}"


def _object(doc: dict[str, Any], key: str, missing: str) -> dict[str, Any]:
    value = doc.get(key)
    if value is None:
        raise FormatError(missing)
    if not isinstance(value, dict):
        raise FormatError(f"report '{key}' must be an object, not {json_type(value)}")
    return value


def _info(parent: dict[str, Any], where: str) -> dict[str, Any]:
    info = parent.get("Info")
    if info is None:
        return {}
    if not isinstance(info, dict):
        raise FormatError(f"{where}.Info must be an object, not {json_type(info)}")
    return info


def _split_name(
    full_name: str, prefix: str, suffixes: list[tuple[str, str]]
) -> tuple[str, str]:
    """Split ``<tag>.<test>.<suffix>`` into (test, metric)."""
    if not full_name.startswith(prefix):
        raise FormatError(f"v1 test {quote(full_name)} does not start with {quote(prefix)}")
    rest = full_name[len(prefix):]
    for suffix, metric in suffixes:
        if rest.endswith(suffix) and len(rest) > len(suffix):
            return rest[: -len(suffix)], metric
    name, dot, metric = rest.rpartition(".")
    if not dot or not name or not metric:
        raise FormatError(f"v1 test {quote(full_name)} has no '.<metric>' suffix")
    return name, metric
