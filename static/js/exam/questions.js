// The questions, one at a time, and the navigator beside them. Everything is built with DOM
// calls and textContent: question text is author input and must never be parsed as HTML.

import { makeCodeEditor } from "./code-editor.js";

const TEXT_TYPES = new Set(["Paragraph", "Image", "Code"]);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

// An answer counts as given when it says something; empty text or no choice clears it (null).
// A matching answer is a list with null for each prompt not matched yet.
export function isAnswered(value) {
  if (value === null || value === undefined) return false;
  if (Array.isArray(value)) return value.some((item) => item !== null);
  return String(value).trim() !== "";
}

function pointsLabel(points) {
  return interpolate(ngettext("%s point", "%s points", Number(points)), [points]);
}

/**
 * Build the question panels and navigator.
 * `onAnswer(questionId, value, { typing })` is called on every change; `typing` marks text
 * edits, which the caller debounces. `onShow(questionId)` when another question is shown.
 */
export function createQuestionView({
  container,
  navList,
  questions,
  flags,
  fullscreenRequired,
  onAnswer,
  onShow,
  onFlag,
}) {
  const panels = new Map();
  const navButtons = new Map();
  const total = questions.length;
  let current = 0;

  questions.forEach((question, index) => {
    const panel = buildPanel(question, index);
    panels.set(question.id, panel);
    container.append(panel);

    const button = el(
      "button",
      { type: "button", className: "nav-item", "data-qid": question.id },
      el("span", { text: String(index + 1) }),
    );
    button.addEventListener("click", () => show(index, { focus: true }));
    navButtons.set(question.id, button);
    navList.append(el("li", {}, button));
  });

  function buildPanel(question, index) {
    const qid = question.id;
    const base = `q-${qid}`;
    const legend = el(
      "legend",
      {},
      el("span", {
        className: "q-number",
        text: interpolate(
          gettext("Question %(number)s of %(total)s · %(points)s"),
          { number: index + 1, total, points: pointsLabel(question.points) },
          true,
        ),
      }),
      el("span", { className: "q-text", text: question.questionText }),
    );
    const panel = el(
      "fieldset",
      {
        className: "question",
        id: base,
        "data-qid": qid,
        "data-type": question.type,
        tabindex: "-1",
        hidden: true,
      },
      legend,
    );

    if (question.imageUrl) {
      // The API has no alt text for question images; say what it is at least. Loaded eagerly,
      // so the picture is there even if the connection drops before the question is reached.
      panel.append(
        el("img", { className: "q-image", src: question.imageUrl, alt: interpolate(gettext("Picture for question %s"), [index + 1]) }),
      );
    }

    if (question.type === "MCQ" || question.type === "MCQ-multiple") {
      const multiple = question.type === "MCQ-multiple";
      if (multiple) panel.append(el("p", { className: "muted", text: gettext("Choose all that apply.") }));
      const list = el("div", { className: "choices" });
      (question.options || []).forEach((option, i) => {
        const input = el("input", {
          type: multiple ? "checkbox" : "radio",
          name: base,
          id: `${base}-o${i}`,
          value: option,
        });
        input.addEventListener("change", () => onAnswer(qid, readValue(qid), { typing: false }));
        list.append(
          el(
            "label",
            { className: "choice", for: `${base}-o${i}` },
            input,
            document.createTextNode(` ${option}`),
          ),
        );
      });
      panel.append(list);
      if (!multiple) {
        // Radios cannot be unchecked by hand; let students take a choice back.
        const clear = el("button", {
          type: "button",
          className: "link-button clear-choice",
          text: gettext("Clear my choice"),
        });
        clear.addEventListener("click", () => {
          writeValue(qid, null);
          onAnswer(qid, null, { typing: false });
        });
        panel.append(clear);
      }
    } else if (question.type === "Numeric") {
      panel.append(el("label", { for: `${base}-answer`, text: gettext("Your answer (a number)") }));
      // Text, not type=number: the student's own decimal comma or point is kept as typed.
      const input = el("input", {
        type: "text",
        id: `${base}-answer`,
        name: base,
        inputmode: "decimal",
        autocomplete: "off",
        className: "numeric-answer",
      });
      input.addEventListener("input", () => onAnswer(qid, readValue(qid), { typing: true }));
      input.addEventListener("change", () => onAnswer(qid, readValue(qid), { typing: false }));
      panel.append(input);
    } else if (question.type === "Matching") {
      panel.append(el("p", { className: "muted", text: gettext("Choose the match of each item.") }));
      // The choice rows' own look (static/css/exam.css): one row per item, its match picked beside it.
      const list = el("div", { className: "choices matches" });
      (question.options || []).forEach((prompt, i) => {
        const select = el("select", { id: `${base}-m${i}`, name: `${base}-m${i}`, "data-index": String(i) });
        select.append(el("option", { value: "", text: gettext("— choose —") }));
        for (const match of question.matchChoices || []) select.append(el("option", { value: match, text: match }));
        select.addEventListener("change", () => onAnswer(qid, readValue(qid), { typing: false }));
        list.append(
          el(
            "label",
            { className: "choice match-row", for: `${base}-m${i}` },
            el("span", { className: "match-prompt", text: prompt }),
            select,
          ),
        );
      });
      panel.append(list);
    } else if (TEXT_TYPES.has(question.type)) {
      const isCode = question.type === "Code";
      const label = !isCode
        ? gettext("Your answer")
        : question.language
          ? interpolate(gettext("Your code (%s)"), [question.language])
          : gettext("Your code");
      panel.append(el("label", { for: `${base}-answer`, text: label }));
      const hintId = `${base}-hint`;
      const textarea = el("textarea", {
        id: `${base}-answer`,
        name: base,
        rows: isCode ? "14" : "8",
        className: isCode ? "code" : null,
        spellcheck: isCode ? "false" : null,
        autocapitalize: isCode ? "off" : null,
        autocomplete: "off",
        "aria-describedby": isCode ? hintId : null,
      });
      textarea.addEventListener("input", () => onAnswer(qid, readValue(qid), { typing: true }));
      // Leaving the field saves at once instead of after the typing pause.
      textarea.addEventListener("change", () => onAnswer(qid, readValue(qid), { typing: false }));
      panel.append(textarea);
      if (isCode) {
        makeCodeEditor(textarea);
        // Escape also leaves fullscreen, which is reported; only offer it when that cannot happen.
        const hint = fullscreenRequired
          ? gettext("Tab inserts four spaces. To leave the editor with the keyboard, press Shift+Tab.")
          : gettext("Tab inserts four spaces. To leave the editor with the keyboard, press Shift+Tab, or Esc then Tab.");
        panel.append(el("p", { className: "help", id: hintId, text: hint }));
      }
    } else {
      panel.append(
        el("p", {
          className: "error",
          text: interpolate(gettext("This question type (%s) cannot be answered on this page."), [question.type]),
        }),
      );
    }

    const flag = el(
      "button",
      { type: "button", className: "flag-toggle", "aria-pressed": "false" },
      el("span", { "aria-hidden": "true", text: "⚑ " }),
      document.createTextNode(gettext("Flag for review")),
    );
    flag.addEventListener("click", () => {
      const on = flag.getAttribute("aria-pressed") !== "true";
      onFlag(qid, on);
    });
    panel.append(el("div", { className: "q-tools" }, flag));
    return panel;
  }

  function readValue(qid) {
    const panel = panels.get(qid);
    const type = panel.dataset.type;
    if (type === "MCQ") {
      const checked = panel.querySelector("input:checked");
      return checked ? checked.value : null;
    }
    if (type === "MCQ-multiple") {
      const values = [...panel.querySelectorAll("input:checked")].map((input) => input.value);
      return values.length ? values : null;
    }
    if (type === "Matching") {
      const values = [...panel.querySelectorAll("select")].map((select) => select.value || null);
      return values.some((value) => value !== null) ? values : null;
    }
    const field = panel.querySelector("textarea, input.numeric-answer");
    if (!field) return null;
    return field.value.trim() === "" ? null : field.value;
  }

  function writeValue(qid, value) {
    const panel = panels.get(qid);
    if (!panel) return;
    const type = panel.dataset.type;
    if (type === "MCQ" || type === "MCQ-multiple") {
      const chosen = new Set(
        Array.isArray(value) ? value : value === null || value === undefined ? [] : [value],
      );
      for (const input of panel.querySelectorAll("input")) input.checked = chosen.has(input.value);
    } else if (type === "Matching") {
      const given = Array.isArray(value) ? value : [];
      panel.querySelectorAll("select").forEach((select, i) => {
        select.value = given[i] ?? "";
      });
    } else {
      const field = panel.querySelector("textarea, input.numeric-answer");
      if (field) field.value = typeof value === "string" || typeof value === "number" ? String(value) : "";
    }
    refreshNav(qid);
  }

  function refreshNav(qid) {
    const button = navButtons.get(qid);
    const panel = panels.get(qid);
    const index = questions.findIndex((q) => q.id === qid);
    const answered = isAnswered(readValue(qid));
    const flagged = flags.has(qid);
    button.classList.toggle("answered", answered);
    button.classList.toggle("flagged", flagged);
    const states = [
      answered ? gettext("answered") : gettext("not answered"),
      flagged ? gettext("flagged for review") : null,
    ].filter(Boolean);
    button.setAttribute(
      "aria-label",
      interpolate(gettext("Question %(number)s, %(states)s"), { number: index + 1, states: states.join(", ") }, true),
    );
    const toggle = panel.querySelector(".flag-toggle");
    toggle.setAttribute("aria-pressed", String(flagged));
    toggle.lastChild.textContent = flagged ? gettext("Flagged for review") : gettext("Flag for review");
  }

  function show(index, { focus = false } = {}) {
    current = Math.max(0, Math.min(total - 1, index));
    questions.forEach((question, i) => {
      panels.get(question.id).hidden = i !== current;
      const button = navButtons.get(question.id);
      if (i === current) button.setAttribute("aria-current", "step");
      else button.removeAttribute("aria-current");
    });
    // Move focus to the question so screen readers read it; not on the first render.
    if (focus) panels.get(questions[current].id).focus();
    onShow(questions[current].id);
    return current;
  }

  function refreshAll() {
    for (const question of questions) refreshNav(question.id);
  }

  return {
    show,
    next: () => show(current + 1, { focus: true }),
    previous: () => show(current - 1, { focus: true }),
    currentIndex: () => current,
    currentId: () => questions[current].id,
    readValue,
    writeValue,
    refreshNav,
    refreshAll,
    disable() {
      for (const control of container.querySelectorAll("input, textarea, select, button")) control.disabled = true;
    },
  };
}
