"""A JSON Schema turned into the source of one Python function, compiled once per process:
the `is_valid` predicate `schema.compiled` serves (issue 26 item 3: verify's CPU per agent).

`schema.compile_schema` builds a predicate of nested closures, one call per keyword group
and per property; this writes the same checks as straight-line code (each property looked
up by name, each type, length, bound and pattern tested inline), ~2x faster on a manifest.
Only the shapes written out below are inlined: a single `type` with the keywords of that
type, properties, required, additionalProperties, propertyNames, maxProperties, items,
lengths, bounds, patterns, an `enum` of strings. Any other sub-schema (`anyOf`, a `const`,
a list of types, `uniqueItems`, a keyword group without its type) is checked by
`compile_schema`'s closure for it, called from the generated code: the result is that
closure's answer (and jsonschema's) by construction, which tests/test_schemagen.py checks
against both on every fixture and thousands of mutated documents.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable
    from typing import Any, NamedTuple

    Check = Callable[[Any], bool]
else:
    from git_elite.core.records import NamedTuple

ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default",
                         "examples"})
_NUMBER = frozenset({"minimum", "maximum"})
# per `type`, the keywords written out inline (any other: the closure)
INLINE_TYPES = {"string": frozenset({"minLength", "maxLength", "pattern"}), "integer": _NUMBER,
                "number": _NUMBER, "boolean": frozenset(), "null": frozenset(),
                "object": frozenset({"properties", "additionalProperties", "required",
                                     "propertyNames", "maxProperties"}),
                "array": frozenset({"items", "minItems", "maxItems"})}


class Parts(NamedTuple):
    """What the generated code calls: schema.py's closure compiler (for what is not
    inlined), its ECMA-262 pattern compiler, and its integer and number type tests."""

    closure: Callable[[Any], Check]
    ecma: Callable[[str], re.Pattern[str]]
    is_integer: Check
    is_number: Check


class _Writer:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_MISSING": object(), "_is_integer": parts.is_integer,
                                      "_is_number": parts.is_number}
        self.count = 0

    def name(self, value: Any, prefix: str) -> str:
        self.count += 1
        key = f"_{prefix}{self.count}"
        self.names[key] = value
        return key

    def var(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def put(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def block(self, schema: Any, var: str, depth: int) -> None:
        """`check` as the body of an `if` or `for` (never empty)."""
        before = len(self.lines)
        self.check(schema, var, depth)
        if len(self.lines) == before:
            self.put(depth, "pass")

    def check(self, schema: Any, var: str, depth: int) -> None:
        """Statements that `return False` unless `var` is valid against `schema`."""
        if schema is True:
            return
        kind = _inline_kind(schema)
        if kind is None:  # the closure of compile_schema, called
            self.put(depth, f"if not {self.name(self.parts.closure(schema), 'c')}"
                     f"({var}): return False")
            return
        if kind == "enum":
            self.put(depth, f"if not isinstance({var}, str) or {var} not in "
                     f"{self.name(frozenset(schema['enum']), 'e')}: return False")
            return
        getattr(self, "_" + kind)(schema, var, depth)

    def _lengths(self, low: Any, high: Any, var: str, depth: int) -> None:
        """minLength/maxLength of a string, minItems/maxItems of an array: `len` bounds."""
        if low:
            self.put(depth, f"if len({var}) < {int(low)}: return False")
        if high is not None:
            self.put(depth, f"if len({var}) > {int(high)}: return False")

    def _string(self, schema: dict[str, Any], var: str, depth: int) -> None:
        self.put(depth, f"if not isinstance({var}, str): return False")
        self._lengths(schema.get("minLength", 0), schema.get("maxLength"), var, depth)
        if "pattern" in schema:
            search = self.name(self.parts.ecma(schema["pattern"]).search, "p")
            self.put(depth, f"if {search}({var}) is None: return False")
        self._enum(schema, var, depth)

    def _enum(self, schema: dict[str, Any], var: str, depth: int) -> None:
        if "enum" in schema:
            self.put(depth, f"if {var} not in {self.name(frozenset(schema['enum']), 'e')}: "
                     "return False")

    def _integer(self, schema: dict[str, Any], var: str, depth: int) -> None:
        self._number(schema, var, depth, "_is_integer")

    def _number(self, schema: dict[str, Any], var: str, depth: int,
                kind: str = "_is_number") -> None:
        self.put(depth, f"if type({var}) is not int and not {kind}({var}): return False")
        for word, op in (("minimum", "<"), ("maximum", ">")):
            if word in schema:
                self.put(depth, f"if {var} {op} {self.name(schema[word], 'n')}: return False")

    def _boolean(self, schema: dict[str, Any], var: str, depth: int) -> None:
        self.put(depth, f"if not isinstance({var}, bool): return False")

    def _null(self, schema: dict[str, Any], var: str, depth: int) -> None:
        self.put(depth, f"if {var} is not None: return False")

    def _object(self, schema: dict[str, Any], var: str, depth: int) -> None:
        self.put(depth, f"if not isinstance({var}, dict): return False")
        if "maxProperties" in schema:
            self.put(depth, f"if len({var}) > {int(schema['maxProperties'])}: return False")
        if schema.get("required"):
            needed = self.name(frozenset(schema["required"]), "r")
            self.put(depth, f"if not {var}.keys() >= {needed}: return False")
        if "propertyNames" in schema:
            key = self.var()
            self.put(depth, f"for {key} in {var}:")
            self.block(schema["propertyNames"], key, depth + 1)
        props: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        for prop, sub in props.items():
            if sub is True:
                continue
            item = self.var()
            if prop in required:  # there: checked above
                self.put(depth, f"{item} = {var}[{prop!r}]")
                self.check(sub, item, depth)
                continue
            self.put(depth, f"{item} = {var}.get({prop!r}, _MISSING)")
            self.put(depth, f"if {item} is not _MISSING:")
            self.block(sub, item, depth + 1)
        extra = schema.get("additionalProperties", True)
        if extra is True:
            return
        known = self.name(frozenset(props), "k")
        if extra is False:
            self.put(depth, f"if not {var}.keys() <= {known}: return False")
            return
        key, item = self.var(), self.var()
        self.put(depth, f"for {key} in {var}.keys() - {known}:")
        self.put(depth + 1, f"{item} = {var}[{key}]")
        self.block(extra, item, depth + 1)

    def _array(self, schema: dict[str, Any], var: str, depth: int) -> None:
        self.put(depth, f"if not isinstance({var}, list): return False")
        self._lengths(schema.get("minItems", 0), schema.get("maxItems"), var, depth)
        if schema.get("items", True) is not True:
            item = self.var()
            self.put(depth, f"for {item} in {var}:")
            self.block(schema["items"], item, depth + 1)


def _inline_kind(schema: Any) -> str | None:
    """The generator's method for `schema`, or None: call compile_schema's closure."""
    if not isinstance(schema, dict):
        return None
    words = set(schema) - ANNOTATIONS
    kind = schema.get("type")
    enum = schema.get("enum")
    strings = isinstance(enum, list) and all(isinstance(x, str) for x in enum)
    if kind is None:
        return "enum" if words == {"enum"} and strings else None
    if not isinstance(kind, str) or kind not in INLINE_TYPES:
        return None
    allowed = INLINE_TYPES[kind] | {"type"} | ({"enum"} if kind == "string" and strings
                                               else set())
    return kind if words <= allowed else None


def generate(schema: Any, parts: Parts) -> Check:
    """The predicate of `schema` as one generated function. The caller has compiled
    `schema` with `parts.closure` first (every keyword known, every form valid)."""
    writer = _Writer(parts)
    writer.check(schema, "v", 1)
    source = "\n".join(["def check(v):", *writer.lines, "    return True", ""])
    space = dict(writer.names)
    exec(compile(source, "<schemagen>", "exec"), space)  # noqa: S102 - our own source
    check: Check = space["check"]
    check.source = source  # type: ignore[attr-defined]
    return check
