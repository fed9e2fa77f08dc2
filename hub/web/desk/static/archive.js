// The Archive view (finance and admins): the closed months, newest first, each version with its
// status (verified against its manifest and the audit chain when the list loads, or the files
// that differ), a download per file and of the manifest; and the form that closes a month or
// writes a correction (a new version, with a reason). From /api/archive.
//
// Rules: it wires itself (a click on the Archive tab shows it, any other tab hides it);
// everything from the hub is written as text; closing sends one request per click (the button
// is disabled while it runs).

import { $, api, el, labelCells, toast, when } from "./common.js";

const base = (a) => `/api/archive/${a.month}/${a.version}`;

function link(a, name, testid) {
  return el("a", { href: `${base(a)}/files/${name.split("/").map(encodeURIComponent).join("/")}`,
                   download: "", "data-testid": testid, "data-name": name }, name);
}

function status(check) {
  if (check.ok) return el("span", { class: "badge", "data-testid": "archive-status" }, "verified");
  return el("span", { class: "badge review", "data-testid": "archive-status",
                      title: check.problems.join("\n") },
            `ALTERED: ${check.problems.join("; ")}`);
}

async function row(a) {
  const [detail, check] = await Promise.all([api("GET", base(a)), api("GET", `${base(a)}/verify`)]);
  const files = el("ul", { class: "files" },
    el("li", {}, link(a, "manifest.json", "archive-manifest")),
    detail.listing.map((f) => el("li", {}, link(a, f.name, "archive-file"), ` · ${f.size} bytes`)));
  return el("tr", { "data-testid": "archive-row", "data-month": a.month, "data-version": a.version,
                    class: check.ok ? "" : "overdue" },
    el("td", {}, a.month), el("td", {}, `v${a.version}`),
    el("td", {}, when(a.closed_at), a.reason ? el("div", { class: "muted" }, a.reason) : ""),
    el("td", {}, a.closed_by), el("td", {}, String(a.files)), el("td", {}, status(check)),
    el("td", {}, files));
}

export async function load() {
  $("#archive-problem").textContent = "";
  try {
    const archives = await api("GET", "/api/archive");
    const rows = await Promise.all(archives.map(row));
    $("#archive-view table tbody").replaceChildren(...rows);
    $("#archive-empty").hidden = archives.length > 0;
    labelCells($("#archive-view table"));
  } catch (error) { $("#archive-problem").textContent = error.message; }
}

async function closeMonth(event) {
  event.preventDefault();
  const form = event.target, button = $("[data-testid=archive-close-button]");
  const body = { correction: form.correction.checked, reason: form.reason.value.trim() || null };
  button.disabled = true;
  try {
    const made = await api("POST", `/api/archive/${form.month.value}`, body);
    toast(`${made.month} archived as version ${made.version} (${made.files} files)`);
    form.reset();
    await load();
  } catch (error) { $("#archive-problem").textContent = error.message; }
  finally { button.disabled = false; }
}

function show(on) {
  $("#archive-view").hidden = !on;
  if (on) load();
}

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => show(tab.dataset.view === "archive"));
}
$("#archive-close").addEventListener("submit", closeMonth);
