// ACORN approvals desk: plain JavaScript over the hub's JSON API (cookie + CSRF header).
// Everything that comes from the server is put in the page as text, never as HTML.
"use strict";

const state = { me: null, page: { limit: 25, offset: 0 }, rows: [], selected: new Map(),
                story: null, simulated: null };
const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

function toast(message, bad = false) {
  const box = $("#toast");
  box.textContent = message;
  box.className = bad ? "toast bad" : "toast";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

async function api(method, path, body, extra = {}) {
  const headers = { "Accept": "application/json", ...extra };
  if (method !== "GET") headers["X-CSRF-Token"] = state.me ? state.me.csrf : "";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (answer.status === 401) { location.href = "/login"; throw new Error("signed out"); }
  const data = answer.status === 204 ? null : await answer.json();
  if (!answer.ok) {
    const first = (data && data.detail && data.detail[0]) || {};
    const error = new Error(first.message || `request failed (${answer.status})`);
    error.detail = data && data.detail;
    error.status = answer.status;
    throw error;
  }
  return data;
}

// ---- writes that happen once ------------------------------------------------------------
// Each decision (approve, reject, bulk approve, publish) gets one Idempotency-Key when the
// person acts and keeps it until the hub answers: a double click, a lost answer retried and a
// reload that re-sends the pending action (kept in sessionStorage) all reuse it, and the hub
// answers the first result instead of deciding twice.

const PENDING_ACTION = "acorn.desk.pending";
const RETRY_MS = [400, 1000, 2000, 4000];
const inFlight = new Set();

function newKey() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));  // no secure context: a v4 UUID by hand
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Start an action (null when one of its kind is still on its way: a second click).
async function writeOnce(action, buttons = []) {
  if (inFlight.has(action.kind)) return null;
  const keyed = { ...action, key: newKey() };
  sessionStorage.setItem(PENDING_ACTION, JSON.stringify(keyed));
  return sendAction(keyed, buttons);
}

// Send an action with its key until the hub answers; only a lost answer is tried again, and
// if every try is lost the action stays pending for the next reload.
async function sendAction(action, buttons = []) {
  inFlight.add(action.kind);
  buttons.forEach((b) => { b.disabled = true; });
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const data = await api(action.method, action.path, action.body, { "Idempotency-Key": action.key });
        sessionStorage.removeItem(PENDING_ACTION);
        return data;
      } catch (error) {
        if (error.status !== undefined) { sessionStorage.removeItem(PENDING_ACTION); throw error; }
        if (attempt >= RETRY_MS.length) throw new Error("the hub did not answer; the action is sent again when this page reloads");
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS[attempt]));
      }
    }
  } finally {
    inFlight.delete(action.kind);
    buttons.forEach((b) => { b.disabled = false; });
  }
}

async function resumePending() {
  let action = null;
  try { action = JSON.parse(sessionStorage.getItem(PENDING_ACTION) || "null"); } catch { action = null; }
  if (!action) return;
  try {
    await sendAction(action);
    toast(action.done);
  } catch (error) { toast(error.message, true); }
}

const money = (m) => (m ? `${m.amount} ${m.currency}` : "–");
const when = (text) => new Date(text).toLocaleString();
const hours = (h) => (h < 1 ? `${Math.round(h * 60)} min` : h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`);

// ---- queue ------------------------------------------------------------------------------

function filterParams() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData($("#filters"))) if (value) params.set(key, value);
  params.set("limit", state.page.limit);
  params.set("offset", state.page.offset);
  return params;
}

function fillSelect(name, values, label = (v) => v) {
  const select = $(`#filters select[name=${name}]`);
  const keep = select.value;
  select.replaceChildren(el("option", { value: "" }, "any"),
    ...values.map((v) => el("option", { value: v }, label(v))));
  if (values.map(String).includes(keep)) select.value = keep;
}

async function loadFacets() {
  const facets = await api("GET", "/api/desk/facets");
  fillSelect("level", facets.levels, (v) => `level ${v}`);
  fillSelect("store", facets.stores);
  fillSelect("marketplace", [...facets.marketplaces, "none"], (v) => (v === "none" ? "none (store sale)" : v));
  fillSelect("reason", facets.reasons);
}

function forInspection() {
  return $("#filters select[name=waiting_for]").value === "inspection";
}

function whyText(row) {
  if (forInspection()) return row.reasons[0] || "waiting for the store's inspection";
  const fired = row.reasons.filter((r) => !r.startsWith("refund after") && !r.startsWith("marketplace "));
  return fired[fired.length - 1] || row.reasons[0] || "";
}

function queueRow(row) {
  const key = `${row.store_id}/${row.refund_id}`;
  const box = el("input", { type: "checkbox", "aria-label": `select ${key}`, "data-testid": "select",
    onclick: (event) => { event.stopPropagation(); toggle(row, event.target.checked); } });
  box.disabled = forInspection();  // nobody approves a refund before its inspection
  box.checked = state.selected.has(key);
  const level = [el("span", { class: "badge level" }, row.approval_level ? `L${row.approval_level}` : "–")];
  if (row.manual_review) level.push(" ", el("span", { class: "badge review" }, "review"));
  return el("tr", { "data-testid": "queue-row", "data-refund": row.refund_id, "data-store": row.store_id,
                    onclick: () => openStory(row) },
    el("td", {}, box),
    el("td", {}, el("span", { class: `badge ${row.ageing}`, "data-testid": "ageing",
                              "data-ageing": row.ageing }, hours(row.age_hours))),
    el("td", {}, row.store_id), el("td", {}, row.refund_id),
    el("td", {}, money(row.amount), row.base_amount && row.base_amount.currency !== row.amount.currency
      ? el("div", { class: "muted" }, `≈ ${money(row.base_amount)}`) : ""),
    el("td", {}, level), el("td", { class: "why" }, whyText(row)),
    el("td", {}, row.requested_by || "–"));
}

async function loadQueue() {
  const page = await api("GET", `/api/desk/queue?${filterParams()}`);
  state.rows = page.items;
  $("table.queue tbody").replaceChildren(...page.items.map(queueRow));
  $("[data-testid=queue-total]").textContent = forInspection()
    ? `${page.total} waiting for the store's inspection`
    : `${page.total} waiting · target ${page.target_hours} h`;
  $(".bulk").hidden = forInspection();
  if (forInspection()) state.selected.clear();
  const last = Math.min(page.offset + page.limit, page.total);
  $("#page-info").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "nothing waiting";
  $("#prev").disabled = page.offset === 0;
  $("#next").disabled = last >= page.total;
  $("#select-all").checked = false;
  $("#select-all").disabled = forInspection();
  showSelection();
}

function toggle(row, on) {
  const key = `${row.store_id}/${row.refund_id}`;
  if (on) state.selected.set(key, row); else state.selected.delete(key);
  showSelection();
}

function scaled(text, places) {
  const [whole, fraction = ""] = text.split(".");
  return BigInt(whole + fraction.padEnd(places, "0"));
}

function selectionTotal() {
  // Exact decimal sum (no floats): every amount scaled to the most decimal places present.
  const rows = [...state.selected.values()];
  const currencies = new Set(rows.map((r) => r.base_amount && r.base_amount.currency));
  if (!rows.length || currencies.size !== 1 || currencies.has(null)) return null;
  const places = Math.max(...rows.map((r) => (r.base_amount.amount.split(".")[1] || "").length));
  const sum = rows.reduce((total, r) => total + scaled(r.base_amount.amount, places), 0n);
  const digits = sum.toString().padStart(places + 1, "0");
  const amount = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
  return { amount, currency: [...currencies][0] };
}

function showSelection() {
  const total = selectionTotal();
  const count = state.selected.size;
  $("[data-testid=selection]").textContent = count
    ? `${count} selected · ${total ? money(total) : "mixed currencies"}` : "";
  $("#bulk-approve").disabled = !count || !total;
}

async function bulkApprove() {
  const total = selectionTotal();
  const refunds = [...state.selected.values()].map((r) => ({ store_id: r.store_id, refund_id: r.refund_id }));
  if (!confirm(`Approve ${refunds.length} refunds totalling ${money(total)}?`)) return;
  const done = `${refunds.length} refunds approved`;
  try {
    const answer = await writeOnce({ kind: "bulk", method: "POST", path: "/api/refunds/bulk-approve",
      body: { refunds, expected_total: total }, done }, [$("#bulk-approve")]);
    if (!answer) return;
    toast(done);
    state.selected.clear();
    await refresh();
  } catch (error) { toast(error.message, true); }
}

// ---- a refund's story -------------------------------------------------------------------

function section(title, ...content) { return [el("h3", {}, title), ...content]; }

function rulesList(decision) {
  if (!decision) return el("p", { class: "muted" }, "no policy decision recorded");
  const fx = decision.fx ? `1 ${decision.fx.currency} = ${decision.fx.rate} ${decision.base_currency} (${decision.fx.source}, ${decision.fx.as_of || "–"})` : "–";
  return [el("p", { class: "muted" }, `policy version ${decision.policy_version} · base ${decision.base_amount ?? "–"} ${decision.base_currency} · rate ${fx}`),
    el("ul", { "data-testid": "rules" }, decision.rules.map((r) => el("li", { class: "rule" }, r.sentence, " ",
      el("span", { class: "rule-id" }, `${r.rule_id} · ${r.effect}`))))];
}

function storyBody(s) {
  const r = s.refund, ret = s.return;
  const inspections = ret.inspections.map((i) => el("li", {}, `${i.grade} · ${when(i.inspected_at)} · ${i.notes || "no notes"}`,
    i.photos.length ? el("div", { class: "muted" }, `photos: ${i.photos.join(", ")}`) : ""));
  return el("div", { class: "story" },
    el("h2", {}, `Refund ${r.refund_id} · ${money(r.amount)}`),
    el("p", {}, el("span", { class: `badge ${s.ageing}` }, `waiting ${hours(s.age_hours)}`), " ",
      el("span", { class: "badge level", "data-testid": "story-state" }, r.state), " ",
      r.outcome === "manual_review" && r.state === "pending_approval" ? el("span", { class: "badge review" }, "manual review") : ""),
    el("dl", {}, el("dt", {}, "Store"), el("dd", {}, `${s.store.store_id} (${s.store.region || "–"} / ${s.store.city || "–"})`),
      el("dt", {}, "Order"), el("dd", {}, ret.order_id || "–"),
      el("dt", {}, "Sold"), el("dd", {}, ret.sold_at ? when(ret.sold_at) : "not recorded"), el("dt", {}, "Channel"), el("dd", {}, `${r.channel} ${ret.marketplace_id || ""}`),
      el("dt", {}, "Asked by"), el("dd", {}, `${r.requested_by || "–"} at ${when(r.requested_at)}`),
      el("dt", {}, "Customer's reason"), el("dd", {}, ret.reason), el("dt", {}, "Mismatch"), el("dd", {}, ret.mismatch ? "yes: scanned item is not the ordered item" : "no")),
    section("Why (rules fired)", rulesList(s.decision)),
    section("Items", el("ul", {}, ret.items.map((i) => el("li", {}, `${i.quantity} × ${i.sku} ${i.description || ""} @ ${money(i.unit_price)}`,
      i.category ? el("span", { class: "badge" }, i.category) : "",
      i.opened === true ? el("span", { class: "badge review" }, "opened") : i.opened === false ? el("span", { class: "badge" }, "sealed") : "")))),
    section("Inspection", inspections.length ? el("ul", {}, inspections) : el("p", { class: "muted" }, "not inspected yet")),
    section("Customer history", s.customer_history.length ? el("ul", { "data-testid": "history" }, s.customer_history.map((h) =>
      el("li", {}, `${when(h.requested_at)} · ${h.store_id}/${h.refund_id} · ${money(h.amount)} · ${h.state}`))) : el("p", { class: "muted" }, "no other refunds known for this customer")),
    section("Audit trail", el("ul", {}, s.audit.map((a) => el("li", {}, `#${a.seq} ${when(a.at)} · ${a.actor} (${a.role}) · ${a.action}${a.reason ? ` · ${a.reason}` : ""}`)))));
}

async function openStory(row) {
  try {
    const s = await api("GET", `/api/refunds/${encodeURIComponent(row.refund_id)}?store=${encodeURIComponent(row.store_id)}`);
    state.story = s;
    $("#story-body").replaceChildren(storyBody(s));
    $(".decide").hidden = !s.can_decide;
    $("#why-not").hidden = s.can_decide;
    $("#why-not").textContent = s.why_not || "";
    $("#decision-reason").value = "";
    $("#story").showModal();
  } catch (error) { toast(error.message, true); }
}

async function decide(approve) {
  const s = state.story, reason = $("#decision-reason").value.trim();
  if (!approve && !reason) { toast("a rejection needs a reason", true); return; }
  const path = `/api/refunds/${encodeURIComponent(s.refund.refund_id)}/${approve ? "approve" : "reject"}?store=${encodeURIComponent(s.refund.store_id)}`;
  const done = `refund ${s.refund.refund_id} ${approve ? "approved" : "rejected"}`;
  try {
    const answer = await writeOnce({ kind: "decide", method: "POST", path, body: reason ? { reason } : {}, done },
      [$("#approve"), $("#reject")]);
    if (!answer) return;
    $("#story").close();
    toast(done);
    state.selected.delete(`${s.refund.store_id}/${s.refund.refund_id}`);
    await refresh();
  } catch (error) { toast(error.message, true); }
}

// ---- policy -----------------------------------------------------------------------------

async function loadPolicy() {
  const [active, versions] = await Promise.all([api("GET", "/api/policy"), api("GET", "/api/policy/versions")]);
  $("[data-testid=policy-version]").textContent = `v${active.version} · ${active.name}`;
  $("#policy-yaml").value = active.yaml;
  $("[data-testid=policy-versions]").replaceChildren(...versions.slice(0, 8).map((v) =>
    el("li", {}, `v${v.version} · ${when(v.published_at)} · ${v.published_by}${v.reason ? ` · ${v.reason}` : ""}`)));
  state.simulated = null;
  $("#publish").disabled = true;
  $("#sim-report").hidden = true;
}

function reportTable(head, rows) {
  return el("table", {}, el("tr", {}, head.map((h) => el("th", {}, h))),
    rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))));
}

function showReport(report) {
  const box = $("#sim-report");
  box.replaceChildren(
    el("h3", {}, `v${report.current_version} → v${report.draft_version} over ${report.days} days: ${report.changed} of ${report.total} decisions change, ${money(report.money_moved)} moves`),
    reportTable(["from", "to", "refunds", "amount"], report.matrix.map((m) => [m.from, m.to, m.count, money(m.amount)])),
    reportTable(["outcome", "before", "after"], [...new Set([...report.before, ...report.after].map((t) => t.label))].map((label) => {
      const b = report.before.find((t) => t.label === label), a = report.after.find((t) => t.label === label);
      return [label, b ? `${b.count} · ${money(b.amount)}` : "0", a ? `${a.count} · ${money(a.amount)}` : "0"];
    })),
    el("ul", {}, report.examples.map((e) => el("li", {}, `${e.refund}: ${e.from} → ${e.to} (${money(e.amount)})`))));
  box.hidden = false;
}

function problemsText(error) {
  return (error.detail || []).map((d) => `${d.field || "document"}: ${d.message}`).join("; ") || error.message;
}

async function simulateDraft() {
  const yaml = $("#policy-yaml").value;
  try {
    const report = await api("POST", "/api/policy/simulate", { yaml, days: Number($("#sim-days").value) || 30 });
    state.simulated = yaml;
    showReport(report);
    $("#publish").disabled = false;
  } catch (error) { toast(problemsText(error), true); }
}

async function publishDraft() {
  const yaml = $("#policy-yaml").value;
  if (yaml !== state.simulated) { toast("simulate this version before publishing it", true); return; }
  try {
    const done = await writeOnce({ kind: "publish", method: "PUT", path: "/api/policy",
      body: { yaml, reason: $("#publish-reason").value.trim() || null }, done: "policy published" }, [$("#publish")]);
    if (!done) return;
    toast(`policy version ${done.version} published`);
    await loadPolicy();
  } catch (error) { toast(problemsText(error), true); }
}

// ---- wiring -----------------------------------------------------------------------------

function show(view) {
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("active", tab.dataset.view === view);
  $("#queue-view").hidden = view !== "queue";
  $("#policy-view").hidden = view !== "policy";
  if (view === "policy") loadPolicy().catch((e) => toast(e.message, true));
}

async function refresh() {
  await Promise.all([loadFacets(), loadQueue()]);
}

async function start() {
  state.me = await api("GET", "/api/session");
  $("[data-testid=who]").textContent = `${state.me.display_name} · ${state.me.role}`;
  $("[data-testid=nav-policy]").hidden = state.me.role !== "admin";
  $("#filters").addEventListener("change", () => { state.page.offset = 0; loadQueue().catch((e) => toast(e.message, true)); });
  $("#prev").addEventListener("click", () => { state.page.offset = Math.max(0, state.page.offset - state.page.limit); loadQueue(); });
  $("#next").addEventListener("click", () => { state.page.offset += state.page.limit; loadQueue(); });
  $("#select-all").addEventListener("change", (e) => { state.rows.forEach((r) => toggle(r, e.target.checked)); loadQueue(); });
  $("#bulk-approve").addEventListener("click", bulkApprove);
  $("#approve").addEventListener("click", () => decide(true));
  $("#reject").addEventListener("click", () => decide(false));
  $("#simulate").addEventListener("click", simulateDraft);
  $("#publish").addEventListener("click", publishDraft);
  $("#policy-yaml").addEventListener("input", () => { $("#publish").disabled = $("#policy-yaml").value !== state.simulated; });
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => show(tab.dataset.view));
  await resumePending();
  await refresh();
  document.body.dataset.ready = "true";
}

start().catch((error) => toast(error.message, true));
