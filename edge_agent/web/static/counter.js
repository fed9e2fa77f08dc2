// ACORN counter page: scan, record, inspect, dispose, watch the refund decision and payment arrive.
// Talks only to the local agent's API (works with the internet down); no build step, no CDN: an
// ES module importing the shared helpers (common.js), the once-only writes (writes.js) and the
// staff sign-in (staff.js).
// Live updates (scanner, printer, hub link, decisions, payment statuses, acks, store config) are
// pushed over server-sent events from /api/events/stream: the open return is fetched again when
// an event concerns it, never on a timer. Only while that stream is down does the page poll
// (every POLL_MS); the EventSource reconnects by itself after a dropped stream, and the page opens
// a new one when the browser gave up (the agent was unreachable).
// Once the store's config names staff, the counter opens only after a sign-in (staff.js).
// Words: every coded value (state, grade, disposition, channel, refund status, payment, ...) is
// shown by its label in the store's language (``label``, from GET /api/options), and the refund's
// reasons are the staff sentences the agent words (``refund.staff_reasons``); the policy's full
// sentences stay on the HQ desk. The page's own words (headings, buttons, messages) are in the
// store's language too: ``t("key")`` and the HTML's data-i18n (common.js, page_words.py).
import {
  $, api, applyWords, el, label, labelCells, localDate, localTime, money, saleDayToUtc, showError,
  state, storeToday, t, zone,
} from "./common.js";
import {
  actingAs, refreshSession, setupStaff, staffOnHealth, updateOfflineButton,
} from "./staff.js";
import { showPhotos } from "./photos.js";
import { resumePending, writeOnce } from "./writes.js";

const POLL_MS = 2000;  // while the live stream is down
// While it is up, health is read again on every event that changes it, and also every
// HEALTH_LIVE_MS: the store's own problems (found by the agent's periodic integrity check) and
// the end of a staff session are announced by no event. Nothing else is polled while live.
const HEALTH_LIVE_MS = 30000;
const RECONNECT_MS = 3000;  // a new EventSource after the browser gave up on the old one
const timers = { poll: null, reconnect: null };

// An item's packaging in words: opened, sealed, or not checked (null).
function packaging(opened) {
  return label("packaging", opened === true ? "opened" : opened === false ? "sealed" : "unknown");
}

// --- the form choices, from GET /api/options ---------------------------------------------------

async function loadOptions() {
  state.options = await api("GET", "/api/options");
  const o = state.options;
  for (const [name, list] of [["channels", o.channels], ["refund_methods", o.refund_methods],
    ["grades", o.grades], ["dispositions", o.dispositions]]) {
    for (const select of document.querySelectorAll(`select[data-options=${name}]`)) {
      select.replaceChildren(...list.map((option) => {
        const node = el("option", option.label, { value: option.value });
        node.defaultSelected = option.selected;
        return node;
      }));
    }
  }
  for (const [id, words] of [["categories", o.categories], ["reasons", o.reasons]]) {
    document.getElementById(id).replaceChildren(...words.map((word) => el("option", null, { value: word })));
  }
  $("#compliance-tags").replaceChildren(...o.compliance_tags.map((tag) => {
    const label = el("label", null, { class: "check" });
    label.append(el("input", null, { type: "checkbox", name: "tag", value: tag.value,
      "data-testid": `tag-${tag.value}` }), ` ${tag.label}`);
    return label;
  }));
}

// --- header: link state, outbox depth, store clock -------------------------------------------

async function refreshHealth() {
  try {
    state.health = await api("GET", "/api/health");
    const h = state.health;
    $("#store-name").textContent = h.store_name;
    $("#node-id").textContent = `${h.store_id} / ${h.node_id}`;
    renderBroker(h.broker_connected);
    renderOutbox(h.outbox_pending, h.last_acked_seq);
    staffOnHealth(h);
    renderStoreAlert(h);
    if (!state.options) loadOptions().catch(() => {});  // the agent was away at the start
  } catch (error) {
    $("#broker-state").dataset.state = "agent-down";
    $("#broker-state").textContent = t("agent_down");
  }
}

// Figures arrive two ways (health reads and pushed "outbox" events) and a read that started
// before an ack may answer after its event: the hub's last acked seq only grows, so a figure
// older than one already shown is dropped instead of putting back what was sent.
let ackedShown = -1;

function renderOutbox(pending, lastAcked) {
  if (lastAcked < ackedShown) return;
  ackedShown = lastAcked;
  const outbox = $("#outbox");
  outbox.dataset.pending = String(pending);
  outbox.textContent = t("to_send", { n: pending });
}

function renderBroker(connected) {
  const pill = $("#broker-state");
  pill.dataset.state = connected ? "connected" : "offline";
  pill.textContent = t(connected ? "hub_link_connected" : "hub_link_offline");
  pill.className = `pill ${connected ? "pill-on" : "pill-off"}`;
}

// A plain banner while the store's data is in trouble (disk full, damaged file quarantined, …):
// what happened and what to do, from health's problems.
function renderStoreAlert(h) {
  const banner = $("#store-alert");
  const problems = (h && h.problems) || [];
  banner.hidden = problems.length === 0;
  banner.dataset.codes = problems.map((p) => p.code).join(" ");
  banner.textContent = problems.map((p) => `${p.message} — ${p.action}`).join("\n");
}

// --- devices: scanner and printer state, live events -------------------------------------------

// A device's state in words ("printer_paper_out"); a state the page does not know, as it is.
const PRINTER_STATES = ["ok", "paper_low", "paper_out", "offline", "unknown", "error", "none"];
const SCANNER_STATES = ["connected", "disconnected", "error", "starting", "stopped", "none"];
const printerText = (s) => (PRINTER_STATES.includes(s) ? t(`printer_${s}`) : s);
const scannerText = (s) => (SCANNER_STATES.includes(s) ? t(`scanner_${s}`) : s);

function renderScanner(scanner) {
  const pill = $("#scanner-state");
  const current = scanner.configured === false ? "none" : scanner.state;
  pill.dataset.state = current;
  pill.textContent = t("scanner", { state: scannerText(current) });
  pill.title = scanner.last_error || scanner.url || "";
  pill.className = `pill ${current === "connected" ? "pill-on" : current === "none" ? "" : "pill-off"}`;
}

function renderPrinter(printer) {
  const pill = $("#printer-state");
  const current = printer.configured === false ? "none" : printer.status;
  pill.dataset.state = current;
  pill.dataset.queued = String(printer.queued || 0);
  const waiting = printer.queued ? t("printer_waiting", { n: printer.queued }) : "";
  pill.textContent = t("printer", { state: printerText(current), waiting });
  pill.title = printer.last_error || printer.url || "";
  const bad = ["offline", "paper_out", "error"].includes(current);
  pill.className = `pill ${bad ? "pill-off" : current === "ok" ? "pill-on" : current === "none" ? "" : "pill-warn"}`;
  const note = $("#printer-note");
  note.hidden = !(bad && printer.queued);
  note.textContent = note.hidden ? "" : t("printer_note", { state: printerText(current), n: printer.queued }) +
    (printer.last_error ? ` (${printer.last_error})` : "");
}

async function refreshDevices() {
  try {
    const devices = await api("GET", "/api/devices");
    renderScanner(devices.scanner);
    renderPrinter(devices.printer.printers.length ? devices.printer.printers[0] : devices.printer);
  } catch (error) { /* shown by the header */ }
}

// The live stream is up (true) or down (false): poll only while it is down.
function setLive(up) {
  const changed = up !== state.live || timers.poll === null;
  state.live = up;
  $("#live-state").dataset.state = up ? "live" : "polling";
  $("#live-state").title = t(up ? "live" : "live_down");
  if (!changed) return;  // keep the period: a failed reconnect does not restart it
  clearInterval(timers.poll);
  timers.poll = up ? setInterval(refreshHealth, HEALTH_LIVE_MS) : setInterval(pollAll, POLL_MS);
}

function pollAll() {
  refreshHealth();
  if (!state.open) return;
  refreshDevices();
  refreshRecent();
  refreshReturn();
}

function onLiveScan(data) {
  const message = $("#scan-message");
  const kind = data.code.valid ? data.code.kind : data.code.kind === "invalid" ? "invalid" : "unreadable";
  message.dataset.kind = kind;
  message.textContent = data.message;
  if (data.code.value && data.result) $("#scan-input").value = data.result.code;
  if (data.result) {
    showError(null);
    renderScan(data.result);
  } else {
    const box = $("#scan-result");
    box.replaceChildren();
    box.dataset.match = kind;
  }
}

function concernsCurrent(data) {
  return Boolean(state.current && state.current.return_id === data.return_id);
}

function onReturnEvent(data) {
  if (concernsCurrent(data)) refreshReturn();
  refreshRecent();
  refreshHealth();  // the outbox grew
}

function onRefundEvent(data) {
  if (concernsCurrent(data)) refreshReturn();
  refreshRecent();
}

// The hub acked events: the open return may now be "received by hub".
function onOutboxEvent(data) {
  renderOutbox(data.pending, data.last_acked_seq);
  if (state.health && data.last_acked_seq >= state.health.last_acked_seq) {
    state.health.outbox_pending = data.pending;
    state.health.last_acked_seq = data.last_acked_seq;
  }
  const ret = state.current;
  if (ret && (!ret.sent_to_hub || (ret.refund && !ret.refund.sent_to_hub))) refreshReturn();
}

function onBrokerEvent(data) {
  renderBroker(data.connected);
  if (state.health) state.health.broker_connected = data.connected;
  if (state.current) renderReturn(state.current);  // "sending to hub" or "waiting for the link"
  updateOfflineButton();
  refreshHealth();
}

function startLive() {
  clearTimeout(timers.reconnect);
  if (!window.EventSource) { setLive(false); return; }
  const source = new EventSource("/api/events/stream");
  state.source = source;
  const on = (kind, handler) => source.addEventListener(kind, (e) => handler(JSON.parse(e.data)));
  source.addEventListener("open", () => {
    setLive(true);
    // what changed while the stream was down was announced to nobody: read it once
    refreshHealth();
    refreshRecent();
    refreshReturn();
  });
  source.addEventListener("error", () => {
    if (state.source !== source) return;
    setLive(false);
    if (source.readyState === EventSource.CLOSED) {  // the browser gave up: try again later
      state.source = null;
      timers.reconnect = setTimeout(() => { if (state.open && !state.source) startLive(); }, RECONNECT_MS);
    }
  });
  on("scan", onLiveScan);
  on("return", onReturnEvent);
  on("refund", onRefundEvent);
  on("outbox", onOutboxEvent);
  on("config", () => refreshHealth());
  on("printer", (p) => { if (p.role === "receipt") renderPrinter(p); });
  on("scanner", renderScanner);
  on("broker", onBrokerEvent);
  // stock.js keeps the count tasks: relay what concerns them (a new task, a count booked)
  for (const kind of ["count_task", "stock", "transfer"]) {
    on(kind, (data) => document.dispatchEvent(new CustomEvent(`acorn:${kind}`, { detail: data })));
  }
  source.addEventListener("open", () => document.dispatchEvent(new CustomEvent("acorn:count_task")));
  source.addEventListener("open", () => document.dispatchEvent(new CustomEvent("acorn:transfer")));
}

// The counter opens when no sign-in is needed or someone signed in, and closes at sign-out.
function enterCounter() {
  if (state.open) return;
  state.open = true;
  $("#counter").hidden = false;
  refreshDevices();
  refreshRecent();
  startLive();
}

function leaveCounter() {
  if (!state.open) return;
  state.open = false;
  clearTimeout(timers.reconnect);
  if (state.source) state.source.close();
  state.source = null;
  setLive(false);
  nextCustomer();
  $("#recent").replaceChildren();
  $("#counter").hidden = true;
}

function tickClock() {
  $("#clock").textContent = `${localTime(new Date().toISOString(), false)} (${zone()})`;
}

// --- scan -------------------------------------------------------------------------------------

async function onScan(event) {
  event.preventDefault();
  const code = $("#scan-input").value.trim();
  if (!code) return;
  showError(null);
  $("#scan-message").textContent = "";
  $("#scan-message").dataset.kind = "";
  try {
    renderScan(await api("POST", "/api/scans", { code }));
  } catch (error) { showError(error); }
}

function renderScan(result) {
  const box = $("#scan-result");
  box.replaceChildren();
  box.dataset.match = result.match;
  if (result.match === "return") {
    box.append(el("p", t("already_recorded", { n: result.returns.length, code: result.code })));
    for (const ret of result.returns) {
      const open = el("button", t("open_return", { id: ret.return_id, state: label("return_state", ret.state) }),
        { type: "button", "data-testid": "open-return" });
      open.addEventListener("click", () => showReturn(ret));
      box.append(open);
    }
  } else if (result.match === "expected_return") {
    const exp = result.expected_return;
    state.expected = exp;
    box.append(el("p", t("expected_summary", { rma: exp.rma_id, order: exp.order_id }) +
      (exp.customer_hint ? ` · ${exp.customer_hint}` : ""), { "data-testid": "expected-summary" }));
    const list = el("ul", null, { "data-testid": "expected-items" });
    for (const item of exp.items) {
      const facts = [item.category, typeof item.opened === "boolean" && packaging(item.opened)]
        .filter(Boolean).join(", ");
      list.append(el("li", `${item.quantity} × ${item.sku} ${item.description || ""} @ ${money(item.unit_price)}` +
        (facts ? ` (${facts})` : "")));
    }
    box.append(list, el("p", t("expected_total", { total: money(exp.total) })));
    const use = el("button", t("use_expected"), { type: "button", "data-testid": "use-expected" });
    use.addEventListener("click", () => openRecordForm(exp));
    box.append(use);
  } else {
    box.append(el("p", t("no_match", { code: result.code })));
    const manual = el("button", t("record_manually"), { type: "button", "data-testid": "record-manually" });
    manual.addEventListener("click", () => openRecordForm(null, result.code));
    box.append(manual);
  }
}

// --- record a return --------------------------------------------------------------------------

function addItemRow(item) {
  const row = $("#item-row").content.firstElementChild.cloneNode(true);
  const currency = (state.health && state.health.currency) || "USD";
  row.querySelector("[name=sku]").value = item ? item.sku : "";
  row.querySelector("[name=quantity]").value = item ? item.quantity : 1;
  row.querySelector("[name=amount]").value = item ? item.unit_price.amount : "";
  row.querySelector("[name=currency]").value = (item && item.unit_price.currency) || currency;
  row.querySelector("[name=description]").value = (item && item.description) || "";
  row.querySelector("[name=category]").value = (item && item.category) || "";
  // opened: ticked, unticked, or "not checked" (indeterminate, sent as null) until someone taps it
  const opened = row.querySelector("[name=opened]");
  const known = item && typeof item.opened === "boolean";
  opened.checked = Boolean(known && item.opened);
  opened.indeterminate = !known;
  row.querySelector(".remove").addEventListener("click", () => row.remove());
  $("#items").append(row);
}

function openRecordForm(expected, code) {
  const form = $("#return-form");
  form.reset();
  $("#items").replaceChildren();
  state.expected = expected;
  form.elements.rma_id.value = expected ? expected.rma_id : "";
  form.elements.order_id.value = expected ? expected.order_id : "";
  form.elements.sold_on.max = storeToday();
  if (expected) {
    form.elements.channel.value = expected.channel;
    expected.items.forEach(addItemRow);
  } else {
    addItemRow(code ? { sku: code, quantity: 1, unit_price: { amount: "", currency: "" } } : null);
  }
  $("#record-panel").hidden = false;
  form.elements.reason.focus();
  updateOfflineButton();
}

function readItems() {
  return [...document.querySelectorAll("#items .item-row")].map((row) => {
    const value = (name) => row.querySelector(`[name=${name}]`).value.trim();
    const item = {
      sku: value("sku"),
      quantity: Number.parseInt(value("quantity"), 10),
      unit_price: { amount: value("amount"), currency: value("currency").toUpperCase() },
    };
    if (value("description")) item.description = value("description");
    if (value("category")) item.category = value("category").toLowerCase();
    const opened = row.querySelector("[name=opened]");
    if (!opened.indeterminate) item.opened = opened.checked;
    return item;
  });
}

async function onRecord(event, approveOffline = false) {
  event.preventDefault();
  const form = $("#return-form");
  if (!form.reportValidity()) return;
  const f = form.elements;
  const body = {
    channel: f.channel.value,
    items: readItems(),
    reason: f.reason.value.trim(),
    request_refund: f.request_refund.checked,
    scanned_codes: $("#scan-input").value.trim() ? [$("#scan-input").value.trim()] : [],
  };
  if (body.request_refund) body.refund_method = f.refund_method.value;
  if (f.sold_on.value) body.sold_at = saleDayToUtc(f.sold_on.value);
  if (approveOffline) body.approve_offline = true;
  for (const name of ["rma_id", "order_id"]) {
    if (f[name].value.trim()) body[name] = f[name].value.trim();
  }
  if (actingAs()) body.staff_id = actingAs();  // signed in: the agent takes it from the session
  showError(null);
  try {
    const buttons = [$("#return-form [type=submit]"), $("#approve-offline")];
    const ret = await writeOnce("return", "/api/returns", body, buttons);
    if (ret) recorded(ret);
  } catch (error) { showError(error); }
}

function recorded(ret) {
  $("#record-panel").hidden = true;
  $("#scan-result").replaceChildren();
  showReturn(ret);
  $("#return-card").focus();  // the form is gone: keyboard and screen reader go to the new return
  refreshRecent();
  refreshHealth();
}

// A write the page was sending when it was reloaded has been answered: show it as done.
function showFinished(kind, data) {
  if (kind === "return") recorded(data);
  else if (kind === "receipt") receiptQueued(data);
  else { showReturn(data); refreshRecent(); }
}

// --- the return card: QC, disposition, refund -------------------------------------------------

function refundText(ret) {
  const refund = ret.refund;
  if (!refund) return t("no_refund");
  const amount = money(refund.amount);
  if (refund.status === "awaiting_inspection") {
    return ret.inspection ? t("inspected_waiting", { amount })
      : t("inspect_to_release", { status: label("refund_status", "awaiting_inspection"), amount });
  }
  if (refund.status === "approved_offline") {
    return t("offline_awaiting", { status: label("refund_status", "approved_offline"),
      who: refund.approved_offline_by, amount });
  }
  if (refund.status === "requested") {
    if (!refund.sent_to_hub) {
      const online = state.health && state.health.broker_connected;
      return t(online ? "sending" : "waiting_link", { amount });
    }
    return t("waiting_decision", { amount });
  }
  const d = refund.decision;
  const level = d && d.approval_level ? t("level", { n: d.approval_level }) : "";
  const offline = refund.approved_offline_by ? t("approved_offline_by", { who: refund.approved_offline_by }) : "";
  return t("decided", { status: label("refund_status", refund.status), level,
    amount: money(d ? d.amount : refund.amount), offline });
}

// How the customer is paid back, in words (nothing when the return asked no refund method).
function methodText(refund) {
  return refund && refund.refund_method
    ? t("paid_back_by_method", { method: label("refund_method", refund.refund_method) }) : "";
}

// Where the refund's money is, in plain words (null: the hub has not said yet). Today the hub
// sends the money of Amazon refunds: submitted and confirmed say so.
function paymentText(ret) {
  const payment = ret.refund && ret.refund.payment;
  if (!payment) return null;
  const said = label("payment", payment.status);
  const amazon = ret.channel.startsWith("amazon");
  if (amazon && ["submitted", "confirmed"].includes(payment.status)) return t("payment_amazon", { status: said });
  if (payment.status === "failed") {
    const why = payment.detail ? `: ${payment.detail}` : "";
    return t("payment_failed", { status: said, why });
  }
  return said;
}

function renderPayment(ret) {
  const line = $("#refund-payment");
  const text = paymentText(ret);
  line.hidden = text === null;
  line.textContent = text || "";
  line.dataset.payment = text === null ? "" : ret.refund.payment.status;
  line.title = text === null ? "" : localTime(ret.refund.payment.at);
}

function renderReturn(ret) {
  state.current = ret;
  $("#return-card").hidden = false;
  $("#return-id").textContent = ret.return_id;
  $("#return-code").textContent = ret.return_code;
  const badge = $("#return-state");
  badge.textContent = label("return_state", ret.state);
  badge.dataset.state = ret.state;
  $("#return-meta").textContent = [
    label("channel", ret.channel),
    ret.rma_id && t("meta_rma", { rma: ret.rma_id }), ret.order_id && t("meta_order", { order: ret.order_id }),
    ret.sold_at && t("meta_sold", { date: localDate(ret.sold_at) }),
    t("meta_taken_in", { time: localTime(ret.received_at) }), ret.reason,
  ].filter(Boolean).join(" · ");
  const mismatch = $("#return-mismatch");
  mismatch.hidden = !ret.mismatch;
  mismatch.textContent = ret.mismatch ? t("mismatch", { reasons: ret.mismatch_reasons.join("; ") }) : "";
  $("#return-lines").replaceChildren(...ret.items.map((item) => {
    const tr = el("tr");
    tr.append(el("td", item.sku), el("td", String(item.quantity)), el("td", money(item.unit_price)),
      el("td", item.category || "—", { "data-testid": "line-category" }),
      el("td", packaging(item.opened), { "data-testid": "line-opened", "data-opened": String(item.opened) }));
    return tr;
  }));
  labelCells($("#return-card table.items"));
  $("#return-total").textContent = money(ret.total);
  $("#return-sync").textContent = t(ret.sent_to_hub ? "synced" : "not_synced");
  const status = $("#refund-status");
  status.textContent = refundText(ret);
  status.dataset.status = ret.refund ? ret.refund.status : "none";
  renderPayment(ret);
  $("#refund-method").textContent = methodText(ret.refund);
  const reasons = ret.refund ? ret.refund.staff_reasons : [];
  $("#refund-reasons").replaceChildren(...reasons.map((r) => el("li", r)));
  renderForms(ret);
  showPhotos(ret);
}

function renderForms(ret) {
  const canInspect = ret.allowed_actions.includes("inspect");
  const canDispose = ret.allowed_actions.includes("dispose");
  $("#inspection-fields").disabled = !canInspect;
  $("#inspection-fields").hidden = !canInspect;
  const idone = $("#inspection-done");
  idone.hidden = !ret.inspection;
  const tags = ret.inspection ? ret.inspection.compliance_tags.map((t) => label("compliance_tag", t)) : [];
  const by = (who) => (who ? t("by", { who }) : "");
  idone.textContent = ret.inspection ? t("inspected", { grade: label("grade", ret.inspection.grade) }) +
    (tags.length ? ` · ${tags.join(", ")}` : "") +
    ` · ${localTime(ret.inspection.inspected_at)}${by(ret.inspection.inspected_by)}` : "";
  $("#disposition-fields").disabled = !canDispose;
  $("#disposition-fields").hidden = Boolean(ret.disposition);
  $("#disposition-hint").hidden = canDispose || Boolean(ret.disposition);
  const ddone = $("#disposition-done");
  ddone.hidden = !ret.disposition;
  ddone.textContent = ret.disposition ? t("disposed", { disposition: label("disposition", ret.disposition.disposition) }) +
    (ret.disposition.location ? ` → ${ret.disposition.location}` : "") + by(ret.disposition.decided_by) : "";
}

function showReturn(ret) {
  renderReturn(ret);
  $("#inspection-form").reset();
  $("#disposition-form").reset();
  // the hub's ack may have been announced while this answer was on its way (no return was open
  // then, so nobody read it again): read it once more while it is not at the hub yet
  if (!ret.sent_to_hub || (ret.refund && !ret.refund.sent_to_hub)) refreshReturn();
}

let returnAsked = 0;  // the newest read of the open return; an older answer arriving later is dropped

// Read the open return again (an event concerns it, or the stream is down and the page polls).
async function refreshReturn() {
  const id = state.current && state.current.return_id;
  if (!id) return;
  const asked = ++returnAsked;
  try {
    const ret = await api("GET", `/api/returns/${encodeURIComponent(id)}`);
    if (asked !== returnAsked) return;
    if (state.current && state.current.return_id === id) renderReturn(ret);
  } catch (error) { /* offline agent: keep the last view, the header says so */ }
}

async function onInspect(event) {
  event.preventDefault();
  const f = event.target.elements;
  const body = {
    grade: f.grade.value,
    notes: f.notes.value.trim(),
    compliance_tags: [...event.target.querySelectorAll("[name=tag]:checked")].map((c) => c.value),
  };
  if (f.reason.value.trim()) body.reason = f.reason.value.trim();
  if (actingAs()) body.inspected_by = actingAs();
  await act("inspection", `/api/returns/${state.current.return_id}/inspection`, body, event.target);
}

async function onDispose(event) {
  event.preventDefault();
  const f = event.target.elements;
  const body = { disposition: f.disposition.value };
  if (f.location.value.trim()) body.location = f.location.value.trim();
  if (actingAs()) body.decided_by = actingAs();
  await act("disposition", `/api/returns/${state.current.return_id}/disposition`, body, event.target);
}

async function reprint() {
  if (!state.current) return;
  showError(null);
  try {
    const path = `/api/returns/${encodeURIComponent(state.current.return_id)}/receipt`;
    const job = await writeOnce("receipt", path, undefined, [$("#reprint")]);
    if (job) receiptQueued(job);
  } catch (error) { showError(error); }
}

function receiptQueued(job) {
  $("#scan-message").dataset.kind = "printing";
  $("#scan-message").textContent = t("receipt_queued", { id: job.return_id });
}

async function act(kind, path, body, form) {
  showError(null);
  try {
    const ret = await writeOnce(kind, path, body, [form.querySelector("[type=submit]")]);
    if (!ret) return;
    renderReturn(ret);
    refreshRecent();
    refreshHealth();
  } catch (error) { showError(error); }
}

// --- recent returns ---------------------------------------------------------------------------

async function refreshRecent() {
  try {
    const page = await api("GET", "/api/returns?limit=10");
    $("#recent").replaceChildren(...page.items.map((ret) => {
      const li = el("li");
      const open = el("button", `${ret.return_id} · ${label("return_state", ret.state)} · ${money(ret.total)} · ${localTime(ret.received_at)}`,
        { type: "button", class: "link", "data-testid": "recent-return" });
      open.addEventListener("click", () => showReturn(ret));
      li.append(open);
      return li;
    }));
  } catch (error) { /* shown by the header */ }
}

function nextCustomer() {
  state.current = null;
  state.expected = null;
  $("#return-card").hidden = true;
  $("#record-panel").hidden = true;
  $("#scan-result").replaceChildren();
  $("#scan-result").dataset.match = "";
  $("#scan-message").textContent = "";
  $("#scan-message").dataset.kind = "";
  $("#scan-input").value = "";
  $("#scan-input").focus();
  showError(null);
}

document.addEventListener("DOMContentLoaded", async () => {
  applyWords(document);
  applyWords($("#item-row").content);
  renderOutbox(0, -1);
  $("#scanner-state").textContent = t("scanner", { state: t("device_unknown") });
  $("#printer-state").textContent = t("printer", { state: t("device_unknown"), waiting: "" });
  $("#scan-form").addEventListener("submit", onScan);
  $("#return-form").addEventListener("submit", onRecord);
  $("#inspection-form").addEventListener("submit", onInspect);
  $("#disposition-form").addEventListener("submit", onDispose);
  $("#add-item").addEventListener("click", () => addItemRow(null));
  $("#next-customer").addEventListener("click", nextCustomer);
  $("#reprint").addEventListener("click", reprint);
  setupStaff({
    enter: enterCounter, leave: leaveCounter, readItems,
    recordOffline: (event) => onRecord(event, true),
  });
  try { await loadOptions(); } catch (error) { showError(new Error(t("options_failed", { error: error.message }))); }
  await refreshHealth();
  tickClock();
  await refreshSession();
  if (state.open) await resumePending(showFinished, showError);
  if (!state.source) setLive(false);  // polling until the live stream opens
  setInterval(tickClock, 1000);
  document.body.dataset.ready = "true";
});
