// The identity check before a high-security exam (docs/PROTOCOL.md, step 4): a webcam photo,
// reviewed by the student, sent as `liveCapture` and compared with the verified ID photo.

import { ApiError, apiFetch } from "./api.js";
import { cameraErrorHint, cameraPreviewStart, drawCover, stopStream } from "./checks/media.js";

const boot = JSON.parse(document.getElementById("page-bootstrap").textContent);
const $ = (id) => document.getElementById(id);
const video = $("identity-preview");
const photo = $("identity-photo");
const statusBox = $("identity-status");
const buttons = {
  take: $("take-photo"),
  use: $("use-photo"),
  retake: $("retake-photo"),
  tryAgain: $("try-again"),
  restart: $("restart-camera"),
  continue: $("continue"),
};

const CAPTURE_WIDTH = 640;
const CAPTURE_HEIGHT = 480;
// A photo upload plus the server's face comparison: longer than an ordinary API call.
const UPLOAD_TIMEOUT_MS = 120_000;
// The server compares a bounded number of photos at once and answers 503 BUSY beyond that (many
// students at the check together): the page waits as told and sends the same photo again.
const BUSY_RETRIES = 6;
const BUSY_WAIT_S = 5;
const FACE_HINTS = {
  NO_FACE: [
    gettext("Face the camera straight on, with your whole face inside the picture."),
    gettext("Take off a hat, hood, mask or sunglasses, and move hair away from your face."),
  ],
  MULTIPLE_FACES: [
    gettext("Make sure only you are in the picture: nobody behind or beside you."),
    gettext("Move photos, posters or screens showing faces out of view."),
  ],
  TOO_DARK: [
    gettext("Turn on a light in front of you, so it shines on your face."),
    gettext("Avoid sitting with a window or a bright lamp behind you."),
  ],
  UNREADABLE: [gettext("Take another photo. If it keeps failing, reload the page or try another browser.")],
};

let stream = null;
let capture = null; // the JPEG Blob under review
let photoUrl = "";

/** Shows exactly the given buttons and moves focus to `focus` (the one just used may vanish). */
function showButtons(visible, focus) {
  for (const [name, element] of Object.entries(buttons)) element.hidden = !visible.includes(name);
  if (focus) buttons[focus].focus();
}

/** Puts a message (and optional list of tips, and link) in the live region. */
function setStatus(kind, message, { tips = [], link = null } = {}) {
  const box = document.createElement("div");
  box.className = kind === "ok" ? "status ok" : kind === "warn" ? "hint" : "";
  const text = document.createElement("p");
  text.textContent = message;
  box.append(text);
  if (tips.length) {
    const list = document.createElement("ul");
    for (const tip of tips) {
      const item = document.createElement("li");
      item.textContent = tip;
      list.append(item);
    }
    box.append(list);
  }
  if (link) {
    const paragraph = document.createElement("p");
    const anchor = document.createElement("a");
    anchor.href = link.href;
    anchor.textContent = link.text;
    paragraph.append(anchor);
    box.append(paragraph);
  }
  statusBox.replaceChildren(box);
}

function showLive() {
  $("live-figure").hidden = false;
  $("photo-figure").hidden = true;
}

async function startCamera() {
  stopStream(stream);
  stream = null;
  showLive();
  showButtons(["take"]);
  buttons.take.disabled = true;
  setStatus("", gettext("Starting your camera…"));
  try {
    stream = await cameraPreviewStart(video, 1280, 720);
  } catch (error) {
    stream = null;
    setStatus("warn", cameraErrorHint(error));
    showButtons(["restart"], "restart");
    return;
  }
  buttons.take.disabled = false;
  setStatus("", gettext("Camera ready. When your face is centred and well lit, press Take photo."));
}

function takePhoto() {
  const canvas = document.createElement("canvas");
  drawCover(video, canvas, CAPTURE_WIDTH, CAPTURE_HEIGHT);
  canvas.toBlob(
    (blob) => {
      if (!blob) {
        setStatus("warn", gettext("The photo could not be taken. Please try again."));
        return;
      }
      capture = blob;
      if (photoUrl) URL.revokeObjectURL(photoUrl);
      photoUrl = URL.createObjectURL(blob);
      photo.src = photoUrl;
      $("live-figure").hidden = true;
      $("photo-figure").hidden = false;
      setStatus("", gettext("Check your photo: your whole face should be clear. Use it, or take another one."));
      showButtons(["use", "retake"], "use");
    },
    "image/jpeg",
    0.92,
  );
}

async function sendPhoto() {
  // aria-disabled, not disabled: a disabled button drops the focus of the keyboard user who
  // just pressed it, for as long as the comparison takes.
  if (buttons.use.getAttribute("aria-disabled") === "true") return;
  buttons.use.setAttribute("aria-disabled", "true");
  buttons.retake.setAttribute("aria-disabled", "true");
  statusBox.setAttribute("aria-busy", "true");
  setStatus("", gettext("Comparing your photo with your ID photo…"));
  const form = new FormData();
  form.append("liveCapture", capture, "live-capture.jpg");
  try {
    const result = await checkPhoto(form);
    if (result.passed) {
      setStatus("ok", result.message);
      stopStream(stream);
      stream = null;
      showButtons(["continue"], "continue");
    } else {
      setStatus("warn", result.message);
      showButtons(["tryAgain"], "tryAgain");
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showError(error);
  } finally {
    statusBox.removeAttribute("aria-busy");
    buttons.use.removeAttribute("aria-disabled");
    buttons.retake.removeAttribute("aria-disabled");
  }
}

/** POSTs the photo; while the server is busy, says so and tries again after the wait it names. */
async function checkPhoto(form) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await apiFetch(boot.checkUrl, { method: "POST", body: form, timeoutMs: UPLOAD_TIMEOUT_MS });
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "BUSY" || attempt > BUSY_RETRIES) throw error;
      const seconds = Number(error.details.retryAfter) || BUSY_WAIT_S;
      setStatus("", interpolate(gettext("Many students are checking at once. Trying again in %s seconds…"), [seconds]));
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      setStatus("", gettext("Comparing your photo with your ID photo…"));
    }
  }
}

function showError(error) {
  if (error.code === "IDENTITY_NOT_VERIFIED") {
    setStatus("warn", error.message, {
      link: { href: boot.profileUrl, text: gettext("Go to your profile to upload your photo and ID card") },
    });
    stopStream(stream);
    stream = null;
    showButtons([]);
    statusBox.querySelector("a").focus();
    return;
  }
  const tips = FACE_HINTS[error.code] || [];
  setStatus("warn", error.message, { tips });
  showButtons(["tryAgain"], "tryAgain");
}

buttons.take.addEventListener("click", takePhoto);
buttons.retake.addEventListener("click", () => {
  if (buttons.retake.getAttribute("aria-disabled") === "true") return;
  showLive();
  setStatus("", gettext("Camera ready. Press Take photo when you are ready."));
  showButtons(["take"], "take");
});
buttons.use.addEventListener("click", () => {
  sendPhoto().catch((error) => console.error("identity check failed", error));
});
buttons.tryAgain.addEventListener("click", () => {
  if (stream && stream.active) {
    showLive();
    setStatus("", gettext("Camera ready. Press Take photo when you are ready."));
    showButtons(["take"], "take");
  } else {
    startCamera().then(() => buttons.take.focus());
  }
});
buttons.restart.addEventListener("click", () => {
  startCamera().then(() => {
    if (!buttons.take.hidden) buttons.take.focus();
  });
});
window.addEventListener("pagehide", () => {
  stopStream(stream);
  stream = null;
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted) startCamera();
});
startCamera();
