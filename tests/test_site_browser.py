"""The leaderboard page in headless Chromium (Debian's package, through selenium and the
system chromedriver): RFC 8785 and strict Ed25519 in JS against the shared vectors, the
ranking, paging, filters, sorting, keyboard use, a narrow screen, and the verification marks
on a clean site and on sites with a tampered manifest, a tampered shard, an expired and a
forged timestamp. Skipped, with the reason printed, when the browser is not installed."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from git_elite.core import documents, jsonstrict, keys, layout
from git_elite.core.errors import EliteError
from git_elite.edges import site
from tests.conftest import ROOT
from tests.helpers_discover import registry_with
from tests.helpers_registry import (
    T0,
    agent_id_of,
    attestation,
    commit_raw,
    endorsement,
    isolated_module_env,
    key,
    manifest,
    nid,
    profile,
)
from tests.helpers_site import browser_missing, chromium, serve

pytestmark = pytest.mark.skipif(browser_missing() is not None,
                                reason=str(browser_missing()))
VECTORS = ROOT / "fixtures" / "vectors"
AGENTS = [{"owner": o, "n": i, "rate": 0.8 + (i % 20) / 100, "total": 60 + 7 * i, "recent": 15}
          for i, o in enumerate(["alice", "bob", "carol"] * 15)]
NOW = int(time.time())
XSS = '<img src=x onerror="window.pwned=1">'
XSS_CONFIG = profile(90, module=XSS)
ATTESTED = 5  # the rank (0-based) of the agent given attestations


def _xss_agent() -> dict[str, bytes | None]:
    """A (not elite) agent whose module is markup and whose repo_ref is a javascript: URL."""
    body = manifest("mallory", XSS_CONFIG, total=12, recent=3,
                    repo_ref={"type": "git", "url": "javascript:window.pwned=2"})
    agent_id = agent_id_of(XSS_CONFIG)
    return {layout.agent_path(agent_id, "manifest.json"): documents.to_bytes(body),
            layout.agent_path(agent_id, "profile.json"): documents.to_bytes(XSS_CONFIG)}


def _attestations(work: Path) -> dict[str, bytes | None]:
    """On the agent ranked ATTESTED: a valid attestation by dave, one by eve whose bytes were
    changed after signing, and one by the agent's own owner (committed without the hook,
    which would refuse the last two: the page must catch them on its own)."""
    top = _top(work, ATTESTED)
    owner = _owner(work, top)
    tampered = attestation("eve", top, rate=0.7)
    tampered["metrics"]["success_rate"] = 0.99
    docs = {"dave": attestation("dave", top, rate=0.7), "eve": tampered,
            owner: attestation(owner, top, rate=0.95)}
    return {layout.attestation_path(top, nid(who)): documents.to_bytes(body)
            for who, body in docs.items()}


def _owner(root: Path, agent_id: str) -> str:
    return _owner_name(json.loads((root / layout.agent_path(agent_id, "manifest.json"))
                                  .read_bytes())["owner_did"])


def _replay_attestation(root: Path) -> None:
    """dave's (valid, signed) attestation of the agent ranked ATTESTED copied onto the next
    one and listed in site.json, as a lying host would."""
    top, second = _top(root, ATTESTED), _top(root, ATTESTED + 1)
    moved = layout.attestation_path(second, nid("dave"))
    (root / moved).parent.mkdir(parents=True)
    (root / moved).write_bytes((root / layout.attestation_path(top, nid("dave"))).read_bytes())
    listing = json.loads((root / "site.json").read_bytes())
    listing["attestations"].append(moved)
    (root / "site.json").write_text(json.dumps(listing))


# the sites ---------------------------------------------------------------------------------
def _identity_with_role(raw: bytes, role: dict[str, Any]) -> bytes:
    body = json.loads(raw)
    body.pop("signatures")
    body["timestamp"] = role
    return documents.to_bytes(documents.sign_multi(body, [key("server")]))


def _timestamp(identity: bytes, index: bytes, *, expires: int, signer: str = "dave"
               ) -> bytes:
    ident = json.loads(identity)
    body = {"type": "timestamp", "schema_version": 1, "registry": ident["name"],
            "owner_did": ident["owner_did"], "branch": "main", "tip": "0" * 40,
            "index_sha256": hashlib.sha256(index).hexdigest(), "version": 3,
            "created_at": expires - 3600, "expires_at": expires}
    return documents.to_bytes(documents.sign_multi(body, [key(signer)]))


def _with_timestamp(root: Path, expires: int, signer: str = "dave") -> None:
    """The registry given a timestamp role (IDENTITY.json re-signed, and re-pinned by the
    head, as `git elite index` would) and a timestamp over that head."""
    role = {"keys": [key("dave").did], "threshold": 1, "max_age": 86400}
    identity = _identity_with_role((root / layout.IDENTITY).read_bytes(), role)
    (root / layout.IDENTITY).write_bytes(identity)
    head = json.loads((root / layout.INDEX).read_bytes())
    head["identity"]["sha256"] = hashlib.sha256(identity).hexdigest()
    (root / layout.INDEX).write_text(json.dumps(head, indent=2, sort_keys=True,
                                                ensure_ascii=False) + "\n")
    index = (root / layout.INDEX).read_bytes()
    (root / "timestamp.json").write_bytes(_timestamp(identity, index, expires=expires,
                                                     signer=signer))


# SPEC §6.2: what the head pins, swapped by a lying host ---------------------------------------
ENDORSED = layout.endorsement_path(nid("alice"), nid("bob"))
OLD_ENDORSEMENT = documents.to_bytes(endorsement("alice", "bob", T0 + 10))


def _trust(work: Path) -> None:
    """alice endorses bob, then revokes it (both pushed honestly: the head pins the
    revocation)."""
    commit_raw(work, {ENDORSED: OLD_ENDORSEMENT}, "alice endorses bob", index=True)
    body = {"type": "endorsement", "schema_version": 1, "to": key("bob").did,
            "task_types": ["*"], "created_at": T0 + 20, "revoked": True}
    revoked = documents.to_bytes(documents.sign(body, key("alice")))
    commit_raw(work, {ENDORSED: revoked}, "alice revokes it", index=True)


def _identity_swap(root: Path) -> None:
    """Another validly signed IDENTITY.json (here: with a timestamp role the head's
    identity pin does not name) served beside an untouched head."""
    role = {"keys": [key("dave").did], "threshold": 1, "max_age": 86400}
    (root / layout.IDENTITY).write_bytes(
        _identity_with_role((root / layout.IDENTITY).read_bytes(), role))


def _withheld_revocation(root: Path) -> None:
    (root / ENDORSED).write_bytes(OLD_ENDORSEMENT)


def _older_manifest(root: Path) -> None:
    """red-team f1 on the page: the agent ranked first served with an older manifest its
    owner validly signed (better numbers), the head and shards untouched."""
    top = _top(root, 0)
    path = root / layout.agent_path(top, "manifest.json")
    body = json.loads(path.read_bytes())
    n = int(next(i for i in range(200) if agent_id_of(profile(i)) == top))
    older = manifest(_owner_name(body["owner_did"]), profile(n), rate=0.99,
                     created_at=body["created_at"] - 100,
                     total=body["metrics"]["total_tasks"])
    path.write_bytes(documents.to_bytes(older))


def _swapped_attestation(root: Path) -> None:
    """dave's pinned attestation of the agent ranked ATTESTED replaced by another one dave
    validly signed (better numbers) that the index entry does not pin."""
    top = _top(root, ATTESTED)
    (root / layout.attestation_path(top, nid("dave"))).write_bytes(documents.to_bytes(
        attestation("dave", top, rate=0.99, created_at=T0 + 500)))


def _top(root: Path, n: int = 0) -> str:
    return str(json.loads((root / layout.INDEX).read_bytes())["rankings"]["general"][n])


def _tamper_manifest(root: Path) -> None:
    path = root / layout.agent_path(_top(root, 1), "manifest.json")
    path.write_bytes(path.read_bytes().replace(b'"avg_duration_ms": 5320',
                                               b'"avg_duration_ms": 5321', 1))


def _tamper_shard(root: Path) -> None:
    """A shard whose bytes no longer hash to the head's digest (format 2), or, in a format-1
    registry, an index entry whose manifest_sha256 is not the manifest's."""
    top = _top(root, 2)
    shard = root / f"index/{top[:2]}.json"
    target = shard if shard.exists() else root / layout.INDEX
    text = target.read_text()
    target.write_text(text.replace('"total_tasks": ', '"total_tasks":  ', 1)
                      if shard.exists() else _other_sha(text, top))


def _lying_index(root: Path) -> None:
    """A server that rewrites an entry's numbers and the head's digest to match: the shard
    checks out against the head, the numbers do not against the signed manifest."""
    top = _top(root, 3)
    head = json.loads((root / layout.INDEX).read_bytes())
    shard = root / f"index/{top[:2]}.json"
    target = shard if shard.exists() else root / layout.INDEX
    value = json.loads(target.read_bytes())
    value["agents"][top]["success_rate"] = 1.0
    data = json.dumps(value, indent=2, sort_keys=True).encode() + b"\n"
    target.write_bytes(data)
    if shard.exists():
        head["shards"][top[:2]]["sha256"] = hashlib.sha256(data).hexdigest()
        (root / layout.INDEX).write_bytes(json.dumps(head, indent=2, sort_keys=True).encode())


def _other_sha(text: str, agent_id: str) -> str:
    value = json.loads(text)
    old = value["agents"][agent_id]["manifest_sha256"]
    return text.replace(old, "0" * 64)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("site-browser")
    with isolated_module_env(tmp):
        work, _ = registry_with(tmp, "reg", AGENTS)
        commit_raw(work, _xss_agent(), "an agent with markup in its texts", index=True)
        commit_raw(work, _attestations(work), "attestations of the top agent", index=True)
        _trust(work)
        root = tmp / "www"
        site.build(work, root / "clean")
        for name, change in (("manifest", _tamper_manifest), ("shard", _tamper_shard),
                             ("lying", _lying_index), ("replayed", _replay_attestation),
                             ("expired", lambda r: _with_timestamp(r, NOW - 60)),
                             ("fresh", lambda r: _with_timestamp(r, NOW + 3600)),
                             ("forged", lambda r: _with_timestamp(r, NOW + 3600, "eve")),
                             ("identity", _identity_swap), ("withheld", _withheld_revocation),
                             ("attestation", _swapped_attestation),
                             ("older", _older_manifest)):
            shutil.copytree(root / "clean", root / name)
            change(root / name)
        with serve(root) as url:
            yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium")) as driver:
        yield driver


def _open(browser: Any, url: str) -> None:
    browser.get(url)
    _wait(browser, lambda: "verified," in _status(browser) or "FAILED" in _banner(browser))


def _wait(browser: Any, done: Any, timeout: float = 20) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if done():
            return
        time.sleep(0.1)
    raise AssertionError(f"page did not settle: status {_status(browser)!r}, "
                         f"banner {_banner(browser)!r}")


def _status(browser: Any) -> str:
    return str(browser.execute_script("return document.getElementById('status').textContent"))


def _banner(browser: Any) -> str:
    return str(browser.execute_script(
        "const b = document.getElementById('banner'); return b.hidden ? '' : b.textContent"))


def _marks(browser: Any) -> dict[str, str]:
    return dict(browser.execute_script(
        "return Array.from(document.querySelectorAll('#rows tr[data-agent]')).map("
        "tr => [tr.dataset.agent, tr.querySelector('[data-state]').dataset.state])"))


def _js(browser: Any, script: str, arg: Any = None) -> Any:
    """Run an async snippet (`arg` as `A`); it returns with `return`."""
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; const A = arguments[0];"
        f"(async () => {{ {script} }})().then(done, e => done('ERROR ' + e.message));", arg)


# RFC 8785, strict JSON and strict Ed25519 in the browser ---------------------------------
def test_jcs_vectors_in_the_browser(sites: str, browser: Any) -> None:
    browser.get(sites + "clean/")
    data = json.loads((VECTORS / "jcs-cyberphone-testdata.json").read_text())
    cases = [[v["name"], v["input"], v["expected_output"]] for v in data["vectors"]]
    got = _js(browser, "const V = window.EliteVerify; return A.map(([n, i, e]) => [n, "
              "new TextDecoder().decode(V.jcs(V.strictParse(new TextEncoder().encode(i)))), e]);",
              cases)
    assert isinstance(got, list) and len(got) == len(cases) >= 5
    for name, out, expected in got:
        assert out == expected, name


def test_jcs_numbers_in_the_browser(sites: str, browser: Any) -> None:
    browser.get(sites + "clean/")
    rows = json.loads((VECTORS / "jcs-rfc8785-appendixB-numbers.json").read_text())["rows"]
    got = _js(browser, "return A.map(([hex, want]) => { const d = new DataView(new ArrayBuffer(8));"
              "d.setBigUint64(0, BigInt('0x' + hex)); try { return [hex, "
              "window.EliteVerify.jcsText(d.getFloat64(0)), want]; } catch (e) { "
              "return [hex, null, want]; } });", [[r["ieee754_hex"], r["expected"]] for r in rows])
    assert len(got) == len(rows) > 10
    for hex_, out, want in got:
        assert out == want, hex_


STRICT = [
    ("duplicate-key", b'{"a": 1, "a": 2}'),
    ("nested-duplicate", b'{"a": {"b": 1, "b": 1}}'),
    ("bom", b'\xef\xbb\xbf{"a": 1}'),
    ("not-utf8", b'{"a": "\xff"}'),
    ("big-integer", b'{"a": 9007199254740992}'),
    ("nan", b'{"a": NaN}'),
    ("infinity", b'{"a": 1e400}'),
    ("deep", b"[" * 33 + b"]" * 33),
    ("lone-surrogate", b'{"a": "\\ud800"}'),
    ("trailing-data", b'{"a": 1} x'),
    ("control-character", b'{"a": "\x01"}'),
    ("ok-depth-32", b"[" * 32 + b"]" * 32),
    ("ok-max-integer", b'{"a": 9007199254740991, "b": -9007199254740991}'),
    ("ok-surrogate-pair", b'{"a": "\\ud83d\\ude00"}'),
]


def test_strict_json_matches_the_python_reader(sites: str, browser: Any) -> None:
    browser.get(sites + "clean/")
    got = _js(browser, "return A.map(([n, b]) => { try { window.EliteVerify.strictParse("
              "Uint8Array.from(atob(b), c => c.charCodeAt(0))); return [n, true]; } "
              "catch (e) { return [n, false]; } });",
              [[n, __import__("base64").b64encode(b).decode()] for n, b in STRICT])
    for name, accepted in got:
        raw = dict(STRICT)[name]
        try:
            jsonstrict.loads(raw, name="t")
            python = True
        except EliteError:
            python = False
        assert accepted == python == name.startswith("ok-"), name


def test_ed25519_vectors_in_the_browser_match_libsodium(sites: str, browser: Any) -> None:
    """Every speccheck edge case: the page accepts exactly what libsodium (PyNaCl) accepts."""
    browser.get(sites + "clean/")
    data = json.loads((VECTORS / "ed25519-speccheck.json").read_text())
    cases = [[str(c.get("index", c.get("name"))), c["pub_key"], c["message"], c["signature"],
              c["pynacl"]] for c in data["cases"] + data["extra_cases"]]
    rfc = json.loads((VECTORS / "rfc8032-7.1-ed25519.json").read_text())["vectors"]
    cases += [[v["name"], v["public_key_hex"], v["message_hex"], v["signature_hex"], "V"]
              for v in rfc]
    got = _js(browser, "const V = window.EliteVerify; const out = []; for (const [n, p, m, s, w] "
              "of A) { out.push([n, await V.verifyEd25519(V.fromHex(p), V.fromHex(m), "
              "V.fromHex(s)), w]); } return out;", cases)
    assert isinstance(got, list) and len(got) == len(cases) > 15, got
    for name, ok, want in got:
        assert ok == (want == "V"), name
        assert keys.verify(bytes.fromhex(dict((c[0], c[1]) for c in cases)[name]),
                           bytes.fromhex(dict((c[0], c[2]) for c in cases)[name]),
                           bytes.fromhex(dict((c[0], c[3]) for c in cases)[name])) == ok


def test_small_order_blacklist_is_libsodiums() -> None:
    """The page's list of small-order encodings: each, with either sign bit, is refused by
    libsodium's point check (keys.check_public_key) — none is missing a reason."""
    source = site.page_file("verify.js").decode()
    block = source[source.index("const SMALL_ORDER"):source.index("].map(fromHex)")]
    found = re.findall(r'"([0-9a-f]{64})"', block)
    assert len(found) == 7
    for text in found:
        for sign in (0, 0x80):
            raw = bytearray(bytes.fromhex(text))
            raw[31] = (raw[31] & 0x7F) | sign
            with pytest.raises(EliteError):
                keys.check_public_key(bytes(raw))


# the page ------------------------------------------------------------------------------------
def test_clean_site_ranks_pages_and_verifies(sites: str, browser: Any) -> None:
    _open(browser, sites + "clean/")
    marks = _marks(browser)
    assert len(marks) == 20 and set(marks.values()) == {"verified"}
    assert "Showing 1–20 of 45 agents" in _status(browser) and "20 verified, 0 failed" in \
        _status(browser)
    first_page = list(marks)
    browser.find_element("id", "next").click()
    _wait(browser, lambda: "Showing 21–40" in _status(browser) and "verified," in
          _status(browser))
    second = _marks(browser)
    assert len(second) == 20 and not set(second) & set(first_page)
    assert set(second.values()) == {"verified"}
    assert "Page 2 of 3" in browser.find_element("id", "page-info").text
    marks = browser.execute_script("return performance.getEntriesByType('mark').map("
                                   "m => [m.name, m.startTime])")
    assert [name for name, _ in marks] == ["elite:listed", "elite:verified"]
    assert browser.find_element("tag name", "body").get_attribute("data-state") == "verified"


def test_filters_and_sorting(sites: str, browser: Any) -> None:
    _open(browser, sites + "clean/")
    field = browser.find_element("id", "min-tasks")
    field.send_keys("300")
    browser.execute_script("document.getElementById('min-tasks').dispatchEvent("
                           "new Event('change'))")
    _wait(browser, lambda: "agents, top" in _status(browser) and "verified," in
          _status(browser) and "of 45" not in _status(browser))
    tasks = [int(t) for t in browser.execute_script(
        "return Array.from(document.querySelectorAll('#rows tr')).map("
        "tr => tr.children[5].textContent)")]
    assert tasks and all(t >= 300 for t in tasks)
    browser.find_element("css selector", "th[data-sort=tasks] button").click()
    _wait(browser, lambda: browser.find_element(
        "css selector", "th[data-sort=tasks]").get_attribute("aria-sort") == "descending")
    ordered = [int(t) for t in browser.execute_script(
        "return Array.from(document.querySelectorAll('#rows tr')).map("
        "tr => tr.children[5].textContent)")]
    assert ordered == sorted(tasks, reverse=True)


def test_every_agent_and_task_type_listings(sites: str, browser: Any) -> None:
    _open(browser, sites + "clean/")
    options = browser.execute_script(
        "return Array.from(document.getElementById('ranking').options).map(o => o.value)")
    assert options[0] == "general" and "file-edit" in options
    browser.execute_script("const s = document.getElementById('ranking'); s.value = "
                           "'file-edit'; s.dispatchEvent(new Event('change'))")
    _wait(browser, lambda: "file-edit ranking" in _status(browser) and "verified," in
          _status(browser))
    browser.execute_script("const s = document.getElementById('scope'); s.value = 'all';"
                           "s.dispatchEvent(new Event('change'))")
    _wait(browser, lambda: "every agent" in _status(browser) and "verified," in
          _status(browser))
    assert "of 46 agents" in _status(browser)  # the 45 elite and one that is not


def test_tampered_manifest_fails_only_that_agent(sites: str, browser: Any) -> None:
    _open(browser, sites + "manifest/")
    root_index = json.loads(_fetch(browser, sites + "manifest/INDEX.json"))
    bad = root_index["rankings"]["general"][1]
    marks = _marks(browser)
    assert marks[bad] == "failed"
    assert [a for a, m in marks.items() if m != "verified"] == [bad]
    assert "1 failed" in _status(browser)


def test_tampered_shard_fails_its_agents(sites: str, browser: Any) -> None:
    _open(browser, sites + "shard/")
    head = json.loads(_fetch(browser, sites + "shard/INDEX.json"))
    bad = head["rankings"]["general"][2]
    marks = _marks(browser)
    assert marks[bad] == "failed"
    if head.get("shards"):  # format 2: every agent of that shard
        assert all(m == "failed" for a, m in marks.items() if a[:2] == bad[:2])
        assert all(m == "verified" for a, m in marks.items() if a[:2] != bad[:2])


def test_lying_entry_fails_against_the_manifest(sites: str, browser: Any) -> None:
    _open(browser, sites + "lying/")
    head = json.loads(_fetch(browser, sites + "lying/INDEX.json"))
    bad = head["rankings"]["general"][3]
    marks = _marks(browser)
    assert [a for a, m in marks.items() if m != "verified"] == [bad]
    title = browser.find_element("css selector", f'[data-verify="{bad}"] span').get_attribute(
        "title")
    assert "index entry agrees with the manifest: differs in success_rate" in title


def test_expired_timestamp_shows_a_stale_banner(sites: str, browser: Any) -> None:
    browser.get(sites + "expired/")
    _wait(browser, lambda: "on a stale registry" in _status(browser))
    assert _banner(browser).startswith("Stale:") and "expired" in _banner(browser)
    assert set(_marks(browser).values()) == {"stale"}  # never plainly "verified"


def test_fresh_timestamp(sites: str, browser: Any) -> None:
    _open(browser, sites + "fresh/")
    assert _banner(browser) == "" and "fresh until" in browser.find_element(
        "id", "freshness").text
    assert set(_marks(browser).values()) == {"verified"}


def test_forged_timestamp_fails(sites: str, browser: Any) -> None:
    browser.get(sites + "forged/")
    _wait(browser, lambda: "failed" in _status(browser) and "Showing" in _status(browser))
    assert _banner(browser).startswith("FAILED: timestamp.json")
    assert set(_marks(browser).values()) == {"failed"}


def test_an_identity_the_head_does_not_pin_fails_every_agent(sites: str,
                                                             browser: Any) -> None:
    browser.get(sites + "identity/")
    _wait(browser, lambda: "failed" in _status(browser) and "Showing" in _status(browser))
    assert set(_marks(browser).values()) == {"failed"}
    top = _top_of(browser, sites + "identity/")
    title = browser.find_element("css selector", f'[data-verify="{top}"] span').get_attribute(
        "title")
    assert "IDENTITY.json is not the one INDEX.json pins" in title


def _top_of(browser: Any, url: str, n: int = 0) -> str:
    return str(json.loads(_fetch(browser, url + "INDEX.json"))["rankings"]["general"][n])


def _detail(browser: Any, url: str, agent_id: str) -> str:
    browser.get(url + "#agent=" + agent_id)
    _wait(browser, lambda: "Metrics" in browser.find_element("id", "detail").text
          and "Endorsements" in browser.find_element("id", "detail").text)
    _wait(browser, lambda: "endorses" in browser.find_element("id", "detail").text
          or "FAILED" in browser.find_element("id", "detail").text)
    return str(browser.find_element("id", "detail").text)


def _bobs(url: str, browser: Any) -> str:
    head = json.loads(_fetch(browser, url + "INDEX.json"))
    for agent_id in head["rankings"]["general"]:
        shard = json.loads(_fetch(browser, url + f"index/{agent_id[:2]}.json"))
        if shard["agents"][agent_id]["owner_did"] == key("bob").did:
            return str(agent_id)
    raise AssertionError("no agent of bob's is ranked")


def test_an_older_signed_manifest_fails_on_the_page(sites: str, browser: Any) -> None:
    _open(browser, sites + "older/")
    top = _top_of(browser, sites + "older/")
    marks = _marks(browser)
    assert marks[top] == "failed"
    assert [a for a, m in marks.items() if m != "verified"] == [top]
    title = browser.find_element("css selector", f'[data-verify="{top}"] span').get_attribute(
        "title")
    assert "manifest sha256 against its index entry" in title


def test_a_withheld_revocation_fails_on_the_page(sites: str, browser: Any) -> None:
    clean = _detail(browser, sites + "clean/", _bobs(sites + "clean/", browser))
    assert "endorses" in clean and "(revoked)" in clean and "FAILED" not in clean
    withheld = _detail(browser, sites + "withheld/", _bobs(sites + "withheld/", browser))
    assert "FAILED (not the bytes INDEX.json pins (replaced or withheld))" in withheld


def test_an_unpinned_attestation_is_not_counted(sites: str, browser: Any) -> None:
    url = sites + "attestation/"
    browser.get(url + "#agent=" + _top_of(browser, sites + "clean/", ATTESTED))
    _wait(browser, lambda: "not the bytes its index entry pins" in browser.find_element(
        "id", "detail").text or "dave" in browser.find_element("id", "detail").text)
    _wait(browser, lambda: "not the bytes its index entry pins" in browser.find_element(
        "id", "detail").text)
    item = browser.find_element("css selector", f'[data-attestation="{nid("dave")}"]')
    assert item.get_attribute("data-state") == "failed"


def test_keyboard_opens_an_agent_and_detail_verifies(sites: str, browser: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    _open(browser, sites + "clean/")
    link = browser.find_element("css selector", "#rows tr a.agent-id")
    link.send_keys(Keys.ENTER)
    _wait(browser, lambda: browser.execute_script(
        "return document.activeElement && document.activeElement.id") == "detail-title"
        and "Metrics" in browser.find_element("id", "detail").text)
    detail = browser.find_element("id", "detail").text
    assert "FAILED" not in detail and "Ed25519 signature" in detail
    assert "profile binding" in detail and "Endorsements" in detail


def test_registry_text_is_never_markup(sites: str, browser: Any) -> None:
    browser.get(sites + "clean/#agent=" + agent_id_of(XSS_CONFIG))
    _wait(browser, lambda: "Metrics" in browser.find_element("id", "detail").text)
    detail = browser.find_element("id", "detail")
    assert XSS in detail.text and "javascript:window.pwned=2" in detail.text
    assert not detail.find_elements("css selector", "img")
    assert not detail.find_elements("css selector", "a[href^=javascript]")
    assert browser.execute_script("return window.pwned === undefined")
    assert "FAILED" not in detail.text  # a real, signed agent: text, and verified


def test_aria_and_narrow_screen(sites: str, browser: Any) -> None:
    _open(browser, sites + "clean/")
    assert browser.find_element("id", "status").get_attribute("role") == "status"
    assert browser.find_element("id", "status").get_attribute("aria-live") == "polite"
    assert browser.find_elements("css selector", "#ranking-table caption")
    assert len(browser.find_elements("css selector", "#rows th[scope=row]")) == 20
    try:
        browser.set_window_size(390, 844)
        _open(browser, sites + "clean/")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        # the verification mark stays on screen, without scrolling the table sideways
        right = browser.execute_script("return document.querySelector('#rows td[data-verify]')"
                                       ".getBoundingClientRect().right - window.innerWidth")
        assert right <= 0
    finally:
        browser.set_window_size(1280, 900)


def _fetch(browser: Any, url: str) -> str:
    return str(_js(browser, "return await (await fetch(A)).text();", url))


# attestations (SPEC §5.8) and scores as the CLI prints them ------------------------------
def test_attestations_are_verified_in_the_browser(sites: str, browser: Any) -> None:
    _open(browser, sites + "clean/")
    top = json.loads(_fetch(browser, sites + "clean/INDEX.json"))["rankings"]["general"][
        ATTESTED]
    manifest_body = json.loads(_fetch(browser, sites + "clean/" + layout.agent_path(
        top, "manifest.json")))
    listed = json.loads(_fetch(browser, sites + "clean/site.json"))["attestations"]
    assert len([p for p in listed if p.startswith(layout.agent_dir(top, 2))]) == 3
    browser.get(sites + "clean/#agent=" + top)
    _wait(browser, lambda: "Attestations" in browser.find_element("id", "detail").text)
    states = dict(browser.execute_script(
        "return Array.from(document.querySelectorAll('#attestations li[data-attestation]'))"
        ".map(li => [li.dataset.attestation, li.dataset.state])"))
    owner = _owner_name(manifest_body["owner_did"])
    assert states == {nid("dave"): "verified", nid("eve"): "failed", nid(owner): "failed"}
    items = {li.get_attribute("data-attestation"): li.text for li in browser.find_elements(
        "css selector", "#attestations li[data-attestation]")}
    assert "the Ed25519 signature does not verify" in items[nid("eve")]
    assert "owns the agent" in items[nid(owner)]
    assert "not weighed by your trust" in items[nid("dave")]
    detail = browser.find_element("id", "detail").text
    own = manifest_body["metrics"]["success_rate"]
    gap = 0.7 - own
    assert "attested success rate\n70.0 % (pooled over 1 verified; not weighed by your trust)" \
        in detail
    assert f"largest disagreement\n{'+' if gap >= 0 else '−'}{abs(gap):.2f}" in detail
    # bad attestations are theirs, not the agent's: its own checks and mark stay verified
    assert not browser.find_elements("css selector", "#detail ul[aria-label=verification] .bad")
    assert browser.find_element("css selector", "#detail .mark").get_attribute(
        "data-state") == "verified"
    assert not browser.find_elements("css selector", "[data-check=attestation-count]")


def test_an_attestation_replayed_onto_another_agent_fails(sites: str, browser: Any) -> None:
    _open(browser, sites + "replayed/")
    second = json.loads(_fetch(browser, sites + "replayed/INDEX.json"))["rankings"]["general"][
        ATTESTED + 1]
    browser.get(sites + "replayed/#agent=" + second)
    _wait(browser, lambda: "Attestations" in browser.find_element("id", "detail").text)
    item = browser.find_element("css selector",
                                f"#attestations li[data-attestation='{nid('dave')}']")
    assert item.get_attribute("data-state") == "failed"
    assert "agent_id is another agent's" in item.text
    # the index entry counts none live, the (lying) listing one
    assert browser.find_elements("css selector", "[data-check=attestation-count]")


def test_scores_are_decimals_as_the_cli_prints_them(sites: str, browser: Any) -> None:
    from git_elite.cli.commands.discover import score

    _open(browser, sites + "clean/")
    head = json.loads(_fetch(browser, sites + "clean/INDEX.json"))
    top = head["rankings"]["general"][0]
    shard = json.loads(_fetch(browser, sites + f"clean/index/{top[:2]}.json"))
    cells = browser.execute_script(
        "return Array.from(document.querySelectorAll('#rows tr[data-agent]')).map("
        "tr => [tr.dataset.agent, tr.children[6].textContent])")
    assert cells[0] == [top, score(shard["agents"][top]["score_ppm"])]
    assert all(re.fullmatch(r"[01]\.\d{3}", text) for _, text in cells)
    header = browser.find_element("css selector", "th[data-sort=score]").text
    assert header == "Score"


def _owner_name(did: str) -> str:
    return next(name for name in ("alice", "bob", "carol") if key(name).did == did)


def test_opened_from_disk_the_page_says_how_to_serve_it(browser: Any, tmp_path: Path) -> None:
    """Issue 27 item 5: file:// gave only "Failed to fetch"; now one line with the way out."""
    work, _ = registry_with(tmp_path, "disk", AGENTS[:1])
    site.build(work, tmp_path / "www")
    browser.get((tmp_path / "www" / "index.html").as_uri())
    _wait(browser, lambda: bool(_banner(browser)))
    shown = _banner(browser)
    assert f"python3 -m http.server -d {tmp_path / 'www'} 8000" in shown
    assert "Failed to fetch" not in shown and "FAILED" not in shown
