// Shortcut keys of the grading pages (templates/sessions/grading/shortcuts.html lists them). A key
// clicks the element marked data-shortcut="<key>": a link opens, a submit button saves. Letters
// are shortcuts except where they are typed: in a feedback box Ctrl+Enter (or ⌘+Enter) saves and
// Esc leaves the box; a score box takes digits only, so there the letters stay shortcuts.

const SAVE = "s";

function shortcut(key) {
  return document.querySelector(`[data-shortcut="${CSS.escape(key)}"]`);
}

function typesText(element) {
  return element instanceof HTMLTextAreaElement
    || element instanceof HTMLSelectElement
    || element.isContentEditable
    || (element instanceof HTMLInputElement && !["number", "checkbox", "radio", "submit", "button"].includes(element.type));
}

// A score or feedback changed since the page loaded: leaving by a link would lose it.
function unsaved() {
  return [...document.querySelectorAll(".grading-form input[type=number], .grading-form textarea")]
    .some((field) => field.value !== field.defaultValue);
}

function act(element) {
  if (element.matches("a[href]") && unsaved()
      && !window.confirm(gettext("Leave without saving the score you typed?"))) {
    return;
  }
  element.click();
}

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.isComposing) return;
  if (target instanceof HTMLTextAreaElement) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && shortcut(SAVE)) {
      event.preventDefault();
      shortcut(SAVE).click();
    } else if (event.key === "Escape") {
      // To the same answer's score box, where letters are shortcuts: a blur alone left the focus
      // nowhere to be seen.
      const score = target.closest(".score-row")?.querySelector("input[type=number]");
      if (score) score.focus();
      else target.blur();
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || typesText(target)) return;
  if (event.key === "?") {
    event.preventDefault();
    document.getElementById("shortcuts")?.focus();
    return;
  }
  const element = shortcut(event.key);
  if (!element) return;
  event.preventDefault();
  act(element);
});
