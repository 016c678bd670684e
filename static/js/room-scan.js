// The room scan (docs/PROTOCOL.md, step 5), before the exam's clock starts: record 10–20 s of WebM
// with MediaRecorder and upload it while recording, chunk by chunk and in order, to POST
// uploadUrl (chunk, index, final); starting the exam then gives it to the new attempt.
// A chunk is sent once the next one exists or the recording has stopped, so the last chunk is
// always the one marked final.

import { ApiError, apiFetch } from "./api.js";
import { cameraErrorHint, cameraPreviewStart, stopStream } from "./checks/media.js";

const boot = JSON.parse(document.getElementById("page-bootstrap").textContent);
const $ = (id) => document.getElementById(id);
const video = $("scan-preview");
const statusBox = $("scan-status");
const recordButton = $("scan-record");
const stopButton = $("scan-stop");
const retryButton = $("scan-retry");
const restartButton = $("scan-restart-camera");
const continueLink = $("continue");
const elapsedText = $("scan-elapsed");
const progress = $("upload-progress");
const uploadText = $("upload-text");

const TIMESLICE_MS = 2000;
const VIDEO_BITS_PER_SECOND = 1_000_000; // 20 s ≈ 2.5 MB: well inside the server's limits
const MAX_ATTEMPTS = 6; // per chunk, before asking the student to retry
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
const MIME_TYPES = ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm"];
// A chunk is ~250 KB: on a slow uplink it may take far longer than an ordinary API call.
const UPLOAD_TIMEOUT_MS = 120_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let stream = null;
let recorder = null;
let ticker = 0;
let startedAt = 0;
let announcedStopAllowed = false;

const upload = {
  // One id per recording: the server starts over when it sees a new one (a re-recording after a
  // reload must not be appended to the chunks of the earlier one).
  recordingId: crypto.randomUUID(),
  chunks: [], // Blobs, in recording order
  recordedBytes: 0,
  sentBytes: 0,
  next: 0, // index of the next chunk to send
  recordingDone: false,
  pumping: false,
  halted: false, // a failure waits for the student (Retry the upload)
  failed: false, // a refusal that retrying cannot fix
  complete: false,
};

function formatSeconds(seconds) {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function formatBytes(bytes) {
  return bytes >= 1_000_000
    ? interpolate(gettext("%s MB"), [(bytes / 1_000_000).toFixed(1)])
    : interpolate(gettext("%s kB"), [Math.max(1, Math.round(bytes / 1000))]);
}

function setStatus(kind, message) {
  const paragraph = document.createElement("p");
  paragraph.textContent = message;
  paragraph.className = kind === "ok" ? "status ok" : kind === "warn" ? "hint" : "";
  statusBox.replaceChildren(paragraph);
}

function showProgress() {
  $("upload-box").hidden = false;
  progress.max = Math.max(upload.recordedBytes, 1);
  progress.value = upload.sentBytes;
  const total = upload.chunks.length;
  const parts = interpolate(
    ngettext("%(sent)s of %(total)s part", "%(sent)s of %(total)s parts", total),
    { sent: upload.next, total },
    true,
  );
  if (upload.complete)
    uploadText.textContent = interpolate(gettext("Uploaded %s. Done."), [formatBytes(upload.sentBytes)]);
  else if (!upload.recordingDone)
    uploadText.textContent = interpolate(gettext("Uploading while you record: %s sent."), [parts]);
  else
    uploadText.textContent = interpolate(
      gettext("Uploaded %(sent)s of %(recorded)s (%(parts)s)."),
      { sent: formatBytes(upload.sentBytes), recorded: formatBytes(upload.recordedBytes), parts },
      true,
    );
}

// --- camera ---------------------------------------------------------------------------------------

async function startCamera() {
  restartButton.hidden = true;
  recordButton.hidden = false;
  $("scan-stage").hidden = false;
  recordButton.disabled = true;
  setStatus("", gettext("Starting your camera…"));
  try {
    stream = await cameraPreviewStart(video, 640, 480);
  } catch (error) {
    stream = null;
    setStatus("warn", cameraErrorHint(error));
    restartButton.hidden = false;
    restartButton.focus();
    return;
  }
  if (!recordingSupported()) return;
  recordButton.disabled = false;
  setStatus("", gettext("Camera ready. Read the steps above, then press Start recording."));
}

function recordingMimeType() {
  if (typeof MediaRecorder === "undefined") return null;
  return MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type)) || null;
}

function recordingSupported() {
  if (recordingMimeType()) return true;
  setStatus(
    "warn",
    gettext("This browser cannot record WebM video. Open this page in a current Chrome, Edge or Firefox to do the room scan."),
  );
  return false;
}

// --- recording ------------------------------------------------------------------------------------

function startRecording() {
  recorder = new MediaRecorder(stream, { mimeType: recordingMimeType(), videoBitsPerSecond: VIDEO_BITS_PER_SECOND });
  recorder.addEventListener("dataavailable", (event) => {
    if (!event.data || event.data.size === 0) return; // an empty chunk would be refused
    upload.chunks.push(event.data);
    upload.recordedBytes += event.data.size;
    showProgress();
    pump();
  });
  recorder.addEventListener("stop", () => {
    upload.recordingDone = true;
    clearInterval(ticker);
    $("recording-dot").hidden = true;
    const stopHadFocus = document.activeElement === stopButton;
    stopButton.hidden = true;
    // While the rest uploads, a keyboard user waits on the message that says so, not nowhere.
    if (stopHadFocus) {
      statusBox.tabIndex = -1;
      statusBox.focus();
    }
    stopStream(stream); // the exam page opens the camera again; free it now
    stream = null;
    $("scan-stage").hidden = true;
    if (!upload.chunks.length) {
      setStatus("warn", gettext("Nothing was recorded. Press Start the camera again and record once more."));
      resetUpload();
      restartButton.hidden = false;
      restartButton.focus();
      return;
    }
    showProgress();
    pump();
  });
  recorder.addEventListener("error", (event) => {
    console.error("room scan recorder failed", event.error);
    if (recorder.state !== "inactive") recorder.stop();
  });
  stream.getVideoTracks()[0].addEventListener("ended", () => {
    if (recorder && recorder.state === "recording") {
      setStatus("warn", gettext("The camera stopped during the recording. What was recorded is being uploaded."));
      recorder.stop();
    }
  });

  recorder.start(TIMESLICE_MS);
  startedAt = performance.now();
  announcedStopAllowed = false;
  const recordHadFocus = document.activeElement === recordButton;
  recordButton.hidden = true;
  stopButton.hidden = false;
  // Not allowed yet, but focusable (aria-disabled, not disabled): the keyboard user who pressed
  // Start recording waits on Stop, which counts down, instead of losing the focus.
  stopButton.disabled = false;
  stopButton.setAttribute("aria-disabled", "true");
  if (recordHadFocus) stopButton.focus();
  $("recording-dot").hidden = false;
  setStatus("", gettext("Recording. Slowly turn your camera around the room, then show your desk."));
  tick();
  ticker = setInterval(tick, 250);
}

function tick() {
  const seconds = (performance.now() - startedAt) / 1000;
  elapsedText.textContent = formatSeconds(Math.min(seconds, boot.maxSeconds));
  if (seconds >= boot.maxSeconds) {
    stopRecording(interpolate(gettext("Recording stopped at %s seconds, the maximum."), [boot.maxSeconds]));
    return;
  }
  if (seconds < boot.minSeconds) {
    stopButton.textContent = interpolate(gettext("Stop (in %s s)"), [Math.ceil(boot.minSeconds - seconds)]);
    return;
  }
  stopButton.textContent = gettext("Stop");
  stopButton.removeAttribute("aria-disabled");
  if (!announcedStopAllowed) {
    announcedStopAllowed = true;
    setStatus("", interpolate(gettext("You can stop now, or keep going up to %s seconds."), [boot.maxSeconds]));
  }
}

function stopRecording(message) {
  if (!recorder || recorder.state === "inactive") return;
  clearInterval(ticker);
  recorder.stop();
  setStatus("", interpolate(gettext("%s Uploading the rest of the video…"), [message]));
}

// --- upload ---------------------------------------------------------------------------------------

function resetUpload() {
  Object.assign(upload, {
    chunks: [],
    recordedBytes: 0,
    sentBytes: 0,
    next: 0,
    recordingDone: false,
    halted: false,
    failed: false,
  });
  $("upload-box").hidden = true;
  elapsedText.textContent = formatSeconds(0);
}

/** Sends every chunk that is ready, one at a time; called whenever something new is ready. */
async function pump() {
  if (upload.pumping || upload.halted || upload.complete) return;
  upload.pumping = true;
  try {
    for (;;) {
      const last = upload.chunks.length - 1;
      if (!(upload.next < last || (upload.recordingDone && upload.next === last))) break;
      await sendChunk(upload.next, upload.recordingDone && upload.next === last);
      if (upload.halted || upload.complete) return;
    }
    if (upload.recordingDone && upload.next > upload.chunks.length - 1) {
      halt(gettext("The server has more of a room scan than this page recorded. Ask your proctor for help."), false);
    }
  } catch (error) {
    console.error("room scan upload failed", error);
    halt(gettext("The upload stopped unexpectedly."), true);
  } finally {
    upload.pumping = false;
  }
}

async function sendChunk(index, final) {
  const blob = upload.chunks[index];
  for (let attempt = 1; ; attempt += 1) {
    const form = new FormData();
    form.append("chunk", blob, `room-scan-${index}.webm`);
    form.append("index", String(index));
    form.append("recordingId", upload.recordingId);
    form.append("final", final ? "true" : "false");
    try {
      const result = await apiFetch(boot.uploadUrl, { method: "POST", body: form, timeoutMs: UPLOAD_TIMEOUT_MS });
      upload.next = index + 1;
      upload.sentBytes += blob.size;
      if (result.complete) finish();
      else if (final) halt(gettext("The server did not confirm the end of the video. Ask your proctor for help."), false);
      else showProgress();
      return;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.code === "CHUNK_OUT_OF_ORDER" && resumeFrom(error.details && error.details.expected)) return;
      if (!error.transient) {
        halt(error.message, false);
        return;
      }
      if (attempt >= MAX_ATTEMPTS) {
        halt(gettext("The upload keeps failing: check your internet connection."), true);
        return;
      }
      const wait = BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)];
      uploadText.textContent = interpolate(
        gettext("Connection problem: trying again in %(seconds)s s (attempt %(attempt)s of %(attempts)s)."),
        { seconds: Math.round(wait / 1000), attempt: attempt + 1, attempts: MAX_ATTEMPTS },
        true,
      );
      await sleep(wait);
    }
  }
}

/** The server expects another index (a lost answer to an earlier chunk): continue from there. */
function resumeFrom(expected) {
  if (!Number.isInteger(expected) || expected < 0 || expected > upload.chunks.length) return false;
  upload.sentBytes = upload.chunks.slice(0, expected).reduce((sum, chunk) => sum + chunk.size, 0);
  upload.next = expected;
  showProgress();
  return true;
}

function halt(message, retryable) {
  upload.halted = true;
  upload.failed = !retryable;
  setStatus(
    "warn",
    retryable ? interpolate(gettext("%s Your recording is kept: press Retry the upload."), [message]) : message,
  );
  if (retryable) {
    retryButton.hidden = false;
    retryButton.focus();
  }
}

function finish() {
  upload.complete = true;
  let message = gettext("Room scan received. Continue, then start the exam when you are ready.");
  if (recorder && recorder.state !== "inactive") {
    // Only when the server already had this recording complete (a retried last chunk).
    clearInterval(ticker);
    recorder.stop();
    message = gettext("Your room scan had already been received. Continue, then start the exam when you are ready.");
  }
  showProgress();
  retryButton.hidden = true;
  setStatus("ok", message);
  continueLink.hidden = false;
  continueLink.focus();
}

// --- wiring ---------------------------------------------------------------------------------------

$("scan-max").textContent = formatSeconds(boot.maxSeconds);
recordButton.addEventListener("click", startRecording);
stopButton.addEventListener("click", () => {
  if (stopButton.getAttribute("aria-disabled") === "true") return;
  stopRecording(gettext("Recording stopped."));
});
retryButton.addEventListener("click", () => {
  retryButton.hidden = true;
  upload.halted = false;
  setStatus("", gettext("Uploading again…"));
  pump();
});
restartButton.addEventListener("click", startCamera);
// Leaving mid-recording or mid-upload loses the scan: ask first.
window.addEventListener("beforeunload", (event) => {
  const recording = recorder && recorder.state === "recording";
  if (upload.complete || upload.failed || (!upload.chunks.length && !recording)) return;
  event.preventDefault();
  event.returnValue = "";
});
window.addEventListener("pagehide", () => {
  if (recorder && recorder.state !== "inactive") recorder.stop();
  stopStream(stream);
  stream = null;
});
startCamera();
