// The proctor actions panel (send a message, add a note, extend the time, end the exam) and the
// audit trail beside it. Each form posts to POST /api/exam-sessions/<id>/actions (docs/PROTOCOL.md,
// "Proctor actions"); the audited action comes back and is put at the top of the trail.

import { ApiError, NetworkError, apiFetch } from "../api.js";
import { actionEntry, localDateTime } from "./format.js";

const DONE_TEXT = {
  warn: gettext("Message sent: it is on the student's screen now."),
  note: gettext("Note added."),
  extend: gettext("Time extended."),
  terminate: gettext("The exam has been ended."),
};

function requestBody(action, fields) {
  switch (action) {
    case "warn":
      return { type: "warn", message: fields.message.value.trim() };
    case "note":
      return { type: "note", text: fields.text.value.trim() };
    case "extend":
      return { type: "extend-time", minutes: Number(fields.minutes.value) };
    default:
      return { type: "terminate", reason: fields.reason.value.trim() };
  }
}

function errorText(error) {
  if (!(error instanceof ApiError) || error instanceof NetworkError) {
    return gettext("The action could not be sent; check the connection and try again.");
  }
  const details =
    error.details && typeof error.details === "object" ? Object.values(error.details).flat() : [];
  return [error.message, ...details.filter((d) => typeof d === "string")].join(" ");
}

/** The trail's list item, as the server renders it. */
export function auditItem(entry) {
  const item = document.createElement("li");
  item.dataset.kind = entry.kind;
  const title = document.createElement("p");
  title.className = "audit-title";
  title.textContent = entry.title;
  item.append(title);
  if (entry.text) {
    const text = document.createElement("p");
    text.className = "audit-text";
    text.textContent = entry.text;
    item.append(text);
  }
  const meta = document.createElement("p");
  meta.className = "audit-meta";
  const when = document.createElement("time");
  when.dateTime = entry.createdAt;
  when.textContent = localDateTime(entry.createdAt);
  meta.append(`${entry.actor} · `, when);
  item.append(meta);
  return item;
}

/**
 * onDone(action, result): an action was saved; the page updates the clock or the status.
 * Returns { record(entry) } to add entries from elsewhere (reviews) and { setOpen(bool) }.
 */
export function createActionsPanel({ panel, auditList, auditEmpty, confirmDialog, actionsUrl, me, onDone }) {
  const status = panel.querySelector("[data-action-status]");

  function record(entry) {
    const item = auditItem(entry);
    item.classList.add("is-new");
    auditList.prepend(item);
    auditEmpty.hidden = true;
  }

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  }

  async function send(form) {
    const action = form.dataset.action;
    const button = form.querySelector("button[type=submit]");
    // aria-disabled, not disabled, while it is sent: a disabled button drops the keyboard focus
    // on the page's body, and a keyboard user would have to find their way back from the top.
    if (button.getAttribute("aria-disabled") === "true") return;
    button.setAttribute("aria-disabled", "true");
    say("");
    try {
      const result = await apiFetch(actionsUrl, { method: "POST", json: requestBody(action, form.elements) });
      record(actionEntry(result, me));
      form.reset();
      say(DONE_TEXT[action]);
      onDone(action, result);
    } catch (error) {
      say(errorText(error), true);
    } finally {
      button.removeAttribute("aria-disabled");
      button.disabled = form.dataset.closed === "true";
    }
  }

  for (const form of panel.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", (submitEvent) => {
      submitEvent.preventDefault();
      if (form.querySelector("button[type=submit]").getAttribute("aria-disabled") === "true") return;
      if (form.dataset.action !== "terminate") {
        send(form);
        return;
      }
      // Ending an exam cannot be undone: ask once more, showing the reason the student will read.
      confirmDialog.querySelector("[data-confirm-reason]").textContent = form.elements.reason.value.trim();
      confirmDialog.returnValue = "";
      confirmDialog.onclose = () => {
        if (confirmDialog.returnValue === "end") send(form);
      };
      confirmDialog.showModal();
    });
  }

  /** After the session ends only notes make sense; the other forms are disabled with a reason. */
  function setOpen(open) {
    const focused = document.activeElement;
    for (const form of panel.querySelectorAll("form[data-action]")) {
      if (form.dataset.action === "note") continue;
      form.dataset.closed = String(!open);
      for (const control of form.elements) control.disabled = !open;
    }
    const note = panel.querySelector("[data-closed-note]");
    note.hidden = open;
    // The control that had the focus (End exam, just used) is disabled now: the focus goes to
    // the note that says why, not to the page's body.
    if (!open && focused?.disabled) {
      note.tabIndex = -1;
      note.focus();
    }
  }

  return { record, setOpen };
}
