"""The built-in test suites, as LNT defines them in ``schemas/nts.yaml`` and
``schemas/compile.yaml`` (a test checks these literals against those files)."""

from __future__ import annotations

from perf.formats.types import MetricSpec, SuiteSchema

NTS = SuiteSchema(
    name="nts",
    metrics=(
        MetricSpec("compile_time", "Real", display_name="Compile Time", unit="seconds",
                   unit_abbrev="s"),
        MetricSpec("compile_status", "Status"),
        MetricSpec("execution_time", "Real", display_name="Execution Time", unit="seconds",
                   unit_abbrev="s", ignore_same_hash=True),
        MetricSpec("execution_status", "Status"),
        MetricSpec("score", "Real", bigger_is_better=True, display_name="Score",
                   ignore_same_hash=True),
        MetricSpec("mem_bytes", "Real", display_name="Memory Usage", unit="bytes",
                   unit_abbrev="b"),
        MetricSpec("hash", "Hash"),
        MetricSpec("hash_status", "Status"),
        MetricSpec("code_size", "Real", display_name="Code Size", unit="bytes",
                   unit_abbrev="b"),
    ),
    order_fields=("llvm_project_revision",),
    run_fields=(),
    machine_fields=("hardware", "os"),
)

COMPILE = SuiteSchema(
    name="compile",
    metrics=(
        MetricSpec("user_time", "Real", display_name="User Time", unit="seconds"),
        MetricSpec("user_status", "Status"),
        MetricSpec("sys_time", "Real", display_name="System Time", unit="seconds"),
        MetricSpec("sys_status", "Status"),
        MetricSpec("wall_time", "Real", display_name="Wall Time", unit="seconds"),
        MetricSpec("wall_status", "Status"),
        MetricSpec("size_bytes", "Real", display_name="Executable Size", unit="bytes"),
        MetricSpec("size_status", "Status"),
        MetricSpec("mem_bytes", "Real", display_name="Memory Usage", unit="bytes"),
        MetricSpec("mem_status", "Status"),
    ),
    order_fields=("llvm_project_revision",),
    run_fields=(),
    machine_fields=("hardware", "os_version"),
)

BUILTIN_SUITES: dict[str, SuiteSchema] = {NTS.name: NTS, COMPILE.name: COMPILE}

# LNT's nts suite predates schema files: an LNT database creates it in its first
# migration, status fields before the fields that point at them, and LNT numbers a
# suite's fields in the order of their rows.  So LNT's field indices for nts (in
# ``graph/<machine>/<test>/<field>`` and ``plot=<machine>.<test>.<field>``) are these,
# not the order of nts.yaml.  Every other suite, ``compile`` included (LNT loads it
# from compile.yaml), numbers its fields in the order of its schema document.
LNT_LEGACY_FIELD_ORDER: dict[str, tuple[str, ...]] = {
    "nts": (
        "compile_status",
        "execution_status",
        "compile_time",
        "execution_time",
        "score",
        "mem_bytes",
        "hash_status",
        "hash",
        "code_size",
    ),
}


def field_positions(schema: SuiteSchema) -> dict[str, int]:
    """Metric name -> LNT's field index for ``schema`` (0-based, dense).

    For nts the legacy order above comes first (for the metrics the schema has),
    then any other metric in document order; for every other suite, document order.
    """
    legacy = LNT_LEGACY_FIELD_ORDER.get(schema.name, ())
    names = [m.name for m in schema.metrics]
    ordered = [n for n in legacy if n in names] + [n for n in names if n not in legacy]
    return {name: i for i, name in enumerate(ordered)}
