// The stock view: one SKU across the stores in the caller's scope, from GET /api/stock and
// GET /api/stock/{sku}/moves — chain totals by state, each store's figures and the time they are
// as of, and three charts (stock by store, by state, net movement per day). Charts are inline
// SVG drawn here (no library); every bar has its number written beside it, never a colour alone.
//
// Rules: it wires itself (a click on the Stock tab shows it, any other tab hides it: desk.js's
// show() hides every view it knows); it reads only, in the caller's scope.

import { $, api, el, labelCells, when } from "./common.js";

const STATES = ["sellable", "qc_hold", "refurbish", "scrap", "reserved", "in_transit"];
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Horizontal bars: [{label, value}] -> an SVG with one labelled bar per row. */
export function bars(rows, testid) {
  const height = 22 * rows.length + 4;
  const most = Math.max(1, ...rows.map((r) => Math.abs(r.value)));
  const chart = svg("svg", { viewBox: `0 0 420 ${height}`, width: "420", height: String(height),
                             role: "img", "data-testid": testid });
  rows.forEach((row, i) => {
    const y = 4 + 22 * i;
    const width = Math.round((Math.abs(row.value) / most) * 220);
    chart.append(svg("text", { x: "0", y: String(y + 14), "font-size": "12" }, row.label));
    chart.append(svg("rect", { x: "130", y: String(y), width: String(width), height: "16",
                               class: row.value < 0 ? "bar negative" : "bar",
                               "data-label": row.label, "data-value": String(row.value) }));
    chart.append(svg("text", { x: String(136 + width), y: String(y + 14), "font-size": "12" },
                     String(row.value)));
  });
  return chart;
}

/** Net units moved into (positive) or out of the store's stock per UTC day, oldest first. */
export function perDay(moves) {
  const days = new Map();
  for (const m of moves) {
    const day = m.at.slice(0, 10);
    const delta = (m.to_state ? m.quantity : 0) - (m.from_state ? m.quantity : 0);
    days.set(day, (days.get(day) || 0) + delta);
  }
  return [...days.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([day, value]) => ({ label: day, value }));
}

async function load(event) {
  if (event) event.preventDefault();
  const sku = $("#stock-filters input[name=sku]").value.trim();
  $("#stock-problem").textContent = "";
  if (!sku) return;
  try {
    const query = new URLSearchParams({ sku });
    const [view, moves] = await Promise.all([
      api("GET", `/api/stock?${query}`),
      api("GET", `/api/stock/${encodeURIComponent(sku)}/moves?limit=500`)]);
    render(sku, view.items[0], moves.items);
  } catch (error) { $("#stock-problem").textContent = error.message; }
}

function render(sku, item, moves) {
  const body = $("#stock-view table.stock tbody");
  const charts = $("#stock-charts");
  if (!item) {
    body.replaceChildren();
    charts.replaceChildren();
    $("#stock-problem").textContent = `no stock known for ${sku} in your scope`;
    return;
  }
  const row = (name, levels, onHand, asOf, differs, testid) => el("tr", { "data-testid": testid,
    "data-store": name },
    el("td", {}, name, differs ? el("span", { class: "badge review" }, "store differs") : ""),
    ...STATES.map((s) => el("td", { "data-state": s }, String(levels[s] ?? 0))),
    el("td", {}, String(onHand)), el("td", {}, asOf ? when(asOf) : "–"));
  body.replaceChildren(
    ...item.stores.map((s) => row(s.store_id, s.levels, s.on_hand, s.as_of, s.differs,
                                  "stock-store-row")),
    row("chain", item.totals, item.on_hand, item.as_of, false, "stock-chain-row"));
  labelCells($("#stock-view table.stock"));
  charts.replaceChildren(
    el("figure", {}, el("figcaption", {}, "On hand by store"),
       bars(item.stores.map((s) => ({ label: s.store_id, value: s.on_hand })), "chart-by-store")),
    el("figure", {}, el("figcaption", {}, "Chain stock by state"),
       bars(STATES.map((s) => ({ label: s, value: item.totals[s] ?? 0 })), "chart-by-state")),
    el("figure", {}, el("figcaption", {}, "Net movement per day (UTC)"),
       bars(perDay(moves), "chart-per-day")));
}

function showStock(on) {
  $("#stock-view").hidden = !on;
  if (on) $("#stock-filters input[name=sku]").focus();
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => showStock(tab.dataset.view === "stock"));
}
$("#stock-filters").addEventListener("submit", load);
