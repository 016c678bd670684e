// The pre-exam system check (docs/PROTOCOL.md, "Student journey", step 3): test each item the
// exam's security level needs, show how to fix what fails, and record a passing result with
// POST checkUrl so the server lets the exam start.

import { ApiError, NetworkError, apiFetch, apiRequest } from "./api.js";
import { averageBrightness, firstFrame, getMedia, mediaErrorHint, stopStream } from "./checks/media.js";
import { offerNewWindow } from "./checks/new-window.js";

const boot = JSON.parse(document.getElementById("page-bootstrap").textContent);
const required = new Set(boot.required);
const ITEMS = ["browser", "websocket", "camera", "microphone", "fullscreen", "screen", "bandwidth"];
const LABELS = {
  browser: gettext("Browser"),
  websocket: gettext("Live connection"),
  camera: gettext("Camera"),
  microphone: gettext("Microphone"),
  fullscreen: gettext("Full screen"),
  screen: gettext("Screen sharing"),
  bandwidth: gettext("Upload speed"),
};
const MEDIA_ITEMS = new Set(["camera", "microphone", "bandwidth"]);
const STATE_TEXT = { pending: gettext("Not checked yet"), running: gettext("Checking…"), pass: gettext("Passed"), fail: gettext("Not working") };

const PINGS = 5;
const PING_TIMEOUT_MS = 5000;
const CONNECT_TIMEOUT_MS = 10000;
const BLACK_BELOW = 10; // average luma (0–255) under which a picture counts as black
const MIN_UPLOAD_KBPS = 250;
const UPLOAD_BYTES = 256 * 1024;
const LATENCY_PROBES = 8;
// The microphone passes on a voice, not on a live track: the level must rise VOICE_ABOVE_FLOOR_DB
// above the room's own noise (the quietest tenth of what it heard), and above VOICE_MIN_DBFS,
// for VOICE_NEEDED_MS in all within MIC_LISTEN_MS. A muted or wrong microphone sends silence
// or steady noise and fails.
const MIC_SAMPLE_MS = 50;
const MIC_FLOOR_SAMPLES = 10; // the first half second only sets the noise floor
const MIC_LISTEN_MS = 15_000;
const VOICE_ABOVE_FLOOR_DB = 12;
const VOICE_MIN_DBFS = -50;
const VOICE_NEEDED_MS = 300;
const SILENCE_DBFS = -100; // what digital silence (an RMS of 0) is recorded as

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const $ = (id) => document.getElementById(id);
const summary = $("check-summary");
const recheckButton = $("recheck");
const continueLink = $("continue");
const video = $("camera-preview");
const meter = $("mic-level");

/** Everything one run opened, so Re-check and leaving the page can close it. */
let current = null;

function itemElement(name) {
  return document.querySelector(`.check-item[data-item="${name}"]`);
}

function show(name, state, { detail = "", fix = "" } = {}) {
  const element = itemElement(name);
  element.dataset.state = state;
  element.querySelector(".check-state").textContent = STATE_TEXT[state] ?? state;
  element.querySelector(".check-detail").textContent = detail;
  element.querySelector(".check-fix").textContent = fix;
}

function showNotNeeded(name) {
  const element = itemElement(name);
  element.dataset.state = "skip";
  element.querySelector(".check-state").textContent =
    boot.mediaExempt && MEDIA_ITEMS.has(name)
      ? gettext("Not needed for this exam (you are exempt)")
      : gettext("Not needed for this exam");
  element.querySelector(".check-detail").textContent = "";
  element.querySelector(".check-fix").textContent = "";
}

// --- what a failed request tells the student -----------------------------------------------------

const SIGNED_OUT_FIX = gettext("Your login has expired. Log in again, then come back to this page.");

/** A check's failure for a request that failed: `error` is the ApiError (or NetworkError). */
function requestFailed(error, detail) {
  if (error instanceof NetworkError) {
    if (error.code === "TIMEOUT") {
      return {
        ok: false,
        detail: interpolate(gettext("%s Procto did not answer in time."), [detail]),
        fix: gettext("Your connection may be very slow or unstable. Move closer to your Wi-Fi router or use a network cable, then press Re-check."),
      };
    }
    return { ok: false, detail: interpolate(gettext("%s Procto could not be reached."), [detail]), fix: gettext("Check your internet connection, then press Re-check.") };
  }
  if (error.status === 401) return { ok: false, detail, fix: SIGNED_OUT_FIX };
  if (error.transient) {
    return {
      ok: false,
      detail: interpolate(gettext("%(detail)s Procto answered %(status)s."), { detail, status: error.status }, true),
      fix: gettext("Procto is busy or has a problem right now. Wait a minute, then press Re-check. If it keeps failing, tell your teacher or proctor."),
    };
  }
  return {
    ok: false,
    detail: interpolate(
      gettext("%(detail)s Procto refused it (%(status)s: %(message)s)"),
      { detail, status: error.status, message: error.message },
      true,
    ),
    fix: gettext("Reload this page, then press Re-check. If it keeps failing, tell your teacher or proctor what the message says."),
  };
}

// --- browser and full screen: feature detection ------------------------------------------------

function checkBrowser() {
  const missing = [];
  if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) missing.push(gettext("camera and microphone access"));
  if (typeof AudioWorkletNode === "undefined") missing.push(gettext("audio processing (AudioWorklet)"));
  if (typeof WebSocket === "undefined") missing.push(gettext("live connections (WebSocket)"));
  if (typeof MediaRecorder === "undefined") missing.push(gettext("video recording (MediaRecorder)"));
  if (!missing.length) return { ok: true, detail: gettext("Your browser has everything the exam uses.") };
  const fix = window.isSecureContext
    ? gettext("Use a current version of Chrome, Edge, Firefox or Safari on a computer, then open this page again.")
    : gettext("This page is not on a secure (https) connection, which hides these features. Open Procto with an https:// address.");
  return { ok: false, detail: `Missing: ${missing.join(", ")}.`, fix };
}

// Whether the exam page will be able to ask for the screen: the share itself needs a click and
// is asked for on the exam page (docs/PROTOCOL.md, "Screen capture").
function checkScreen() {
  const allowed = document.featurePolicy ? document.featurePolicy.allowsFeature("display-capture") : true;
  if (navigator.mediaDevices?.getDisplayMedia && allowed)
    return { ok: true, detail: gettext("This browser can share your entire screen, which this exam records.") };
  if (!allowed && offerNewWindow()) {
    return {
      ok: false,
      detail: gettext("The LMS shows this exam inside its own page, which does not allow sharing the screen."),
      fix: gettext("Press Open the exam in a new window (above) and go on there."),
    };
  }
  return {
    ok: false,
    detail: gettext("This browser cannot share the screen, which this exam records."),
    fix: gettext("Use a current version of Chrome, Edge or Firefox on a computer."),
  };
}

function checkFullscreen() {
  if (document.fullscreenEnabled) return { ok: true, detail: gettext("The exam can open in full screen.") };
  if (offerNewWindow()) {
    return {
      ok: false,
      detail: gettext("The LMS shows this exam inside its own page, which does not allow full screen."),
      fix: gettext("Press Open the exam in a new window (above) and go on there."),
    };
  }
  return {
    ok: false,
    detail: gettext("This browser window does not allow full screen."),
    fix: gettext("Open the exam in a desktop browser window of its own (not inside another site or an app's built-in browser, and not on a phone), then press Re-check."),
  };
}

// --- live connection: ticket, /ws/check/, five pings ------------------------------------------

const CLOSE_HINTS = {
  4401: SIGNED_OUT_FIX,
  4403: gettext("Procto refused the connection from this page. Reload the page; if it keeps happening, ask your IT support."),
};

function socketUrl(ticket) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${boot.wsPath}?ticket=${encodeURIComponent(ticket)}`;
}

async function checkWebsocket(run) {
  let ticket;
  try {
    ticket = (await apiFetch(boot.ticketUrl, { method: "POST" })).ticket;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return requestFailed(error, gettext("Could not prepare the live connection."));
  }
  const socket = new WebSocket(socketUrl(ticket));
  run.socket = socket;
  const blocked = {
    ok: false,
    detail: gettext("The live connection could not be opened."),
    fix: gettext("Your network may block live (WebSocket) connections: a firewall, proxy, VPN or antivirus web filter. Try another network (a phone hotspot works) or ask your IT support, then press Re-check."),
  };
  try {
    const rtts = await new Promise((resolve, reject) => {
      const rtts = [];
      let sentAt = 0;
      // Until the socket opens, then per ping: a hung handshake or a lost pong fails the check.
      let timer = setTimeout(() => reject(new Error("timeout")), CONNECT_TIMEOUT_MS);
      const sendPing = () => {
        run.socketOpened = true;
        sentAt = performance.now();
        socket.send(JSON.stringify({ type: "ping", id: rtts.length + 1 }));
        clearTimeout(timer);
        timer = setTimeout(() => reject(new Error("timeout")), PING_TIMEOUT_MS);
      };
      socket.addEventListener("open", sendPing);
      socket.addEventListener("message", (event) => {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          return; // not ours to answer; the server only sends JSON
        }
        if (message.type === "error") {
          clearTimeout(timer);
          reject(new Error(message.message));
        } else if (message.type === "pong" && message.id === rtts.length + 1) {
          rtts.push(performance.now() - sentAt);
          if (rtts.length < PINGS) sendPing();
          else {
            clearTimeout(timer);
            resolve(rtts);
          }
        }
      });
      socket.addEventListener("close", (event) => {
        clearTimeout(timer);
        const error = new Error(`closed ${event.code}`);
        error.closeCode = event.code;
        reject(error);
      });
    });
    socket.close(1000, "check done");
    const median = [...rtts].sort((a, b) => a - b)[Math.floor(rtts.length / 2)];
    run.measurements.rttMs = Math.round(median * 10) / 10;
    const values = { ms: Math.round(median), pings: PINGS };
    const detail =
      median > 1000
        ? gettext(
            "Round trip %(ms)s ms (median of %(pings)s). That is slow: alerts and saving may lag, but the exam works.",
          )
        : gettext("Round trip %(ms)s ms (median of %(pings)s).");
    return { ok: true, detail: interpolate(detail, values, true) };
  } catch (error) {
    if (run.cancelled) return null;
    socket.close();
    if (CLOSE_HINTS[error.closeCode]) return { ...blocked, fix: CLOSE_HINTS[error.closeCode] };
    if (error.message === "timeout" && run.socketOpened) {
      return {
        ...blocked,
        detail: gettext("The live connection opened but did not answer in time."),
        fix: gettext("Your connection may be very slow or unstable. Move closer to your Wi-Fi router or use a network cable, then press Re-check."),
      };
    }
    return blocked;
  }
}

// --- camera and microphone ------------------------------------------------------------------------

/** One permission prompt for both devices; if it fails, ask for each to tell which one failed. */
async function openMedia(run, wantCamera, wantMicrophone) {
  const constraints = {
    video: wantCamera && { width: { ideal: 640 }, height: { ideal: 480 } },
    audio: wantMicrophone && { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  };
  const result = { camera: null, microphone: null, cameraError: null, microphoneError: null };
  try {
    const stream = await getMedia(constraints);
    run.streams.push(stream);
    result.camera = stream.getVideoTracks()[0] || null;
    result.microphone = stream.getAudioTracks()[0] || null;
    return result;
  } catch (error) {
    if (!(wantCamera && wantMicrophone)) {
      result[wantCamera ? "cameraError" : "microphoneError"] = error;
      return result;
    }
  }
  for (const [kind, constraint] of [
    ["camera", { video: constraints.video }],
    ["microphone", { audio: constraints.audio }],
  ]) {
    try {
      const stream = await getMedia(constraint);
      run.streams.push(stream);
      result[kind] = stream.getTracks()[0];
    } catch (error) {
      result[`${kind}Error`] = error;
    }
  }
  return result;
}

async function checkCamera(run, track, error) {
  if (!track) return { ok: false, detail: gettext("The camera is not available."), fix: mediaErrorHint(error, "camera") };
  $("check-media").hidden = false;
  $("camera-figure").hidden = false;
  video.srcObject = new MediaStream([track]);
  video.play().catch((playError) => console.warn("camera preview did not start playing:", playError.name));
  let size;
  try {
    size = await firstFrame(video);
  } catch {
    return {
      ok: false,
      detail: gettext("The camera sends no picture."),
      fix: gettext("Close other apps that may use the camera (Zoom, Teams, another browser tab); unplug and reconnect it, then press Re-check."),
    };
  }
  if (run.cancelled) return null;
  run.measurements.videoWidth = size.width;
  run.measurements.videoHeight = size.height;
  // A camera needs a moment to adjust its exposure: accept the first bright frame within ~3 s.
  const canvas = document.createElement("canvas");
  let brightness = 0;
  for (let attempt = 0; attempt < 12 && !run.cancelled; attempt += 1) {
    brightness = averageBrightness(video, canvas);
    if (brightness >= BLACK_BELOW) break;
    await sleep(250);
  }
  if (brightness < BLACK_BELOW) {
    return {
      ok: false,
      detail: interpolate(gettext("The picture is black (%(width)s×%(height)s)."), size, true),
      fix: gettext("Open the camera's privacy cover or shutter, check that nothing covers the lens, turn on a light in front of you, then press Re-check."),
    };
  }
  return { ok: true, detail: interpolate(gettext("Picture received, %(width)s×%(height)s."), size, true) };
}

/** The level of `samples` in dBFS (digital silence: SILENCE_DBFS). */
function levelDb(samples) {
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  const rms = Math.sqrt(sum / samples.length);
  return rms > 0 ? Math.max(SILENCE_DBFS, 20 * Math.log10(rms)) : SILENCE_DBFS;
}

/** The quietest tenth of what was heard: the room's own noise. */
function noiseFloor(levels) {
  const sorted = [...levels].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 10)];
}

const round1 = (value) => Math.round(value * 10) / 10;

/**
 * Listens until it hears a voice above the room's noise (see VOICE_ABOVE_FLOOR_DB), showing the
 * level on the meter and asking the student to say something; fails after MIC_LISTEN_MS.
 */
async function checkMicrophone(run, track, error) {
  if (!track)
    return { ok: false, detail: gettext("The microphone is not available."), fix: mediaErrorHint(error, "microphone") };
  $("check-media").hidden = false;
  $("mic-box").hidden = false;
  const prompt = gettext("Say something out loud now, for example your name: the bar should move.");
  show("microphone", "running", { detail: prompt });
  $("mic-prompt").textContent = prompt;
  // Created when the run began (runChecks), inside the click of Re-check: browsers start audio
  // only after a click, and a context that stays suspended hears nothing.
  const context = run.audioContext;
  if (!context) {
    return {
      ok: false,
      detail: gettext("This browser cannot measure sound."),
      fix: gettext("Use a current version of Chrome, Edge, Firefox or Safari on a computer, then open this page again."),
    };
  }
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
  if (context.state === "suspended") {
    context.resume().catch((resumeError) => console.warn("audio context did not resume:", resumeError.name));
  }
  const samples = new Float32Array(analyser.fftSize);
  const levels = [];
  let voiceMs = 0;
  let peak = SILENCE_DBFS;
  let floor = SILENCE_DBFS;
  const heard = await new Promise((resolve) => {
    const started = performance.now();
    run.micTimer = setInterval(() => {
      if (run.cancelled || track.readyState !== "live") {
        clearInterval(run.micTimer);
        resolve(false);
        return;
      }
      analyser.getFloatTimeDomainData(samples);
      const db = levelDb(samples);
      // Shown from -60 dBFS (silence) to 0 dBFS (as loud as it gets).
      const level = Math.min(1, Math.max(0, (db + 60) / 60));
      meter.value = level;
      meter.textContent = `${Math.round(level * 100)}%`;
      if (context.state === "running") {
        levels.push(db);
        peak = Math.max(peak, db);
        floor = noiseFloor(levels);
        if (levels.length > MIC_FLOOR_SAMPLES && db >= Math.max(floor + VOICE_ABOVE_FLOOR_DB, VOICE_MIN_DBFS)) {
          voiceMs += MIC_SAMPLE_MS;
        }
      }
      if (voiceMs >= VOICE_NEEDED_MS || performance.now() - started >= MIC_LISTEN_MS) {
        clearInterval(run.micTimer);
        resolve(voiceMs >= VOICE_NEEDED_MS);
      }
    }, MIC_SAMPLE_MS);
  });
  if (run.cancelled) return null;
  $("mic-prompt").textContent = "";
  run.measurements.micPeakDb = round1(peak);
  run.measurements.micFloorDb = round1(floor);
  run.measurements.micLevel = Math.round(Math.min(1, Math.max(0, (peak + 60) / 60)) * 1000) / 1000;
  if (track.readyState !== "live") {
    return {
      ok: false,
      detail: gettext("The microphone stopped."),
      fix: mediaErrorHint({ name: "NotReadableError" }, "microphone"),
    };
  }
  const microphoneName = track.label || gettext("default microphone");
  if (heard) return { ok: true, detail: interpolate(gettext("We heard you: %s."), [microphoneName]) };
  const seconds = MIC_LISTEN_MS / 1000;
  if (track.muted) {
    return {
      ok: false,
      detail: gettext("The microphone is muted."),
      fix: gettext("Unmute the microphone (a mute key or switch on your headset or keyboard, or your system's sound settings), then press Re-check and speak while the bar is shown."),
    };
  }
  if (context.state !== "running") {
    return {
      ok: false,
      detail: gettext("Your browser did not let this page listen to the microphone."),
      fix: gettext("Press Re-check, then say something while the bar is shown."),
    };
  }
  if (peak < VOICE_MIN_DBFS) {
    return {
      ok: false,
      detail: interpolate(
        gettext("We heard nothing from the microphone in %(seconds)s seconds (%(microphone)s)."),
        { seconds, microphone: microphoneName },
        true,
      ),
      fix: gettext("Check that it is switched on and not muted, and that your browser uses the right one (the microphone icon in the address bar, or your system's sound settings). Then press Re-check and speak while the bar is shown."),
    };
  }
  return {
    ok: false,
    detail: interpolate(gettext("We heard only steady noise, no voice above it, in %s seconds."), [seconds]),
    fix: gettext("Speak up or move closer to the microphone, away from noise (a fan, an open window), then press Re-check and speak while the bar is shown."),
  };
}

// --- upload speed ---------------------------------------------------------------------------------

function randomBlob(bytes) {
  const data = new Uint8Array(bytes);
  for (let offset = 0; offset < bytes; offset += 65536) crypto.getRandomValues(data.subarray(offset, offset + 65536));
  return new Blob([data], { type: "application/octet-stream" });
}

const SLOW_UPLOAD_FIX =
  gettext("Pause uploads and video calls (cloud backup, file sync, streaming), move closer to your Wi-Fi router or use a network cable, then press Re-check.");

/**
 * Milliseconds until the server answered OK. Anything else throws (ApiError, NetworkError): a
 * refusal answers sooner than a real upload would, so it times nothing, and the exam would then
 * meet the same refusal.
 */
async function timeRequest(url, options) {
  const started = performance.now();
  await apiRequest(url, options);
  return performance.now() - started;
}

/** Latency from small GETs of /healthz; upload speed from timing one POST of 256 KB to the
 * bandwidth probe, which reads the body and answers with its size. */
async function checkBandwidth(run) {
  try {
    const latencies = [];
    for (let i = 0; i < LATENCY_PROBES && !run.cancelled; i += 1) {
      latencies.push(await timeRequest("/healthz"));
    }
    const blob = randomBlob(UPLOAD_BYTES);
    const elapsed = await timeRequest("/api/system-check/bandwidth", { method: "POST", body: blob });
    const seconds = Math.max(elapsed / 1000, 0.001);
    if (run.cancelled) return null;
    const kbps = Math.round((UPLOAD_BYTES * 8) / seconds / 1000);
    const latency = Math.round([...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)]);
    run.measurements.uploadKbps = kbps;
    const detail = interpolate(
      gettext("About %(kbps)s kbit/s up; the exam needs %(needed)s. Response time %(latency)s ms."),
      { kbps: kbps.toLocaleString(), needed: MIN_UPLOAD_KBPS, latency },
      true,
    );
    if (kbps >= MIN_UPLOAD_KBPS) return { ok: true, detail };
    return { ok: false, detail, fix: SLOW_UPLOAD_FIX };
  } catch (error) {
    if (run.cancelled) return null;
    if (!(error instanceof ApiError)) throw error;
    if (error instanceof NetworkError && error.code === "TIMEOUT") {
      return { ok: false, detail: gettext("The speed test did not finish in time."), fix: SLOW_UPLOAD_FIX };
    }
    return requestFailed(error, gettext("The speed test failed."));
  }
}

// --- one run of every check -----------------------------------------------------------------------

function stopRun(run) {
  if (!run) return;
  run.cancelled = true;
  clearInterval(run.micTimer);
  if (run.socket && run.socket.readyState <= WebSocket.OPEN) run.socket.close(1000, "leaving");
  run.streams.forEach(stopStream);
  if (run.audioContext && run.audioContext.state !== "closed") {
    run.audioContext.close().catch((error) => console.warn("audio context did not close:", error.name));
  }
  video.srcObject = null;
}

function settle(run, name, promise) {
  return promise.then(
    (result) => {
      if (result && !run.cancelled) {
        run.items[name] = result.ok;
        show(name, result.ok ? "pass" : "fail", result);
      }
    },
    (error) => {
      console.error(`system check "${name}" failed unexpectedly`, error);
      if (!run.cancelled) {
        run.items[name] = false;
        show(name, "fail", {
          detail: gettext("This check failed unexpectedly."),
          fix: gettext("Press Re-check; if it keeps failing, reload the page."),
        });
      }
    },
  );
}

async function runChecks() {
  stopRun(current);
  const run = {
    cancelled: false,
    items: {},
    measurements: {},
    streams: [],
    socket: null,
    socketOpened: false,
    audioContext: null,
    micTimer: 0,
  };
  current = run;
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (required.has("microphone") && AudioContextClass) {
    // Now, while the click of Re-check (or the page's load) still counts as the student's own.
    run.audioContext = new AudioContextClass();
  }
  recheckButton.disabled = true;
  continueLink.hidden = true;
  setSummary("", gettext("Checking your system…"));
  $("check-media").hidden = true;
  $("camera-figure").hidden = true;
  $("mic-box").hidden = true;
  ITEMS.forEach((name) => (required.has(name) ? show(name, "running") : showNotNeeded(name)));
  try {
    await runItems(run);
    if (run.cancelled) return;
    const failed = boot.required.filter((name) => !run.items[name]);
    if (failed.length)
      showFailed(failed, gettext("Some checks did not pass. Fix them as described above, then press Re-check."));
    else await record(run);
  } finally {
    if (!run.cancelled) recheckButton.disabled = false;
  }
}

async function runItems(run) {
  const checks = [];
  if (required.has("browser")) checks.push(settle(run, "browser", Promise.resolve(checkBrowser())));
  if (required.has("fullscreen")) checks.push(settle(run, "fullscreen", Promise.resolve(checkFullscreen())));
  if (required.has("screen")) checks.push(settle(run, "screen", Promise.resolve(checkScreen())));
  const wantCamera = required.has("camera");
  const wantMicrophone = required.has("microphone");
  if (wantCamera || wantMicrophone) {
    const media = openMedia(run, wantCamera, wantMicrophone);
    if (wantCamera)
      checks.push(
        settle(
          run,
          "camera",
          media.then((m) => checkCamera(run, m.camera, m.cameraError)),
        ),
      );
    if (wantMicrophone) {
      checks.push(
        settle(
          run,
          "microphone",
          media.then((m) => checkMicrophone(run, m.microphone, m.microphoneError)),
        ),
      );
    }
  }
  // The speed test runs after the socket test so the two do not slow each other down.
  checks.push(
    (async () => {
      if (required.has("websocket")) await settle(run, "websocket", checkWebsocket(run));
      if (required.has("bandwidth")) await settle(run, "bandwidth", checkBandwidth(run));
    })(),
  );
  await Promise.all(checks);
}

function setSummary(kind, text, list = null) {
  summary.className = kind ? `check-summary status ${kind}` : "check-summary";
  const paragraph = document.createElement("p");
  paragraph.textContent = text;
  summary.replaceChildren(paragraph, ...(list ? [list] : []));
}

/** The summary names what failed, each a link to its item and the fix shown there. */
function showFailed(names, message) {
  const list = document.createElement("ul");
  for (const name of names) {
    const link = document.createElement("a");
    link.href = `#check-item-${name}`;
    link.textContent = LABELS[name] || name;
    const item = document.createElement("li");
    item.append(link);
    list.append(item);
  }
  setSummary("warn", message, list);
}

async function record(run) {
  setSummary("", gettext("All checks passed. Saving the result…"));
  try {
    const result = await apiFetch(boot.checkUrl, {
      method: "POST",
      json: { items: run.items, measurements: run.measurements },
    });
    if (run.cancelled) return;
    if (result.passed) {
      setSummary("ok", gettext("All checks passed. You can continue."));
      continueLink.hidden = false;
    } else {
      showFailed(result.failed, gettext("The server did not accept these checks. Press Re-check to try again."));
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    setSummary(
      "warn",
      interpolate(gettext("The result could not be saved: %s Press Re-check to try again."), [error.message]),
    );
  }
}

ITEMS.forEach((name) => {
  itemElement(name).id = `check-item-${name}`;
});
recheckButton.addEventListener("click", () => {
  runChecks().catch((error) => console.error("system check run failed", error));
});
// Leaving the page (or the browser freezing it) turns the camera and microphone off.
window.addEventListener("pagehide", () => stopRun(current));
window.addEventListener("pageshow", (event) => {
  if (event.persisted) runChecks().catch((error) => console.error("system check run failed", error));
});
runChecks().catch((error) => console.error("system check run failed", error));
