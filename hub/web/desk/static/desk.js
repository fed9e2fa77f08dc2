// ACORN approvals desk: the queue, a refund's story and its decision, over the hub's JSON API
// (cookie + CSRF header). The entry module of desk.html.
//
// Rules:
// - the filters' choices and the words for states, outcomes, channels, grades, roles, levels,
//   marketplaces and reasons come from GET /api/options; the queue's facets say which of them
//   are waiting now; nothing here keeps its own list;
// - each queue row opens with a real button (Tab + Enter or Space); a click anywhere else on the
//   row opens it too, for the mouse;
// - the bulk total is summed exactly (common.js: decimal text and BigInt, never floats);
// - after a decision the focus goes to the refund that took its place in the queue;
// - a store is shown by its name, city and region as the facets' ``store_names`` say, its id
//   when the hub knows no more of it.

import {
  $, api, el, fillSelect, hours, labelCells, labels, money, sumMoney, toast, unseen, useCsrf,
  when,
} from "./common.js";
import { fillDecidedChoices, loadDecided, wireDecided } from "./decided.js";
import { evidenceSection } from "./evidence.js";
import { fillFleetStores, showFleet, wireFleet } from "./fleet.js";
import { showInventory, wireInventory } from "./inventory.js";
import { loadPolicy, wirePolicy } from "./policy.js";
import { resumePending, writeOnce } from "./writes.js";

const state = { me: null, words: labels({}), page: { limit: 25, offset: 0 }, rows: [],
                selected: new Map(), story: null, opened: 0, stores: new Map() };
const word = (group, value) => state.words.label(group, value);
const storeName = (id) => state.stores.get(id) || id;

// ---- queue ------------------------------------------------------------------------------

function filterParams() {
  const params = new URLSearchParams();
  for (const [key, value] of new FormData($("#filters"))) if (value) params.set(key, value);
  params.set("limit", state.page.limit);
  params.set("offset", state.page.offset);
  return params;
}

const filter = (name) => $(`#filters select[name=${name}]`);

/** The filters that list what can be asked for at all: straight from /api/options. */
function fillChoices() {
  fillSelect(filter("waiting_for"), state.words.choices("waiting_for"));
  fillSelect(filter("min_age_hours"), state.words.choices("ages"), { value: "", label: "any time" });
  fillSelect(filter("review"), state.words.choices("review"), { value: "", label: "all" });
}

/** The filters that list what is waiting now (the facets), in the words of /api/options. */
async function loadFacets() {
  const facets = await api("GET", "/api/desk/facets");
  state.stores = new Map(facets.store_names.map((s) => [s.value, s.label]));
  fillDecidedChoices(facets.store_names, state.words);
  fillFleetStores(facets.store_names);
  const any = { value: "", label: "any" };
  const named = (group, values) => values.map((v) => ({ value: String(v), label: word(group, v) }));
  fillSelect(filter("level"), named("approval_levels", facets.levels), any);
  fillSelect(filter("store"), facets.stores.map((s) => ({ value: s, label: storeName(s) })), any);
  fillSelect(filter("marketplace"), named("marketplaces", [...facets.marketplaces, "none"]), any);
  fillSelect(filter("reason"), named("reasons", facets.reasons), any);
}

const forInspection = () => filter("waiting_for").value === "inspection";

function whyText(row) {
  if (forInspection()) return row.reasons[0] || word("refund_states", "awaiting_inspection");
  const fired = row.reasons.filter((r) => !r.startsWith("refund after") && !r.startsWith("marketplace "));
  return fired[fired.length - 1] || row.reasons[0] || "";
}

function selectBox(row, key) {
  const box = el("input", { type: "checkbox", "data-testid": "select",
    onchange: (event) => toggle(row, event.target.checked) });
  box.disabled = forInspection();  // nobody approves a refund before its inspection
  box.checked = state.selected.has(key);
  return el("label", { class: "pick" }, box, unseen(`select refund ${key}`));
}

function queueRow(row, index) {
  const key = `${row.store_id}/${row.refund_id}`;
  const level = [el("span", { class: "badge level" }, row.approval_level ? `L${row.approval_level}` : "–")];
  if (row.manual_review) level.push(" ", el("span", { class: "badge review" }, word("refund_outcomes", "manual_review")));
  const open = el("button", { type: "button", class: "open", "data-testid": "open-refund",
    onclick: () => openStory(row, index) }, unseen("Open refund "), row.refund_id, unseen(` of store ${storeName(row.store_id)}`));
  return el("tr", { "data-testid": "queue-row", "data-refund": row.refund_id, "data-store": row.store_id,
                    onclick: (event) => { if (!event.target.closest("button, input, label")) openStory(row, index); } },
    el("td", {}, selectBox(row, key)),
    el("td", {}, el("span", { class: `badge ${row.ageing}`, "data-testid": "ageing",
                              "data-ageing": row.ageing }, hours(row.age_hours))),
    el("td", { "data-testid": "store" }, storeName(row.store_id)), el("td", {}, open),
    el("td", { "data-testid": "amount" }, money(row.amount),
      row.base_amount && row.base_amount.currency !== row.amount.currency
        ? el("div", { class: "muted" }, `≈ ${money(row.base_amount)}`) : ""),
    el("td", {}, level), el("td", { class: "why" }, whyText(row)),
    el("td", {}, row.requested_by || "–"));
}

let queueAsked = 0;  // the newest queue load; an older answer arriving later is dropped

async function loadQueue(params = filterParams()) {
  const asked = ++queueAsked;
  const page = await api("GET", `/api/desk/queue?${params}`);
  if (asked !== queueAsked) return;  // filters changed (or a refresh ran) while this one waited
  state.rows = page.items;
  $("#queue-view table.queue tbody").replaceChildren(...page.items.map(queueRow));
  labelCells($("#queue-view table.queue"));
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

/** The selection's exact total in the base currency; null when empty or currencies mix. */
const selectionTotal = () => sumMoney([...state.selected.values()].map((r) => r.base_amount));

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
  const base = decision.base_amount ? money({ amount: decision.base_amount, currency: decision.base_currency }) : `– ${decision.base_currency}`;
  return [el("p", { class: "muted" }, `policy version ${decision.policy_version} · base ${base} · rate ${fx}`),
    el("ul", { "data-testid": "rules" }, decision.rules.map((r) => el("li", { class: "rule" }, r.sentence, " ",
      el("span", { class: "rule-id" }, `${r.rule_id} · ${word("effects", r.effect)}`))))];
}

function itemLine(i) {
  const opened = i.opened === true ? el("span", { class: "badge review" }, "opened")
    : i.opened === false ? el("span", { class: "badge" }, "sealed") : "";
  return el("li", {}, `${i.quantity} × ${i.sku} ${i.description || ""} @ ${money(i.unit_price)}`,
    i.category ? el("span", { class: "badge" }, i.category) : "", opened);
}

function facts(s) {
  const r = s.refund, ret = s.return;
  const channel = word("channels", r.channel) + (ret.marketplace_id ? ` · ${word("marketplaces", ret.marketplace_id)}` : "");
  const pairs = [
    ["Store", s.store.label || storeName(s.store.store_id)],
    ["Order", ret.order_id || "–"],
    ["Sold", ret.sold_at ? when(ret.sold_at) : "not recorded"],
    ["Channel", channel],
    ["Asked by", `${r.requested_by || "–"} at ${when(r.requested_at)}`],
    ["Customer key", s.customer_key || "–"],
    ["Customer's reason", ret.reason],
    ["Mismatch", ret.mismatch ? "yes: scanned item is not the ordered item" : "no"],
  ];
  return el("dl", {}, pairs.map(([term, text]) => [el("dt", {}, term), el("dd", {}, text)]));
}

function storyBody(s) {
  const r = s.refund, ret = s.return;
  const inspections = ret.inspections.map((i) => el("li", {}, `${word("grades", i.grade)} · ${when(i.inspected_at)} · ${i.notes || "no notes"}`,
    i.photos.length ? el("div", { class: "muted" }, `photos: ${i.photos.join(", ")}`) : ""));
  const review = r.outcome === "manual_review" && r.state === "pending_approval";
  return el("div", { class: "story" },
    el("h2", { id: "story-title" }, `Refund ${r.refund_id} · ${money(r.amount)}`),
    el("p", {}, r.state === "pending_approval" || r.state === "awaiting_inspection"
      ? [el("span", { class: `badge ${s.ageing}` }, `waiting ${hours(s.age_hours)}`), " "]
      : r.decided_at ? [el("span", { class: "badge" }, `decided ${when(r.decided_at)}${r.decided_by ? ` by ${r.decided_by}` : ""}`), " "] : "",
      el("span", { class: "badge level", "data-testid": "story-state" }, word("refund_states", r.state)), " ",
      review ? el("span", { class: "badge review" }, word("refund_outcomes", "manual_review")) : ""),
    facts(s),
    section("Why (rules fired)", rulesList(s.decision)),
    section("Items", el("ul", {}, ret.items.map(itemLine))),
    section("Inspection", inspections.length ? el("ul", {}, inspections) : el("p", { class: "muted" }, "not inspected yet")),
    evidenceSection(r),
    section("Customer history", s.customer_history.length ? el("ul", { "data-testid": "history" }, s.customer_history.map((h) =>
      el("li", {}, `${when(h.requested_at)} · ${storeName(h.store_id)} · ${h.refund_id} · ${money(h.amount)} · ${word("refund_states", h.state)}`)))
      : el("p", { class: "muted" }, "no other refunds known for this customer")),
    section("Audit trail", el("ul", {}, s.audit.map((a) => el("li", {},
      `#${a.seq} ${when(a.at)} · ${a.actor} (${word("roles", a.role)}) · ${a.action}${a.reason ? ` · ${a.reason}` : ""}`)))));
}

async function openStory(row, index) {
  try {
    const s = await api("GET", `/api/refunds/${encodeURIComponent(row.refund_id)}?store=${encodeURIComponent(row.store_id)}`);
    state.story = s;
    state.opened = index;
    $("#story-body").replaceChildren(storyBody(s));
    $(".decide").hidden = !s.can_decide;
    $("#why-not").hidden = s.can_decide;
    $("#why-not").textContent = s.why_not || "";
    $("#decision-reason").value = "";
    $("#story").showModal();
  } catch (error) { toast(error.message, true); }
}

/** Put the focus on the refund that now stands where the decided one stood (or the count). */
function focusAfterDecision() {
  const buttons = document.querySelectorAll("#queue-view table.queue button.open");
  const next = buttons[Math.min(state.opened, buttons.length - 1)] || $("[data-testid=queue-total]");
  next.focus();
}

async function decide(approve) {
  const s = state.story, reason = $("#decision-reason").value.trim();
  if (!approve && !reason) { toast("a rejection needs a reason", true); $("#decision-reason").focus(); return; }
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
    focusAfterDecision();
  } catch (error) { toast(error.message, true); }
}

// ---- wiring -----------------------------------------------------------------------------

function show(view) {
  for (const tab of document.querySelectorAll(".tab")) {
    const on = tab.dataset.view === view;
    tab.classList.toggle("active", on);
    tab.setAttribute("aria-pressed", String(on));
    if (on) tab.scrollIntoView({ block: "nearest", inline: "nearest" });  // the tab row scrolls
  }
  $("#queue-view").hidden = view !== "queue";
  $("#decided-view").hidden = view !== "decided";
  if (view === "decided") loadDecided().catch((e) => toast(e.message, true));
  $("#policy-view").hidden = view !== "policy";
  if (view === "policy") loadPolicy().catch((e) => toast(e.message, true));
  $("#fleet-view").hidden = view !== "fleet";
  showFleet(view === "fleet");
  $("#inventory-view").hidden = view !== "inventory";
  showInventory(view === "inventory");
}

async function refresh() {
  const params = filterParams();  // the filters as chosen, before the facets refill them
  await loadFacets();  // first: the queue's rows name their stores with the facets' words
  await loadQueue(params);
}

const reloadQueue = () => loadQueue().catch((e) => toast(e.message, true));

function wire() {
  $("#filters").addEventListener("change", () => { state.page.offset = 0; reloadQueue(); });
  $("#prev").addEventListener("click", () => { state.page.offset = Math.max(0, state.page.offset - state.page.limit); reloadQueue(); });
  $("#next").addEventListener("click", () => { state.page.offset += state.page.limit; reloadQueue(); });
  $("#select-all").addEventListener("change", (e) => { state.rows.forEach((r) => toggle(r, e.target.checked)); reloadQueue(); });
  $("#bulk-approve").addEventListener("click", bulkApprove);
  $("#approve").addEventListener("click", () => decide(true));
  $("#reject").addEventListener("click", () => decide(false));
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => show(tab.dataset.view));
  wirePolicy(state.words);
  wireDecided({ open: openStory, storeName, word });
  wireFleet();
  wireInventory(state.me.role === "admin");
}

async function start() {
  const [me, options] = await Promise.all([api("GET", "/api/session"), api("GET", "/api/options")]);
  state.me = me;
  state.words = labels(options);
  useCsrf(me.csrf);
  $("[data-testid=who]").textContent = `${me.display_name} · ${word("roles", me.role)}`;
  document.body.dataset.role = me.role; // role-only buttons (fleet.js: Decommission)
  $("[data-testid=nav-policy]").hidden = me.role !== "admin";
  $("[data-testid=nav-fleet]").hidden = !["admin", "technician"].includes(me.role);
  $("[data-testid=nav-archive]").hidden = !["admin", "finance"].includes(me.role);
  fillChoices();
  wire();
  await resumePending();
  await refresh();
  document.body.dataset.ready = "true";
}

start().catch((error) => toast(error.message, true));
