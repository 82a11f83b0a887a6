"""YAML for local files (agents.yaml, registries.yaml) that cannot explode (issue 17.10).

PyYAML shares the object an alias names, so a 408-byte "billion laughs" file loads as a
small graph that is 9^8 = 43 million values once anything walks it (canonical JSON, the
schema). `load` refuses a file over MAX_BYTES, nesting that breaks the parser, and a value
whose expanded size (every alias counted as the copy it stands for) passes MAX_NODES."""

from __future__ import annotations

from typing import Any

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000


class YamlError(ValueError):
    """The text is not YAML we accept; the message is one line."""


def load(raw: bytes) -> Any:
    import yaml

    if len(raw) > MAX_BYTES:
        raise YamlError(f"{len(raw)} bytes exceeds the limit of {MAX_BYTES}")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as err:
        raise YamlError(f"not valid YAML ({str(err).splitlines()[0]})") from None
    except RecursionError:
        raise YamlError("nested too deeply") from None
    if expanded_size(value, MAX_NODES) > MAX_NODES:
        raise YamlError(f"more than {MAX_NODES} values once its aliases are expanded (an "
                        "alias bomb?)")
    return value


def expanded_size(value: Any, stop: int) -> int:
    """How many values `value` holds with shared (aliased) parts counted once per use;
    iterative and memoised by identity, so it is cheap whatever the expansion; counting
    stops past `stop`."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes or not isinstance(node, (list, dict)):
            continue
        kids = list(node.values()) + list(node) if isinstance(node, dict) else node
        if not done:
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids if id(kid) not in sizes)
            continue
        sizes[id(node)] = min(stop + 1, 1 + sum(sizes.get(id(kid), 1) for kid in kids))
    return sizes.get(id(value), 1)
