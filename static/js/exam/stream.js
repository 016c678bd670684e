// The exam page's one WebSocket (docs/PROTOCOL.md, "/ws/exam-sessions/<id>/stream/").
//
// Each connection starts with a fresh single-use ticket, then `hello`; media is only sent after
// the server's `welcome`. A dropped socket is reopened with exponential backoff and full jitter
// (so a school's worth of students do not reconnect in lockstep after a blip), capped at 30 s.
// Media sequence numbers persist in localStorage and continue across reconnects and reloads.

import { ApiError, apiFetch } from "../api.js";

export const FRAME = 1;
export const AUDIO = 2;
export const BUNDLE = 3;
const HEADER_BYTES = 13;
// Audio waits for the next frame, so that one message a cadence carries both: the server's cost
// is per message (docs/PROTOCOL.md, "Bundles"). Never longer than this, so a slow cadence or a
// lost camera holds no voice back by more.
const AUDIO_HOLD_MS = 2500;
const MAX_BUNDLE_PARTS = 8;
const HEARTBEAT_MS = 10_000;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30_000;
// Beyond this much unsent data the network is not keeping up: drop media rather than queue
// stale frames (audio and video are only useful live).
const MAX_BUFFERED_BYTES = 512 * 1024;

// Every media message is acknowledged, so while media flows the server speaks at least every
// few seconds. Silence for this long means a dead connection the browser has not noticed yet
// (a half-open TCP socket after a network change can look open for minutes).
const SILENCE_LIMIT_MS = 20_000;
const CLOSE_GOING_AWAY = 4000; // ours: the client gave up on this socket and will reconnect

const CLOSE_FORBIDDEN = 4403;
const CLOSE_NOT_IN_PROGRESS = 4409;

/** A binary media message: 13-byte big-endian header (kind, uint32 seq, uint64 ms) + payload. */
export function encodeMedia(kind, seq, captureMs, payload) {
  const bytes = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, seq, false);
  view.setBigUint64(5, BigInt(Math.round(captureMs)), false);
  bytes.set(new Uint8Array(payload), HEADER_BYTES);
  return bytes.buffer;
}

/** A bundle: kind 3, a part count, then each part as a uint32 length and a kind-1 or kind-2 message. */
export function encodeBundle(messages) {
  const size = 2 + messages.reduce((total, m) => total + 4 + m.byteLength, 0);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, BUNDLE);
  view.setUint8(1, messages.length);
  let offset = 2;
  for (const message of messages) {
    view.setUint32(offset, message.byteLength, false);
    bytes.set(new Uint8Array(message), offset + 4);
    offset += 4 + message.byteLength;
  }
  return bytes.buffer;
}

/**
 * onStatus("connecting" | "live" | "reconnecting" | "offline" | "closed")
 * onMessage(message) for every server message after `welcome` handling
 * onOpen(send) when the socket is live; onDown() when it stops being live
 * onEnd({ code, reason }) when the server says not to come back (4403, 4409, refused ticket)
 * onSignedOut() when a ticket is refused because the login ended: the stream waits for resume()
 */
export function createStream({ wsPath, ticketUrl, store, onStatus, onMessage, onOpen, onDown, onEnd, onSignedOut }) {
  let socket = null;
  let live = false;
  let stopped = false;
  let waitingForSignIn = false;
  let attempt = 0;
  let reconnectTimer = null;
  let heartbeatTimer = null;
  let lastHeardAt = 0;
  let lastMediaSentAt = 0;
  let heldAudio = []; // encoded audio messages waiting for the next frame
  let heldTimer = null;
  let frameSeq = Number(store.get("frameSeq", 0)) || 0;
  let audioSeq = Number(store.get("audioSeq", 0)) || 0;

  async function connect() {
    window.clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (stopped) return;
    if (!navigator.onLine) {
      scheduleReconnect(); // the `online` event brings us back sooner
      return;
    }
    onStatus(attempt === 0 ? "connecting" : "reconnecting");
    let ticket;
    try {
      ticket = (await apiFetch(ticketUrl, { method: "POST" })).ticket;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        // Signed out: a new ticket will not come by retrying (PROTOCOL.md: do not retry blindly).
        // The page asks the student to sign in again and calls resume() once they have.
        waitingForSignIn = true;
        onSignedOut();
        return;
      }
      if (err instanceof ApiError && err.status === 403) {
        end({ code: CLOSE_FORBIDDEN, reason: err.message });
        return;
      }
      scheduleReconnect();
      return;
    }
    if (stopped) return;
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(
      `${scheme}://${window.location.host}${wsPath}?ticket=${encodeURIComponent(ticket)}`,
    );
    ws.binaryType = "arraybuffer";
    socket = ws;
    // Each handler checks that `ws` is still the current socket: one replaced or stopped while
    // it was connecting must not act for the page any more.
    ws.addEventListener("open", () => {
      if (ws !== socket) {
        ws.close(1000, "page closed");
        return;
      }
      lastHeardAt = performance.now();
      ws.send(JSON.stringify({ type: "hello", lastFrameSeq: frameSeq, lastAudioSeq: audioSeq }));
      heartbeatTimer = window.setInterval(heartbeat, HEARTBEAT_MS);
    });
    ws.addEventListener("message", (event) => ws === socket && receive(event.data));
    ws.addEventListener("close", (event) => ws === socket && closed(event));
  }

  function heartbeat() {
    if (lastMediaSentAt - lastHeardAt > SILENCE_LIMIT_MS) {
      drop("no answer from the server");
      return;
    }
    sendJson({ type: "heartbeat" });
  }

  // Give up on the current socket; the close event schedules a reconnect.
  function drop(reason) {
    // Closing a socket that is still connecting only adds a console error; it fails by itself.
    if (socket && socket.readyState === WebSocket.OPEN) socket.close(CLOSE_GOING_AWAY, reason);
  }

  function receive(data) {
    lastHeardAt = performance.now();
    if (typeof data !== "string") return; // the server sends no binary messages
    let message;
    try {
      message = JSON.parse(data);
    } catch (err) {
      console.warn("Unreadable message on the exam stream:", err);
      return;
    }
    if (message.type === "welcome") {
      // Continue after whatever is higher: what this browser sent, or what the server stored.
      frameSeq = Math.max(frameSeq, message.lastFrameSeq || 0);
      audioSeq = Math.max(audioSeq, message.lastAudioSeq || 0);
      live = true;
      attempt = 0;
      onStatus("live");
      onOpen(sendJson);
    }
    onMessage(message);
  }

  function closed(event) {
    window.clearInterval(heartbeatTimer);
    dropHeldAudio(); // only useful live, as media sent while the socket is down
    const wasLive = live;
    live = false;
    socket = null;
    if (wasLive) onDown();
    if (stopped) return;
    if (event.code === CLOSE_FORBIDDEN) {
      end({ code: event.code, reason: event.reason || gettext("This exam's connection was refused.") });
    } else if (event.code === CLOSE_NOT_IN_PROGRESS) {
      end({ code: event.code, reason: event.reason || gettext("This exam session is no longer in progress.") });
    } else {
      // 4401 included: the next attempt fetches a new ticket, and stops if that is refused.
      scheduleReconnect();
    }
  }

  function scheduleReconnect() {
    if (stopped || reconnectTimer) return;
    onStatus(navigator.onLine ? "reconnecting" : "offline");
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
    attempt += 1;
    reconnectTimer = window.setTimeout(connect, 250 + Math.random() * ceiling);
  }

  function end(info) {
    stop();
    onStatus("closed");
    onEnd(info);
  }

  function sendJson(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  /**
   * Send a frame, with the audio held since the last one, or hold an audio chunk for the next
   * frame (at most AUDIO_HOLD_MS). False when the socket is not live or not keeping up: dropped.
   */
  function sendMedia(kind, payload, captureMs) {
    if (!live || socket.bufferedAmount > MAX_BUFFERED_BYTES) return false;
    let seq;
    if (kind === FRAME) {
      seq = frameSeq += 1;
      store.set("frameSeq", seq);
    } else {
      seq = audioSeq += 1;
      store.set("audioSeq", seq);
    }
    const message = encodeMedia(kind, seq, captureMs, payload);
    if (kind === FRAME) {
      flushMedia(message);
    } else {
      heldAudio.push(message);
      if (heldAudio.length >= MAX_BUNDLE_PARTS - 1) flushMedia();
      else if (!heldTimer) heldTimer = window.setTimeout(() => flushMedia(), AUDIO_HOLD_MS);
    }
    return true;
  }

  function flushMedia(frame = null) {
    const parts = frame ? [...heldAudio, frame] : heldAudio;
    dropHeldAudio();
    if (!parts.length || !live || socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
    socket.send(encodeBundle(parts));
    lastMediaSentAt = performance.now();
  }

  function dropHeldAudio() {
    window.clearTimeout(heldTimer);
    heldTimer = null;
    heldAudio = [];
  }

  /** Signed in again: connect now if the stream was waiting for it. */
  function resume() {
    if (!waitingForSignIn || stopped) return;
    waitingForSignIn = false;
    attempt = 0;
    connect();
  }

  // Back online: do not sit out the rest of a long backoff.
  function online() {
    if (reconnectTimer) {
      attempt = 0;
      connect();
    }
  }

  // The browser knows the network is gone: do not wait for the socket to notice.
  function offline() {
    if (socket) drop("offline");
    else if (!stopped) onStatus("offline");
  }

  function stop() {
    stopped = true;
    dropHeldAudio();
    window.clearTimeout(reconnectTimer);
    window.clearInterval(heartbeatTimer);
    const closing = socket;
    socket = null;
    live = false;
    if (closing && closing.readyState === WebSocket.OPEN) closing.close(1000, "page closed");
  }

  /** Send the audio held for the next frame now (before a submit: once the session has ended,
   * the server no longer analyses it). */
  function flush() {
    flushMedia();
  }

  return { connect, sendJson, sendMedia, flush, online, offline, resume, stop, isLive: () => live };
}
