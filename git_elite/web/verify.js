/* git elite: verification in the browser (SPEC §3, §6, §6.1, §14). No dependencies.
 *
 * strictParse  strict JSON input as SPEC §3 (UTF-8, no BOM, no duplicate keys, integers
 *              within ±(2^53−1), no NaN/Infinity, depth ≤ 32, no lone surrogates, a size cap)
 * jcs          RFC 8785 canonical bytes (keys by UTF-16 code units, ES6 numbers)
 * verifyEd25519  strict Ed25519 like libsodium: S ≥ L, a non-canonical public key and a
 *              small-order public key or R are refused before WebCrypto is asked
 * the document checks the page needs: manifest signature, profile binding, digests, the
 * multi-signed IDENTITY.json and timestamp.json.
 * Every check returns a value; nothing here touches the page.
 */
"use strict";
(function (global) {
  const MAX_SAFE = 9007199254740991;
  const MAX_DEPTH = 32;

  class CheckError extends Error {}

  /* ---------------------------------------------------------------- strict JSON */
  function strictParse(bytes, maxBytes) {
    if (!(bytes instanceof Uint8Array)) bytes = new Uint8Array(bytes);
    if (maxBytes !== undefined && bytes.length > maxBytes) {
      throw new CheckError(`larger than ${maxBytes} bytes`);
    }
    if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
      throw new CheckError("starts with a byte order mark");
    }
    let text;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (e) {
      throw new CheckError("not UTF-8");
    }
    const p = { s: text, i: 0 };
    skip(p);
    const value = parseValue(p, 0);
    skip(p);
    if (p.i !== p.s.length) throw new CheckError(`extra data at character ${p.i}`);
    return value;
  }

  function skip(p) {
    while (p.i < p.s.length) {
      const c = p.s.charCodeAt(p.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) p.i++;
      else break;
    }
  }

  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const LONE = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;

  function parseValue(p, depth) {
    const c = p.s[p.i];
    if (c === "{" || c === "[") {
      if (depth >= MAX_DEPTH) throw new CheckError(`nested deeper than ${MAX_DEPTH}`);
      return c === "{" ? parseObject(p, depth + 1) : parseArray(p, depth + 1);
    }
    if (c === '"') return parseString(p);
    for (const [word, value] of [["true", true], ["false", false], ["null", null]]) {
      if (p.s.startsWith(word, p.i)) { p.i += word.length; return value; }
    }
    NUMBER.lastIndex = p.i;
    const m = NUMBER.exec(p.s);
    if (!m) throw new CheckError(`not JSON at character ${p.i}`);
    p.i += m[0].length;
    const value = Number(m[0]);
    if (!Number.isFinite(value)) throw new CheckError(`number ${m[0].slice(0, 40)} overflows`);
    if (m[1] === undefined && m[2] === undefined && Math.abs(value) > MAX_SAFE) {
      throw new CheckError(`integer ${m[0].slice(0, 40)} is outside ±(2^53−1)`);
    }
    return value;
  }

  function parseString(p) {
    STRING.lastIndex = p.i;
    const m = STRING.exec(p.s);
    if (!m) throw new CheckError(`bad string at character ${p.i}`);
    p.i += m[0].length;
    const value = JSON.parse(m[0]);
    if (LONE.test(value)) throw new CheckError("string with a lone surrogate");
    return value;
  }

  function parseObject(p, depth) {
    const out = Object.create(null);
    const seen = new Set();
    p.i++;
    skip(p);
    if (p.s[p.i] === "}") { p.i++; return out; }
    for (;;) {
      if (p.s[p.i] !== '"') throw new CheckError(`expected a key at character ${p.i}`);
      const key = parseString(p);
      if (seen.has(key)) throw new CheckError(`duplicate key ${JSON.stringify(key)}`);
      seen.add(key);
      skip(p);
      if (p.s[p.i] !== ":") throw new CheckError(`expected : at character ${p.i}`);
      p.i++;
      skip(p);
      out[key] = parseValue(p, depth);
      skip(p);
      if (p.s[p.i] === ",") { p.i++; skip(p); continue; }
      if (p.s[p.i] === "}") { p.i++; return out; }
      throw new CheckError(`expected , or } at character ${p.i}`);
    }
  }

  function parseArray(p, depth) {
    const out = [];
    p.i++;
    skip(p);
    if (p.s[p.i] === "]") { p.i++; return out; }
    for (;;) {
      out.push(parseValue(p, depth));
      skip(p);
      if (p.s[p.i] === ",") { p.i++; skip(p); continue; }
      if (p.s[p.i] === "]") { p.i++; return out; }
      throw new CheckError(`expected , or ] at character ${p.i}`);
    }
  }

  /* ---------------------------------------------------------------- RFC 8785 */
  function jcsText(value) {
    if (value === null || value === true || value === false) return String(value);
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw new CheckError("NaN or Infinity has no JCS form");
      return Object.is(value, -0) ? "0" : String(value);
    }
    if (typeof value === "string") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(jcsText).join(",") + "]";
    if (typeof value === "object") {
      const keys = Object.keys(value).sort(); // UTF-16 code units, as RFC 8785 says
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + jcsText(value[k])).join(",") + "}";
    }
    throw new CheckError(`cannot canonicalize a ${typeof value}`);
  }

  function jcs(value) {
    return new TextEncoder().encode(jcsText(value));
  }

  function without(obj, field) {
    const copy = Object.create(null);
    for (const k of Object.keys(obj)) if (k !== field) copy[k] = obj[k];
    return copy;
  }

  /* ---------------------------------------------------------------- bytes */
  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fromHex(text) {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }

  function subtle() {
    const c = global.crypto;
    if (!c || !c.subtle) {
      throw new CheckError("this page has no WebCrypto (serve it over HTTPS or from localhost)");
    }
    return c.subtle;
  }

  async function sha256hex(bytes) {
    return hex(new Uint8Array(await subtle().digest("SHA-256", bytes)));
  }

  const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

  function base58decode(text) {
    let n = 0n;
    for (const ch of text) {
      const d = B58.indexOf(ch);
      if (d < 0) throw new CheckError("not base58");
      n = n * 58n + BigInt(d);
    }
    const out = [];
    while (n > 0n) { out.unshift(Number(n % 256n)); n /= 256n; }
    for (const ch of text) { if (ch !== "1") break; out.unshift(0); }
    return new Uint8Array(out);
  }

  function publicFromDid(did) {
    if (typeof did !== "string" || !did.startsWith("did:key:z") || did.length > 120) {
      throw new CheckError("not a did:key");
    }
    const raw = base58decode(did.slice(9));
    if (raw.length !== 34 || raw[0] !== 0xed || raw[1] !== 0x01) {
      throw new CheckError("did:key is not an Ed25519 key");
    }
    return raw.slice(2);
  }

  /* base64url or standard base64, padded or not, ASCII whitespace ignored; 64 bytes; the
   * unused trailing bits must be zero (as keys.decode_signature) */
  function decodeSignature(text) {
    if (typeof text !== "string") throw new CheckError("signature is not a string");
    const compact = text.replace(/[ \t\r\n\f\v]+/g, "");
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)) {
      throw new CheckError("signature is not base64/base64url");
    }
    const body = compact.replace(/=+$/, "").replace(/-/g, "+").replace(/_/g, "/");
    let bin;
    try {
      bin = atob(body + "=".repeat((4 - (body.length % 4)) % 4));
    } catch (e) {
      throw new CheckError("signature is not base64/base64url");
    }
    const raw = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    if (raw.length !== 64) throw new CheckError(`signature has ${raw.length} bytes, not 64`);
    if (btoa(bin).replace(/=+$/, "") !== body) {
      throw new CheckError("signature is not canonical base64 (non-zero trailing bits)");
    }
    return raw;
  }

  /* ---------------------------------------------------------------- strict Ed25519 */
  // libsodium's ge25519_has_small_order blacklist (the last byte compared without its sign bit)
  const SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ].map(fromHex);

  function hasSmallOrder(point) {
    return SMALL_ORDER.some((bad) => {
      for (let j = 0; j < 31; j++) if (point[j] !== bad[j]) return false;
      return (point[31] & 0x7f) === bad[31];
    });
  }

  // y < p = 2^255 − 19 once the sign bit is masked (libsodium's ge25519_is_canonical)
  function isCanonicalPoint(point) {
    if ((point[31] & 0x7f) !== 0x7f) return true;
    for (let i = 30; i > 0; i--) if (point[i] !== 0xff) return true;
    return point[0] < 0xed;
  }

  const L = fromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");

  // S < L, both little-endian
  function scalarBelowL(s) {
    for (let i = 31; i >= 0; i--) {
      if (s[i] < L[i]) return true;
      if (s[i] > L[i]) return false;
    }
    return false;
  }

  /* why a signature is refused before WebCrypto is asked, or null */
  function strictRefusal(pub, sig) {
    if (pub.length !== 32) return "public key is not 32 bytes";
    if (sig.length !== 64) return "signature is not 64 bytes";
    if (!scalarBelowL(sig.subarray(32))) return "S ≥ L (non-canonical signature scalar)";
    if (hasSmallOrder(sig.subarray(0, 32))) return "R is a small-order point";
    if (!isCanonicalPoint(pub)) return "public key is not a canonical encoding";
    if (hasSmallOrder(pub)) return "public key is a small-order point";
    return null;
  }

  async function verifyEd25519(pub, message, sig) {
    if (strictRefusal(pub, sig) !== null) return false;
    try {
      const key = await subtle().importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
      return await subtle().verify({ name: "Ed25519" }, key, sig, message);
    } catch (e) {
      if (e instanceof CheckError) throw e;
      return false;
    }
  }

  async function signedBy(body, field, did) {
    const why = (() => {
      try {
        return strictRefusal(publicFromDid(did), decodeSignature(body[field]));
      } catch (e) {
        return e.message;
      }
    })();
    if (why !== null) return why;
    const ok = await verifyEd25519(publicFromDid(did), jcs(without(body, field)),
                                   decodeSignature(body[field]));
    return ok ? null : "the Ed25519 signature does not verify";
  }

  /* threshold distinct signers among `allowed` over JCS(body without signatures) */
  async function multiSigned(body, allowed, threshold) {
    if (!Array.isArray(body.signatures)) return { ok: false, signers: [], why: "no signatures" };
    const message = jcs(without(body, "signatures"));
    const signers = new Set();
    for (const item of body.signatures) {
      if (!item || typeof item.did !== "string" || !allowed.includes(item.did)) continue;
      if (signers.has(item.did)) continue;
      try {
        if (await verifyEd25519(publicFromDid(item.did), message, decodeSignature(item.sig))) {
          signers.add(item.did);
        }
      } catch (e) {
        if (e.message.startsWith("this page has no WebCrypto")) throw e;
      }
    }
    const ok = Number.isInteger(threshold) && threshold >= 1 && signers.size >= threshold;
    return { ok, signers: [...signers],
             why: ok ? null : `${signers.size} valid signature(s) of ${threshold} needed` };
  }


  /* ------------------------------------------------ the witnessed log (docs/log.md) */
  const EM_DASH_SPACE = "\u2014 ";

  function b64decode(text) {
    const raw = atob(text);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle().digest("SHA-256", bytes));
  }

  /* C2SP signed-note key ID: SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4] */
  async function keyId(name, alg, pub) {
    const enc = new TextEncoder();
    return (await sha256(concat(enc.encode(name + "\n"), Uint8Array.of(alg), pub))).subarray(0, 4);
  }

  function sameBytes(a, b) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  /* a checkpoint note: {text (bytes), origin, size, root, sigs: [{name, raw}]} or a CheckError */
  function parseNote(bytes) {
    const whole = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    const split = whole.lastIndexOf("\n\n");
    if (split < 0 || !whole.endsWith("\n")) throw new CheckError("checkpoint: not a signed note");
    const text = whole.slice(0, split + 1);
    const lines = text.slice(0, -1).split("\n");
    if (lines.length < 3 || !/^(0|[1-9][0-9]{0,18})$/.test(lines[1])) {
      throw new CheckError("checkpoint: not a C2SP checkpoint");
    }
    const sigs = whole.slice(split + 2, -1).split("\n").map((line) => {
      if (!line.startsWith(EM_DASH_SPACE)) throw new CheckError("checkpoint: bad signature line");
      const [name, b64] = line.slice(2).split(" ");
      return { name, raw: b64decode(b64 || "") };
    });
    return { text: new TextEncoder().encode(text), origin: lines[0], size: Number(lines[1]),
             root: b64decode(lines[2]), sigs };
  }

  /* the checkpoint under the registry's log role: signed by the log key, and the valid
     cosignatures (c2sp.org/tlog-cosignature v1) of declared witnesses */
  async function openCheckpoint(bytes, role) {
    const note = parseNote(bytes);
    if (note.origin !== role.origin) throw new CheckError("checkpoint: another origin");
    const pub = publicFromDid(role.key);
    const id = await keyId(role.origin, 1, pub);
    const mine = note.sigs.filter((s) => s.name === role.origin && sameBytes(s.raw.subarray(0, 4), id));
    let signed = mine.length > 0;
    for (const s of mine) {
      signed = signed && await verifyEd25519(pub, note.text, s.raw.subarray(4));
    }
    if (!signed) throw new CheckError("checkpoint: not signed by the log key");
    const cosigned = {};
    for (const w of Array.isArray(role.witnesses) ? role.witnesses : []) {
      const wpub = publicFromDid(w.key);
      const wid = await keyId(w.name, 4, wpub);
      for (const s of note.sigs) {
        if (s.name !== w.name || s.raw.length !== 76 || !sameBytes(s.raw.subarray(0, 4), wid)) continue;
        const view = new DataView(s.raw.buffer, s.raw.byteOffset + 4, 8);
        const time = view.getBigUint64(0);
        const msg = concat(new TextEncoder().encode(`cosignature/v1\ntime ${time}\n`), note.text);
        if (await verifyEd25519(wpub, msg, s.raw.subarray(12))) { cosigned[w.name] = Number(time); break; }
      }
    }
    return { size: note.size, root: note.root, cosigned };
  }

  /* C2SP tlog-tiles paths */
  function tileIndexPath(index) {
    const digits = String(index).padStart(3, "0");
    const groups = [];
    for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end));
    while (groups[0].length < 3) groups[0] = groups[0].padStart(3, "0");
    return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join("/");
  }

  function tilePath(level, index, width) {
    return `tile/${level}/${tileIndexPath(index)}` + (width < 256 ? `.p/${width}` : "");
  }

  function entriesPath(index, width) {
    return `tile/entries/${tileIndexPath(index)}` + (width < 256 ? `.p/${width}` : "");
  }

  /* the RFC 6962 root of the first n leaves from the tiles (readTile(path) → bytes) */
  async function rootFromTiles(n, readTile) {
    const node = async (l, r) => sha256(concat(Uint8Array.of(1), l, r));
    const cache = new Map();
    const tile = async (level, index) => {
      const width = Math.min(256, Math.floor(n / 2 ** (8 * level)) - index * 256);
      const path = tilePath(level, index, width);
      if (!cache.has(path)) {
        const data = await readTile(path);
        if (!data || data.length !== width * 32) throw new CheckError(`log/${path}: missing or wrong size`);
        cache.set(path, data);
      }
      return cache.get(path);
    };
    const subtree = async (k, start) => {  /* the complete subtree of 2^k leaves at `start` */
      const level = Math.floor(k / 8);
      const height = k % 8;
      const pos = start / 2 ** (8 * level);
      const data = await tile(level, Math.floor(pos / 256));
      let row = [];
      for (let i = pos % 256; i < pos % 256 + 2 ** height; i++) row.push(data.subarray(32 * i, 32 * i + 32));
      while (row.length > 1) {
        const next = [];
        for (let i = 0; i < row.length; i += 2) next.push(await node(row[i], row[i + 1]));
        row = next;
      }
      return row[0];
    };
    if (n === 0) return sha256(new Uint8Array(0));
    const parts = [];
    let start = 0;
    for (let k = 52; k >= 0; k--) {
      if (Math.floor(n / 2 ** k) % 2 === 1) { parts.push(await subtree(k, start)); start += 2 ** k; }
    }
    let root = parts[parts.length - 1];
    for (let i = parts.length - 2; i >= 0; i--) root = await node(parts[i], root);
    return root;
  }

  /* the log's latest leaf (bytes), checked against the level-0 tile the root was built from */
  async function latestLeaf(n, readTile) {
    const index = Math.floor((n - 1) / 256);
    const width = n - index * 256 > 256 ? 256 : n - index * 256;
    const bundle = await readTile(entriesPath(index, width));
    if (!bundle) throw new CheckError("log: the latest entry bundle is missing");
    let at = 0;
    let last = null;
    for (let i = 0; i < width; i++) {
      if (at + 2 > bundle.length) throw new CheckError("log: entry bundle cut short");
      const len = (bundle[at] << 8) | bundle[at + 1];
      last = bundle.subarray(at + 2, at + 2 + len);
      at += 2 + len;
    }
    const hash = await sha256(concat(Uint8Array.of(0), last));
    const tileData = await readTile(tilePath(0, index, width));
    const pos = (n - 1) % 256;
    if (!tileData || !sameBytes(hash, tileData.subarray(32 * pos, 32 * pos + 32))) {
      throw new CheckError("log: the latest leaf is not the one the tiles hash");
    }
    return last;
  }

  /* SPEC §15 on the page: checkpoint by the log key, quorum of declared witnesses, tiles
     that give its root, latest leaf naming the INDEX.json served */
  async function checkLog(checkpoint, role, readTile, headSha) {
    const opened = await openCheckpoint(checkpoint, role);
    const names = Object.keys(opened.cosigned).sort();
    if (!Number.isInteger(role.quorum) || names.length < role.quorum) {
      throw new CheckError(`checkpoint of size ${opened.size} has ${names.length} valid witness `
                           + `cosignature(s), the registry requires ${role.quorum}`);
    }
    const root = await rootFromTiles(opened.size, readTile);
    if (!sameBytes(root, opened.root)) throw new CheckError("log: the tiles do not give the checkpoint's root");
    const leaf = strictParse(await latestLeaf(opened.size, readTile), 1 << 16);
    if (leaf.type !== "registry-state" || leaf.index_sha256 !== headSha) {
      throw new CheckError("log: the latest leaf names another INDEX.json than the one served");
    }
    return { size: opened.size, cosigned: names, quorum: role.quorum };
  }

  global.EliteVerify = {
    CheckError, strictParse, jcs, jcsText, without, hex, fromHex, sha256hex, base58decode,
    publicFromDid, decodeSignature, hasSmallOrder, isCanonicalPoint, scalarBelowL,
    strictRefusal, verifyEd25519, signedBy, multiSigned, keyId, parseNote, openCheckpoint,
    tilePath, entriesPath, rootFromTiles, checkLog,
  };
})(typeof window !== "undefined" ? window : globalThis);
