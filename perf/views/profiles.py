"""One profile of a run: downloading it, and LNT's profile view of it (optionally
beside the same test's profile in another run)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ..selectors import profiles
from .common import suite_or_404


def profile_download(request: HttpRequest, suite: str, run_id: int, test_id: int) -> HttpResponse:
    """The profile's bytes as the client sent them (base64-decoded), as an attachment."""
    suite_obj = suite_or_404(suite)
    data = profiles.profile_bytes(suite_obj, run_id, test_id)
    if data is None:
        raise Http404("No such profile.")
    return profile_response(data, run_id, test_id)


def profile_response(data: bytes, run_id: int, test_id: int) -> HttpResponse:
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = (
        f'attachment; filename="run{run_id}-test{test_id}.lntprof"'  # ids only: no escaping
    )
    return response


FUNCTIONS_SHOWN = 200  # rows of the function table
LINES_SHOWN = 5000  # disassembly lines per side


def _side(
    read: dict[str, Any] | None, function: str, counter: str, names: list[str]
) -> dict[str, Any] | None:
    """One column of the page: the run and the chosen function's disassembly, each line
    with its counters and ``heat`` (the chosen counter over the function's largest, 0..1)."""
    if read is None:
        return None
    profile = read["profile"]
    lines = profile.code(function)[:LINES_SHOWN] if profile else []
    top = max((i.counters.get(counter, 0.0) for i in lines), default=0.0)
    read["lines"] = [
        {
            "address": f"{i.address:x}",
            "text": i.text,
            "values": [i.counters.get(n) for n in names],
            "heat": round(i.counters.get(counter, 0.0) / top, 3) if top > 0 else 0.0,
        }
        for i in lines
    ]
    read["truncated"] = bool(profile) and profile.functions[function].length > LINES_SHOWN
    return read


def profile_view(request: HttpRequest, suite: str, run_id: int, test_id: int) -> HttpResponse:
    """LNT's profile page: top-level counters of the run (and of ``compare``, another
    run's profile of the same test) side by side, functions hottest first by
    ``counter``, and ``function``'s disassembly with per-instruction counters as a heat
    map.  A profile that cannot be read is shown with the reason (status 422)."""
    suite_obj = suite_or_404(suite)
    first = profiles.profile_read(suite_obj, run_id, test_id)
    if first is None:
        raise Http404("No such profile.")
    compare_raw = request.GET.get("compare", "")
    second = None
    compare_error = ""
    if compare_raw:
        if not compare_raw.isdigit() or len(compare_raw) > 18:
            compare_error = f"compare: expected a run id, got {compare_raw[:40]!r}."
        else:
            second = profiles.profile_read(suite_obj, int(compare_raw), test_id)
            if second is None:
                compare_error = f"compare: run {compare_raw} has no profile of this test."
    readable = [s["profile"] for s in (first, second) if s and s["profile"]]
    names = sorted(
        {c for p in readable for c in p.counters}
        | {c for p in readable for f in p.functions.values() for c in f.counters}
    )
    counter = request.GET.get("counter", "")
    if counter not in names:
        counter = "cycles" if "cycles" in names else (names[0] if names else "")
    a = first["profile"]
    b = second["profile"] if second else None
    functions = []
    if a or b:
        order = (a or b).hottest(counter)  # type: ignore[union-attr]
        for f in order[:FUNCTIONS_SHOWN]:
            other = b.functions.get(f.name) if (a and b) else None
            functions.append(
                {
                    "name": f.name,
                    "a": f.counters.get(counter),
                    "b": other.counters.get(counter) if other else None,
                    "length": f.length,
                }
            )
    function = request.GET.get("function", "")
    known = (a.functions if a else {}) | (b.functions if b else {})
    if function not in known:
        function = functions[0]["name"] if functions else ""
    top_level = [
        {
            "name": n,
            "a": a.counters.get(n) if a else None,
            "b": b.counters.get(n) if b else None,
        }
        for n in sorted({*(a.counters if a else {}), *(b.counters if b else {})})
    ]
    for row in top_level:
        if row["a"] and row["b"] is not None:
            row["delta"] = (row["b"] - row["a"]) / row["a"] * 100.0
    status = 422 if first["error"] or (second and second["error"]) else 200
    return render(
        request,
        "perf/profile.html",
        {
            "suite": suite_obj,
            "test_id": test_id,
            "first": first,
            "second": second,
            "sides": [
                side
                for side in (_side(r, function, counter, names) for r in (first, second))
                if side
            ],
            "compare": compare_raw,
            "compare_error": compare_error,
            "counters": names,
            "counter": counter,
            "top_level": top_level,
            "functions": functions,
            "more_functions": max(0, len(known) - FUNCTIONS_SHOWN),
            "function": function,
        },
        status=status,
    )
