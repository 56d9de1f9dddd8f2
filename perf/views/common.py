"""Helpers shared by the page views: suite lookup, paging, query parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest

from .. import selectors
from ..models import TestSuite

PAGE_SIZE = 50


def suite_or_404(name: str) -> TestSuite:
    suite = selectors.suite_get(name)
    if suite is None:
        raise Http404("No such test suite.")
    return suite


def int_param(request: HttpRequest, name: str, default: int, *, lo: int, hi: int) -> int:
    """An integer query parameter clamped to [lo, hi]; junk means the default."""
    try:
        value = int(request.GET.get(name, default))
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, value))


def float_param(request: HttpRequest, name: str, default: float, *, lo: float, hi: float) -> float:
    try:
        value = float(request.GET.get(name, default))
    except (TypeError, ValueError):
        return default
    if value != value:  # NaN
        return default
    return max(lo, min(hi, value))


@dataclass
class Page:
    """Keyset-free paging without COUNT(*): fetch one row more than shown."""

    number: int
    size: int
    has_next: bool
    query: dict[str, Any]

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    def _url(self, number: int) -> str:
        return "?" + urlencode({**self.query, "page": number}, doseq=True)

    @property
    def previous_url(self) -> str | None:
        return self._url(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self._url(self.number + 1) if self.has_next else None


def page_of(request: HttpRequest, size: int = PAGE_SIZE) -> Page:
    query = {k: request.GET.getlist(k) for k in request.GET if k != "page"}
    number = int_param(request, "page", 1, lo=1, hi=100_000)
    return Page(number=number, size=size, has_next=False, query=query)


def page_rows(page: Page, rows: list[Any]) -> list[Any]:
    """Trim the one extra row fetched and record whether there is a next page."""
    page.has_next = len(rows) > page.size
    return rows[: page.size]
