"""The JSON Schemas of `schemas/`, compiled once per process, as lists of Problems.

Each schema is compiled into plain Python closures (`compile_schema`) that answer "valid or
not" about 40x faster than jsonschema's validator; only a document that fails that check is
run through jsonschema again, for its detailed messages. The compiler knows exactly the
draft 2020-12 keywords our schemas use and refuses any other keyword when it compiles, so a
schema change can never be silently ignored. Semantics follow jsonschema: booleans are not
numbers, 1.0 is an integer, `const`/`enum`/`uniqueItems` compare 1 and 1.0 as equal but
never true and 1. `pattern` is `re.search` with ECMA-262's `$` (`ecma`), in both validators.
"""

from __future__ import annotations

from git_elite.core import cjson
from git_elite.core.errors import Problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable
    from typing import Any

    Check = Callable[[Any], bool]


ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default",
                         "examples"})
STRING_KEYS = frozenset({"minLength", "maxLength", "pattern"})
NUMBER_KEYS = frozenset({"minimum", "maximum"})
OBJECT_KEYS = frozenset({"properties", "additionalProperties", "required", "propertyNames",
                         "maxProperties"})
ARRAY_KEYS = frozenset({"items", "minItems", "maxItems", "uniqueItems"})
ANY_KEYS = frozenset({"type", "const", "enum", "anyOf"})
KNOWN = ANNOTATIONS | STRING_KEYS | NUMBER_KEYS | OBJECT_KEYS | ARRAY_KEYS | ANY_KEYS


class SchemaCompileError(ValueError):
    """A schema uses a keyword (or a form of one) this compiler does not implement."""


# each schema loaded, checked and compiled once per process, by kind (dicts rather than
# functools.cache: `functools` imports `collections`, ~2 ms of a hook's start-up)
_LOADED: dict[str, dict[str, Any]] = {}
_COMPILED: dict[str, Check] = {}
_CLOSURES: dict[str, Check] = {}
_VALIDATORS: dict[str, Any] = {}


def load(kind: str) -> dict[str, Any]:
    if kind not in _LOADED:
        _LOADED[kind] = cjson.loads(_schema_file(kind))
    return _LOADED[kind]


def _schema_file(kind: str) -> bytes:
    """schemas/<kind>.schema.json, the package data `git_elite.schemas`, read through this
    module's loader (as pkgutil.get_data reads package data): beside the package's modules
    in an installed package; else (an editable install maps it from the source tree) where
    the import system finds `git_elite.schemas` (importlib.resources costs tempfile, shutil,
    random, zipfile: ~10 ms of start-up; `importlib.util` ~0.5 ms, so only then)."""
    import git_elite

    mine: Any = __spec__.loader
    for package in git_elite.__path__:
        try:
            data: bytes = mine.get_data(f"{package}/schemas/{kind}.schema.json")
            return data
        except OSError:
            pass
    import importlib.util

    spec = importlib.util.find_spec("git_elite.schemas")  # found, not imported
    where = list(spec.submodule_search_locations or ()) if spec is not None else []
    loader: Any = spec.loader if spec is not None else None
    if not where or not hasattr(loader, "get_data"):
        raise FileNotFoundError(f"git_elite.schemas: no {kind}.schema.json")
    found: bytes = loader.get_data(f"{where[0]}/{kind}.schema.json")
    return found


def compiled(kind: str) -> Check:
    """The fast `is_valid` predicate of the schema of `kind` (compiled on first use): the
    closures' checks written out as one function (schemagen), with the closures themselves
    for what it does not write out."""
    if kind in _COMPILED:
        return _COMPILED[kind]
    from git_elite.core import schemagen

    closures(kind)  # every keyword known, every form valid, or SchemaCompileError
    check = _COMPILED[kind] = schemagen.generate(
        load(kind), schemagen.Parts(compile_schema, ecma_re, _is_integer, _is_number))
    return check


def closures(kind: str) -> Check:
    """The schema of `kind` as compile_schema's nested closures (the same answers)."""
    if kind not in _CLOSURES:
        _CLOSURES[kind] = compile_schema(load(kind))
    return _CLOSURES[kind]


# The first documents of a kind are checked by the closures, the rest by the generated
# function: generating and compiling it costs ~4 ms (manifest, profile, attestation), and
# its patterns need `re` (~5 ms of imports where nothing else loaded it), more than the
# closures lose on the few documents of a one-agent commit (hooks5; docs/scale.md, "The
# hooks, round 5") or on a discover's top 20 or 50 (manifest and profile each: "discover
# --offline, round 8"); a verify of thousands of agents switches after GENERATE_AFTER.
GENERATE_AFTER = 64
_USES: dict[str, int] = {}


def checker(kind: str) -> Check:
    """The `is_valid` predicate to use for the next document of `kind`."""
    uses = _USES.get(kind, 0)
    if uses >= GENERATE_AFTER:
        return compiled(kind)
    _USES[kind] = uses + 1
    return closures(kind)


def is_valid(kind: str, body: Any) -> bool:
    return checker(kind)(body)


def ecma(pattern: str) -> Runs | re.Pattern[str]:
    """A schema `pattern` with ECMA-262's meaning (SPEC §3): an unescaped `$` outside a
    character class matches only at the very end (Python's `$` also matches before a
    trailing newline, so `"file-edit\\n"` passed `^[a-z-]+$`). The forms our schemas use
    (`^`, literal characters, character classes with counts, one group of alternatives, `$`)
    are matched by `Runs`, without importing `re` (~5 ms of a hook's start-up); any other
    form is compiled by `re` (`ecma_re`). Both give `re.search`'s answer (tests)."""
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = Runs.parse(pattern) or ecma_re(pattern)
    return found


_PATTERNS: dict[str, Runs | re.Pattern[str]] = {}


def ecma_re(pattern: str) -> re.Pattern[str]:
    """`pattern` compiled by `re` with ECMA-262's `$` (`\\Z`): what the generated checker
    uses (a verify of thousands of documents; `re` is C)."""
    import re

    out, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            char = r"\Z"
        out.append(char)
    return re.compile("".join(out))


_SPECIAL = frozenset("\\^$.|?*+()[]{}")


class Runs:
    """A pattern `^` ALTERNATIVE(S) [`$`] whose alternatives are sequences of runs — a
    literal character or a character class `[...]`/`[^...]`, each with a count (`?`, `*`,
    `+`, `{m}`, `{m,}`, `{m,n}`) — matched with `str.lstrip`/`str.find` (C speed) and
    backtracking over the counts. `parse` gives None for anything else."""

    def __init__(self, alternatives: list[list[tuple[str, bool, int, int | None]]],
                 to_end: bool) -> None:
        self.alternatives = alternatives
        self.to_end = to_end

    @classmethod
    def parse(cls, pattern: str) -> Runs | None:
        if not pattern.startswith("^"):
            return None
        body, to_end = pattern[1:], False
        if body.endswith("$") and not body.endswith("\\$"):
            body, to_end = body[:-1], True
        if body.startswith("(") and body.endswith(")"):
            body = body[1:-1]
        elif "|" in body:  # `^a|b$` is `^a` or `b$` in a regex: not this form
            return None
        alternatives = []
        for text in body.split("|"):
            runs = _runs(text)
            if runs is None:
                return None
            alternatives.append(runs)
        return cls(alternatives, to_end)

    def search(self, text: str) -> bool | None:
        """True where `re.search` would find a match, else None."""
        for runs in self.alternatives:
            if _match(runs, 0, text, 0, self.to_end):
                return True
        return None


def _runs(text: str) -> list[tuple[str, bool, int, int | None]] | None:
    """(characters, negated, least, most) per run of `text`, or None (another form)."""
    runs: list[tuple[str, bool, int, int | None]] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char == "[":
            close = text.find("]", at + 1)
            found = _class(text[at + 1:close]) if close > at + 1 else None
            if found is None:
                return None
            (chars, negated), at = found, close + 1
        elif char in _SPECIAL:
            return None
        else:
            chars, negated, at = char, False, at + 1
        least, most, at = _count(text, at)
        if least < 0:
            return None
        runs.append((chars, negated, least, most))
    return runs


def _class(inside: str) -> tuple[str, bool] | None:
    negated = inside.startswith("^")
    inside = inside[1:] if negated else inside
    if not inside or "\\" in inside or "[" in inside:
        return None
    chars: list[str] = []
    at = 0
    while at < len(inside):
        if at + 2 < len(inside) and inside[at + 1] == "-":
            low, high = ord(inside[at]), ord(inside[at + 2])
            if high < low or high - low > 255:
                return None
            chars.extend(map(chr, range(low, high + 1)))
            at += 3
        else:
            chars.append(inside[at])
            at += 1
    return "".join(chars), negated


def _count(text: str, at: int) -> tuple[int, int | None, int]:
    """The count after a run at `at`: (least, most or None, where it ends); least -1 when
    it is not one of the forms."""
    mark = text[at:at + 1]
    if mark in ("?", "*", "+"):
        least, most = {"?": (0, 1), "*": (0, None), "+": (1, None)}[mark]
        return least, most, at + 1
    if mark != "{":
        return 1, 1, at
    close = text.find("}", at)
    low, comma, high = text[at + 1:close].partition(",")
    if close < 0 or not _digits(low) or (comma and high and not _digits(high)):
        return -1, None, at
    if not comma:
        return int(low), int(low), close + 1
    most = int(high) if high else None
    return (int(low), most, close + 1) if most is None or most >= int(low) else (-1, None, at)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _match(runs: list[tuple[str, bool, int, int | None]], index: int, text: str, at: int,
           to_end: bool) -> bool:
    if index == len(runs):
        return not to_end or at == len(text)
    chars, negated, least, most = runs[index]
    if negated:
        stops = [found for found in map(lambda c: text.find(c, at), chars) if found >= 0]
        length = (min(stops) if stops else len(text)) - at
    else:
        rest = text[at:]
        length = len(rest) - len(rest.lstrip(chars))
    if most is not None:
        length = min(length, most)
    if length < least:
        return False
    if index == len(runs) - 1:  # the last run: only one length can end the text
        return not to_end or least <= len(text) - at <= length
    return any(_match(runs, index + 1, text, at + taken, to_end)
               for taken in range(length, least - 1, -1))


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    from jsonschema import ValidationError

    if isinstance(instance, str) and not ecma(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _validator(kind: str) -> Any:
    if kind in _VALIDATORS:
        return _VALIDATORS[kind]
    from jsonschema import Draft202012Validator, validators

    ecma_validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
    validator = _VALIDATORS[kind] = ecma_validator(load(kind), format_checker=None)
    return validator


def validate(kind: str, body: dict[str, Any], path: str) -> list[Problem]:
    """Every schema violation of `body` as a `schema` Problem naming the JSON path."""
    if checker(kind)(body):
        return []
    errors = sorted(_validator(kind).iter_errors(body),
                    key=lambda e: list(map(str, e.absolute_path)))
    if not errors:  # the two validators disagree: fail closed
        return [Problem("schema", path, "(top level): does not match the schema")]
    return [Problem("schema", path, f"{_where(e)}: {_short(e.message)}") for e in errors]


def _where(error: Any) -> str:
    parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return parts.lstrip(".") or "(top level)"


def _short(message: str) -> str:
    line = message.splitlines()[0] if message else ""
    return line if len(line) <= 160 else line[:157] + "..."


# --- JSON value semantics shared with jsonschema ---------------------------------------

def _is_integer(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


TYPE_CHECKS: dict[str, Check] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": _is_integer,
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def freeze(v: Any) -> Any:
    """A hashable key such that two JSON values are equal exactly when their keys are."""
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (int, float)):
        return ("n", v)  # 1 == 1.0 and hash(1) == hash(1.0)
    if isinstance(v, str):
        return ("s", v)
    if isinstance(v, list):
        return ("l", tuple(freeze(x) for x in v))
    if isinstance(v, dict):
        return ("d", frozenset((k, freeze(x)) for k, x in v.items()))
    return ("z", v)


def _unique(v: list[Any]) -> bool:
    return len({freeze(x) for x in v}) == len(v)


# --- the compiler ----------------------------------------------------------------------
# Each keyword group (string, number, object, array) compiles into one closure that checks
# its own instance type: `strict` (the schema's single `type` is that group's type) turns a
# value of another type into False, otherwise such a value passes the group (JSON Schema
# applies `pattern` only to strings, `minimum` only to numbers, ...).

def _always(v: Any) -> bool:
    return True


def _never(v: Any) -> bool:
    return False


GROUPS = (("string", STRING_KEYS), ("number", NUMBER_KEYS), ("object", OBJECT_KEYS),
          ("array", ARRAY_KEYS))


def compile_schema(schema: Any) -> Check:
    """A predicate equal to jsonschema's `is_valid` for `schema`; SchemaCompileError for a
    keyword outside the implemented set."""
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        raise SchemaCompileError(f"a schema is an object or a boolean, not {schema!r:.60}")
    unknown = sorted(set(schema) - KNOWN)
    if unknown:
        raise SchemaCompileError(f"unsupported schema keyword(s): {', '.join(unknown)}")
    types = schema.get("type")
    type_ok = _type_check(types) if types is not None else None
    checks = _generic(schema)
    for group, names in GROUPS:
        if names & schema.keys():
            strict = types == group or (group == "number" and types == "integer")
            checks.append(BUILDERS[group](schema, strict))
            if strict:
                type_ok = None  # the group's closure checks the type itself
    if type_ok is not None:
        checks.insert(0, type_ok)
    return _all(checks)


def _all(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def check(v: Any) -> bool:
        for c in checks:  # noqa: SIM110 - a plain loop: no generator on the hot path
            if not c(v):
                return False
        return True

    return check


def _type_check(types: Any) -> Check:
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or not names or any(n not in TYPE_CHECKS for n in names):
        raise SchemaCompileError(f"bad type {types!r:.60}")
    checks = [TYPE_CHECKS[n] for n in names]
    if len(checks) == 1:
        return checks[0]
    return lambda v: any(c(v) for c in checks)


def _generic(schema: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    if "const" in schema:
        out.append(_equals_one_of([schema["const"]]))
    if "enum" in schema:
        if not isinstance(schema["enum"], list):
            raise SchemaCompileError("enum must be an array")
        out.append(_equals_one_of(schema["enum"]))
    if "anyOf" in schema:
        value = schema["anyOf"]
        if not isinstance(value, list) or not value:
            raise SchemaCompileError("anyOf must be a non-empty array of schemas")
        subs = [compile_schema(s) for s in value]
        out.append(lambda v: any(c(v) for c in subs))
    return out


def _equals_one_of(values: list[Any]) -> Check:
    if all(isinstance(x, str) for x in values):
        strings = frozenset(values)
        return lambda v: isinstance(v, str) and v in strings
    allowed = frozenset(freeze(x) for x in values)
    return lambda v: freeze(v) in allowed


def _limit(schema: dict[str, Any], name: str, number: bool = False) -> Any:
    value: Any = schema.get(name)
    ok = _is_number(value) if number else (_is_integer(value) and value >= 0)
    if value is not None and not ok:
        raise SchemaCompileError(f"bad {name}: {value!r:.40}")
    return value


def _string(schema: dict[str, Any], strict: bool) -> Check:
    low, high = _limit(schema, "minLength") or 0, _limit(schema, "maxLength")
    search = ecma(schema["pattern"]).search if "pattern" in schema else None

    def check(v: Any) -> bool:
        if not isinstance(v, str):
            return not strict
        n = len(v)
        if n < low or (high is not None and n > high):
            return False
        return search is None or search(v) is not None

    return check


def _number(schema: dict[str, Any], strict: bool) -> Check:
    low, high = _limit(schema, "minimum", True), _limit(schema, "maximum", True)
    kind = _is_integer if schema.get("type") == "integer" else _is_number

    def check(v: Any) -> bool:
        if type(v) is not int and not kind(v):
            return not strict and not _is_number(v)
        return (low is None or v >= low) and (high is None or v <= high)

    return check


def _object(schema: dict[str, Any], strict: bool) -> Check:
    props = {k: compile_schema(s) for k, s in schema.get("properties", {}).items()}
    extra = compile_schema(schema.get("additionalProperties", True))
    names = compile_schema(schema["propertyNames"]) if "propertyNames" in schema else None
    required = frozenset(schema.get("required", ()))
    most = _limit(schema, "maxProperties")

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return not strict
        if (most is not None and len(v) > most) or not v.keys() >= required:
            return False
        for key, item in v.items():
            if names is not None and not names(key):
                return False
            if not props.get(key, extra)(item):
                return False
        return True

    return check


def _array(schema: dict[str, Any], strict: bool) -> Check:
    items = compile_schema(schema.get("items", True))
    low, high = _limit(schema, "minItems") or 0, _limit(schema, "maxItems")
    unique = schema.get("uniqueItems", False)
    if not isinstance(unique, bool) or isinstance(schema.get("items", {}), list):
        raise SchemaCompileError("uniqueItems must be a boolean and items one schema")

    def check(v: Any) -> bool:
        if not isinstance(v, list):
            return not strict
        n = len(v)
        if n < low or (high is not None and n > high):
            return False
        if unique and n > 1 and not _unique(v):
            return False
        return items is _always or all(items(x) for x in v)

    return check


BUILDERS: dict[str, Callable[[dict[str, Any], bool], Check]] = {
    "string": _string, "number": _number, "object": _object, "array": _array}
