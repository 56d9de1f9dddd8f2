"""Where the real LNT inputs live, and the suites they need.

The corpus is ``shared/lnt-corpus`` beside the repository (as laid out for
developers and CI); ``PERF_LNT_CORPUS`` overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perf.formats import BUILTIN_SUITES, SuiteSchema, parse_suite_schema

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("PERF_LNT_CORPUS", REPO.parent / "shared" / "lnt-corpus"))
if not CORPUS.is_dir():  # the usual /work layout when the repository is elsewhere
    CORPUS = Path("/work/shared/lnt-corpus")


def corpus_path(relative: str) -> Path:
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"LNT corpus file {path} is not available")
    return path


def corpus_bytes(relative: str) -> bytes:
    return corpus_path(relative).read_bytes()


def corpus_schema(relative: str) -> SuiteSchema:
    return parse_suite_schema(corpus_bytes(relative))


def corpus_reports() -> list[str]:
    """Every JSON report of the corpus, relative to it (empty when the corpus is absent).

    ``lnt-instance/`` is an LNT server's data directory (its database and the profile
    index files LNT keeps there), not reports.
    """
    if not CORPUS.is_dir():
        return []
    return sorted(
        str(p.relative_to(CORPUS))
        for p in CORPUS.rglob("*.json")
        if p.relative_to(CORPUS).parts[0] != "lnt-instance"
    )


def schemas_with(*extra: SuiteSchema) -> dict[str, SuiteSchema]:
    return {**BUILTIN_SUITES, **{schema.name: schema for schema in extra}}
