"""The server side of the witnessed log (SPEC §15): after an accepted push, append the new
tip's leaf, sign the checkpoint with the log key (`git config elite.logKey FILE`), ask every
declared witness for a cosignature (c2sp.org/tlog-witness, with a consistency proof from the
witness's size), store the result in refs/elite/log. One writer at a time (a lock in the
git directory), so two pushes never sign two checkpoints of the same size. A witness that is
down is a warning, never a failed push. `git elite log sign` re-asks the witnesses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from git_elite.core import keys, logrole, note, tlog, witnessed
from git_elite.core.errors import EliteError, Problem, RegistryError
from git_elite.core.logrole import LogRole, Witness
from git_elite.core.witness import request_body
from git_elite.edges import freshness, git, tlogstore

TIMEOUT = 10.0  # seconds per witness request (`git config elite.witnessTimeout`)
MAX_ANSWER = 64 * 1024


@dataclass
class Signed:
    """What one signing did: the checkpoint stored, the cosigners, the warnings."""

    size: int
    cosigned: dict[str, int]
    quorum: int
    appended: bool
    warnings: list[str] = field(default_factory=list)
    logged: bool = False  # the tip was the latest leaf already, with its quorum: nothing done

    def line(self) -> str:
        names = ", ".join(sorted(self.cosigned)) or "none"
        state = "quorum met" if len(self.cosigned) >= self.quorum else \
            f"BELOW QUORUM {self.quorum}"
        what = "appended" if self.appended else "already has this tip" if self.logged \
            else "re-signed"
        return (f"log {what}: checkpoint size {self.size}, cosigned by {len(self.cosigned)} "
                f"witness(es) ({names}), {state}")


@contextmanager
def _locked(cwd: str | Path) -> Iterator[None]:
    """One log writer per repository (released when the process ends, whatever happens)."""
    import fcntl

    gitdir = git.run(["rev-parse", "--absolute-git-dir"], cwd).stdout.decode().strip()
    with open(Path(gitdir) / "elite-log.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def role_at(cwd: str | Path, tip: str) -> LogRole | None:
    return logrole.LogRole.of(freshness.identity_at(cwd, tip))


def sign_in_place(cwd: str | Path, *, branch: str, key: keys.Keypair, now: int,
                  append: bool = True) -> Signed:
    """Append the branch tip's leaf (when it is not the latest leaf already and `append`),
    sign, collect cosignatures, store. Raises RegistryError when nothing can be stored."""
    with _locked(cwd):
        tip = freshness.resolve(cwd, branch)
        if tip is None:
            raise RegistryError(f"{branch} does not exist: nothing to log")
        role = role_at(cwd, tip)
        if role is None:
            raise RegistryError("the registry declares no log role (IDENTITY.json `log`; "
                                "`git elite role set log`)")
        if key.did != role.key:
            raise RegistryError(f"the log key {key.did} is not the declared {role.key}")
        repo = git.open_repo(cwd)
        stored = tlogstore.current(repo)
        base, size, previous = _base(stored, role)
        short = branch.removeprefix("refs/heads/")
        leaf = logrole.leaf(short, tip, _index_sha256(cwd, tip))
        last = tlogstore.leaves(base, size - 1, size)[0] if base and size else None
        new = [leaf] if append and leaf != last else []
        if not new and base is None:
            raise RegistryError("no log yet: a push (or `git elite log sign` after one) "
                                "starts it")
        if append and not new and previous is not None and \
                len(previous.cosigned) >= role.quorum:  # logged and witnessed already
            return Signed(size, previous.cosigned, role.quorum, False, [], logged=True)
        files, total, root, reader = _extend(base, size, new)
        data = note.sign_note(note.Checkpoint(role.origin, total, root, ()).body(),
                              role.origin, key) if new or previous is None else \
            witnessed.without_cosignatures(previous.data)
        data, cosigned, warnings = collect(role, data, total, reader,
                                           previous.cosigned if previous else {}, size, now,
                                           cwd)
        files[tlogstore.CHECKPOINT] = data
        files.update(tlogstore.stale_partials(repo, base.commit if base else None, files))
        parent = stored.commit if stored else None
        commit = tlogstore.write(repo, parent, files, f"log size {total}\n")
        if not tlogstore.move(cwd, commit, parent):
            raise RegistryError(f"{logrole.REF} moved under the lock; try again")
        return Signed(total, cosigned, role.quorum, bool(new), warnings)


def _base(stored: tlogstore.Stored | None, role: LogRole
          ) -> tuple[tlogstore.Stored | None, int, witnessed.Opened | None]:
    """The log to extend: the stored one when it is this role's (same origin and key),
    else none (a new origin starts a new log; the ref's history keeps the old one)."""
    if stored is None:
        return None, 0, None
    try:
        opened = witnessed.open_note(stored.note, role)
    except EliteError:
        return None, 0, None
    return stored, opened.size, opened


def _extend(base: tlogstore.Stored | None, size: int, new: list[bytes]
            ) -> tuple[dict[str, bytes | None], int, bytes, tlog.HashReader]:
    if new:
        files, total, root = tlogstore.append(base, size, new)
        reader = tlogstore.hash_reader_with(base, size, files, total)
        return dict(files), total, root, reader
    reader = tlogstore.hash_reader(base, size)
    return {}, size, tlog.tree_hash(size, reader), reader


def _index_sha256(cwd: str | Path, tip: str) -> str:
    index = freshness.index_at(cwd)(tip)
    if index is None:
        raise RegistryError(f"no INDEX.json at {tip[:12]}")
    return hashlib.sha256(index).hexdigest()


# witnesses ---------------------------------------------------------------------------------
def collect(role: LogRole, data: bytes, size: int, reader: tlog.HashReader,
            before: dict[str, int], old_size: int, now: int, cwd: str | Path | None = None
            ) -> tuple[bytes, dict[str, int], list[str]]:
    """Ask every witness (in parallel) to cosign `data`; returns the note with the valid
    cosignatures added, who cosigned, and one warning per witness that did not."""
    from concurrent.futures import ThreadPoolExecutor  # not on pre-receive's log-ref check

    timeout = _timeout(cwd)
    guesses = {w.name: (old_size if w.name in before else 0) for w in role.witnesses}
    with ThreadPoolExecutor(max_workers=min(8, len(role.witnesses))) as pool:
        answers = list(pool.map(lambda w: _ask(w, data, size, reader, guesses[w.name],
                                               timeout), role.witnesses))
    lines, warnings = [], []
    for witness, (line, warning) in zip(role.witnesses, answers, strict=True):
        if line is not None:
            lines.append(line)
        if warning:
            warnings.append(f"witness {witness.name}: {warning}")
    signed = witnessed.with_cosignatures(data, lines)
    opened = witnessed.open_note(signed, role)
    del now  # the witnesses' clocks date their cosignatures
    return signed, opened.cosigned, warnings


def _ask(witness: Witness, data: bytes, size: int, reader: tlog.HashReader, old: int,
         timeout: float) -> tuple[str | None, str | None]:
    """One witness: POST add-checkpoint from `old`; on 409 text/x.tlog.size learn its size
    and retry once. Returns (a verified cosignature line, or None; a warning, or None)."""
    body = note.Note.parse(data).text
    public = keys.public_from_did(witness.key)
    for attempt in range(2):
        if old > size:
            return None, (f"has seen a log of size {old}, larger than this one ({size}): "
                          "another copy of this log exists (split view?)")
        proof = tlog.prove_tree(size, old, reader) if 0 < old < size else []
        status, ctype, answer = post(witness.url, request_body(old, proof, data), timeout)
        if status == 409 and ctype.startswith("text/x.tlog.size") and attempt == 0:
            try:
                old = witnessed.parse_size(answer)
            except EliteError as err:
                return None, err.message
            continue
        if status != 200:
            return None, _why(status, answer)
        for line in witnessed.cosignature_answer(answer, witness.name):
            if note.verify_cosignature(line, body, witness.name, public) is not None:
                return line.removesuffix("\n"), None
        return None, "answered 200 without a valid cosignature by its declared key"
    return None, "its size kept changing"


def _why(status: int, answer: bytes) -> str:
    from git_elite.core.safetext import escape

    said = escape(answer[:200].decode("utf-8", "replace").strip())
    known = {0: "unreachable", 403: "does not know the log key", 404: "does not know "
             "this origin", 409: "refused: it saw another checkpoint of this size "
             "(equivocation evidence kept)", 422: "refused the consistency proof",
             400: "refused the request as malformed"}
    return f"{known.get(status, f'HTTP {status}')}" + (f": {said}" if said else "")


def post(url: str, body: bytes, timeout: float) -> tuple[int, str, bytes]:
    """POST to <url>/add-checkpoint; (status, content type, at most MAX_ANSWER bytes).
    Status 0: unreachable (the reason as the answer)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url.rstrip("/") + "/add-checkpoint", data=body,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, answer.headers.get("Content-Type", ""), \
                answer.read(MAX_ANSWER)
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", "") if err.headers else "", \
            err.read(MAX_ANSWER)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return 0, "", str(reason).encode()


def _timeout(cwd: str | Path | None) -> float:
    value = git.config_get("elite.witnessTimeout", cwd)
    try:
        return float(value) if value else TIMEOUT
    except ValueError:
        raise RegistryError(f"git config elite.witnessTimeout: {value!r} is not a number of "
                            "seconds") from None


# the hook --------------------------------------------------------------------------------------
def post_receive(cwd: str | Path, lines: Sequence[str], branch: str, now: int
                 ) -> list[str]:
    """After an accepted push: when the registry branch moved, the registry declares a log
    role and `elite.logKey` is set, log the new tip. Returns the lines to show the pusher."""
    moved = [line for line in lines if len(line.split()) == 3 and line.split()[2] == branch
             and line.split()[1] != git.ZERO]
    configured = git.config_get("elite.logKey", cwd)
    if not moved or not configured:
        return []
    if role_at(cwd, moved[-1].split()[1]) is None:
        return []
    from git_elite.edges import stamping

    key = stamping.load_key(Path(configured), cwd, what="log key")
    done = sign_in_place(cwd, branch=branch, key=key, now=now)
    return [*done.warnings, done.line()]


def load(cwd: str | Path) -> Any:
    """The configured log key (`git config elite.logKey`)."""
    from git_elite.edges import stamping

    configured = git.config_get("elite.logKey", cwd)
    if not configured:
        raise RegistryError("no log key: git config elite.logKey FILE (or `git elite hooks "
                            "install --server --log-key FILE`)")
    return stamping.load_key(Path(configured), cwd, what="log key")


# the server's `log` rule (pre-receive) ---------------------------------------------------------
def check_ref_update(repo: Any, cwd: str | Path, old: str, new: str, *, branch: str,
                     branch_tip: str | None) -> list[Problem]:
    """Problems of a pushed update of refs/elite/log (SPEC §15, docs/log.md): never deleted;
    a commit whose only parent is the current log commit, whose tree holds only
    `checkpoint` and tiles; the checkpoint signed by the declared log key; its tiles give
    its root; it extends the current checkpoint (consistency); its latest leaf is the
    registry branch's tip or an ancestor of it, with that commit's INDEX.json. Cosignatures
    are not required here (readers require the quorum)."""
    def problem(message: str) -> list[Problem]:
        return [Problem(logrole.RULE, logrole.REF, message, new)]

    if new == git.ZERO:
        return [Problem(logrole.RULE, logrole.REF, "the log cannot be deleted", old)]
    role = role_at(cwd, branch_tip) if branch_tip else None
    if role is None:
        return problem("the registry declares no log role at the branch tip")
    if git.parent_ids(repo, new) != ([] if old == git.ZERO else [old]):
        return problem("a log commit's only parent must be the current log commit "
                       f"{'(none)' if old == git.ZERO else old[:12]}")
    try:
        _check_tree(repo, new)
        stored = tlogstore.at(repo, new)
        opened = witnessed.open_note(stored.note, role)
        tlogstore.check_tiles(stored, opened)
        if old != git.ZERO:
            _check_extends(repo, old, stored, opened, role)
        _check_last_leaf(cwd, stored, opened.size, branch, branch_tip or "")
    except EliteError as err:
        return [Problem(err.rule or logrole.RULE, logrole.REF, err.message, new)]
    return []


def _check_tree(repo: Any, commit: str) -> None:
    tree = git.commit_tree(repo, commit)
    names = {entry.name for entry in tree} if tree is not None else set()
    if not names <= {tlogstore.CHECKPOINT, "tile"}:
        raise witnessed.LogError("a log commit's tree holds only `checkpoint` and `tile/` "
                                 f"(found {', '.join(sorted(names - {'checkpoint', 'tile'}))})")


def _check_extends(repo: Any, old: str, stored: tlogstore.Stored, opened: witnessed.Opened,
                   role: LogRole) -> None:
    try:
        before = witnessed.open_note(tlogstore.at(repo, old).note, role)
    except EliteError:
        return  # the previous log was another role's (a new origin or key starts afresh)
    reader = tlogstore.hash_reader(stored, opened.size)
    proof = tlog.prove_tree(opened.size, before.size, reader) \
        if 0 < before.size < opened.size else []
    witnessed.check_consistent(before, opened, proof)


def _check_last_leaf(cwd: str | Path, stored: tlogstore.Stored, size: int, branch: str,
                     tip: str) -> None:
    if size == 0:
        raise witnessed.LogError("the log has no leaf")
    fields = logrole.parse_leaf(tlogstore.leaves(stored, size - 1, size)[0])
    if fields is None or f"refs/heads/{fields['branch']}" != branch:
        raise witnessed.LogError(f"the log's latest leaf is not a registry-state leaf of "
                                 f"{branch}")
    commit = fields["commit"]
    if commit != tip and not git.is_ancestor(cwd, commit, tip):
        raise witnessed.LogError(f"the log's latest leaf {commit[:12]} is not on {branch}")
    if _index_sha256(cwd, commit) != fields["index_sha256"]:
        raise witnessed.LogError(f"the log's latest leaf names another INDEX.json than "
                                 f"{commit[:12]}'s")
