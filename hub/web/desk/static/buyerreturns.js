// Returns buyers booked online, on the Stock tab (GET /api/buyer-returns): the code, the order,
// the store chosen, the items, and where each stands — expected (by when), received (where and
// when; "elsewhere" when the buyer went to another store) or overdue; a status filter.
//
// Rules: it loads when the Stock tab is shown and when the filter changes; everything from the
// hub is written as text.

import { $, api, el, labelCells, when } from "./common.js";

const WORDS = { expected: "expected", received: "received", overdue: "overdue" };

function where(row) {
  if (row.status !== "received") return `by ${when(row.expected_by)}`;
  const at = `${row.received_store}, ${when(row.received_at)} (${row.return_id})`;
  return row.elsewhere ? `at another store: ${at}` : at;
}

function line(row) {
  const items = row.items.map((i) => `${i.quantity} × ${i.sku}`).join(", ");
  return el("tr", { "data-testid": "buyer-return-row", "data-code": row.code,
                    class: row.status === "overdue" ? "overdue" : "" },
    el("td", {}, row.code), el("td", {}, row.order_id), el("td", {}, row.store_id),
    el("td", {}, items),
    el("td", { "data-testid": "buyer-return-status" }, WORDS[row.status] || row.status),
    el("td", {}, where(row)));
}

export async function load() {
  $("#buyer-returns-problem").textContent = "";
  const status = $("#buyer-returns-status").value;
  try {
    const rows = await api("GET", `/api/buyer-returns${status ? `?status=${status}` : ""}`);
    $("#buyer-returns table tbody").replaceChildren(...rows.map(line));
    $("#buyer-returns-empty").hidden = rows.length > 0;
    labelCells($("#buyer-returns table"));
  } catch (error) { $("#buyer-returns-problem").textContent = error.message; }
}

$("#buyer-returns-status").addEventListener("change", load);
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => { if (tab.dataset.view === "stock") load(); });
}
