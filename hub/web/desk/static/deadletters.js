// The dead-letters view (admin only): events and messages the hub refused, from
// GET /api/fleet/dead-letters — chiefly the events of a wiped store machine that came back under
// its old node id. An admin replays an event (the hub applies it once, under the node's replay
// sequence) or discards a dead letter with a reason.
//
// Rules: the view keeps to its own tab and <main> (desk.html); it shows itself when its tab is
// chosen and hides when another is; the tab appears only for an admin; every action goes to
// the hub, which refuses a second replay (409), and the list is read again after its answer;
// a discard needs a reason typed in its row (the hub checks it too).

import { $, api, el, labelCells, problemsText, toast, when } from "./common.js";

const VIEW = "deadletters";
const state = { shown: false };

function stateText(row) {
  if (row.replayed) return `replayed as replay seq ${row.replayed.replay_seq}`;
  if (row.resolved_at) return `${row.resolution} (${row.resolved_by})`;
  return row.replayable ? "open: can be replayed" : "open: discard only";
}

// A refused request (422: e.g. no reason) leaves the row as typed; any other answer reads the
// list again (a 409 means someone resolved it meanwhile).
async function act(path, body, done) {
  try {
    await api("POST", path, body);
    toast(done);
  } catch (error) {
    toast(problemsText(error), true);
    if (error.status === 422) return;
  }
  await load();
}

function actions(row) {
  if (row.resolved_at) return el("td", {}, "–");
  const reason = el("input", { maxlength: "500",
                               "aria-label": `why dead letter ${row.id} is discarded`,
                               "data-testid": "dead-letter-reason" });
  const replay = el("button", { type: "button", class: "primary", "data-testid": "dead-letter-replay",
    onclick: () => act(`/api/fleet/dead-letters/${row.id}/replay`, undefined,
                       `dead letter ${row.id} applied once`) }, "Replay");
  const discard = el("button", { type: "button", class: "danger", "data-testid": "dead-letter-discard",
    onclick: () => act(`/api/fleet/dead-letters/${row.id}/discard`, { reason: reason.value },
                       `dead letter ${row.id} discarded`) }, "Discard");
  return el("td", {}, row.replayable ? replay : "", reason, discard);
}

function deadRow(row) {
  return el("tr", { "data-testid": "dead-letter-row", "data-id": String(row.id) },
    el("td", {}, String(row.id)),
    el("td", {}, when(row.received_at)),
    el("td", {}, row.sender || "–"),
    el("td", {}, row.kind || "–"),
    el("td", { class: "why" }, row.reason),
    el("td", { "data-testid": "dead-letter-state" }, stateText(row)),
    actions(row));
}

/** Read the list again (open ones, or every one when the box is ticked). */
export async function load() {
  const all = $("#dead-letters-all").checked ? "true" : "false";
  let rows;
  try {
    rows = await api("GET", `/api/fleet/dead-letters?all=${all}&limit=200`);
  } catch (error) {
    $("#dead-letters-problem").textContent = error.message;
    return;
  }
  $("#dead-letters-problem").textContent = "";
  $("[data-testid=dead-letters-total]").textContent = `${rows.length} dead letter(s)`;
  $("table.dead-letters tbody").replaceChildren(...rows.map(deadRow));
  labelCells($("table.dead-letters"));
}

function show(view) {
  state.shown = view === VIEW;
  $("#deadletters-view").hidden = !state.shown;
  if (state.shown) load();
}

async function start() {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => show(tab.dataset.view));
  }
  $("#dead-letters-all").addEventListener("change", load);
  const me = await api("GET", "/api/session");
  $("[data-testid=nav-deadletters]").hidden = me.role !== "admin";
}

start().catch((error) => toast(error.message, true));
