"""Committed fixtures equal the output of fixtures/generate.py byte for byte."""

from __future__ import annotations

from pathlib import Path

from fixtures import generate
from tests.conftest import SEEDS


def test_seeds_match_conftest() -> None:
    assert {name: seed.hex() for name, seed in generate.SEEDS.items()} == SEEDS


def test_committed_fixtures_are_reproducible(tmp_path: Path) -> None:
    generate.write(tmp_path / "docs")
    fresh = {p.relative_to(tmp_path / "docs"): p.read_bytes()
             for p in (tmp_path / "docs").rglob("*.json")}
    committed = {p.relative_to(generate.DOCS): p.read_bytes()
                 for p in generate.DOCS.rglob("*.json")}
    assert sorted(fresh) == sorted(committed)
    changed = [str(name) for name in fresh if fresh[name] != committed[name]]
    assert not changed, f"run `make fixtures`: {changed}"
