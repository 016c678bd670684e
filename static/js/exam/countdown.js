// The exam clock. The server owns the deadline: we only ever learn "N seconds remain" from it and
// count down on the monotonic clock (performance.now), so a wrong or changed computer clock
// cannot add time, and a throttled background tab is exact again when it wakes up.

const ANNOUNCE_AT_MINUTES = [10, 5, 1];
// Save responses carry whole seconds; ignore differences smaller than this to avoid a jittery
// clock, but follow real changes (an extension, a suspended laptop).
const RESYNC_TOLERANCE_MS = 2000;

export function formatDuration(totalSeconds) {
  const s = Math.max(0, Math.ceil(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

export function createCountdown({ clockEl, announcerEl, onExpire }) {
  let endsAt = null;
  let timer = null;
  let expired = false;
  const announced = new Set();

  function remainingMs() {
    return endsAt === null ? null : endsAt - performance.now();
  }

  function sync(secondsRemaining) {
    const target = performance.now() + secondsRemaining * 1000;
    const first = endsAt === null;
    if (!first && Math.abs(target - endsAt) < RESYNC_TOLERANCE_MS) return;
    endsAt = target;
    if (first) {
      // Thresholds already behind us at load (e.g. a reload at 7 minutes) are not announced.
      for (const minutes of ANNOUNCE_AT_MINUTES) {
        if (secondsRemaining <= minutes * 60) announced.add(minutes);
      }
      timer = window.setInterval(tick, 250);
    }
    tick();
  }

  function tick() {
    const ms = remainingMs();
    if (ms === null) return;
    const text = formatDuration(ms / 1000);
    if (clockEl.textContent !== text) clockEl.textContent = text;
    clockEl.dataset.urgency = ms <= 60_000 ? "critical" : ms <= 5 * 60_000 ? "low" : "";
    for (const minutes of ANNOUNCE_AT_MINUTES) {
      if (!announced.has(minutes) && ms <= minutes * 60_000) {
        announced.add(minutes);
        announcerEl.textContent = interpolate(ngettext("%s minute left.", "%s minutes left.", minutes), [minutes]);
      }
    }
    if (ms <= 0 && !expired) {
      expired = true;
      onExpire();
    }
  }

  function stop() {
    window.clearInterval(timer);
  }

  return { sync, stop, remainingMs };
}
