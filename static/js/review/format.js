// Words, times and colours as the review page shows them. What an event's details say is the
// server's (proctoring/wording.py: the first rows, the socket's messages and the PDF); these are
// for the times and the audit-trail lines of this page's own actions (as action_text there).

export { SEVERITIES, formatTimeLeft, setTypeLabels, severityLabel, typeLabel } from "../monitor/format.js";

// Readable on white and distinct for the common colour-vision deficiencies (luminance differs too).
export const SEVERITY_COLOURS = {
  info: "#0e7490",
  low: "#64748b",
  medium: "#b45309",
  high: "#dc2626",
  critical: "#7e22ce",
};

/** h:mm:ss or m:ss from a number of seconds. */
export function formatOffset(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

/** "4 s", "2 min 05 s"; "" for an instant. */
export function formatLength(totalSeconds) {
  const s = Math.round(totalSeconds || 0);
  if (s <= 0) return "";
  if (s < 60) return `${s} s`;
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

export function formatConfidence(confidence) {
  return confidence === null || confidence === undefined ? "" : `${Math.round(confidence * 100)}%`;
}

// In the viewer's zone, as the server renders the first rows (procto/local_time.py).
export { formatClock as localTime, formatDateTime as localDateTime } from "../local-time.js";

/** An audit-trail line for an action the API just returned (as action_entry on the server). */
export function actionEntry({ id, kind, details = {}, createdAt }, actor) {
  const titles = {
    warn: [gettext("Sent a message"), details.message],
    terminate: [gettext("Ended the session"), details.reason],
    note: [gettext("Added a note"), details.text],
    "extend-time": [interpolate(gettext("Extended the time by %s min"), [details.minutes]), ""],
    export: [interpolate(gettext("Exported the record as %s"), [String(details.format || "").toUpperCase()]), ""],
    "review-alert": [
      interpolate(
        details.status === "confirmed" ? gettext("Confirmed alert #%s") : gettext("Dismissed alert #%s"),
        [details.event],
      ),
      details.reason,
    ],
  };
  const [title, text] = titles[kind] || [kind, ""];
  return { id, kind, title, text: text || "", actor, createdAt };
}
