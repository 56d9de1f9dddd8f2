"""Sizing and upkeep of the gunicorn workers that take submissions.

``submit_timeout`` is the submit pool's worker timeout: a report as large as
``PERF_MAX_SUBMISSION_BYTES`` must be parsed, stored and answered before it, on a
loaded machine, two at once.  ``return_memory`` gives the memory a big request
left behind back to the system (deploy/gunicorn.conf.py calls it after each
request, once the answer is sent); ``map_big_blocks`` keeps a request's big buffers
out of the C heap (called in each worker as it starts).  deploy/prod.sh reads both sizes from here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from collections.abc import Callable, Mapping

# A 90,000-test v2 report (23.5 MB) costs the worker about 10 CPU s (README "Big
# reports"): 2 s per MB of the limit is about five times that, for a loaded machine.
BASE_SECONDS = 30
SECONDS_PER_MB = 2
# Requests with a body at least this large are followed by a collection and a trim.
DEFAULT_TRIM_AFTER_BYTES = 4_000_000


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "")
    if not text:
        return default
    if not text.isdigit() or int(text) == 0:
        raise SystemExit(f"{name} must be a positive integer, got {text!r}")
    return int(text)


def submit_timeout(environ: Mapping[str, str] = os.environ) -> int:
    """PERF_SUBMIT_TIMEOUT, or 30 s + 2 s per MB of PERF_MAX_SUBMISSION_BYTES
    (136 s for the default 50 MiB)."""
    limit = _positive(environ, "PERF_MAX_SUBMISSION_BYTES", 50 * 1024 * 1024)
    return _positive(
        environ, "PERF_SUBMIT_TIMEOUT", BASE_SECONDS + SECONDS_PER_MB * -(-limit // 1_000_000)
    )


def trim_after_bytes(environ: Mapping[str, str] = os.environ) -> int:
    """PERF_TRIM_AFTER_BYTES: the request body size from which memory is returned."""
    return _positive(environ, "PERF_TRIM_AFTER_BYTES", DEFAULT_TRIM_AFTER_BYTES)


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None elsewhere (musl, macOS)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


_TRIM = _malloc_trim()

# glibc serves a block of at least M_MMAP_THRESHOLD bytes with its own mmap, unmapped
# as soon as it is freed.  By default that threshold rises to the size of any such
# block freed (up to 32 MiB): after one big report a worker keeps the next one's
# 23.5 MB form and 17.6 MB of JSON in its heap, where once freed they stay resident
# (Python's own arenas are separate mappings and cannot reuse them) -- the second
# report in a worker peaked 50 MB higher than the first (README "Big reports").
# Setting the threshold fixes it.
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD_BYTES = 1 << 20


def map_big_blocks(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Have glibc map every block of ``threshold`` bytes or more on its own, for the
    life of the process (gunicorn's ``post_fork``).  False where there is no glibc."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))


def return_memory(content_length: str | int | None, threshold: int) -> bool:
    """After a request whose body had at least ``threshold`` bytes: collect cycles
    and hand the C heap's free pages back to the system.  True when it did.

    Python's allocator gives back its arenas once empty, but the C heap keeps freed
    blocks (a big report's strings and rows) in the process until ``malloc_trim``.
    """
    try:
        size = int(content_length or 0)
    except ValueError:
        return False
    if size < threshold:
        return False
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
    return True
