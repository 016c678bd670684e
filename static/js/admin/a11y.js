// The admin's two-box pickers (SelectFilter2.js, filter_horizontal) draw a magnifier <span> whose
// aria-label is its only text; a label is not allowed on a plain span, so screen readers may drop
// it. As an image, the span is announced with its label. The pickers are drawn on load.
"use strict";
window.addEventListener("load", () => {
  setTimeout(() => {
    for (const icon of document.querySelectorAll(".search-label-icon[aria-label]:not([role])")) {
      icon.setAttribute("role", "img");
    }
  });
});
