// The sign-in page: show the refusal after a failed sign-in (the server redirects to
// /login?failed=1), or how long to wait when the sign-in throttle holds the username or this
// address back (/login?locked=<seconds>). The form itself posts without script.

import { $, minutesText } from "./common.js";

const query = new URLSearchParams(location.search);
if (query.has("failed")) {
  $("#failed").hidden = false;
}
const lockedSeconds = Number.parseInt(query.get("locked") || "", 10);
if (lockedSeconds > 0) {
  $("#locked-wait").textContent = minutesText(lockedSeconds);
  $("#locked").hidden = false;
}
