"""Save the bodies of the run report, compare, machine and overview pages, to diff two trees.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lntsite_data_s01 \\
        .venv/bin/python bench/pages_snapshot.py /tmp/old   # in the old tree
    ... the same with /tmp/new in the new tree, then: diff -r /tmp/old /tmp/new

On the dataset of bench/make_dataset.py: every variant of those pages that a change of
the comparison's code could alter (the 2,000- and 5,000-test machines; HTML, CSV, JSON
and text; a baseline, older and the previous run; each sort; a filter; a threshold and
hidden moves; the other metric), one file a URL plus an index of sha256 digests.  A
change that only makes the pages faster must leave every file byte-identical.
Read-only; stops by itself.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lntsite.settings")
os.environ.setdefault("PERF_DEBUG_TOOLBAR", "0")
os.environ.setdefault("LOG_LEVEL", "ERROR")

VARIANTS = (
    "",
    "?format=csv",
    "?format=json",
    "?format=txt",
    "?sort=name",
    "?sort=old",
    "?sort=new",
    "?filter=test00[0-4]",
    "?threshold=5&hide=2",
    "?threshold=0",
    "?metric=compile_time",
)
# The overview pages (issue #10's last ones over budget): the same proof for their
# changes.
SIDES_VARIANTS = (
    "",
    "&sort=test",
    "&sort=delta_pct",
    "&sort=status",
    "&min_delta=0&pvalue=1",
    "&floor=0.5",
    "&zlo=-0.01&zhi=0.01",
    "&metric=compile_time",
    "&format=csv",
    "&format=json",
)
STATUS_VARIANTS = (
    "",
    "?page=2",
    "?runs=3",
    "?field=compile_time",
    "?machine=m0",
    "?days=0&runs=5",
    # Deep in the ranking, where many tests tie (no change): their order is by name.
    "?page=60",
    "?page=99&field=compile_time",
)
LATEST_VARIANTS = (
    "", "?page=2", "?num_runs=3", "?min_change=5", "?field=compile_time",
    # Low thresholds and a long history: many more moves flagged, on both metrics.
    "?min_change=0.2", "?num_runs=20&min_change=0.5&field=compile_time",
)


def urls() -> dict[str, str]:
    """File name -> URL of every page variant, on the dataset's two kinds of machine."""
    from django.urls import reverse

    from perf.models import Machine, Run, TestSuite

    suite = TestSuite.objects.get(name="nts")
    pages = {}
    for name in ("bench-m00", "bench-big"):
        machine = Machine.objects.get(suite=suite, name=name)
        runs = list(Run.objects.filter(machine=machine).order_by("-order__position", "-id"))
        new, previous, older = runs[0], runs[1], runs[len(runs) // 2]
        report = reverse("perf:run-detail", args=["nts", new.id])
        compare = reverse("perf:compare", args=["nts"]) + f"?a={older.id}&b={new.id}"
        pages[f"{name}-machine"] = reverse("perf:machine-detail", args=["nts", machine.id])
        for k, variant in enumerate(VARIANTS):
            pages[f"{name}-report-{k:02d}"] = report + variant
            pages[f"{name}-compare-{k:02d}"] = compare + variant.replace("?", "&")
        pages[f"{name}-report-baseline"] = report + f"?baseline={older.id}"
        pages[f"{name}-report-baseline-csv"] = report + f"?baseline={older.id}&format=csv"
        pages[f"{name}-report-previous"] = reverse("perf:run-detail", args=["nts", previous.id])
        # A baseline that is the previous run (pages_speed.py's "+ baseline" pages).
        for k, variant in enumerate(("", "&format=csv", "&format=json", "&format=txt")):
            pages[f"{name}-report-baseline-previous-{k}"] = (
                report + f"?baseline={previous.id}" + variant
            )
        pages[f"{name}-summary"] = reverse("perf:machine-summary", args=["nts", machine.id])
        sides = reverse("perf:compare-sides", args=["nts"])
        one = f"?a_runs={previous.id}&b_runs={new.id}&metric=execution_time"
        # Two runs a side: six samples each, so that the rank test gives p-values.
        two = f"?a_runs={older.id},{runs[len(runs) // 2 + 1].id}&b_runs={previous.id},{new.id}"
        for k, variant in enumerate(SIDES_VARIANTS):
            pages[f"{name}-sides-{k:02d}"] = sides + one + variant
            pages[f"{name}-sides2-{k:02d}"] = sides + two + variant
    status = reverse("perf:global-status", args=["nts"])
    latest = reverse("perf:latest-runs", args=["nts"])
    m00 = Machine.objects.get(suite=suite, name="bench-m00")
    baseline = Run.objects.filter(machine=m00).order_by("-order__position", "-id")[3]
    for k, variant in enumerate(STATUS_VARIANTS + (f"?baseline={baseline.id}",)):
        pages[f"status-{k:02d}"] = status + variant
    for k, variant in enumerate(LATEST_VARIANTS):
        pages[f"latest-{k:02d}"] = latest + variant
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to write the bodies (created)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated prefixes of the page names to save (e.g. status,latest); all",
    )
    args = parser.parse_args()
    import django

    django.setup()
    from django.test import Client

    client = Client()
    args.directory.mkdir(parents=True, exist_ok=True)
    index = []
    prefixes = tuple(p for p in args.only.split(",") if p)
    for name, url in urls().items():
        if prefixes and not name.startswith(prefixes):
            continue
        response = client.get(url)
        body = b"".join(response) if response.streaming else response.content
        (args.directory / name).write_bytes(body)
        index.append(f"{hashlib.sha256(body).hexdigest()[:16]} {response.status_code} {url}")
    (args.directory / "INDEX").write_text("\n".join(index) + "\n")
    print("\n".join(index))
    return 0


if __name__ == "__main__":
    sys.exit(main())
