// Photos of the open return (issue 15 point 6): taken with the tablet's camera through the page
// (getUserMedia) or by the tablet's own camera app (<input type=file capture>), scaled down to a
// JPEG that fits one message, and kept at this node (POST /api/returns/{id}/photos): the node
// sends them to the hub with the return's other events, whenever the hub can be reached.
//
// Rules: each photo gets its own id before it is sent, so a retried upload is the same photo;
// the camera is stopped when the photo is taken or the return changes; what the node answers is
// written as text; a refusal (413, 415) is shown as the page's error.

import { $, api, el, showError, state, t } from "./common.js";

const MAX_BYTES = 180 * 1024;  // protocol.limits.MAX_EVIDENCE_BYTES
const MAX_SIDE = 1280;
let stream = null;
let shownFor = null;

function stopCamera() {
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  $("#photo-video").hidden = true;
  $("#photo-snap").hidden = true;
}

/** ``source`` (a video or an image) as a JPEG Blob no larger than one message may carry. */
async function jpegOf(source, width, height) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
  for (const quality of [0.85, 0.7, 0.55, 0.4, 0.25]) {
    const blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", quality));
    if (blob && blob.size <= MAX_BYTES) return blob;
  }
  throw new Error("the photo cannot be made small enough");
}

function newId() {
  return (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`)
    .replace(/[^A-Za-z0-9]/g, "");
}

async function keep(blob) {
  const id = state.current && state.current.return_id;
  if (!id) return;
  showError(null);
  $("#photo-count").textContent = t("photo_saving");
  const evidenceId = newId();
  const path = `/api/returns/${encodeURIComponent(id)}/photos?evidence_id=${evidenceId}`;
  let answer = null;
  for (let attempt = 0; attempt < 3 && !answer; attempt += 1) {
    try {  // the same id each time: a retry after a lost answer keeps one photo
      answer = await fetch(path, { method: "POST", body: blob, headers: { "Content-Type": "image/jpeg" } });
    } catch (error) { if (attempt === 2) { showError(error); return; } }
  }
  if (!answer.ok) {
    const data = await answer.json().catch(() => ({}));
    showError(new Error((data.detail && data.detail[0] && data.detail[0].message) || answer.statusText));
  }
  await list(id);
}

async function list(returnId) {
  try {
    const photos = await api("GET", `/api/returns/${encodeURIComponent(returnId)}/photos`);
    if (!state.current || state.current.return_id !== returnId) return;
    $("#photo-count").textContent = photos.length ? t("photo_count", { n: photos.length }) : "";
    $("#photo-list").replaceChildren(...photos.map((p) => el("img", "", {
      src: `/api/photos/${p.sha256}`, alt: p.evidence_id, width: "96", class: "photo",
      "data-testid": "photo-thumb", "data-evidence": p.evidence_id })));
  } catch (error) { /* offline agent: the header says so */ }
}

async function openCamera() {
  showError(null);
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    const video = $("#photo-video");
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    $("#photo-snap").hidden = false;
  } catch (error) { stopCamera(); showError(error); }
}

async function snap() {
  const video = $("#photo-video");
  try {
    const blob = await jpegOf(video, video.videoWidth, video.videoHeight);
    stopCamera();
    await keep(blob);
  } catch (error) { showError(error); }
}

async function fromFile(event) {
  const file = event.target.files[0];
  if (!file) return;
  try {
    const picture = await createImageBitmap(file);
    await keep(await jpegOf(picture, picture.width, picture.height));
  } catch (error) { showError(error); }
  event.target.value = "";
}

/** The open return changed (or was read again): show its photos. */
export function showPhotos(ret) {
  if (shownFor !== ret.return_id) stopCamera();
  shownFor = ret.return_id;
  list(ret.return_id);
}

$("#photo-camera").addEventListener("click", openCamera);
$("#photo-snap").addEventListener("click", snap);
$("#photo-input").addEventListener("change", fromFile);
