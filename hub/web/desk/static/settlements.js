// The Settlements view (finance and admins): every Amazon settlement once, with its status
// (open / differences / reconciled); one settlement's deposit check, its difference table (ACORN's
// and the settlement's Principal, Tax, Shipping, Commission, RefundCommission side by side) and
// its accounting summary, each table with a CSV download; the month parts of the deposit as a
// chart; reconciling it now, and resolving a difference with a note (kept in the audit trail) —
// from /api/settlements/...
//
// Rules: it wires itself (a click on the Settlements tab shows it, any other tab hides it); the
// tab shows only for finance and admins (desk.js writes the role on <body>); everything from the
// hub is written as text; amounts are the hub's exact decimal strings, never recomputed here.

import { $, api, el, grouped, labelCells, problemsText, toast, when } from "./common.js";
import { bars } from "./stock.js";

const PARTS = ["Principal", "Tax", "Shipping", "Commission", "RefundCommission", "Other"];
const KINDS = { not_settled: "In ACORN, not settled", unknown_to_acorn: "Settled, unknown to ACORN",
                amounts_differ: "Amounts differ", deposit: "Deposit does not add up" };
const STATUS = { open: "open", differences: "differences", reconciled: "reconciled" };
let shown = null;  // the settlement id on screen
let resolving = null;  // the difference being resolved

const day = (text) => (text ? new Date(text).toLocaleDateString() : "–");
const amount = (text, currency) => (text === null || text === undefined ? "–"
  : `${grouped(text)}${currency ? ` ${currency}` : ""}`);

function badge(status) {
  return el("span", { class: `badge ${status}`, "data-status": status }, STATUS[status] || status);
}

function csvLink(path, testid) {
  return el("a", { href: path, download: "", "data-testid": testid }, "Download CSV");
}

async function loadList() {
  $("#settlements-problem").textContent = "";
  try {
    const rows = await api("GET", "/api/settlements");
    $("#settlements-empty").hidden = rows.length > 0;
    $("[data-testid=settlements] tbody").replaceChildren(...rows.map((s) => el("tr", {
      "data-testid": "settlements-row", "data-settlement": s.settlement_id },
      el("td", {}, s.settlement_id), el("td", {}, s.account),
      el("td", {}, `${day(s.start)} – ${day(s.end)}`), el("td", {}, day(s.deposit_at)),
      el("td", {}, amount(s.total, s.currency)), el("td", {}, badge(s.status)),
      el("td", {}, s.status === "open" ? "–" : String(s.unresolved)),
      el("td", {}, s.repeated_in.join(", ") || "–"),
      el("td", {}, el("button", { type: "button", "data-testid": "settlements-open",
                                  onclick: () => showDetail(s.settlement_id) }, "Open")))));
    labelCells($("[data-testid=settlements]"));
  } catch (error) { $("#settlements-problem").textContent = error.message; }
}

function depositBox(detail) {
  const d = detail.deposit;
  const currency = detail.settlement.currency;
  return el("p", { "data-adds-up": String(d.adds_up) },
    d.adds_up ? "The lines add up to the deposit: " : "The lines do not add up to the deposit: ",
    `deposit ${amount(d.deposit, currency)}, lines ${amount(d.lines_total, currency)}, `
    + `gap ${amount(d.gap, currency)}.`,
    d.flags.length ? el("span", { "data-testid": "settlements-flags" },
                        ` Flags: ${d.flags.join(", ")}.`) : "",
    ` ${detail.matched} of ${detail.refund_lines} refunded items matched to ACORN's refunds.`);
}

/** The components either side has, one per line; a component that differs is in bold. */
function components(d) {
  if (d.kind === "deposit") return "–";
  const used = PARTS.filter((p) => Number(d.acorn[p]) || Number(d.settlement[p]));
  return el("ul", { class: "plain" }, used.map((p) => {
    const text = `${p}: ${d.acorn[p]} / ${d.settlement[p]}`;
    return el("li", { "data-part": p },
              d.acorn[p] === d.settlement[p] ? text : el("strong", {}, text));
  }));
}

function differenceTable(detail) {
  const rows = detail.differences;
  if (!rows.length) return el("p", { "data-testid": "settlements-no-differences" }, "No differences.");
  const table = el("table", { class: "queue", "data-testid": "settlements-differences" },
    el("thead", {}, el("tr", {}, el("th", {}, "Kind"), el("th", {}, "Order"),
      el("th", {}, "Refund"), el("th", {}, "SKU"),
      el("th", {}, "ACORN / settlement"),
      el("th", {}, "Note"), el("th", {}, "Resolved"))),
    el("tbody", {}, rows.map((d) => el("tr", { "data-testid": "difference", "data-kind": d.kind,
                                               "data-key": d.key },
      el("td", {}, KINDS[d.kind] || d.kind), el("td", {}, d.order_id || "–"),
      el("td", {}, d.refund || "–"), el("td", {}, d.sku || "–"),
      el("td", {}, components(d)),
      el("td", {}, d.note),
      el("td", {}, d.resolved
        ? el("span", { "data-testid": "resolution" },
             `${d.resolved.by}, ${when(d.resolved.at)}: ${d.resolved.note}`)
        : el("button", { type: "button", "data-testid": "difference-resolve",
                         onclick: () => askResolve(d) }, "Resolve…"))))));
  labelCells(table);
  return table;
}

function summaryBox(detail) {
  const s = detail.summary;
  const currency = detail.settlement.currency;
  const table = el("table", { class: "queue", "data-testid": "settlements-summary" },
    el("thead", {}, el("tr", {}, el("th", {}, "Month"), el("th", {}, "Transaction type"),
      el("th", {}, "Amount type"), el("th", {}, "Account"), el("th", {}, "Tax rate"),
      el("th", {}, "Amount"), el("th", {}, "Lines"))),
    el("tbody", {},
      s.bookings.map((b) => el("tr", { "data-month": b.month, "data-account": b.account },
        el("td", {}, b.month), el("td", {}, b.transaction_type || "–"),
        el("td", {}, b.amount_type || "–"), el("td", {}, b.account),
        el("td", {}, b.tax_rate === null ? "–" : `${b.tax_rate} %`),
        el("td", {}, amount(b.amount, currency)), el("td", {}, String(b.lines)))),
      s.parts.map((p) => el("tr", { "data-testid": "deposit-part", "data-month": p.month },
        el("td", {}, p.month), el("td", {}, "deposit part"), el("td", {}, ""),
        el("td", {}, s.clearing_account), el("td", {}, ""), el("td", {}, amount(p.amount, currency)),
        el("td", {}, "")))));
  labelCells(table);
  const chart = bars(s.parts.map((p) => ({ label: p.month, value: Number(p.amount) })),
                     "settlements-parts-chart");
  return el("figure", { class: "reasons-figure" },
    el("figcaption", {}, `The deposit by month (clearing account ${s.clearing_account}; `
                         + `mapping version ${s.mapping_version}; total ${amount(s.total, currency)})`),
    chart, table,
    el("p", {}, csvLink(`/api/settlements/${encodeURIComponent(detail.settlement.settlement_id)}/summary.csv`,
                        "settlements-summary-csv")));
}

function render(detail) {
  const s = detail.settlement;
  shown = s.settlement_id;
  $("#settlements-detail").hidden = false;
  $("#settlements-title").replaceChildren(`Settlement ${s.settlement_id} `, badge(s.status));
  $("#settlements-deposit").replaceChildren(depositBox(detail));
  $("#settlements-differences").replaceChildren(differenceTable(detail),
    el("p", {}, csvLink(`/api/settlements/${encodeURIComponent(s.settlement_id)}/differences.csv`,
                        "settlements-differences-csv")));
  $("#settlements-summary").replaceChildren(summaryBox(detail));
}

async function showDetail(id) {
  $("#settlements-problem").textContent = "";
  try {
    render(await api("GET", `/api/settlements/${encodeURIComponent(id)}`));
    $("#settlements-detail").scrollIntoView({ block: "nearest" });
  } catch (error) { $("#settlements-problem").textContent = error.message; }
}

async function reconcileNow() {
  try {
    render(await api("POST", `/api/settlements/${encodeURIComponent(shown)}/reconcile`));
    toast(`Settlement ${shown} reconciled`);
    await loadList();
  } catch (error) { $("#settlements-problem").textContent = problemsText(error); }
}

function askResolve(difference) {
  resolving = difference;
  $("#resolve-what").textContent = `${KINDS[difference.kind] || difference.kind}`
    + `${difference.order_id ? ` — order ${difference.order_id}` : ""}`
    + `${difference.refund ? `, refund ${difference.refund}` : ""}`;
  $("#resolve-form").elements.note.value = "";
  $("#resolve-dialog").showModal();
}

async function resolve(event) {
  if (event.submitter && event.submitter.value === "cancel") return;
  event.preventDefault();
  const note = $("#resolve-form").elements.note.value.trim();
  if (!note) return;
  try {
    render(await api("POST", `/api/settlements/${encodeURIComponent(shown)}/resolve`,
                     { key: resolving.key, note }));
    $("#resolve-dialog").close();
    toast("Difference resolved");
    await loadList();
  } catch (error) { toast(problemsText(error), true); }
}

function showSettlements(on) {
  $("#settlements-view").hidden = !on;
  if (on) loadList();
}

function showTab() {
  const role = document.body.dataset.role;
  $("[data-testid=nav-settlements]").hidden = !["finance", "admin"].includes(role);
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => showSettlements(tab.dataset.view === "settlements"));
}
$("[data-testid=settlements-reconcile]").addEventListener("click", reconcileNow);
$("#resolve-form").addEventListener("submit", resolve);
new MutationObserver(showTab).observe(document.body, { attributes: true,
                                                       attributeFilter: ["data-role"] });
showTab();
