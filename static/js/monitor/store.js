// What the monitor knows: the sessions in progress and the recent alerts, fed by the server's
// snapshot (page bootstrap, GET /api/exam-sessions/live) and by socket messages.
//
// Nothing here touches the DOM. Every change marks what it changed (a session id, a feed entry);
// the page renders those marks in batches, so a burst of messages costs one render.
//
// Open alerts are tracked by id, so a message can be applied twice (live, then again in a
// catch-up) or out of order without counting anything twice.

import { isUrgent, severityRank, typeLabel } from "./format.js";

export const FEED_LIMIT = 200;
// Events remembered for de-duplication and for re-applying after a snapshot; more than the feed
// shows, fewer than would make a long exam's page heavy.
const REMEMBERED_EVENTS = 1000;
const IN_PROGRESS = "in-progress";

function alertKey(type, severity) {
  return `${type}|${severity}`;
}

export function createStore({ serverTime }) {
  const sessions = new Map();
  const events = new Map(); // id -> latest known state of the event
  const names = new Map(); // session id -> student name, kept after the session ends (the feed)
  const dirtySessions = new Set();
  const removedSessions = new Set();
  const dirtyEvents = new Set();
  let maxEventId = 0;
  let clockOffsetMs = 0; // server clock minus ours
  let orderDirty = true;
  let membershipDirty = false; // sessions came or went
  let unknownSessionSeen = false;

  setServerTime(serverTime);

  function setServerTime(iso) {
    const parsed = Date.parse(iso);
    if (!Number.isNaN(parsed)) clockOffsetMs = parsed - Date.now();
  }

  function serverNowMs() {
    return Date.now() + clockOffsetMs;
  }

  function fromSnapshot(card, previous) {
    const session = {
      id: card.id,
      examId: card.examId,
      examTitle: card.examTitle,
      name: card.studentName || card.student?.email || gettext("Student"),
      email: card.student?.email || "",
      status: card.status,
      riskScore: Number(card.riskScore) || 0,
      flagged: Boolean(card.flagged),
      proctored: card.proctored !== false,
      faceCount: card.faceCount ?? null,
      thumbnailUrl: card.thumbnailUrl || null,
      unmonitored: Boolean(card.unmonitored),
      // Frames every this many ms because the server is busy (proctoring.cadence); null: normal.
      slowedMs: card.slowedFrameIntervalMs || null,
      // Server clock, ms: lets the state age on its own between messages.
      lastMediaAt: card.lastMediaAt ? card.lastMediaAt * 1000 : null,
      startedAt: Date.parse(card.startTime) || serverNowMs(),
      deadline: Date.parse(card.deadline),
      liveWindowMs: (card.liveWindowSeconds || 12) * 1000,
      offlineAfterMs: (card.offlineAfterSeconds || 60) * 1000,
      detailUrl: card.detailUrl,
      lastEventId: card.lastEventId || 0,
      openById: new Map(),
      // Open alerts counted by the server but not listed by id (beyond its per-session list).
      tail: new Map(),
      tailClosed: new Set(),
    };
    for (const alert of card.openAlerts || []) {
      session.tail.set(alertKey(alert.type, alert.severity), alert.count);
    }
    for (const [id, type, severity] of card.openAlertIds || []) {
      session.openById.set(id, { type, severity });
      const key = alertKey(type, severity);
      session.tail.set(key, (session.tail.get(key) || 0) - 1);
    }
    for (const [key, count] of session.tail) if (count <= 0) session.tail.delete(key);
    if (previous) {
      // Media that reached us after the server built this snapshot is newer than the snapshot.
      if (previous.lastMediaAt && (!session.lastMediaAt || previous.lastMediaAt > session.lastMediaAt)) {
        session.lastMediaAt = previous.lastMediaAt;
        session.faceCount = previous.faceCount;
        session.thumbnailUrl = previous.thumbnailUrl || session.thumbnailUrl;
        session.unmonitored = previous.unmonitored && session.unmonitored;
      }
    }
    return session;
  }

  function markSession(id) {
    dirtySessions.add(id);
  }

  /** Replace the sessions with a snapshot (the list of cards the server returned). */
  function applySnapshot(cards) {
    const seen = new Set();
    const heard = new Map();
    for (const event of events.values()) {
      if (!heard.has(event.sessionId)) heard.set(event.sessionId, []);
      heard.get(event.sessionId).push(event);
    }
    for (const card of cards) {
      if (card.status && card.status !== IN_PROGRESS) continue;
      seen.add(card.id);
      if (!sessions.has(card.id)) membershipDirty = true;
      const session = fromSnapshot(card, sessions.get(card.id));
      sessions.set(card.id, session);
      names.set(card.id, session.name);
      // Alerts we heard of after the snapshot was taken still count.
      for (const event of heard.get(card.id) || []) {
        if (event.id > session.lastEventId) countAlert(session, event);
      }
      markSession(card.id);
    }
    for (const id of [...sessions.keys()]) {
      if (!seen.has(id)) removeSession(id);
    }
    orderDirty = true;
  }

  function removeSession(id) {
    if (!sessions.delete(id)) return;
    dirtySessions.delete(id);
    removedSessions.add(id);
    orderDirty = true;
    membershipDirty = true;
  }

  function countAlert(session, event, source = "") {
    const open = event.reviewStatus === "open";
    if (open) {
      // At or below the snapshot's last id and not listed: counted in the tail already.
      if (event.id > session.lastEventId || session.openById.has(event.id)) {
        session.openById.set(event.id, { type: event.type, severity: event.severity });
      }
      return;
    }
    // The page's own list of recent alerts was read with the snapshot: nothing in it was reviewed
    // after the snapshot counted it.
    if (session.openById.delete(event.id) || source === "snapshot") return;
    const key = alertKey(event.type, event.severity);
    if (event.id <= session.lastEventId && session.tail.get(key) > 0 && !session.tailClosed.has(event.id)) {
      session.tailClosed.add(event.id);
      session.tail.set(key, session.tail.get(key) - 1);
    }
  }

  function remember(event) {
    events.set(event.id, event);
    if (events.size > REMEMBERED_EVENTS) {
      // Map keeps insertion order; the oldest inserted go first.
      const excess = events.size - REMEMBERED_EVENTS;
      let dropped = 0;
      for (const id of events.keys()) {
        if (dropped++ >= excess) break;
        events.delete(id);
        dirtyEvents.delete(id);
      }
    }
  }

  /**
   * Apply an event as `source` ("alert", "alert-updated", "catch-up", "review" or "snapshot")
   * sent it; each carries the event's current state. Returns "new", "updated" or "known"
   * (nothing changed), for the page's sound and notifications.
   */
  function applyEvent(event, source) {
    if (!event || typeof event.id !== "number") return "known";
    if (event.studentName && !names.has(event.sessionId)) names.set(event.sessionId, event.studentName);
    const before = events.get(event.id);
    if (before && before.reviewStatus === event.reviewStatus && before.endedAt === event.endedAt) {
      return "known";
    }
    maxEventId = Math.max(maxEventId, event.id);
    remember(event);
    dirtyEvents.add(event.id);
    const session = sessions.get(event.sessionId);
    if (!session) {
      // A student who started after our snapshot (or one that already ended: the refresh says).
      if (event.reviewStatus === "open") unknownSessionSeen = true;
      return before ? "updated" : "new";
    }
    countAlert(session, event, source);
    if (event.type === "stream-lost") trackStream(session, event, before, source);
    markSession(session.id);
    orderDirty = true;
    return before ? "updated" : "new";
  }

  // Only live messages say whether a stream is lost right now: a catch-up's stream-lost may be
  // long over (the refresh after a reconnect brings the current state). An update that is not a
  // review is the condition closing: media flows again.
  function trackStream(session, event, before, source) {
    if (source === "alert") {
      session.unmonitored = true;
    } else if (source === "alert-updated") {
      const reviewed = before ? before.reviewStatus !== event.reviewStatus : event.reviewStatus !== "open";
      if (!reviewed) session.unmonitored = false;
    }
  }

  function applySession(update) {
    const session = sessions.get(update.id);
    if (!session) {
      if (update.status === IN_PROGRESS) unknownSessionSeen = true;
      return;
    }
    if (update.status && update.status !== IN_PROGRESS) {
      removeSession(update.id);
      return;
    }
    if (typeof update.riskScore === "number") session.riskScore = update.riskScore;
    if (typeof update.flagged === "boolean") session.flagged = update.flagged;
    markSession(session.id);
    orderDirty = true;
  }

  function applyMedia(update) {
    const session = sessions.get(update.id);
    if (!session) {
      unknownSessionSeen = true;
      return;
    }
    if (typeof update.faceCount === "number") session.faceCount = update.faceCount;
    if (update.thumbnailUrl) session.thumbnailUrl = update.thumbnailUrl;
    session.lastMediaAt = serverNowMs();
    session.unmonitored = false;
    markSession(session.id);
  }

  /** The overload governor slowed a session's pictures, or gave it its cadence back. */
  function applyCadence(update) {
    const session = sessions.get(update.id);
    if (!session) {
      unknownSessionSeen = true;
      return;
    }
    session.slowedMs = update.slowed ? update.frameIntervalMs : null;
    markSession(session.id);
  }

  function openAlerts(session) {
    const counts = new Map(session.tail);
    for (const { type, severity } of session.openById.values()) {
      const key = alertKey(type, severity);
      counts.set(key, (counts.get(key) || 0) + 1);
    }
    return [...counts]
      .map(([key, count]) => {
        const [type, severity] = key.split("|");
        return { type, severity, count, label: typeLabel(type) };
      })
      .sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || b.count - a.count);
  }

  function summary(session) {
    const alerts = openAlerts(session);
    let urgent = 0;
    let top = -1;
    for (const alert of alerts) {
      if (isUrgent(alert.severity)) urgent += alert.count;
      top = Math.max(top, severityRank(alert.severity));
    }
    return { alerts, urgent, topSeverity: top };
  }

  function connectionOf(session, nowMs = serverNowMs()) {
    if (!session.proctored) return "exempt";
    if (session.unmonitored) return "unmonitored";
    const age = nowMs - (session.lastMediaAt ?? session.startedAt);
    if (session.lastMediaAt !== null && age <= session.liveWindowMs) return "live";
    return age <= session.offlineAfterMs ? "stale" : "offline";
  }

  function secondsLeft(session, nowMs = serverNowMs()) {
    return Number.isNaN(session.deadline) ? 0 : (session.deadline - nowMs) / 1000;
  }

  /** Hand over (and forget) what changed since the last call. */
  function takeChanges() {
    const changes = {
      sessions: [...dirtySessions],
      removed: [...removedSessions],
      events: [...dirtyEvents],
      order: orderDirty,
      membership: membershipDirty,
      unknownSession: unknownSessionSeen,
    };
    dirtySessions.clear();
    removedSessions.clear();
    dirtyEvents.clear();
    orderDirty = false;
    membershipDirty = false;
    unknownSessionSeen = false;
    return changes;
  }

  function studentName(sessionId, event) {
    return names.get(sessionId) || event?.studentName || gettext("A student");
  }

  return {
    sessions,
    events,
    studentName,
    applySnapshot,
    applyEvent,
    applySession,
    applyMedia,
    applyCadence,
    summary,
    connectionOf,
    secondsLeft,
    serverNowMs,
    setServerTime,
    takeChanges,
    markAll() {
      for (const id of sessions.keys()) dirtySessions.add(id);
      orderDirty = true;
    },
    noteEventId(id) {
      maxEventId = Math.max(maxEventId, Number(id) || 0);
    },
    get lastEventId() {
      return maxEventId;
    },
  };
}
