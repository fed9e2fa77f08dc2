// ACORN counter page, staff part: PIN sign-in on a keypad, who is signed in, sign-out, and the
// store manager's "approve offline" for a POS refund while the hub link is down.
// Who records, inspects and disposes is the signed-in member of staff: the agent stamps it from
// the session, the page sends no name. A store without staff PINs (no sign-in) asks once per
// browser session for a name (sessionStorage) and sends it with each step.
// An ES module: helpers from common.js; what it needs of the counter (open it, close it, read the
// items, record offline) counter.js hands to setupStaff.
// The PIN lives only in this script until it is sent; it is never put into an input or storage.
import { $, api, label, linesTotal, minorOf, money, onUnauthorized, state, t } from "./common.js";

const MAX_PIN = 8;
const NAME_KEY = "acorn.counter.name";
let pin = "";
let counter = { enter() {}, leave() {}, readItems: () => [], recordOffline() {} };

function renderPin() {
  const dots = $("#pin-dots");
  dots.dataset.length = String(pin.length);
  dots.textContent = "•".repeat(pin.length);
}

function pressKey(key) {
  if (key === "clear") pin = "";
  else if (key === "back") pin = pin.slice(0, -1);
  else if (/^[0-9]$/.test(key) && pin.length < MAX_PIN) pin += key;
  renderPin();
}

function signInError(message) {
  const box = $("#signin-error");
  box.hidden = !message;
  box.textContent = message || "";
}

function showSignIn() {
  counter.leave();
  $("#counter").hidden = true;
  pin = "";
  renderPin();
  $("#signin").hidden = false;
  $("#signin-staff").focus();
}

// The name to send as recorded_by / inspected_by / decided_by: none when signed in (the agent
// stamps the session's staff id), else the name given once for this browser session.
export function actingAs() {
  if (state.session && state.session.signed_in) return null;
  return sessionStorage.getItem(NAME_KEY) || null;
}

// The header's "who": the signed-in member of staff with their role, or the name given once.
function renderWho() {
  const session = state.session;
  const signedIn = Boolean(session && session.signed_in);
  const given = signedIn ? null : sessionStorage.getItem(NAME_KEY);
  const name = $("#staff-name");
  name.hidden = !signedIn && !given;
  name.textContent = signedIn ? `${session.staff_id} (${label("role", session.role)})` : given || "";
  name.dataset.role = signedIn ? session.role : "";
  $("#sign-out").hidden = !signedIn;
  $("#change-name").hidden = signedIn || !given;
  const asking = !signedIn && !given && Boolean(session) && !session.signin_required;
  $("#name-panel").hidden = !asking;
}

function onName(event) {
  event.preventDefault();
  const name = $("#name-input").value.trim();
  if (!name) return;
  sessionStorage.setItem(NAME_KEY, name);
  $("#name-input").value = "";
  renderWho();
  $("#scan-input").focus();
}

function changeName() {
  sessionStorage.removeItem(NAME_KEY);
  renderWho();
  $("#name-input").focus();
}

// Who is signed in: the header, the sign-in screen, the one-time name (no sign-in).
function applySession(session) {
  state.session = session;
  const signedIn = Boolean(session && session.signed_in);
  if (signedIn) sessionStorage.removeItem(NAME_KEY);
  renderWho();
  if (session && session.signin_required && !signedIn) { showSignIn(); return; }
  $("#signin").hidden = true;
  counter.enter();
  loadConfig();
}

export async function refreshSession() {
  try { applySession(await api("GET", "/api/session")); }
  catch (error) { /* agent down: the header says so */ }
}

async function loadConfig() {
  try { state.config = await api("GET", "/api/config"); }
  catch (error) { state.config = null; }
  updateOfflineButton();
}

async function onSignIn(event) {
  event.preventDefault();
  const staffId = $("#signin-staff").value.trim();
  if (!staffId || pin.length < 4) { signInError(t("signin_incomplete")); return; }
  signInError(null);
  try {
    const session = await api("POST", "/api/session", { staff_id: staffId, pin });
    pin = "";
    renderPin();
    applySession(session);
  } catch (error) {
    pin = "";
    renderPin();
    signInError(error.status === 429 ? error.message.replace(/^staff_id: /, "")
      : t("signin_wrong"));
  }
}

async function signOut() {
  try { await api("DELETE", "/api/session"); } catch (error) { /* signed out here anyway */ }
  applySession({ signed_in: false, signin_required: Boolean(state.health && state.health.signin_required) });
}

// A 401 from any call: the session ended (expired, signed out elsewhere, staff removed).
function onSignedOut() {
  if (state.session && state.session.signed_in) {
    applySession({ signed_in: false, signin_required: true });
  } else if (state.open && state.health && state.health.signin_required) {
    showSignIn();
  }
}

// Each health read: a config may have arrived (now a sign-in is needed) or the link changed.
export function staffOnHealth(health) {
  const signedIn = Boolean(state.session && state.session.signed_in);
  if (signedIn && Date.parse(state.session.expires_at) <= Date.parse(health.now)) {
    onSignedOut(); // the session ran out while the page sat idle
    return;
  }
  const known = state.session && state.session.signin_required;
  if (state.session && !signedIn && Boolean(health.signin_required) !== Boolean(known)) {
    refreshSession();
  }
  if (state.config && health.config_version !== state.config.version && state.open) loadConfig();
  updateOfflineButton();
}

// --- approve offline: a store manager, the hub away, a POS sale within the store's limit ------

function offlineAllowed() {
  const session = state.session;
  const limit = state.config && state.config.offline_refund_limit;
  const form = $("#return-form");
  if (!session || session.role !== "store_manager" || !limit) return null;
  if (!state.health || state.health.broker_connected) return null;
  if (form.elements.channel.value !== "pos" || !form.elements.request_refund.checked) return null;
  const total = linesTotal(counter.readItems());  // exact: BigInt minor units, no floats
  const cap = minorOf(limit);
  if (!total || cap === null || total.currency !== limit.currency) return null;
  return total.units <= cap ? limit : null;
}

export function updateOfflineButton() {
  const limit = offlineAllowed();
  $("#approve-offline").hidden = !limit;
  const note = $("#approve-offline-note");
  note.hidden = !limit;
  note.textContent = limit ? t("offline_note", { limit: money(limit) }) : "";
}

// Wire the sign-in screen and the offline approval; ``hooks`` are the counter's own parts.
export function setupStaff(hooks) {
  counter = hooks;
  onUnauthorized(onSignedOut);
  for (const key of document.querySelectorAll("#signin [data-key]")) {
    key.addEventListener("click", () => pressKey(key.dataset.key));
  }
  document.addEventListener("keydown", (event) => {
    if ($("#signin").hidden || event.target === $("#signin-staff")) return;
    if (/^[0-9]$/.test(event.key)) pressKey(event.key);
    else if (event.key === "Backspace") pressKey("back");
  });
  $("#signin-form").addEventListener("submit", onSignIn);
  $("#sign-out").addEventListener("click", signOut);
  $("#name-form").addEventListener("submit", onName);
  $("#change-name").addEventListener("click", changeName);
  $("#return-form").addEventListener("input", updateOfflineButton);
  $("#return-form").addEventListener("change", updateOfflineButton);
  $("#approve-offline").addEventListener("click", (event) => counter.recordOffline(event));
}
