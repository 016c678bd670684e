// Inside the LMS's iframe the browser gives a page the camera and microphone only if the LMS's
// iframe grants them (allow="camera; microphone"): Canvas does, Moodle does not by default. Where
// they are refused, the page shows templates/includes/new_window.html: "Open the exam in a new
// window", the same page where Procto is the top window and asks for them itself.

import { apiFetch } from "../api.js";

/** Whether this page is shown inside another page (the LMS's iframe). */
export function isFramed() {
  try {
    return window.self !== window.top;
  } catch {
    return true; // a cross-origin top may refuse even the comparison
  }
}

/** Shows the "Open the exam in a new window" box if this page is framed; true if it did. */
export function offerNewWindow() {
  const box = document.getElementById("new-window");
  if (!box || !isFramed()) return false;
  box.hidden = false;
  return true;
}

// The link opens the same URL in a new window. A browser that partitions the iframe's cookies
// (Firefox) would open it signed out, so an LTI session first asks for a one-time sign-in link
// (sessions.lti.views.lti_window_open); the window is opened at the click, before the answer
// comes, or the browser would block it as a pop-up.
function wireLink(box) {
  const link = document.getElementById("new-window-link");
  const opened = document.getElementById("new-window-opened");
  link.addEventListener("click", async (event) => {
    opened.hidden = false;
    event.preventDefault();
    const target = window.open("", "_blank");
    let url = link.href;
    try {
      const body = new FormData();
      body.append("next", window.location.pathname + window.location.search);
      url = (await apiFetch(box.dataset.handoffUrl, { body })).url;
    } catch (error) {
      console.warn("no one-time link for the new window; opening the page itself:", error.message);
    }
    if (target) target.location.href = url;
    else window.open(url, "_blank");
  });
}

const box = document.getElementById("new-window");
if (box) wireLink(box);
