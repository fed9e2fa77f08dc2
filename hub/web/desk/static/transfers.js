// Transfers between stores, on the Stock tab: the latest transfers in the caller's scope
// (GET /api/transfers: status, stores, each line's requested / shipped / received / lost), and
// for finance the month's internal settlement (GET /api/transfers/settlement?month=YYYY-MM):
// who owes whom between stores and between regions, each store's net, and the lines as CSV
// (GET /api/transfers/settlement.csv, a plain link: the session cookie goes with it).
//
// A transfer not shipped yet has a Cancel button: a reason, then
// POST /api/transfers/{id}/cancel (the API refuses whoever may not; the store drops its task).
//
// Rules: it loads when the Stock tab is shown; everything from the hub is written as text; the
// settlement of someone who may not read it shows the hub's refusal, nothing else; a cancel is
// sent once (writes.js: one Idempotency-Key per action).

import { $, api, el, labelCells, toast, when } from "./common.js";
import { writeOnce } from "./writes.js";

const STATUS = { requested: "requested", shipped: "shipped", received: "received",
                 received_with_difference: "received, with a difference",
                 cancelled: "cancelled" };

async function cancel(t, form) {
  const reason = form.querySelector("[name=reason]").value.trim();
  const problem = form.querySelector("[data-testid=transfer-cancel-problem]");
  problem.textContent = "";
  if (!reason) { problem.textContent = "Say why first."; return; }
  const done = `transfer ${t.transfer_id} cancelled`;
  try {
    const answer = await writeOnce({
      kind: "transfer-cancel", method: "POST", done, body: { reason },
      path: `/api/transfers/${encodeURIComponent(t.transfer_id)}/cancel`,
    }, [...form.querySelectorAll("button")]);
    if (answer === null) return;
    toast(done);
    await loadTransfers();
  } catch (error) { problem.textContent = error.message; }
}

function cancelForm(t) {
  if (t.status !== "requested") return "";
  const id = `transfer-reason-${t.transfer_id}`;
  const form = el("form", { class: "inline", "data-testid": "transfer-cancel-form" },
    el("label", { for: id }, "Why cancel"),
    el("input", { id, name: "reason", autocomplete: "off" }),
    el("button", { type: "button", "data-testid": "transfer-cancel" }, "Cancel transfer"),
    el("p", { class: "error", role: "alert", "data-testid": "transfer-cancel-problem" }));
  form.querySelector("button").addEventListener("click", () => cancel(t, form));
  return form;
}

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
    el("td", {}, when(t.requested_at)), el("td", {}, cancelForm(t)));
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
