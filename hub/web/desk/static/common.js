// The desk app's shared helpers (ES module, no build step): the page's DOM, the hub's JSON API,
// exact money, dates, and the words for the API's values. desk.js, writes.js, policy.js and
// login.js import what they use from here; nothing is shared through globals.
//
// Rules:
// - everything that comes from the server goes into the page as text (el() never parses HTML);
// - api() sends the session's CSRF token with every change, follows a 401 to the sign-in page and
//   turns the hub's error shape {"detail": [{"field", "message"}]} into an Error with .status;
// - money is decimal text ("12.30") and BigInt minor units, never a Number: sums are exact at any
//   size the hub accepts (12 integer digits and more);
// - the words for an API value come from GET /api/options (labels()); a value it does not know is
//   shown as it is.

export const $ = (selector, root = document) => root.querySelector(selector);

/** A new element with attributes (on* attributes become listeners) and text or node children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

/** Text that only screen readers read (e.g. what a short button does). */
export const unseen = (text) => el("span", { class: "sr-only" }, text);

/** Each body cell gets its column's heading (the th's data-label, else its text) as data-label:
 *  a table shown as cards (a tablet upright) keeps its labels, which the CSS shows. */
export function labelCells(table) {
  const heads = [...table.tHead.rows[0].cells].map((th) => th.dataset.label || th.textContent.trim());
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((td, i) => { td.dataset.label = heads[i] || ""; });
  }
}

/** Show a result in the page's live region (#toast): screen readers announce it. */
export function toast(message, bad = false) {
  const box = $("#toast");
  box.className = bad ? "toast bad" : "toast";
  box.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ""; }, 5000);
}

// ---- the hub's JSON API -----------------------------------------------------------------

let csrfToken = "";

/** Remember the session's CSRF token (from GET /api/session) for every later change. */
export function useCsrf(token) { csrfToken = token || ""; }

/** Call the hub; resolve with the JSON answer or reject with Error(message, .status, .detail). */
export async function api(method, path, body, extra = {}) {
  const headers = { "Accept": "application/json", ...extra };
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const answer = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  if (answer.status === 401) { location.href = "/login"; throw new Error("signed out"); }
  const data = answer.status === 204 ? null : await answer.json();
  if (!answer.ok) {
    const first = (data && data.detail && data.detail[0]) || {};
    const error = new Error(first.message || `request failed (${answer.status})`);
    error.detail = data && data.detail;
    error.status = answer.status;
    throw error;
  }
  return data;
}

/** The hub's problems with a request, one "field: message" per problem. */
export function problemsText(error) {
  return (error.detail || []).map((d) => `${d.field || "document"}: ${d.message}`).join("; ")
    || error.message;
}

// ---- exact money --------------------------------------------------------------------------

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

function parts(text) {
  const match = DECIMAL.exec(String(text));
  if (!match) throw new Error(`${text} is not a decimal amount`);
  return { negative: match[1] === "-", whole: match[2], fraction: match[3] || "" };
}

/** Decimal places written in ``text`` ("12.30" has 2). */
export const placesOf = (text) => parts(text).fraction.length;

/** ``text`` as a BigInt count of 10^-places units ("12.3", 2 -> 1230n); refuses lost digits. */
export function toMinor(text, places) {
  const { negative, whole, fraction } = parts(text);
  if (fraction.length > places) throw new Error(`${text} has more than ${places} decimal places`);
  const minor = BigInt(whole + fraction.padEnd(places, "0"));
  return negative ? -minor : minor;
}

/** A BigInt count of 10^-places units as decimal text (1230n, 2 -> "12.30"). */
export function fromMinor(minor, places) {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(places + 1, "0");
  const text = places ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
  return negative ? `-${text}` : text;
}

/** The exact sum of decimal texts, with as many places as the most precise of them. */
export function addAmounts(texts) {
  const places = Math.max(0, ...texts.map(placesOf));
  return fromMinor(texts.reduce((sum, text) => sum + toMinor(text, places), 0n), places);
}

/** The exact sum of {amount, currency} values; null when there are none or currencies mix. */
export function sumMoney(values) {
  const currencies = new Set(values.map((m) => m && m.currency));
  if (!values.length || currencies.size !== 1 || currencies.has(null) || currencies.has(undefined)) {
    return null;
  }
  return { amount: addAmounts(values.map((m) => m.amount)), currency: values[0].currency };
}

/** Decimal text with its thousands grouped ("12345678901.23" -> "12,345,678,901.23"). */
export function grouped(text) {
  const { negative, whole, fraction } = parts(text);
  const digits = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${digits}${fraction ? `.${fraction}` : ""}`;
}

/** An {amount, currency} for people ("1,234.50 USD"), or a dash for none. */
export const money = (m) => (m ? `${grouped(m.amount)} ${m.currency}` : "–");

// ---- dates and durations ------------------------------------------------------------------

/** A UTC timestamp from the API in the reader's local time. */
export const when = (text) => new Date(text).toLocaleString();

/** An age in hours, in minutes, hours or days. */
export const hours = (h) => (h < 1 ? `${Math.round(h * 60)} min`
  : h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`);

/** A wait in seconds, in whole minutes ("1 minute", "5 minutes"). */
export function minutesText(seconds) {
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

// ---- the words for the API's values ---------------------------------------------------------

/** A lookup over GET /api/options: label(group, value) and choices(group). */
export function labels(options) {
  const groups = new Map(Object.entries(options).map(([group, list]) =>
    [group, new Map(list.map((o) => [o.value, o.label]))]));
  return {
    label: (group, value) => groups.get(group)?.get(String(value)) ?? String(value ?? "–"),
    choices: (group) => options[group] || [],
  };
}

/** Replace a select's options with ``choices`` ({value, label}), keeping its value if it can. */
export function fillSelect(select, choices, first = null) {
  const keep = select.value;
  const all = first ? [first, ...choices] : choices;
  select.replaceChildren(...all.map((c) => el("option", { value: c.value }, c.label)));
  if (all.some((c) => c.value === keep)) select.value = keep;
}
