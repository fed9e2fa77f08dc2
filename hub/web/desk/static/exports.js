// The Exports view (finance and admins): per entity and month, downloads of the transaction
// journal (CSV, XLSX), the DATEV EXTF Buchungsstapel and the EU OSS summary of the month's
// quarter, the FX gain or loss between refunds and their settlements per month as a chart,
// a table and a CSV download, and the imported Amazon VAT reports per month (status, lines,
// refunds matched and unmatched, the unmatched refunds listed) — from GET /api/finance/... .
//
// Rules: it wires itself (a click on the Exports tab shows it, any other tab hides it); the tab
// shows only for finance and admins (the role desk.js writes on <body>); it reads only; a
// download is fetched first, so the hub's refusal (a month without DATEV settings, an entity
// without OSS) shows as a sentence instead of a downloaded error; everything from the hub is
// written as text; the chart is stock.js's inline SVG bars with each bar's number beside it; a
// refusal of the VAT reports (a scoped finance user) shows in their section only.

import { $, api, el, labelCells } from "./common.js";
import { bars } from "./stock.js";

const READERS = ["finance", "admin"];
const DOWNLOADS = [
  { what: "journal", format: "csv", label: "Journal (CSV)", testid: "exports-journal-csv" },
  { what: "journal", format: "xlsx", label: "Journal (XLSX)", testid: "exports-journal-xlsx" },
  { what: "datev", format: "csv", label: "DATEV Buchungsstapel", testid: "exports-datev" },
  { what: "oss", format: "csv", label: "OSS summary (quarter)", testid: "exports-oss" },
];
let entities = null;

function choice() {
  const form = $("#exports-form");
  return { entity: form.elements.entity.value, period: form.elements.period.value };
}

async function download(item) {
  const { entity, period } = choice();
  $("#exports-problem").textContent = "";
  if (!entity || !period) {
    $("#exports-problem").textContent = "Choose an entity and a month first.";
    return;
  }
  const query = new URLSearchParams({ entity, period, format: item.format });
  const answer = await fetch(`/api/finance/exports/${item.what}?${query}`,
                             { credentials: "same-origin" });
  if (!answer.ok) {
    const data = await answer.json().catch(() => null);
    const first = (data && data.detail && data.detail[0]) || {};
    $("#exports-problem").textContent = first.message || `download failed (${answer.status})`;
    return;
  }
  const name = /filename="([^"]+)"/.exec(answer.headers.get("content-disposition") || "");
  const link = el("a", { href: URL.createObjectURL(await answer.blob()),
                         download: name ? name[1] : `${item.what}.${item.format}` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

function gainsTable(months) {
  const table = el("table", { class: "queue", "data-testid": "exports-fx-table" },
    el("thead", {}, el("tr", {}, el("th", {}, "Month"), el("th", {}, "Currency"),
                       el("th", {}, "Refunds"), el("th", {}, "At refund"),
                       el("th", {}, "At settlement"), el("th", {}, "Gain (+) / loss (−)"))),
    el("tbody", {}, months.map((m) => el("tr", { "data-month": m.month,
                                                 "data-currency": m.base_currency },
      el("td", {}, m.month), el("td", {}, m.base_currency), el("td", {}, String(m.refunds)),
      el("td", {}, m.at_refund), el("td", {}, m.at_settlement),
      el("td", { "data-col": "gain" }, m.gain)))));
  labelCells(table);
  return table;
}

function refundsTable(refunds) {
  const table = el("table", { class: "queue", "data-testid": "exports-fx-refunds" },
    el("thead", {}, el("tr", {}, el("th", {}, "Refund"), el("th", {}, "Order"),
                       el("th", {}, "Amount"), el("th", {}, "Refund day · rate"),
                       el("th", {}, "Settled · rate"), el("th", {}, "Gain"))),
    el("tbody", {}, refunds.map((r) => el("tr", { "data-ref": r.ref },
      el("td", {}, r.ref), el("td", {}, r.order_id), el("td", {}, `${r.amount} ${r.currency}`),
      el("td", {}, `${r.refund_day} · ${r.refund_rate}`),
      el("td", {}, `${r.settled_day} · ${r.settled_rate}`),
      el("td", {}, `${r.gain} ${r.base_currency}`)))));
  labelCells(table);
  return table;
}

async function loadGains() {
  const { entity } = choice();
  const query = new URLSearchParams(entity ? { entity } : {});
  const gains = await api("GET", `/api/finance/fx/gains?${query}`);
  const currencies = [...new Set(gains.months.map((m) => m.base_currency))];
  $("#exports-fx-empty").hidden = gains.months.length > 0;
  $("#exports-fx-body").replaceChildren(
    ...currencies.map((c) => el("div", { "data-currency": c }, el("h3", {}, c),
      bars(gains.months.filter((m) => m.base_currency === c)
        .map((m) => ({ label: m.month, value: Number(m.gain) })), `exports-fx-chart-${c}`))),
    gainsTable(gains.months),
    el("p", {}, el("a", { href: `/api/finance/fx/gains.csv?${query}`, download: "",
                          "data-testid": "exports-fx-csv" }, "Download CSV")),
    refundsTable(gains.refunds));
}

const SIDES = { only_amazon: "only at Amazon", only_acorn: "only in ACORN" };

function vatMonthsTable(months) {
  const sum = (m, key) => m.counts.reduce((n, c) => n + c[key], 0);
  const table = el("table", { class: "queue", "data-testid": "exports-vat-months" },
    el("thead", {}, el("tr", {}, el("th", {}, "Month"), el("th", {}, "Account"),
                       el("th", {}, "Status"), el("th", {}, "Reports"), el("th", {}, "Lines"),
                       el("th", {}, "Matched"), el("th", {}, "Differing"),
                       el("th", {}, "Unmatched"))),
    el("tbody", {}, months.map((m) => el("tr", { "data-month": m.month,
                                                 "data-account": m.account },
      el("td", {}, m.month), el("td", {}, m.account),
      el("td", { "data-col": "status" }, m.status),
      el("td", {}, m.reports.map((r) => `${r.marketplace_id} ${r.report_type} (${r.status})`)
        .join(", ")),
      el("td", { "data-col": "lines" }, String(m.reports.reduce((n, r) => n + r.lines, 0))),
      el("td", { "data-col": "matched" }, String(sum(m, "matched"))),
      el("td", { "data-col": "differing" }, String(sum(m, "differing"))),
      el("td", { "data-col": "unmatched" },
         String(sum(m, "only_amazon") + sum(m, "only_acorn")))))));
  labelCells(table);
  return table;
}

function vatUnmatchedTable(months) {
  const rows = months.flatMap((m) => m.unmatched.map((u) => ({ ...u, month: m.month })));
  const table = el("table", { class: "queue", "data-testid": "exports-vat-unmatched" },
    el("thead", {}, el("tr", {}, el("th", {}, "Month"), el("th", {}, "Report"),
                       el("th", {}, "Where"), el("th", {}, "Order"), el("th", {}, "SKU"),
                       el("th", {}, "Amount"), el("th", {}, "Refund"))),
    el("tbody", {}, rows.map((u) => el("tr", { "data-order": u.order_id, "data-side": u.side },
      el("td", {}, u.month), el("td", {}, u.report_type), el("td", {}, SIDES[u.side] || u.side),
      el("td", {}, u.order_id), el("td", {}, u.sku), el("td", {}, `${u.gross} ${u.currency}`),
      el("td", {}, u.refund)))));
  labelCells(table);
  return rows.length ? [el("h3", {}, "Unmatched refunds"), table] : [];
}

async function loadVat() {
  $("#exports-vat-problem").textContent = "";
  try {
    const { months } = await api("GET", "/api/finance/vat-reports/months");
    $("#exports-vat-empty").hidden = months.length > 0;
    $("#exports-vat-body").replaceChildren(
      ...(months.length ? [vatMonthsTable(months), ...vatUnmatchedTable(months)] : []));
  } catch (error) {
    $("#exports-vat-body").replaceChildren();
    $("#exports-vat-problem").textContent = error.message;
  }
}

async function fillEntities() {
  if (entities) return;
  entities = await api("GET", "/api/finance/entities");
  $("#exports-form select[name=entity]").replaceChildren(
    ...entities.map((e) => el("option", { value: e.id },
                              `${e.name} (${e.id}, ${e.base_currency})`)));
}

async function showExports(on) {
  $("#exports-view").hidden = !on;
  if (!on) return;
  $("#exports-problem").textContent = "";
  try {
    await fillEntities();
    await loadGains();
  } catch (error) { $("#exports-problem").textContent = error.message; }
  await loadVat();
}

function showTab() {
  $("[data-testid=nav-exports]").hidden = !READERS.includes(document.body.dataset.role);
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => showExports(tab.dataset.view === "exports"));
}
$("#exports-downloads").replaceChildren(...DOWNLOADS.map((item) => el("button", {
  type: "button", "data-testid": item.testid, onclick: () => download(item) }, item.label)));
$("#exports-form").addEventListener("submit", (event) => event.preventDefault());
$("#exports-form select[name=entity]").addEventListener("change", () => {
  loadGains().catch((error) => { $("#exports-problem").textContent = error.message; });
});
// desk.js writes the signed-in role on <body> once it knows it: show the tab then
new MutationObserver(showTab).observe(document.body, { attributeFilter: ["data-role"] });
showTab();
