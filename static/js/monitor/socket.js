// The monitor's WebSocket (/ws/monitor/, docs/PROTOCOL.md "Live monitor"), authenticated by the
// session cookie. Messages are handed to handlers registered by type, so other parts of the page
// (admitting students, for one) can listen for their own message types without touching this file.
//
// A dropped socket is reopened after 1, 2, 4, 8, then every 15 s. Every (re)open starts with
// {"type": "since", "lastEventId": n}, so alerts raised while we were away arrive as `catch-up`.
// A socket can also stay open yet hear nothing: channels_redis keeps group memberships in Redis,
// and a Redis restart forgets them. After a quiet spell we ask `since` ourselves; if that brings
// events we never got live, the socket is deaf and is replaced (which joins the groups again).
// And a live message can be lost while the socket goes on hearing others: the channel layer drops
// what waits too long for a socket whose server fell behind (capacity and expiry in
// settings.CHANNEL_LAYERS). Every SWEEP_MS we ask `since` from where we stood one sweep before;
// the answer is applied by id, so only what was lost is new (bench/drill.py, docs/RELIABILITY.md).

const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
const QUIET_PROBE_MS = 20_000;
const PROBE_ANSWER_MS = 10_000;
const SWEEP_MS = 30_000;
const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403;
const CLOSE_GIVING_UP = 4000; // ours: this socket stopped answering, a new one is on its way

const handlers = new Map();

/** Call `handler(message)` for every message of `type`; returns a function that unregisters it. */
export function onMessage(type, handler) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(handler);
  return () => handlers.get(type).delete(handler);
}

function dispatch(message) {
  const registered = handlers.get(message.type);
  if (!registered || registered.size === 0) {
    console.debug("monitor: no handler for message type", message.type);
    return;
  }
  for (const handler of registered) {
    try {
      handler(message);
    } catch (error) {
      // One broken handler must not stop the others (or the socket) from working.
      console.error("monitor: handler for", message.type, "failed", error);
    }
  }
}

/**
 * onState(state, detail): state is "connecting" | "open" | "reconnecting" | "closed";
 * detail carries {retryAt} while reconnecting, {code, reason} when closed for good.
 * onReopen() after every open but the first (time to refetch what may have changed).
 */
export function createMonitorSocket({ path, examId, lastEventId, onState, onReopen, stats }) {
  const query = examId ? `?exam=${encodeURIComponent(examId)}` : "";
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}${query}`;
  let socket = null;
  let attempt = 0;
  let everOpened = false;
  let stopped = false;
  let retryTimer = null;
  let lastHeardAt = 0;
  let probeSentAt = 0;
  let sweepFrom = null; // the highest event id seen at the last sweep (or at the first open)

  function setState(state, detail = {}) {
    onState(state, detail);
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function askSince() {
    send({ type: "since", lastEventId: lastEventId() });
  }

  function connect() {
    window.clearTimeout(retryTimer);
    if (stopped) return;
    setState(everOpened ? "reconnecting" : "connecting", { retryAt: null });
    const ws = new WebSocket(url);
    socket = ws;
    ws.onopen = () => {
      if (ws !== socket) return;
      attempt = 0;
      lastHeardAt = Date.now();
      probeSentAt = 0;
      if (sweepFrom === null) sweepFrom = lastEventId(); // the first sweep covers what came after
      askSince();
      setState("open");
      if (everOpened) onReopen();
      everOpened = true;
    };
    ws.onmessage = (event) => {
      if (ws !== socket) return;
      lastHeardAt = Date.now();
      stats.messages += 1;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        console.warn("monitor: ignored a message that is not JSON");
        return;
      }
      const probed = probeSentAt !== 0 && message.type === "catch-up";
      if (probed) probeSentAt = 0;
      dispatch(message);
      if (probed && Array.isArray(message.events) && message.events.length > 0) {
        // Events we should have had live: this socket no longer receives its groups' messages.
        replace();
      }
    };
    ws.onclose = (event) => {
      if (ws !== socket) return;
      socket = null;
      if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_FORBIDDEN) {
        stopped = true;
        setState("closed", { code: event.code, reason: event.reason });
        return;
      }
      scheduleRetry();
    };
  }

  function scheduleRetry() {
    const delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
    attempt += 1;
    setState("reconnecting", { retryAt: Date.now() + delay });
    retryTimer = window.setTimeout(connect, delay);
  }

  // Give up on the current socket at once: a half-open one may take minutes to report closing.
  function replace() {
    const old = socket;
    socket = null;
    if (old) {
      old.onopen = old.onmessage = old.onclose = null;
      try {
        old.close(CLOSE_GIVING_UP, "not answering");
      } catch (error) {
        console.debug("monitor: closing a dead socket failed", error);
      }
    }
    scheduleRetry();
  }

  window.setInterval(() => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    if (probeSentAt && now - probeSentAt > PROBE_ANSWER_MS) {
      replace();
    } else if (!probeSentAt && now - lastHeardAt > QUIET_PROBE_MS) {
      probeSentAt = now;
      askSince();
    }
  }, 2000);

  window.setInterval(() => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    const seen = lastEventId();
    // Not while a probe waits for its answer: that answer must say whether the socket is deaf.
    if (sweepFrom !== null && !probeSentAt) send({ type: "since", lastEventId: sweepFrom });
    sweepFrom = seen;
  }, SWEEP_MS);

  // The network came back: no need to wait out the backoff.
  window.addEventListener("online", () => {
    if (!stopped && !socket) connect();
  });

  return {
    start: connect,
    retryNow() {
      if (!stopped && !socket) connect();
    },
    send,
  };
}
