"""The witnessed log's decisions (SPEC §15), pure: a checkpoint note opened under a registry's
log role (the log key's signature, the declared witnesses' cosignatures, the quorum), the
consistency of two checkpoints (else `split-view`), the tlog-witness request and answers,
and the leaf a tip must be. Bytes and values in; values or `LogError` out.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

from git_elite.core import keys, note, tlog
from git_elite.core.errors import EliteError
from git_elite.core.logrole import RULE, SPLIT_VIEW, LogRole


class LogError(EliteError):
    """A checkpoint or log that readers and the server refuse (rule `log` or `split-view`)."""

    def __init__(self, message: str, *, rule: str = RULE, path: str | None = None):
        super().__init__(message, rule=rule, path=path)


@dataclass(frozen=True)
class Opened:
    """A checkpoint signed by the log key: its parsed body, the note's bytes, and the valid
    cosignatures of declared witnesses (name -> timestamp)."""

    checkpoint: note.Checkpoint
    data: bytes
    cosigned: dict[str, int] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root


def log_verifier(role: LogRole) -> note.Verifier:
    return note.parse_verifier_key(note.verifier_key(role.origin,
                                                     keys.public_from_did(role.key)))


def open_note(data: bytes, role: LogRole) -> Opened:
    """The checkpoint `data` (a signed note) under `role`: signed by the log key with the
    origin as key name, body a valid C2SP checkpoint of that origin. Cosignatures by
    declared witnesses that verify are collected; others are ignored (C2SP: a verifier
    skips signatures it does not know)."""
    try:
        checkpoint, parsed = note.open_checkpoint(data, log_verifier(role))
    except EliteError as err:
        raise LogError(f"checkpoint not signed by the log key {role.key} as "
                       f"{role.origin[:80]}: {err.message}") from None
    if checkpoint.origin != role.origin:
        raise LogError(f"the checkpoint's origin {checkpoint.origin[:80]!r} is not the "
                       f"declared {role.origin[:80]!r}")
    cosigned: dict[str, int] = {}
    for sig in parsed.signatures:
        witness = role.witness(sig.name)
        if witness is None or sig.name in cosigned:
            continue
        when = note.verify_cosignature(sig.key_id + sig.sig, parsed.text, sig.name,
                                       keys.public_from_did(witness.key))
        if when is not None:
            cosigned[sig.name] = when
    return Opened(checkpoint, data, cosigned)


def quorum_problem(opened: Opened, role: LogRole) -> str | None:
    """None when `role.quorum` distinct declared witnesses cosigned, else why not."""
    if len(opened.cosigned) >= role.quorum:
        return None
    have = ", ".join(sorted(opened.cosigned)) or "none"
    return (f"checkpoint of size {opened.size} has {len(opened.cosigned)} valid witness "
            f"cosignature(s) ({have}); the registry requires {role.quorum} of "
            f"{', '.join(w.name for w in role.witnesses)}")


def check_consistent(old: Opened, new: Opened, proof: Sequence[bytes]) -> None:
    """`new` extends `old` (RFC 6962 consistency proof `proof`, old.size -> new.size), else
    LogError(split-view) naming both."""
    if new.size < old.size:
        raise LogError(f"the log shrank: checkpoint of size {new.size} after one of size "
                       f"{old.size}", rule=SPLIT_VIEW)
    if new.size == old.size:
        if new.root != old.root:
            raise LogError(f"two checkpoints of size {new.size} with different roots "
                           f"({_short(old.root)} and {_short(new.root)})", rule=SPLIT_VIEW)
        return
    try:
        tlog.check_tree(list(proof), new.size, new.root, old.size, old.root)
    except EliteError as err:
        raise LogError(f"checkpoint of size {new.size} (root {_short(new.root)}) does not "
                       f"extend the one of size {old.size} (root {_short(old.root)}): "
                       f"{err.message}", rule=SPLIT_VIEW) from None


def _short(root: bytes) -> str:
    return base64.b64encode(root).decode()[:12]


def with_cosignatures(data: bytes, lines: Sequence[str]) -> bytes:
    """The note `data` with the cosignature `lines` added; an older line by the same
    witness name is replaced (the log key's own signature stays first)."""
    parsed = note.Note.parse(data)
    new = [note.Signature.parse(line.removesuffix("\n")) for line in lines]
    names = {s.name for s in new}
    first = parsed.signatures[:1]
    rest = [s for s in parsed.signatures[1:] if s.name not in names]
    return note.Note(parsed.text, (*first, *rest, *new)).to_bytes()


def without_cosignatures(data: bytes) -> bytes:
    """The note with only its first (the log key's) signature."""
    parsed = note.Note.parse(data)
    return note.Note(parsed.text, parsed.signatures[:1]).to_bytes()


def parse_size(body: bytes) -> int:
    """A 409 `text/x.tlog.size` answer: the witness's latest size."""
    text = body.decode("ascii", "replace").strip()
    if not text.isdigit() or len(text) > 20:
        raise LogError(f"the witness answered 409 with an unreadable size {text[:30]!r}")
    return int(text)


def cosignature_answer(body: bytes, witness: str) -> list[str]:
    """The cosignature lines of a 200 answer that belong to `witness` (the answer is
    c2sp.org/tlog-witness's signature lines; anything else gives none)."""
    from git_elite.core.witness import parse_cosignatures

    try:
        lines = parse_cosignatures(body)
    except EliteError:
        return []
    return [s.line() for s in lines if s.name == witness]


def tip_problem(last_leaf: bytes | None, *, branch: str, tip: str,
                index_sha256: str) -> str | None:
    """None when the log's latest leaf is exactly the state read (branch, tip, INDEX.json's
    digest), else what differs. Over HTTP the commit is not known (`tip` empty): the
    INDEX.json digest, which pins every file read (SPEC §6.2), must match."""
    from git_elite.core.logrole import parse_leaf

    if last_leaf is None:
        return "the log has no leaf"
    fields = parse_leaf(last_leaf)
    if fields is None:
        return "the log's latest leaf is not a registry-state leaf"
    if (branch and fields["branch"] != branch) or (tip and fields["commit"] != tip):
        return (f"the tip read ({branch} {tip[:12]}) is not the log's latest leaf "
                f"({fields['branch']} {fields['commit'][:12]})")
    if fields["index_sha256"] != index_sha256:
        return (f"INDEX.json {'at ' + tip[:12] if tip else 'served'} is not the one the log's "
                "latest leaf names")
    return None
