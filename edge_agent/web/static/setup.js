// ACORN setup page: what a store machine with no identity shows while it pairs
// (`acorn-edge pair`). It reads GET /api/setup and shows the pairing code for the technician to
// enter on the HQ desk; once paired, the agent takes over this address and the page opens the
// counter page. Reading every second is the only way: the pairing server has no event stream.

const $ = (sel) => document.querySelector(sel);
const PRINTED = { true: "printed", false: "could not print: read the code here", null: "none set" };

function show(s) {
  $("#setup-code").textContent = s.code || "";
  $("#setup-code").dataset.state = s.state;
  $("#setup-message").textContent = s.message || "";
  $("#setup-hub").textContent = s.hub || "";
  $("#setup-expires").textContent = s.expires_at || "";
  $("#setup-serial").textContent = s.serial || "";
  $("#setup-printed").textContent = PRINTED[String(s.printed)] ?? "";
}

async function refresh() {
  let next = 1000;
  try {
    const answer = await fetch("/api/setup", { cache: "no-store" });
    if (answer.ok) {
      const s = await answer.json();
      show(s);
      if (s.state === "paired") next = 0;
    } else if (answer.status === 404) {
      next = 0; // the agent answers here now: it has its identity
    }
  } catch {
    // the setup server stopped and the agent is starting: try again
  }
  if (next === 0) {
    setTimeout(openCounter, 2000);
    return;
  }
  setTimeout(refresh, next);
}

async function openCounter() {
  try {
    const health = await fetch("/api/health", { cache: "no-store" });
    if (health.ok) {
      window.location.assign("/");
      return;
    }
  } catch {
    // not up yet
  }
  setTimeout(openCounter, 1000);
}

refresh();
