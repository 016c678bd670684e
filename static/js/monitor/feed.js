// The live alert feed: newest first, at most FEED_LIMIT entries. Entries are keyed by event id,
// so the same alert arriving live and again in a catch-up shows once, and a review updates the
// entry where it is.

import { FEED_LIMIT } from "./store.js";
import { formatClock, severityLabel, severityRank, typeLabel } from "./format.js";

const STATUS_LABELS = { open: "", confirmed: gettext("Confirmed"), dismissed: gettext("Dismissed") };

export function createFeed({ listEl, templateEl, emptyEl, countEl, store, sessionUrl }) {
  const entries = new Map(); // event id -> { root, fields, shown }
  let minSeverity = "";

  function build(event) {
    const root = templateEl.content.firstElementChild.cloneNode(true);
    root.dataset.eventId = String(event.id);
    root.dataset.sessionId = event.sessionId;
    const fields = {};
    for (const el of root.querySelectorAll("[data-field]")) fields[el.dataset.field] = el;
    const at = new Date(event.timestamp);
    fields.time.dateTime = event.timestamp;
    fields.time.textContent = Number.isNaN(at.getTime()) ? "" : formatClock(at);
    fields.severity.textContent = severityLabel(event.severity);
    fields.severity.dataset.severity = event.severity;
    fields.type.textContent = typeLabel(event.type);
    fields.student.href = sessionUrl(event.sessionId);
    root.dataset.severity = event.severity;
    return { root, fields, shown: {} };
  }

  function showSession(entry, event) {
    const name = store.studentName(event.sessionId, event);
    if (entry.shown.name !== name) {
      entry.shown.name = name;
      entry.fields.student.textContent = name;
    }
    // Warning the student only makes sense while their session is on the grid.
    const canWarn = store.sessions.has(event.sessionId);
    if (entry.shown.canWarn !== canWarn) {
      entry.shown.canWarn = canWarn;
      entry.fields.actions.querySelector("[data-action=warn]").hidden = !canWarn;
    }
  }

  function update(entry, event) {
    showSession(entry, event);
    if (entry.shown.status === event.reviewStatus) return;
    entry.shown.status = event.reviewStatus;
    entry.root.dataset.reviewStatus = event.reviewStatus;
    entry.fields.status.textContent = STATUS_LABELS[event.reviewStatus] ?? event.reviewStatus;
    const open = event.reviewStatus === "open";
    const buttons = [...entry.fields.actions.querySelectorAll("[data-action=confirm],[data-action=dismiss]")];
    const focused = buttons.includes(document.activeElement);
    for (const button of buttons) button.hidden = !open;
    // The button a keyboard user just pressed goes with the open alert: keep them on this entry.
    if (focused && !open) entry.fields.student.focus();
  }

  function hiddenBySeverity(event) {
    return Boolean(minSeverity) && severityRank(event.severity) < severityRank(minSeverity);
  }

  /** Show the given events (new or changed), newest first, and trim the oldest beyond the cap. */
  function render(eventIds) {
    const fresh = [];
    for (const id of eventIds) {
      const event = store.events.get(id);
      if (!event) continue;
      let entry = entries.get(id);
      if (!entry) {
        entry = build(event);
        entries.set(id, entry);
        fresh.push(id);
      }
      update(entry, event);
      entry.root.hidden = hiddenBySeverity(event);
    }
    if (fresh.length) {
      // Ids grow with time. Newest first, each new entry goes before the first older one; the
      // new ids are taken in the same order, so one walk down the list places them all.
      fresh.sort((a, b) => b - a);
      let next = listEl.firstElementChild;
      for (const id of fresh) {
        while (next && Number(next.dataset.eventId) > id) next = next.nextElementSibling;
        listEl.insertBefore(entries.get(id).root, next);
      }
      while (entries.size > FEED_LIMIT) {
        const last = listEl.lastElementChild;
        entries.delete(Number(last.dataset.eventId));
        last.remove();
      }
    }
    summarize();
  }

  function summarize() {
    let open = 0;
    for (const [id] of entries) if (store.events.get(id)?.reviewStatus === "open") open += 1;
    emptyEl.hidden = entries.size > 0;
    countEl.textContent = entries.size ? interpolate(gettext("%s open"), [open]) : "";
    countEl.title = interpolate(gettext("Open alerts among the newest %s shown"), [entries.size]);
  }

  return {
    render,
    setMinSeverity(value) {
      minSeverity = value || "";
      for (const [id, entry] of entries) {
        const event = store.events.get(id);
        if (event) entry.root.hidden = hiddenBySeverity(event);
      }
    },
    /** After sessions come or go: names resolve, warn buttons follow the grid. */
    refreshSessions() {
      for (const [id, entry] of entries) {
        const event = store.events.get(id);
        if (event) showSession(entry, event);
      }
    },
  };
}
