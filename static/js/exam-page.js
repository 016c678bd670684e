// The exam page (templates/sessions/take.html): wires questions, autosave, the clock, secure
// mode and the proctoring stream together. Each part lives in static/js/exam/; this module only
// holds the page's state and the decisions that involve more than one part.

import { ApiError, NetworkError, apiFetch, csrfToken } from "./api.js";
import { createAutosave } from "./exam/autosave.js";
import { createCountdown } from "./exam/countdown.js";
import { createEventLog } from "./exam/events.js";
import { createMedia } from "./exam/media.js";
import { createQuestionView, isAnswered } from "./exam/questions.js";
import { createScreenCapture } from "./exam/screen.js";
import { createSecureMode } from "./exam/secure-mode.js";
import { sessionStore } from "./exam/storage.js";
import { createStream } from "./exam/stream.js";
import { formatDateTime } from "./local-time.js";

const TYPING_PAUSE_MS = 1000;
const LOAD_RETRY_MS = 5000;
const SUBMIT_RETRY_MS = 5000;
const SIGN_IN_PROBE_MS = 5000; // while signed out: is the student signed in again?
const SIGNED_IN_CHANNEL = "procto-sign-in"; // the signed-in page (accounts) says so at once
const LOGOUT_FLUSH_MS = 3000; // how long "Log out" waits for queued answers to go first

const config = JSON.parse(document.getElementById("exam-bootstrap").textContent);
const $ = (id) => document.getElementById(id);
const sessionUrl = `${config.apiBase}${config.sessionId}`;
const store = sessionStore(config.sessionId);
const streamsMedia = config.proctoringEnabled && !config.mediaExempt;

const FINISHED_TEXT = {
  submitted: [gettext("Exam submitted"), gettext("Your answers were submitted. You can close this page.")],
  expired: [
    gettext("Time is up"),
    gettext("Your time ran out. The answers saved before the deadline were submitted for you."),
  ],
  // Ended before the student submitted: by a proctor or automatically. The session's `outcome`
  // (sessions/outcomes.py) says which and why; this is for when it could not be read.
  "cheating-detected": [gettext("Exam ended"), gettext("This exam was ended before you submitted it.")],
  "logged-out": [gettext("Exam ended"), gettext("This attempt ended because you were signed out.")],
};

let questions = [];
let view = null;
let autosave = null;
let countdown = null;
let secure = null;
let events = null;
let stream = null;
let media = null;
let screen = null;
let finished = false;
let submitting = false;
let timeUp = false; // the clock reached 0 and the page submitted by itself
let lastSaveState = "saved";
let connectionState = "connecting"; // the stream's, shown unless signed out
let signedOut = false;
let signInProbe = null;
let logoutConfirmed = false;
const flags = new Set(store.get("flags", []));
const typingTimers = new Map();
const timeSpent = new Map(); // questionId -> seconds, as stored with the answer
let shownQuestion = null;
let shownSince = null;

// --- small UI helpers ------------------------------------------------------------------------

function announce(text) {
  // Clearing first makes screen readers repeat a message that happens to be the same as before.
  const region = $("status-announcer");
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = text;
  }, 50);
}

function showAlert(text, { title = "", kind = "warning", dismissible = true } = {}) {
  const item = document.createElement("div");
  item.className = `exam-alert ${kind}`;
  item.setAttribute("role", "alert");
  const body = document.createElement("p");
  if (title) {
    const strong = document.createElement("strong");
    strong.textContent = `${title} `;
    body.append(strong);
  }
  body.append(document.createTextNode(text));
  item.append(body);
  if (dismissible) {
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = gettext("Dismiss");
    close.addEventListener("click", () => {
      item.remove();
      // The focused button is gone: put focus back where the student was working.
      (view && !finished ? document.querySelector(`[data-qid="${view.currentId()}"]`) : $("main")).focus();
    });
    item.append(close);
  }
  $("alerts").prepend(item);
  return item;
}

function setPill(id, state, text, title = "") {
  const pill = $(id);
  pill.dataset.state = state;
  pill.textContent = text;
  if (title) pill.title = title;
  else pill.removeAttribute("title");
}

// --- save state and connection ----------------------------------------------------------------

let saveState = { state: "saved", queued: 0, message: "" };

function showSaveState(next) {
  saveState = next;
  renderSaveState();
}

// Typing that waits for its pause is "Saving…" too: the student should never see "Saved"
// while the last words are not in the queue yet.
function renderSaveState() {
  const { queued, message } = saveState;
  const state = saveState.state === "saved" && typingTimers.size ? "saving" : saveState.state;
  const labels = {
    saved: gettext("Saved"),
    saving: gettext("Saving…"),
    offline: interpolate(ngettext("Offline – %s answer queued", "Offline – %s answers queued", queued), [queued]),
    error: interpolate(gettext("Not saved – retrying (%s queued)"), [queued]),
    "signed-out": interpolate(
      ngettext("Signed out – %s answer queued", "Signed out – %s answers queued", queued),
      [queued],
    ),
    closed: gettext("Saving stopped"),
  };
  setPill("save-state", state, labels[state], message);
  // Tell screen reader users about changes that matter, not about every save.
  if (state !== lastSaveState) {
    if (state === "offline")
      announce(
        gettext("You are offline. Your answers are kept on this device and sent when the connection returns."),
      );
    else if (state === "error" && message)
      announce(interpolate(gettext("Answers are not being saved: %s"), [message]));
    else if (state === "saved" && (lastSaveState === "offline" || lastSaveState === "error"))
      announce(gettext("Connection back. All answers are saved."));
  }
  lastSaveState = state;
}

function showConnection(state) {
  connectionState = state;
  if (signedOut && state !== "closed") {
    setPill("connection-state", "signed-out", gettext("Signed out"));
    return;
  }
  const labels = {
    connecting: gettext("Connecting…"),
    live: streamsMedia ? gettext("Live") : gettext("Connected"),
    reconnecting: gettext("Reconnecting…"),
    offline: gettext("Offline"),
    closed: gettext("Disconnected"),
  };
  setPill("connection-state", state, labels[state] || state);
}

// --- signed out ---------------------------------------------------------------------------------
// A login that ends during the exam (it expired, or the student logged out in another tab) does
// not end the exam: the clock runs on and answers queue on this device. A banner says so and
// offers "Sign in again" in a new tab, so that this page and its queue stay; the page carries on
// by itself once the student is signed in again (the signed-in page tells it, and it asks the
// server every few seconds and whenever it gets the focus back).

function onSignedOut() {
  if (signedOut || finished) return;
  signedOut = true;
  $("signed-out").hidden = false;
  showConnection(connectionState);
  announce(gettext("You are signed out. The exam keeps running. Sign in again to send your answers."));
  window.clearInterval(signInProbe);
  signInProbe = window.setInterval(checkSignedIn, SIGN_IN_PROBE_MS);
}

let probing = false;

async function checkSignedIn() {
  if (!signedOut || finished || probing) return;
  probing = true;
  let data;
  try {
    data = await apiFetch(sessionUrl); // only the session's own student gets it
  } catch {
    return; // still signed out, or not reachable: the next probe asks again
  } finally {
    probing = false;
  }
  signedBackIn();
  if (data.status !== "in-progress") finish(data.status, "", data.outcome);
}

function signedBackIn() {
  if (!signedOut) return;
  signedOut = false;
  window.clearInterval(signInProbe);
  $("signed-out").hidden = true;
  showConnection(connectionState);
  if (finished) return;
  announce(gettext("You are signed in again. Your answers are being sent."));
  autosave?.retryNow();
  stream?.resume();
}

function confirmLogout(event) {
  if (finished || logoutConfirmed) return;
  event.preventDefault();
  $("logout-dialog").returnValue = ""; // Escape must not repeat an earlier choice
  $("logout-dialog").showModal();
}

async function logOut() {
  logoutConfirmed = true;
  if (autosave && !finished) {
    commitPendingTyping();
    // Queued answers go first (or stay queued on this device if they cannot).
    await Promise.race([autosave.flush(), new Promise((resolve) => window.setTimeout(resolve, LOGOUT_FLUSH_MS))]);
  }
  const form = $("logout-form");
  // The token this page was rendered with is stale once the student signed in again elsewhere.
  const token = csrfToken();
  if (token) form.elements.csrfmiddlewaretoken.value = token;
  form.submit();
}

function updateCounts() {
  const answered = questions.filter((q) => isAnswered(view.readValue(q.id))).length;
  const total = questions.length;
  const parts = [
    interpolate(ngettext("%s question", "%s questions", total), [total]),
    interpolate(gettext("%s answered"), [answered]),
  ];
  if (flags.size) parts.push(interpolate(gettext("%s flagged"), [flags.size]));
  $("question-count").textContent = parts.join(" · ");
}

// --- answers ----------------------------------------------------------------------------------

function clockTimeSpent(questionId) {
  let seconds = timeSpent.get(questionId) || 0;
  if (questionId === shownQuestion && shownSince !== null) seconds += (performance.now() - shownSince) / 1000;
  return seconds;
}

// Time is counted for the question on screen while the page is visible.
function trackTime(questionId) {
  if (shownQuestion !== null && shownSince !== null)
    timeSpent.set(shownQuestion, clockTimeSpent(shownQuestion));
  shownQuestion = questionId;
  shownSince = questionId !== null && document.visibilityState === "visible" ? performance.now() : null;
}

function onAnswer(questionId, value, { typing }) {
  view.refreshNav(questionId);
  updateCounts();
  window.clearTimeout(typingTimers.get(questionId));
  if (typing) {
    typingTimers.set(
      questionId,
      window.setTimeout(() => commit(questionId), TYPING_PAUSE_MS),
    );
    renderSaveState();
  } else {
    commit(questionId);
  }
}

function commit(questionId) {
  window.clearTimeout(typingTimers.get(questionId));
  typingTimers.delete(questionId);
  const value = view.readValue(questionId);
  const known = autosave.answerOf(questionId);
  const unchanged = known ? JSON.stringify(known.value) === JSON.stringify(value) : value === null;
  if (unchanged) renderSaveState();
  else autosave.record(questionId, value, clockTimeSpent(questionId));
}

// Typing not yet saved must reach the queue (localStorage) before the page can go away.
function commitPendingTyping() {
  for (const questionId of [...typingTimers.keys()]) commit(questionId);
}

function onFlag(questionId, on) {
  if (on) flags.add(questionId);
  else flags.delete(questionId);
  store.set("flags", [...flags]);
  view.refreshNav(questionId);
  updateCounts();
}

// --- submit -----------------------------------------------------------------------------------

function openSubmitDialog() {
  commitPendingTyping();
  const unanswered = [];
  const flagged = [];
  questions.forEach((q, i) => {
    if (!isAnswered(view.readValue(q.id))) unanswered.push(i + 1);
    if (flags.has(q.id)) flagged.push(i + 1);
  });
  const summary = $("submit-summary");
  summary.replaceChildren();
  const intro = document.createElement("p");
  const answered = questions.length - unanswered.length;
  intro.textContent = interpolate(
    ngettext(
      "You answered %(answered)s of %(total)s question.",
      "You answered %(answered)s of %(total)s questions.",
      questions.length,
    ),
    { answered, total: questions.length },
    true,
  );
  const list = document.createElement("ul");
  const line = (text) => {
    const li = document.createElement("li");
    li.textContent = text;
    list.append(li);
  };
  const numbers = (items) => ({ count: items.length, numbers: items.join(", ") });
  line(
    unanswered.length
      ? interpolate(
          ngettext(
            "%(count)s unanswered: question %(numbers)s",
            "%(count)s unanswered: questions %(numbers)s",
            unanswered.length,
          ),
          numbers(unanswered),
          true,
        )
      : gettext("0 unanswered"),
  );
  line(
    flagged.length
      ? interpolate(
          ngettext(
            "%(count)s flagged for review: question %(numbers)s",
            "%(count)s flagged for review: questions %(numbers)s",
            flagged.length,
          ),
          numbers(flagged),
          true,
        )
      : gettext("0 flagged for review"),
  );
  summary.append(intro, list);
  if (autosave.queuedCount()) {
    const note = document.createElement("p");
    note.className = "status warn";
    const queued = autosave.queuedCount();
    note.textContent = interpolate(
      ngettext(
        "%s answer not saved yet will be sent with your submission.",
        "%s answers not saved yet will be sent with your submission.",
        queued,
      ),
      [queued],
    );
    summary.append(note);
  }
  $("submit-error").hidden = true;
  setDialogBusy(false);
  $("submit-dialog").showModal();
}

// aria-disabled, not disabled: a disabled button drops the focus of the student who pressed it,
// and a keyboard user is left nowhere while the exam is sent.
function setDialogBusy(busy) {
  for (const id of ["submit-confirm", "submit-cancel"]) {
    if (busy) $(id).setAttribute("aria-disabled", "true");
    else $(id).removeAttribute("aria-disabled");
  }
  $("submit-confirm").textContent = busy ? gettext("Submitting…") : gettext("Submit now");
}

async function submitExam({ auto = false } = {}) {
  if (submitting || finished) return;
  submitting = true;
  commitPendingTyping();
  stream?.flush(); // the last seconds of audio, while the session is still in progress
  await autosave.pause();
  const excluded = new Set();
  try {
    for (;;) {
      try {
        const answers = autosave.finalAnswers().filter((a) => !excluded.has(a.questionId));
        const data = await apiFetch(`${sessionUrl}/submit`, {
          method: "PUT",
          json: { answers, sequence: autosave.latestSequence() },
        });
        finish(data.status);
        return;
      } catch (err) {
        // An answer the server will never accept must not block the submission of the others.
        const bad = err instanceof ApiError && err.status === 400 && err.details.questionId;
        if (!bad || excluded.has(String(bad))) throw err;
        excluded.add(String(bad));
      }
    }
  } catch (err) {
    submitting = false;
    if (err instanceof ApiError && err.status === 409) {
      await refreshStatus(); // finished elsewhere (another tab, the proctor, the deadline)
      if (finished) return;
    }
    autosave.resume();
    if (auto || countdown.remainingMs() <= 0) {
      // Time is up, so nobody will press the button again: keep trying. Should this never get
      // through, the server ends the session itself with the answers saved in time.
      window.setTimeout(() => submitExam({ auto: true }), SUBMIT_RETRY_MS);
      if (auto) return;
    }
    throw err;
  }
}

async function onSubmitDialog(event) {
  if (submitting) {
    event.preventDefault(); // already on its way: neither button does anything meanwhile
    return;
  }
  if (event.submitter && event.submitter.value !== "submit") return; // "Keep working" closes
  event.preventDefault();
  setDialogBusy(true);
  try {
    await submitExam();
  } catch (err) {
    setDialogBusy(false);
    const error = $("submit-error");
    if (err instanceof ApiError && err.status === 401) onSignedOut();
    error.textContent =
      err instanceof NetworkError
        ? gettext(
            "Could not reach the server. Your answers are kept on this device; check your connection and try again.",
          )
        : err instanceof ApiError && err.status === 401
          ? gettext("You are signed out. Sign in again (see the message above the questions), then submit.")
          : interpolate(gettext("The exam was not submitted: %s"), [err.message]);
    error.hidden = false;
  }
}

function onTimeUp() {
  if (finished) return;
  timeUp = true;
  const dialog = $("submit-dialog");
  if (dialog.open) dialog.close();
  showAlert(gettext("Time is up. Your answers are being submitted."), { kind: "info", dismissible: false });
  submitExam({ auto: true });
}

// --- the end ----------------------------------------------------------------------------------

// `outcome`: the session's, from the API ({code, label, detail}), when the page has it.
function finish(status, reason = "", outcome = null) {
  if (finished) return;
  finished = true;
  for (const timer of typingTimers.values()) window.clearTimeout(timer);
  countdown?.stop();
  secure?.stop();
  screen?.stop();
  media?.stop();
  stream?.stop();
  events?.stop();
  autosave?.stop({ code: "FINISHED", message: gettext("The exam has ended.") });
  view?.disable();
  store.clear();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  $("alerts").replaceChildren(); // the finished card says what matters now
  if ($("screen-missing")) $("screen-missing").hidden = true;
  signedOut = false;
  window.clearInterval(signInProbe);
  $("signed-out").hidden = true;

  const early = status === "cheating-detected" && outcome;
  const [title, text] =
    // With the server's `ended` message racing the submit's own answer, either may come first.
    timeUp && status === "submitted"
      ? [gettext("Time is up"), gettext("Your answers were submitted automatically when the time ran out.")]
      : early
        ? [
            outcome.label,
            outcome.detail ? interpolate(gettext("Reason: %s"), [outcome.detail]) : FINISHED_TEXT[status][1],
          ]
        : FINISHED_TEXT[status] || [gettext("Exam ended"), interpolate(gettext("This attempt is %s."), [status])];
  $("finished-title").textContent = title;
  $("finished-text").textContent = reason
    ? interpolate(gettext("%(text)s Reason: %(reason)s"), { text, reason }, true)
    : text;
  $("exam").dataset.state = "finished";
  $("exam-body").hidden = true;
  $("loading").hidden = true;
  $("self-view").hidden = true;
  $("clock").textContent = "–";
  setPill(
    "save-state",
    status === "submitted" ? "saved" : "closed",
    status === "submitted" ? gettext("Submitted") : gettext("Closed"),
  );
  showConnection("closed");
  $("finished").hidden = false;
  $("finished").focus();
}

async function refreshStatus() {
  try {
    const data = await apiFetch(sessionUrl);
    if (data.status !== "in-progress") finish(data.status, "", data.outcome);
    return data;
  } catch (err) {
    console.warn("Could not read the session's status:", err);
    return null;
  }
}

// --- the proctoring stream -------------------------------------------------------------------

function onStreamMessage(message) {
  switch (message.type) {
    case "welcome":
      media?.setFrameInterval(message.frameIntervalMs);
      media?.setAudioChunk(message.audioChunkMs);
      media?.sendFrameSoon(); // the proctor sees the student at once, not one interval later
      break;
    case "slow-down": // this student's own frames pile up
    case "cadence": // the server is busy (or no longer): a cadence for a while
      media?.setFrameInterval(message.frameIntervalMs);
      break;
    case "event-ack":
      events.ack(message.seq);
      break;
    case "error":
      // Media and events share the `seq` field; event numbers are far above media numbers.
      if (message.seq != null) events.reject(message.seq, message.code, message.message);
      if (message.code !== "RATE_LIMITED")
        console.warn(`Exam stream refused a message (${message.code}): ${message.message}`);
      break;
    case "warning":
      showAlert(message.message, {
        title: message.from === "proctor" ? gettext("Message from your proctor:") : gettext("Warning:"),
      });
      break;
    case "time-extended":
      countdown?.sync(message.timeRemaining);
      if (message.reason === "screen-share-paused")
        showAlert(gettext("The time your exam was hidden without your screen shared was given back."), {
          title: gettext("Time given back:"),
          kind: "info",
        });
      else
        showAlert(gettext("Your proctor gave you more time; the clock shows the new time left."), {
          title: gettext("More time:"),
        });
      break;
    case "capture-screen":
      // A high-severity alert: the server keeps a screenshot with it.
      screen?.capture(message.alertId);
      break;
    case "terminated":
      // The session says who ended it and why; the message's reason if it cannot be read.
      refreshStatus().then(() => finish("cheating-detected", message.reason));
      break;
    case "ended":
      finish(message.status);
      break;
    default:
      break; // "ack" and anything newer than this page
  }
}

async function onStreamEnd({ code, reason }) {
  if (finished) return;
  if (code === 4409) {
    const data = await refreshStatus();
    if (data && data.status === "in-progress")
      showAlert(gettext("The proctoring connection closed. Reload the page to reconnect."));
    return;
  }
  showAlert(reason, { title: gettext("Proctoring connection refused:") });
}

// --- start ------------------------------------------------------------------------------------

async function load() {
  try {
    return await apiFetch(sessionUrl);
  } catch (err) {
    if (err instanceof ApiError && err.transient) {
      $("loading").textContent = gettext("Could not load your exam. Trying again…");
      await new Promise((resolve) => window.setTimeout(resolve, LOAD_RETRY_MS));
      return load();
    }
    $("loading").textContent = interpolate(gettext("Could not load your exam: %s"), [err.message]);
    $("loading").classList.add("error");
    return null;
  }
}

function showScreenShared(shared) {
  setPill("screen-state", shared ? "live" : "offline", shared ? gettext("Shared") : gettext("Not shared"));
  $("screen-missing").hidden = shared || config.screenCapture.enforced;
}

// After secure mode: the share's dialog opens above the fullscreen one, and is answered first.
function startScreenCapture(settings) {
  screen = createScreenCapture({
    gate: $("screen-gate"),
    uploadUrl: `${sessionUrl}/screenshots`,
    intervalMs: settings.intervalMs,
    enforced: settings.enforced,
    report: events.report,
    onShared: showScreenShared,
    onPicker: (open) => secure.pickerShown(open),
  });
  $("screen-reshare").addEventListener("click", () => screen.ask());
  screen.start();
}

async function start() {
  const data = await load();
  if (!data) return;
  if (data.status !== "in-progress") {
    finish(data.status, "", data.outcome);
    return;
  }
  questions = data.questions;

  autosave = createAutosave({
    saveUrl: `${sessionUrl}/save-answers`,
    store,
    onState: showSaveState,
    onTimeRemaining: (seconds) => countdown.sync(seconds),
    onClosed: ({ message }) => {
      showAlert(message, { title: gettext("Saving stopped."), dismissible: false });
      view.disable(); // changes could not be kept any more; do not pretend otherwise
      refreshStatus();
    },
    onRejected: (questionId, message) => {
      const number = questions.findIndex((q) => q.id === questionId) + 1;
      showAlert(message, { title: interpolate(gettext("Your answer to question %s was not accepted:"), [number]) });
    },
    onSignedOut,
  });

  view = createQuestionView({
    container: $("questions"),
    navList: $("navigator"),
    questions,
    flags,
    fullscreenRequired: config.fullscreenRequired,
    onAnswer,
    onShow: (questionId) => {
      trackTime(questionId);
      const index = view ? view.currentIndex() : 0;
      $("prev-question").disabled = index === 0;
      $("next-question").disabled = index === questions.length - 1;
    },
    onFlag,
  });
  // Server answers first, then newer changes still queued on this device.
  for (const [questionId, answer] of autosave.load(data.answers)) {
    view.writeValue(questionId, answer.value);
    timeSpent.set(questionId, answer.timeSpent || 0);
  }
  view.refreshAll();
  view.show(0);
  updateCounts();

  countdown = createCountdown({ clockEl: $("clock"), announcerEl: $("time-announcer"), onExpire: onTimeUp });
  if (data.deadline) {
    $("deadline-at").dateTime = data.deadline;
    $("deadline-at").textContent = formatDateTime(data.deadline);
  }
  const precise = (Date.parse(data.deadline) - Date.parse(data.serverTime)) / 1000;
  // deadline - serverTime keeps the milliseconds timeRemaining rounds away; trust it only when
  // both agree (a session not in progress reports 0 remaining).
  countdown.sync(
    Number.isFinite(precise) && Math.abs(precise - data.timeRemaining) < 2 ? precise : data.timeRemaining,
  );

  $("loading").hidden = true;
  $("exam-body").hidden = false;
  $("exam").dataset.state = "running";

  events = createEventLog({ logUrl: `${sessionUrl}/log-event`, store });
  secure = createSecureMode({
    level: config.securityLevel,
    fullscreenRequired: config.fullscreenRequired,
    gate: $("fullscreen-gate"),
    report: events.report,
    reportOnUnload: events.reportOnUnload,
    notify: announce,
    store,
  });
  secure.start();
  if (config.screenCapture) startScreenCapture(config.screenCapture);

  // The socket also carries events and the proctor's messages, so it is opened even when no
  // camera or microphone is streamed (media exempt, proctoring off).
  stream = createStream({
    wsPath: config.wsPath,
    ticketUrl: config.ticketUrl,
    store,
    onStatus: showConnection,
    onMessage: onStreamMessage,
    onOpen: events.socketUp,
    onDown: events.socketDown,
    onEnd: onStreamEnd,
    onSignedOut,
  });
  stream.connect();
  if (streamsMedia) {
    media = createMedia({
      videoEl: $("self-view-video"),
      stream,
      report: events.report,
      onCameraChange: (on) => {
        $("self-view").hidden = !on;
      },
    });
    media.setFrameInterval(config.frameIntervalMs);
    media.start();
  }
  autosave.flush();
}

$("prev-question").addEventListener("click", () => view.previous());
$("next-question").addEventListener("click", () => view.next());
$("answers").addEventListener("submit", (event) => event.preventDefault()); // Enter in a field
$("submit-open").addEventListener("click", openSubmitDialog);
$("submit-dialog").querySelector("form").addEventListener("submit", onSubmitDialog);
$("submit-dialog").addEventListener("cancel", (event) => {
  if (submitting) event.preventDefault(); // Escape must not hide a submission on its way
});
// The fullscreen gate closes by itself once the page is in fullscreen, and the browser gives the
// focus back to what had it before the gate opened: at the start, nothing (the page's body).
// A keyboard user goes on from the question on screen instead.
$("fullscreen-gate").addEventListener("close", () => {
  const lost = document.activeElement === document.body || $("fullscreen-gate").contains(document.activeElement);
  if (view && !finished && lost) $("questions").querySelector(`[data-qid="${view.currentId()}"]`).focus();
});
$("submit-dialog").addEventListener("close", () => {
  if (!finished) $("submit-open").focus();
});

$("logout-form")?.addEventListener("submit", confirmLogout);
$("logout-dialog").addEventListener("close", () => {
  if ($("logout-dialog").returnValue === "logout") logOut();
});
// The signed-in page (opened by "Sign in again") says so at once; focus covers browsers without
// BroadcastChannel and a sign-in made some other way.
if (typeof BroadcastChannel !== "undefined") {
  new BroadcastChannel(SIGNED_IN_CHANNEL).addEventListener("message", () => checkSignedIn());
}
window.addEventListener("focus", () => checkSignedIn());

window.addEventListener("online", () => {
  autosave?.online();
  stream?.online();
});
window.addEventListener("offline", () => {
  stream?.offline();
  autosave?.flush(); // shows "Offline – N queued" at once
});
document.addEventListener("visibilitychange", () => {
  if (!view || finished) return;
  if (document.visibilityState === "hidden") commitPendingTyping();
  else checkSignedIn();
  trackTime(view.currentId());
});
window.addEventListener("pagehide", () => {
  if (!autosave || finished) return;
  commitPendingTyping();
  autosave.flushOnUnload();
});
// Back from the back/forward cache: the socket and timers are stale; start over cleanly. The
// student went elsewhere and came back, so the reload must not clear the departure as a reload.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  store.set("leaving", null);
  window.location.reload();
});

start().catch((err) => {
  console.error("The exam page failed to start:", err);
  $("loading").hidden = false;
  $("loading").textContent = gettext(
    "Something went wrong while loading the exam. Reload the page to try again.",
  );
});
