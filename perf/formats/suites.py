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
