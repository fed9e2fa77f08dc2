// Evidence in a refund's story: the photos taken at the counter and the documents and buyer
// messages attached at the desk (GET /api/evidence), a photo shown as a picture, anything else as
// a link; and the form that attaches a file (POST /api/evidence, the file itself as the body).
//
// Rules: everything from the hub is written as text; the hub checks the size and the type on the
// content (413 / 415 come back as a sentence under the form); one upload per click.

import { $, api, el, when } from "./common.js";

const content = (e) => `/api/evidence/${encodeURIComponent(e.evidence_id)}/content`;

function item(e) {
  const what = `${e.kind} · ${e.source} · ${when(e.recorded_at)} · ${e.recorded_by} · ${e.size} bytes · sha256 ${e.sha256.slice(0, 12)}…`;
  if (e.purged_at) return el("li", { "data-testid": "evidence-item" }, `${what} · purged ${when(e.purged_at)}`);
  const shown = e.media_type.startsWith("image/")
    ? el("a", { href: content(e), target: "_blank" },
         el("img", { src: content(e), alt: `${e.kind} ${e.evidence_id}`, class: "evidence-photo",
                     "data-testid": "evidence-photo", loading: "lazy", width: "160" }))
    : el("a", { href: content(e), download: "", "data-testid": "evidence-link" }, e.note || e.media_type);
  return el("li", { "data-testid": "evidence-item", "data-kind": e.kind, "data-source": e.source },
    shown, el("div", { class: "muted" }, what));
}

async function upload(refund, form, list, problem) {
  const file = form.file.files[0];
  if (!file) { problem.textContent = "choose a file first"; return; }
  const button = form.querySelector("button");
  button.disabled = true;
  problem.textContent = "";
  try {
    const { csrf } = await api("GET", "/api/session");
    const query = new URLSearchParams({ store: refund.store_id, return_id: refund.return_id,
      refund_id: refund.refund_id, kind: form.kind.value, note: file.name.slice(0, 500) });
    const answer = await fetch(`/api/evidence?${query}`, { method: "POST", body: file,
      credentials: "same-origin", headers: { "Content-Type": file.type || "application/octet-stream", "X-CSRF-Token": csrf } });
    const data = await answer.json();
    if (!answer.ok) throw new Error((data.detail && data.detail[0] && data.detail[0].message) || `upload failed (${answer.status})`);
    form.reset();
    await fill(refund, list);
  } catch (error) { problem.textContent = error.message; }
  finally { button.disabled = false; }
}

async function fill(refund, list) {
  const query = new URLSearchParams({ store: refund.store_id, return_id: refund.return_id });
  const found = await api("GET", `/api/evidence?${query}`);
  list.replaceChildren(...(found.length ? found.map(item)
    : [el("li", { class: "muted" }, "no photos or documents yet")]));
}

/** The story's Evidence section for ``refund`` (filled as the list arrives). */
export function evidenceSection(refund) {
  const list = el("ul", { "data-testid": "evidence" });
  const problem = el("p", { class: "error", role: "alert", "data-testid": "evidence-problem" });
  const form = el("form", { class: "bar", "data-testid": "evidence-form" },
    el("label", {}, "Attach ", el("select", { name: "kind", "data-testid": "evidence-kind" },
      el("option", { value: "document" }, "document"), el("option", { value: "message" }, "buyer message"),
      el("option", { value: "photo" }, "photo"))),
    el("label", {}, "File ", el("input", { type: "file", name: "file", "data-testid": "evidence-file",
      accept: "image/jpeg,image/png,image/webp,application/pdf,text/plain" })),
    el("button", { type: "submit", "data-testid": "evidence-attach" }, "Attach"));
  form.addEventListener("submit", (event) => { event.preventDefault(); upload(refund, form, list, problem); });
  fill(refund, list).catch((error) => { problem.textContent = error.message; });
  return [el("h3", {}, "Evidence"), list, form, problem];
}
