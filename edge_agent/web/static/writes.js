// Writes that happen once (issue 9): every counter action (record, QC, disposition, reprint)
// gets one Idempotency-Key when the person acts and keeps it until the agent answers, so a double
// click, a network retry and a reload that re-posts all reuse it and the agent answers the first
// result instead of writing again. The pending action and its key live in sessionStorage (this
// tab only); after a reload the page sends it again and shows its result.
// An ES module: counter.js imports writeOnce and resumePending.
import { api, t } from "./common.js";

const PENDING_ACTION = "acorn.counter.pending";
const RETRY_MS = [400, 1000, 2000, 4000]; // a lost answer is tried again, with the same key
const inFlight = new Set();

function newKey() {
  if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  // crypto.randomUUID needs a secure context; a tablet on http://<lan address> may not be one
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function pendingAction() {
  try { return JSON.parse(sessionStorage.getItem(PENDING_ACTION) || "null"); } catch { return null; }
}

// Start an action: null when the same kind of action is still on its way (a second click).
export async function writeOnce(kind, path, body, buttons = []) {
  if (inFlight.has(kind)) return null;
  const action = { kind, path, body, key: newKey() };
  sessionStorage.setItem(PENDING_ACTION, JSON.stringify(action));
  return sendAction(action, buttons);
}

// Send (or send again) an action with its key until the agent answers. An answer of any status
// ends the action; only a lost answer (network error) is retried, and if every retry is lost the
// action stays pending for the next reload.
async function sendAction(action, buttons = []) {
  inFlight.add(action.kind);
  buttons.forEach((button) => { button.disabled = true; });
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        const data = await api("POST", action.path, action.body, { "Idempotency-Key": action.key });
        sessionStorage.removeItem(PENDING_ACTION);
        return data;
      } catch (error) {
        if (error.status !== undefined) { sessionStorage.removeItem(PENDING_ACTION); throw error; }
        if (attempt >= RETRY_MS.length) {
          throw new Error(t("agent_silent"));
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS[attempt]));
      }
    }
  } finally {
    inFlight.delete(action.kind);
    buttons.forEach((button) => { button.disabled = false; });
  }
}

// After a reload: finish the action the page was sending, and show its result (or its error).
export async function resumePending(show, failed) {
  const action = pendingAction();
  if (!action || inFlight.has(action.kind)) return;
  try { show(action.kind, await sendAction(action)); } catch (error) { failed(error); }
}
