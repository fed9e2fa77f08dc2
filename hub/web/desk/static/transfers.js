// Transfers between stores, on the Stock tab: the latest transfers in the caller's scope
// (GET /api/transfers: status, stores, each line's requested / shipped / received / lost), and
// for finance the month's internal settlement (GET /api/transfers/settlement?month=YYYY-MM):
// who owes whom between stores and between regions, each store's net, and the lines as CSV
// (GET /api/transfers/settlement.csv, a plain link: the session cookie goes with it).
//
// Rules: it loads when the Stock tab is shown; everything from the hub is written as text; the
// settlement of someone who may not read it shows the hub's refusal, nothing else.

import { $, api, el, labelCells, when } from "./common.js";

const STATUS = { requested: "requested", shipped: "shipped", received: "received",
                 received_with_difference: "received, with a difference" };

function lineText(li) {
  const parts = [`${li.requested} × ${li.sku}`];
  if (li.shipped) parts.push(`shipped ${li.shipped}`);
  if (li.received || li.lost || li.surplus) parts.push(`received ${li.received + li.surplus}`);
  if (li.lost) parts.push(`${li.lost} lost`);
  if (li.surplus) parts.push(`${li.surplus} more than shipped`);
  return parts.join(", ");
}

function row(t) {
  return el("tr", { "data-testid": "transfer-row", "data-transfer": t.transfer_id,
                    "data-status": t.status },
    el("td", {}, t.transfer_id), el("td", {}, STATUS[t.status] || t.status),
    el("td", {}, `${t.from_store} → ${t.to_store}`),
    el("td", { "data-testid": "transfer-lines" }, t.lines.map((li) => el("div", {}, lineText(li)))),
    el("td", {}, when(t.requested_at)));
}

async function loadTransfers() {
  $("#transfers-problem").textContent = "";
  try {
    const found = await api("GET", "/api/transfers?limit=100");
    $("#transfers-list tbody").replaceChildren(...found.map(row));
    $("#transfers-empty").hidden = found.length > 0;
    labelCells($("#transfers-list"));
  } catch (error) { $("#transfers-problem").textContent = error.message; }
}

function fill(table, rows) {
  $(`${table} tbody`).replaceChildren(...rows);
  labelCells($(table));
}

async function loadSettlement(event) {
  if (event) event.preventDefault();
  const month = $("#settlement-month").value;
  $("#settlement-problem").textContent = "";
  $("#settlement-result").hidden = true;
  if (!month) return;
  try {
    const s = await api("GET", `/api/transfers/settlement?month=${encodeURIComponent(month)}`);
    fill("#settlement-stores", s.between_stores.map((p) => el("tr", {
      "data-testid": "settlement-store-row" }, el("td", {}, p.to_store), el("td", {}, p.from_store),
      el("td", {}, `${p.amount} ${p.currency}`), el("td", {}, String(p.units)),
      el("td", {}, String(p.lines)))));
    fill("#settlement-regions", s.between_regions.map((p) => el("tr", {
      "data-testid": "settlement-region-row" }, el("td", {}, p.to_region),
      el("td", {}, p.from_region), el("td", {}, `${p.amount} ${p.currency}`),
      el("td", {}, String(p.units)), el("td", {}, String(p.lines)))));
    fill("#settlement-net", s.stores.map((n) => el("tr", { "data-testid": "settlement-net-row" },
      el("td", {}, n.store_id), el("td", {}, `${n.net} ${n.currency}`))));
    $("#settlement-summary").textContent = `${s.lines.length} priced transfer line(s)`
      + (s.unpriced ? `, ${s.unpriced} not priced (see the CSV for why)` : "")
      + (s.totals.length ? `; total ${s.totals.map((t) => `${t.amount} ${t.currency}`).join(", ")}`
        : "");
    $("#settlement-csv").href = `/api/transfers/settlement.csv?month=${encodeURIComponent(month)}`;
    $("#settlement-result").hidden = false;
  } catch (error) { $("#settlement-problem").textContent = error.message; }
}

$("#settlement-form").addEventListener("submit", loadSettlement);
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => { if (tab.dataset.view === "stock") loadTransfers(); });
}
