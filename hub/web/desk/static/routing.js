// Amazon orders routed to stores, on the Stock tab: the latest routed orders in the caller's
// scope (GET /api/routing/orders), each opening its decision (every reason, each store
// considered: dropped with why, or ranked with distance, ship date and what it fills) and its
// history; a manager routes one again by the rules or to a store, with a reason
// (POST /api/routing/orders/{id}/route; the API refuses the others and stores out of scope).
//
// Rules: it loads when the Stock tab is shown and after each change; everything from the hub is
// written as text; a re-route is sent once (writes.js: one Idempotency-Key per action).

import { $, api, el, labelCells, toast, when } from "./common.js";
import { writeOnce } from "./writes.js";

const STATUS = { routed: "routed", split: "split", unroutable: "unroutable", manual: "by hand" };

function verdictText(v) {
  const where = v.distance_km === null ? "distance unknown" : `${v.distance_km} km`;
  if (v.dropped) return `${v.store_id}: dropped (${v.dropped}), ${where}`;
  return `${v.store_id}: rank ${v.rank}, ${where}, ships ${v.ship_date}, fills ${v.fills}`
    + (v.note ? ` (${v.note})` : "");
}

async function reroute(order, form) {
  const reason = form.querySelector("[name=reason]").value.trim();
  const store = form.querySelector("[name=store]").value.trim();
  const done = `order ${order.order_id} routed again`;
  try {
    const answer = await writeOnce({
      kind: "route", method: "POST", done, body: store ? { store, reason } : { reason },
      path: `/api/routing/orders/${encodeURIComponent(order.order_id)}/route`,
    }, [...form.querySelectorAll("button")]);
    if (answer === null) return;  // this click's twin is on its way
    toast(done);
    await load();
  } catch (error) {
    form.querySelector("[data-testid=routing-problem]").textContent = error.message;
  }
}

function detail(order) {
  const d = order.decision;
  const packages = d.packages.map((p) => el("li", { "data-testid": "routing-package" },
    `${p.store_id} ships ${p.ship_date}: `,
    p.lines.map((l) => `${l.quantity} × ${l.sku}`).join(", ")));
  const form = el("form", { class: "filters", "data-testid": "routing-form" },
    el("label", {}, "Store ", el("input", { name: "store", maxlength: "40",
                                            placeholder: "by the rules",
                                            "data-testid": "routing-store" })),
    el("label", { class: "grow" }, "Reason ", el("input", { name: "reason", maxlength: "500",
                                                          required: "required",
                                                          "data-testid": "routing-reason" })),
    el("button", { type: "submit", "data-testid": "routing-route" }, "Route again"),
    el("p", { class: "error", role: "alert", "data-testid": "routing-problem" }));
  form.addEventListener("submit", (event) => { event.preventDefault(); reroute(order, form); });
  const idle = d.stores_without_stock
    ? [el("li", {}, `${d.stores_without_stock} other store(s) hold none of it`)] : [];
  return el("td", { colspan: "6" },
    el("ul", { "data-testid": "routing-packages" }, packages),
    el("ul", { "data-testid": "routing-reasons" }, d.reasons.map((r) => el("li", {}, r))),
    el("ul", { "data-testid": "routing-verdicts" },
       d.stores.map((v) => el("li", { "data-store": v.store_id }, verdictText(v))), idle),
    form);
}

function rows(order) {
  const open = el("button", { type: "button", class: "open", "aria-expanded": "false",
                              "data-testid": "routing-open" }, order.order_id);
  const more = el("tr", { "data-testid": "routing-detail", hidden: "hidden" }, detail(order));
  open.addEventListener("click", () => {
    more.hidden = !more.hidden;
    open.setAttribute("aria-expanded", String(!more.hidden));
  });
  const main = el("tr", { "data-testid": "routing-row", "data-order": order.order_id,
                          "data-status": order.status },
    el("td", {}, open), el("td", {}, STATUS[order.status] || order.status),
    el("td", { "data-testid": "routing-stores" }, order.stores.join(", ") || "—"),
    el("td", {}, `${order.country || ""} ${order.postal_code || ""}`),
    el("td", {}, String(order.attempt)), el("td", {}, when(order.routed_at)));
  return [main, more];
}

export async function load() {
  $("#routing-problem").textContent = "";
  try {
    const orders = await api("GET", "/api/routing/orders?limit=100");
    $("#routing table tbody").replaceChildren(...orders.flatMap(rows));
    $("#routing-empty").hidden = orders.length > 0;
    labelCells($("#routing table"));
  } catch (error) { $("#routing-problem").textContent = error.message; }
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => { if (tab.dataset.view === "stock") load(); });
}
