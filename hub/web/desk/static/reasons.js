// The Reasons view: return lines by reason across a dimension (SKU, category, store, region,
// marketplace, month or reason), the trend per month, money refunded per reason (per currency,
// never mixed), the SKUs whose defect or "not as described" rate stands out against their sales,
// and the texts no rule maps — from GET /api/reasons/... in the caller's scope. Each chart has
// its table and a CSV download; a click on a bar (or its row's button) lists the return lines
// behind it (GET /api/reasons/lines).
//
// Rules: it wires itself (a click on the Reasons tab shows it, any other tab hides it); it reads
// only; everything from the hub is written as text; charts are stock.js's inline SVG bars, each
// bar with its number beside it.

import { $, api, el, labelCells, when } from "./common.js";
import { bars } from "./stock.js";

const NAMES = { sku: "SKU", category: "Category", store: "Store", region: "Region",
                marketplace: "Marketplace", month: "Month", reason: "Reason" };
let current = { dimension: "reason", filters: new URLSearchParams() };

function query(extra = {}) {
  const params = new URLSearchParams(current.filters);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params.toString();
}

function csvLink(path, params, testid) {
  return el("a", { href: `${path}?${params}`, download: "", "data-testid": testid },
            "Download CSV");
}

/** A chart whose bars list the lines behind them when clicked. */
function clickable(rows, testid, dimension) {
  const chart = bars(rows.map((r) => ({ label: r.key, value: r.units })), testid);
  for (const rect of chart.querySelectorAll("rect")) {
    rect.setAttribute("role", "button");
    rect.setAttribute("tabindex", "0");
    rect.setAttribute("aria-label", `returns behind ${rect.dataset.label}`);
    rect.style.cursor = "pointer";
    const open = () => showLines(dimension, rect.dataset.label);
    rect.addEventListener("click", open);
    rect.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
  }
  return chart;
}

function breakdownTable(rows, reasons, dimension, testid) {
  const used = reasons.filter((r) => rows.some((row) => row.by_reason[r]));
  const table = el("table", { class: "queue", "data-testid": testid },
    el("thead", {}, el("tr", {}, el("th", {}, NAMES[dimension]), el("th", {}, "Units"),
                       el("th", {}, "Lines"), used.map((r) => el("th", {}, r)),
                       el("th", {}, "Returns"))),
    el("tbody", {}, rows.map((row) => el("tr", { "data-key": row.key },
      el("td", {}, row.key), el("td", { "data-col": "units" }, String(row.units)),
      el("td", {}, String(row.lines)),
      used.map((r) => el("td", { "data-reason": r }, String(row.by_reason[r] || 0))),
      el("td", {}, el("button", { type: "button", "data-testid": "reasons-open",
                                  onclick: () => showLines(dimension, row.key) }, "List"))))));
  labelCells(table);
  return table;
}

function figure(title, chart, table, link) {
  return el("figure", { class: "reasons-figure" }, el("figcaption", {}, title), chart, table,
            el("p", {}, link));
}

async function showLines(dimension, key) {
  const box = $("#reasons-lines");
  box.hidden = false;
  $("#reasons-lines-title").textContent = `Returns behind ${NAMES[dimension]} ${key}`;
  try {
    const lines = await api("GET", `/api/reasons/lines?${query({ dimension, key, limit: 500 })}`);
    const body = $("#reasons-lines table tbody");
    body.replaceChildren(...lines.map((l) => el("tr", { "data-testid": "reasons-line",
                                                         "data-line": l.line_key },
      el("td", {}, when(l.occurred_at)),
      el("td", {}, l.store_id ? `${l.store_id} ${l.return_id} #${l.line_no}`
                              : `${l.channel} ${l.amazon_ref}`),
      el("td", {}, l.order_id || "–"), el("td", {}, l.sku), el("td", {}, String(l.quantity)),
      el("td", {}, `${l.reason} / ${l.sub_reason}`), el("td", {}, l.raw_reason),
      el("td", {}, l.method))));
    labelCells($("#reasons-lines table"));
    $("#reasons-lines").scrollIntoView({ block: "nearest" });
  } catch (error) { $("#reasons-problem").textContent = error.message; }
}

function moneyFigure(money) {
  const currencies = [...new Set(money.map((m) => m.currency))];
  const charts = currencies.map((c) => el("div", { "data-currency": c }, el("h3", {}, c),
    bars(money.filter((m) => m.currency === c)
      .map((m) => ({ label: m.reason, value: Number(m.amount) })), `reasons-money-${c}`)));
  const table = el("table", { class: "queue", "data-testid": "reasons-money-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "Reason"), el("th", {}, "Currency"),
                       el("th", {}, "Refunded"))),
    el("tbody", {}, money.map((m) => el("tr", { "data-reason": m.reason,
                                                "data-currency": m.currency },
      el("td", {}, m.reason), el("td", {}, m.currency), el("td", {}, m.amount)))));
  labelCells(table);
  return figure("Money refunded per reason (each currency alone)", el("div", {}, charts), table,
                csvLink("/api/reasons/money.csv", query(), "reasons-money-csv"));
}

function standoutFigure(rates) {
  const shown = rates.skus.slice(0, 50);
  const table = el("table", { class: "queue", "data-testid": "reasons-standouts" },
    el("thead", {}, el("tr", {}, el("th", {}, "SKU"), el("th", {}, "Sold"),
                       el("th", {}, "Defect / not as described"), el("th", {}, "Rate"),
                       el("th", {}, "p"), el("th", {}, "Stands out"))),
    el("tbody", {}, shown.map((s) => el("tr", { "data-sku": s.sku,
                                               "data-stands-out": String(s.stands_out) },
      el("td", {}, s.sku), el("td", {}, String(s.sold)), el("td", {}, String(s.returned)),
      el("td", {}, `${(s.rate * 100).toFixed(1)} %`), el("td", {}, s.p_value.toPrecision(3)),
      el("td", {}, s.stands_out ? el("span", { class: "badge review" }, "stands out") : "no")))));
  labelCells(table);
  const chart = bars(shown.filter((s) => s.stands_out)
    .map((s) => ({ label: s.sku, value: Math.round(s.rate * 1000) / 10 })), "reasons-chart-rates");
  return el("figure", { class: "reasons-figure" },
    el("figcaption", {}, "SKUs whose defect or \"not as described\" rate stands out (% of sold)"),
    el("p", { class: "hint" }, `Test: ${rates.test}; chain rate `
                               + `${(rates.chain_rate * 100).toFixed(2)} %.`),
    chart, table, el("p", {}, csvLink("/api/reasons/standouts.csv", query(),
                                     "reasons-standouts-csv")));
}

async function unmappedFigure() {
  try {
    const rows = await api("GET", "/api/reasons/unmapped");
    const table = el("table", { class: "queue", "data-testid": "reasons-unmapped" },
      el("thead", {}, el("tr", {}, el("th", {}, "Source"), el("th", {}, "Text or code"),
                         el("th", {}, "Lines"))),
      el("tbody", {}, rows.map((r) => el("tr", {}, el("td", {}, r.source),
                                         el("td", {}, r.raw_reason), el("td", {}, String(r.lines))))));
    labelCells(table);
    return el("figure", { class: "reasons-figure" },
      el("figcaption", {}, "Not mapped by any rule (for review: acorn-hub reasons rules)"), table);
  } catch (error) {
    if (error.status === 403) return "";  // a limited scope: the list spans every store
    throw error;
  }
}

export async function load(event) {
  if (event) event.preventDefault();
  const form = $("#reasons-filters");
  current = { dimension: form.elements.dimension.value, filters: new URLSearchParams() };
  for (const name of ["month_from", "month_to", "reason"]) {
    const value = form.elements[name].value.trim();
    if (value) current.filters.set(name, value);
  }
  $("#reasons-problem").textContent = "";
  $("#reasons-lines").hidden = true;
  const dimension = current.dimension;
  try {
    const [by, trend, money, rates] = await Promise.all([
      api("GET", `/api/reasons/breakdown?${query({ dimension })}`),
      api("GET", `/api/reasons/breakdown?${query({ dimension: "month" })}`),
      api("GET", `/api/reasons/money?${query()}`),
      api("GET", `/api/reasons/standouts?${query()}`)]);
    $("#reasons-empty").hidden = by.rows.length > 0;
    $("#reasons-charts").replaceChildren(
      figure(`Units returned by ${NAMES[dimension].toLowerCase()}`,
             clickable(by.rows, "reasons-chart", dimension),
             breakdownTable(by.rows, by.reasons, dimension, "reasons-table"),
             csvLink("/api/reasons/breakdown.csv", query({ dimension }), "reasons-csv")),
      figure("Trend: units returned per month (UTC)",
             clickable(trend.rows, "reasons-chart-trend", "month"),
             breakdownTable(trend.rows, trend.reasons, "month", "reasons-trend-table"),
             csvLink("/api/reasons/breakdown.csv", query({ dimension: "month" }),
                     "reasons-trend-csv")),
      moneyFigure(money), standoutFigure(rates), await unmappedFigure());
  } catch (error) { $("#reasons-problem").textContent = error.message; }
}

let taxonomy = null;

async function fillReasons() {
  if (taxonomy) return;
  taxonomy = await api("GET", "/api/reasons/taxonomy");
  $("#reasons-filters select[name=reason]").append(
    ...Object.keys(taxonomy).map((r) => el("option", { value: r }, r)));
}

async function showReasons(on) {
  $("#reasons-view").hidden = !on;
  if (!on) return;
  try { await fillReasons(); } catch (error) { $("#reasons-problem").textContent = error.message; }
  await load();
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => showReasons(tab.dataset.view === "reasons"));
}
$("#reasons-filters").addEventListener("submit", load);
