// The pick tasks on the counter page: Amazon orders HQ routed to this store (GET /api/pick-tasks,
// kept in the node's SQLite so the list works offline), nearest ship-by first. For each: its
// lines with what is picked, a field where each item is scanned (a wrong item is refused by the
// agent with its sentence), print the pick list and packing slip, carrier and tracking number to
// ship it, or a reason to give it back to HQ. A task within a day of its ship-by (or past it) is
// marked. The list is read when the counter opens and again
// on a live "stock" event (counter.js relays it as the document event "acorn:stock").
import { $, api, el, localDate, showError, t } from "/static/common.js";

let listing = 0;  // only the latest read of the list is shown
const DAY_MS = 24 * 3600 * 1000;

function say(text) {
  $("#pick-task-message").textContent = text;
  showError(null);
}

async function act(button, call, after) {
  button.disabled = true;
  try {
    const answer = await call();
    if (after) say(after(answer));
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
    loadPicks();
  }
}

function field(text, attrs) {
  return el("input", undefined, { "aria-label": text, placeholder: text, ...attrs });
}

function form(children, testid, onSubmit) {
  const f = el("form", undefined, { class: "count-task-form", "data-testid": testid });
  f.append(...children);
  f.addEventListener("submit", (e) => { e.preventDefault(); onSubmit(); });
  return f;
}

function pickRow(task) {
  const url = `/api/pick-tasks/${encodeURIComponent(task.package_id)}`;
  const row = el("li", undefined, { "data-package": task.package_id, "data-testid": "pick-task" });
  const when = task.ship_by ? localDate(task.ship_by) : "-";
  row.append(el("strong", t("pick_task_line", { order_id: task.order_id, ship_by: when })));
  row.append(el("span", undefined, { class: "pick-due-slot" }));
  row.append(el("ul", undefined, { class: "pick-lines" }));
  showProgress(row, task);

  const code = field(t("pick_scan"), { required: "", maxlength: "64", "data-testid": "pick-scan" });
  const scanButton = el("button", t("pick_scan_submit"), { type: "submit" });
  row.append(form([code, scanButton], "pick-scan-form", () => act(scanButton,
    () => api("POST", `${url}/scans`, { code: code.value.trim() }), () => { code.value = ""; return ""; })));

  const printButton = el("button", t("pick_print"), { type: "button", "data-testid": "pick-print" });
  printButton.addEventListener("click", () => act(printButton, () => api("POST", `${url}/print`),
    () => t("pick_printed")));
  row.append(printButton);

  const carrier = field(t("pick_carrier"), { required: "", maxlength: "64", "data-testid": "pick-carrier" });
  const tracking = field(t("pick_tracking"), { required: "", maxlength: "64", "data-testid": "pick-tracking" });
  const shipButton = el("button", t("pick_ship"), { type: "submit", "data-testid": "pick-ship" });
  row.append(form([carrier, tracking, shipButton], "pick-ship-form", () => act(shipButton,
    () => api("POST", `${url}/shipment`, { carrier: carrier.value.trim(), tracking_number: tracking.value.trim() }),
    () => t("pick_shipped", { order_id: task.order_id }))));

  const reason = field(t("pick_give_back_reason"), { required: "", maxlength: "2000", "data-testid": "pick-reason" });
  const backButton = el("button", t("pick_give_back"), { type: "submit", "data-testid": "pick-give-back" });
  row.append(form([reason, backButton], "pick-back-form", () => act(backButton,
    () => api("POST", `${url}/give-back`, { reason: reason.value.trim() }),
    () => t("pick_given_back", { order_id: task.order_id }))));
  return row;
}

// What changes as a task is picked: its lines' counts and how near its ship-by is. Updated in
// place, so the scan field of a row on screen (its focus, what a scanner is typing into it) is
// never replaced by a new one while the list is read again after each scan.
function showProgress(row, task) {
  const left = task.ship_by ? Date.parse(task.ship_by) - Date.now() : Infinity;
  row.querySelector(".pick-due-slot").replaceChildren(...(left <= DAY_MS  // near its ship-by
    ? [el("span", t(left <= 0 ? "pick_overdue" : "pick_due_soon"),
      { class: "pill pill-warn", "data-testid": "pick-due" })] : []));
  row.querySelector(".pick-lines").replaceChildren(...task.lines.map(
    (li) => el("li", t("pick_line", li), { "data-testid": "pick-line" })));
}

async function loadPicks() {
  if ($("#counter").hidden) return;
  const ticket = ++listing;
  let data;
  try {
    const res = await fetch("/api/pick-tasks", { headers: { Accept: "application/json" } });
    if (!res.ok) return;  // signed out, or the agent is restarting: the next event reads again
    data = await res.json();
  } catch { return; }
  if (ticket !== listing) return;
  const list = $("#pick-task-list");
  const wanted = new Set(data.tasks.map((task) => task.package_id));
  for (const row of [...list.children]) if (!wanted.has(row.dataset.package)) row.remove();
  const shown = new Map([...list.children].map((row) => [row.dataset.package, row]));
  for (const task of data.tasks) {
    const row = shown.get(task.package_id);
    if (row) showProgress(row, task);
    else list.append(pickRow(task));
  }
  $("#pick-tasks").hidden = data.tasks.length === 0 && !$("#pick-task-message").textContent;
}

new MutationObserver(() => { loadPicks(); })
  .observe($("#counter"), { attributes: true, attributeFilter: ["hidden"] });
document.addEventListener("acorn:stock", () => { loadPicks(); });
loadPicks();
