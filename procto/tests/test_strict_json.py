"""The strict JSON every client message goes through (request bodies and socket text frames): what
no store of ours can hold is refused where it arrives, with where it is."""

from __future__ import annotations

import io
import json

import pytest
from rest_framework.exceptions import ParseError, ValidationError

from procto import strict_json
from procto.parsers import JSONParser


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_a_number_that_is_not_finite_is_refused_with_its_path(number):
    with pytest.raises(strict_json.UnstorableValue) as refused:
        strict_json.loads('{"answers": [{"timeSpent": 1}, {"score": NUMBER}]}'.replace("NUMBER", number))
    assert refused.value.path == "answers[1].score"
    assert "finite number" in refused.value.message


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"details": {"note": "a\\udc00b"}}', "details.note"),  # a lone low surrogate
        ('{"details": ["ok", "\\ud83d"]}', "details[1]"),  # a high one without its pair
        ('{"\\udc00": 1}', "\\udc00"),  # in a key: shown escaped, so the error can be sent
        ('{"raw": "\udc00"}', "raw"),  # not escaped: a str made in Python may hold one as is
    ],
)
def test_a_lone_surrogate_is_refused_in_values_and_keys(text, path):
    with pytest.raises(strict_json.UnstorableValue) as refused:
        strict_json.loads(text)
    assert refused.value.path == path
    assert "surrogate" in refused.value.message
    refused.value.message.encode("utf-8")  # the error itself is sendable text


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('{"a": [1, "x", {"b": [0.5, {"c": NaN}]}]}', "a[2].b[1].c"),
        ('[{"ok": "\\u00e9"}, {"deeper": {"\\u0000": 1}}]', "[1].deeper.\\u0000"),
        ("[" + "0, " * 100_000 + "1e400]", "[100000]"),  # one bad number among many
        ("NaN", ""),  # the document itself
    ],
)
def test_the_path_names_the_first_unstorable_value_wherever_it_is(text, path):
    with pytest.raises(strict_json.UnstorableValue) as refused:
        strict_json.loads(text)
    assert refused.value.path == path


def test_a_surrogate_pair_is_ordinary_text():
    assert strict_json.loads('{"emoji": "\\ud83d\\ude00", "accent": "\\u00e9t\\u00e9"}') == {
        "emoji": "\N{GRINNING FACE}",
        "accent": "été",
    }


def test_nul_is_refused_because_postgresql_cannot_store_it():
    with pytest.raises(strict_json.UnstorableValue) as refused:
        strict_json.loads('{"answer": "a\\u0000b"}')
    assert refused.value.path == "answer"


def test_nesting_up_to_the_limit_is_read_and_past_it_is_malformed():
    assert strict_json.loads(nested(strict_json.MAX_DEPTH)) is not None
    for levels in (strict_json.MAX_DEPTH + 1, 1000, 100_000):  # 1,000: past json's own recursion limit
        with pytest.raises(strict_json.MalformedJSON, match="nested more than 64 levels"):
            strict_json.loads(nested(levels))


def test_big_integers_are_left_to_the_fields_but_absurd_literals_are_malformed():
    assert strict_json.loads(str(2**63)) == 2**63  # the serializer's max_value says it is too big
    with pytest.raises(strict_json.MalformedJSON, match="too many digits"):
        strict_json.loads("9" * 5000)


def test_the_document_is_kept_for_callers_that_need_part_of_a_refused_message():
    with pytest.raises(strict_json.UnstorableValue) as refused:
        strict_json.loads('{"type": "event", "seq": 7, "event": {"details": {"x": NaN}}}')
    assert refused.value.document["seq"] == 7


# --- the API's parser --------------------------------------------------------------------------


def parse(body: str | bytes):
    raw = body.encode() if isinstance(body, str) else body
    return JSONParser().parse(io.BytesIO(raw), "application/json", {"encoding": "utf-8"})


def test_the_parser_reports_an_unstorable_value_as_a_field_error_where_it_is():
    with pytest.raises(ValidationError) as refused:
        parse('{"answers": [{"questionId": "1", "studentAnswer": "\\udc00"}]}')
    assert list(refused.value.detail) == ["answers"]
    assert "surrogate" in str(refused.value.detail["answers"]["0"]["studentAnswer"][0])
    with pytest.raises(ValidationError) as refused:
        parse('{"measurements": {"rttMs": 1e400}}')
    assert "finite number" in str(refused.value.detail["measurements"]["rttMs"][0])
    with pytest.raises(ValidationError) as refused:
        parse("NaN")
    assert list(refused.value.detail) == ["non_field_errors"]


@pytest.mark.parametrize("body", [nested(1000), '{"a": ' + nested(65) + "}", "{", b'{"a": "\xff"}'])
def test_the_parser_refuses_unreadable_bodies_as_malformed(body):
    with pytest.raises(ParseError):
        parse(body)


def test_the_parser_still_turns_camel_case_keys_to_snake_case_except_in_details():
    document = {"examId": 1, "details": {"durationMs": 2000}, "answers": [{"timeSpent": 2.5}]}
    assert parse(json.dumps(document)) == {
        "exam_id": 1,
        "details": {"durationMs": 2000},
        "answers": [{"time_spent": 2.5}],
    }
