"""Property: values written by the sample-data writers come back from the parsers unchanged.

Hypothesis generates rows of every logical type (text with quotes, commas, CR/LF, tabs, NUL,
backslashes, `),(`, emoji, leading/trailing spaces, the word NULL; empty strings vs NULL;
decimals, dates, timestamps, booleans, 64-bit integers). `write_backup` writes them as MOLO and
NetSuite ZIPs and as a Stellar mysqldump .sql.gz; the staging parsers and the inspect command
must give back exactly those values.
"""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marina_assets.catalog.model import SourceSystem, col, table
from marina_assets.parsing import PARSERS
from marina_assets.parsing.inspect import inspect_file
from marina_assets.sample_data.generator import Snapshot
from marina_assets.sample_data.writers import write_backup
from marina_assets_tests.parsing.helpers import collect

_SPECIAL = [*list("ab ,\"'\\;()\n\r\t\x00\x1a\x08%_é🚤"), "NULL", "),(", "\r\n", "0x", "b'"]
_text = st.lists(st.sampled_from(_SPECIAL), max_size=8).map("".join)
ROW = st.tuples(
    st.one_of(st.none(), _text),
    st.one_of(st.none(), st.text(max_size=12)),
    st.one_of(st.none(), st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False)),
    st.one_of(st.none(), st.dates(min_value=date(1000, 1, 1))),
    st.one_of(
        st.none(), st.datetimes(min_value=datetime(1000, 1, 1)).map(lambda d: d.replace(microsecond=0))
    ),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
)


def _system(code: str, fmt: str) -> SourceSystem:
    t = table(
        code,
        "things",
        [
            col("id", "int"),
            col("label", "str(80)"),
            col("any_text", "text"),
            col("amount", "dec(12,2)"),
            col("day", "date"),
            col("at", "ts"),
            col("flag", "bool"),
            col("big", "int"),
        ],
        pk="id",
    )
    name = {"MOLO": "molo_backup_%Y-%m-%d_%H-%M-%S.zip", "NS": "netsuite_export_%Y-%m-%d_%H-%M-%S.zip"}
    return SourceSystem(
        code, code, fmt, r".*", name.get(code, "prod_resilient_%Y-%m-%d_%H_%M-DATA.sql.gz"), (t,)
    )


SYSTEMS = [_system("MOLO", "csv_zip"), _system("NS", "csv_zip"), _system("STELLAR", "mysqldump")]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, max_size=20))
def test_writers_round_trip_through_staging_parsers(rows: list[tuple]) -> None:
    data = {(i + 1,): (i + 1, *r) for i, r in enumerate(rows)}
    for system in SYSTEMS:
        (t,) = system.tables
        name, blob = write_backup(system, Snapshot(date(2025, 1, 1), {t.dw_name: data}))
        got = collect(PARSERS[system.backup_format](io.BytesIO(blob), name, [t]))
        assert not got.failures and not got.rejects.get("things"), (system.code, got.rejects)
        back = [tuple(r[c] for c in t.column_names) for r in got.rows.get("things", [])]
        assert back == [data[k] for k in sorted(data)], system.code


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, max_size=10))
def test_writers_round_trip_through_the_inspector(rows: list[tuple], tmp_path_factory) -> None:
    data = {(i + 1,): (i + 1, *r) for i, r in enumerate(rows)}
    for system in SYSTEMS:
        (t,) = system.tables
        name, blob = write_backup(system, Snapshot(date(2025, 1, 1), {t.dw_name: data}))
        work = tmp_path_factory.mktemp("rt")
        (work / name).write_bytes(blob)
        inspect_file(str(work / name), str(work / "out"))
        lines = (Path(work / "out") / "things.jsonl").read_text(encoding="utf-8").split("\n")[:-1]
        got = [json.loads(line) for line in lines]
        for g, k in zip(got, sorted(data), strict=True):
            want = data[k]
            assert g["label"] == want[1] and g["any_text"] == want[2], system.code
            if system.backup_format == "mysqldump":
                assert g["id"] == want[0] and g["big"] == want[7]  # integer literals stay integers
                assert g["flag"] == (None if want[6] is None else int(want[6]))
            else:
                assert g["id"] == str(want[0]) and g["big"] == (None if want[7] is None else str(want[7]))
            assert (g["amount"] is None) == (want[3] is None)
            if want[3] is not None:
                assert Decimal(g["amount"]) == want[3]
