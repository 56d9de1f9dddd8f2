"""What LNT's run-over-run ``test_results`` add to a submission, on PostgreSQL.

Submits (through the REST endpoint, as ``lnt admin post-run`` does) a first run of
--tests tests, then a second run of the same machine --repeat times with
merge=replace, and prints the medians of the reply's ``import_time`` (storing the
run) and ``report_time`` (reading both runs and computing ``test_results``), with
the number of result rows.  Each test reports execution_time (3 samples),
compile_time, a hash and two statuses, as an nts run of the LLVM test-suite does.

    python bench/submission_report_speed.py [--tests 2000] [--repeat 5]

Needs PostgreSQL on loopback (BENCH_DATABASE_URL, default .../lntsite_bench, recreated).
"""

from __future__ import annotations

import argparse
import random
import statistics

from _pg import bench_database, report_json


def report(tests: int, revision: int, rng: random.Random) -> str:
    return report_json(
        revision,
        [
            {
                "name": f"bench/test{t:05d}",
                "execution_time": [1.0 + t / 1000 + rng.gauss(0, 0.01) for _ in range(3)],
                "execution_status": 0,
                "compile_time": 0.5 + rng.gauss(0, 0.01),
                "compile_status": 0,
                "hash": f"h{t}",
            }
            for t in range(tests)
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000, help="tests per run")
    parser.add_argument("--repeat", type=int, default=5, help="timed submissions")
    args = parser.parse_args()
    bench_database()
    from django.test import Client

    from perf.services.tokens import token_create

    client = Client(HTTP_AUTHTOKEN=token_create("bench")[1])
    rng = random.Random(7)
    url = "/api/db_default/v4/nts/runs?merge=replace"
    first = client.post(url, report(args.tests, 100, rng), content_type="application/json")
    assert first.status_code == 301, first.content
    second = report(args.tests, 101, rng)
    imports, reports, rows = [], [], 0
    for _ in range(args.repeat):
        response = client.post(url, second, content_type="application/json")
        assert response.status_code == 301, response.content
        body = response.json()
        imports.append(body["import_time"])
        reports.append(body["report_time"])
        rows = len(body["test_results"][0]["results"])
    print(f"tests per run:          {args.tests}")
    print(f"test_results rows:      {rows}")
    print(f"import_time (median):   {statistics.median(imports) * 1000:.0f} ms")
    print(f"report_time (median):   {statistics.median(reports) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
