// What one exam session keeps in localStorage: sequence counters, the offline answer queue,
// unacknowledged events, flags. Storage may be missing or full (private windows, quotas): the
// exam must still work then, it just cannot survive a reload, so every access is guarded.

export function sessionStore(sessionId) {
  const prefix = `procto:exam:${sessionId}:`;

  function get(key, fallback) {
    try {
      const raw = window.localStorage.getItem(prefix + key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (err) {
      console.warn(`Could not read ${key} from this device's storage:`, err);
      return fallback;
    }
  }

  function set(key, value) {
    try {
      window.localStorage.setItem(prefix + key, JSON.stringify(value));
      return true;
    } catch (err) {
      console.warn(`Could not keep ${key} on this device:`, err);
      return false;
    }
  }

  // Hand out increasing numbers that survive a reload. Read back on every call so that two tabs
  // of the same session do not reuse each other's numbers. `floor` lifts the counter past
  // numbers the server has already seen.
  function nextNumber(key, floor = 0) {
    const next = Math.max(Number(get(key, 0)) || 0, floor) + 1;
    set(key, next);
    return next;
  }

  function clear() {
    try {
      for (const key of Object.keys(window.localStorage)) {
        if (key.startsWith(prefix)) window.localStorage.removeItem(key);
      }
    } catch (err) {
      console.warn("Could not clear this exam's storage:", err);
    }
  }

  return { get, set, nextNumber, clear };
}
