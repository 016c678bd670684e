// The start page of an exam a proctor admits each student to (docs/PROTOCOL.md, "Admission"):
// ask to be admitted, wait while a proctor looks at the identity check (the page asks the server
// every few seconds), then show the Start button. A denial shows the proctor's reason.

import { ApiError, apiFetch } from "./api.js";
import { formatDateTime } from "./local-time.js";

const boot = JSON.parse(document.getElementById("admission-bootstrap").textContent);
const panel = document.getElementById("admission-panel");
const statusBox = document.getElementById("admission-status");
const requestButton = document.getElementById("admission-request");
const startForm = document.getElementById("start-form");

let timer = 0;

function say(kind, text) {
  statusBox.className = kind ? `status ${kind}` : "status";
  statusBox.textContent = text;
  statusBox.hidden = !text;
}

function offerRequest(label) {
  requestButton.textContent = label;
  requestButton.hidden = false;
  requestButton.disabled = false;
}

function render(admission) {
  panel.dataset.state = admission.status;
  startForm.hidden = admission.status !== "admitted";
  requestButton.hidden = true;
  clearTimeout(timer);
  switch (admission.status) {
    case "pending":
      say("", gettext("Waiting for a proctor to admit you… Keep this page open: it updates by itself."));
      timer = setTimeout(refresh, boot.pollMs);
      break;
    case "admitted": {
      say(
        "ok",
        interpolate(gettext("A proctor admitted you. Start the exam before %s."), [formatDateTime(admission.expiresAt)]),
      );
      // An admission lasts a few minutes: past it, show the way to ask again.
      const left = new Date(admission.expiresAt).getTime() - Date.now();
      timer = setTimeout(refresh, Math.max(left, 0) + 1000);
      break;
    }
    case "denied":
      say("warn", interpolate(gettext("A proctor did not admit you: %s"), [admission.reason]));
      offerRequest(gettext("Ask again"));
      break;
    case "expired":
      say("warn", gettext("Your admission expired before you started. Ask again, and press Start once admitted."));
      offerRequest(gettext("Ask again"));
      break;
    case "lapsed":
      // Still on this page, so still waiting: ask again for them, back into the proctors' list.
      say("", gettext("Still waiting for a proctor… Keep this page open: it updates by itself."));
      requestAgain();
      break;
    default: // none yet, or the last one was used for an earlier attempt
      say("", "");
      offerRequest(gettext("Request admission"));
  }
}

function showError(error) {
  if (!(error instanceof ApiError)) throw error;
  if (error.status === 401 || error.status === 403) {
    say("warn", gettext("Your login has expired. Log in again, then come back to this page."));
    return;
  }
  if (error.code === "CHECKS_REQUIRED") {
    location.reload(); // the page then lists the steps still to do
    return;
  }
  say("warn", error.transient ? gettext("Could not reach Procto. Trying again…") : error.message);
  if (error.transient) timer = setTimeout(refresh, boot.pollMs);
  else if (panel.dataset.state !== "pending") offerRequest(requestButton.textContent || gettext("Request admission"));
}

async function refresh() {
  clearTimeout(timer);
  try {
    render(await apiFetch(boot.statusUrl, { method: "GET" }));
  } catch (error) {
    showError(error);
  }
}

async function requestAgain() {
  requestButton.disabled = true;
  try {
    render(await apiFetch(boot.statusUrl, { method: "POST" }));
  } catch (error) {
    requestButton.disabled = false;
    showError(error);
  }
}

requestButton.addEventListener("click", requestAgain);
// Back on the page from the browser's cache: the decision may have come meanwhile.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) refresh();
});
render(boot.initial);
