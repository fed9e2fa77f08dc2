// ACORN counter page, shared helpers: the page's state, the agent's API, DOM, time and money.
// An ES module (no build step): counter.js, staff.js and writes.js import what they use from
// here and from nowhere else, so no script calls another's globals.
// Money is exact: amounts stay decimal strings on the wire and BigInt minor units in arithmetic,
// checked by the currencies' minor units that GET /api/options gives (never a float).

export const state = {
  health: null, current: null, expected: null, live: false, open: false, source: null,
  session: null, config: null, options: null,
};

export const $ = (sel) => document.querySelector(sel);

// A table shown as stacked rows (on a phone) keeps its column headings: each body cell gets its
// column's heading (the th's data-label, else its text) as data-label, which the CSS shows.
export function labelCells(table) {
  const heads = [...table.tHead.rows[0].cells].map((th) => th.dataset.label || th.textContent.trim());
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((td, i) => { td.dataset.label = heads[i] || ""; });
  }
}

// The words of a coded value (``kind``: return_state, refund_status, grade, disposition,
// channel, refund_method, payment, packaging, compliance_tag, role) in the store's language,
// from GET /api/options: the page shows no raw code and translates nothing itself. A value the
// agent has no label for is spelled out ("like_new" -> "Like new"), never shown as a code.
export function label(kind, value) {
  const words = state.options && state.options.labels && state.options.labels[kind];
  if (words && Object.hasOwn(words, value)) return words[value];
  const text = String(value ?? "").replaceAll("_", " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : "—";
}

// The page's own words (headings, buttons, messages) in the store's language: the agent embeds
// them in the page (<script id="page-words">, from edge_agent/web/page_words.py); ``{name}`` in a
// text is filled from ``params``. Elements name their words in the HTML: data-i18n="key" (text),
// data-i18n-placeholder / -title / -aria-label="key" (attributes); without the embedded words
// (the file opened on its own) the HTML's English stays.
let pageWords = null;

function words() {
  if (pageWords === null) {
    const node = document.getElementById("page-words");
    try { pageWords = node ? JSON.parse(node.textContent) : {}; } catch { pageWords = {}; }
  }
  return pageWords;
}

export function t(key, params = {}) {
  const text = Object.hasOwn(words(), key) ? words()[key] : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

// Put the page's words into ``root`` (the document, or a template's content).
export function applyWords(root = document) {
  const known = words();
  for (const node of root.querySelectorAll("[data-i18n]")) {
    if (Object.hasOwn(known, node.dataset.i18n)) node.textContent = known[node.dataset.i18n];
  }
  for (const attr of ["placeholder", "title", "aria-label"]) {
    for (const node of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      const key = node.getAttribute(`data-i18n-${attr}`);
      if (Object.hasOwn(known, key)) node.setAttribute(attr, known[key]);
    }
  }
}

// The page's language (the store's, set by the agent on <html lang>) for dates and times.
function locale() { return document.documentElement.lang || undefined; }

export function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

// --- the agent's API ----------------------------------------------------------------------------

let unauthorized = () => {};

// Who to tell when a call answers 401 (the session ended): staff.js says.
export function onUnauthorized(handler) { unauthorized = handler; }

export async function api(method, path, body, headers = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const data = await res.json().catch(() => ({}));
  if (res.status === 401 && !path.startsWith("/api/session")) unauthorized();
  if (!res.ok) {
    const detail = Array.isArray(data.detail) ? data.detail : [{ field: null, message: res.statusText }];
    const error = new Error(detail.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message)).join("\n"));
    error.status = res.status;
    throw error;
  }
  return data;
}

export function showError(error) {
  const box = $("#error");
  if (!error) { box.hidden = true; box.textContent = ""; return; }
  box.textContent = error.message || String(error);
  box.hidden = false;
}

// --- time: stored and sent in UTC, shown in the store's zone ------------------------------------

export function zone() { return (state.health && state.health.store_timezone) || "UTC"; }

export function localTime(iso, withDate = true) {
  if (!iso) return "";
  const opts = withDate ? { dateStyle: "medium", timeStyle: "short" } : { timeStyle: "medium" };
  return new Intl.DateTimeFormat(locale(), { ...opts, timeZone: zone() }).format(new Date(iso));
}

export function localDate(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: zone() }).format(new Date(iso));
}

// The store's calendar date (YYYY-MM-DD) and clock fields at an instant, in the store's zone.
function zoneParts(instant) {
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone: zone(), hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  return Object.fromEntries(fmt.formatToParts(new Date(instant)).map((p) => [p.type, Number(p.value)]));
}

export function storeToday() {
  const p = zoneParts(Date.now());
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

// A "sold on" date picked at the counter is 00:00 that day in the store's zone, sent as UTC:
// the day is what return windows count, and the start of today is never in the future.
export function saleDayToUtc(day) {
  const [y, m, d] = day.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d);
  let instant = wall;
  for (let i = 0; i < 2; i += 1) {  // twice: the zone's offset may differ at the first guess (DST)
    const p = zoneParts(instant);
    const offset = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) -
      Math.floor(instant / 1000) * 1000;
    instant = wall - offset;
  }
  return new Date(instant).toISOString();
}

// --- money: exact decimals ----------------------------------------------------------------------

// Money as the store's language writes it, the same rule as its receipts and the agent's staff
// sentences: the currency's decimals, thousands grouped ("1,234.50 EUR"; "1.234,50 EUR" in
// German). Exact: the decimal string is only padded and regrouped, never parsed as a float.
const SEPARATORS = { de: [".", ","] };  // language -> [thousands, decimal]; default [",", "."]

export function money(m) {
  if (!m) return "";
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(m.amount).trim());
  if (!match) return `${m.amount} ${m.currency}`;
  const scale = minorUnits(m.currency);
  const fraction = (match[3] || "").padEnd(scale ?? 0, "0");
  const [thousands, decimal] = SEPARATORS[state.options && state.options.language] || [",", "."];
  const whole = match[2].replace(/\B(?=(\d{3})+(?!\d))/g, thousands);
  return `${match[1]}${whole}${fraction ? decimal + fraction : ""} ${m.currency}`;
}

// The minor units of ``currency`` from the API's options, or null for a currency it refuses.
function minorUnits(currency) {
  const known = state.options && state.options.currencies;
  return known && Object.hasOwn(known, currency) ? known[currency] : null;
}

// ``{amount, currency}`` as a BigInt count of the currency's minor units, or null when the API
// would refuse it (not a plain decimal, more decimals than the currency has, too many digits).
export function minorOf(m) {
  const scale = minorUnits(m.currency);
  const digits = (state.options && state.options.max_amount_integer_digits) || 12;
  const match = /^(\d+)(?:\.(\d+))?$/.exec(String(m.amount).trim());
  if (scale === null || !match) return null;
  const whole = match[1].replace(/^0+(?=\d)/, "");
  const fraction = (match[2] || "").replace(/0+$/, "");
  if (whole.length > digits || fraction.length > scale) return null;
  return BigInt(whole + fraction.padEnd(scale, "0"));
}

// A count of minor units back to ``{amount, currency}`` with the currency's decimals.
export function fromMinor(units, currency) {
  const scale = minorUnits(currency) || 0;
  const text = units.toString().padStart(scale + 1, "0");
  const amount = scale ? `${text.slice(0, -scale)}.${text.slice(-scale)}` : text;
  return { amount, currency };
}

// The exact total of return lines (quantity x unit price), or null when they cannot be added
// (no lines, mixed currencies, an amount or quantity the API would refuse).
export function linesTotal(items) {
  const currencies = new Set(items.map((item) => item.unit_price.currency));
  if (items.length === 0 || currencies.size !== 1) return null;
  const currency = [...currencies][0];
  let units = 0n;
  for (const item of items) {
    const each = minorOf(item.unit_price);
    if (each === null || !Number.isInteger(item.quantity) || item.quantity < 1) return null;
    units += each * BigInt(item.quantity);
  }
  return { units, currency };
}
