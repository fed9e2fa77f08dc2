// The buyer's return page: order number + postcode -> items and stores -> a return code.
// The order number and postcode live in this module only (never in the URL or storage).

const WORDS = {
  en: {
    title: "Return an item to a store",
    intro: "Enter your order number and the postcode the order was delivered to.",
    order: "Order number", postcode: "Delivery postcode", find: "Find my order",
    items: "Items", stores: "Stores near you that take returns", book: "Get my return code",
    code_title: "Your return code", show: "Show this code at the store's counter with the items.",
    save: "Save the QR code", print: "Print", open: "open now", closed: "closed now",
    km: "km", qty: "quantity", none_returnable: "None of the items of this order can be returned.",
    no_stores: "No store near this postcode takes returns yet.",
    pick_item: "Choose at least one item.", pick_store: "Choose a store.",
    busy: "Too many attempts. Try again in {s} seconds.", missing: "Fill in both fields.",
    failed: "Something went wrong. Try again.", bring: "Bring it to {store} by {date}.",
    mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun",
  },
  de: {
    title: "Artikel im Geschäft zurückgeben",
    intro: "Geben Sie Ihre Bestellnummer und die Postleitzahl der Lieferadresse ein.",
    order: "Bestellnummer", postcode: "Postleitzahl der Lieferung", find: "Bestellung suchen",
    items: "Artikel", stores: "Geschäfte in Ihrer Nähe, die Rücksendungen annehmen",
    book: "Rücksendecode erhalten", code_title: "Ihr Rücksendecode",
    show: "Zeigen Sie diesen Code mit den Artikeln an der Kasse des Geschäfts.",
    save: "QR-Code speichern", print: "Drucken", open: "jetzt geöffnet", closed: "jetzt geschlossen",
    km: "km", qty: "Menge", none_returnable: "Keiner der Artikel dieser Bestellung kann zurückgegeben werden.",
    no_stores: "In der Nähe dieser Postleitzahl nimmt noch kein Geschäft Rücksendungen an.",
    pick_item: "Wählen Sie mindestens einen Artikel.", pick_store: "Wählen Sie ein Geschäft.",
    busy: "Zu viele Versuche. Bitte in {s} Sekunden erneut versuchen.", missing: "Bitte beide Felder ausfüllen.",
    failed: "Etwas ist schiefgegangen. Bitte erneut versuchen.", bring: "Bringen Sie sie bis {date} zu {store}.",
    mon: "Mo", tue: "Di", wed: "Mi", thu: "Do", fri: "Fr", sat: "Sa", sun: "So",
  },
};
const LANGUAGE_OF_MARKETPLACE = { A1PA6795UKMFR9: "de" };  // Amazon.de

let lang = "en";
let asked = null;  // {order_id, postcode} that matched
let requestId = null;  // this booking's id: a retry or double click books once

function newRequestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));  // also on plain-http hubs
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const $ = (id) => document.getElementById(id);
const w = (key, values = {}) =>
  (WORDS[lang][key] ?? WORDS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");

function setLanguage(next) {
  lang = WORDS[next] ? next : "en";
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-w]")) node.textContent = w(node.dataset.w);
  document.title = w("title");
}

function say(text) {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

async function post(path, body) {
  const answer = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  let data = null;
  try { data = await answer.json(); } catch { data = null; }
  if (answer.status === 429) throw new Error(w("busy", { s: answer.headers.get("Retry-After") || "60" }));
  if (!answer.ok) {
    const detail = data && Array.isArray(data.detail) ? data.detail.map((d) => d.message).join("; ") : "";
    throw new Error(detail || w("failed"));
  }
  return data;
}

function itemRow(item) {
  const price = item.unit_price ? ` · ${item.unit_price} ${item.currency ?? ""}` : "";
  const title = el("span", { textContent: `${item.sku}${item.asin ? ` (${item.asin})` : ""}${price}` });
  if (!item.returnable) {
    return el("li", { className: "item" }, title,
      el("p", { className: "no", textContent: item.reasons.join(" · ") }));
  }
  const box = el("input", { type: "checkbox", checked: true, value: item.sku, name: "item" });
  const qty = el("input", { type: "number", min: 1, max: item.quantity, value: item.quantity,
    className: "qty", inputMode: "numeric" });
  qty.dataset.sku = item.sku;
  qty.setAttribute("aria-label", w("qty"));
  return el("li", { className: "item" }, el("label", {}, box, title), qty);
}

function storeRow(store, index) {
  const radio = el("input", { type: "radio", name: "store", value: store.store_id, checked: index === 0 });
  const where = `${store.street}, ${store.postal_code} ${store.city}`;
  const km = store.distance_km === null ? null
    : new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(store.distance_km);
  const far = km === null ? "" : ` · ${km} ${w("km")}`;
  const now = store.open_now === null ? "" : ` · ${store.open_now ? w("open") : w("closed")}`;
  const hours = store.hours.map((h) => `${w(h.day)} ${h.hours}`).join(" · ");
  return el("li", { className: "store" }, el("label", {}, radio,
    el("span", {}, el("strong", { textContent: where }),
      el("span", { className: "muted", textContent: `${far}${now}` }),
      el("br"), el("span", { className: "muted hours", textContent: hours }),
      store.today_note ? el("span", { className: "muted", textContent: ` · ${store.today_note}` }) : "")));
}

function showOrder(view) {
  requestId = newRequestId();
  setLanguage(LANGUAGE_OF_MARKETPLACE[view.marketplace_id] || "en");
  $("items").replaceChildren(...view.items.map(itemRow));
  $("stores").replaceChildren(...view.stores.map(storeRow));
  const can = view.items.some((i) => i.returnable) && view.stores.length > 0;
  $("book-button").disabled = !can;
  $("choose").hidden = false;
  if (!view.items.some((i) => i.returnable)) say(w("none_returnable"));
  else if (!view.stores.length) say(w("no_stores"));
}

async function find(event) {
  event.preventDefault();
  say("");
  $("choose").hidden = true;
  asked = null;
  const body = { order_id: $("order-id").value.trim(), postcode: $("postcode").value.trim() };
  if (!body.order_id || !body.postcode) return say(w("missing"));
  $("find-button").disabled = true;
  try {
    const view = await post("/api/buyer/lookup", body);
    asked = body;
    showOrder(view);
  } catch (err) {
    say(err.message);
  } finally {
    $("find-button").disabled = false;
  }
}

function chosenItems() {
  const items = [];
  for (const box of document.querySelectorAll("input[name=item]:checked")) {
    const qty = document.querySelector(`input.qty[data-sku="${CSS.escape(box.value)}"]`);
    items.push({ sku: box.value, quantity: Number.parseInt(qty.value, 10) || 1 });
  }
  return items;
}

async function bookReturn() {
  say("");
  const items = chosenItems();
  const store = document.querySelector("input[name=store]:checked");
  if (!items.length) return say(w("pick_item"));
  if (!store) return say(w("pick_store"));
  $("book-button").disabled = true;
  try {
    const done = await post("/api/buyer/returns", { ...asked, store_id: store.value, items, request_id: requestId });
    showCode(done);
  } catch (err) {
    say(err.message);
    $("book-button").disabled = false;
  }
}

function showCode(done) {
  const url = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(done.qr_svg)}`;
  $("code").textContent = done.code;
  $("qr").src = url;
  $("save").href = url;
  $("save").download = `${done.code}.svg`;
  const date = new Date(done.expected_by).toLocaleDateString(lang);
  const s = done.store;
  $("done-store").textContent = w("bring", { store: `${s.street}, ${s.postal_code} ${s.city}`, date });
  $("find").hidden = true;
  $("choose").hidden = true;
  $("done").hidden = false;
}

$("find-form").addEventListener("submit", find);
$("book-button").addEventListener("click", bookReturn);
$("print").addEventListener("click", () => window.print());
setLanguage((navigator.language || "en").slice(0, 2));
