"""SQLite backend that knows the real bound-parameter limit of the linked SQLite.

Django 5.2 assumes SQLite's historical default of 999 bound parameters and so
splits one bulk insert of a 2,000-test run into hundreds of statements.  The SQLite
shipped with Python 3.11 allows 250,000 (and says so through ``getlimit``), which
keeps an ingest at a constant number of statements, as on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from django.db.backends.sqlite3 import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    max_query_params = 999  # replaced per connection below


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = super().get_new_connection(conn_params)
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self.features.max_query_params = max(999, limit)
        return conn
