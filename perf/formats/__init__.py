"""Pure parsing of LNT reports and suite schemas into typed objects.  No Django here.

Raw report JSON and schema documents are read only through this package; code
downstream trusts the ``Report`` and ``SuiteSchema`` objects it returns.
"""

from perf.formats.digest import report_digest
from perf.formats.limits import DEFAULT_LIMITS, Limits
from perf.formats.orders import revision_sort_key
from perf.formats.reports import DecodedReport, decode_report, parse_report
from perf.formats.schemas import check_schema_upgrade, parse_suite_schema
from perf.formats.suites import BUILTIN_SUITES, field_positions
from perf.formats.types import (
    STATUS_FAIL,
    STATUS_PASS,
    STATUS_XFAIL,
    FormatError,
    MetricSpec,
    MetricType,
    Report,
    SampleValue,
    SuiteSchema,
    TestResult,
)

__all__ = [
    "BUILTIN_SUITES",
    "DEFAULT_LIMITS",
    "STATUS_FAIL",
    "STATUS_PASS",
    "STATUS_XFAIL",
    "DecodedReport",
    "FormatError",
    "Limits",
    "MetricSpec",
    "MetricType",
    "Report",
    "SampleValue",
    "SuiteSchema",
    "TestResult",
    "check_schema_upgrade",
    "decode_report",
    "field_positions",
    "parse_report",
    "parse_suite_schema",
    "report_digest",
    "revision_sort_key",
]
