"""Read question banks written in Moodle's GIFT and Aiken formats into dicts of Question fields.

Pure parsing: nothing here touches the database. Every problem in a file is reported with its line,
so a teacher fixes the whole file in one pass instead of one error per upload.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext

# Question.Type values, spelled out so this module needs no Django import.
MCQ, MCQ_MULTIPLE, PARAGRAPH = "MCQ", "MCQ-multiple", "Paragraph"
NUMERIC, MATCHING = "Numeric", "Matching"


@dataclass(frozen=True)
class ImportProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return gettext("line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


class ImportFailed(ValueError):
    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems = sorted(problems, key=lambda problem: problem.line)
        super().__init__("\n".join(map(str, self.problems)))


def parse_questions(text: str, fmt: str) -> list[dict]:
    """Parse `text` in format `fmt` ("gift" or "aiken"); raises ImportFailed listing every problem."""
    parsers: dict[str, Callable[[str], list[dict]]] = {"gift": parse_gift, "aiken": parse_aiken}
    if fmt not in parsers:
        raise ValueError(f"Unknown question format {fmt!r}; expected one of: {', '.join(sorted(parsers))}.")
    return parsers[fmt](text)


def _lines(text: str) -> list[str]:
    # Files come from any editor: a BOM or CR line endings must not shift the line numbers we report.
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _finish(questions: list[dict], problems: list[ImportProblem]) -> list[dict]:
    if not questions and not problems:
        problems.append(ImportProblem(1, gettext("The file has no questions.")))
    if problems:
        raise ImportFailed(problems)
    return questions


def _choice_question(type_: str, text: str, options: list[str], correct: str | list[str], notes: str) -> dict:
    return dict(
        type=type_, text=text, options=options, correct_answer=correct, points=Decimal(1), explanation=notes
    )


# --- GIFT -------------------------------------------------------------------------------------------

# Escaped characters become private-use code points, so the parser can split on the special
# characters freely; only the final texts get them back.
_HIDE = {char: chr(0xE000 + i) for i, char in enumerate("~=#{}:n\\")}
_REVEAL = str.maketrans({hidden: "\n" if char == "n" else char for char, hidden in _HIDE.items()})
_ESCAPE = re.compile(r"\\([~=#{}:n\\])")
_TITLE = re.compile(r"\s*::(.*?)::", re.DOTALL)
_FORMAT = re.compile(r"^\s*\[(?:moodle|html|plain|markdown)\]", re.IGNORECASE)
_TRUE_FALSE = re.compile(r"T|TRUE|F|FALSE", re.IGNORECASE)
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d*)?)%")


def _clean(raw: str) -> str:
    return _FORMAT.sub("", raw, count=1).translate(_REVEAL).strip()


@dataclass
class _Block:
    """One question's lines joined, escapes hidden, remembering each line's number in the file."""

    text: str
    numbers: list[int]
    problems: list[ImportProblem]

    def line_at(self, pos: int) -> int:
        return self.numbers[self.text.count("\n", 0, pos)]

    def report(self, pos: int, message: str) -> None:
        self.problems.append(ImportProblem(self.line_at(pos), message))


@dataclass(frozen=True)
class _Choice:
    marker: str
    text: str
    weight: float
    feedback: str
    pos: int


def parse_gift(text: str) -> list[dict]:
    """Parse a GIFT file; raises ImportFailed listing every problem with its line, one entry per
    question (a question with several problems gets them in one message)."""
    problems: list[ImportProblem] = []
    questions, number = [], 0
    for block in _gift_blocks(_lines(text), problems):
        number += not block.text.lstrip().startswith("$CATEGORY:")
        before = len(problems)
        question = _gift_question(block)
        if len(problems) > before:
            problems[before:] = [_one_per_question(problems[before:], number, block)]
        elif question:
            questions.append(question)
    return _finish(questions, problems)


def _one_per_question(found: list[ImportProblem], number: int, block: _Block) -> ImportProblem:
    first_words = _clean(_TITLE.sub("", block.text, count=1).split("{", 1)[0]).split("\n", 1)[0]
    if len(first_words) > 40:
        first_words = first_words[:40].rstrip() + "…"
    named = {"number": number, "words": first_words}
    named = (
        gettext("question %(number)s (“%(words)s”)") % named
        if first_words
        else gettext("question %(number)s") % named
    )
    messages = list(dict.fromkeys(problem.message for problem in found))
    return ImportProblem(found[0].line, f"{named}: {' '.join(messages)}")


def _gift_blocks(lines: list[str], problems: list[ImportProblem]) -> Iterator[_Block]:
    """Questions are separated by blank lines; a question whose answer block closes at the end
    of a line also ends there, so a file without blank lines between questions still reads."""
    numbered: list[tuple[int, str]] = []
    depth, closed = 0, False

    def block() -> _Block:
        text = "\n".join(line for _, line in numbered)
        hidden = _ESCAPE.sub(lambda match: _HIDE[match[1]], text)
        return _Block(hidden, [number for number, _ in numbered], problems)

    for number, line in enumerate([*lines, ""], start=1):
        if not line.strip():
            if numbered:
                yield block()
            numbered, depth, closed = [], 0, False
            continue
        if line.lstrip().startswith("//"):
            continue
        if line.lstrip().startswith("$CATEGORY:") and numbered:
            yield block()
            numbered, depth, closed = [], 0, False
        numbered.append((number, line))
        visible = _ESCAPE.sub("", line)
        for char in visible:
            if char == "{":
                depth += 1
            elif char == "}" and depth:
                depth, closed = depth - 1, True
        ends_here = visible.rstrip().endswith("}") or visible.lstrip().startswith("$CATEGORY:")
        if depth == 0 and (closed or visible.lstrip().startswith("$CATEGORY:")) and ends_here:
            yield block()
            numbered, depth, closed = [], 0, False


def _gift_question(block: _Block) -> dict | None:
    if block.text.lstrip().startswith("$CATEGORY:"):
        return None  # Procto has no question categories; the questions that follow still import.
    start = _after_title(block)
    braces = None if start is None else _answer_braces(block, start)
    if start is None or braces is None:
        return None
    open_, close = braces
    if block.text[close + 1 :].strip():
        block.report(
            open_, gettext("Missing-word questions (text after the answer block) are not supported.")
        )
        return None
    stem = _clean(block.text[start:open_])
    if not stem:
        block.report(start, gettext("Question has no text before its answer block."))
    answers = _gift_answers(block, open_ + 1, block.text[open_ + 1 : close])
    return answers and {**answers, "text": stem}


def _after_title(block: _Block) -> int | None:
    # The title only names the question in Moodle's bank; Procto's questions have no name, so it is dropped.
    if not block.text.lstrip().startswith("::"):
        return 0
    match = _TITLE.match(block.text)
    if match is None:
        block.report(0, gettext("The title opened with :: is never closed with ::."))
        return None
    return match.end()


def _answer_braces(block: _Block, start: int) -> tuple[int, int] | None:
    spans: list[tuple[int, int]] = []
    open_: int | None = None
    for pos, char in enumerate(block.text[start:], start=start):
        if char == "{":
            if open_ is not None:
                return block.report(
                    pos, gettext("A '{' inside an answer block; write \\{ for a literal brace.")
                )
            open_ = pos
        elif char == "}":
            if open_ is None:
                return block.report(
                    pos, gettext("A '}' without a matching '{'; write \\} for a literal brace.")
                )
            spans.append((open_, pos))
            open_ = None
    if open_ is not None:
        return block.report(open_, gettext("This '{' is never closed with '}'."))
    if not spans:
        return block.report(
            start, gettext("No answer block {…}; descriptions without answers are not supported.")
        )
    if len(spans) > 1:
        return block.report(spans[1][0], gettext("Only one answer block {…} per question is supported."))
    return spans[0]


def _gift_answers(block: _Block, offset: int, body: str) -> dict | None:
    body, _, general = body.partition("####")
    explanation, kind = _clean(general), body.strip()
    if not kind:
        return {"type": PARAGRAPH, "points": Decimal(1), "explanation": explanation}
    if kind.startswith("#"):
        return _gift_numeric(block, offset, body.strip()[1:], explanation)
    if "~" not in kind and "=" in kind:
        if "->" in kind:
            return _gift_matching(block, offset, body, explanation)
        return block.report(
            offset - 1, gettext("Short-answer questions (only =) are not supported by Procto.")
        )
    if "~" in kind:
        return _gift_choices(block, offset, body, explanation)
    answer, *feedback = kind.split("#")
    if _TRUE_FALSE.fullmatch(answer.strip()):
        return _gift_true_false(answer.strip(), feedback, explanation)
    return block.report(
        offset - 1, gettext("Answers not understood: start each choice with = (right) or ~ (wrong).")
    )


_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_NUMERIC_ANSWER = re.compile(
    rf"\s*=?\s*(?P<value>{_NUMBER})\s*(?::\s*(?P<tolerance>{_NUMBER})|\.\.\s*(?P<high>{_NUMBER}))?\s*"
)


def _gift_numeric(block: _Block, offset: int, body: str, explanation: str) -> dict | None:
    """{#3.14:0.01} (value and tolerance), {#3.14} (exact) or {#1..5} (a range)."""
    answer, _, feedback = body.partition("#")
    if answer.count("=") > 1 or "%" in answer or "~" in answer:
        message = gettext(
            "Numeric questions take one answer, {#value:tolerance}; "
            "several answers or weights are not supported."
        )
        return block.report(offset - 1, message)
    match = _NUMERIC_ANSWER.fullmatch(answer)
    if match is None:
        return block.report(
            offset - 1, gettext("A numeric answer must look like {#3.14:0.01}, {#3.14} or {#1..5}.")
        )
    value, tolerance = Decimal(match["value"]), Decimal(match["tolerance"] or 0)
    if match["high"] is not None:
        low, high = sorted([value, Decimal(match["high"])])
        value, tolerance = (low + high) / 2, (high - low) / 2
    if tolerance < 0:
        return block.report(offset - 1, gettext("The tolerance of a numeric answer cannot be negative."))
    notes = "\n".join(note for note in (explanation, _clean(feedback)) if note)
    key = {"value": _json_number(value), "tolerance": _json_number(tolerance)}
    return {"type": NUMERIC, "options": [], "correct_answer": key, "points": Decimal(1), "explanation": notes}


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _gift_matching(block: _Block, offset: int, body: str, explanation: str) -> dict | None:
    """{=prompt -> match =prompt -> match ...}: at least two pairs."""
    marks = [match.start() for match in re.finditer("=", body)]
    if body[: marks[0]].strip():
        return block.report(offset, gettext("Text before the first pair; start each pair with =."))
    prompts, matches = [], []
    for start, end in zip(marks, [*marks[1:], len(body)], strict=True):
        prompt, arrow, match = body[start + 1 : end].partition("->")
        prompt, match = _clean(prompt), _clean(match)
        if not arrow or not match:
            return block.report(offset + start, gettext("Each pair is written = prompt -> match."))
        if not prompt:
            return block.report(
                offset + start, gettext("A match without a prompt (a distractor) is not supported.")
            )
        if prompt in prompts:
            return block.report(
                offset + start, gettext("The prompt %(prompt)s appears twice.") % {"prompt": repr(prompt)}
            )
        prompts.append(prompt)
        matches.append(match)
    if len(prompts) < 2:
        return block.report(offset - 1, gettext("A matching question needs at least two pairs."))
    return {
        "type": MATCHING,
        "options": prompts,
        "correct_answer": matches,
        "points": Decimal(1),
        "explanation": explanation,
    }


def _gift_true_false(answer: str, feedback: list[str], explanation: str) -> dict:
    correct, wrong = ("True", "False") if answer.upper().startswith("T") else ("False", "True")
    # GIFT gives the feedback for a wrong answer first, then the one for the right answer.
    wrong_note, right_note = ([_clean(note) for note in feedback] + ["", ""])[:2]
    notes = _explanation(explanation, [(correct, right_note), (wrong, wrong_note)])
    return _choice_question(MCQ, "", ["True", "False"], correct, notes)


def _gift_choices(block: _Block, offset: int, body: str, explanation: str) -> dict | None:
    choices = _split_choices(block, offset, body)
    if choices is None:
        return None
    seen: set[str] = set()
    for choice in choices:
        if choice.text in seen:
            block.report(
                choice.pos, gettext("The choice %(choice)s appears twice.") % {"choice": repr(choice.text)}
            )
        seen.add(choice.text)
    if len(choices) < 2:
        block.report(offset - 1, gettext("A choice question needs at least two choices."))
    right = [choice for choice in choices if choice.marker == "="]
    if right:
        correct: str | list[str] = _single_answer(block, choices, right)
    else:
        correct = [choice.text for choice in choices if choice.weight > 0]
        if not correct:
            block.report(offset - 1, gettext("Question has no correct answer (mark one choice with =)."))
    notes = _explanation(explanation, [(choice.text, choice.feedback) for choice in choices])
    options = [choice.text for choice in choices]
    return _choice_question(MCQ if right else MCQ_MULTIPLE, "", options, correct, notes)


def _single_answer(block: _Block, choices: list[_Choice], right: list[_Choice]) -> str:
    if len(right) > 1:
        block.report(right[1].pos, gettext("Only one choice may be marked =; for several use ~%50% weights."))
    partial = [choice for choice in choices if choice.marker == "~" and choice.weight > 0]
    if partial:
        block.report(
            partial[0].pos, gettext("Partial credit on a ~ choice is not supported next to an = answer.")
        )
    return right[0].text


def _split_choices(block: _Block, offset: int, body: str) -> list[_Choice] | None:
    marks = [match.start() for match in re.finditer(r"[=~]", body)]
    if body[: marks[0]].strip():
        block.report(offset, gettext("Text before the first choice; start each choice with = or ~."))
    spans = zip(marks, [*marks[1:], len(body)], strict=True)
    choices = [_choice(block, offset + start, body[start], body[start + 1 : end]) for start, end in spans]
    parsed = [choice for choice in choices if choice is not None]
    return parsed if len(parsed) == len(choices) else None


def _choice(block: _Block, pos: int, marker: str, raw: str) -> _Choice | None:
    raw, _, feedback = raw.partition("#")
    raw, weight = raw.strip(), 0.0
    if raw.startswith("%"):
        match = _WEIGHT.match(raw)
        if match is None:
            return block.report(pos, gettext("A weight must look like %50% or %-100%."))
        raw, weight = raw[match.end() :], float(match[1])
    text = _clean(raw)
    if not text:
        return block.report(pos, gettext("This choice is empty."))
    return _Choice(marker, text, weight, _clean(feedback), pos)


def _explanation(general: str, notes: list[tuple[str, str]]) -> str:
    # Procto has no per-choice feedback; keeping each note in the explanation loses nothing.
    lines = [general, *(f"{option}: {note}" for option, note in notes if note)]
    return "\n".join(line for line in lines if line)


# --- Aiken ------------------------------------------------------------------------------------------

_AIKEN_CHOICE = re.compile(r"([A-Z])[.)](?:\s+(.*))?")
# Moodle only knows the upper-case keyword; "Answer: ..." may well begin a question.
_AIKEN_ANSWER = re.compile(r"ANSWER\s*:\s*(.*)")


@dataclass
class _AikenDraft:
    line: int
    text: list[str]
    choices: dict[str, str] = field(default_factory=dict)


@dataclass
class _AikenReader:
    problems: list[ImportProblem] = field(default_factory=list)
    questions: list[dict] = field(default_factory=list)
    draft: _AikenDraft | None = None

    def report(self, line: int, message: str) -> None:
        self.problems.append(ImportProblem(line, message))

    def feed(self, number: int, line: str) -> None:
        if not line:
            self.end_without_answer()
        elif answer := _AIKEN_ANSWER.fullmatch(line):
            self.answer(number, answer[1].strip())
        elif choice := _AIKEN_CHOICE.fullmatch(line):
            self.choice(number, choice[1], (choice[2] or "").strip())
        elif self.draft is None:
            self.draft = _AikenDraft(number, [line])
        elif self.draft.choices:
            self.report(
                number, gettext("Text after the choices; expected another choice or ANSWER: <letter>.")
            )
        else:
            self.draft.text.append(line)

    def end_without_answer(self) -> None:
        # A draft without text was born from a stray choice line, which is already reported.
        if self.draft and self.draft.text:
            self.report(self.draft.line, gettext("Question has no ANSWER line (e.g. ANSWER: B)."))
        self.draft = None

    def choice(self, number: int, letter: str, text: str) -> None:
        if self.draft is None:
            self.report(number, gettext("A choice line before any question text."))
            self.draft = _AikenDraft(number, [])
        if letter in self.draft.choices:
            self.report(number, gettext("The choice letter %(letter)s is used twice.") % {"letter": letter})
        elif not text:
            self.report(number, gettext("The choice %(letter)s is empty.") % {"letter": letter})
        elif text in self.draft.choices.values():
            self.report(number, gettext("The choice %(choice)s appears twice.") % {"choice": repr(text)})
        self.draft.choices.setdefault(letter, text)

    def answer(self, number: int, letter: str) -> None:
        draft, self.draft = self.draft, None
        if draft is None:
            return self.report(number, gettext("An ANSWER line without a question before it."))
        if not draft.text:
            return None
        if len(draft.choices) < 2:
            return self.report(draft.line, gettext("Question needs at least two choices (A. … B. …)."))
        if letter.upper() not in draft.choices:
            letters = ", ".join(draft.choices) or "none"
            return self.report(
                number,
                gettext("ANSWER %(letter)s is not one of the choice letters (%(letters)s).")
                % {"letter": repr(letter), "letters": letters},
            )
        text, options = "\n".join(draft.text), list(draft.choices.values())
        self.questions.append(_choice_question(MCQ, text, options, draft.choices[letter.upper()], ""))


def parse_aiken(text: str) -> list[dict]:
    """Parse an Aiken file (one-answer multiple choice only); raises ImportFailed listing every problem."""
    reader = _AikenReader()
    for number, line in enumerate(_lines(text), start=1):
        reader.feed(number, line.strip())
    reader.end_without_answer()
    return _finish(reader.questions, reader.problems)
