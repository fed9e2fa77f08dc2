// The decided view: refunds a policy or a person has approved or rejected (and every payment
// state after), searched and paged by the hub (GET /api/desk/decided), in the caller's scope.
//
// Rules: the search is sent as typed (the hub checks it and names the field at fault, shown
// under the form); only filled fields are sent; a new search starts at the first page; each
// row opens the refund's story with a real button, and a click anywhere else on the row too.

import { $, api, el, fillSelect, labelCells, money, unseen, when } from "./common.js";

const state = { limit: 25, offset: 0, ctx: null, loaded: false };

function params() {
  const query = new URLSearchParams();
  for (const [key, value] of new FormData($("#search"))) {
    const text = String(value).trim();
    if (text) query.set(key, key === "currency" ? text.toUpperCase() : text);
  }
  query.set("limit", state.limit);
  query.set("offset", state.offset);
  return query;
}

function outcomeBadge(row) {
  const rejected = row.state === "rejected";
  return el("span", { class: `badge ${rejected ? "late" : "ok"}`, "data-testid": "decided-state" },
    state.ctx.word("refund_states", row.state));
}

function decidedRow(row, index) {
  const open = el("button", { type: "button", class: "open", "data-testid": "open-decided",
    onclick: () => state.ctx.open(row, index) }, unseen("Open refund "), row.refund_id,
    unseen(` of store ${state.ctx.storeName(row.store_id)}`));
  const sale = [row.order_id ? `order ${row.order_id}` : "", row.rma_id || row.return_id].filter(Boolean);
  return el("tr", { "data-testid": "decided-row", "data-refund": row.refund_id, "data-store": row.store_id,
                    onclick: (event) => { if (!event.target.closest("button, input, label")) state.ctx.open(row, index); } },
    el("td", {}, row.decided_at ? when(row.decided_at) : "–"),
    el("td", { "data-testid": "decided-store" }, state.ctx.storeName(row.store_id)),
    el("td", {}, open),
    el("td", { "data-testid": "amount" }, money(row.amount),
      row.base_amount && row.base_amount.currency !== row.amount.currency
        ? el("div", { class: "muted" }, `≈ ${money(row.base_amount)}`) : ""),
    el("td", {}, outcomeBadge(row)),
    el("td", {}, row.decided_by || "policy",
      row.decision_reason ? el("div", { class: "muted" }, row.decision_reason) : ""),
    el("td", {}, sale.join(" · ")));
}

let latest = 0;  // the newest search asked; an older answer arriving later is dropped

/** Load the current page of the current search; a refused search shows the hub's words. */
export async function loadDecided() {
  state.loaded = true;
  const asked = ++latest;
  let page;
  try {
    page = await api("GET", `/api/desk/decided?${params()}`);
  } catch (error) {
    if (asked !== latest) return;
    const problems = (error.detail || []).map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
    $("#search-problem").textContent = problems.join("; ") || error.message;
    $("[data-testid=decided-total]").textContent = "";
    $("table.decided tbody").replaceChildren();
    return;
  }
  if (asked !== latest) return;  // two selects changed quickly: show the answer to the last one
  $("#search-problem").textContent = "";
  $("table.decided tbody").replaceChildren(...page.items.map(decidedRow));
  labelCells($("table.decided"));
  $("[data-testid=decided-total]").textContent = `${page.total} decided`;
  const last = Math.min(page.offset + page.limit, page.total);
  $("#decided-page-info").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "nothing found";
  $("#decided-prev").disabled = page.offset === 0;
  $("#decided-next").disabled = last >= page.total;
}

/** The store and outcome choices (the store names from the facets, words from /api/options). */
export function fillDecidedChoices(storeNames, words) {
  fillSelect($("#search select[name=store]"), storeNames, { value: "", label: "any" });
  fillSelect($("#search select[name=outcome]"),
    ["approved", "rejected"].map((v) => ({ value: v, label: words.label("refund_outcomes", v) })),
    { value: "", label: "any" });
}


/** Wire the search form and pager; ``ctx`` = {open(row, index), storeName(id), word(group, v)}. */
export function wireDecided(ctx) {
  state.ctx = ctx;
  const search = () => { state.offset = 0; loadDecided(); };
  $("#search").addEventListener("submit", (event) => { event.preventDefault(); search(); });
  $("#search").addEventListener("reset", () => setTimeout(search, 0));  // after the fields clear
  for (const select of document.querySelectorAll("#search select")) select.addEventListener("change", search);
  $("#decided-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); loadDecided(); });
  $("#decided-next").addEventListener("click", () => { state.offset += state.limit; loadDecided(); });
}
