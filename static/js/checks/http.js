// Our pages talk to the API with the session cookie and Django's CSRF token, and read the
// envelope {success, data | error} (docs/PROTOCOL.md, "REST API envelope").

export function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

/** A refused or failed API call: `status` 0 means the server was not reached at all. */
export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Worth retrying: the network, a timeout, throttling or a server-side failure. */
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

const NETWORK_MESSAGE = "Could not reach Procto. Check your internet connection, then try again.";

/**
 * POST (by default) to an /api/ URL and return the envelope's `data`; throws ApiError.
 * `json` is sent as JSON, `form` (a FormData) as multipart.
 */
export async function apiFetch(url, { method = "POST", json, form, signal } = {}) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser sets the multipart boundary
  }
  let response;
  try {
    response = await fetch(url, { method, headers, body, signal, credentials: "same-origin", cache: "no-store" });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "NETWORK", NETWORK_MESSAGE);
  }
  let envelope = null;
  try {
    envelope = await response.json();
  } catch {
    envelope = null; // a proxy's HTML error page, or an empty body: described below by status
  }
  if (response.ok && envelope && envelope.success) return envelope.data;
  const error = (envelope && envelope.error) || {};
  throw new ApiError(
    response.status,
    error.code || `HTTP_${response.status}`,
    error.message || `The server answered ${response.status}. Please try again in a moment.`,
    error.details ?? null,
  );
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
