"""Time the same page on LNT's server and on lntsite, alternating, over loopback HTTP.

Both servers serve the same data: LNT's from its instance, lntsite's imported from it
with ``manage.py import_lnt_db`` (machine and run ids are kept).  Both under gunicorn,
one sync worker each.  Set-up used for docs/performance.md "Reads at scale":

    # LNT (llvm/llvm-lnt, outside the project) in /work/lntclient/venv, plus gunicorn
    lnt create /tmp/lnt-instance && cp <corpus>/lnt-instance/data/lnt.db /tmp/lnt-instance/data/
    cp /tmp/lnt-instance/lnt.wsgi /tmp/lnt-instance/lnt_app.py
    gunicorn -w 1 -b 127.0.0.1:18301 --chdir /tmp/lnt-instance lnt_app:application
    # lntsite on the same data
    DATABASE_URL=... manage.py import_lnt_db <corpus>/lnt-instance
    DATABASE_URL=... DEBUG=0 SECRET_KEY=... ALLOWED_HOSTS=127.0.0.1 \\
        SECURE_SSL_REDIRECT=0 gunicorn -w 1 -b 127.0.0.1:18302 lntsite.wsgi:application

    .venv/bin/python bench/machine_vs_lnt.py --requests 30 \\
        http://127.0.0.1:18301/db_default/v4/nts/machine/2 \\
        http://127.0.0.1:18302/db_default/v4/nts/machines/2

Prints each URL's median and 90th percentile of the wall time of a whole request (one
warm-up request each, dropped) and the ratio of the medians.  Stops after --requests
rounds; loopback addresses only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
from urllib.parse import urlparse


def fetch_ms(url: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback only
        body = response.read()
        status = response.status
    return (time.perf_counter() - started) * 1000, status, len(body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="+", help="loopback URLs to time, alternating")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per URL")
    args = parser.parse_args()
    for url in args.urls:
        if urlparse(url).hostname not in {"127.0.0.1", "localhost", "::1"}:
            print(f"not a loopback URL: {url}", file=sys.stderr)
            return 2
    timings: dict[str, list[float]] = {url: [] for url in args.urls}
    sizes = {}
    for url in args.urls:  # warm-up
        _, status, sizes[url] = fetch_ms(url)
        if status != 200:
            print(f"{url}: HTTP {status}", file=sys.stderr)
            return 1
    for _ in range(args.requests):
        for url in args.urls:
            timings[url].append(fetch_ms(url)[0])
    first = statistics.median(timings[args.urls[0]])
    print(f"{'url':<60}{'bytes':>8}{'median ms':>11}{'p90 ms':>9}{'ratio':>7}")
    for url, values in timings.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{url:<60}{sizes[url]:>8}{median:>11.1f}{p90:>9.1f}{median / first:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
