"""The .gitattributes rule (SPEC §4). Pure.

A registry's bytes are never converted: `.gitattributes` must hold `*.json -text` and the
`elite-index` merge lines of its format, and no line may set `filter`, `text`, `eol`,
`ident` or `working-tree-encoding` (nor make them unspecified again with `!`) for any
pattern: every path of a registry repository is a registry path. Unsetting (`-text`) is what
the rule asks for and is always fine; macro definitions (`[attr]name …`) are held to the
same rule, since a macro set on a path sets what it names.
"""

from __future__ import annotations

from git_elite.core import layout

CONVERTING = frozenset({"filter", "text", "eol", "ident", "working-tree-encoding", "crlf"})


def problems(data: bytes | None, fmt: int) -> list[str]:
    """What is wrong with `data` as a registry's .gitattributes (None: deleted)."""
    if data is None:
        return [".gitattributes cannot be removed: it must keep "
                + ", ".join(repr(x) for x in layout.REQUIRED_ATTRIBUTES[fmt])]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [".gitattributes is not UTF-8"]
    lines = [line.strip() for line in text.splitlines()]
    found = {" ".join(line.split()) for line in lines}
    out = [f"the required line {want!r} is missing (SPEC §4)"
           for want in layout.REQUIRED_ATTRIBUTES[fmt] if want not in found]
    for number, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        pattern, *attrs = line.split()
        for attr in attrs:
            name = attr.lstrip("!").split("=", 1)[0]
            if name in CONVERTING and not attr.startswith("-"):
                out.append(f"line {number} sets {attr!r} on {pattern!r}: registry files are "
                           "never converted (filter/text/eol/ident/working-tree-encoding)")
    return out
