"""The JSON Schemas of `schemas/`, compiled once per process, as lists of Problems."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from git_elite.errors import Problem


@cache
def load(kind: str) -> dict[str, Any]:
    text = resources.files("git_elite.schemas").joinpath(f"{kind}.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = load(kind)
    return Draft202012Validator(schema, format_checker=None)


def _where(error: Any) -> str:
    parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return parts.lstrip(".") or "(top level)"


def validate(kind: str, body: dict[str, Any], path: str) -> list[Problem]:
    """Every schema violation of `body` as a `schema` Problem naming the JSON path."""
    validator = _validator(kind)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    return [Problem("schema", path, f"{_where(e)}: {_short(e.message)}") for e in errors]


def _short(message: str) -> str:
    line = message.splitlines()[0] if message else ""
    return line if len(line) <= 160 else line[:157] + "..."
