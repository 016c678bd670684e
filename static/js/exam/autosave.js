// Autosave with an offline queue.
//
// Every change gets the next number of a per-session counter kept in localStorage, and goes into
// a queue (also in localStorage) before anything is sent. The queue holds the newest change of
// each question, in the order they were made, and is sent oldest first, one request at a time.
// The server keeps, per answer, only a save with a higher number than the one it has, so
// re-sending after a lost response, a reload or a second tab never lets an old answer win.

import { ApiError, NetworkError, apiFetch } from "../api.js";

const BATCH_SIZE = 100; // the API takes up to 500 answers per save
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 30_000;
const CLOSED_CODES = new Set(["DEADLINE_PASSED", "SESSION_CLOSED"]);

export function createAutosave({ saveUrl, store, onState, onTimeRemaining, onClosed, onRejected, onSignedOut }) {
  let queue = store.get("queue", []);
  const latest = new Map(); // questionId -> { value, sequence, timeSpent }: what the page shows
  let inFlight = null; // the promise of the save being sent
  let problem = null; // null | "offline" | "error" | "signed-out"
  let problemMessage = "";
  let closed = null; // set once the server refuses saves for good
  let paused = false; // while a submit is on its way
  let retryTimer = null;
  let retryDelay = RETRY_MIN_MS;

  function persist() {
    store.set("queue", queue);
  }

  function emit() {
    let state = "saved";
    if (closed) state = "closed";
    else if (problem && queue.length) state = problem === "error" ? "error" : problem;
    else if (inFlight || queue.length) state = "saving";
    onState({ state, queued: queue.length, message: closed ? closed.message : problemMessage });
  }

  /**
   * Start from the server's answers, then put back local changes the server has not seen
   * (newer sequence numbers than its own). Returns the answers to show.
   */
  function load(serverAnswers) {
    let highest = 0;
    for (const answer of serverAnswers) {
      latest.set(String(answer.questionId), {
        value: answer.studentAnswer ?? null,
        sequence: answer.sequence || 0,
        timeSpent: answer.timeSpent || 0,
      });
      highest = Math.max(highest, answer.sequence || 0);
    }
    // Lift the counter past anything the server holds: a cleared localStorage (or another
    // browser) must not produce numbers the server would ignore as stale.
    store.set("seq", Math.max(Number(store.get("seq", 0)) || 0, highest));
    queue = queue.filter((item) => item.sequence > (latest.get(item.questionId)?.sequence || 0));
    for (const item of queue) {
      latest.set(item.questionId, {
        value: item.studentAnswer,
        sequence: item.sequence,
        timeSpent: item.timeSpent,
      });
    }
    persist();
    emit();
    return latest;
  }

  /** Queue a change (a new number for it) and send soon. */
  function record(questionId, value, timeSpent) {
    if (closed) return false;
    const sequence = store.nextNumber("seq");
    const item = { questionId, studentAnswer: value, timeSpent: Math.round(timeSpent), sequence };
    latest.set(questionId, { value, sequence, timeSpent: item.timeSpent });
    // Only the newest change of a question needs sending; an older one still in flight is
    // harmless (its number is lower).
    queue = queue.filter((queued) => queued.questionId !== questionId);
    queue.push(item);
    persist();
    emit();
    flush();
    return true;
  }

  function scheduleRetry() {
    window.clearTimeout(retryTimer);
    const delay = retryDelay + Math.random() * 1000;
    retryDelay = Math.min(RETRY_MAX_MS, retryDelay * 2);
    retryTimer = window.setTimeout(flush, delay);
  }

  function flush() {
    if (closed || paused || inFlight || queue.length === 0) return inFlight || Promise.resolve();
    window.clearTimeout(retryTimer);
    if (!navigator.onLine) {
      problem = "offline";
      emit();
      scheduleRetry(); // the `online` event usually comes first; this is the safety net
      return Promise.resolve();
    }
    const batch = queue.slice(0, BATCH_SIZE);
    inFlight = send(batch).finally(() => {
      inFlight = null;
      emit();
      if (queue.length && !problem) flush();
    });
    emit();
    return inFlight;
  }

  async function send(batch) {
    const body = { answers: batch, sequence: Math.max(...batch.map((item) => item.sequence)) };
    try {
      const data = await apiFetch(saveUrl, { method: "PUT", json: body });
      // Drop exactly what was sent; a newer change made meanwhile has another number and stays.
      const sent = new Set(batch.map((item) => `${item.questionId}:${item.sequence}`));
      queue = queue.filter((item) => !sent.has(`${item.questionId}:${item.sequence}`));
      persist();
      problem = null;
      problemMessage = "";
      retryDelay = RETRY_MIN_MS;
      if (typeof data.timeRemaining === "number") onTimeRemaining(data.timeRemaining);
    } catch (err) {
      handleFailure(err, batch);
    }
  }

  function handleFailure(err, batch) {
    if (err instanceof ApiError && err.status === 409 && CLOSED_CODES.has(err.code)) {
      closed = { code: err.code, message: err.message };
      window.clearTimeout(retryTimer);
      onClosed(closed);
      return;
    }
    if (err instanceof ApiError && err.status === 400 && err.details.questionId) {
      // The server will never take this answer (e.g. an option changed meanwhile): drop it so
      // it does not hold up the others, and tell the student.
      const bad = String(err.details.questionId);
      queue = queue.filter((item) => !(item.questionId === bad && batch.includes(item)));
      persist();
      onRejected(bad, err.message);
      return;
    }
    if (err instanceof NetworkError) {
      problem = "offline";
      problemMessage = "";
    } else if (err instanceof ApiError && err.status === 401) {
      // The login ended, not the exam: keep the queue; the page asks the student to sign in
      // again and calls retryNow() once they have. The retries below are only a safety net.
      problem = "signed-out";
      problemMessage = gettext("You are signed out. Your answers are kept on this device until you sign in again.");
      onSignedOut?.();
    } else {
      problem = "error";
      problemMessage = err.message;
      if (!(err instanceof ApiError && err.transient)) console.warn("Autosave refused:", err);
    }
    scheduleRetry();
  }

  /** Try to get queued answers out while the page goes away (the queue stays on disk anyway). */
  function flushOnUnload() {
    if (closed || queue.length === 0) return;
    const batch = queue.slice(0, BATCH_SIZE);
    const body = { answers: batch, sequence: Math.max(...batch.map((item) => item.sequence)) };
    apiFetch(saveUrl, { method: "PUT", json: body, keepalive: true }).catch(() => {
      // Expected when the page is gone or the body is over the 64 KB keepalive limit.
    });
  }

  /** Stop saving while a submit carries the answers; `resume` if the submit fails. */
  async function pause() {
    paused = true;
    window.clearTimeout(retryTimer);
    if (inFlight) await inFlight;
  }

  function resume() {
    paused = false;
    flush();
  }

  /** Every answer the page knows, each with its own sequence number, for the submit body. */
  function finalAnswers() {
    return [...latest].map(([questionId, { value, sequence, timeSpent }]) => ({
      questionId,
      studentAnswer: value,
      timeSpent,
      sequence,
    }));
  }

  function online() {
    retryDelay = RETRY_MIN_MS;
    if (problem === "offline") problem = null;
    flush();
  }

  /** Signed in again (or anything else that makes a save worth trying at once). */
  function retryNow() {
    retryDelay = RETRY_MIN_MS;
    problem = null;
    problemMessage = "";
    flush();
  }

  function stop(reason) {
    closed = closed || reason;
    window.clearTimeout(retryTimer);
  }

  return {
    load,
    record,
    flush,
    flushOnUnload,
    pause,
    resume,
    finalAnswers,
    online,
    retryNow,
    stop,
    latestSequence: () => Number(store.get("seq", 0)) || 0,
    queuedCount: () => queue.length,
    answerOf: (questionId) => latest.get(questionId),
  };
}
