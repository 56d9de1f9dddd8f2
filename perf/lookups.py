"""``field__any_of=values``: membership in a long list, bound as one array on PostgreSQL.

Django's ``__in`` prepares every value in Python (a related field's ``get_prep_value``
per id) and binds one placeholder each: for the thousands of series ids the detection
task filters by, building the filter took longer than running it.  ``any_of`` binds the
list as one array parameter (``column = ANY(%s)``, served by the same indexes as
``IN``) and leaves the values as given: they must already be of the column's type
(ints for ids).  Elsewhere it is ``column IN (%s, ...)``.  An empty list matches
nothing, as ``__in`` does.  Registered on every field by ``perf.models``; the detection
task and the latest runs report filter with it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import Lookup


class AnyOf(Lookup):  # type: ignore[type-arg]
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return list(self.rhs)

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = self.rhs
        if not values:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]
