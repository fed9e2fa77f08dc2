// ACORN counter page, transfers between stores: the hub's transfer tasks at this store
// (GET /api/transfers, kept in the node's SQLite so it works offline). A transfer to ship shows
// its lines and one button: every line leaves sellable for in transit (POST
// /api/transfers/{id}/ship; a double tap ships once, the API answers the first shipment). A
// transfer to receive shows a field per line for the units that arrived, prefilled with what was
// shipped; booking them (POST /api/transfers/{id}/receive) books the difference, which the page
// says. The list is read when the counter opens and again when counter.js relays a live
// "transfer" or "stock" event (document events "acorn:transfer" / "acorn:stock").
import { $, api, el, showError, t } from "/static/common.js";

let listing = 0;  // only the latest read of the list is shown

const linesText = (task) => task.lines.map((li) => `${li.quantity} × ${li.sku}`).join(", ");

function shipRow(task) {
  const button = el("button", t("transfer_ship"), { type: "submit", "data-testid": "transfer-ship" });
  const form = el("form", undefined, { class: "count-task-form" });
  form.append(button);
  form.addEventListener("submit", (e) => { e.preventDefault(); act(task, "ship", {}, button); });
  return form;
}

function receiveRow(task) {
  const form = el("form", undefined, { class: "count-task-form" });
  const inputs = task.lines.map((li) => {
    const input = el("input", undefined, {
      type: "number", min: "0", step: "1", inputmode: "numeric", required: "",
      value: String(li.quantity), "aria-label": t("transfer_arrived", { sku: li.sku }),
      "data-testid": "transfer-arrived", "data-sku": li.sku,
    });
    form.append(input);
    return input;
  });
  const button = el("button", t("transfer_receive"), { type: "submit", "data-testid": "transfer-receive" });
  form.append(button);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const lines = inputs.map((input) => ({ sku: input.dataset.sku, counted: Number(input.value) }));
    if (lines.some((li) => !Number.isInteger(li.counted) || li.counted < 0)) return;
    act(task, "receive", { lines }, button);
  });
  return form;
}

function taskRow(task) {
  const sending = task.role === "send";
  const store = sending ? task.to_store : task.from_store;
  const row = el("li", undefined, { "data-transfer": task.transfer_id, "data-role": task.role,
                                    "data-testid": "transfer" });
  const what = t(sending ? "transfer_ship_line" : "transfer_receive_line", { store, lines: linesText(task) });
  row.append(el("span", what, { class: "count-task-what" }), sending ? shipRow(task) : receiveRow(task));
  if (task.note) row.append(el("small", task.note, { class: "count-task-note" }));
  return row;
}

async function act(task, what, body, button) {
  button.disabled = true;
  try {
    const done = await api("POST", `/api/transfers/${encodeURIComponent(task.transfer_id)}/${what}`, body);
    const difference = (done.counted || []).reduce((sum, li) => sum + Math.abs(li.difference), 0);
    $("#transfer-message").textContent = what === "ship"
      ? t("transfer_shipped", { transfer: task.transfer_id })
      : t("transfer_received", { transfer: task.transfer_id, difference });
    showError(null);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
    loadTransfers();
  }
}

async function loadTransfers() {
  if ($("#counter").hidden) return;
  const ticket = ++listing;
  let data;
  try {
    const res = await fetch("/api/transfers", { headers: { Accept: "application/json" } });
    if (!res.ok) return;  // signed out, or the agent is restarting: the next event reads again
    data = await res.json();
  } catch { return; }
  if (ticket !== listing) return;
  $("#transfer-list").replaceChildren(...data.tasks.map(taskRow));
  $("#transfers").hidden = data.tasks.length === 0 && !$("#transfer-message").textContent;
}

new MutationObserver(() => { loadTransfers(); })
  .observe($("#counter"), { attributes: true, attributeFilter: ["hidden"] });
document.addEventListener("acorn:transfer", () => { loadTransfers(); });
document.addEventListener("acorn:stock", () => { loadTransfers(); });
