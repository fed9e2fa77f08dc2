// Writes that happen once (issue 9): each decision (approve, reject, bulk approve, publish) gets
// one Idempotency-Key when the person acts and keeps it until the hub answers. A double click, a
// lost answer retried and a reload that re-sends the pending action (kept in sessionStorage, this
// tab only) all reuse it, and the hub answers the first result instead of deciding twice.
//
// Rules: one action of a kind at a time (a second click while one is on its way does nothing);
// only a lost answer is tried again; an answer from the hub, good or bad, ends the action.

import { api, toast } from "./common.js";

const PENDING_ACTION = "acorn.desk.pending";
const RETRY_MS = [400, 1000, 2000, 4000];
const inFlight = new Set();

function newKey() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));  // no secure context: a v4 UUID by hand
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Start an action {kind, method, path, body, done}; null when one of its kind is on its way. */
export async function writeOnce(action, buttons = []) {
  if (inFlight.has(action.kind)) return null;
  const keyed = { ...action, key: newKey() };
  sessionStorage.setItem(PENDING_ACTION, JSON.stringify(keyed));
  return sendAction(keyed, buttons);
}

// Send an action with its key until the hub answers; if every try is lost the action stays
// pending for the next reload.
async function sendAction(action, buttons = []) {
  inFlight.add(action.kind);
  buttons.forEach((b) => { b.disabled = true; });
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const data = await api(action.method, action.path, action.body,
          { "Idempotency-Key": action.key });
        sessionStorage.removeItem(PENDING_ACTION);
        return data;
      } catch (error) {
        if (error.status !== undefined) { sessionStorage.removeItem(PENDING_ACTION); throw error; }
        if (attempt >= RETRY_MS.length) {
          throw new Error("the hub did not answer; the action is sent again when this page reloads");
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS[attempt]));
      }
    }
  } finally {
    inFlight.delete(action.kind);
    buttons.forEach((b) => { b.disabled = false; });
  }
}

/** After a reload: send the action still pending in this tab, and say how it went. */
export async function resumePending() {
  let action = null;
  try { action = JSON.parse(sessionStorage.getItem(PENDING_ACTION) || "null"); } catch { action = null; }
  if (!action) return;
  try {
    await sendAction(action);
    toast(action.done);
  } catch (error) { toast(error.message, true); }
}
