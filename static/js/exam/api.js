// Calls to Procto's REST API from a page: session cookie + CSRF header, envelope unwrapped.
// Two kinds of failure matter to callers and are kept apart: the request never got an answer
// (NetworkError: retry later) and the server answered with an error (ApiError: read its code).

export class NetworkError extends Error {
  constructor(message) {
    super(message);
    this.name = "NetworkError";
  }
}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details || {};
  }

  // Worth retrying unchanged: the server or something in front of it is struggling.
  get isTransient() {
    return this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

export function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  // CSRF_COOKIE_HTTPONLY would hide the cookie; base.html's logout form carries the token too.
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/**
 * Send a request and return the envelope's `data`.
 * `keepalive` lets a request outlive the page (pagehide); such bodies are limited to 64 KB.
 */
export async function apiFetch(url, { method = "GET", body, keepalive = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  let payload = null;
  try {
    response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      keepalive,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    payload = await response.json();
  } catch (err) {
    if (!response) throw new NetworkError(err.message);
    // An answer that is not our JSON envelope (a proxy's 502 page, a cut-off body).
  }
  if (response.ok && payload && payload.success) return payload.data;
  const error = (payload && payload.error) || {};
  throw new ApiError(
    response.status,
    error.code || `HTTP_${response.status}`,
    error.message || response.statusText || "The server refused the request.",
    error.details,
  );
}
