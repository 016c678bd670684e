// Secure mode: the fullscreen gate and the browser signals a proctor wants to know about.
//
// Signals are reported, not prevented, except at the high security level, where the context menu
// and text crossing the exam's boundary (below) are also blocked. A long blur is one event: it is
// reported when focus comes back, with how long it lasted (details.durationMs), so a student who
// spends a minute in another window produces one alert, not dozens.
//
// Only what means something is reported (docs/PROTOCOL.md, "Browser events"):
// - Leaving the page: the page going away cannot tell a reload from a departure, the page that
//   loads next can. The departure is sent as it happens and the server holds it back; a reloaded
//   page reports `page-reload` (info, not an alert) naming it, and it is no departure.
// - Copy and paste: only text crossing the exam's boundary. Question text copied out is
//   reported; text pasted that was not copied inside this page is reported; copying one's own
//   answer and pasting it back (or question text into one's answer) is not. The page keeps a
//   digest of each text copied inside, in memory only; reports carry the length, never the text.
// - Developer tools: not reported. The only signal a page has, the window's inner size shrinking
//   while its outer size stays, is also what a zoom, a browser side panel, a full-page screenshot
//   or docking a window produce; it raised more false alarms than it caught devtools (which,
//   undocked, change nothing the page can see).
// - A second screen: `screen.isExtended` (Window Management API, Chromium), when the page starts
//   and whenever it changes.

const MIN_BLUR_MS = 300; // shorter blurs are the browser's own focus shuffles, not the student
const REPEAT_MS = 1000; // the same clipboard/key signal within this window is one event
// screen.onchange does not fire for every change of isExtended (Chromium's emulated screens do
// not send it): it is read again this often too.
const SCREENS_CHECK_MS = 2000;

// A short, stable name for a text: FNV-1a over its words (whitespace differs between what a
// selection says and what the clipboard holds), with the length. Synchronous, so a handler can
// still block the event; not a secret (the page never sends it).
function digest(text) {
  const words = text.replace(/\s+/g, " ").trim();
  let hash = 0x811c9dc5;
  for (let i = 0; i < words.length; i += 1) {
    hash ^= words.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${words.length}:${hash.toString(36)}`;
}

function isAnswerField(node) {
  return node instanceof HTMLTextAreaElement || (node instanceof HTMLInputElement && node.type === "text");
}

export function createSecureMode({ level, fullscreenRequired, gate, report, reportOnUnload, notify, store }) {
  const high = level === "high";
  let active = false;
  let blurredAt = null;
  let hiddenAt = null;
  let hiddenDuringBlur = false;
  let wasFullscreen = Boolean(document.fullscreenElement);
  let extended = false;
  let screensTimer = null;
  let left = false;
  let pickerOpen = false;
  let blurForPicker = false; // the current blur began while the screen-share picker was open
  const lastSeen = {};
  const copiedInside = new Set(); // digests of the texts copied (or cut) on this page

  const enterButton = gate.querySelector("#fullscreen-enter");
  const gateError = gate.querySelector("#fullscreen-error");

  function once(type, severity, details) {
    const now = performance.now();
    if (lastSeen[type] && now - lastSeen[type] < REPEAT_MS) return;
    lastSeen[type] = now;
    report(type, severity, details);
  }

  function questionOf(target) {
    const panel = target instanceof Element ? target.closest("[data-qid]") : null;
    return panel ? panel.dataset.qid : null;
  }

  // --- fullscreen ----------------------------------------------------------------------------

  function fullscreenNeeded() {
    return active && fullscreenRequired && document.fullscreenEnabled && !document.fullscreenElement;
  }

  function updateGate() {
    if (fullscreenNeeded()) {
      if (!gate.open) gate.showModal();
    } else if (gate.open) {
      gate.close();
    }
  }

  async function enterFullscreen() {
    gateError.hidden = true;
    try {
      await document.documentElement.requestFullscreen({ navigationUI: "hide" });
    } catch (err) {
      gateError.textContent = interpolate(
        gettext("Your browser did not switch to fullscreen (%s). Try again, or ask your proctor."),
        [err.message],
      );
      gateError.hidden = false;
    }
  }

  function onFullscreenChange() {
    const now = Boolean(document.fullscreenElement);
    if (active && fullscreenRequired && wasFullscreen && !now) {
      report("fullscreen-exit", "high", {});
    }
    wasFullscreen = now;
    updateGate();
  }

  // The gate must not be dismissed with Escape while fullscreen is still missing.
  gate.addEventListener("cancel", (event) => {
    if (fullscreenNeeded()) event.preventDefault();
  });
  // Browsers let a second Escape close a dialog regardless (close watchers): open it again.
  gate.addEventListener("close", () => {
    if (fullscreenNeeded()) window.setTimeout(updateGate, 0);
  });
  enterButton.addEventListener("click", enterFullscreen);

  // --- focus and visibility ------------------------------------------------------------------

  function onBlur() {
    if (!active || blurredAt !== null) return;
    blurredAt = performance.now();
    hiddenDuringBlur = document.visibilityState === "hidden";
    blurForPicker = pickerOpen;
  }

  function onFocus() {
    if (blurredAt === null) return;
    const durationMs = Math.round(performance.now() - blurredAt);
    blurredAt = null;
    // A tab switch is reported by itself (visibilitychange); do not count it twice. The browser's
    // screen-share picker, which the exam itself opened, takes the focus too: not a departure.
    if (active && !hiddenDuringBlur && !blurForPicker && durationMs >= MIN_BLUR_MS) {
      report("window-blur", durationMs > 10_000 ? "medium" : "low", { durationMs });
    }
  }

  /** The exam page opened (true) or got an answer from (false) the browser's screen-share picker. */
  function pickerShown(open) {
    pickerOpen = open;
  }

  function onVisibilityChange() {
    if (document.visibilityState === "hidden") {
      hiddenAt = performance.now();
      if (blurredAt !== null) hiddenDuringBlur = true;
      return;
    }
    if (hiddenAt === null) return;
    const durationMs = Math.round(performance.now() - hiddenAt);
    hiddenAt = null;
    if (active) report("tab-switch", high || durationMs > 10_000 ? "high" : "medium", { durationMs });
  }

  // The severity of a departure is the server's to give once it knows it was not a reload.
  function onPageHide() {
    if (!active || left) return;
    left = true;
    const details = {};
    if (hiddenAt !== null) details.hiddenMs = Math.round(performance.now() - hiddenAt);
    const { seq } = reportOnUnload("page-leave", undefined, details);
    store.set("leaving", { seq, at: Date.now() });
  }

  // The page that loads after a departure: a reload says so, naming the departure; any other way
  // back (a link, the address bar, Back) leaves it a departure.
  function reportReturn() {
    const leaving = store.get("leaving", null);
    if (!leaving) return;
    store.set("leaving", null);
    const [navigation] = performance.getEntriesByType("navigation");
    if (navigation?.type !== "reload") return;
    report("page-reload", undefined, {
      awayMs: Math.max(0, Date.now() - leaving.at),
      leaveSeq: leaving.seq,
    });
  }

  // --- clipboard, context menu, keys ---------------------------------------------------------

  function selectedText(target) {
    // A selection inside a text field is not the document's selection in every browser.
    if (isAnswerField(target)) return target.value.slice(target.selectionStart, target.selectionEnd);
    return String(document.getSelection() ?? "");
  }

  // Does the selection hold question text (the question, its choices), as opposed to the
  // student's own answer or the page's own labels?
  function selectionTouchesQuestions(target) {
    if (isAnswerField(target)) return false;
    const selection = document.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return false;
    const range = selection.getRangeAt(0);
    return [...document.querySelectorAll("[data-qid].question")].some((panel) => range.intersectsNode(panel));
  }

  // The length, never the text: the proctor needs to know it happened, not what was copied.
  function onCopy(event) {
    if (!active) return;
    const text = selectedText(event.target);
    if (!text.trim()) return;
    copiedInside.add(digest(text));
    if (!selectionTouchesQuestions(event.target)) return; // the student's own words
    once(event.type, "medium", {
      length: text.length,
      questionId: questionOf(event.target),
      from: "question",
      blocked: high,
    });
    if (high) {
      event.preventDefault();
      notify(gettext("Copying the questions is turned off in this exam."));
    }
  }

  function onPaste(event) {
    if (!active) return;
    const text = event.clipboardData?.getData("text") ?? "";
    if (!text.trim() || copiedInside.has(digest(text))) return; // copied inside this page
    once("paste", "medium", {
      length: text.length,
      questionId: questionOf(event.target),
      from: "outside",
      blocked: high,
    });
    if (high) {
      event.preventDefault();
      notify(gettext("Pasting text from outside the exam is turned off in this exam."));
    }
  }

  function onContextMenu(event) {
    if (!active) return;
    once("right-click", "low", { questionId: questionOf(event.target), blocked: high });
    if (high) event.preventDefault();
  }

  function onKey(event) {
    // Most systems deliver PrintScreen on keyup only; listen to both, report once.
    if (active && event.key === "PrintScreen") once("print-screen", "medium", {});
  }

  // --- a second screen ------------------------------------------------------------------------

  function checkScreens() {
    const now = window.screen.isExtended === true;
    if (now && !extended && active) report("second-screen", "high", { screens: "extended" });
    extended = now;
  }

  // ---------------------------------------------------------------------------------------------

  function start() {
    active = true;
    document.addEventListener("fullscreenchange", onFullscreenChange);
    window.addEventListener("blur", onBlur);
    window.addEventListener("focus", onFocus);
    document.addEventListener("visibilitychange", onVisibilityChange);
    window.addEventListener("pagehide", onPageHide);
    document.addEventListener("copy", onCopy);
    document.addEventListener("cut", onCopy);
    document.addEventListener("paste", onPaste);
    document.addEventListener("contextmenu", onContextMenu);
    window.addEventListener("keydown", onKey);
    window.addEventListener("keyup", onKey);
    if ("isExtended" in window.screen) {
      window.screen.addEventListener("change", checkScreens);
      screensTimer = window.setInterval(checkScreens, SCREENS_CHECK_MS);
      checkScreens();
    }
    reportReturn();
    if (fullscreenRequired && !document.fullscreenEnabled) {
      // The system check requires fullscreen support, so this is a browser that lied or a
      // policy that forbids it. Do not lock the student out; tell the proctor instead.
      report("fullscreen-exit", "high", { reason: "fullscreen not available" });
    }
    if (document.hidden) hiddenAt = performance.now();
    if (!document.hasFocus()) onBlur();
    updateGate();
  }

  function stop() {
    active = false;
    window.clearInterval(screensTimer);
    updateGate();
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  }

  return { start, stop, pickerShown };
}
