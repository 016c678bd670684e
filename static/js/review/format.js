// Words, times and colours as the review page shows them. The server renders the first rows with
// the same rules (proctoring/selectors.py details_summary, action_entry); these are for the rows
// that arrive live or after an action.

export { SEVERITIES, formatTimeLeft, typeLabel } from "../monitor/format.js";

// Readable on white and distinct for the common colour-vision deficiencies (luminance differs too).
export const SEVERITY_COLOURS = {
  info: "#0e7490",
  low: "#64748b",
  medium: "#d97706",
  high: "#dc2626",
  critical: "#7e22ce",
};

const UNSHOWN_DETAIL_KEYS = new Set(["frameSeq", "audioSeq", "source", "silent"]);

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

function valueText(value) {
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number" && !Number.isInteger(value)) return String(Math.round(value * 10) / 10);
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value)
      .map(([key, inner]) => `${key} ${valueText(inner)}`)
      .join(", ");
  }
  return String(value).slice(0, 60);
}

/** The details a reviewer reads, never the sequence numbers (as details_summary on the server). */
export function detailsSummary(details) {
  if (!details || typeof details !== "object") return "";
  const empty = (value) =>
    value === null || value === "" || (typeof value === "object" && Object.keys(value).length === 0);
  return Object.entries(details)
    .filter(([key, value]) => !UNSHOWN_DETAIL_KEYS.has(key) && !empty(value))
    .map(([key, value]) => `${key} ${valueText(value)}`)
    .join(" · ")
    .slice(0, 200);
}

/** An audit-trail line for an action the API just returned (as action_entry on the server). */
export function actionEntry({ id, kind, details = {}, createdAt }, actor) {
  const titles = {
    warn: ["Sent a message", details.message],
    terminate: ["Ended the session", details.reason],
    note: ["Added a note", details.text],
    "extend-time": [`Extended the time by ${details.minutes} min`, ""],
    export: [`Exported the record as ${String(details.format || "").toUpperCase()}`, ""],
    "review-alert": [
      `${details.status === "confirmed" ? "Confirmed" : "Dismissed"} alert #${details.event}`,
      details.reason,
    ],
  };
  const [title, text] = titles[kind] || [kind, ""];
  return { id, kind, title, text: text || "", actor, createdAt };
}
