// A textarea that behaves enough like a code editor: Tab indents instead of leaving the field.
// Keyboard users must still be able to get out (WCAG 2.1.2, no keyboard trap): Shift+Tab
// always leaves, and Escape followed by Tab leaves forwards, like CodeMirror's escape hatch.

const INDENT = "    ";

export function makeCodeEditor(textarea) {
  let escaped = false;

  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      escaped = true;
      return;
    }
    if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.altKey || event.metaKey) {
      if (event.key !== "Shift") escaped = false;
      return;
    }
    if (escaped) {
      escaped = false; // let the browser move focus on
      return;
    }
    event.preventDefault();
    indent(textarea);
  });
  textarea.addEventListener("blur", () => {
    escaped = false;
  });
}

function indent(textarea) {
  const { selectionStart: start, selectionEnd: end, value } = textarea;
  const selected = value.slice(start, end);
  if (!selected.includes("\n")) {
    insert(textarea, INDENT);
    return;
  }
  // A selection over several lines: indent each of those lines, keep them selected.
  const lineStart = value.lastIndexOf("\n", start - 1) + 1;
  const block = value.slice(lineStart, end);
  const indented = block.replace(/^/gm, INDENT);
  textarea.setSelectionRange(lineStart, end);
  insert(textarea, indented);
  textarea.setSelectionRange(lineStart, lineStart + indented.length);
}

function insert(textarea, text) {
  // execCommand keeps the browser's undo history (Ctrl+Z) working; it is deprecated but has no
  // replacement for this yet. setRangeText is the fallback where it is gone.
  const done = typeof document.execCommand === "function" && document.execCommand("insertText", false, text);
  if (!done) {
    textarea.setRangeText(text, textarea.selectionStart, textarea.selectionEnd, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }
}
