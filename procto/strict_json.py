"""Strict JSON for everything a client sends: request bodies (procto.parsers) and the text frames of
every WebSocket (sessions.consumers, proctoring.consumers).

Python's json module reads more than our stores and responses can hold, and each excess used to
fail later, as a 500 or a consumer crashed with close code 1011:

- NaN, Infinity, -Infinity and numbers past a double's range (1e400 reads as infinity): neither
  PostgreSQL's jsonb nor SQLite's JSON_VALID check accepts them;
- a lone UTF-16 surrogate ("\\udc00"): valid JSON syntax, but not Unicode text. PostgreSQL refuses
  the write; SQLite stores it, and every page or export that shows it fails to encode it as UTF-8;
- NUL ("\\u0000"): PostgreSQL stores no NUL, in jsonb or in text;
- nesting deep enough to exhaust the recursion limit: json itself at about 1,000 levels, and every
  recursive walk after it (camelCase keys, serializers, database adapters) sooner.

A document that cannot be read (syntax, nesting) is `MalformedJSON`; a readable one carrying such a
value is `UnstorableValue`, which names where it is, so the client knows what to fix.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Our own documents nest 4 or 5 levels (an exam's questions, an event's details); a browser's
# `details` a few more. Past this a document is not one of ours.
MAX_DEPTH = 64

Path = tuple[str | int, ...]


class RejectedJSON(ValueError):
    """A client's JSON that is neither stored nor acted on; `message` says why, for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedJSON(RejectedJSON):
    """Not JSON this server reads: a syntax error, or nesting deeper than MAX_DEPTH."""


class UnstorableValue(RejectedJSON):
    """Well-formed JSON with a value that cannot be stored. `path` names it, as the client wrote it
    (`answers[0].studentAnswer`, "" for the document itself); `problem` says what is wrong with it;
    `document` is what was read, for a caller that still needs part of it (a message's number)."""

    def __init__(self, path: Path, problem: str, document: Any) -> None:
        # The key itself may be the bad text: shown escaped, so that the error can be sent.
        self.parts = tuple(part if isinstance(part, int) else _escaped(part) for part in path)
        self.path = _path_text(self.parts)
        self.problem = problem
        self.document = document
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


def loads(text: str | bytes) -> Any:
    """The JSON document `text`, if every value in it can be stored; raises RejectedJSON if not."""
    try:
        document = json.loads(text)
    except RecursionError as exc:
        raise MalformedJSON(f"JSON nested more than {MAX_DEPTH} levels deep") from exc
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"not valid JSON: {exc}") from exc
    except ValueError as exc:  # an integer of more than 4,300 digits (sys.get_int_max_str_digits)
        raise MalformedJSON("not valid JSON: a number has too many digits") from exc
    _check(document, (), 1, document)
    return document


def _check(value: Any, path: Path, depth: int, document: Any) -> None:
    # Recursive, but never deeper than MAX_DEPTH frames: the depth is checked before going down.
    if isinstance(value, str):
        _check_text(value, path, document)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise UnstorableValue(
                path, "Must be a finite number (not NaN, Infinity or beyond 1.8e308).", document
            )
    elif isinstance(value, (dict, list)):
        if depth > MAX_DEPTH:
            raise MalformedJSON(f"JSON nested more than {MAX_DEPTH} levels deep")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                _check_text(key, (*path, key), document)
            # Numbers, booleans and null need no look, nor a path of their own.
            if isinstance(item, (str, float, dict, list)):
                _check(item, (*path, key), depth + 1, document)


def _check_text(text: str, path: Path, document: Any) -> None:
    if "\x00" in text:
        raise UnstorableValue(path, "Must not contain NUL characters (\\u0000).", document)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UnstorableValue(
                path, "Must be Unicode text, without lone UTF-16 surrogates (\\ud800-\\udfff).", document
            ) from exc


def _escaped(text: str) -> str:
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def _path_text(parts: Path) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
