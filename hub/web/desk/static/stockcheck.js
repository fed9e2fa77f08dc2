// The consistency check on the Stock tab: the unresolved differences between the stores'
// snapshots and the hub (GET /api/stock/differences), newest checked first, those over their
// store's threshold marked "alert", each with Accept / Recount / Investigate
// (POST /api/stock/differences/{id}/resolve; the API refuses callers without the approve right).
//
// Each row says how its snapshot was authenticated ("signed": the node's key, checked against the
// certificate the hub issued; "broker identity only": a node without a key on record) and, after
// a Recount, that a count task went to the store and what its count found.
// Below: snapshot pages refused for a missing or invalid signature (GET /api/stock/refusals,
// each alerting until dismissed: POST /api/stock/refusals/{id}/dismiss), and where Amazon lists
// more than the stores hold (GET /api/stock/amazon-differences; hidden for scoped callers, to
// whom the API answers 403: it is chain-wide).
//
// Rules: it loads when the Stock tab is shown and after each resolution; it reads and writes
// only in the caller's scope; every figure is written out (store, hub, difference), never a
// colour alone.

import { $, api, el, labelCells, toast, when } from "./common.js";

const ACTIONS = [["accept", "Accept store's figure"], ["recount", "Recount"],
                 ["investigate", "Investigate"]];

async function resolve(id, action) {
  try {
    await api("POST", `/api/stock/differences/${id}/resolve`, { action });
    toast(`difference ${id}: ${action}`);
  } catch (error) { $("#stockcheck-problem").textContent = error.message; }
  await load();
}

function row(d) {
  const buttons = ACTIONS
    .filter(([action]) => !(action === "recount" && d.status === "recount")
                          && !(action === "investigate" && d.status === "investigating"))
    .map(([action, label]) => el("button", { type: "button", "data-action": action,
                                             onclick: () => resolve(d.id, action) }, label));
  return el("tr", { "data-testid": "stockcheck-row", "data-id": String(d.id),
                    "data-alert": String(d.alert) },
    el("td", {}, `${d.store_id}/${d.node_id}`), el("td", {}, d.sku), el("td", {}, d.state),
    el("td", { "data-figure": "store" }, String(d.store_quantity)),
    el("td", { "data-figure": "hub" }, String(d.hub_quantity)),
    el("td", { "data-figure": "difference" },
       `${d.difference > 0 ? "+" : ""}${d.difference}`),
    el("td", {}, d.status, d.alert ? el("span", { class: "badge review" }, "alert") : "",
       el("div", { class: "muted", "data-testid": "stockcheck-auth" }, authLabel(d)),
       recountNote(d)),
    el("td", {}, when(d.checked_at)), el("td", {}, ...buttons));
}

function authLabel(d) {
  if (d.authentication === "signature") return "signed by the node";
  if (d.authentication === "broker") return "broker identity only (no key)";
  return "";
}

function recountNote(d) {
  if (!d.count_task_id) return "";
  const text = d.recounted_at
    ? `recounted: ${d.recount_counted} counted (${d.recount_count_id})`
    : `count task ${d.count_task_id} sent to the store`;
  return el("div", { class: "muted", "data-testid": "stockcheck-recount" }, text);
}

async function dismiss(id) {
  try {
    await api("POST", `/api/stock/refusals/${id}/dismiss`, {});
    toast(`refused snapshot ${id}: dismissed`);
  } catch (error) { $("#stockcheck-problem").textContent = error.message; }
  await load();
}

function refusalRow(r) {
  return el("tr", { "data-testid": "stockcheck-refusal", "data-id": String(r.id),
                    "data-alert": String(r.alert) },
    el("td", {}, `${r.store_id}/${r.node_id}`), el("td", {}, r.snapshot_id),
    el("td", {}, String(r.page)),
    el("td", { "data-testid": "stockcheck-refusal-reason" }, r.reason,
       el("span", { class: "badge review" }, "alert")),
    el("td", {}, when(r.found_at)),
    el("td", {}, el("button", { type: "button", "data-action": "dismiss",
                                onclick: () => dismiss(r.id) }, "Dismiss")));
}

function amazonRow(a) {
  return el("tr", { "data-testid": "stockcheck-amazon-row", "data-sku": a.sku,
                    "data-alert": String(a.alert) },
    el("td", {}, a.account), el("td", {}, a.marketplace_id), el("td", {}, a.sku),
    el("td", { "data-figure": "amazon" }, String(a.amazon_listed)),
    el("td", { "data-figure": "sellable" }, String(a.chain_sellable)),
    el("td", { "data-figure": "difference" }, `+${a.difference}`),
    el("td", {}, a.alert ? el("span", { class: "badge review" }, "alert") : `within ${a.threshold}`));
}

async function loadRefusals() {
  const rows = await api("GET", "/api/stock/refusals");
  $("#stockcheck-refusals tbody").replaceChildren(...rows.map(refusalRow));
  $("#stockcheck-refusals").hidden = rows.length === 0;
  labelCells($("#stockcheck-refusals table"));
}

async function loadAmazon() {
  let rows;
  try { rows = await api("GET", "/api/stock/amazon-differences"); }
  catch (error) {
    if (error.status === 403) { $("#stockcheck-amazon").hidden = true; return; }
    throw error;
  }
  $("#stockcheck-amazon tbody").replaceChildren(...rows.map(amazonRow));
  $("#stockcheck-amazon").hidden = rows.length === 0;
  labelCells($("#stockcheck-amazon table"));
}

export async function load() {
  $("#stockcheck-problem").textContent = "";
  try {
    const page = await api("GET", "/api/stock/differences?limit=200");
    $("#stockcheck > table tbody").replaceChildren(...page.items.map(row));
    $("#stockcheck-empty").hidden = page.items.length > 0;
    labelCells($("#stockcheck > table"));
    await Promise.all([loadRefusals(), loadAmazon()]);
  } catch (error) { $("#stockcheck-problem").textContent = error.message; }
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => { if (tab.dataset.view === "stock") load(); });
}
