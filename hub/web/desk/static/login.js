// Show the refusal after a failed sign-in (the server redirects to /login?failed=1), or how long
// to wait when the sign-in throttle holds the username or this address back (/login?locked=<s>).
"use strict";
const query = new URLSearchParams(location.search);
if (query.has("failed")) {
  document.getElementById("failed").hidden = false;
}
const lockedSeconds = Number.parseInt(query.get("locked") || "", 10);
if (lockedSeconds > 0) {
  const minutes = Math.ceil(lockedSeconds / 60);
  document.getElementById("locked-wait").textContent =
    minutes === 1 ? "1 minute" : `${minutes} minutes`;
  document.getElementById("locked").hidden = false;
}
