"""`sql/` is the generated SQL, current with the catalog; deploy applies it and reports objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from marina_assets.catalog import all_tables
from marina_assets.cli import main
from marina_assets.warehouse import sql_files
from marina_assets.warehouse.deploy import deploy
from marina_assets.warehouse.dialects import DIALECTS
from marina_assets.warehouse.sql_files import generate, read_tree, write_tree
from marina_assets_tests.warehouse.support import open_warehouse

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("dialect", list(DIALECTS.values()), ids=lambda d: d.name)
def test_sql_folder_is_current(dialect) -> None:
    on_disk = read_tree(ROOT / "sql", dialect)
    fresh = generate(dialect)
    stale = sorted(n for n in fresh.keys() | on_disk.keys() if fresh.get(n) != on_disk.get(n))
    assert not stale, f"sql/{dialect.name} is stale ({stale[:5]}...): run `marina-etl sql generate`"


def test_generate_command_writes_and_prunes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "duckdb" / "20_merges").mkdir(parents=True)
    (tmp_path / "duckdb" / "20_merges" / "gone.sql").write_text("-- old\n")
    assert main(["sql", "generate", "--out", str(tmp_path)]) == 0
    assert not (tmp_path / "duckdb" / "20_merges" / "gone.sql").exists()
    assert read_tree(tmp_path, DIALECTS["postgres"]) == generate(DIALECTS["postgres"])
    assert write_tree(tmp_path) == []  # a second run changes nothing
    assert "removed" in capsys.readouterr().out


def test_a_section_registers_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        sql_files, "SECTIONS", [*sql_files.SECTIONS, lambda d: {"30_views/x.sql": f"-- {d.name}"}]
    )
    assert generate(DIALECTS["oracle"])["30_views/x.sql"] == "-- oracle"
    monkeypatch.setattr(sql_files, "SECTIONS", [*sql_files.SECTIONS, lambda d: {"30_views/x.sql": ""}])
    with pytest.raises(ValueError, match="two sql sections"):
        generate(DIALECTS["duckdb"])


@pytest.mark.integration
def test_deploy_creates_tables_and_views_and_reports_them(backend: dict, tmp_path: Path) -> None:
    if backend["kind"] == "oracle":
        pytest.skip("deploy on Oracle is exercised by `marina-etl sql deploy` against a live schema")
    tables = [t for t in all_tables() if t.system == "NS"]
    sql_dir = tmp_path / "sql"
    write_tree(sql_dir, [DIALECTS[backend["kind"]]])
    view = sql_dir / backend["kind"] / "99_test" / "v.sql"
    view.parent.mkdir()
    view.write_text(
        "CREATE OR REPLACE VIEW DW_NS_LIVE_ACCOUNTS_V AS SELECT * FROM DW_NS_ACCOUNTS WHERE IS_DELETED = 0;\n"
        "CREATE OR REPLACE VIEW BROKEN_V AS SELECT NO_SUCH_COLUMN FROM DW_NS_ACCOUNTS;\n"
    )
    with open_warehouse(**backend) as wh:
        report = {o.name: (o.kind, o.status) for o in deploy(wh, tables, sql_dir)}
        assert report["DW_NS_ACCOUNTS"] == ("TABLE", "CREATED")
        assert report["DW_NS_LIVE_ACCOUNTS_V"] == ("VIEW", "OK")
        assert report["BROKEN_V"][1] == "ERROR"
        # outside the catalog, created from its file so the daily views compile before it is filled
        assert report["DW_CALENDAR"] == ("TABLE", "CREATED")
        assert wh.fetchall("SELECT COUNT(*) FROM DW_NS_LIVE_ACCOUNTS_V") == [(0,)]
        if backend["kind"] == "postgres":
            assert report["MARINA_BUMP_DW_VERSION"] == ("FUNCTION", "OK")
            assert report["DW_NS_ACCOUNTS_VERSION"] == ("TRIGGER", "OK")
            # the file's CREATE OR REPLACE TRIGGER fires on origin only; deploy sets it back to always
            firing = wh.fetchall(
                "SELECT DISTINCT t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE c.relname LIKE 'dw\\_ns\\_%' AND NOT t.tgisinternal"
            )
            assert firing == [("A",)]
        again = {o.name: o.status for o in deploy(wh, tables, sql_dir)}
        assert again["DW_NS_ACCOUNTS"] == "UNCHANGED"
        assert again["DW_CALENDAR"] == "UNCHANGED"
