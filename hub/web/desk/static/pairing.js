// Pair a machine (technician, admin): a store machine with no identity prints and shows a
// pairing code (`acorn-edge pair`); the technician types it here, picks the store and, if they
// wish, the node id. POST /api/fleet/pairings/approve signs the machine's certificate and gives
// it its broker role; the machine, polling, then starts as that node.
//
// Rules: the stores offered are the caller's scope (GET /api/desk/facets), the hub checks scope
// again; a refusal shows the hub's words in the dialog (wrong codes are counted against the
// technician by the hub, and audited); one click, one request: the button is disabled while it
// runs. The dialog is built here so desk.html only carries the button that opens it.

import { $, api, el, fillSelect, problemsText, toast } from "./common.js";

const CODE = "[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}";

function field(label, control) {
  return el("label", {}, el("span", {}, label), control);
}

function buildDialog() {
  const dialog = el("dialog", { id: "pairing", "aria-labelledby": "pairing-title",
                                "data-testid": "pairing" },
    el("form", { method: "dialog", class: "close" },
      el("button", { "aria-label": "close", "data-testid": "pairing-close" }, "✕")),
    el("h2", { id: "pairing-title" }, "Pair a machine"),
    el("p", { class: "muted" },
      "Type the pairing code the store machine printed and shows on its screen, then pick its store."),
    el("form", { id: "pairing-form", "data-testid": "pairing-form", autocomplete: "off" },
      field("Pairing code (XXXX-XXXX)", el("input", { name: "code", required: "", pattern: CODE, maxlength: "9",
        "data-testid": "pairing-code", autocapitalize: "characters" })),
      field("Store", el("select", { name: "store_id", required: "", "data-testid": "pairing-store" })),
      field("Node id (optional; empty: the next counter-N)", el("input", { name: "node_id", maxlength: "40",
        "data-testid": "pairing-node" })),
      el("button", { type: "submit", class: "primary", "data-testid": "pairing-submit" }, "Pair")),
    el("p", { class: "error", role: "alert", "data-testid": "pairing-problem" }),
    el("p", { role: "status", "data-testid": "pairing-result" }));
  document.body.append(dialog);
  $("#pairing-form").addEventListener("submit", submit);
  return dialog;
}

async function open() {
  const dialog = $("#pairing") || buildDialog();
  $("[data-testid=pairing-problem]").textContent = "";
  $("[data-testid=pairing-result]").textContent = "";
  try {
    const facets = await api("GET", "/api/desk/facets");
    fillSelect($("[data-testid=pairing-store]"), facets.store_names, { value: "", label: "choose…" });
  } catch (error) {
    $("[data-testid=pairing-problem]").textContent = problemsText(error);
  }
  dialog.showModal();
  $("[data-testid=pairing-code]").focus();
}

async function submit(event) {
  event.preventDefault();
  const form = event.target;
  const button = $("[data-testid=pairing-submit]");
  const data = Object.fromEntries(new FormData(form));
  const body = { code: String(data.code).trim().toUpperCase(), store_id: data.store_id };
  if (String(data.node_id || "").trim()) body.node_id = String(data.node_id).trim();
  button.disabled = true;
  $("[data-testid=pairing-problem]").textContent = "";
  try {
    const done = await api("POST", "/api/fleet/pairings/approve", body);
    const text = `Paired: machine ${done.serial} is now ${done.store_id} / ${done.node_id}; it connects by itself.`;
    $("[data-testid=pairing-result]").textContent = text;
    toast(text);
    form.reset();
  } catch (error) {
    $("[data-testid=pairing-problem]").textContent = problemsText(error);
  } finally {
    button.disabled = false;
  }
}

const opener = $("[data-testid=pair-open]");
if (opener) opener.addEventListener("click", open);
