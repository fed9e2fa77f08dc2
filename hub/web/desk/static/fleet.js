// The fleet view (technician, admin): every store and node in the caller's scope, from
// GET /api/fleet/nodes — online or offline, last seen, agent version, outbox and the age of its
// oldest unsent event, printer, scanner, config version, certificate, alerts.
//
// Rules: filters, sort and page are the hub's (only chosen values are sent; a new choice starts
// at the first page); the view reloads itself every POLL_MS while it is shown, and stops when
// another view is; ages come from the hub's own clock (unsent_age_seconds, offline_for_seconds);
// an alert is a badge with words, never a colour alone; a store is named by its name, city and
// region.

import { $, api, el, fillSelect, labelCells, when } from "./common.js";

const POLL_MS = 2000;
const ALERT_WORDS = { offline: "offline too long", unsent: "unsent events too old",
                      certificate: "certificate expiring" };
const state = { limit: 50, offset: 0, timer: null, shown: false, regions: new Set() };

/** An age in seconds as a person reads it: "45 s", "12 min", "3.5 h", "2.0 d". */
export function ageText(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

function params() {
  const query = new URLSearchParams();
  for (const [key, value] of new FormData($("#fleet-filters"))) {
    const text = String(value).trim();
    if (text) query.set(key, text);
  }
  query.set("limit", state.limit);
  query.set("offset", state.offset);
  return query;
}

function storeCell(row) {
  const place = [row.city, row.region].filter(Boolean).join(" / ");
  return el("td", { "data-testid": "fleet-store" },
    el("strong", {}, row.store_name || row.store_id),
    el("div", { class: "muted" }, [row.store_name ? row.store_id : "", place].filter(Boolean).join(" · ")));
}

function stateCell(row) {
  if (!row.node_id) return el("td", { "data-testid": "fleet-state" }, el("span", { class: "muted" }, "no node yet"));
  if (row.revoked) return el("td", { "data-testid": "fleet-state" }, el("span", { class: "badge late" }, "revoked"));
  const online = row.state === "online";
  return el("td", { "data-testid": "fleet-state", "data-state": row.state },
    el("span", { class: `badge ${online ? "ok" : "due"}` }, online ? "online" : "offline"),
    !online && row.offline_for_seconds !== null ? el("div", { class: "muted" }, `for ${ageText(row.offline_for_seconds)}`) : "");
}

function outboxCell(row) {
  if (!row.node_id || row.outbox_pending === null) return el("td", { "data-testid": "fleet-outbox" }, "–");
  return el("td", { "data-testid": "fleet-outbox", "data-pending": row.outbox_pending },
    `${row.outbox_pending} unsent`,
    row.unsent_age_seconds !== null
      ? el("div", { class: "muted", "data-testid": "fleet-unsent-age", "data-seconds": Math.floor(row.unsent_age_seconds) },
        `oldest ${ageText(row.unsent_age_seconds)}`)
      : "");
}

function certCell(row) {
  if (!row.cert_not_after) return el("td", {}, "–");
  return el("td", { "data-testid": "fleet-cert" }, `until ${when(row.cert_not_after)}`);
}

function fleetRow(row) {
  const alerts = row.alerts.map((a) => el("span", { class: "badge late", "data-testid": "fleet-alert", "data-alert": a }, ALERT_WORDS[a] || a));
  return el("tr", { "data-testid": "fleet-row", "data-store": row.store_id, "data-node": row.node_id || "",
                    "data-alerts": row.alerts.join(" ") },
    storeCell(row),
    el("td", { "data-testid": "fleet-node" }, row.node_id || "–"),
    stateCell(row),
    el("td", {}, row.last_seen_at ? when(row.last_seen_at) : "never"),
    el("td", { "data-testid": "fleet-version" }, row.version || "–"),
    outboxCell(row),
    el("td", { "data-testid": "fleet-printer" }, row.printer || "–"),
    el("td", { "data-testid": "fleet-scanner" }, row.scanner || "–"),
    el("td", { "data-testid": "fleet-config" }, row.node_id ? `v${row.config_version ?? "–"}` : "–",
      row.config_published !== null ? el("div", { class: "muted" }, `hub pushes v${row.config_published}`) : ""),
    certCell(row),
    el("td", { "data-testid": "fleet-alerts" }, alerts.length ? alerts : el("span", { class: "muted" }, "none")));
}

function fillRegions(items) {
  for (const row of items) if (row.region) state.regions.add(row.region);
  fillSelect($("#fleet-filters select[name=region]"),
    [...state.regions].sort().map((r) => ({ value: r, label: r })), { value: "", label: "any" });
}

/** Load the current page; a refusal shows the hub's words under the filters. */
export async function loadFleet() {
  let page;
  try {
    page = await api("GET", `/api/fleet/nodes?${params()}`);
  } catch (error) {
    const problems = (error.detail || []).map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
    $("#fleet-problem").textContent = problems.join("; ") || error.message;
    return;
  }
  $("#fleet-problem").textContent = "";
  fillRegions(page.items);
  $("table.fleet tbody").replaceChildren(...page.items.map(fleetRow));
  labelCells($("table.fleet"));
  const alerting = page.items.filter((r) => r.alerts.length).length;
  $("[data-testid=fleet-total]").textContent = `${page.total} rows · ${alerting} alerting on this page`;
  const t = page.thresholds;
  $("[data-testid=fleet-thresholds]").textContent =
    `Alerts: offline over ${ageText(t.offline_seconds)}, oldest unsent event over ${ageText(t.unsent_seconds)}, certificate expiring within ${t.cert_days} days.`;
  const last = Math.min(page.offset + page.limit, page.total);
  $("#fleet-page-info").textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "nothing found";
  $("#fleet-prev").disabled = page.offset === 0;
  $("#fleet-next").disabled = last >= page.total;
  document.body.dataset.fleetLoaded = String(Date.now());
}

function poll() {
  clearTimeout(state.timer);
  if (!state.shown) return;
  state.timer = setTimeout(async () => { await loadFleet(); poll(); }, POLL_MS);
}

/** Show or hide the view: shown, it loads at once and then every POLL_MS; hidden, it stops. */
export function showFleet(on) {
  state.shown = on;
  if (on) loadFleet().finally(poll);
  else clearTimeout(state.timer);
}

/** The store choices (names from the desk's facets). */
export function fillFleetStores(storeNames) {
  fillSelect($("#fleet-filters select[name=store]"), storeNames, { value: "", label: "any" });
}

/** Wire the filters and the pager. */
export function wireFleet() {
  const reload = () => { state.offset = 0; loadFleet(); };
  for (const control of document.querySelectorAll("#fleet-filters select")) control.addEventListener("change", reload);
  $("#fleet-filters").addEventListener("submit", (event) => { event.preventDefault(); reload(); });
  $("#fleet-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); loadFleet(); });
  $("#fleet-next").addEventListener("click", () => { state.offset += state.limit; loadFleet(); });
}
