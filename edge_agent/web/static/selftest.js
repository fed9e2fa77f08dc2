// ACORN counter page, self-test part: the last self-test (each check, passed or failed), a button
// to run it again, "scan any barcode now" while it waits for the test scan, and the clock guard's
// sentence while returns are refused because this node's clock is off the hub's.
// An ES module on its own (helpers from common.js only): it fills #selftest, listens for the
// agent's "selftest" live events (tell, don't poll) and loads GET /api/selftest once at start.
import { $, api, el, t } from "./common.js";

const MARK = { pass: "✓", fail: "✗", skip: "–" };
// what probing the POS terminal found (the pos check's code), in the store's language
const POS_SAID = {
  reachable: () => t("selftest_pos_reachable"),
  refused: () => t("selftest_pos_refused"),
  timed_out: () => t("selftest_pos_timed_out"),
  unreachable: () => t("selftest_pos_unreachable"),
  unhealthy: () => t("selftest_pos_unhealthy"),
};

function said(check) {
  const words = check.code && POS_SAID[check.code];
  return words ? `${words()} (${check.detail})` : check.detail;
}

function render(answer) {
  const box = $("#selftest");
  if (!box || !answer) return;
  const report = answer.report;
  const guard = $("#selftest-guard");
  guard.hidden = !answer.refusal;
  guard.textContent = answer.refusal || "";
  const verdict = $("#selftest-verdict");
  if (!report) {
    verdict.textContent = t("selftest_not_run");
    verdict.dataset.passed = "";
    $("#selftest-checks").replaceChildren();
    return;
  }
  const when = new Date(report.at).toLocaleString();
  const failing = report.checks.filter((c) => c.outcome === "fail").map((c) => c.name);
  verdict.dataset.passed = String(report.passed);
  verdict.textContent = report.passed ? t("selftest_passed", { when })
    : t("selftest_failed", { failing: failing.join(", "), when });
  $("#selftest-checks").replaceChildren(...report.checks.map((c) =>
    el("li", `${MARK[c.outcome] || c.outcome} ${c.name}: ${said(c)}`,
       { "data-testid": "selftest-check", "data-check": c.name, "data-outcome": c.outcome,
         "data-code": c.code || "" })));
}

function waiting(on, seconds) {
  const note = $("#selftest-scan");
  note.hidden = !on;
  note.textContent = on ? t("selftest_scan", { seconds: Math.round(seconds) }) : "";
}

async function run() {
  const button = $("#selftest-run");
  button.disabled = true;
  $("#selftest-verdict").textContent = t("selftest_running");
  try {
    render(await api("POST", "/api/selftest", {}));
  } catch (error) {
    $("#selftest-verdict").textContent = t("selftest_error", { error: error.message });
  } finally {
    button.disabled = false;
    waiting(false);
  }
}

function listen() {
  if (!window.EventSource) return;
  const source = new EventSource("/api/events/stream");
  source.addEventListener("selftest", (event) => {
    const data = JSON.parse(event.data);
    if ("waiting_scan" in data) waiting(data.waiting_scan, data.seconds || 0);
    if (data.report) render({ report: data.report, refusal: data.refusal });
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  const box = $("#selftest");
  if (!box) return;
  box.replaceChildren(
    el("p", null, { id: "selftest-guard", class: "note store-alert", role: "alert", "data-testid": "selftest-guard" }),
    el("div", null, { class: "row" }),
    el("p", null, { id: "selftest-scan", class: "note", role: "status", "data-testid": "selftest-scan" }),
    el("ul", null, { id: "selftest-checks", class: "muted", "data-testid": "selftest-checks" }));
  const row = box.children[1];
  row.append(el("strong", t("selftest_title"), { id: "selftest-verdict", "data-testid": "selftest-verdict" }),
             el("button", t("selftest_run"), { type: "button", id: "selftest-run", class: "secondary small", "data-testid": "selftest-run" }));
  $("#selftest-guard").hidden = true;
  $("#selftest-scan").hidden = true;
  $("#selftest-run").addEventListener("click", run);
  listen();
  try { render(await api("GET", "/api/selftest")); } catch { /* signed out: shown after sign-in */ }
});
