"""Text of SQL scripts: readable line breaks, splitting a script, naming what a statement creates.

Scripts follow the SQL*Plus convention: a plain statement ends with `;` at the end of a line, a
PL/SQL unit (CREATE PROCEDURE/FUNCTION/PACKAGE/TRIGGER/TYPE, anonymous BEGIN/DECLARE blocks)
ends with a line holding only `/`.
"""

from __future__ import annotations

import re

_BREAK_BEFORE = ("FROM", "WHERE", "JOIN", "SET", "WHEN", "USING", "SELECT", "VALUES", "ON")


def readable(sql: str, indent: str = "    ") -> str:
    """Break a one-line statement before its main keywords, never inside a string literal."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    pattern = re.compile(r" (" + "|".join(_BREAK_BEFORE) + r") ")
    out = []
    for i, part in enumerate(parts):
        out.append(part if i % 2 else pattern.sub(lambda m: f"\n{indent}{m.group(1)} ", part))
    return "".join(out)


_PLSQL_START = re.compile(
    r"^\s*(CREATE\s+(OR\s+REPLACE\s+)?(PROCEDURE|FUNCTION|PACKAGE|TRIGGER|TYPE)|BEGIN|DECLARE)\b", re.I
)


def split_statements(script: str) -> list[str]:
    """Statements of a script in the SQL*Plus convention (see the module docstring)."""
    out: list[str] = []
    buf: list[str] = []
    for line in script.splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("--")):
            continue
        if line.strip() == "/":
            out.append("\n".join(buf).strip())
            buf = []
            continue
        buf.append(line)
        plsql = bool(_PLSQL_START.match(buf[0]))
        if not plsql and line.rstrip().endswith(";"):
            out.append("\n".join(buf).strip()[:-1].rstrip())
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out


_OBJECT = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:GLOBAL\s+TEMPORARY\s+)?(?:MATERIALIZED\s+)?"
    r"(TABLE|VIEW|PROCEDURE|FUNCTION|PACKAGE\s+BODY|PACKAGE|TRIGGER|INDEX)\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"([A-Za-z0-9_$#.\"]+)",
    re.I,
)


def created_object(statement: str) -> tuple[str, str] | None:
    """(KIND, NAME) of a CREATE statement, or None for anything else (temp tables included)."""
    m = _OBJECT.match(statement)
    if not m:
        return None
    return re.sub(r"\s+", " ", m.group(1).upper()), m.group(2).strip('"').upper()
