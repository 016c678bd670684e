// REST calls of the monitor: the exam page's client (session cookie + CSRF header, envelope
// unwrapped), plus a read that keeps the envelope's timestamp, which sets the server clock.

import { ApiError, NetworkError, apiFetch } from "../exam/api.js";

export { ApiError, NetworkError, apiFetch };

/** GET an /api/ URL and return {data, timestamp}; throws ApiError or NetworkError. */
export async function getWithServerTime(url) {
  let response;
  try {
    response = await fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (error) {
    throw new NetworkError(error.message);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null; // not our envelope (a proxy's error page): described by the status below
  }
  if (response.ok && payload && payload.success) return { data: payload.data, timestamp: payload.timestamp };
  const error = (payload && payload.error) || {};
  throw new ApiError(
    response.status,
    error.code || `HTTP_${response.status}`,
    error.message || "The server refused the request.",
    error.details,
  );
}
