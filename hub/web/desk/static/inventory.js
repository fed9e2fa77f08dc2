// The inventory view: the allocation rules' rollout to the stores (GET
// /api/inventory/rules/rollout: per store the version pushed and when, per node the version it
// applies and since when), the active rules (YAML), a draft checked and simulated (POST
// /api/inventory/rules/draft) then published (POST /api/inventory/rules; admin), and the store
// records (GET/PUT /api/stores/{store}/record; admin or the region's manager).
//
// Rules: the rollout reloads itself every POLL_MS while the view is shown and stops when another
// view is; a store's state is said in words (all nodes apply the active version / waiting for
// named nodes), never by colour alone; a draft is published only after a check that found it
// valid, and editing it again asks for a new check; a record is saved whole (the hub names each
// bad field).

import { $, api, el, labelCells, problemsText, toast, when } from "./common.js";

const POLL_MS = 2000;
const state = { timer: null, shown: false, checked: null, record: null, canPublish: false };

function nodeLine(node, active) {
  const applied = node.applied_version === null ? "none reported" : `v${node.applied_version}`;
  const since = node.since ? ` since ${when(node.since)}` : "";
  const waiting = node.applied_version !== active ? " (waiting)" : "";
  return el("div", { class: "fact", "data-testid": "rollout-node" },
    el("strong", {}, node.node_id), ` ${node.online ? "online" : "offline"}: ${applied}${since}${waiting}`);
}

function rolloutRow(store, active) {
  const pushed = store.pushed_version === null ? "not yet"
    : `v${store.pushed_version} at ${when(store.pushed_at)} (config ${store.pushed_in_config})`;
  const stateText = store.current ? "runs the active version"
    : store.pushed_version !== active ? "not pushed yet"
      : store.nodes.length === 0 ? "no nodes" : `waiting for ${store.pending.join(", ")}`;
  return el("tr", { "data-testid": "rollout-row", "data-store": store.store_id,
                    "data-current": String(store.current) },
    el("td", {}, el("strong", {}, store.store_name || store.store_id),
       store.store_name ? el("div", { class: "muted" }, store.store_id) : ""),
    el("td", { "data-testid": "rollout-pushed" }, pushed),
    el("td", { "data-testid": "rollout-nodes" },
       ...(store.nodes.length ? store.nodes.map((n) => nodeLine(n, active)) : ["–"])),
    el("td", { "data-testid": "rollout-state" }, el("span", { class: store.current ? "badge ok" : "badge" }, stateText)));
}

async function loadRollout() {
  try {
    const data = await api("GET", "/api/inventory/rules/rollout");
    $("[data-testid=rollout-summary]").textContent =
      `Version ${data.active_version} (published ${when(data.active_since)}): ` +
      `${data.current} of ${data.stores.length} stores run it on every node.`;
    const table = $("[data-testid=rollout]");
    table.tBodies[0].replaceChildren(...data.stores.map((s) => rolloutRow(s, data.active_version)));
    labelCells(table);
    $("#rollout-problem").textContent = "";
    fillStores(data.stores);
  } catch (error) {
    $("#rollout-problem").textContent = problemsText(error);
  }
}

async function loadRules() {
  const rules = await api("GET", "/api/inventory/rules");
  $("[data-testid=rules-version]").textContent = `v${rules.version} · ${rules.name}`;
  $("[data-testid=rules-yaml]").textContent = rules.yaml;
  const draft = $("[data-testid=rules-draft]");
  if (!draft.value) draft.value = rules.yaml.replace(/^version: \d+$/m, `version: ${rules.version + 1}`);
}

function simulationText(report) {
  const changes = (report && report.marketplaces) || [];
  const summary = !changes.length ? "Nothing offered changes." :
    changes.map((m) => `${m.marketplace}: ${m.units_before} → ${m.units_after} units ` +
      `(${m.raised} SKUs raised, ${m.lowered} lowered)`).join("; ");
  // allowed, but probably not meant: a category no SKU has, SKUs no category rule covers
  const warnings = ((report && report.warnings) || []).map((w) => `${w.field}: ${w.message}`);
  return warnings.length ? `${summary} Warnings: ${warnings.join("; ")}` : summary;
}

async function checkDraft() {
  state.checked = null;
  $("[data-testid=rules-publish]").disabled = true;
  const yaml = $("[data-testid=rules-draft]").value;
  try {
    const answer = await api("POST", "/api/inventory/rules/draft", { yaml, stock: [] });
    if (!answer.valid) {
      $("[data-testid=rules-check]").textContent =
        answer.problems.map((p) => `${p.field || "document"}: ${p.message}`).join("; ");
      return;
    }
    state.checked = yaml;
    $("[data-testid=rules-check]").textContent = `Valid. ${simulationText(answer.simulation)}`;
    $("[data-testid=rules-publish]").disabled = !state.canPublish;
  } catch (error) {
    $("[data-testid=rules-check]").textContent = problemsText(error);
  }
}

async function publishDraft() {
  if (state.checked === null) return;
  const reason = $("[data-testid=rules-reason]").value.trim() || null;
  try {
    const done = await api("POST", "/api/inventory/rules", { yaml: state.checked, reason });
    toast(`Allocation rules v${done.version} published; the stores get them in their config.`);
    state.checked = null;
    $("[data-testid=rules-publish]").disabled = true;
    $("[data-testid=rules-check]").textContent = "";
    $("[data-testid=rules-draft]").value = "";
    await loadRules();
    await loadRollout();
  } catch (error) {
    $("[data-testid=rules-check]").textContent = problemsText(error);
  }
}

// ---- store records ------------------------------------------------------------------------

function fillStores(list) {
  const select = $("[data-testid=record-store]");
  const known = [...select.options].map((o) => o.value).join();
  if (known === list.map((s) => s.store_id).join()) return;
  const chosen = select.value;
  select.replaceChildren(...list.map((s) => el("option", { value: s.store_id }, s.store_name || s.store_id)));
  if (chosen) select.value = chosen;
  if (!state.record && list.length) loadRecord();
}

async function loadRecord() {
  const store = $("[data-testid=record-store]").value;
  if (!store) return;
  try {
    const record = await api("GET", `/api/stores/${encodeURIComponent(store)}/record`);
    state.record = record;
    const f = $("#record-form").elements;
    const a = record.address || {};
    const m = record.manager || {};
    f.street.value = a.street || ""; f.postal_code.value = a.postal_code || "";
    f.city.value = a.city || ""; f.country.value = a.country || "";
    f.manager_name.value = m.name || ""; f.manager_contact.value = m.contact || "";
    f.time_zone.value = record.time_zone || "";
    for (const c of ["ship_from_store", "pickup", "returns"]) f[c].checked = Boolean(record.capabilities[c]);
    f.hours.value = JSON.stringify({ hours: record.hours, exceptions: record.exceptions }, null, 1);
    $("[data-testid=record-open]").textContent = record.open_now === null ? ""
      : record.open_now ? "Open now." : "Closed now.";
    $("#record-problem").textContent = "";
  } catch (error) {
    $("#record-problem").textContent = problemsText(error);
  }
}

async function saveRecord(event) {
  event.preventDefault();
  const store = $("[data-testid=record-store]").value;
  const f = $("#record-form").elements;
  const text = (name) => f[name].value.trim();
  let times;
  try { times = JSON.parse(f.hours.value || "{}"); } catch { $("#record-problem").textContent = "hours: not valid JSON"; return; }
  const address = [text("street"), text("postal_code"), text("city"), text("country")].some(Boolean)
    ? { street: text("street"), postal_code: text("postal_code"), city: text("city"), country: text("country") } : null;
  const manager = text("manager_name") || text("manager_contact")
    ? { name: text("manager_name"), contact: text("manager_contact") } : null;
  const body = { address, coordinates: state.record ? state.record.coordinates : null, manager,
                 time_zone: text("time_zone") || null, hours: times.hours || {},
                 exceptions: times.exceptions || [],
                 capabilities: { ship_from_store: f.ship_from_store.checked, pickup: f.pickup.checked,
                                 returns: f.returns.checked } };
  try {
    await api("PUT", `/api/stores/${encodeURIComponent(store)}/record`, body);
    toast(`Record of ${store} saved.`);
    await loadRecord();
  } catch (error) {
    $("#record-problem").textContent = problemsText(error);
  }
}

// ---- wiring -------------------------------------------------------------------------------

/** Show or hide the view; while shown the rollout reloads itself. */
export function showInventory(on) {
  state.shown = on;
  clearInterval(state.timer);
  state.timer = null;
  if (!on) return;
  loadRules().catch((e) => toast(e.message, true));
  loadRollout();
  state.timer = setInterval(loadRollout, POLL_MS);
}

/** Wire the draft and the record form; ``canPublish``: the caller may publish rules. */
export function wireInventory(canPublish) {
  state.canPublish = canPublish;
  $("[data-testid=rules-edit]").hidden = !canPublish;
  $("[data-testid=rules-check-go]").addEventListener("click", checkDraft);
  $("[data-testid=rules-publish]").addEventListener("click", publishDraft);
  $("[data-testid=rules-draft]").addEventListener("input", () => {
    state.checked = null;
    $("[data-testid=rules-publish]").disabled = true;
  });
  $("[data-testid=record-store]").addEventListener("change", loadRecord);
  $("#record-form").addEventListener("submit", saveRecord);
}
