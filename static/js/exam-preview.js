// The exam page in preview mode (templates/exams/preview.html): the questions as the exam page
// builds them (./exam/questions.js), answerable, with nothing sent anywhere.

import { createQuestionView, isAnswered } from "./exam/questions.js";

const $ = (id) => document.getElementById(id);
const { questions, fullscreenRequired } = JSON.parse($("preview-bootstrap").textContent);
const flags = new Set();

function updateCounts() {
  const answered = questions.filter((q) => isAnswered(view.readValue(q.id))).length;
  const total = questions.length;
  $("question-count").textContent = [
    interpolate(ngettext("%s question", "%s questions", total), [total]),
    interpolate(gettext("%s answered"), [answered]),
  ].join(" · ");
}

const view = createQuestionView({
  container: $("questions"),
  navList: $("navigator"),
  questions,
  flags,
  fullscreenRequired,
  // Preview: the answer only updates the navigator; nothing is saved.
  onAnswer: (questionId) => {
    view.refreshNav(questionId);
    updateCounts();
  },
  onShow: () => {
    const index = view ? view.currentIndex() : 0;
    $("prev-question").disabled = index === 0;
    $("next-question").disabled = index === questions.length - 1;
  },
  onFlag: (questionId, on) => {
    if (on) flags.add(questionId);
    else flags.delete(questionId);
    view.refreshNav(questionId);
  },
});
$("prev-question").addEventListener("click", () => view.previous());
$("next-question").addEventListener("click", () => view.next());
view.refreshAll();
if (questions.length) view.show(0);
updateCounts();
