"""Render a view's hand-written SQL for one engine: the few tokens that differ, as data.

The `.sql` files under `views/sql/` are portable SQL except for `{TRUE}` / `{FALSE}` (catalog
booleans are BOOLEAN in DuckDB and PostgreSQL, NUMBER(1) in Oracle) and template values such
as `{TRAN_TYPE}` declared on the view. Dates never need engine functions: daily series come
from DW_CALENDAR and date differences use plain subtraction (days in all three engines).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from marina_assets.views.catalog import View
from marina_assets.warehouse.dialects import Dialect

SQL_DIR = Path(__file__).with_name("sql")

# dialect name -> token -> spelling
DIALECT_TOKENS: Mapping[str, Mapping[str, str]] = {
    "duckdb": {"TRUE": "TRUE", "FALSE": "FALSE"},
    "postgres": {"TRUE": "TRUE", "FALSE": "FALSE"},
    "oracle": {"TRUE": "1", "FALSE": "0"},
}

_TOKEN = re.compile(r"\{([A-Z_]+)\}")


@cache
def _template(sql_file: str) -> str:
    return (SQL_DIR / sql_file).read_text()


def select_sql(dialect: Dialect, view: View) -> str:
    """The view's SELECT for `dialect`, comments kept (they document the view in the database)."""
    tokens = {**DIALECT_TOKENS[dialect.name], **view.tokens}

    def fill(m: re.Match[str]) -> str:
        if m.group(1) not in tokens:
            raise KeyError(f"{view.sql_file}: no value for {{{m.group(1)}}} in {dialect.name}")
        return tokens[m.group(1)]

    return _TOKEN.sub(fill, _template(view.sql_file)).strip()


def create_view_sql(dialect: Dialect, view: View) -> str:
    """`CREATE OR REPLACE VIEW <name> AS <select>`: valid in DuckDB, PostgreSQL and Oracle."""
    return f"CREATE OR REPLACE VIEW {view.name} AS\n{select_sql(dialect, view)}"
