// Browser events for the proctor (tab switches, copy, fullscreen exits...).
//
// Each event gets a number and waits in an outbox (kept in localStorage) until the server
// acknowledges it. They go over the stream socket as {"type":"event","seq":n,...}; the server
// stores an event once per number, so re-sending after a reconnect or a reload is safe. When the
// socket has been down for a while they go to POST log-event instead, which has no number: an
// event the socket delivered just before dropping (ack lost) may then be stored twice.

import { ApiError, apiFetch } from "../api.js";

const SOCKET_GRACE_MS = 5000; // how long the socket may be down before falling back to HTTP
const RATE_LIMIT_RETRY_MS = 3000;
const HTTP_RETRY_MS = 10_000;
// An event sent on a live socket but not acknowledged this long after is sent again (the
// server stores it once); covers a message lost without the socket closing.
const RESEND_AFTER_MS = 10_000;

export function createEventLog({ logUrl, store }) {
  let outbox = store.get("events", []);
  let send = null; // set while the socket is live: (message) => boolean
  let fallbackTimer = null;
  let postingOverHttp = false;
  let stopped = false;

  function persist() {
    store.set("events", outbox);
  }

  function nextSeq() {
    // With no counter on this device (first load, or storage was cleared) start from the clock:
    // numbers from an earlier page load of this session are then always lower, and the server
    // never mistakes a new event for a re-sent old one.
    const floor = store.get("eventSeq", null) === null ? Date.now() : 0;
    return store.nextNumber("eventSeq", floor);
  }

  const sentAt = new Map(); // seq -> performance.now() of the last send on a socket

  function sendOnSocket(entry) {
    if (!(send && send({ type: "event", seq: entry.seq, event: entry.event }))) return false;
    sentAt.set(entry.seq, performance.now());
    return true;
  }

  function report(type, severity, details = {}) {
    const entry = { seq: nextSeq(), event: { type, severity, details, timestamp: new Date().toISOString() } };
    outbox.push(entry);
    persist();
    if (!sendOnSocket(entry)) armFallback();
    return entry;
  }

  /** The socket is live (after `welcome`): deliver everything not yet acknowledged. */
  function socketUp(sendMessage) {
    send = sendMessage;
    window.clearTimeout(fallbackTimer);
    fallbackTimer = null;
    outbox.forEach(sendOnSocket);
  }

  const resendTimer = window.setInterval(() => {
    const due = performance.now() - RESEND_AFTER_MS;
    for (const entry of outbox) if ((sentAt.get(entry.seq) ?? Infinity) < due) sendOnSocket(entry);
  }, RESEND_AFTER_MS);

  function socketDown() {
    send = null;
    armFallback();
  }

  function armFallback() {
    if (stopped || fallbackTimer || postingOverHttp || outbox.length === 0) return;
    fallbackTimer = window.setTimeout(() => {
      fallbackTimer = null;
      if (!send) postOverHttp();
    }, SOCKET_GRACE_MS);
  }

  function ack(seq) {
    sentAt.delete(seq);
    const before = outbox.length;
    outbox = outbox.filter((entry) => entry.seq !== seq);
    if (outbox.length !== before) persist();
  }

  /** The socket answered {"type":"error", "seq": n}: the server will not store that event. */
  function reject(seq, code, message) {
    const entry = outbox.find((item) => item.seq === seq);
    if (!entry) return;
    if (code === "RATE_LIMITED") {
      window.setTimeout(() => sendOnSocket(entry), RATE_LIMIT_RETRY_MS);
      return;
    }
    console.warn(`Event ${entry.event.type} refused by the server (${code}): ${message}`);
    ack(seq);
  }

  async function postOverHttp() {
    postingOverHttp = true;
    try {
      // Oldest first; stop as soon as the socket is back (it re-sends the rest itself).
      while (outbox.length && !send && !stopped) {
        if (!navigator.onLine) {
          window.setTimeout(() => send || postOverHttp(), HTTP_RETRY_MS);
          return;
        }
        const entry = outbox[0];
        try {
          await apiFetch(logUrl, { method: "POST", json: { ...entry.event, seq: entry.seq } });
        } catch (err) {
          // Signed out (401): the event waits for the student to sign in again, as answers do.
          if (err instanceof ApiError && (err.transient || err.status === 401)) {
            window.setTimeout(() => send || postOverHttp(), HTTP_RETRY_MS);
            return;
          }
          console.warn(`Event ${entry.event.type} refused by the server:`, err);
        }
        ack(entry.seq);
      }
    } finally {
      postingOverHttp = false;
    }
  }

  /**
   * The page is going away. The event keeps its number in the outbox either way (the next page
   * of this session re-sends it, stored once); over a live socket it goes there, otherwise a
   * keepalive request is the only chance now. Returns the outbox entry (its `seq`).
   */
  function reportOnUnload(type, severity, details = {}) {
    if (send) return report(type, severity, details);
    const entry = { seq: nextSeq(), event: { type, severity, details, timestamp: new Date().toISOString() } };
    outbox.push(entry);
    persist();
    apiFetch(logUrl, { method: "POST", json: { ...entry.event, seq: entry.seq }, keepalive: true }).catch(() => {
      // Nothing more can be done from a page that is being unloaded.
    });
    return entry;
  }

  // The session is over: the server would refuse anything still waiting.
  function stop() {
    stopped = true;
    send = null;
    window.clearTimeout(fallbackTimer);
    window.clearInterval(resendTimer);
  }

  return { report, reportOnUnload, socketUp, socketDown, ack, reject, stop };
}
