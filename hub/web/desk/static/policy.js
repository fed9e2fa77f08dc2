// The policy view (admins): the active document and its versions, a draft simulated over the
// last days, then published. Rules: a draft is published only as it was last simulated (any edit
// disables Publish until it is simulated again); the simulation's summary is announced
// (a live region), its tables are not.

import { $, api, el, money, problemsText, toast, when } from "./common.js";
import { writeOnce } from "./writes.js";

let simulated = null;  // the YAML text the last simulation ran on

/** Show the active policy and its latest versions; a fresh draft needs a new simulation. */
export async function loadPolicy() {
  const [active, versions] = await Promise.all([api("GET", "/api/policy"),
    api("GET", "/api/policy/versions")]);
  $("[data-testid=policy-version]").textContent = `v${active.version} · ${active.name}`;
  $("#policy-yaml").value = active.yaml;
  $("[data-testid=policy-versions]").replaceChildren(...versions.slice(0, 8).map((v) =>
    el("li", {}, `v${v.version} · ${when(v.published_at)} · ${v.published_by}${v.reason ? ` · ${v.reason}` : ""}`)));
  simulated = null;
  $("#publish").disabled = true;
  $("#sim-status").textContent = "";
  $("#sim-report").replaceChildren();
}

function reportTable(caption, head, rows) {
  return el("table", {}, el("caption", { class: "sr-only" }, caption),
    el("tr", {}, head.map((h) => el("th", { scope: "col" }, h))),
    rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c)))));
}

function outcomes(report) {
  const labels = [...new Set([...report.before, ...report.after].map((t) => t.label))];
  return labels.map((label) => {
    const b = report.before.find((t) => t.label === label);
    const a = report.after.find((t) => t.label === label);
    return [label, b ? `${b.count} · ${money(b.amount)}` : "0", a ? `${a.count} · ${money(a.amount)}` : "0"];
  });
}

function showReport(report) {
  $("#sim-status").textContent = `v${report.current_version} → v${report.draft_version} over `
    + `${report.days} days: ${report.changed} of ${report.total} decisions change, `
    + `${money(report.money_moved)} moves`;
  $("#sim-report").replaceChildren(
    reportTable("decisions that change", ["from", "to", "refunds", "amount"],
      report.matrix.map((m) => [m.from, m.to, m.count, money(m.amount)])),
    reportTable("outcomes before and after", ["outcome", "before", "after"], outcomes(report)),
    el("ul", {}, report.examples.map((e) => el("li", {}, `${e.refund}: ${e.from} → ${e.to} (${money(e.amount)})`))));
}

async function simulateDraft() {
  const yaml = $("#policy-yaml").value;
  try {
    const days = Number.parseInt($("#sim-days").value, 10) || 30;
    const report = await api("POST", "/api/policy/simulate", { yaml, days });
    simulated = yaml;
    showReport(report);
    $("#publish").disabled = false;
  } catch (error) { toast(problemsText(error), true); }
}

async function publishDraft() {
  const yaml = $("#policy-yaml").value;
  if (yaml !== simulated) { toast("simulate this version before publishing it", true); return; }
  try {
    const done = await writeOnce({ kind: "publish", method: "PUT", path: "/api/policy",
      body: { yaml, reason: $("#publish-reason").value.trim() || null }, done: "policy published" },
    [$("#publish")]);
    if (!done) return;
    toast(`policy version ${done.version} published`);
    await loadPolicy();
  } catch (error) { toast(problemsText(error), true); }
}

/** Wire the policy view's buttons and editor. */
export function wirePolicy() {
  $("#simulate").addEventListener("click", simulateDraft);
  $("#publish").addEventListener("click", publishDraft);
  $("#policy-yaml").addEventListener("input", () => {
    $("#publish").disabled = $("#policy-yaml").value !== simulated;
  });
}
