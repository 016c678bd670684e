// Words and numbers as the monitor shows them.

// "info" is a record, not an alert (a page reload): the monitor never receives one, the review
// page shows them.
export const SEVERITIES = ["info", "low", "medium", "high", "critical"];

export function severityRank(severity) {
  const rank = SEVERITIES.indexOf(severity);
  return rank < 0 ? 0 : rank;
}

export function isUrgent(severity) {
  return severityRank(severity) >= severityRank("high");
}

let typeLabels = {};

export function setTypeLabels(labels) {
  typeLabels = labels || {};
}

export function typeLabel(type) {
  if (typeLabels[type]) return typeLabels[type];
  const words = String(type).replace(/-/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Minutes while there is time; minutes and seconds in the last five, when it matters. */
export function formatTimeLeft(seconds) {
  if (seconds <= 0) return "Time up";
  const s = Math.ceil(seconds);
  if (s < 300) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} left`;
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return `${minutes} min left`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min left`;
}

// "15:06:12" in the viewer's zone (procto/local_time.py's local_clock).
export { formatClock } from "../local-time.js";

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

export const CONNECTION_LABELS = {
  live: "Live",
  stale: "Stale",
  offline: "Offline",
  unmonitored: "Unmonitored",
  exempt: "No camera",
};
