from decimal import Decimal

import pytest

from exams.importers import ImportFailed, ImportProblem, parse_aiken, parse_gift, parse_questions
from exams.models import Question

GIFT_BANK = r"""// Networking basics, spring term.
// Lines starting with // are comments.

::Capital::What is the capital of France? {
  =Paris # Right, since 987.
  ~London # That is the UK.
  ~Berlin
}

::Primes::[markdown]Which of these numbers are **prime**? {
  ~%50%2
  ~%50%3
  ~%-100%4
  ####2 and 3 are divisible only by 1 and themselves.
}

The sun rises in the east.{T}

// An escaped brace, equals sign, tilde and colon stay in the text.
::Escapes::Which line sets \{x\} to 1 in Python\: this one? {=x \= 1 ~x \=\= 1 ~x \~ 1}

::Essay::Explain TCP's three-way handshake.{
####Look for SYN, SYN-ACK and ACK in order.}

Water boils at 50°C at sea level.{FALSE#No: it boils at 100°C.#Right.}
"""

AIKEN_BANK = """What does HTTP stand for?
A. HyperText Transfer Protocol
B. High Transfer Text Protocol
C. Hyperlink Text Transport Protocol
ANSWER: A

Which port does HTTPS use by default?
A) 21
B) 80
C) 443
D) 8080
ANSWER: C
"""


def problems_of(parse, text: str) -> list[ImportProblem]:
    with pytest.raises(ImportFailed) as excinfo:
        parse(text)
    return excinfo.value.problems


def lines_of(parse, text: str) -> list[int]:
    return [problem.line for problem in problems_of(parse, text)]


def assert_valid_questions(questions: list[dict]) -> None:
    # clean() checks only the question's own fields, so no exam and no database are needed.
    for fields in questions:
        Question(**fields).clean()


def test_a_realistic_gift_bank_becomes_valid_questions():
    questions = parse_gift(GIFT_BANK)

    assert_valid_questions(questions)
    assert questions == [
        {
            "type": "MCQ",
            "text": "What is the capital of France?",
            "options": ["Paris", "London", "Berlin"],
            "correct_answer": "Paris",
            "points": Decimal(1),
            "explanation": "Paris: Right, since 987.\nLondon: That is the UK.",
        },
        {
            "type": "MCQ-multiple",
            "text": "Which of these numbers are **prime**?",
            "options": ["2", "3", "4"],
            "correct_answer": ["2", "3"],
            "points": Decimal(1),
            "explanation": "2 and 3 are divisible only by 1 and themselves.",
        },
        {
            "type": "MCQ",
            "text": "The sun rises in the east.",
            "options": ["True", "False"],
            "correct_answer": "True",
            "points": Decimal(1),
            "explanation": "",
        },
        {
            "type": "MCQ",
            "text": "Which line sets {x} to 1 in Python: this one?",
            "options": ["x = 1", "x == 1", "x ~ 1"],
            "correct_answer": "x = 1",
            "points": Decimal(1),
            "explanation": "",
        },
        {
            "type": "Paragraph",
            "text": "Explain TCP's three-way handshake.",
            "points": Decimal(1),
            "explanation": "Look for SYN, SYN-ACK and ACK in order.",
        },
        {
            "type": "MCQ",
            "text": "Water boils at 50°C at sea level.",
            "options": ["True", "False"],
            "correct_answer": "False",
            "points": Decimal(1),
            "explanation": "False: Right.\nTrue: No: it boils at 100°C.",
        },
    ]


def test_gift_category_lines_are_skipped():
    questions = parse_gift("$CATEGORY: $course$/Networking\n\nPick one {=a ~b}\n")

    assert [question["text"] for question in questions] == ["Pick one"]


def test_gift_multi_line_text_and_escaped_newlines_are_kept():
    [question] = parse_gift("First line,\nsecond line\\nthird line {=a ~b}")

    assert question["text"] == "First line,\nsecond line\nthird line"


def test_gift_format_prefix_is_stripped_only_at_the_start():
    [question] = parse_gift("[html]Is <b>[plain]</b> a tag?{F}")

    assert question["text"] == "Is <b>[plain]</b> a tag?"


def test_a_realistic_aiken_bank_becomes_valid_questions():
    questions = parse_aiken(AIKEN_BANK)

    assert_valid_questions(questions)
    assert questions == [
        {
            "type": "MCQ",
            "text": "What does HTTP stand for?",
            "options": [
                "HyperText Transfer Protocol",
                "High Transfer Text Protocol",
                "Hyperlink Text Transport Protocol",
            ],
            "correct_answer": "HyperText Transfer Protocol",
            "points": Decimal(1),
            "explanation": "",
        },
        {
            "type": "MCQ",
            "text": "Which port does HTTPS use by default?",
            "options": ["21", "80", "443", "8080"],
            "correct_answer": "443",
            "points": Decimal(1),
            "explanation": "",
        },
    ]


def test_aiken_questions_need_no_blank_line_after_the_answer():
    questions = parse_aiken("One?\nA. x\nB. y\nANSWER: B\nTwo?\nA. x\nB. y\nANSWER: A\n")

    assert [question["correct_answer"] for question in questions] == ["y", "x"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("// Intro\n\nPick one {\n~a\n~b\n}", 3, "no correct answer"),
        ("Pick one {=a ~b\n~c", 1, "never closed"),
        ("Pick one\n=a ~b}", 2, "without a matching '{'"),
        ("Pick {one {=a ~b}}", 1, "inside an answer block"),
        ("Pick one {\n=a\n~b\n~a\n}", 4, "'a' appears twice"),
        ("Pick one {\n// a comment inside the question\n=a\n~b\n~a\n}", 5, "'a' appears twice"),
        ("Pick one {\n=a\n=b\n~c\n}", 3, "Only one choice may be marked ="),
        ("Pick one {=a ~%50%b ~c}", 1, "Partial credit"),
        ("Pick one {=a ~}", 1, "choice is empty"),
        ("Pick one {=a ~%half%b}", 1, "weight must look like"),
        ("Pick one {~%100%a}", 1, "at least two choices"),
        ("Just a description.", 1, "No answer block"),
        ("::Untitled\nPick one {=a ~b}", 1, "title"),
        ("\n\n{=a ~b}", 3, "no text"),
        ("Pick one {=a ~b} {=c ~d}", 1, "Only one answer block"),
        ("Pick one {maybe}", 1, "not understood"),
    ],
)
def test_gift_problems_name_their_line(text, line, words):
    [problem] = problems_of(parse_gift, text)

    assert problem.line == line
    assert words in problem.message


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("What is the capital of France? {=Paris =paris}", "Short-answer"),
        ("Two plus two is {=four}.", "Missing-word"),
        ("Moodle costs {~lots =nothing} to download.", "Missing-word"),
    ],
)
def test_unsupported_gift_types_are_named_with_their_line(text, kind):
    text = "// Header comment\n\nPick one {=a ~b}\n\n" + text

    [problem] = problems_of(parse_gift, text)

    assert problem.line == 5
    assert problem.message.startswith("question 2 (")  # the question's number and first words
    assert f"): {kind}" in problem.message
    assert "not supported" in problem.message


def test_a_gift_file_with_several_problems_reports_all_of_them():
    text = "\n".join(
        [
            "Fine {=a ~b}",  # 1
            "",
            "No answer {~a ~b}",  # 3
            "",
            "Numerical {#=2 =3}",  # 5
            "",
            "Unclosed {=a ~b",  # 7
            "",
            "Also fine {T}",  # 9
            "",
            "Duplicate {=a ~b ~b}",  # 11
        ]
    )

    assert lines_of(parse_gift, text) == [3, 5, 7, 11]


@pytest.mark.parametrize(
    ("text", "lines", "words"),
    [
        ("Q?\nA. x\nB. y", [1], "no ANSWER line"),
        ("Q?\nA. x\nB. y\n\nNext?\nA. x\nB. y\nANSWER: A", [1], "no ANSWER line"),
        ("Q?\nA. x\nB. y\nANSWER: C", [4], "'C' is not one of the choice letters (A, B)"),
        ("Q?\nA. x\nANSWER: A", [1], "at least two choices"),
        ("Q?\nA. x\nA. y\nB. z\nANSWER: B", [3], "letter A is used twice"),
        ("Q?\nA. x\nB. x\nANSWER: A", [3], "'x' appears twice"),
        ("Q?\nA.\nB. y\nANSWER: B", [2], "choice A is empty"),
        ("A. x\nB. y\nANSWER: A", [1], "before any question text"),
        ("Q?\nA. x\nB. y\nANSWER: A\n\nANSWER: B", [6], "without a question"),
        ("Q?\nA. x\nsomething else\nB. y\nANSWER: A", [3], "Text after the choices"),
    ],
)
def test_aiken_problems_name_their_line(text, lines, words):
    problems = problems_of(parse_aiken, text)

    assert [problem.line for problem in problems] == lines
    assert words in problems[0].message


def test_an_aiken_file_with_several_problems_reports_all_of_them():
    text = "One?\nA. x\nB. y\nANSWER: Z\n\nTwo?\nA. x\n\nThree?\nA. x\nB. y\nANSWER: B\n\nA. stray\n"

    assert lines_of(parse_aiken, text) == [4, 6, 14]


def test_the_exception_lists_every_problem_by_line():
    with pytest.raises(ImportFailed) as excinfo:
        parse_gift("Bad {~a ~b}\n\nWorse {#one}")

    assert str(excinfo.value) == (
        "line 1: question 1 (“Bad”): Question has no correct answer (mark one choice with =).\n"
        "line 3: question 2 (“Worse”): A numeric answer must look like {#3.14:0.01}, {#3.14} or {#1..5}."
    )


@pytest.mark.parametrize(
    ("parse", "text"),
    [(parse_gift, ""), (parse_gift, "\n\n// only a comment\n"), (parse_aiken, ""), (parse_aiken, "\n\n")],
)
def test_a_file_without_questions_is_a_problem(parse, text):
    [problem] = problems_of(parse, text)

    assert (problem.line, problem.message) == (1, "The file has no questions.")


def test_windows_line_endings_and_a_bom_are_accepted():
    gift = "\ufeff" + GIFT_BANK.replace("\n", "\r\n")
    aiken = "\ufeff" + AIKEN_BANK.replace("\n", "\r\n")

    assert parse_gift(gift) == parse_gift(GIFT_BANK)
    assert parse_aiken(aiken) == parse_aiken(AIKEN_BANK)


def test_line_numbers_survive_windows_line_endings():
    assert lines_of(parse_gift, "\ufeffFine {=a ~b}\r\n\r\nBad {~a ~b}\r\n") == [3]
    assert lines_of(parse_aiken, "\ufeffQ?\r\nA. x\r\nB. y\r\nANSWER: D\r\n") == [4]


def test_parse_questions_picks_the_parser_by_format():
    assert parse_questions(AIKEN_BANK, "aiken") == parse_aiken(AIKEN_BANK)
    assert parse_questions(GIFT_BANK, "gift") == parse_gift(GIFT_BANK)


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="Unknown question format 'qti'"):
        parse_questions(AIKEN_BANK, "qti")


@pytest.mark.parametrize(
    ("answer", "key"),
    [
        ("{#3.14:0.01}", {"value": 3.14, "tolerance": 0.01}),
        ("{#42}", {"value": 42, "tolerance": 0}),
        ("{#=2.5:0.5#Half of five}", {"value": 2.5, "tolerance": 0.5}),
        ("{#1..5}", {"value": 3, "tolerance": 2}),
        ("{#-1e3:10}", {"value": -1000, "tolerance": 10}),
    ],
)
def test_gift_numeric_questions_import_with_their_tolerance(answer, key):
    [question] = parse_gift(f"Give the number. {answer}")

    assert (question["type"], question["options"], question["correct_answer"]) == ("Numeric", [], key)


def test_gift_matching_questions_import_their_pairs_in_order():
    [question] = parse_gift("Match the sounds. {\n=cat -> meow\n=dog -> woof\n=cow -> moo\n}")

    assert question["type"] == "Matching"
    assert question["options"] == ["cat", "dog", "cow"]
    assert question["correct_answer"] == ["meow", "woof", "moo"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Match {=a -> b}", "at least two pairs"),
        ("Match {=a -> b =c}", "= prompt -> match"),
        ("Match {=a -> b = -> extra}", "distractor"),
        ("Pi {#=3.14:0.01 =3.1:0.1}", "one answer"),
        ("Pi {#3.14:x}", "{#3.14:0.01}"),
    ],
)
def test_malformed_numeric_and_matching_answers_are_named(text, words):
    [problem] = problems_of(parse_gift, text)

    assert problem.line == 1 and words in problem.message
