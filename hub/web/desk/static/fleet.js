// The fleet view (technician, admin): every store and node in the caller's scope, from
// GET /api/fleet/nodes — online or offline, last seen, agent version, outbox and the age of its
// oldest unsent event, printer, scanner, POS terminal, config version (run vs pushed), certificate, clock
// offset, disk free, last self-test, alerts; a store's settings are edited in a dialog (PATCH
// /api/fleet/stores/{store}/settings); after a confirm dialog a node is revoked (a reason is
// required), rotated (a new enrolment code is shown) or its machine replaced (reason; the new
// machine's code and the old node's lost events are shown), and an admin decommissions a store
// (reason; the nodes revoked are shown).
//
// Rules: filters, sort and page are the hub's (only chosen values are sent; a new choice starts
// at the first page); the view reloads itself every POLL_MS while it is shown, and stops when
// another view is; ages come from the hub's own clock (unsent_age_seconds, offline_for_seconds);
// an alert is a badge with words, never a colour alone; a store is named by its name, city and
// region.

import { $, api, el, fillSelect, labelCells, problemsText, toast, when } from "./common.js";

const POLL_MS = 2000;
// The node's words for its devices (protocol/link.py NodeStatus), said for a person.
const DEVICE_WORDS = { ok: "ok", paper_low: "paper low", paper_out: "out of paper", offline: "offline",
  unknown: "unknown", error: "error", none: "none", starting: "starting", connected: "connected",
  disconnected: "disconnected", stopped: "stopped" };
const ALERT_WORDS = { offline: "offline too long", unsent: "unsent events too old",
                      certificate: "certificate expiring", clock: "clock off", disk: "disk low",
                      pos: "POS not reachable" };
// The POS terminal as the node's last self-test probed it (NodeStatus.pos_terminal), in words.
const POS_WORDS = { reachable: "reachable", refused: "refused the connection",
  timed_out: "did not answer in time", unreachable: "unreachable", unhealthy: "answered with an error" };
const state = { limit: 50, offset: 0, timer: null, shown: false, regions: new Set(),
                editing: null, acting: null, asked: 0,
                // the newest settings known per store: a row rendered before a save still opens
                // the dialog with what was saved
                settings: new Map() };

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
    el("div", { class: "muted" }, [row.store_name ? row.store_id : "", place].filter(Boolean).join(" · ")),
    el("button", { type: "button", class: "small", "data-testid": "fleet-edit-settings",
                   onclick: () => editSettings(row) }, "Settings"),
    // decommissioning a store is for admins (manage_stores); the hub refuses anyone else too
    document.body.dataset.role === "admin"
      ? el("button", { type: "button", class: "small danger", "data-testid": "fleet-decommission",
                       onclick: () => act(row, "decommission") }, "Decommission")
      : "");
}

// One cell holds several small facts (the page must fit 1366 px): each on its own line, named.
function labelled(name, value) {
  return el("div", { class: "fact" }, el("span", { class: "muted" }, `${name} `), value);
}

function clockCell(row) {
  const offset = row.clock_offset_seconds;
  if (offset === null || offset === undefined) return el("span", { "data-testid": "fleet-clock" }, "–");
  const way = offset > 0 ? "ahead" : "behind";
  return el("span", { "data-testid": "fleet-clock", "data-offset": offset },
    Math.abs(offset) < 0.5 ? "in step" : `${ageText(Math.abs(offset))} ${way}`);
}

function diskCell(row) {
  const free = row.disk_free_bytes;
  if (free === null || free === undefined) return el("span", { "data-testid": "fleet-disk" }, "–");
  return el("span", { "data-testid": "fleet-disk", "data-bytes": free }, `${(free / 1e9).toFixed(1)} GB`);
}

function selftestCell(row) {
  if (!row.selftest_at) return el("span", { "data-testid": "fleet-selftest" }, "–");
  const failing = row.selftest_failing || [];
  return el("span", { "data-testid": "fleet-selftest", "data-passed": String(row.selftest_passed) },
    el("span", { class: `badge ${row.selftest_passed ? "ok" : "late"}` }, row.selftest_passed ? "passed" : "failed"),
    failing.length ? el("div", {}, `failing: ${failing.join(", ")}`) : "",
    el("div", { class: "muted" }, when(row.selftest_at)));
}

function posFact(row) {
  // null: the node has no POS address set (or did not say: before its first self-test, an older agent)
  const code = row.pos_terminal;
  const words = code ? (POS_WORDS[code] || code) : (row.selftest_at ? "not set" : "–");
  return el("div", { class: "fact", "data-testid": "fleet-pos", "data-pos": code || "" },
    el("span", { class: "muted" }, "POS "),
    code && code !== "reachable" ? el("span", { class: "badge late" }, words) : words);
}

function actionsCell(row) {
  if (!row.node_id || row.revoked) return el("td", {}, "–");
  return el("td", { "data-testid": "fleet-actions" },
    el("button", { type: "button", class: "small", "data-testid": "fleet-rotate",
                   onclick: () => act(row, "rotate") }, "Rotate"),
    el("button", { type: "button", class: "small danger", "data-testid": "fleet-revoke",
                   onclick: () => act(row, "revoke") }, "Revoke"),
    el("button", { type: "button", class: "small danger", "data-testid": "fleet-replace",
                   onclick: () => act(row, "replace") }, "Replace machine"));
}

function stateCell(row) {
  // presence and when the node was last seen share a cell (the page must fit 1366 px)
  const seen = el("div", { class: "muted" }, row.last_seen_at ? `seen ${when(row.last_seen_at)}` : "never seen");
  if (!row.node_id) return el("td", {}, el("span", { "data-testid": "fleet-state", class: "muted" }, "no node yet"));
  if (row.revoked) return el("td", {}, el("span", { "data-testid": "fleet-state", class: "badge late" }, "revoked"), seen);
  const online = row.state === "online";
  return el("td", {},
    el("span", { class: `badge ${online ? "ok" : "due"}`, "data-testid": "fleet-state", "data-state": row.state },
       online ? "online" : "offline"),
    !online && row.offline_for_seconds !== null ? el("div", { class: "muted" }, `for ${ageText(row.offline_for_seconds)}`) : "",
    seen);
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
    el("td", { "data-testid": "fleet-version" }, row.version || "–"),
    outboxCell(row),
    el("td", {},
      labelled("Printer", el("span", { "data-testid": "fleet-printer" }, row.printer ? (DEVICE_WORDS[row.printer] || row.printer) : "–")),
      labelled("Scanner", el("span", { "data-testid": "fleet-scanner" }, row.scanner ? (DEVICE_WORDS[row.scanner] || row.scanner) : "–")),
      posFact(row)),
    el("td", { "data-testid": "fleet-config" }, row.node_id ? `v${row.config_version ?? "–"}` : "–",
      row.config_published !== null ? el("div", { class: "muted" }, `hub pushes v${row.config_published}`) : ""),
    certCell(row),
    el("td", {},
      labelled("Clock", clockCell(row)),
      labelled("Disk", diskCell(row)),
      labelled("Self-test", selftestCell(row))),
    el("td", { "data-testid": "fleet-alerts" }, alerts.length ? alerts : el("span", { class: "muted" }, "none")),
    actionsCell(row));
}

function fillRegions(items) {
  for (const row of items) if (row.region) state.regions.add(row.region);
  fillSelect($("#fleet-filters select[name=region]"),
    [...state.regions].sort().map((r) => ({ value: r, label: r })), { value: "", label: "any" });
}

/** Load the current page; a refusal shows the hub's words under the filters. */
export async function loadFleet() {
  const asked = ++state.asked;  // a poll and a reload after a save may cross: the newest wins
  let page;
  try {
    page = await api("GET", `/api/fleet/nodes?${params()}`);
    if (asked !== state.asked) return;
  } catch (error) {
    if (asked !== state.asked) return;
    const problems = (error.detail || []).map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
    $("#fleet-problem").textContent = problems.join("; ") || error.message;
    return;
  }
  $("#fleet-problem").textContent = "";
  for (const row of page.items) state.settings.set(row.store_id, row.store_settings);
  fillRegions(page.items);
  $("table.fleet tbody").replaceChildren(...page.items.map(fleetRow));
  labelCells($("table.fleet"));
  const alerting = page.items.filter((r) => r.alerts.length).length;
  $("[data-testid=fleet-total]").textContent = `${page.total} rows · ${alerting} alerting on this page`;
  const t = page.thresholds;
  $("[data-testid=fleet-thresholds]").textContent =
    `Alerts: offline over ${ageText(t.offline_seconds)}, oldest unsent event over ${ageText(t.unsent_seconds)}, certificate expiring within ${t.cert_days} days, clock off by over ${ageText(t.clock_seconds)}, disk under ${t.disk_mb} MB free, POS terminal set but not reachable.`;
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

/** Open the settings dialog of the row's store, filled with what the store is pushed now. */
function editSettings(row) {
  state.editing = row.store_id;
  const form = $("#fleet-settings-form");
  const now = state.settings.get(row.store_id) || row.store_settings || {};
  form.elements.printer_paper.value = now.printer_paper || "";
  form.elements.language.value = now.language || "";
  form.elements.time_zone.value = now.time_zone || "";
  form.elements.limit_amount.value = now.offline_refund_limit ? now.offline_refund_limit.amount : "";
  form.elements.limit_currency.value = now.offline_refund_limit ? now.offline_refund_limit.currency : "";
  $("#fleet-settings-title").textContent = `Settings of ${row.store_name || row.store_id}`;
  $("#fleet-settings-problem").textContent = "";
  $("#fleet-settings").showModal();
}

async function saveSettings(event) {
  if (event.submitter && event.submitter.value === "cancel") return;
  event.preventDefault();  // the dialog stays open until the hub took the change
  const f = $("#fleet-settings-form").elements;
  const amount = f.limit_amount.value.trim();
  const body = { printer_paper: f.printer_paper.value || null, language: f.language.value || null,
                 time_zone: f.time_zone.value.trim() || null,
                 offline_refund_limit: amount ? { amount, currency: f.limit_currency.value.trim().toUpperCase() } : null };
  try {
    const saved = await api("PATCH", `/api/fleet/stores/${encodeURIComponent(state.editing)}/settings`, body);
    state.settings.set(saved.store_id, {
      language: saved.language, time_zone: saved.time_zone, printer_paper: saved.printer_paper,
      offline_refund_limit: saved.offline_refund_limit });
    $("#fleet-settings").close();
    toast(`Settings of ${saved.store_id} saved; its nodes get them as the next config version.`);
    loadFleet();
  } catch (error) {
    $("#fleet-settings-problem").textContent = problemsText(error);
  }
}

// The lifecycle actions of the confirm dialog: its title, its warning, whether a reason is asked,
// the API path and the sentence the answer becomes (a new code, the old node's lost events).
const ACTIONS = {
  rotate: {
    title: (row) => `Rotate ${row.store_id}/${row.node_id}?`,
    text: "A new enrolment code gives this node a new key and certificate; its old certificate is refused renewal once the new one is issued.",
    reason: false,
    path: (row) => nodePath(row, "rotate"),
    done: (d) => `Enrolment code ${d.code} (until ${when(d.expires_at)}): run acorn-edge enrol on the node with it.`,
  },
  revoke: {
    title: (row) => `Revoke ${row.store_id}/${row.node_id}?`,
    text: "The broker drops this node at once; it can never renew, re-enrol or send again.",
    reason: true,
    path: (row) => nodePath(row, "revoke"),
    done: (d) => `Revoked at ${when(d.revoked_at)}.`,
  },
  replace: {
    title: (row) => `Replace the machine of ${row.store_id}/${row.node_id}?`,
    text: "The old node is revoked at once (the broker drops it) and a code is made for the new machine, which gets a new node id. Events the old node did not send are lost unless its data folder is recovered onto the new machine.",
    reason: true,
    path: (row) => nodePath(row, "replace"),
    done: (d) => `${d.store_id}/${d.old_node_id} revoked. Enrolment code for the new machine: ${d.code.code} ` +
      `(node ${d.code.node_id}, until ${when(d.code.expires_at)}). ${lostText(d.backlog)}`,
  },
  decommission: {
    title: (row) => `Decommission the store ${row.store_name || row.store_id}?`,
    text: "Every node of the store is revoked and dropped by the broker, and no machine can enrol for it again. Its returns, refunds and audit trail stay.",
    reason: true,
    path: (row) => `/api/fleet/stores/${encodeURIComponent(row.store_id)}/decommission`,
    done: (d) => d.already
      ? `${d.store_id} was already decommissioned (${when(d.decommissioned_at)}); its broker access was removed again.`
      : `${d.store_id} decommissioned at ${when(d.decommissioned_at)}; nodes revoked: ${d.nodes.length ? d.nodes.join(", ") : "none"}.`,
  },
};

function nodePath(row, what) {
  return `/api/fleet/nodes/${encodeURIComponent(row.store_id)}/${encodeURIComponent(row.node_id)}/${what}`;
}

/** What the old node left unsent, in words (the hub's figures, api/fleet_ops.py BacklogOut). */
export function lostText(backlog) {
  if (backlog.unsent === null || backlog.unsent === undefined) {
    return `Lost events: unknown (the old node never reported its outbox); the hub holds its events up to #${backlog.hub_seq}.`;
  }
  if (backlog.unsent === 0) return `Lost events: none (the hub holds all of them, up to #${backlog.hub_seq}).`;
  return `Lost events: ${backlog.unsent} (after #${backlog.hub_seq}), unless recovered from the old machine's data folder.`;
}

/** The confirm dialog of a lifecycle action (ACTIONS). */
function act(row, what) {
  const action = ACTIONS[what];
  state.acting = { row, what };
  $("#fleet-action").dataset.action = what;
  $("#fleet-action-title").textContent = action.title(row);
  $("#fleet-action-text").textContent = action.text;
  $("#fleet-action-reason-label").hidden = !action.reason;
  $("#fleet-action-reason").value = "";
  $("#fleet-action-reason").required = action.reason;
  $("#fleet-action-problem").textContent = "";
  $("#fleet-action-result").textContent = "";
  $("#fleet-action-confirm").hidden = false;
  $("#fleet-action").showModal();
}

async function confirmAction(event) {
  if (event.submitter && event.submitter.value === "cancel") return;
  event.preventDefault();
  const { row, what } = state.acting;
  const action = ACTIONS[what];
  try {
    const done = await api("POST", action.path(row), action.reason ? { reason: $("#fleet-action-reason").value.trim() } : {});
    $("#fleet-action-confirm").hidden = true;
    $("#fleet-action-result").textContent = action.done(done);
    loadFleet();
  } catch (error) {
    $("#fleet-action-problem").textContent = problemsText(error);
  }
}

/** Wire the filters, the pager and the dialogs. */
export function wireFleet() {
  $("#fleet-settings-form").addEventListener("submit", saveSettings);
  $("#fleet-action-form").addEventListener("submit", confirmAction);
  const reload = () => { state.offset = 0; loadFleet(); };
  for (const control of document.querySelectorAll("#fleet-filters select")) control.addEventListener("change", reload);
  $("#fleet-filters").addEventListener("submit", (event) => { event.preventDefault(); reload(); });
  $("#fleet-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - state.limit); loadFleet(); });
  $("#fleet-next").addEventListener("click", () => { state.offset += state.limit; loadFleet(); });
}
