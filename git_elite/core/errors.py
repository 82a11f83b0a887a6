"""Every user-facing failure is an EliteError with a message a user can act on.

Problems found by verification are values (`Problem`), not exceptions, so callers can list
every problem instead of stopping at the first.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple
else:
    from git_elite.core.records import NamedTuple


RULES = (
    "layout", "json", "schema", "signature", "binding", "ownership", "rollback", "deletion",
    "identity", "policy", "secret", "index", "non-fast-forward", "branch",
    "timestamp", "log", "split-view",
)


class EliteError(Exception):
    """Base of all errors shown to users. `str(err)` is the one-line message."""

    exit_code = 1

    def __init__(self, message: str, *, rule: str | None = None, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.path = path

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        tag = f"[{self.rule}] " if self.rule else ""
        return f"{where}{tag}{self.message}"

    def problem(self, commit: str | None = None) -> Problem:
        return Problem(self.rule or "json", self.path or "", self.message, commit)


class UsageError(EliteError):
    exit_code = 2


class JsonError(EliteError):
    """Strict JSON parsing failed (rule `json`)."""


class ManifestError(EliteError):
    """A document is malformed (schema or cross-field rules)."""


class SignatureError(EliteError):
    """A signature is missing, malformed or does not verify."""


class IdentityError(EliteError):
    """identity.json, a did:key or a key file is unusable."""


class TrustError(EliteError):
    """The trust set or an endorsement is unusable."""


class RegistryError(EliteError):
    """A registry cannot be read, written or reached."""


class HookError(EliteError):
    """A git hook cannot be installed or run."""


class Problem(NamedTuple):  # not a dataclass: no `dataclasses` import (SPEC §12 start-up)
    """One rule violation: which rule, which file, which commit, and why."""

    rule: str
    path: str
    message: str
    commit: str | None = None

    def line(self) -> str:
        """One terminal-safe line (path and message may come from a registry)."""
        from git_elite.core.safetext import escape

        return escape(f"{self.path or '-'}: [{self.rule}] {self.message}")

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "path": self.path, "commit": self.commit,
                "message": self.message}

    def at(self, commit: str | None) -> Problem:
        return Problem(self.rule, self.path, self.message, commit)


MAX_REJECT_LINES = 100  # SPEC §13: a refused push prints at most this many REJECT lines


def reject_lines(problems: list[Problem], limit: int = MAX_REJECT_LINES) -> list[str]:
    """`git-elite: REJECT <commit-short> <path>: [<rule>] <reason>` for the first `limit`
    problems, then one line with how many more there were (`verify --json` lists all)."""
    lines = [f"git-elite: REJECT {(p.commit or '')[:7] or '-------'} {p.line()}"
             for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"git-elite: ... and {len(problems) - limit} more problem(s) not shown "
                     "(`git elite verify --history --json` on the pushed branch lists every "
                     "one)")
    return lines
