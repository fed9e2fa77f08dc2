// Amazon orders due to ship, on the Stock tab: the packages routed to a store in the caller's
// scope whose ship-by is within a day (or past) and that have not shipped
// (GET /api/shipments/due), soonest first; an overdue one is marked.
//
// Below it, the packages a person decides (GET /api/shipments?state=failed|held): Amazon refused
// the confirmation (its message shown) or the order was shipped twice; a manager resends one
// (with a corrected carrier or tracking number when given) or drops it, with a reason
// (POST /api/shipments/{id}/decision; the API refuses other roles and stores out of scope).
//
// Rules: it loads when the Stock tab is shown and after each decision; everything from the hub
// is written as text; a decision is sent once (writes.js: one Idempotency-Key per action).

import { $, api, el, labelCells, toast, when } from "./common.js";
import { writeOnce } from "./writes.js";

function row(due) {
  return el("tr", { "data-testid": "ship-due-row", "data-order": due.order_id,
                    class: due.overdue ? "overdue" : "" },
    el("td", {}, due.order_id), el("td", {}, due.store_id), el("td", {}, when(due.ship_by)),
    el("td", { "data-testid": "ship-due-state" }, due.overdue ? "overdue" : "due soon"));
}

export async function load() {
  $("#ship-due-problem").textContent = "";
  try {
    const due = await api("GET", "/api/shipments/due");
    $("#ship-due table tbody").replaceChildren(...due.map(row));
    $("#ship-due-empty").hidden = due.length > 0;
    labelCells($("#ship-due table"));
  } catch (error) { $("#ship-due-problem").textContent = error.message; }
}

const WHY = { failed: "Amazon refused it", held: "the order was shipped twice" };

async function decide(pkg, action, form) {
  const field = (name) => form.querySelector(`[name=${name}]`).value.trim();
  const problem = form.querySelector("[data-testid=ship-decide-problem]");
  problem.textContent = "";
  const reason = field("reason");
  if (!reason) { problem.textContent = "Say why first."; return; }
  const body = { action, reason };
  if (action === "resend") {
    if (field("carrier")) body.carrier = field("carrier");
    if (field("tracking_number")) body.tracking_number = field("tracking_number");
  }
  const done = `package ${pkg.package_id} ${action === "resend" ? "sent again" : "dropped"}`;
  try {
    const answer = await writeOnce({
      kind: `ship-${action}`, method: "POST", done, body,
      path: `/api/shipments/${encodeURIComponent(pkg.package_id)}/decision`,
    }, [...form.querySelectorAll("button")]);
    if (answer === null) return;
    toast(done);
    await loadDecisions();
  } catch (error) { problem.textContent = error.message; }
}

function decisionRow(pkg) {
  const id = (name) => `ship-${name}-${pkg.package_id}`;
  const input = (name, label, hint) => [
    el("label", { for: id(name) }, label),
    el("input", { id: id(name), name, placeholder: hint, autocomplete: "off" })];
  const form = el("form", { class: "inline", "data-testid": "ship-decide-form" },
    ...input("reason", "Why", "required"),
    ...input("carrier", "Carrier", pkg.carrier),
    ...input("tracking_number", "Tracking number", pkg.tracking_number),
    el("button", { type: "button", "data-testid": "ship-resend" }, "Send again"),
    el("button", { type: "button", "data-testid": "ship-drop" }, "Drop"),
    el("p", { class: "error", role: "alert", "data-testid": "ship-decide-problem" }));
  form.querySelector("[data-testid=ship-resend]").addEventListener(
    "click", () => decide(pkg, "resend", form));
  form.querySelector("[data-testid=ship-drop]").addEventListener(
    "click", () => decide(pkg, "drop", form));
  return el("tr", { "data-testid": "ship-decide-row", "data-package": pkg.package_id },
    el("td", {}, pkg.order_id), el("td", {}, pkg.store_id),
    el("td", {}, `${pkg.carrier} ${pkg.tracking_number}`),
    el("td", { "data-testid": "ship-decide-why" },
       `${WHY[pkg.confirm_state]}${pkg.last_error ? `: ${pkg.last_error}` : ""}`),
    el("td", {}, form));
}

export async function loadDecisions() {
  $("#ship-decide-problem").textContent = "";
  try {
    const [failed, held] = await Promise.all([
      api("GET", "/api/shipments?state=failed"), api("GET", "/api/shipments?state=held")]);
    const rows = [...failed, ...held];
    $("#ship-decide table tbody").replaceChildren(...rows.map(decisionRow));
    $("#ship-decide-empty").hidden = rows.length > 0;
    labelCells($("#ship-decide table"));
  } catch (error) { $("#ship-decide-problem").textContent = error.message; }
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    if (tab.dataset.view === "stock") { load(); loadDecisions(); }
  });
}
