"""core/records.NamedTuple (the records of the hooks' path, built without `typing`) behaves
as `typing.NamedTuple` for every record class of the package: fields, defaults, construction
by position and name, errors, equality and hashing, repr, _replace/_asdict/_make, pickling
and the class's own methods."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import typing

import pytest

import git_elite
from git_elite.core.records import NamedTuple


def _records() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(git_elite.__path__, "git_elite."):
        if info.name.startswith("git_elite.web") or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__ \
                    and issubclass(value, tuple) and hasattr(value, "_fields"):
                found.append(value)
    return found


RECORDS = _records()


def test_the_hooks_records_are_built_here() -> None:
    from git_elite.core import errors, layout, state

    for cls in (errors.Problem, state.Change, layout.Slot):
        # built by core/records (its __new__ compiled in "records.<name>"), not by
        # collections.namedtuple through typing (compiled in "namedtuple_<name>")
        assert cls.__new__.__globals__["__name__"] == f"records.{cls.__name__}"
        assert cls in RECORDS


@pytest.mark.parametrize("cls", RECORDS, ids=[f"{c.__module__}.{c.__qualname__}" for c in RECORDS])
def test_each_record_matches_typing_namedtuple(cls: type) -> None:
    fields = cls._fields  # type: ignore[attr-defined]
    defaults = cls._field_defaults  # type: ignore[attr-defined]
    twin = typing.NamedTuple(cls.__name__, [(f, object) for f in fields])  # type: ignore[misc]
    twin.__new__.__defaults__ = tuple(defaults[f] for f in fields if f in defaults) or None
    values = [f"v{i}" for i in range(len(fields))]
    ours, theirs = cls(*values), twin(*values)
    assert tuple(ours) == tuple(theirs) and ours == theirs and hash(ours) == hash(theirs)
    assert cls(**dict(zip(fields, values, strict=True))) == ours
    assert ours._asdict() == theirs._asdict() and cls._make(values) == ours  # type: ignore
    if fields:
        assert ours._replace(**{fields[0]: "x"})[0] == "x"  # type: ignore[attr-defined]
        assert getattr(ours, fields[0]) == "v0"
        with pytest.raises(AttributeError):
            setattr(ours, fields[0], "y")
    required = [f for f in fields if f not in defaults]
    if required:
        with pytest.raises(TypeError):
            cls()
    with pytest.raises(TypeError):
        cls(*values, "one too many")
    with pytest.raises(TypeError):
        cls(*values, not_a_field=1)
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert type(pickle.loads(pickle.dumps(ours))) is cls
    assert repr(ours).startswith(cls.__name__ + "(")  # its own repr or the built one


def test_defaults_methods_and_repr() -> None:
    class Point(NamedTuple):
        x: int
        y: int = 2

        def total(self) -> int:
            return self.x + self.y

    class Twin(typing.NamedTuple):
        x: int
        y: int = 2

    assert Point(1) == Twin(1) and Point(1).total() == 3 and Point(x=1, y=5).y == 5
    assert repr(Point(1)) == repr(Twin(1)).replace("Twin", "Point")
    assert Point._fields == Twin._fields and Point._field_defaults == Twin._field_defaults
    assert Point.__match_args__ == ("x", "y")
    with pytest.raises(TypeError):
        type("Bad", (NamedTuple,), {"__annotations__": {"a": "int", "b": "int"}, "a": 1})
    with pytest.raises(AttributeError):
        type("Bad", (NamedTuple,), {"__annotations__": {"_a": "int"}})
