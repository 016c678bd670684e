// The session review page (templates/proctoring/session_detail.html): one session's events,
// media series, snapshots and proctor actions. While the session runs it listens on the monitor
// socket for this session's alerts and updates, and redraws at most every RENDER_EVERY_MS however
// many messages arrive (a burst of alerts is one redraw, not fifty).

import { createMonitorSocket, onMessage } from "../monitor/socket.js";
import { createActionsPanel } from "./actions.js";
import { createEventList } from "./events.js";
import { formatTimeLeft, localDateTime, localTime, setTypeLabels, typeLabel } from "./format.js";
import { createTimeline } from "./timeline.js";

const RENDER_EVERY_MS = 500;

const config = JSON.parse(document.getElementById("review-bootstrap").textContent);
// Each event type's name from the server's registry, as the first rows and the PDF name it.
setTypeLabels(Object.fromEntries(Object.entries(config.conditions).map(([type, c]) => [type, c.label])));
const $ = (id) => document.getElementById(id);
const startMs = Date.parse(config.startedAt);

const state = {
  status: config.status,
  inProgress: config.status === "in-progress",
  deadline: config.deadline,
  endedAt: config.endedAt,
  events: new Map(config.events.map((e) => [e.id, e])),
  faces: config.series.faces.slice(),
  audio: config.series.audio.slice(),
  lastEventId: config.lastEventId,
};
const changedEvents = new Set();
// The server's clock decides the time left: we count down from what it said, on our monotonic clock.
const endsAtMono = config.timeRemaining === null ? null : performance.now() + config.timeRemaining * 1000;
let extendedMs = 0;

// --- times in the reader's own time zone ------------------------------------------------------------

for (const node of document.querySelectorAll("time[data-local]")) {
  node.textContent = node.dataset.local === "time" ? localTime(node.dateTime) : localDateTime(node.dateTime);
}

// --- the room scan's length ---------------------------------------------------------------------

// MediaRecorder writes WebM without a duration, so the player shows 0:00 and cannot seek until
// it has played to the end. Asking for a position past the end makes it find the real end;
// then it goes back to the start.
function findDuration(video) {
  if (Number.isFinite(video.duration)) return;
  video.addEventListener("durationchange", function rewind() {
    if (!Number.isFinite(video.duration)) return;
    video.removeEventListener("durationchange", rewind);
    video.currentTime = 0;
  });
  video.currentTime = Number.MAX_SAFE_INTEGER;
}
for (const video of document.querySelectorAll("video.room-scan")) {
  // A module script runs after parsing: the metadata may be in already.
  if (video.readyState >= HTMLMediaElement.HAVE_METADATA) findDuration(video);
  else video.addEventListener("loadedmetadata", () => findDuration(video), { once: true });
}

// --- the parts ----------------------------------------------------------------------------------

const timeline = createTimeline({
  box: $("timeline-box"),
  canvas: $("timeline-chart"),
  startedAt: config.startedAt,
  onPick: (eventId) => list.highlight(eventId),
});

const list = createEventList({
  table: $("event-table"),
  typeFilter: $("filter-type"),
  severityFilter: $("filter-severity"),
  countEl: $("event-count"),
  emptyEl: $("events-empty"),
  dialog: $("dismiss-dialog"),
  reviewUrl: config.urls.review,
  startedAt: config.startedAt,
  me: config.me,
  reviewLabels: config.reviewLabels,
  dismissReasons: (type) => config.conditions[type]?.dismissReasons || [],
  onReviewed(eventId, status, reason, me) {
    const event = state.events.get(eventId);
    Object.assign(event, { reviewStatus: status, reviewReason: reason, reviewedBy: me });
    changedEvents.add(eventId);
    panel.record({
      id: `review-${eventId}-${Date.now()}`,
      kind: "review-alert",
      title: interpolate(
        status === "confirmed" ? gettext("Confirmed alert #%s") : gettext("Dismissed alert #%s"),
        [eventId],
      ),
      text: reason,
      actor: me,
      createdAt: new Date().toISOString(),
    });
    scheduleRender();
  },
  onFilter: () => scheduleRender(true),
});

const panel = createActionsPanel({
  panel: $("actions-panel"),
  auditList: $("audit-list"),
  auditEmpty: $("audit-empty"),
  confirmDialog: $("terminate-dialog"),
  actionsUrl: config.urls.actions,
  me: config.me,
  onDone(action, result) {
    if (action === "extend") {
      extendedMs += result.details.minutes * 60_000;
      state.deadline = new Date(Date.parse(state.deadline) + result.details.minutes * 60_000).toISOString();
    } else if (action === "terminate") {
      sessionEnded("cheating-detected", config.outcomeLabels["ended-by-proctor"]);
    }
    scheduleRender(true);
  },
});

// --- header: status, risk, clock ------------------------------------------------------------------

function showStatus(status, label) {
  const pill = $("status-pill");
  pill.dataset.status = status;
  pill.textContent = label;
}

function sessionEnded(status, label) {
  if (!state.inProgress) return;
  state.inProgress = false;
  state.status = status;
  state.endedAt = new Date().toISOString();
  showStatus(status, label);
  $("ended-at").textContent = localDateTime(state.endedAt);
  $("time-left").textContent = "—";
  panel.setOpen(false);
  $("live-state").hidden = true;
}

function showRisk(score, flagged) {
  $("risk-score").textContent = Math.round(score);
  $("risk-meter").value = score;
  $("flag-pill").hidden = !flagged;
}

function tickClock() {
  if (!state.inProgress || endsAtMono === null) return;
  const seconds = (endsAtMono + extendedMs - performance.now()) / 1000;
  $("time-left").textContent = formatTimeLeft(seconds);
  $("deadline").textContent = localDateTime(state.deadline);
}

// --- drawing, coalesced ---------------------------------------------------------------------------

let renderTimer = null;
let lastRenderAt = 0;
let chartDirty = true;

function endAtSeconds() {
  const end = state.inProgress ? state.deadline : state.endedAt || state.deadline;
  return Math.max((Date.parse(end) - startMs) / 1000, 0);
}

function render() {
  renderTimer = null;
  lastRenderAt = performance.now();
  if (changedEvents.size) {
    list.upsert([...changedEvents].map((id) => state.events.get(id)));
    changedEvents.clear();
    chartDirty = true;
  }
  if (!chartDirty) return;
  chartDirty = false;
  const events = [...state.events.values()].filter(list.visible);
  const nowAt = state.inProgress ? (Date.now() - startMs) / 1000 : null;
  timeline.render({ events, faces: state.faces, audio: state.audio, endAt: endAtSeconds(), nowAt });
  const nothing = state.events.size === 0 && state.faces.length === 0 && state.audio.length === 0;
  $("timeline-empty").hidden = !nothing;
  $("timeline-box").hidden = nothing;
}

function scheduleRender(chart = false) {
  if (chart) chartDirty = true;
  if (renderTimer !== null) return;
  const wait = Math.max(0, RENDER_EVERY_MS - (performance.now() - lastRenderAt));
  renderTimer = window.setTimeout(render, wait);
}

function addSnapshot(event) {
  const gallery = $("gallery");
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = event.snapshotUrl;
  link.target = "_blank";
  link.rel = "noopener";
  const image = document.createElement("img");
  image.src = event.snapshotUrl;
  image.alt = interpolate(gettext("Webcam frame: %s"), [typeLabel(event.type)]);
  image.width = 192;
  image.height = 144;
  image.loading = "lazy";
  image.addEventListener("error", () => item.remove());
  link.append(image);
  const caption = document.createElement("span");
  caption.className = "gallery-caption";
  caption.textContent = `${typeLabel(event.type)} · ${localTime(event.timestamp)}`;
  item.append(link, caption);
  gallery.append(item);
  $("gallery-empty").hidden = true;
}

// --- live ---------------------------------------------------------------------------------------------

function takeEvent(message) {
  state.lastEventId = Math.max(state.lastEventId, message.id);
  if (message.sessionId !== config.sessionId) return;
  const known = state.events.get(message.id);
  const merged = { ...known, ...message };
  // Socket messages carry the review status, not who reviewed: keep ours unless it changed.
  if (known && known.reviewStatus !== message.reviewStatus) merged.reviewedBy = null;
  merged.durationSeconds = message.endedAt
    ? (Date.parse(message.endedAt) - Date.parse(message.timestamp)) / 1000
    : 0;
  // Frames that open a server alert are kept as its snapshot (audio alerts have none).
  if (!merged.snapshotUrl && message.source === "server" && message.details?.source === "frame") {
    merged.snapshotUrl = config.urls.snapshot.replace("{id}", message.id);
  }
  if (!known && merged.snapshotUrl) addSnapshot(merged);
  state.events.set(message.id, merged);
  changedEvents.add(message.id);
  scheduleRender();
}

function startLive() {
  onMessage("alert", (m) => takeEvent(m.event));
  onMessage("alert-updated", (m) => takeEvent(m.event));
  onMessage("catch-up", (m) => m.events.forEach(takeEvent));
  onMessage("session", ({ session }) => {
    if (session.id !== config.sessionId) return;
    showRisk(session.riskScore, session.flagged);
    if (session.status !== "in-progress") sessionEnded(session.status, config.statusLabels[session.status]);
  });
  onMessage("media", ({ session }) => {
    if (session.id !== config.sessionId || typeof session.faceCount !== "number") return;
    state.faces.push([new Date().toISOString(), session.faceCount]);
    scheduleRender(true);
  });
  onMessage("error", (m) => console.warn("monitor socket:", m.message));
  const socket = createMonitorSocket({
    path: "/ws/monitor/",
    examId: config.examId,
    lastEventId: () => state.lastEventId,
    stats: { messages: 0 },
    onReopen: () => {},
    onState(socketState) {
      const live = $("live-state");
      live.hidden = !state.inProgress;
      live.dataset.state = socketState;
      const words = { open: gettext("Live"), closed: gettext("Not live"), connecting: gettext("Connecting…") };
      live.textContent = words[socketState] || gettext("Reconnecting…");
    },
  });
  socket.start();
}

showRisk(config.riskScore, config.flagged);
render();
if (state.inProgress) {
  tickClock();
  window.setInterval(tickClock, 1000);
  // The "now" line moves on even when nothing arrives.
  window.setInterval(() => scheduleRender(true), 30_000);
  startLive();
} else {
  panel.setOpen(false);
}
