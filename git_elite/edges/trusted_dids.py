"""The trust set on disk (SPEC §8): $AGENTD_HOME/trusted-dids.json, loaded and saved (0600).
What trust means is core/trust.py's (pure)."""

from __future__ import annotations

import os

from git_elite.core import documents
from git_elite.core.errors import EliteError, TrustError
from git_elite.core.trust import TrustSet
from git_elite.edges import store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


def load(path: str | Path) -> TrustSet:
    """The trust set at `path`; an empty one (max_depth 2) when the file does not exist. A
    damaged one (truncated, not the format) is one error naming the file and what to do:
    never rebuilt silently, since an empty trust set would drop whom the user trusts."""
    if not os.path.exists(path):
        return TrustSet()
    try:
        return TrustSet.from_bytes(store.read_bytes(path), str(path))
    except EliteError as err:
        raise TrustError(f"{err}; fix it, or move it away and `git elite trust add` again "
                         "whom you trust") from None


def local() -> TrustSet:
    """The trust set as readers use it: $AGENTD_HOME/trusted-dids.json plus this node's own
    DID (none without a usable identity: reading works without one)."""
    from git_elite.core.errors import IdentityError
    from git_elite.edges import identity

    try:
        own: str | None = identity.load_identity().did
    except IdentityError:
        own = None
    return load(os.path.join(store.home_dir(), "trusted-dids.json")).with_self(own)


def save(path: Path, trust: TrustSet) -> None:
    store.atomic_write(path, documents.to_bytes(trust.to_dict()), 0o600)
