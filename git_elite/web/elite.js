/* git elite: the leaderboard page (SPEC §14). Reads the registry's own files from the same
 * place the page came from, checks them with verify.js, and inserts every text that comes
 * from the registry as text (textContent), never as HTML. No dependencies. */
"use strict";
(function () {
  const V = window.EliteVerify;
  const LIMITS = { identity: 1 << 16, head: 1 << 26, shard: 1 << 26, timestamp: 1 << 16,
                   profile: 1 << 16, endorsement: 1 << 16, attestation: 1 << 16, site: 1 << 24 };
  const SHORT = 12;
  const S = {
    identity: null, identityCheck: null, head: null, headSha: "", format: 2,
    fresh: { state: "none", text: "" }, log: { state: "none", text: "" }, site: null,
    shards: new Map(), checks: new Map(), files: new Map(), attested: new Map(),
    trust: new Map(),
    view: { ranking: "general", scope: "top", text: "", minSuccess: null, minTasks: null,
            sort: "rank", dir: 1, page: 0, size: 20 },
    rows: [], selected: null, generation: 0,
  };
  const $ = (id) => document.getElementById(id);

  /* ------------------------------------------------------------ fetching */
  async function fetchBytes(path, limit) {
    const response = await fetch(path, { cache: "no-cache", redirect: "error" });
    if (response.status === 404) return null;
    if (!response.ok) throw new V.CheckError(`${path}: HTTP ${response.status}`);
    const declared = Number(response.headers.get("content-length"));
    if (declared > limit) throw new V.CheckError(`${path}: larger than ${limit} bytes`);
    const reader = response.body.getReader();
    const parts = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit) {
        reader.cancel();
        throw new V.CheckError(`${path}: larger than ${limit} bytes`);
      }
      parts.push(value);
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const part of parts) { out.set(part, at); at += part.length; }
    return out;
  }

  /* The head and the shards are derived and unsigned: every number the page shows from them
   * is checked against the agent's signed manifest ("index entry agrees with the manifest"),
   * so the browser's native parser is enough here (UTF-8 still strict); signed documents go
   * through V.strictParse. */
  function parseDerived(raw) {
    let text;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
    } catch (e) {
      throw new V.CheckError("not UTF-8");
    }
    const value = JSON.parse(text);
    if (!value || typeof value !== "object" || Array.isArray(value)) {
      throw new V.CheckError("not a JSON object");
    }
    return value;
  }

  function agentDir(id) {
    return S.format >= 2 ? `agents/${id.slice(0, 2)}/${id}` : `agents/${id}`;
  }

  function shardOf(id) {
    const ab = S.format >= 2 ? id.slice(0, 2) : "";
    if (!S.shards.has(ab)) S.shards.set(ab, loadShard(ab));
    return S.shards.get(ab);
  }

  /* a shard: its bytes must hash to the head's digest; format 1 has one, the head itself */
  async function loadShard(ab) {
    if (S.format < 2) {
      const agents = S.head.agents && typeof S.head.agents === "object" ? S.head.agents : {};
      return { ok: true, why: null, agents };
    }
    const listed = S.head.shards && S.head.shards[ab];
    if (!listed) return { ok: false, why: `index/${ab}.json is not in INDEX.json`, agents: {} };
    try {
      const raw = await fetchBytes(`index/${ab}.json`, LIMITS.shard);
      if (raw === null) return { ok: false, why: `index/${ab}.json is missing`, agents: {} };
      const digest = await V.sha256hex(raw);
      const body = parseDerived(raw);
      const agents = body && typeof body.agents === "object" && body.agents ? body.agents : {};
      if (digest !== listed.sha256) {
        return { ok: false, agents,
                 why: `index/${ab}.json's sha256 is not the digest INDEX.json lists` };
      }
      if (body.shard !== ab) return { ok: false, agents, why: `index/${ab}.json names shard ${body.shard}` };
      return { ok: true, why: null, agents };
    } catch (e) {
      return { ok: false, why: `index/${ab}.json: ${e.message}`, agents: {} };
    }
  }

  async function entryOf(id) {
    const shard = await shardOf(id);
    const entry = Object.prototype.hasOwnProperty.call(shard.agents, id) ? shard.agents[id] : null;
    return { shard, entry };
  }

  /* ------------------------------------------------------------ start-up checks */
  async function loadRegistry() {
    const raw = await fetchBytes("IDENTITY.json", LIMITS.identity);
    if (raw === null) throw new V.CheckError("IDENTITY.json is missing: not a git elite site");
    S.identity = V.strictParse(raw, LIMITS.identity);
    const id = S.identity;
    const delegates = Array.isArray(id.delegates) ? id.delegates : [];
    const signed = await V.multiSigned(id, delegates, id.threshold);
    const ownerOk = delegates.includes(id.owner_did);
    S.identityCheck = { ok: signed.ok && ownerOk,
                        why: !signed.ok ? `IDENTITY.json: ${signed.why}`
                          : ownerOk ? null : "IDENTITY.json: the owner is not a delegate" };
    const headRaw = await fetchBytes("INDEX.json", LIMITS.head);
    if (headRaw === null) throw new V.CheckError("INDEX.json is missing");
    S.headSha = await V.sha256hex(headRaw);
    S.head = parseDerived(headRaw);
    S.format = S.head.schema_version === 1 ? 1 : 2;
    const pinned = await identityPinProblem(raw);
    if (pinned !== null) S.identityCheck = { ok: false, why: pinned };
    try {
      const site = await fetchBytes("site.json", LIMITS.site);
      S.site = site === null ? null : V.strictParse(site, LIMITS.site);
    } catch (e) {
      S.site = null;
    }
    S.fresh = await checkTimestamp();
    S.log = await checkWitnessedLog();
  }

  /* docs/log.md: a registry with a log role is shown as verified only when the site's
     log/checkpoint is signed by the log key and cosigned by the quorum of its witnesses,
     and its latest leaf names the INDEX.json served */
  async function checkWitnessedLog() {
    const role = S.identity.log;
    if (!role || typeof role !== "object") return { state: "none", text: "" };
    try {
      const raw = await fetchBytes("log/checkpoint", LIMITS.timestamp);
      if (raw === null) {
        return { state: "failed", text: "This registry declares a witnessed log but the site "
                                        + "has no log/checkpoint." };
      }
      const got = await V.checkLog(raw, role, (p) => fetchBytes(`log/${p}`, 1 << 16), S.headSha);
      return { state: "witnessed", text: `Witnessed log: checkpoint ${got.size}, cosigned by `
                                         + `${got.cosigned.join(", ")} (quorum ${got.quorum}).` };
    } catch (e) {
      return { state: "failed", text: `witnessed log: ${e.message}` };
    }
  }

  /* SPEC §6.2: a head with pins names the IDENTITY.json it was built with (bytes and
   * version); another one served beside it (an older one without the timestamp role, say)
   * fails the identity check of every agent shown */
  async function identityPinProblem(raw) {
    const pin = S.head && S.head.identity;
    if (S.format < 2 || !pin || typeof pin !== "object") return null;
    const digest = await V.sha256hex(raw);
    if (digest !== pin.sha256) return "IDENTITY.json is not the one INDEX.json pins (its sha256 differs)";
    if (pin.version !== S.identity.version) return `IDENTITY.json is version ${S.identity.version}, INDEX.json pins version ${pin.version}`;
    return null;
  }

  /* a trust shard index/trust/<ab>.json: its bytes must hash to the head's pin for it */
  function trustShard(ab) {
    if (!S.trust.has(ab)) S.trust.set(ab, loadTrustShard(ab));
    return S.trust.get(ab);
  }

  async function loadTrustShard(ab) {
    const listed = S.head.trust && S.head.trust[ab];
    if (!listed) return { ok: true, documents: {} };
    try {
      const raw = await fetchBytes(`index/trust/${ab}.json`, LIMITS.shard);
      if (raw === null) return { ok: false, why: `index/trust/${ab}.json is missing`, documents: {} };
      if (await V.sha256hex(raw) !== listed.sha256) {
        return { ok: false, why: `index/trust/${ab}.json's sha256 is not the digest INDEX.json pins`, documents: {} };
      }
      const body = parseDerived(raw);
      const docs = body && body.shard === ab && body.documents && typeof body.documents === "object" ? body.documents : null;
      return docs ? { ok: true, documents: docs } : { ok: false, why: `index/trust/${ab}.json is not the trust shard ${ab}`, documents: {} };
    } catch (e) {
      return { ok: false, why: `index/trust/${ab}.json: ${e.message}`, documents: {} };
    }
  }

  /* why an endorsement's or rotation's bytes are not the ones the head pins (null: they are) */
  async function trustPinProblem(path, raw) {
    if (S.format < 2) return null;
    if (!S.head.trust || typeof S.head.trust !== "object") return "INDEX.json pins no trust documents (written before SPEC §6.2)";
    const nid = path.split("/")[1] || "";
    const ab = (await V.sha256hex(new TextEncoder().encode(nid))).slice(0, 2);
    const shard = await trustShard(ab);
    if (!shard.ok) return shard.why;
    const want = shard.documents[path];
    if (typeof want !== "string") return "not pinned by INDEX.json";
    return await V.sha256hex(raw) === want ? null : "not the bytes INDEX.json pins (replaced or withheld)";
  }

  async function checkTimestamp() {
    const role = S.identity.timestamp;
    if (!role || typeof role !== "object") return { state: "none", text: "" };
    let raw;
    try {
      raw = await fetchBytes("timestamp.json", LIMITS.timestamp);
    } catch (e) {
      return { state: "failed", text: `timestamp.json: ${e.message}` };
    }
    if (raw === null) {
      return { state: "stale", text: "This registry declares a timestamp role but the site has "
                                     + "no timestamp.json: it may be out of date (freeze)." };
    }
    try {
      const ts = V.strictParse(raw, LIMITS.timestamp);
      const problem = await timestampProblem(ts, role);
      if (problem) return { state: "failed", text: `timestamp.json: ${problem}` };
      const now = Math.floor(Date.now() / 1000);
      const until = new Date(ts.expires_at * 1000).toISOString();
      if (ts.expires_at <= now) {
        return { state: "stale", text: `The registry's timestamp expired at ${until}: this `
                                       + "copy may be out of date (freeze)." };
      }
      return { state: "fresh", text: `Timestamp version ${ts.version}, fresh until ${until}.` };
    } catch (e) {
      return { state: "failed", text: `timestamp.json: ${e.message}` };
    }
  }

  async function timestampProblem(ts, role) {
    if (ts.type !== "timestamp") return "not a timestamp document";
    if (ts.registry !== S.identity.name) return "names another registry";
    if (ts.owner_did !== S.identity.owner_did) return "names another registry owner";
    const keys = Array.isArray(role.keys) ? role.keys : [];
    const signed = await V.multiSigned(ts, keys, role.threshold);
    if (!signed.ok) return signed.why;
    if (!Number.isInteger(ts.created_at) || !Number.isInteger(ts.expires_at)) return "bad times";
    if (ts.expires_at - ts.created_at > role.max_age) return "lives longer than max_age";
    if (ts.index_sha256 !== S.headSha) return "signs another INDEX.json than the one served";
    return null;
  }

  /* ------------------------------------------------------------ one agent's verification */
  function verifyAgent(id) {
    if (!S.checks.has(id)) S.checks.set(id, runChecks(id));
    return S.checks.get(id);
  }

  async function runChecks(id) {
    const out = [];
    const add = (name, ok, detail) => out.push({ name, ok, detail: detail || "" });
    add("registry identity (IDENTITY.json signed by its delegates)", S.identityCheck.ok,
        S.identityCheck.why);
    if (S.fresh.state === "failed") add("timestamp", false, S.fresh.text);
    if (S.log.state === "failed") add("witnessed log", false, S.log.text);
    const { shard, entry } = await entryOf(id);
    if (S.format >= 2) add(`shard index/${id.slice(0, 2)}.json against INDEX.json`, shard.ok, shard.why);
    if (!entry) { add("listed in the index", false, "no index entry"); return finish(out, null, null); }
    let manifest = null;
    let profile = null;
    try {
      const files = await agentFiles(id);
      manifest = files.manifest;
      profile = files.profile;
      if (!files.manifestRaw) throw new V.CheckError("manifest.json is missing");
      const digest = await V.sha256hex(files.manifestRaw);
      add("manifest sha256 against its index entry", digest === entry.manifest_sha256,
          digest === entry.manifest_sha256 ? "" : `sha256 ${digest.slice(0, SHORT)}… is not the entry's`);
      add("manifest is about this agent", manifest.agent_id === id && manifest.owner_did === entry.owner_did,
          manifest.agent_id === id ? (manifest.owner_did === entry.owner_did ? "" : "owner differs from the index")
            : "agent_id differs");
      const off = entryDiffers(entry, manifest);
      add("index entry agrees with the manifest", off.length === 0,
          off.length ? `differs in ${off.join(", ")}` : "");
      const why = await V.signedBy(manifest, "signature_ed25519", manifest.owner_did);
      add("Ed25519 signature of the owner over the RFC 8785 bytes", why === null, why);
      if (!profile) throw new V.CheckError("profile.json is missing");
      const binding = await V.sha256hex(V.jcs(profile));
      add("profile binding sha256(JCS(profile)) = agent_id", binding === id,
          binding === id ? "" : `sha256 is ${binding.slice(0, SHORT)}…`);
      const pairs = [["signature", "signature"], ["module", "module"], ["profile", "profile"],
                     ["system_prompt_fingerprint", "system_prompt_hash"],
                     ["demos_fingerprint", "demos_hash"]];
      const unlike = pairs.filter(([m, p]) => manifest[m] !== profile[p]).map(([m]) => m);
      add("manifest agrees with its profile", unlike.length === 0,
          unlike.length ? `differs in ${unlike.join(", ")}` : "");
    } catch (e) {
      add("agent files", false, e.message);
    }
    return finish(out, manifest, entry);
  }

  /* the fields of an index entry the page shows, against the signed manifest (SPEC §6's
   * entry); the two ppm scores are recomputed here and allowed 1 ppm for libm differences */
  function entryDiffers(entry, m) {
    const metrics = m.metrics || {};
    const off = [];
    for (const [k, want] of [["owner_did", m.owner_did], ["module", m.module], ["profile", m.profile],
                             ["created_at", m.created_at], ["success_rate", metrics.success_rate],
                             ["total_tasks", metrics.total_tasks], ["recent_tasks_7d", metrics.recent_tasks_7d]]) {
      if (entry[k] !== want) off.push(k);
    }
    const types = {};
    for (const [name, t] of Object.entries(m.task_type_stats || {})) {
      types[name] = { count: t && t.count, success_rate: t && t.success_rate };
    }
    if (V.jcsText(types) !== V.jcsText(entry.task_types || {})) off.push("task_types");
    const [wilson, score] = scorePpm(metrics.success_rate, metrics.total_tasks, metrics.recent_tasks_7d);
    if (!(Math.abs(entry.wilson_lower_ppm - wilson) <= 1)) off.push("wilson_lower_ppm");
    if (!(Math.abs(entry.score_ppm - score) <= 1)) off.push("score_ppm");
    return off;
  }

  function wilsonLower(rate, n) {
    if (!n) return 0;
    const z = 1.96;
    const p = roundHalfEven(rate * n) / n;
    const centre = p + (z * z) / (2 * n);
    const spread = z * Math.sqrt(p * (1 - p) / n + (z * z) / (4 * n * n));
    return (centre - spread) / (1 + (z * z) / n);
  }

  function scorePpm(rate, n, recent) {
    const w = wilsonLower(rate, n);
    const s = n ? 0.6 * w + 0.2 * Math.min(1, recent / n) + 0.2 * Math.min(1, Math.log10(n) / 3) : 0.6 * w;
    return [roundHalfEven(w * 1e6), roundHalfEven(s * 1e6)];
  }

  function roundHalfEven(x) {
    const f = Math.floor(x);
    const d = x - f;
    if (d < 0.5) return f;
    if (d > 0.5) return f + 1;
    return f % 2 === 0 ? f : f + 1;
  }

  function finish(checks, manifest, entry) {
    const failed = checks.some((c) => !c.ok);
    const state = failed ? "failed" : S.fresh.state === "stale" ? "stale" : "verified";
    return { state, checks, manifest, entry };
  }

  async function agentFiles(id) {
    const dir = agentDir(id);
    const limit = (S.identity.policy && S.identity.policy.max_manifest_bytes) || 65536;
    const [manifestRaw, profileRaw] = await Promise.all([
      fetchBytes(`${dir}/manifest.json`, limit), fetchBytes(`${dir}/profile.json`, LIMITS.profile)]);
    return {
      manifestRaw,
      manifest: manifestRaw === null ? null : V.strictParse(manifestRaw, limit),
      profile: profileRaw === null ? null : V.strictParse(profileRaw, LIMITS.profile),
    };
  }

  /* ------------------------------------------------------------ the listing */
  function baseIds() {
    const rankings = S.head.rankings || {};
    if (S.view.scope === "top") return Array.isArray(rankings[S.view.ranking]) ? rankings[S.view.ranking] : [];
    return null; // every agent: from the shards
  }

  async function allEntries(progress) {
    const shards = S.format >= 2 ? Object.keys(S.head.shards || {}).sort() : [""];
    const out = [];
    let done = 0;
    for (const ab of shards) {
      if (!S.shards.has(ab)) S.shards.set(ab, loadShard(ab));
      const shard = await S.shards.get(ab);
      for (const [id, entry] of Object.entries(shard.agents)) out.push({ id, entry });
      done++;
      progress(done, shards.length);
    }
    return out;
  }

  function needsEntries() {
    const v = S.view;
    return v.scope === "all" || v.sort !== "rank" || v.text || v.minSuccess !== null || v.minTasks !== null;
  }

  function stat(entry, ranking) {
    if (!entry) return { rate: null, count: null };
    if (ranking === "general") return { rate: entry.success_rate, count: entry.total_tasks };
    const t = entry.task_types && entry.task_types[ranking];
    return t ? { rate: t.success_rate, count: t.count } : { rate: null, count: null };
  }

  // for ordering the "every agent" listing only (the head's rankings are the registry's)
  function typeScore(entry, ranking) {
    if (ranking === "general") return entry.score_ppm || 0;
    const { rate, count } = stat(entry, ranking);
    if (rate === null || !count) return -1;
    return scorePpm(rate, count, entry.recent_tasks_7d || 0)[1];
  }

  async function computeRows(progress) {
    const v = S.view;
    let rows;
    const ids = baseIds();
    if (ids !== null) {
      rows = ids.map((id, i) => ({ id, rank: i + 1, entry: undefined }));
      if (needsEntries()) {
        let done = 0;
        await Promise.all(rows.map(async (row) => {
          row.entry = (await entryOf(row.id)).entry;
          progress(++done, rows.length);
        }));
      }
    } else {
      const all = await allEntries(progress);
      const scored = all.filter(({ entry }) => v.ranking === "general" || stat(entry, v.ranking).rate !== null)
        .map((item) => ({ ...item, score: typeScore(item.entry, v.ranking) }));
      scored.sort((a, b) => (b.score - a.score) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      rows = scored.map((item, i) => ({ id: item.id, rank: i + 1, entry: item.entry }));
    }
    return sortRows(rows.filter(matches));
  }

  function matches(row) {
    const v = S.view;
    if (!needsEntries() || row.entry === undefined) return true;
    const e = row.entry || {};
    const { rate, count } = stat(row.entry, v.ranking);
    if (v.minSuccess !== null && !(rate >= v.minSuccess)) return false;
    if (v.minTasks !== null && !(count >= v.minTasks)) return false;
    if (v.text) {
      const hay = [row.id, e.owner_did, e.module, e.profile].map((x) => String(x || "").toLowerCase());
      if (!hay.some((h) => h.includes(v.text))) return false;
    }
    return true;
  }

  const SORTS = {
    rank: (r) => r.rank,
    success: (r) => stat(r.entry, S.view.ranking).rate ?? -1,
    tasks: (r) => stat(r.entry, S.view.ranking).count ?? -1,
    score: (r) => (r.entry && r.entry.score_ppm) || 0,
    owner: (r) => String((r.entry && r.entry.owner_did) || ""),
    agent: (r) => r.id,
  };

  function sortRows(rows) {
    const key = SORTS[S.view.sort] || SORTS.rank;
    const dir = S.view.dir;
    return rows.slice().sort((a, b) => {
      const x = key(a), y = key(b);
      return (x < y ? -dir : x > y ? dir : 0) || a.rank - b.rank;
    });
  }

  /* ------------------------------------------------------------ rendering */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function say(text) {
    $("status").textContent = text;
  }

  function shortDid(did) {
    const nid = String(did || "").replace(/^did:key:/, "");
    return nid.length > SHORT ? nid.slice(0, SHORT) + "…" : nid;
  }

  function pct(x) {
    return typeof x === "number" ? (x * 100).toFixed(1) + " %" : "–";
  }

  /* a *_ppm number as the decimal the CLI tables print (commands/discover.py `score`) */
  function score(ppm) {
    return typeof ppm === "number" ? (ppm / 1e6).toFixed(3) : "";
  }

  function mark(result) {
    const labels = { verified: "✓ verified", failed: "✗ FAILED", stale: "⚠ stale", checking: "… checking" };
    const state = result ? result.state : "checking";
    const span = el("span", { class: `mark mark-${state}`, "data-state": state }, labels[state]);
    if (result && result.state === "failed") {
      const bad = result.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
      span.title = bad.join("\n");
    }
    return span;
  }

  async function render() {
    const generation = ++S.generation;
    const v = S.view;
    say("Loading…");
    const rows = await computeRows((done, total) => {
      if (generation === S.generation && total > 1) say(`Loading index shards: ${done} of ${total}…`);
    });
    if (generation !== S.generation) return;
    S.rows = rows;
    const pages = Math.max(1, Math.ceil(rows.length / v.size));
    v.page = Math.min(v.page, pages - 1);
    const shown = rows.slice(v.page * v.size, (v.page + 1) * v.size);
    // the rows are drawn at once (rank and id from the head) and filled in as their shards
    // arrive, so the first page is usable before every shard is read
    drawTable(shown);
    drawPager(pages, rows.length);
    drawSortState();
    signal("listed", generation);
    const what = v.scope === "top" ? `top of the ${v.ranking} ranking` : `every agent (${v.ranking})`;
    const range = rows.length ? `${v.page * v.size + 1}–${v.page * v.size + shown.length}` : "0";
    say(`Showing ${range} of ${rows.length} agents, ${what}. Verifying…`);
    const chart = () => drawChart(rows.filter((r) => r.entry).slice(0, 500));
    chart();
    const results = await Promise.all(shown.map(async (row) => {
      if (row.entry === undefined) {
        row.entry = (await entryOf(row.id)).entry;
        if (generation === S.generation) fillRow(row);
      }
      const result = await verifyAgent(row.id);
      if (generation === S.generation) {
        const cell = document.querySelector(`[data-verify="${row.id}"]`);
        if (cell) cell.replaceChildren(mark(result));
      }
      return result;
    }));
    if (generation !== S.generation) return;
    chart();
    signal("verified", generation);
    const count = (s) => results.filter((r) => r.state === s).length;
    say(`Showing ${range} of ${rows.length} agents, ${what}: ${count("verified")} verified, `
        + `${count("failed")} failed${count("stale") ? `, ${count("stale")} on a stale registry` : ""}.`);
  }

  function drawTable(shown) {
    const tbody = $("rows");
    const ranking = S.view.ranking;
    tbody.replaceChildren(...shown.map((row) => {
      const link = el("a", { href: `#agent=${row.id}`, class: "agent-id" }, row.id.slice(0, SHORT) + "…");
      link.setAttribute("aria-label", `agent ${row.id.slice(0, SHORT)}, details`);
      const tr = el("tr", { "data-agent": row.id },
        el("td", { class: "num" }, row.rank),
        el("th", { scope: "row" }, link),
        el("td", {}), el("td", { class: "module" }), el("td", { class: "num" }),
        el("td", { class: "num" }), el("td", { class: "num" }),
        el("td", { "data-verify": row.id }, mark(null)));
      fillRow(row, tr, ranking);
      return tr;
    }));
    $("caption").textContent = S.view.scope === "top"
      ? `Ranking: ${S.view.ranking} (the registry's top ${S.head.rankings_limit || 100})`
      : `Every agent, ordered by ${S.view.ranking === "general" ? "score" : S.view.ranking + " score"}`;
    if (!shown.length) {
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: "8" }, "No agent matches.")));
    }
  }

  /* for measurements (SPEC §12: first page usable): <body data-state> and performance marks
   * "elite:listed" (rows drawn) and "elite:verified" (every mark of the page settled) */
  function signal(state, generation) {
    document.body.dataset.state = state;
    if (generation === 1 && performance.mark) performance.mark(`elite:${state}`);
  }

  function fillRow(row, tr, ranking) {
    tr = tr || document.querySelector(`#rows tr[data-agent="${row.id}"]`);
    if (!tr) return;
    const e = row.entry || {};
    const { rate, count } = stat(row.entry, ranking || S.view.ranking);
    const cells = tr.children;
    const loading = row.entry === undefined ? "…" : "–";
    cells[2].textContent = e.owner_did ? shortDid(e.owner_did) : loading;
    cells[2].title = String(e.owner_did || "");
    cells[3].textContent = [e.module, e.profile].filter(Boolean).join(" / ") || loading;
    cells[4].textContent = rate === null ? loading : pct(rate);
    cells[5].textContent = count ?? loading;
    cells[6].textContent = e.score_ppm === undefined || e.score_ppm === null ? loading : score(e.score_ppm);
    tr.classList.toggle("missing", row.entry === null);
  }

  function drawPager(pages, total) {
    $("page-info").textContent = `Page ${S.view.page + 1} of ${pages} (${total} agents)`;
    $("prev").disabled = S.view.page === 0;
    $("next").disabled = S.view.page >= pages - 1;
  }

  function drawSortState() {
    for (const th of document.querySelectorAll("th[data-sort]")) {
      const active = th.dataset.sort === S.view.sort;
      th.setAttribute("aria-sort", active ? (S.view.dir > 0 ? "ascending" : "descending") : "none");
    }
  }

  /* success rate against tasks (log scale), an SVG drawn here */
  function drawChart(rows) {
    const svg = $("chart");
    const NS = "http://www.w3.org/2000/svg";
    const W = 640, H = 320, L = 56, B = 40, T = 16, R = 16;
    const node = (tag, attrs, text) => {
      const n = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
      if (text !== undefined) n.textContent = text;
      return n;
    };
    const points = rows.map((r) => ({ id: r.id, ...stat(r.entry, S.view.ranking) }))
      .filter((p) => typeof p.rate === "number" && typeof p.count === "number" && p.count > 0);
    const counts = points.map((p) => p.count);
    const maxLog = Math.max(1, Math.ceil(Math.log10(Math.max(10, ...counts))));
    const minLog = Math.min(maxLog - 1, Math.floor(Math.log10(Math.max(1, Math.min(...counts, 10 ** maxLog)))));
    const low = Math.min(0.9, Math.floor(Math.min(1, ...points.map((p) => p.rate)) * 10) / 10);
    const x = (c) => L + ((Math.log10(Math.max(1, c)) - minLog) / (maxLog - minLog)) * (W - L - R);
    const y = (s) => T + ((1 - s) / (1 - low)) * (H - T - B);
    const parts = [node("title", {}, "Success rate against number of tasks"),
                   node("desc", {}, `${points.length} agents of the current listing; the table holds the same numbers.`)];
    for (let d = minLog; d <= maxLog; d++) {
      parts.push(node("line", { x1: x(10 ** d), x2: x(10 ** d), y1: T, y2: H - B, class: "grid" }));
      parts.push(node("text", { x: x(10 ** d), y: H - B + 16, "text-anchor": "middle" }, String(10 ** d)));
    }
    for (let i = 0; i <= 4; i++) {
      const s = low + ((1 - low) * i) / 4;
      parts.push(node("line", { x1: L, x2: W - R, y1: y(s), y2: y(s), class: "grid" }));
      parts.push(node("text", { x: L - 6, y: y(s) + 4, "text-anchor": "end" }, `${Math.round(s * 1000) / 10}%`));
    }
    parts.push(node("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle" }, "tasks (log scale)"));
    parts.push(node("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle",
                              transform: `rotate(-90 14 ${(T + H - B) / 2})` }, "success rate"));
    for (const p of points) {
      const c = node("circle", { cx: x(p.count).toFixed(1), cy: y(p.rate).toFixed(1), r: p.id === S.selected ? 6 : 3.5,
                                 class: p.id === S.selected ? "point selected" : "point" });
      c.append(node("title", {}, `${p.id.slice(0, SHORT)}…: ${pct(p.rate)} of ${p.count} tasks`));
      parts.push(c);
    }
    svg.replaceChildren(...parts);
    svg.setAttribute("aria-label", `Chart: success rate against tasks for ${points.length} agents`);
  }

  /* ------------------------------------------------------------ agent detail */
  function dl(pairs) {
    const list = el("dl", {});
    for (const [k, v] of pairs) {
      if (v === undefined || v === null || v === "") continue;
      list.append(el("dt", {}, k), el("dd", {}, typeof v === "object" && !(v instanceof Node) ? JSON.stringify(v) : v));
    }
    return list;
  }

  function safeLink(url) {
    const text = String(url || "");
    return /^https?:\/\//i.test(text) ? el("a", { href: text, rel: "noopener noreferrer nofollow" }, text) : text;
  }

  function when(ts) {
    return Number.isInteger(ts) ? new Date(ts * 1000).toISOString().replace(".000Z", "Z") : "–";
  }

  async function showAgent(id) {
    const panel = $("detail");
    S.selected = id;
    panel.hidden = false;
    panel.replaceChildren(el("h2", { id: "detail-title", tabindex: "-1" }, `Agent ${id.slice(0, SHORT)}…`),
                          el("p", {}, "Verifying…"));
    $("detail-title").focus();
    const result = await verifyAgent(id);
    if (S.selected !== id) return;
    const m = result.manifest || {};
    const e = result.entry || {};
    const checks = el("ul", { class: "checks", "aria-label": "verification" },
      ...result.checks.map((c) => el("li", { class: c.ok ? "ok" : "bad" },
        el("span", { class: "mark-inline" }, c.ok ? "✓ " : "✗ FAILED: "), c.name, c.detail ? ` — ${c.detail}` : "")));
    const types = Object.entries(m.task_type_stats || {});
    const typeTable = el("table", { class: "types" },
      el("caption", {}, "Task types"),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "task type"), el("th", { scope: "col" }, "success"),
                                  el("th", { scope: "col" }, "count"))),
      el("tbody", {}, ...types.map(([name, t]) => el("tr", {}, el("th", { scope: "row" }, name),
        el("td", { class: "num" }, pct(t && t.success_rate)), el("td", { class: "num" }, t && t.count)))));
    const repo = m.repo_ref || {};
    const metrics = m.metrics || {};
    const attested = await verifyAttestations(id, m.owner_did, e);
    const summary = attestedSummary(attested, metrics.success_rate);
    panel.replaceChildren(
      el("h2", { id: "detail-title", tabindex: "-1" }, `Agent ${id.slice(0, SHORT)}…`),
      el("p", {}, mark(result), " ", el("code", { class: "wrap" }, id)),
      checks,
      el("h3", {}, "Metrics"),
      dl([["success rate (self-reported)", pct(metrics.success_rate)],
          ["attested success rate", summary.rate], ["largest disagreement", summary.delta],
          ["tasks", metrics.total_tasks],
          ["tasks in the last 7 days", metrics.recent_tasks_7d], ["average duration", metrics.avg_duration_ms !== undefined ? `${metrics.avg_duration_ms} ms` : ""],
          ["critical failures (24 h)", metrics.critical_failures_24h], ["score", score(e.score_ppm)],
          ["Wilson lower bound", score(e.wilson_lower_ppm)], ["elite", e.elite === undefined ? "" : e.elite ? "yes" : "no"],
          ["live attestations (index entry)", e.attestations], ["created", when(m.created_at)],
          ["evaluation window", m.eval_window ? `${when(m.eval_window.from_ts)} – ${when(m.eval_window.to_ts)}` : ""]]),
      types.length ? typeTable : el("p", {}, "No task types."),
      attestationSection(attested, summary),
      el("h3", {}, "Configuration and provenance"),
      dl([["signature", m.signature], ["module", m.module], ["profile", m.profile],
          ...Object.entries(m.provenance || {}).map(([k, v]) => [k.replace(/_/g, " "), v])]),
      el("h3", {}, "Source (repo_ref)"),
      dl([["type", repo.type], ["url", repo.url ? safeLink(repo.url) : ""], ["commit", repo.commit], ["path", repo.path]]),
      el("h3", {}, "Owner"),
      el("p", {}, el("code", { class: "wrap" }, String(m.owner_did || e.owner_did || "–"))),
      await endorsementList(String(m.owner_did || e.owner_did || "")),
      el("p", {}, el("a", { href: "#", class: "back" }, "Back to the ranking")));
    $("detail-title").focus();
    drawChart(S.rows.filter((r) => r.entry).slice(0, 500));
  }

  /* ------------------------------------------------------------ attestations (SPEC §5.8)
   * site.json lists them (a static host cannot list a folder); each is checked here: strict
   * JSON, its agent_id and attester against its path, the attester is not the owner, and the
   * attester's Ed25519 signature over the RFC 8785 bytes. This page has no trust set: every
   * verified live attestation is shown and pooled, marked "not weighed by your trust". */
  function attestationPaths(id) {
    if (!S.site || !Array.isArray(S.site.attestations)) return null;
    const prefix = `${agentDir(id)}/attestations/`;
    return S.site.attestations.filter((p) => typeof p === "string" && p.startsWith(prefix)
      && /^z[1-9A-HJ-NP-Za-km-z]{1,60}\.json$/.test(p.slice(prefix.length))).slice(0, 200);
  }

  function verifyAttestations(id, owner, entry) {
    if (!S.attested.has(id)) S.attested.set(id, checkAttestations(id, owner, entry));
    return S.attested.get(id);
  }

  async function checkAttestations(id, owner, entry) {
    const paths = attestationPaths(id);
    if (paths === null) return { listed: false, items: [], expected: entry.attestations };
    const items = await Promise.all(paths.map((p) => checkAttestation(id, p, owner, entry)));
    return { listed: true, items, expected: entry.attestations };
  }

  async function checkAttestation(id, path, owner, entry) {
    const nid = path.split("/").pop().replace(/\.json$/, "");
    const limit = Math.min(LIMITS.attestation,
                           (S.identity.policy && S.identity.policy.max_manifest_bytes) || LIMITS.attestation);
    try {
      const raw = await fetchBytes(path, limit);
      if (raw === null) return { path, nid, doc: null, state: "failed", why: "missing (site.json lists it)" };
      const doc = V.strictParse(raw, limit);
      const why = attestationProblem(doc, id, nid, owner)
        || await V.signedBy(doc, "signature_ed25519", doc.attester)
        || await attestationPinProblem(entry, nid, raw, doc);
      const state = why !== null ? "failed" : doc.revoked ? "revoked" : "verified";
      return { path, nid, doc, state, why };
    } catch (e) {
      return { path, nid, doc: null, state: "failed", why: e.message };
    }
  }

  /* SPEC §6.2: a live attestation counts only with the digest its pinned index entry gives
   * (`attestation_sha256`); a revocation needs none (it can only take a number away) */
  async function attestationPinProblem(entry, nid, raw, doc) {
    if (S.format < 2 || !S.head.identity || doc.revoked) return null;
    const pins = entry && entry.attestation_sha256;
    const want = pins && typeof pins === "object" ? pins[nid] : undefined;
    if (typeof want !== "string") return "not pinned by its index entry (withdrawn, or not the registry's)";
    return await V.sha256hex(raw) === want ? null : "not the bytes its index entry pins";
  }

  /* the rules of SPEC §5.8 a reader of one agent can check (the server ran them all) */
  function attestationProblem(doc, id, nid, owner) {
    if (!doc || typeof doc !== "object" || Array.isArray(doc) || doc.type !== "attestation"
        || doc.schema_version !== 1) return "not an attestation";
    if (doc.agent_id !== id) return "its agent_id is another agent's (copied onto this one)";
    if (doc.attester !== `did:key:${nid}`) return "its attester is not the one its path names";
    if (typeof owner !== "string" || !owner) return "the agent has no owner to compare with";
    if (doc.attester === owner) return "the attester owns the agent (an owner cannot attest itself)";
    if (typeof doc.revoked !== "boolean" || !Number.isInteger(doc.created_at)) {
      return "revoked or created_at has the wrong type";
    }
    const m = doc.metrics || {};
    if (!doc.revoked && !(typeof m.success_rate === "number" && m.success_rate >= 0
                          && m.success_rate <= 1 && Number.isInteger(m.total_tasks) && m.total_tasks >= 1)) {
      return "its metrics have no success_rate in [0, 1] or no total_tasks ≥ 1";
    }
    return null;
  }

  /* pooled like discover (successes and tasks summed) and the largest gap attested − own,
   * over every verified live attestation (this page weighs by no trust set) */
  function attestedSummary(attested, own) {
    const live = attested.items.filter((a) => a.state === "verified");
    if (!live.length) return { rate: attested.items.length ? "none verified and live" : "", delta: "", live };
    const total = live.reduce((n, a) => n + a.doc.metrics.total_tasks, 0);
    const wins = live.reduce((n, a) => n + roundHalfEven(a.doc.metrics.success_rate * a.doc.metrics.total_tasks), 0);
    const rate = `${pct(wins / total)} (pooled over ${live.length} verified; not weighed by your trust)`;
    if (typeof own !== "number") return { rate, delta: "", live };
    const widest = live.map((a) => a.doc.metrics.success_rate - own)
      .reduce((x, y) => (Math.abs(y) > Math.abs(x) ? y : x));
    const delta = `${widest >= 0 ? "+" : "−"}${Math.abs(widest).toFixed(2)} (attested − self-reported)`;
    return { rate, delta, live };
  }

  function attestationSection(attested, summary) {
    const box = el("section", { "aria-labelledby": "attestations-title", id: "attestations" },
                   el("h3", { id: "attestations-title" }, "Attestations"));
    if (!attested.listed) {
      box.append(el("p", {}, "This site lists no attestations (its site.json has no list); "
                            + `the index entry counts ${attested.expected ?? 0} live.`));
      return box;
    }
    box.append(el("p", { class: "note" }, "Other people's signed measurements of this agent. "
      + "This page knows no trust set: it shows every attestation it could verify, not weighed "
      + "by your trust (git elite discover weighs them by yours)."));
    const live = attested.items.filter((a) => a.doc && a.doc.revoked === false).length;
    if (Number.isInteger(attested.expected) && live !== attested.expected) {
      box.append(el("p", { class: "bad", "data-check": "attestation-count" },
        `✗ FAILED: the index entry counts ${attested.expected} live attestation(s), the site lists ${live}`));
    }
    if (!attested.items.length) { box.append(el("p", {}, "None.")); return box; }
    box.append(el("ul", { class: "checks" }, ...attested.items.map(attestationItem)));
    return box;
  }

  function attestationItem(a) {
    const d = a.doc || {};
    const m = d.metrics || {};
    const who = shortDid(d.attester || `did:key:${a.nid}`);
    const label = { verified: "✓ verified: ", revoked: "✓ verified, revoked: ", failed: `✗ FAILED (${a.why}): ` }[a.state];
    const what = a.state === "verified"
      ? `${who} measured ${pct(m.success_rate)} of ${m.total_tasks} tasks`
        + (d.method && typeof d.method.suite === "string" ? ` (suite ${d.method.suite})` : "")
        + `, ${when(d.created_at)}; not weighed by your trust`
      : a.state === "revoked" ? `${who} withdrew its attestation, ${when(d.created_at)}` : a.path;
    return el("li", { class: a.state === "failed" ? "bad" : "ok", "data-attestation": a.nid,
                      "data-state": a.state }, el("span", { class: "mark-inline" }, label), what);
  }

  async function endorsementList(did) {
    const box = el("section", { "aria-labelledby": "endorsements-title" }, el("h3", { id: "endorsements-title" }, "Endorsements"));
    if (!S.site || !Array.isArray(S.site.endorsements)) {
      box.append(el("p", {}, "This site lists no endorsements (no site.json)."));
      return box;
    }
    const nid = did.replace(/^did:key:/, "");
    const paths = S.site.endorsements.filter((p) => typeof p === "string" && p.split("/").slice(1).some((x) => x.replace(/\.json$/, "") === nid)).slice(0, 50);
    if (!paths.length) { box.append(el("p", {}, "None by or for this owner.")); return box; }
    const items = await Promise.all(paths.map(endorsementItem));
    box.append(el("ul", {}, ...items));
    return box;
  }

  async function endorsementItem(path) {
    try {
      const raw = await fetchBytes(path, LIMITS.endorsement);
      if (raw === null) return el("li", { class: "bad" }, `✗ FAILED: ${path} is missing`);
      const doc = V.strictParse(raw, LIMITS.endorsement);
      const [, from, to] = path.replace(/\.json$/, "").split("/");
      const placed = doc.type === "endorsement" && doc.from === `did:key:${from}` && doc.to === `did:key:${to}`;
      const why = await trustPinProblem(path, raw)
        || (placed ? await V.signedBy(doc, "signature_ed25519", doc.from) : "path does not match its from/to");
      const now = Math.floor(Date.now() / 1000);
      const live = !doc.revoked && !(Number.isInteger(doc.expires_at) && doc.expires_at <= now);
      const types = Array.isArray(doc.task_types) ? doc.task_types.join(", ") : "";
      return el("li", { class: why === null ? "ok" : "bad" },
        why === null ? "✓ " : `✗ FAILED (${why}): `,
        `${shortDid(doc.from)} endorses ${shortDid(doc.to)} for ${types || "–"}`,
        live ? "" : doc.revoked ? " (revoked)" : " (expired)", `, ${when(doc.created_at)}`);
    } catch (e) {
      return el("li", { class: "bad" }, `✗ FAILED: ${path}: ${e.message}`);
    }
  }

  /* ------------------------------------------------------------ controls */
  function readControls() {
    const v = S.view;
    v.ranking = $("ranking").value;
    v.scope = $("scope").value;
    v.text = $("filter").value.trim().toLowerCase();
    const ms = $("min-success").value;
    v.minSuccess = ms === "" ? null : Number(ms) / 100;
    const mt = $("min-tasks").value;
    v.minTasks = mt === "" ? null : Number(mt);
    v.size = Number($("page-size").value) || 20;
  }

  function wire() {
    let timer = null;
    const changed = () => { readControls(); S.view.page = 0; render().catch(fatal); };
    for (const id of ["ranking", "scope", "page-size", "min-success", "min-tasks"]) {
      $(id).addEventListener("change", changed);
    }
    $("filter").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(changed, 250); });
    $("controls").addEventListener("submit", (ev) => { ev.preventDefault(); changed(); });
    $("prev").addEventListener("click", () => { S.view.page--; render().catch(fatal); });
    $("next").addEventListener("click", () => { S.view.page++; render().catch(fatal); });
    for (const th of document.querySelectorAll("th[data-sort]")) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.dataset.sort;
        S.view.dir = S.view.sort === key ? -S.view.dir : (key === "rank" || key === "agent" || key === "owner" ? 1 : -1);
        S.view.sort = key;
        S.view.page = 0;
        render().catch(fatal);
      });
    }
    window.addEventListener("hashchange", route);
  }

  function route() {
    const m = /^#agent=([0-9a-f]{64})$/.exec(location.hash);
    if (m) { showAgent(m[1]).catch(fatal); return; }
    S.selected = null;
    $("detail").hidden = true;
    $("detail").replaceChildren();
  }

  function fatal(e) {
    const box = $("banner");
    box.hidden = false;
    box.className = "banner failed";
    box.setAttribute("role", "alert");
    box.textContent = `FAILED: ${e && e.message ? e.message : e}`;
    say(`The registry could not be read: ${e && e.message ? e.message : e}`);
  }

  function header() {
    const id = S.identity;
    $("registry-name").textContent = String(id.name || "registry");
    document.title = `${String(id.name || "registry")} · git elite leaderboard`;
    $("registry-owner").textContent = String(id.owner_did || "");
    $("registry-counts").textContent = `${S.head.agent_count ?? "?"} agents, ${S.head.elite_count ?? (S.head.rankings && S.head.rankings.general || []).length} elite`
      + (S.site && S.site.commit ? `, commit ${String(S.site.commit).slice(0, SHORT)}` : "");
    const ident = $("registry-check");
    ident.replaceChildren(mark({ state: S.identityCheck.ok ? "verified" : "failed", checks: [{ ok: S.identityCheck.ok, name: "IDENTITY.json", detail: S.identityCheck.why }] }));
    const box = $("banner");
    if (!S.identityCheck.ok || S.log.state === "failed" || S.fresh.state === "failed"
        || S.fresh.state === "stale") {
      box.hidden = false;
      box.className = `banner ${S.identityCheck.ok && S.log.state !== "failed" ? S.fresh.state : "failed"}`;
      box.setAttribute("role", "alert");
      box.textContent = !S.identityCheck.ok ? `FAILED: ${S.identityCheck.why}`
        : S.log.state === "failed" ? `FAILED: ${S.log.text}`
        : S.fresh.state === "failed" ? `FAILED: ${S.fresh.text}` : `Stale: ${S.fresh.text}`;
    } else {
      $("freshness").textContent = [S.fresh.state === "fresh" ? S.fresh.text : "",
                                    S.log.state === "witnessed" ? S.log.text : ""]
        .filter(Boolean).join(" ");
    }
    const select = $("ranking");
    const names = Object.keys(S.head.rankings || {});
    select.replaceChildren(...["general", ...names.filter((n) => n !== "general").sort()].map((n) => el("option", { value: n }, n)));
  }

  /* Opened from disk (file://), browsers refuse the page's reads of the files next to it
   * ("Failed to fetch"): say, in one line, how to serve the folder instead. */
  function fromDisk() {
    const folder = decodeURIComponent(location.pathname.replace(/\/[^/]*$/, "")) || ".";
    const box = $("banner");
    box.hidden = false;
    box.className = "banner stale";
    box.setAttribute("role", "alert");
    box.textContent = "This page reads the registry's files over HTTP, which a browser does " +
      `not allow from a file:// page: serve the folder (python3 -m http.server -d ${folder} ` +
      "8000) and open http://127.0.0.1:8000/";
    say(box.textContent);
  }

  async function main() {
    wire();
    if (location.protocol === "file:") {
      fromDisk();
      return;
    }
    try {
      await loadRegistry();
    } catch (e) {
      fatal(e);
      return;
    }
    header();
    readControls();
    await render();
    route();
  }

  window.EliteSite = { state: S, verifyAgent, render };
  document.addEventListener("DOMContentLoaded", () => { main().catch(fatal); });
})();
