// Amazon orders due to ship, on the Stock tab: the packages routed to a store in the caller's
// scope whose ship-by is within a day (or past) and that have not shipped
// (GET /api/shipments/due), soonest first; an overdue one is marked.
//
// Rules: it loads when the Stock tab is shown; everything from the hub is written as text.

import { $, api, el, labelCells, when } from "./common.js";

function row(due) {
  return el("tr", { "data-testid": "ship-due-row", "data-order": due.order_id,
                    class: due.overdue ? "overdue" : "" },
    el("td", {}, due.order_id), el("td", {}, due.store_id), el("td", {}, when(due.ship_by)),
    el("td", { "data-testid": "ship-due-state" }, due.overdue ? "overdue" : "due soon"));
}

export async function load() {
  $("#ship-due-problem").textContent = "";
  try {
    const due = await api("GET", "/api/shipments/due");
    $("#ship-due table tbody").replaceChildren(...due.map(row));
    $("#ship-due-empty").hidden = due.length > 0;
    labelCells($("#ship-due table"));
  } catch (error) { $("#ship-due-problem").textContent = error.message; }
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => { if (tab.dataset.view === "stock") load(); });
}
