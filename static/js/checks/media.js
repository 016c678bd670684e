// Camera and microphone helpers shared by the system check, the identity check and the room scan.

import { isFramed, offerNewWindow } from "./new-window.js";

// What a browser throws when a page may not have the camera or microphone at all; inside the LMS's
// iframe, that is an iframe without allow="camera; microphone".
const REFUSED = new Set(["NotAllowedError", "PermissionDeniedError", "SecurityError", "NotSupportedError"]);

/** Whether `error` is the browser refusing media to this framed page (see new-window.js). */
export function refusedInFrame(error) {
  return isFramed() && Boolean(error) && REFUSED.has(error.name);
}

// Whole sentences per device, not a noun slotted into one: other languages inflect the sentence
// around it (la caméra, le micro).
const HINTS = {
  camera: {
    framed: gettext(
      "The LMS shows this exam inside its own page, where your browser does not let Procto use your camera. Press Open the exam in a new window (above) and go on there.",
    ),
    insecure: gettext(
      "This page is not on a secure (https) connection, so the browser will not share your camera. Open Procto with an https:// address.",
    ),
    blocked: gettext(
      "Your browser blocked the camera: click the camera icon (or the padlock) in the address bar and allow the camera, then press %(retry)s. On a Mac, also allow your browser in System Settings → Privacy & Security → Camera.",
    ),
    missing: gettext("No camera was found. Connect one (or switch it on), then press %(retry)s."),
    busy: gettext(
      "Your camera is busy or could not start. Close other apps that may use it (Zoom, Teams, Skype or another browser tab), then press %(retry)s. If that does not help, unplug and reconnect it.",
    ),
    disabled: gettext(
      "The camera is disabled for this page by your browser or your organisation's policy. Ask your IT support, or use another browser.",
    ),
    failed: gettext("The camera could not be started. Press %(retry)s; if it keeps failing, restart your browser."),
    failedBecause: gettext(
      "The camera could not be started (%(error)s). Press %(retry)s; if it keeps failing, restart your browser.",
    ),
  },
  microphone: {
    framed: gettext(
      "The LMS shows this exam inside its own page, where your browser does not let Procto use your microphone. Press Open the exam in a new window (above) and go on there.",
    ),
    insecure: gettext(
      "This page is not on a secure (https) connection, so the browser will not share your microphone. Open Procto with an https:// address.",
    ),
    blocked: gettext(
      "Your browser blocked the microphone: click the microphone icon (or the padlock) in the address bar and allow the microphone, then press %(retry)s. On a Mac, also allow your browser in System Settings → Privacy & Security → Microphone.",
    ),
    missing: gettext("No microphone was found. Connect one (or switch it on), then press %(retry)s."),
    busy: gettext(
      "Your microphone is busy or could not start. Close other apps that may use it (a call app or another browser tab), then press %(retry)s. If that does not help, unplug and reconnect it.",
    ),
    disabled: gettext(
      "The microphone is disabled for this page by your browser or your organisation's policy. Ask your IT support, or use another browser.",
    ),
    failed: gettext("The microphone could not be started. Press %(retry)s; if it keeps failing, restart your browser."),
    failedBecause: gettext(
      "The microphone could not be started (%(error)s). Press %(retry)s; if it keeps failing, restart your browser.",
    ),
  },
};

/** What to tell the student when getUserMedia fails for `kind` ("camera" | "microphone");
 * `retry` names the button that tries again on the page (default: Re-check). */
export function mediaErrorHint(error, kind, retry = gettext("Re-check")) {
  const hints = HINTS[kind];
  const say = (text) => interpolate(text, { retry, error: error?.message }, true);
  if (refusedInFrame(error)) return hints.framed;
  if (!window.isSecureContext) return hints.insecure;
  switch (error && error.name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
      return say(hints.blocked);
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return say(hints.missing);
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return say(hints.busy);
    case "SecurityError":
      return hints.disabled;
    default:
      return say(error && error.message ? hints.failedBecause : hints.failed);
  }
}

export function mediaSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/** getUserMedia that always rejects with a DOMException-like error (also without mediaDevices). */
export async function getMedia(constraints) {
  try {
    if (!mediaSupported()) {
      const error = new Error("getUserMedia is not available");
      error.name = window.isSecureContext ? "NotSupportedError" : "SecurityError";
      throw error;
    }
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    if (refusedInFrame(error)) offerNewWindow();
    throw error;
  }
}

export function stopStream(stream) {
  if (stream) stream.getTracks().forEach((track) => track.stop());
}

/** Resolves once `video` shows a frame of non-zero size, or rejects after `timeoutMs`. */
export function firstFrame(video, timeoutMs = 6000) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const poll = () => {
      if (video.videoWidth > 0 && video.videoHeight > 0 && video.readyState >= 2) {
        resolve({ width: video.videoWidth, height: video.videoHeight });
      } else if (performance.now() - started > timeoutMs) {
        reject(new Error("no video frame"));
      } else {
        setTimeout(poll, 100);
      }
    };
    poll();
  });
}

/** Starts the camera at about width×height into `video` and resolves with the stream once it
 * shows a frame; on failure nothing is left running. */
export async function cameraPreviewStart(video, width, height) {
  const stream = await getMedia({ video: { width: { ideal: width }, height: { ideal: height } }, audio: false });
  try {
    video.srcObject = stream;
    video.play().catch((error) => console.warn("camera preview did not start playing:", error.name));
    await firstFrame(video);
    return stream;
  } catch (error) {
    stopStream(stream);
    throw error;
  }
}

/** What to tell the student when cameraPreviewStart failed. */
export function cameraErrorHint(error) {
  return error.message === "no video frame"
    ? gettext("The camera sends no picture. Close other apps that may use it (Zoom, Teams, another browser tab), then press Start the camera again.")
    : mediaErrorHint(error, "camera", gettext("Start the camera again"));
}

/** Average brightness (0–255, Rec. 601 luma) of the current frame, sampled on a small canvas. */
export function averageBrightness(video, canvas) {
  canvas.width = 64;
  canvas.height = 48;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, 0, 0, canvas.width, canvas.height);
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  let sum = 0;
  for (let i = 0; i < data.length; i += 4) sum += 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
  return sum / (data.length / 4);
}

/** Draws `video` into a width×height canvas, cropped to fill it (no stretching). */
export function drawCover(video, canvas, width, height) {
  canvas.width = width;
  canvas.height = height;
  const scale = Math.max(width / video.videoWidth, height / video.videoHeight);
  const w = video.videoWidth * scale;
  const h = video.videoHeight * scale;
  canvas.getContext("2d").drawImage(video, (width - w) / 2, (height - h) / 2, w, h);
}
