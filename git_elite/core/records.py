"""`NamedTuple` without importing `typing` (SPEC §12: what a hook costs is mostly start-up).

`typing` imports `re`, `contextlib`, `functools`, `collections` and more: ~8 ms of CPU per
process here, and `typing.NamedTuple` builds each class with `collections.namedtuple`, which
compiles its `__new__` from source (~0.1 ms a class). The hooks need neither. Modules write

    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from git_elite.core.records import NamedTuple

so mypy checks `typing.NamedTuple` and the interpreter builds the same thing here: a tuple
subclass with the fields of the class's annotations (in order), their defaults, a property
per field, a `__new__` taking them by position or name (compiled from a one-line lambda, as
`namedtuple` compiles its own: ~30 µs a class, ~50 through `typing`), the class's own
methods, and what our code uses of the namedtuple API (`_fields`, `_field_defaults`,
`_replace`, `_asdict`, `_make`, a `Name(field=value, ...)` repr, pickling). Equality,
hashing and ordering are the tuple's, as with `typing`. tests/test_records.py holds it to
`typing.NamedTuple` class by class.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:  # the C descriptor `collections.namedtuple` uses for its fields
    from _collections import _tuplegetter  # type: ignore[import-not-found]
except ImportError:  # (another Python)
    from operator import itemgetter

    def _tuplegetter(index: int, doc: str | None) -> Any:
        return property(itemgetter(index), doc=doc)

_new = tuple.__new__
_RESERVED = frozenset({"_fields", "_field_defaults", "_make", "_replace", "_asdict",
                       "__new__", "__init__", "__slots__", "__getnewargs__"})


class _Maker(type):
    """The metaclass of `NamedTuple`: a class deriving from it is made a tuple subclass."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]
                ) -> Any:
        if namespace.get("__module__") == __name__ and name == "NamedTuple":
            return super().__new__(mcs, name, bases, namespace)
        fields = tuple(namespace.get("__annotations__", {}))
        for field in fields:
            if not field.isidentifier() or field.startswith("_") or field in _RESERVED:
                raise AttributeError(f"{name}: field name {field!r} is not allowed")
        defaults = {f: namespace.pop(f) for f in fields if f in namespace}
        first_default = next((i for i, f in enumerate(fields) if f in defaults), len(fields))
        if any(f not in defaults for f in fields[first_default:]):
            raise TypeError(f"{name}: a field without a default follows one with a default")
        size = len(fields)
        # as collections.namedtuple: the fields as the parameters of a compiled __new__
        # (Python's own binding of positional, keyword and default arguments, at C speed)
        listed = ", ".join(fields)
        __new__ = eval(f"lambda _cls, {listed}: _new(_cls, ({listed}{',' if size else ''}))",
                       {"_new": _new, "__name__": f"records.{name}"})
        __new__.__name__ = "__new__"
        __new__.__qualname__ = f"{name}.__new__"
        __new__.__defaults__ = tuple(defaults[f] for f in fields[first_default:]) or None

        def __repr__(self: tuple[Any, ...]) -> str:
            inner = ", ".join(f"{f}={v!r}" for f, v in zip(fields, self, strict=True))
            return f"{type(self).__name__}({inner})"

        def _replace(self: tuple[Any, ...], **changes: Any) -> Any:
            values = [changes.pop(f, v) for f, v in zip(fields, self, strict=True)]
            if changes:
                raise ValueError(f"got unexpected field names: {list(changes)!r}")
            return _new(type(self), values)

        def _asdict(self: tuple[Any, ...]) -> dict[str, Any]:
            return dict(zip(fields, self, strict=True))

        def _make(cls: type, iterable: Any) -> Any:
            values = tuple(iterable)
            if len(values) != size:
                raise TypeError(f"expected {size} arguments, got {len(values)}")
            return _new(cls, values)

        def __getnewargs__(self: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(self)

        made: dict[str, Any] = {
            "__slots__": (), "__new__": __new__, "__repr__": __repr__,
            "_replace": _replace, "_asdict": _asdict, "_make": classmethod(_make),
            "__getnewargs__": __getnewargs__, "_fields": fields,
            "_field_defaults": dict(defaults), "__match_args__": fields}
        for index, field in enumerate(fields):
            made[field] = _tuplegetter(index, f"Alias for field number {index}")
        for key, value in namespace.items():
            if key not in ("__annotations__", "__slots__", "__qualname__", "__module__",
                           "__doc__", "__orig_bases__"):
                made[key] = value  # the class's own methods (a __repr__ of its own wins)
        for key in ("__module__", "__qualname__", "__doc__"):
            if key in namespace:
                made[key] = namespace[key]
        made["__annotations__"] = namespace.get("__annotations__", {})
        return type.__new__(type, name, (tuple,), made)


class NamedTuple(metaclass=_Maker):
    """Derive from this as from `typing.NamedTuple` (see the module's docstring)."""
