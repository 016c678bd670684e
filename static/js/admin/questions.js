// The exam admin's question list (exams/admin.py QuestionInline): each question shows only the
// fields its type uses, and a choice question gets more choice boxes on demand. Without this
// script every field shows, and the server still ignores the ones the type does not use.

const FIELDS_BY_TYPE = {
  MCQ: ["choices"],
  "MCQ-multiple": ["choices"],
  Paragraph: [],
  Image: ["image"],
  Code: ["language"],
  Numeric: ["numeric_value", "numeric_tolerance"],
  Matching: ["pairs"],
  // An exam's bank draw: which bank, how many, which topic and difficulty; no text of its own.
  Draw: ["draw_from", "draw_count", "topic", "difficulty"],
};
const TYPED_FIELDS = ["choices", "pairs", "numeric_value", "numeric_tolerance", "image", "language"];
// In an exam's list, topic and difficulty filter a draw; in a bank's, they tag every question.
const DRAW_FIELDS = ["draw_from", "draw_count", "topic", "difficulty"];
const QUESTION_FIELDS = ["text", "points", "explanation"];

function typeSelectOf(question) {
  return question.querySelector("select[name$='-type']");
}

function showFieldsOf(question) {
  const select = typeSelectOf(question);
  if (!select) return;
  const wanted = new Set(FIELDS_BY_TYPE[select.value] || TYPED_FIELDS);
  const isDraw = select.value === "Draw";
  const typed = [...TYPED_FIELDS];
  if (question.querySelector(".field-draw_from")) {
    typed.push(...DRAW_FIELDS, ...QUESTION_FIELDS);
    if (!isDraw) QUESTION_FIELDS.forEach((name) => wanted.add(name));
  }
  for (const name of typed) {
    // A field alone has its own .form-row; two on one line (number and tolerance) share one.
    const box = question.querySelector(`.field-${name}`);
    const row = box && (box.closest(".form-row") || box);
    if (row) row.hidden = !wanted.has(name);
  }
  question.dataset.questionType = select.value;
}

function addChoiceRow(button) {
  const list = button.previousElementSibling;
  const rows = list.querySelectorAll(".choice-row");
  const row = rows[rows.length - 1].cloneNode(true);
  const box = row.querySelector("input[type=checkbox]");
  if (box) {
    box.checked = false;
    box.value = String(rows.length); // the index of the choice it ticks
  }
  for (const text of row.querySelectorAll("input[type=text]")) {
    text.value = "";
    text.setAttribute("aria-label", text.getAttribute("aria-label").replace(/\d+$/, String(rows.length + 1)));
  }
  list.append(row);
  row.querySelector("input[type=text]").focus();
}

function questionOf(node) {
  return node.closest(".inline-related");
}

document.addEventListener("change", (event) => {
  if (event.target.matches("select[name$='-type']")) showFieldsOf(questionOf(event.target));
});
document.addEventListener("click", (event) => {
  const button = event.target.closest(".add-choice-row");
  if (button) addChoiceRow(button);
});
// Django's inline script announces each question added with "Add another".
document.addEventListener("formset:added", (event) => showFieldsOf(event.target));
document.addEventListener("DOMContentLoaded", () => {
  for (const question of document.querySelectorAll(".inline-related")) showFieldsOf(question);
});
