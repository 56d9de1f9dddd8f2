"""Save the bodies of the run report, compare and machine pages, to diff two trees.

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
    return pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to write the bodies (created)")
    args = parser.parse_args()
    import django

    django.setup()
    from django.test import Client

    client = Client()
    args.directory.mkdir(parents=True, exist_ok=True)
    index = []
    for name, url in urls().items():
        response = client.get(url)
        body = b"".join(response) if response.streaming else response.content
        (args.directory / name).write_bytes(body)
        index.append(f"{hashlib.sha256(body).hexdigest()[:16]} {response.status_code} {url}")
    (args.directory / "INDEX").write_text("\n".join(index) + "\n")
    print("\n".join(index))
    return 0


if __name__ == "__main__":
    sys.exit(main())
