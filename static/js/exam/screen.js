// Screen capture, for exams that ask for it (docs/PROTOCOL.md, "Screen capture").
//
// The student shares their entire screen (getDisplayMedia needs a click, so the page asks with a
// dialog). While it is shared the page uploads a screenshot, downscaled to at most MAX_SIDE
// pixels on its longer side, as WebP (JPEG where the browser cannot encode WebP), when the share
// starts, every `intervalMs`, and whenever the server asks (`capture`, at high-severity alerts).
// Refusing the share (cancelling the browser's picker, or choosing a window or a tab) and
// stopping it are reported; `enforced` (high security, the exam's setting) keeps the dialog open,
// which hides the exam, until the entire screen is shared again.

import { ApiError, NetworkError, apiFetch } from "../api.js";
import { refusedInFrame } from "../checks/media.js";
import { offerNewWindow } from "../checks/new-window.js";

const MAX_SIDE = 1280;
const WEBP_QUALITY = 0.6;
const JPEG_QUALITY = 0.7;
// Screenshots waiting for the network; beyond this the oldest go (the newest say most).
const QUEUE_LIMIT = 5;
const RETRY_MS = 10_000;
const UPLOAD_TIMEOUT_MS = 30_000;

const DISPLAY_OPTIONS = {
  video: { displaySurface: "monitor", frameRate: { ideal: 1, max: 5 } },
  audio: false,
  monitorTypeSurfaces: "include",
  selfBrowserSurface: "exclude",
  surfaceSwitching: "exclude",
  systemAudio: "exclude",
};

function toBlob(canvas, type, quality) {
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}

/**
 * gate: the dialog asking for the share (templates/sessions/take.html #screen-gate)
 * report(type, severity, details): the event log's
 * onShared(shared): the share started or stopped (the page shows it)
 * onPicker(open): the browser's picker is open (it takes the focus: secure mode must know)
 */
export function createScreenCapture({ gate, uploadUrl, intervalMs, enforced, report, onShared, onPicker }) {
  const shareButton = gate.querySelector("#screen-share");
  const skipButton = gate.querySelector("#screen-skip");
  const errorEl = gate.querySelector("#screen-error");
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  const canvas = document.createElement("canvas");
  let track = null;
  let grabber = null; // ImageCapture where the browser has it: frames even while the page is hidden
  let timer = null;
  let stopped = false;
  let lapseReported = false; // one alert per lapse, however many times the picker is cancelled
  const queue = [];
  let sending = false;
  let retryTimer = null;

  // --- the share -------------------------------------------------------------------------------

  function openGate(message = "") {
    errorEl.textContent = message;
    errorEl.hidden = !message;
    skipButton.hidden = enforced;
    if (!gate.open) gate.showModal();
  }

  function refused(details, message) {
    if (!lapseReported) {
      lapseReported = true;
      report("screen-share-refused", undefined, details);
    }
    openGate(message);
  }

  async function share() {
    errorEl.hidden = true;
    if (!navigator.mediaDevices?.getDisplayMedia) {
      refused(
        { reason: "unsupported" },
        gettext("This browser cannot share the screen. Use a recent Chrome, Edge or Firefox."),
      );
      return;
    }
    let media;
    shareButton.disabled = true;
    onPicker(true);
    try {
      media = await navigator.mediaDevices.getDisplayMedia(DISPLAY_OPTIONS);
    } catch (err) {
      // Refused inside the LMS's iframe (no display-capture in its allow): a new window works.
      if (refusedInFrame(err)) offerNewWindow();
      refused(
        { reason: err.name, message: String(err.message || "").slice(0, 200) },
        gettext("Your screen was not shared. Choose “Entire screen” in your browser's dialog."),
      );
      return;
    } finally {
      shareButton.disabled = false;
      onPicker(false);
    }
    if (stopped) {
      media.getTracks().forEach((t) => t.stop());
      return;
    }
    const candidate = media.getVideoTracks()[0];
    const settings = candidate.getSettings();
    // Browsers that do not say (older Firefox) are taken at their word.
    if (settings.displaySurface && settings.displaySurface !== "monitor") {
      media.getTracks().forEach((t) => t.stop());
      refused(
        { reason: "not-entire-screen", surface: settings.displaySurface },
        settings.displaySurface === "browser"
          ? gettext("You shared a tab; this exam needs your entire screen.")
          : gettext("You shared a window; this exam needs your entire screen."),
      );
      return;
    }
    use(candidate, settings);
  }

  function use(newTrack, settings) {
    track = newTrack;
    lapseReported = false;
    grabber = "ImageCapture" in window ? new window.ImageCapture(track) : null;
    video.srcObject = new MediaStream([track]);
    video.play().catch(() => {}); // frames are read from it; nothing is shown
    track.addEventListener("ended", () => lost(newTrack));
    report("screen-share-started", undefined, {
      surface: settings.displaySurface || "unknown",
      width: settings.width,
      height: settings.height,
    });
    if (gate.open) gate.close();
    onShared(true);
    capture("start");
    window.clearInterval(timer);
    timer = window.setInterval(() => capture("interval"), intervalMs);
  }

  // The browser's "Stop sharing", the screen unplugged, the permission revoked.
  function lost(endedTrack) {
    if (stopped || endedTrack !== track) return;
    track = null;
    grabber = null;
    window.clearInterval(timer);
    video.srcObject = null;
    lapseReported = true;
    report("screen-share-stopped", undefined, {});
    onShared(false);
    openGate(gettext("You stopped sharing your screen. Share your entire screen again to go on."));
  }

  // --- screenshots -----------------------------------------------------------------------------

  async function frame() {
    if (grabber) {
      try {
        return await grabber.grabFrame();
      } catch (err) {
        // No frame yet (the share just started) or the track is muted: the video may have one.
      }
    }
    if (video.readyState < 2) {
      await new Promise((resolve) => {
        video.addEventListener("loadeddata", resolve, { once: true });
        window.setTimeout(resolve, 2000);
      });
    }
    return video.readyState >= 2 ? video : null;
  }

  async function capture(trigger, alertId = null) {
    if (stopped || !track || track.readyState !== "live") return;
    const capturedAt = new Date().toISOString();
    const source = await frame();
    if (!source) return;
    const width = source.videoWidth || source.width;
    const height = source.videoHeight || source.height;
    if (!width || !height) return;
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
    if (typeof source.close === "function") source.close(); // an ImageBitmap
    let blob = await toBlob(canvas, "image/webp", WEBP_QUALITY);
    // A browser that cannot encode WebP hands back PNG, several times larger.
    if (!blob || blob.type !== "image/webp") blob = await toBlob(canvas, "image/jpeg", JPEG_QUALITY);
    if (!blob) return;
    queue.push({ blob, trigger, alertId, capturedAt });
    while (queue.length > QUEUE_LIMIT) queue.shift();
    pump();
  }

  async function pump() {
    if (sending || stopped) return;
    sending = true;
    try {
      while (queue.length && !stopped) {
        const item = queue[0];
        const form = new FormData();
        form.append("image", item.blob, item.blob.type === "image/webp" ? "screen.webp" : "screen.jpg");
        form.append("trigger", item.trigger);
        form.append("capturedAt", item.capturedAt);
        if (item.alertId) form.append("alertId", String(item.alertId));
        try {
          await apiFetch(uploadUrl, { method: "POST", body: form, timeoutMs: UPLOAD_TIMEOUT_MS });
        } catch (err) {
          if (err instanceof NetworkError || (err instanceof ApiError && (err.transient || err.status === 429))) {
            window.clearTimeout(retryTimer);
            retryTimer = window.setTimeout(pump, RETRY_MS);
            return;
          }
          if (err instanceof ApiError && err.status === 409) {
            stop(); // the session ended, or the exam stopped capturing the screen
            return;
          }
          console.warn("A screenshot was refused by the server:", err);
        }
        queue.shift();
      }
    } finally {
      sending = false;
    }
  }

  // ---------------------------------------------------------------------------------------------

  shareButton.addEventListener("click", share);
  // Going on without sharing (where the exam allows it) is refusing the share too.
  skipButton.addEventListener("click", () => {
    if (!lapseReported) {
      lapseReported = true;
      report("screen-share-refused", undefined, { reason: "declined" });
    }
    gate.close();
  });
  gate.addEventListener("cancel", (event) => {
    if (enforced) event.preventDefault(); // Escape does not take the exam out from under the gate
  });
  // Browsers let a second Escape close a dialog regardless (close watchers): open it again.
  gate.addEventListener("close", () => {
    if (track || stopped) return;
    if (enforced) window.setTimeout(() => openGate(errorEl.textContent), 0);
    else onShared(false); // going on without the share: the page says so
  });

  function start() {
    openGate();
  }

  function stop() {
    stopped = true;
    window.clearInterval(timer);
    window.clearTimeout(retryTimer);
    if (track) track.stop();
    track = null;
    video.srcObject = null;
    if (gate.open) gate.close();
  }

  return {
    start,
    stop,
    ask: () => openGate(),
    capture: (alertId) => capture("alert", alertId),
    isShared: () => Boolean(track),
  };
}
