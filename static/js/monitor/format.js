// Words and numbers as the monitor shows them.

// "info" is a record, not an alert (a page reload): the monitor never receives one, the review
// page shows them.
export const SEVERITIES = ["info", "low", "medium", "high", "critical"];

export function severityRank(severity) {
  const rank = SEVERITIES.indexOf(severity);
  return rank < 0 ? 0 : rank;
}

// As a word on screen ("high", "critical"); the codes above stay what the server sends.
const SEVERITY_LABELS = {
  info: pgettext("severity", "info"),
  low: pgettext("severity", "low"),
  medium: pgettext("severity", "medium"),
  high: pgettext("severity", "high"),
  critical: pgettext("severity", "critical"),
};

export function severityLabel(severity) {
  return SEVERITY_LABELS[severity] || String(severity);
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
  if (seconds <= 0) return gettext("Time up");
  const s = Math.ceil(seconds);
  if (s < 300) return interpolate(gettext("%s left"), [`${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`]);
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return interpolate(gettext("%s min left"), [minutes]);
  return interpolate(
    gettext("%(hours)s h %(minutes)s min left"),
    { hours: Math.floor(minutes / 60), minutes: String(minutes % 60).padStart(2, "0") },
    true,
  );
}

// "15:06:12" in the viewer's zone (procto/local_time.py's local_clock).
export { formatClock } from "../local-time.js";

export const CONNECTION_LABELS = {
  live: gettext("Live"),
  stale: gettext("Stale"),
  offline: gettext("Offline"),
  unmonitored: gettext("Unmonitored"),
  exempt: gettext("No camera"),
};
