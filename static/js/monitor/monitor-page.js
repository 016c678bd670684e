// The proctors' live monitor (templates/proctoring/monitor.html). The server renders every card;
// this script keeps them live from /ws/monitor/ and GET /api/exam-sessions/live.
//
// Rendering is batched: messages only change the store, and the page draws what changed at
// most once per RENDER_EVERY_MS, in an animation frame. A burst of alerts from 300 students
// costs a few renders, each touching only the cards concerned.

import { apiFetch, apiFetchWithTimestamp } from "../api.js";
import { mountAdmissions } from "./admissions.js";
import { createAlerting, readPreference, writePreference } from "./alerting.js";
import { createActionDialog } from "./dialog.js";
import { createFeed } from "./feed.js";
import { isUrgent, setTypeLabels, severityLabel, typeLabel } from "./format.js";
import { createGrid } from "./grid.js";
import { createMonitorSocket, onMessage } from "./socket.js";
import { createStore } from "./store.js";

const RENDER_EVERY_MS = 500;
const REFRESH_EVERY_MS = 30_000;
const REFRESH_DEBOUNCE_MS = 1000;
// Cards do not move while the proctor is pointing at them; the re-sort waits this long.
const HOLD_ORDER_MS = 2500;
// Alerts caught up after a reconnect still beep and notify if they are this fresh.
const ATTENTION_WINDOW_MS = 120_000;
const SORT_KEY = "procto.monitor.sort";
const SEVERITY_KEY = "procto.monitor.minSeverity";

const $ = (id) => document.getElementById(id);
const bootstrap = JSON.parse($("monitor-bootstrap").textContent);
const urls = bootstrap.urls;
const fill = (pattern, id) => pattern.replace("{id}", encodeURIComponent(id));
// Each condition's label, severity and default warning, from the server's registry
// (proctoring/conditions.py): the page keeps no list of its own.
const conditions = bootstrap.conditions;
setTypeLabels(Object.fromEntries(Object.entries(conditions).map(([type, c]) => [type, c.label])));
// The warn dialog offers every condition's warning, each once, in the registry's order.
const GENERAL_WARNINGS = [...new Set(Object.values(conditions).map((c) => c.warning).filter(Boolean))];

// Read by the end-to-end test and the render benchmark.
const stats = { messages: 0, renders: 0, cardUpdates: 0, refreshes: 0, lastRenderMs: 0, maxRenderMs: 0 };
const store = createStore({ serverTime: bootstrap.serverTime });
store.noteEventId(bootstrap.lastEventId);

const grid = createGrid({
  gridEl: $("grid"),
  templateEl: $("card-template"),
  emptyEl: $("grid-empty"),
  filteredEl: $("grid-filtered"),
  store,
  stats,
});
const feed = createFeed({
  listEl: $("feed"),
  templateEl: $("feed-entry-template"),
  emptyEl: $("feed-empty"),
  countEl: $("feed-count"),
  store,
  sessionUrl: (id) => fill(urls.session, id),
});
const dialog = createActionDialog($("action-dialog"));

// --- small page furniture -------------------------------------------------------------------------

let toastTimer = null;
function showToast(message, kind = "ok") {
  const toast = $("toast");
  toast.textContent = message;
  toast.dataset.kind = kind;
  toast.hidden = false;
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => {
    toast.hidden = true;
  }, 5000);
}

let lastAnnouncedAt = 0;
function announce(text) {
  // Screen readers hear urgent alerts, but not three hundred of them at once.
  if (Date.now() - lastAnnouncedAt < 3000) return;
  lastAnnouncedAt = Date.now();
  $("announcer").textContent = text;
}

function focusCard(sessionId) {
  const card = grid.cardElement(sessionId);
  if (!card) return;
  card.scrollIntoView({ block: "center", behavior: "smooth" });
  card.classList.add("highlight");
  window.setTimeout(() => card.classList.remove("highlight"), 2000);
}

const alerting = createAlerting({
  soundToggle: $("sound-toggle"),
  notifyToggle: $("notify-toggle"),
  onNotice: (message) => showToast(message, "error"),
  onNotificationClick: focusCard,
});

function needsAttention(event) {
  if (event.reviewStatus !== "open" || !isUrgent(event.severity)) return;
  const name = store.studentName(event.sessionId, event);
  const values = { name, type: typeLabel(event.type), severity: severityLabel(event.severity) };
  alerting.beep();
  alerting.notify(
    interpolate(gettext("%(name)s: %(type)s (%(severity)s)"), values, true),
    gettext("Procto live monitor"),
    `procto-${event.sessionId}`,
    event.sessionId,
  );
  announce(interpolate(gettext("%(severity)s alert: %(name)s, %(type)s"), values, true));
}

// --- batched rendering ----------------------------------------------------------------------------

let renderTimer = null;
let lastRenderAt = -Infinity;
let orderPending = false;
let lastPointerAt = -Infinity;

function scheduleRender() {
  if (renderTimer !== null) return;
  // The first change after a quiet spell is drawn at the next frame; later ones wait their turn.
  const wait = Math.max(0, RENDER_EVERY_MS - (performance.now() - lastRenderAt));
  renderTimer = window.setTimeout(() => window.requestAnimationFrame(flush), wait);
}

function interacting() {
  return performance.now() - lastPointerAt < HOLD_ORDER_MS || $("action-dialog").open;
}

function flush() {
  renderTimer = null;
  const started = performance.now();
  lastRenderAt = started;
  const changes = store.takeChanges();
  const now = store.serverNowMs();
  for (const id of changes.removed) grid.removeCard(id);
  for (const id of changes.sessions) grid.renderCard(id, now);
  if (changes.order) orderPending = true;
  if (orderPending && !interacting()) {
    orderPending = false;
    grid.reorder();
  }
  if (changes.events.length) feed.render(changes.events);
  if (changes.membership) feed.refreshSessions();
  if (changes.unknownSession) requestRefresh();
  summarize(now);
  stats.renders += 1;
  stats.lastRenderMs = performance.now() - started;
  stats.maxRenderMs = Math.max(stats.maxRenderMs, stats.lastRenderMs);
}

function summarize(now) {
  let flagged = 0;
  let unwatched = 0;
  let urgent = 0;
  for (const session of store.sessions.values()) {
    if (session.flagged) flagged += 1;
    const connection = store.connectionOf(session, now);
    if (connection === "offline" || connection === "unmonitored") unwatched += 1;
    urgent += session.urgent || 0;
  }
  const counts = { sessions: store.sessions.size, flagged, unmonitored: unwatched, high: urgent };
  for (const [name, value] of Object.entries(counts)) {
    const el = document.querySelector(`[data-count="${name}"]`);
    if (el && el.textContent !== String(value)) el.textContent = String(value);
  }
}

// --- the snapshot: first from the page, then from the API -----------------------------------------

let refreshTimer = null;
let refreshing = false;
let refreshAgain = false;
let lastRefreshAt = performance.now();

function requestRefresh(delay = REFRESH_DEBOUNCE_MS) {
  if (refreshTimer !== null) return;
  refreshTimer = window.setTimeout(() => {
    refreshTimer = null;
    refresh();
  }, delay);
}

async function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  lastRefreshAt = performance.now();
  try {
    const query = bootstrap.examId ? `?examId=${encodeURIComponent(bootstrap.examId)}` : "";
    const { data, timestamp } = await apiFetchWithTimestamp(urls.live + query);
    store.setServerTime(timestamp);
    store.applySnapshot(data);
    stats.refreshes += 1;
    scheduleRender();
  } catch (error) {
    // The socket's state tells the proctor about outages; the next refresh tries again.
    console.warn("monitor: could not refresh the sessions", error);
  } finally {
    refreshing = false;
    if (refreshAgain) {
      refreshAgain = false;
      requestRefresh();
    }
  }
}

// --- socket messages ------------------------------------------------------------------------------

onMessage("alert", ({ event }) => {
  if (store.applyEvent(event, "alert") === "new") needsAttention(event);
  scheduleRender();
});
onMessage("alert-updated", ({ event }) => {
  store.applyEvent(event, "alert-updated");
  scheduleRender();
});
onMessage("catch-up", ({ events }) => {
  const now = store.serverNowMs();
  for (const event of events || []) {
    const fresh = now - Date.parse(event.timestamp) < ATTENTION_WINDOW_MS;
    if (store.applyEvent(event, "catch-up") === "new" && fresh) needsAttention(event);
  }
  scheduleRender();
});
onMessage("session", ({ session }) => {
  store.applySession(session);
  scheduleRender();
});
onMessage("media", ({ session }) => {
  store.applyMedia(session);
  scheduleRender();
});
onMessage("cadence", ({ session }) => {
  store.applyCadence(session);
  scheduleRender();
});
onMessage("error", (message) => console.warn("monitor socket:", message.code, message.message));
// The exams this user may watch changed (an assignment or their role): the grid, the feed and
// the filters all depend on them, so the page starts again from the server's view.
onMessage("scope", () => window.location.reload());

const STATE_LABELS = {
  connecting: gettext("Connecting…"),
  open: gettext("Live"),
  reconnecting: gettext("Reconnecting…"),
  closed: gettext("Disconnected"),
};
let retryAt = null;

function showSocketState(state, detail) {
  document.body.dataset.socketState = state;
  const el = $("socket-state");
  el.dataset.state = state;
  el.textContent = STATE_LABELS[state] || state;
  retryAt = detail.retryAt ?? null;
  $("reconnect-banner").hidden = state !== "reconnecting";
  updateReconnectText();
  if (state === "closed") {
    const fatal = $("fatal-banner");
    fatal.replaceChildren();
    if (detail.code === 4401) {
      const link = document.createElement("a");
      link.href = `/accounts/login/?next=${encodeURIComponent(location.pathname + location.search)}`;
      link.textContent = gettext("Log in again");
      // One sentence around the link: "%(link)s" marks where it goes.
      const [before, after] = gettext(
        "Your login has ended, so live updates stopped. %(link)s to keep watching.",
      ).split("%(link)s");
      fatal.append(before, link, after ?? "");
    } else {
      fatal.append(
        interpolate(
          gettext("Live updates refused: %s."),
          [detail.reason || gettext("you may not watch these exams")],
        ),
      );
    }
    fatal.hidden = false;
  }
}

function updateReconnectText() {
  const seconds = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
  $("reconnect-text").textContent = seconds
    ? interpolate(
        gettext("Live updates are interrupted. Reconnecting in %s s… Alerts raised meanwhile will be caught up."),
        [seconds],
      )
    : gettext("Live updates are interrupted. Reconnecting…");
}

const socket = createMonitorSocket({
  path: urls.socket,
  examId: bootstrap.examId,
  lastEventId: () => store.lastEventId,
  onState: showSocketState,
  // Risk, flags and who is sitting may all have changed while we were away.
  onReopen: () => requestRefresh(0),
  stats,
});
$("reconnect-now").addEventListener("click", () => socket.retryNow());

// --- actions --------------------------------------------------------------------------------------

function openWarn(sessionId, eventType) {
  const session = store.sessions.get(sessionId);
  if (!session) {
    showToast(gettext("This student's session has ended."), "error");
    return;
  }
  dialog.open({
    title: gettext("Warn the student"),
    subject: `${session.name} · ${session.examTitle}`,
    label: gettext("Message shown on the student's screen"),
    submitLabel: gettext("Send warning"),
    presets: GENERAL_WARNINGS,
    initial: conditions[eventType]?.warning || "",
    missing: gettext("Write the message the student will see."),
    onSubmit: async (message) => {
      await apiFetch(fill(urls.actions, sessionId), { method: "POST", json: { type: "warn", message } });
      showToast(interpolate(gettext("Warning sent to %s."), [session.name]));
    },
  });
}

async function review(eventId, status, reason = "") {
  await apiFetch(fill(urls.review, eventId), { method: "POST", json: { status, reason } });
  const event = store.events.get(eventId);
  // The socket will say so too; showing it now makes the click feel done.
  if (event) store.applyEvent({ ...event, reviewStatus: status }, "review");
  scheduleRender();
}

// Where a keyboard user stays after reviewing an alert: its Dismiss button while the alert is
// open, else the student's name on the same entry.
function feedEntryFocus(eventId) {
  const entry = $("feed").querySelector(`[data-event-id="${eventId}"]`);
  const dismiss = entry?.querySelector("[data-action=dismiss]");
  return dismiss && !dismiss.hidden ? dismiss : entry?.querySelector(".feed-student");
}

function openDismiss(eventId) {
  const event = store.events.get(eventId);
  if (!event) return;
  dialog.open({
    title: gettext("Dismiss this alert"),
    subject: `${store.studentName(event.sessionId, event)} · ${typeLabel(event.type)} (${severityLabel(event.severity)})`,
    label: gettext("Why is it not a problem? (kept in the audit trail)"),
    submitLabel: gettext("Dismiss alert"),
    // Per kind of alert (proctoring/conditions.py): a voice is not dismissed as "nothing on camera".
    presets: conditions[event.type]?.dismissReasons || [],
    maxLength: 300,
    missing: gettext("Give a reason for dismissing the alert."),
    onSubmit: (reason) => review(eventId, "dismissed", reason),
    returnFocus: () => feedEntryFocus(eventId),
  });
}

$("grid").addEventListener("click", (event) => {
  const button = event.target.closest("[data-action=warn]");
  if (!button) return;
  event.preventDefault();
  openWarn(button.closest("[data-session-id]").dataset.sessionId);
});

$("feed").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const entry = button.closest("[data-event-id]");
  const eventId = Number(entry.dataset.eventId);
  const action = button.dataset.action;
  if (action === "warn") {
    openWarn(entry.dataset.sessionId, store.events.get(eventId)?.type);
  } else if (action === "dismiss") {
    openDismiss(eventId);
  } else if (action === "confirm") {
    // aria-disabled, not disabled, while it is sent: a disabled button drops the keyboard focus.
    if (button.getAttribute("aria-disabled") === "true") return;
    button.setAttribute("aria-disabled", "true");
    try {
      await review(eventId, "confirmed");
    } catch (error) {
      showToast(interpolate(gettext("Could not confirm the alert: %s"), [error.message]), "error");
    } finally {
      button.removeAttribute("aria-disabled");
    }
  }
});

// A thumbnail that is not there (yet): show the placeholder rather than a broken image.
$("grid").addEventListener(
  "error",
  (event) => {
    if (event.target.matches?.("img[data-field=thumbnail]")) {
      event.target.hidden = true;
      event.target.parentElement.querySelector("[data-field=thumbnail-empty]").hidden = false;
    }
  },
  true,
);
$("grid").addEventListener(
  "load",
  (event) => {
    if (event.target.matches?.("img[data-field=thumbnail]")) {
      event.target.hidden = false;
      event.target.parentElement.querySelector("[data-field=thumbnail-empty]").hidden = true;
    }
  },
  true,
);
$("grid").addEventListener("pointermove", () => {
  lastPointerAt = performance.now();
});

// --- controls -------------------------------------------------------------------------------------

const examFilter = $("exam-filter");
examFilter.addEventListener("change", () => $("controls").requestSubmit());

const sortBy = $("sort-by");
sortBy.value = readPreference(SORT_KEY, "priority");
if (!sortBy.value) sortBy.value = "priority";
grid.setSort(sortBy.value);
sortBy.addEventListener("change", () => {
  writePreference(SORT_KEY, sortBy.value);
  grid.setSort(sortBy.value);
  grid.reorder();
});

const minSeverity = $("min-severity");
minSeverity.value = readPreference(SEVERITY_KEY, "");
grid.setMinSeverity(minSeverity.value);
feed.setMinSeverity(minSeverity.value);
minSeverity.addEventListener("change", () => {
  writePreference(SEVERITY_KEY, minSeverity.value);
  grid.setMinSeverity(minSeverity.value);
  feed.setMinSeverity(minSeverity.value);
  grid.reorder();
});

// --- start ----------------------------------------------------------------------------------------

store.applySnapshot(bootstrap.cards);
for (const event of [...bootstrap.recentAlerts].reverse()) store.applyEvent(event, "snapshot");
flush();
grid.reorder();

window.setInterval(() => {
  const now = store.serverNowMs();
  grid.tick(now);
  summarize(now);
  updateReconnectText();
  if (orderPending && !interacting()) scheduleRender();
  if (!document.hidden && performance.now() - lastRefreshAt >= REFRESH_EVERY_MS) refresh();
}, 1000);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && performance.now() - lastRefreshAt >= REFRESH_EVERY_MS) refresh();
});

// Students waiting to be admitted to exams where a proctor admits each one; the panel stays
// hidden while nobody waits. Mounted before the socket opens: its first catch-up reloads it.
mountAdmissions($("admissions"), { onMessage, examId: bootstrap.examId });
socket.start();

// For other parts of the page. Admitting students (identity check, then the proctor's go-ahead)
// is built apart: its module will be imported here once it exists and mount itself into
// <section id="admissions">. Until then, and for anything else, this is the way in:
// window.proctoMonitor.onMessage(type, handler) to receive a socket message type, refresh() to
// reload the sessions now.
window.proctoMonitor = { onMessage, refresh, stats, store };
