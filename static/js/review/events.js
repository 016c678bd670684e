// The event list: rows rendered by the server, new rows added live, filters by type and severity,
// and the reviewer's confirm / dismiss (a dismissal needs a reason, asked in a dialog).

import { ApiError, NetworkError, apiFetch } from "../api.js";
import {
  formatConfidence,
  formatLength,
  formatOffset,
  localTime,
  severityLabel,
  typeLabel,
} from "./format.js";


function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The markup of templates/proctoring/session_detail.html's event rows, for rows that arrive later. */
function buildRow(event, startMs) {
  const row = el("tr");
  row.dataset.eventId = event.id;
  row.dataset.at = event.timestamp;
  const time = el("td", "ev-time");
  time.append(el("span", "ev-offset", `+${formatOffset((Date.parse(event.timestamp) - startMs) / 1000)}`));
  const clock = el("time", "ev-clock", localTime(event.timestamp));
  clock.dateTime = event.timestamp;
  time.append(clock);
  const what = el("td", "ev-what");
  what.append(el("span", "ev-label"), el("span", "ev-details"));
  const severity = el("td");
  severity.append(el("span", "sev"));
  const review = el("td", "ev-review");
  const state = el("span", "review-state");
  const by = el("span", "review-by");
  const buttons = el("td", "review-buttons");
  const confirm = el("button", "small", gettext("Confirm"));
  confirm.type = "button";
  confirm.dataset.review = "confirmed";
  const dismiss = el("button", "small", gettext("Dismiss…"));
  dismiss.type = "button";
  dismiss.dataset.review = "dismissed";
  buttons.append(confirm, dismiss);
  review.append(state, by);
  row.append(
    time,
    what,
    severity,
    el("td", "ev-source"),
    el("td", "ev-num ev-confidence"),
    el("td", "ev-num ev-duration"),
    review,
    buttons,
  );
  return row;
}

/** reviewLabels: each review status in words ("none": a record, nothing to confirm or dismiss). */
function fillRow(row, event, reviewLabels) {
  row.dataset.type = event.type;
  row.dataset.severity = event.severity;
  row.dataset.review = event.reviewStatus;
  const label = row.querySelector(".ev-label");
  label.textContent = event.label || typeLabel(event.type);
  if (event.snapshotUrl && !row.querySelector(".snap-link")) {
    const link = el("a", "snap-link", gettext("snapshot"));
    link.href = event.snapshotUrl;
    link.target = "_blank";
    link.rel = "noopener";
    label.after(link);
  }
  // In words, from the server (proctoring/wording.py), as the first rows and the PDF say them.
  row.querySelector(".ev-details").textContent = event.summary || "";
  const sev = row.querySelector(".sev");
  sev.className = `sev sev-${event.severity}`;
  sev.textContent = severityLabel(event.severity);
  row.querySelector(".ev-source").textContent = event.sourceText || event.source;
  row.querySelector(".ev-confidence").textContent = formatConfidence(event.confidence);
  row.querySelector(".ev-duration").textContent = formatLength(event.durationSeconds);
  const state = row.querySelector(".review-state");
  state.dataset.state = event.reviewStatus;
  state.textContent = reviewLabels[event.reviewStatus] || event.reviewStatus;
  const by = [event.reviewedBy && interpolate(gettext("by %s"), [event.reviewedBy]), event.reviewReason].filter(Boolean).join(" · ");
  row.querySelector(".review-by").textContent = by;
  const buttons = [...row.querySelectorAll("[data-review]")];
  const focused = buttons.find((button) => button === document.activeElement);
  for (const button of buttons) {
    button.hidden = event.reviewStatus === button.dataset.review || event.reviewStatus === "none";
  }
  // The button a keyboard user just pressed goes once the alert is reviewed: the row's other
  // review button takes the focus, rather than the page's body.
  if (focused?.hidden) buttons.find((button) => !button.hidden)?.focus();
}

/**
 * onReviewed(event, status, reason): a review was saved (the page records it in the audit trail).
 * onFilter(): the filters changed (the chart follows them).
 */
export function createEventList({
  table,
  typeFilter,
  severityFilter,
  countEl,
  emptyEl,
  dialog,
  reviewUrl,
  startedAt,
  me,
  reviewLabels,
  dismissReasons,
  onReviewed,
  onFilter,
}) {
  const tbody = table.tBodies[0];
  const startMs = Date.parse(startedAt);
  const rows = new Map([...tbody.rows].map((row) => [Number(row.dataset.eventId), row]));
  const known = new Set([...typeFilter.options].map((option) => option.value));

  function visible(event) {
    return (
      (!typeFilter.value || event.type === typeFilter.value) &&
      (!severityFilter.value || event.severity === severityFilter.value)
    );
  }

  function applyFilters() {
    let shown = 0;
    for (const row of rows.values()) {
      row.hidden = !visible({ type: row.dataset.type, severity: row.dataset.severity });
      if (!row.hidden) shown += 1;
    }
    countEl.textContent = shown === rows.size ? String(rows.size) : `${shown} of ${rows.size}`;
    emptyEl.hidden = rows.size > 0;
    table.hidden = rows.size === 0;
  }

  /** Add or refresh the rows of `events` (already merged by the page), keeping time order. */
  function upsert(events) {
    for (const event of events) {
      let row = rows.get(event.id);
      if (!row) {
        row = buildRow(event, startMs);
        const at = Date.parse(event.timestamp);
        const later = [...tbody.rows].find((other) => Date.parse(other.dataset.at) > at);
        tbody.insertBefore(row, later || null);
        rows.set(event.id, row);
        row.classList.add("is-new");
        if (!known.has(event.type)) {
          known.add(event.type);
          typeFilter.append(new Option(typeLabel(event.type), event.type));
        }
      }
      fillRow(row, event, reviewLabels);
    }
    applyFilters();
  }

  function highlight(eventId) {
    const row = rows.get(eventId);
    if (!row) return;
    if (row.hidden) {
      typeFilter.value = "";
      severityFilter.value = "";
      applyFilters();
      onFilter();
    }
    row.scrollIntoView({ behavior: "smooth", block: "center" });
    row.classList.remove("is-picked");
    void row.offsetWidth; // restart the highlight animation
    row.classList.add("is-picked");
  }

  async function review(eventId, status, reason, row) {
    // aria-disabled, not disabled, while it is sent: a disabled button drops the keyboard focus.
    const buttons = [...row.querySelectorAll("[data-review]")];
    if (buttons.some((b) => b.getAttribute("aria-disabled") === "true")) return;
    buttons.forEach((b) => b.setAttribute("aria-disabled", "true"));
    try {
      await apiFetch(reviewUrl.replace("{id}", eventId), { method: "POST", json: { status, reason } });
      onReviewed(eventId, status, reason, me);
    } catch (error) {
      const refused = error instanceof ApiError && !(error instanceof NetworkError);
      const message = refused ? error.message : gettext("The review could not be sent; try again.");
      row.querySelector(".review-by").textContent = message;
    } finally {
      buttons.forEach((b) => b.removeAttribute("aria-disabled"));
    }
  }

  tbody.addEventListener("click", (clickEvent) => {
    const button = clickEvent.target.closest("button[data-review]");
    if (!button || button.getAttribute("aria-disabled") === "true") return;
    const row = button.closest("tr");
    const eventId = Number(row.dataset.eventId);
    if (button.dataset.review === "confirmed") {
      review(eventId, "confirmed", "", row);
      return;
    }
    const form = dialog.querySelector("form");
    form.reset();
    dialog.querySelector("[data-dialog-event]").textContent = row.querySelector(".ev-label").textContent;
    // The reasons that fit this kind of alert (a voice is not "nothing on camera").
    const presets = dialog.querySelector("[data-dialog-presets]");
    presets.replaceChildren(
      ...dismissReasons(row.dataset.type).map((reason) => {
        const button = el("button", "preset small", reason);
        button.type = "button";
        button.addEventListener("click", () => {
          form.elements.reason.value = reason;
          form.elements.reason.focus();
        });
        return button;
      }),
    );
    presets.hidden = presets.childElementCount === 0;
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.returnValue !== "dismiss") return;
      review(eventId, "dismissed", form.elements.reason.value.trim(), row);
    };
    dialog.showModal();
  });

  typeFilter.addEventListener("change", () => {
    applyFilters();
    onFilter();
  });
  severityFilter.addEventListener("change", () => {
    applyFilters();
    onFilter();
  });
  applyFilters();

  return { upsert, highlight, visible };
}
