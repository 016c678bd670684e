// Secure mode: the fullscreen gate and the browser signals a proctor wants to know about.
//
// Signals are reported, not prevented, except at the high security level, where copy, cut,
// paste and the context menu are also blocked. A long blur is one event: it is reported when
// focus comes back, with how long it lasted (details.durationMs), so a student who spends a
// minute in another window produces one alert, not dozens.

const MIN_BLUR_MS = 300; // shorter blurs are the browser's own focus shuffles, not the student
const DEVTOOLS_GAP_PX = 160;
const DEVTOOLS_CHECK_MS = 2000;
const REPEAT_MS = 1000; // the same clipboard/key signal within this window is one event

export function createSecureMode({ level, fullscreenRequired, gate, report, reportOnUnload, notify }) {
  const high = level === "high";
  let active = false;
  let blurredAt = null;
  let hiddenAt = null;
  let hiddenDuringBlur = false;
  let wasFullscreen = Boolean(document.fullscreenElement);
  let devtoolsOpen = false;
  let devtoolsBaseline = null;
  let devtoolsTimer = null;
  let extended = false;
  let left = false;
  const lastSeen = {};

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
      gateError.textContent =
        `Your browser did not switch to fullscreen (${err.message}). ` + "Try again, or ask your proctor.";
      gateError.hidden = false;
    }
  }

  function onFullscreenChange() {
    const now = Boolean(document.fullscreenElement);
    if (active && fullscreenRequired && wasFullscreen && !now) {
      report("fullscreen-exit", "high", {});
    }
    wasFullscreen = now;
    devtoolsBaseline = null; // the window's chrome changed size; measure again
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
  }

  function onFocus() {
    if (blurredAt === null) return;
    const durationMs = Math.round(performance.now() - blurredAt);
    blurredAt = null;
    // A tab switch is reported by itself (visibilitychange); do not count it twice.
    if (active && !hiddenDuringBlur && durationMs >= MIN_BLUR_MS) {
      report("window-blur", durationMs > 10_000 ? "medium" : "low", { durationMs });
    }
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

  function onPageHide() {
    if (!active || left) return;
    left = true;
    const details = {};
    if (hiddenAt !== null) details.hiddenMs = Math.round(performance.now() - hiddenAt);
    reportOnUnload("page-leave", "medium", details);
  }

  // --- clipboard, context menu, keys ---------------------------------------------------------

  function onClipboard(event) {
    if (!active) return;
    const selection =
      event.type === "paste"
        ? (event.clipboardData?.getData("text") ?? "")
        : String(document.getSelection() ?? "");
    // The length, never the text: the proctor needs to know it happened, not what was copied.
    once(event.type, "medium", {
      length: selection.length,
      questionId: questionOf(event.target),
      blocked: high,
    });
    if (high) {
      event.preventDefault();
      notify(`${event.type === "paste" ? "Pasting" : "Copying"} is turned off in this exam.`);
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

  // --- devtools (best effort) and a second screen ----------------------------------------------

  // Docked developer tools take room from the page: the window's outer size stays, the inner size
  // shrinks in one direction. Page zoom shrinks the inner size in both directions, so two tests
  // that zoom cannot pass: a gap in one direction only ("shape"), or a gap that grew since the
  // last measurement at the same zoom (devicePixelRatio changes with zoom).
  function checkDevtools() {
    const widthGap = window.outerWidth - window.innerWidth;
    const heightGap = window.outerHeight - window.innerHeight;
    const dpr = window.devicePixelRatio;
    if (!devtoolsBaseline || devtoolsBaseline.dpr !== dpr) devtoolsBaseline = { widthGap, heightGap, dpr };
    const shape =
      (widthGap > DEVTOOLS_GAP_PX && heightGap < DEVTOOLS_GAP_PX + 40) || // docked left or right
      (heightGap > DEVTOOLS_GAP_PX * 2 && widthGap < 40); // docked at the bottom, under the toolbar
    const grew =
      widthGap - devtoolsBaseline.widthGap > DEVTOOLS_GAP_PX ||
      heightGap - devtoolsBaseline.heightGap > DEVTOOLS_GAP_PX;
    const open = shape || grew;
    if (open && !devtoolsOpen && active) {
      report("devtools-open", "medium", {
        widthGap,
        heightGap,
        devicePixelRatio: dpr,
        heuristic: "window-size",
      });
    }
    devtoolsOpen = open;
  }

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
    for (const type of ["copy", "cut", "paste"]) document.addEventListener(type, onClipboard);
    document.addEventListener("contextmenu", onContextMenu);
    window.addEventListener("keydown", onKey);
    window.addEventListener("keyup", onKey);
    window.addEventListener("resize", checkDevtools);
    devtoolsTimer = window.setInterval(checkDevtools, DEVTOOLS_CHECK_MS);
    checkDevtools();
    if ("isExtended" in window.screen) {
      window.screen.addEventListener("change", checkScreens);
      checkScreens();
    }
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
    window.clearInterval(devtoolsTimer);
    window.removeEventListener("resize", checkDevtools);
    updateGate();
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  }

  return { start, stop };
}
