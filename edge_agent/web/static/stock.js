// ACORN counter page, stock: when a code is scanned (typed, or from the scanner), show that
// SKU's stock at this store by state (GET /api/stock/{sku}; works offline). It watches the scan
// result that counter.js renders, so it needs nothing from counter.js; a code the ledger never
// booked shows nothing. When selling one more would leave fewer sellable units than the
// allocation rules keep back here (view.kept_back: the store's floor and its active reserves for
// online orders or in-store sale), it warns before the sale, in the store's language.
// It also lists the hub's count tasks ("count SKU X": a recount HQ asked for, GET
// /api/count-tasks, kept in the node's SQLite so it works offline) with a field to enter the
// figure; saving posts a count of that SKU (POST /api/stock/counts), which answers the task. The
// list is read when the counter opens and again when counter.js relays a live "count_task" or
// "stock" event (document events "acorn:count_task" / "acorn:stock").
import { $, api, el, label, showError, t } from "/static/common.js";

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

// --- count tasks from HQ -------------------------------------------------------------------------
let listing = 0;  // only the latest read of the list is shown

function taskRow(task) {
  const input = el("input", undefined, {
    type: "number", min: "0", step: "1", inputmode: "numeric", required: "",
    "aria-label": t("count_task_quantity"), "data-testid": "count-task-quantity",
  });
  const button = el("button", t("count_task_submit"), { type: "submit", "data-testid": "count-task-save" });
  const form = el("form", undefined, { class: "count-task-form" });
  form.append(input, button);
  form.addEventListener("submit", (e) => { e.preventDefault(); saveCount(task, input, button); });
  const row = el("li", undefined, { "data-task": task.task_id, "data-sku": task.sku, "data-testid": "count-task" });
  row.append(el("span", t("count_task_line", { sku: task.sku, state: label("stock_state", task.state) }),
    { class: "count-task-what" }), form);
  if (task.note) row.append(el("small", task.note, { class: "count-task-note" }));
  return row;
}

async function loadTasks() {
  if ($("#counter").hidden) return;
  const ticket = ++listing;
  let data;
  try {
    const res = await fetch("/api/count-tasks", { headers: { Accept: "application/json" } });
    if (!res.ok) return;  // signed out, or the agent is restarting: the next event reads again
    data = await res.json();
  } catch { return; }
  if (ticket !== listing) return;
  const list = $("#count-task-list");
  list.replaceChildren(...data.tasks.map(taskRow));
  $("#count-tasks").hidden = data.tasks.length === 0 && !$("#count-task-message").textContent;
}

async function saveCount(task, input, button) {
  const quantity = Number(input.value);
  if (!Number.isInteger(quantity) || quantity < 0) { input.focus(); return; }
  button.disabled = true;
  try {
    // the task's own count id: a double tap books it once (the API answers the first booking)
    await api("POST", "/api/stock/counts", {
      count_id: `recount-${task.task_id}`, state: task.state, lines: [{ sku: task.sku, quantity }],
    });
    $("#count-task-message").textContent = t("count_task_saved", { sku: task.sku, counted: quantity });
    showError(null);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
    loadTasks();
  }
}

new MutationObserver(() => { loadTasks(); })
  .observe($("#counter"), { attributes: true, attributeFilter: ["hidden"] });
document.addEventListener("acorn:count_task", () => { loadTasks(); });
document.addEventListener("acorn:stock", () => { loadTasks(); });
loadTasks();
