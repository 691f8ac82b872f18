"""Run `marina-etl parse` in-process and read back what it wrote."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from marina_assets import cli

FIXTURES = Path(__file__).parent.parent / "fixtures" / "parsing"
MARIADB = FIXTURES / "mariadb"
POSTGRES = FIXTURES / "postgres"


@dataclass
class Parsed:
    code: int
    out: Path
    stdout: str
    stderr: str

    def table(self, stem: str) -> list[dict]:
        text = (self.out / f"{stem}.jsonl").read_text(encoding="utf-8")
        return [json.loads(line) for line in text.split("\n") if line]  # not splitlines: U+0085

    @property
    def rejects(self) -> list[dict]:
        return self.table("_rejects")

    @property
    def files(self) -> set[str]:
        return {p.name for p in self.out.iterdir()}


def run_parse(capsys: pytest.CaptureFixture[str], path: Path | str, out: Path, *extra: str) -> Parsed:
    code = cli.main(["parse", str(path), "--out", str(out), *extra])
    captured = capsys.readouterr()
    return Parsed(code, out, captured.out, captured.err)


def given(name: str) -> dict:
    return json.loads((FIXTURES / name / "given.json").read_text(encoding="utf-8"))
