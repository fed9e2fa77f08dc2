// ACORN counter page, stock: when a code is scanned (typed, or from the scanner), show that
// SKU's stock at this store by state (GET /api/stock/{sku}; works offline). It watches the scan
// result that counter.js renders, so it needs nothing from counter.js; a code the ledger never
// booked shows nothing. When selling one more would leave fewer sellable units than the
// allocation rules keep back here (view.kept_back: the store's floor and its active reserves for
// online orders or in-store sale), it warns before the sale, in the store's language.
import { $, api, el, label, t } from "/static/common.js";

const STATES = ["sellable", "qc_hold", "refurbish", "scrap", "reserved", "in_transit"];
let asked = 0;  // only the latest scan's answer is shown

async function showStock() {
  const code = $("#scan-input").value.trim();
  const box = $("#stock-panel");
  const ticket = ++asked;
  if (!code) { box.hidden = true; return; }
  let view;
  try {
    view = await api("GET", `/api/stock/${encodeURIComponent(code)}`);
  } catch { view = null; }
  if (ticket !== asked) return;
  if (!view || (view.moves.length === 0 && view.on_hand === 0)) { box.hidden = true; return; }
  $("#stock-sku").textContent = view.sku;
  box.dataset.sku = view.sku;
  const table = $("#stock-levels");
  table.replaceChildren();
  for (const state of STATES) {
    const row = el("tr", undefined, { "data-state": state });
    row.append(el("th", label("stock_state", state)),
      el("td", String(view.levels[state] ?? 0), { "data-testid": `stock-${state}` }));
    table.append(row);
  }
  $("#stock-on-hand").textContent = String(view.on_hand);
  $("#stock-needs-count").hidden = !view.needs_count;
  const sellable = view.levels.sellable ?? 0;
  const warn = $("#stock-kept-back");
  warn.textContent = t("stock_kept_back", { sellable, kept: view.kept_back ?? 0 });
  warn.hidden = !((view.kept_back ?? 0) > 0 && sellable - 1 < view.kept_back);
  box.hidden = false;
}

new MutationObserver(() => { showStock(); })
  .observe($("#scan-result"), { childList: true, attributes: true, subtree: false });
