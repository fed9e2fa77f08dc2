// The policy view (admins): the active document and its versions, and the next version as a
// form (tiers, risk thresholds, faulty grades, windows and opened goods per marketplace,
// timing) with the YAML as an advanced view of the same draft; simulated, then published.
//
// Rules:
// - the hub writes the draft (POST /api/policy/draft): the form sends its fields, the advanced
//   view its text; the answer is the draft's YAML with the version raised to the next one (the
//   editor raises it, never a person), its fields when valid, and each problem at its field's
//   path (``tiers[1].below``), shown at that field (else at the nearest section, else above the
//   YAML);
// - the form keeps what a person types (it is rebuilt only when the YAML changes it or a row is
//   added or removed, and the focus stays on the same field); the YAML follows each change;
// - any change to the draft clears the last simulation and disables Publish; a draft with
//   problems is neither simulated nor published; a draft is published only as it was simulated;
// - the choices (grades, channels, timings, rule effects, marketplaces) come from /api/options.

import { $, api, el, money, problemsText, toast, when } from "./common.js";
import { writeOnce } from "./writes.js";

const DRAFT_WAIT_MS = 250;  // type-ahead: one draft request per pause, not per key
const state = { words: null, fields: null, yaml: "", valid: false, problems: [], simulated: null,
                version: null, seq: 0, timer: null, next: null, pending: null };

// ---- paths ------------------------------------------------------------------------------------

const tokens = (path) => path.match(/[^.[\]]+/g).map((t) => (/^\d+$/.test(t) ? Number(t) : t));

function setPath(target, path, value) {
  const keys = tokens(path);
  let node = target;
  for (const key of keys.slice(0, -1)) node = node[key];
  node[keys[keys.length - 1]] = value;
}

function getPath(target, path) {
  return tokens(path).reduce((node, key) => (node == null ? undefined : node[key]), target);
}

// ---- the draft ----------------------------------------------------------------------------------

function clearSimulation() {
  state.simulated = null;
  $("#publish").disabled = true;
  $("#sim-status").textContent = "";
  $("#sim-report").replaceChildren();
}

/** Ask the hub for the draft of ``body`` ({document} or {yaml}); the latest answer wins. */
function requestDraft(body, fromYaml) {
  const seq = ++state.seq;
  state.pending = api("POST", "/api/policy/draft", body).then((answer) => {
    if (seq !== state.seq) return;
    state.yaml = answer.yaml;
    state.valid = answer.valid;
    state.version = answer.version;
    $("[data-testid=draft-version]").textContent = `Draft v${answer.version}`;
    if (document.activeElement !== $("#policy-yaml")) $("#policy-yaml").value = answer.yaml;
    if (fromYaml && answer.valid) { state.fields = answer.document; renderForm(); }
    showProblems(answer.problems);
  }).catch((error) => toast(problemsText(error), true));
  return state.pending;
}

/** The draft changed (a field or the YAML): clear the simulation, ask for the new draft soon. */
function changed(body, fromYaml = false) {
  clearSimulation();
  state.valid = false;
  clearTimeout(state.timer);
  state.next = () => { state.timer = null; return requestDraft(body(), fromYaml); };
  state.timer = setTimeout(state.next, DRAFT_WAIT_MS);
}

// the form's fields and the YAML they were read from: the hub edits that YAML in place, so its
// comments and order survive a form edit
const formChanged = () => changed(() => ({ document: state.fields, base: state.yaml }));

/** Wait for the draft of the last change (a pause not yet over is cut short). */
async function settled() {
  if (state.timer) {
    clearTimeout(state.timer);
    await state.next();
  }
  await state.pending;
}

// ---- problems at their fields ----------------------------------------------------------------

function showProblems(problems) {
  state.problems = problems;
  for (const node of document.querySelectorAll("#policy-form .field-error")) node.remove();
  for (const node of document.querySelectorAll("#policy-form [aria-invalid]")) {
    node.removeAttribute("aria-invalid");
    node.removeAttribute("aria-describedby");
  }
  const loose = [];
  problems.forEach((problem, index) => {
    const target = fieldFor(problem.field);
    if (!target) { loose.push(problem); return; }
    const id = `problem-${index}`;
    const note = el("span", { class: "field-error", id, "data-error-for": problem.field,
                              "data-testid": "field-error" }, problem.message);
    if (target.matches("input, select")) {
      target.setAttribute("aria-invalid", "true");
      target.setAttribute("aria-describedby", id);
      target.closest("label").append(note);
    } else {
      target.append(note);  // a section: tiers, a tier, a marketplace
    }
  });
  $("#policy-problems").textContent = loose.map((p) => `${p.field || "document"}: ${p.message}`).join("; ");
}

/** The field (or the nearest section) a problem's path names. */
function fieldFor(path) {
  let parts = path ? tokens(path) : [];
  while (parts.length) {
    const name = parts.reduce((text, key) => (typeof key === "number" ? `${text}[${key}]`
      : text ? `${text}.${key}` : key), "");
    const found = document.querySelector(`#policy-form [data-path="${CSS.escape(name)}"]`);
    if (found) return found;
    parts = parts.slice(0, -1);
  }
  return null;
}

// ---- the form --------------------------------------------------------------------------------------

const word = (group, value) => state.words.label(group, value);

const READ = {
  text: (input) => input.value,
  upper: (input) => input.value.trim().toUpperCase(),
  int: (input) => input.value.trim(),  // the hub checks it (and says so at the field)
  optionalInt: (input) => (input.value.trim() === "" ? null : input.value.trim()),
  decimal: (input) => input.value.trim(),
  bool: (input) => input.checked,
  list: (input) => input.value.split(",").map((t) => t.trim()).filter(Boolean),
  choice: (input) => input.value || null,
};

/** One labelled input bound to ``path`` in the draft's fields. */
function field(label, path, read, attrs = {}) {
  const value = getPath(state.fields, path);
  const tag = attrs.choices ? "select" : "input";
  const input = el(tag, { "data-path": path, "data-testid": `pf-${path}`, autocomplete: "off",
                          ...(attrs.input || {}) });
  if (attrs.choices) {
    input.replaceChildren(...attrs.choices.map((c) => el("option", { value: c.value }, c.label)));
    input.value = value ?? "";
  } else if (read === READ.bool) {
    input.type = "checkbox";
    input.checked = Boolean(value);
  } else {
    input.value = Array.isArray(value) ? value.join(", ") : value ?? "";
  }
  input.addEventListener(tag === "select" || read === READ.bool ? "change" : "input", () => {
    setPath(state.fields, path, read(input));
    formChanged();
  });
  const kind = read === READ.bool ? "check" : "field";
  return el("label", { class: kind }, read === READ.bool ? [input, " ", label] : [label, input]);
}

/** Checkboxes for a set of values (grades) at ``path``. */
function choiceSet(legend, path, group) {
  const chosen = new Set(getPath(state.fields, path) || []);
  const boxes = state.words.choices(group).map((c) => {
    const box = el("input", { type: "checkbox", value: c.value, "data-testid": `pf-${path}-${c.value}` });
    box.checked = chosen.has(c.value);
    box.addEventListener("change", () => {
      const all = [...document.querySelectorAll(`[data-set="${CSS.escape(path)}"] input`)];
      setPath(state.fields, path, all.filter((b) => b.checked).map((b) => b.value));
      formChanged();
    });
    return el("label", { class: "check" }, box, " ", c.label);
  });
  return el("fieldset", { class: "set", "data-path": path, "data-set": path },
    el("legend", {}, legend), boxes);
}

function section(title, path, ...content) {
  return el("fieldset", { class: "section", "data-path": path }, el("legend", {}, title), content);
}

function button(text, onclick, testid) {
  return el("button", { type: "button", "data-testid": testid, onclick }, text);
}

/** A structural change (a row added or removed): rebuild the form, then ask for the draft. */
function restructure(change) {
  change();
  renderForm();
  formChanged();
}

function tierRow(tier, index, tiers) {
  const path = `tiers[${index}]`;
  const kind = tier.below != null ? "below" : tier.up_to != null ? "up_to" : "";
  const bound = el("select", { "data-testid": `pf-${path}.bound`, "data-path": `${path}.bound` },
    [["below", "under (exclusive)"], ["up_to", "up to (inclusive)"], ["", "no bound: the rest"]]
      .map(([value, label]) => el("option", { value }, label)));
  bound.value = kind;
  bound.addEventListener("change", () => restructure(() => {
    const amount = tier.below ?? tier.up_to ?? "";
    tier.below = null;
    tier.up_to = null;
    if (bound.value) tier[bound.value] = amount;
  }));
  const outcomes = ["auto_approve", "needs_approval"].map((v) => ({ value: v, label: word("effects", v) }));
  return el("fieldset", { class: "row", "data-path": path, "data-testid": "tier" },
    el("legend", {}, `Tier ${index + 1}`),
    field("Id", `${path}.id`, READ.text),
    el("label", { class: "field" }, "Bound", bound),
    kind ? field(`Amount (${state.fields.base_currency})`, `${path}.${kind}`, READ.decimal,
      { input: { inputmode: "decimal" } }) : "",
    field("Outcome", `${path}.outcome`, READ.choice, { choices: outcomes }),
    field("Approval level", `${path}.level`, READ.optionalInt, { input: { inputmode: "numeric" } }),
    field("Approver (words)", `${path}.approver`, READ.text),
    tiers.length > 1 ? button(`Remove tier ${index + 1}`, () => restructure(() => tiers.splice(index, 1)),
      "remove-tier") : "");
}

function marketRow(id, market, path, removable) {
  const title = id ? `${market.name || id} (${word("marketplaces", id)})` : "Any other marketplace and store sales";
  return el("fieldset", { class: "row", "data-path": path, "data-testid": "marketplace" },
    el("legend", {}, title),
    field("Name", `${path}.name`, READ.text),
    field("Time zone", `${path}.time_zone`, READ.text),
    field("Return window (days)", `${path}.return_window_days`, READ.int, { input: { inputmode: "numeric" } }),
    field("Withdrawal period (days, empty: none)", `${path}.withdrawal_days`, READ.optionalInt,
      { input: { inputmode: "numeric" } }),
    field("No refund once opened (categories, comma-separated)", `${path}.no_refund_once_opened`, READ.list),
    removable ? button(`Remove ${market.name || id}`,
      () => restructure(() => { delete state.fields.marketplaces[id]; }), "remove-marketplace") : "");
}

function addMarket() {
  const listed = new Set(Object.keys(state.fields.marketplaces));
  const free = state.words.choices("marketplaces").filter((m) => m.value !== "none" && !listed.has(m.value));
  if (!free.length) return "";
  const pick = el("select", { "data-testid": "add-marketplace-choice" },
    free.map((m) => el("option", { value: m.value }, m.label)));
  return el("div", { class: "adder" }, el("label", { class: "field" }, "Marketplace", pick),
    button("Add marketplace", () => restructure(() => {
      const base = state.fields.default_marketplace;
      state.fields.marketplaces[pick.value] = { ...base, name: word("marketplaces", pick.value),
        no_refund_once_opened: [...(base.no_refund_once_opened || [])] };
    }), "add-marketplace"));
}

function timingRow(rule, index, rules) {
  const path = `timing.rules[${index}]`;
  const channels = [{ value: "", label: "any channel" }, ...state.words.choices("channels")];
  return el("fieldset", { class: "row", "data-path": path, "data-testid": "timing-rule" },
    el("legend", {}, `Rule ${index + 1}`),
    field("Channel", `${path}.channel`, READ.choice, { choices: channels }),
    field("Category (empty: any)", `${path}.category`, (input) => input.value.trim() || null),
    field("Refund", `${path}.timing`, READ.choice, { choices: state.words.choices("timings") }),
    button(`Remove rule ${index + 1}`, () => restructure(() => rules.splice(index, 1)), "remove-rule"));
}

function fxRow(rate, index, rates) {
  const path = `fx_rates[${index}]`;
  return el("fieldset", { class: "row", "data-path": path, "data-testid": "fx-rate" },
    el("legend", {}, `Rate ${index + 1}`),
    field("Currency", `${path}.currency`, READ.upper, { input: { maxlength: "3" } }),
    field(`Rate (1 unit in ${state.fields.base_currency})`, `${path}.rate`, READ.decimal,
      { input: { inputmode: "decimal" } }),
    field("Source", `${path}.source`, READ.text),
    field("As of", `${path}.as_of`, READ.text, { input: { type: "date" } }),
    button(`Remove rate ${index + 1}`, () => restructure(() => rates.splice(index, 1)), "remove-fx-rate"));
}

function riskSection() {
  const risk = state.fields.risk;
  const frequent = el("input", { type: "checkbox", "data-testid": "pf-risk.frequent_refunder.on" });
  frequent.checked = risk.frequent_refunder != null;
  frequent.addEventListener("change", () => restructure(() => {
    risk.frequent_refunder = frequent.checked ? { count: 3, days: 30 } : null;
  }));
  return section("Risk thresholds (manual review)", "risk",
    el("label", { class: "check" }, frequent, " Review frequent refunders"),
    risk.frequent_refunder ? [
      field("Earlier refunds (at least)", "risk.frequent_refunder.count", READ.int, { input: { inputmode: "numeric" } }),
      field("Within (days)", "risk.frequent_refunder.days", READ.int, { input: { inputmode: "numeric" } }),
    ] : "",
    field("Scanned item is not the ordered item", "risk.item_mismatch", READ.bool),
    field("Refund above the amount paid", "risk.amount_over_paid", READ.bool),
    field("Order or customer flagged high-risk", "risk.high_risk_orders", READ.bool),
    choiceSet("Inspection grades that need a person", "risk.review_grades", "grades"));
}

/** Build the form from the draft's fields, keeping the focus on the field that had it. */
function renderForm() {
  const f = state.fields;
  const focused = document.activeElement?.dataset?.testid;
  const tiers = f.tiers;
  $("#policy-form").replaceChildren(
    section("Policy", "",
      field("Name", "name", READ.text),
      field("Base currency", "base_currency", READ.upper, { input: { maxlength: "3" } })),
    section("Tiers (in order; the last takes the rest)", "tiers",
      tiers.map((t, i) => tierRow(t, i, tiers)),
      button("Add tier", () => restructure(() => tiers.splice(Math.max(tiers.length - 1, 0), 0,
        { id: `tier_${tiers.length + 1}`, below: null, up_to: "", outcome: "needs_approval",
          level: 1, approver: null })), "add-tier")),
    section("Exchange rates ECB does not publish (ECB's reference rates come first)", "fx_rates",
      f.fx_rates.map((r, i) => fxRow(r, i, f.fx_rates)),
      button("Add rate", () => restructure(() => f.fx_rates.push(
        { currency: "", rate: "", source: "", as_of: "" })), "add-fx-rate")),
    riskSection(),
    section("Faulty goods (a warranty matter)", "faulty_grades",
      choiceSet("Grades that mean faulty", "faulty_grades", "grades")),
    section("Return windows and opened goods per marketplace", "marketplaces",
      Object.entries(f.marketplaces).map(([id, m]) => marketRow(id, m, `marketplaces.${id}`, true)),
      marketRow("", f.default_marketplace, "default_marketplace", false),
      addMarket()),
    section("Timing: when the money goes back", "timing",
      field("Default", "timing.default", READ.choice, { choices: state.words.choices("timings") }),
      f.timing.rules.map((r, i) => timingRow(r, i, f.timing.rules)),
      button("Add rule", () => restructure(() => f.timing.rules.push(
        { channel: null, category: "", timing: f.timing.default })), "add-rule")));
  if (focused) document.querySelector(`#policy-form [data-testid="${CSS.escape(focused)}"]`)?.focus();
  showProblems(state.problems);
}

// ---- load, simulate, publish ------------------------------------------------------------------

/** Show the active policy and its latest versions, and a fresh draft of the next version. */
export async function loadPolicy() {
  const [active, versions] = await Promise.all([api("GET", "/api/policy"),
    api("GET", "/api/policy/versions")]);
  $("[data-testid=policy-version]").textContent = `v${active.version} · ${active.name}`;
  $("[data-testid=policy-versions]").replaceChildren(...versions.slice(0, 8).map((v) =>
    el("li", {}, `v${v.version} · ${when(v.published_at)} · ${v.published_by}${v.reason ? ` · ${v.reason}` : ""}`)));
  clearSimulation();
  clearTimeout(state.timer);
  state.timer = null;
  state.problems = [];
  $("#policy-yaml").value = active.yaml;
  await requestDraft({ yaml: active.yaml }, true);
  $("#policy-view").dataset.ready = "true";
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
  await settled();
  if (!state.valid) {
    clearSimulation();
    toast("the draft has problems: see the marked fields", true);
    return;
  }
  const yaml = state.yaml;
  try {
    const days = Number.parseInt($("#sim-days").value, 10) || 30;
    const report = await api("POST", "/api/policy/simulate", { yaml, days });
    if (yaml !== state.yaml) return;  // the draft changed meanwhile: this report is not its own
    state.simulated = yaml;
    showReport(report);
    $("#publish").disabled = false;
  } catch (error) {
    clearSimulation();
    toast(problemsText(error), true);
  }
}

async function publishDraft() {
  const yaml = state.yaml;
  if (!state.valid || yaml !== state.simulated) { toast("simulate this version before publishing it", true); return; }
  try {
    const done = await writeOnce({ kind: "publish", method: "PUT", path: "/api/policy",
      body: { yaml, reason: $("#publish-reason").value.trim() || null }, done: "policy published" },
    [$("#publish")]);
    if (!done) return;
    toast(`policy version ${done.version} published`);
    await loadPolicy();
  } catch (error) { toast(problemsText(error), true); }
}

/** Wire the policy view's buttons and editor; ``words`` is the labels() of /api/options. */
export function wirePolicy(words) {
  state.words = words;
  $("#simulate").addEventListener("click", simulateDraft);
  $("#publish").addEventListener("click", publishDraft);
  $("#policy-form").addEventListener("submit", (event) => event.preventDefault());
  $("#policy-yaml").addEventListener("input", () => changed(() => ({ yaml: $("#policy-yaml").value }), true));
  $("#policy-yaml").addEventListener("change", async () => {  // left: show the draft as the hub wrote it
    await settled();
    if (document.activeElement !== $("#policy-yaml")) $("#policy-yaml").value = state.yaml;
  });
}
