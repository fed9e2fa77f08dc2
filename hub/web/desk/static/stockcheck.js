// The consistency check on the Stock tab: the unresolved differences between the stores'
// snapshots and the hub (GET /api/stock/differences), newest checked first, those over their
// store's threshold marked "alert", each with Accept / Recount / Investigate
// (POST /api/stock/differences/{id}/resolve; the API refuses callers without the approve right).
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
    el("td", {}, d.status, d.alert ? el("span", { class: "badge review" }, "alert") : ""),
    el("td", {}, when(d.checked_at)), el("td", {}, ...buttons));
}

export async function load() {
  $("#stockcheck-problem").textContent = "";
  try {
    const page = await api("GET", "/api/stock/differences?limit=200");
    $("#stockcheck table tbody").replaceChildren(...page.items.map(row));
    $("#stockcheck-empty").hidden = page.items.length > 0;
    labelCells($("#stockcheck table"));
  } catch (error) { $("#stockcheck-problem").textContent = error.message; }
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => { if (tab.dataset.view === "stock") load(); });
}
