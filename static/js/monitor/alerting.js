// Getting a proctor's attention for high and critical alerts: a short beep (made with Web Audio,
// no sound file) and a desktop notification. Both are off until the proctor turns them on; the
// choice is remembered in this browser. Notification permission is asked only when they tick it.

const SOUND_KEY = "procto.monitor.sound";
const NOTIFY_KEY = "procto.monitor.notify";
const BEEP_EVERY_MS = 1500; // a burst of alerts beeps once, not once per alert

export function readPreference(key, fallback = "") {
  try {
    return window.localStorage.getItem(key) ?? fallback;
  } catch {
    return fallback; // storage disabled (private mode, policy): nothing is remembered
  }
}

export function writePreference(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    // As above: the toggle still works for this page.
  }
}

export function createAlerting({ soundToggle, notifyToggle, onNotice, onNotificationClick }) {
  let audio = null;
  let lastBeepAt = 0;

  function audioContext() {
    if (!audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      audio = new Context();
    }
    // Browsers start audio suspended until the user interacts with the page.
    if (audio.state === "suspended") audio.resume().catch(() => {});
    return audio;
  }

  function beep() {
    const now = Date.now();
    if (!soundToggle.checked || now - lastBeepAt < BEEP_EVERY_MS) return;
    lastBeepAt = now;
    const context = audioContext();
    if (!context) return;
    const start = context.currentTime;
    // Two short tones, rising: noticeable, not alarming.
    for (const [offset, frequency] of [
      [0, 880],
      [0.16, 1175],
    ]) {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.14);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + 0.15);
    }
  }

  function notify(title, body, tag, sessionId) {
    if (!notifyToggle.checked || !("Notification" in window) || Notification.permission !== "granted") return;
    try {
      // One notification per student: a newer alert replaces the older one.
      const notification = new Notification(title, { body, tag, renotify: true });
      notification.onclick = () => {
        window.focus();
        onNotificationClick(sessionId);
        notification.close();
      };
    } catch (error) {
      console.warn("monitor: notification failed", error);
    }
  }

  soundToggle.checked = readPreference(SOUND_KEY) === "on";
  soundToggle.addEventListener("change", () => {
    writePreference(SOUND_KEY, soundToggle.checked ? "on" : "off");
    if (soundToggle.checked) {
      audioContext(); // created inside the click, so the browser lets it play
      lastBeepAt = 0;
      beep();
    }
  });
  // A remembered "sound on" needs one interaction with the page before audio may start.
  document.addEventListener("pointerdown", () => soundToggle.checked && audioContext(), { once: true });

  const supported = "Notification" in window;
  notifyToggle.disabled = !supported;
  notifyToggle.checked = supported && readPreference(NOTIFY_KEY) === "on" && Notification.permission === "granted";
  notifyToggle.addEventListener("change", async () => {
    if (!notifyToggle.checked) {
      writePreference(NOTIFY_KEY, "off");
      return;
    }
    const permission =
      Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
    if (permission !== "granted") {
      notifyToggle.checked = false;
      onNotice(gettext("Desktop notifications are blocked for this site. Allow them in the browser's site settings."));
    }
    writePreference(NOTIFY_KEY, notifyToggle.checked ? "on" : "off");
  });

  return { beep, notify };
}
