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
from collections.abc import Callable
from itertools import chain
from typing import Any, NoReturn

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


def loads(text: str) -> Any:
    """The JSON document `text`, if every value in it can be stored; raises RejectedJSON if not."""
    try:
        document = json.loads(text)
    except RecursionError as exc:
        raise MalformedJSON(f"JSON nested more than {MAX_DEPTH} levels deep") from exc
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"not valid JSON: {exc}") from exc
    except ValueError as exc:  # an integer of more than 4,300 digits (sys.get_int_max_str_digits)
        raise MalformedJSON("not valid JSON: a number has too many digits") from exc
    _check(document)
    return document


NOT_FINITE = "Must be a finite number (not NaN, Infinity or beyond 1.8e308)."
NUL = "Must not contain NUL characters (\\u0000)."
SURROGATE = "Must be Unicode text, without lone UTF-16 surrogates (\\ud800-\\udfff)."


def _check(document: Any) -> None:
    """Breadth first, one level of the document at a time, each in bulk: loops in C over what may
    be millions of values, not a Python step for each. Only an error goes back for its path."""
    values = [document]
    for depth in range(MAX_DEPTH + 1):
        kinds = set(map(type, values))
        if float in kinds and not all(map(math.isfinite, filter(float.__instancecheck__, values))):
            _refuse(document, depth, lambda v: type(v) is float and not math.isfinite(v))
        dicts = list(filter(dict.__instancecheck__, values)) if dict in kinds else []
        strings = filter(str.__instancecheck__, values) if str in kinds else ()
        if _bad_text("".join(chain(strings, chain.from_iterable(dicts)))):  # the dicts' keys too
            _refuse(document, depth, lambda v: type(v) is str and _bad_text(v))
        lists = list(filter(list.__instancecheck__, values)) if list in kinds else []
        if not dicts and not lists:
            return
        values = list(chain(chain.from_iterable(map(dict.values, dicts)), chain.from_iterable(lists)))
    raise MalformedJSON(f"JSON nested more than {MAX_DEPTH} levels deep")


def _refuse(document: Any, depth: int, bad: Callable[[Any], bool]) -> NoReturn:
    path, value = _find(document, (), depth + 1, bad)  # + 1: a dict's keys are found with its items
    problem = NOT_FINITE if type(value) is float else NUL if "\x00" in value else SURROGATE
    raise UnstorableValue(path, problem, document)


def _find(value: Any, path: Path, levels: int, bad: Callable[[Any], bool]) -> tuple[Path, Any] | None:
    """The path to the first value or key that is `bad`, at most `levels` below `value`."""
    if bad(value):
        return path, value
    if levels and type(value) in (dict, list):
        for key, item in value.items() if type(value) is dict else enumerate(value):
            found = (((*path, key), key) if bad(key) else None) or _find(item, (*path, key), levels - 1, bad)
            if found:
                return found
    return None


def _bad_text(text: str) -> bool:
    return "\x00" in text or not (text.isascii() or _is_unicode(text))


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped(text: str) -> str:
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def _path_text(parts: Path) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
