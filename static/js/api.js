// The one client our pages use to call Procto's REST API (docs/PROTOCOL.md, "REST API envelope").
//
// Every call gets the same defaults: the session cookie, Django's CSRF header on unsafe methods,
// JSON in and out, no HTTP cache, and a timeout. The envelope {success, data | error} is
// unwrapped: a call returns `data`, or throws ApiError with the HTTP status and the envelope's
// code, message and details. A request that got no answer at all (offline, refused connection,
// timed out) throws NetworkError, a kind of ApiError with status 0: callers that only show what
// went wrong catch ApiError, callers that keep work for later (autosave, the event outbox) test
// for NetworkError or `transient` first.

const DEFAULT_TIMEOUT_MS = 30_000;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const NETWORK_MESSAGE = gettext("Could not reach Procto. Check your internet connection, then try again.");
const TIMEOUT_MESSAGE = gettext("Procto did not answer in time. Check your internet connection, then try again.");

/** The server refused or failed a call; `status` 0 means it was not reached (NetworkError). */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details || {};
  }

  /** Worth retrying unchanged: no answer, a timeout, throttling or a server-side failure. */
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** No answer: the network failed (code "NETWORK") or the timeout passed (code "TIMEOUT"). */
export class NetworkError extends ApiError {
  constructor(code, message) {
    super(0, code, message);
    this.name = "NetworkError";
  }
}

/** Django's CSRF token as it is now (the cookie: a login in another tab changes it). */
export function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  // CSRF_COOKIE_HTTPONLY would hide the cookie; base.html's logout form carries the token too.
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function requestBody(json, body, contentType, headers) {
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    return JSON.stringify(json);
  }
  if (body === undefined || body instanceof FormData) return body; // the browser sets the boundary
  if (Object.getPrototypeOf(body) === Object.prototype) throw new TypeError("send objects as `json`, not `body`");
  const type = contentType || body.type || "application/octet-stream";
  headers["Content-Type"] = type;
  return body;
}

/** The parsed body, or null if it is not JSON; a connection lost while reading still throws. */
async function readEnvelope(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return null; // not our envelope: a proxy's HTML error page, an empty body
  }
}

function refusal(response, envelope) {
  const error = (envelope && envelope.error) || {};
  const status = response.status;
  let fallback = interpolate(gettext("The server refused the request (HTTP %s)."), [status]);
  if (status >= 500 || status === 429)
    fallback = interpolate(gettext("The server answered %s. Please try again in a moment."), [status]);
  else if (response.ok) fallback = gettext("The server's answer could not be read. Please try again.");
  return new ApiError(status, error.code || `HTTP_${status}`, error.message || fallback, error.details);
}

/**
 * One exchange with the defaults above; `read(response)` runs on an OK answer, inside the timeout.
 * Options:
 *   method     default POST when there is a body, GET otherwise
 *   json       a value sent as JSON
 *   body       anything else fetch can send: FormData (multipart), a Blob or bytes (sent with
 *              `contentType`, else the Blob's own type, else application/octet-stream)
 *   timeoutMs  default 30 s; 0 for none
 *   signal     the caller's AbortSignal: aborting rejects with the browser's AbortError, as is
 *   keepalive  lets the request outlive the page (pagehide); such bodies are limited to 64 KB
 */
async function exchange(url, options, read) {
  const { json, body, contentType, signal, keepalive = false, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  const method = (options.method || (json !== undefined || body !== undefined ? "POST" : "GET")).toUpperCase();
  const headers = { Accept: "application/json" };
  if (!SAFE_METHODS.has(method)) headers["X-CSRFToken"] = csrfToken();
  const payload = requestBody(json, body, contentType, headers);

  const controller = new AbortController();
  let timedOut = false;
  const timer = timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs)
    : 0;
  const forward = () => controller.abort(signal.reason);
  if (signal) {
    if (signal.aborted) forward();
    else signal.addEventListener("abort", forward, { once: true });
  }
  try {
    const response = await fetch(url, {
      method,
      headers,
      body: payload,
      credentials: "same-origin",
      cache: "no-store",
      keepalive,
      signal: controller.signal,
    });
    if (!response.ok) throw refusal(response, await readEnvelope(response));
    return await read(response);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (timedOut) throw new NetworkError("TIMEOUT", TIMEOUT_MESSAGE);
    if (signal && signal.aborted) throw error;
    // fetch rejects with a TypeError, whatever the cause, when no answer (or no whole answer) came.
    throw new NetworkError("NETWORK", NETWORK_MESSAGE);
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", forward);
  }
}

/** Call an /api/ URL and return the envelope's `data` and `timestamp` (the server's clock). */
export function apiFetchWithTimestamp(url, options = {}) {
  return exchange(url, options, async (response) => {
    if (response.status === 204) return { data: null, timestamp: null };
    const envelope = await readEnvelope(response);
    if (envelope && envelope.success === true) return { data: envelope.data, timestamp: envelope.timestamp };
    throw refusal(response, envelope);
  });
}

/** Call an /api/ URL and return the envelope's `data`; throws ApiError (or NetworkError). */
export async function apiFetch(url, options = {}) {
  return (await apiFetchWithTimestamp(url, options)).data;
}

/**
 * For answers that are not our JSON envelope (a Blob, bytes, /healthz): the OK Response, its body
 * unread; a non-OK answer still throws ApiError, described by its envelope if it has one.
 * The timeout covers the wait for the response's headers only.
 */
export function apiRequest(url, options = {}) {
  return exchange(url, options, (response) => response);
}
