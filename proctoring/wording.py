"""How a session's record reads to a person: each event's details, its source, severity and
review, and each proctor action, in words.

The review page (its first rows, and through the monitor socket's messages the rows that arrive
live) and the PDF report both say it here, so a head pose reads "looking 35° left" everywhere
and never as `headPose: {'yaw': 35.2…}`. The exports (CSV, JSON) keep the raw details: they are
for machines and for audits.

Pure functions of plain values, like the registry of conditions they name events from
(proctoring.conditions); of Django only its translation functions: every phrase is in the active
language (the reader's: the page's request, or the PDF's owner), the tables below lazily.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext

from proctoring.conditions import label_of

SUMMARY_MAX = 200
SEPARATOR = " · "

# Keys the browser and the workers add for their own bookkeeping: nothing a reviewer reads.
# questionId is a database id: the exports keep it, a person cannot use it.
HIDDEN_KEYS = frozenset(
    {"frameSeq", "audioSeq", "source", "silent", "leaveSeq", "questionId", "bytes", "format"}
)

SEVERITY_LABELS = {
    "info": gettext_lazy("Info (record)"),
    "low": gettext_lazy("Low"),
    "medium": gettext_lazy("Medium"),
    "high": gettext_lazy("High"),
    "critical": gettext_lazy("Critical"),
}
REVIEW_LABELS = {
    "open": gettext_lazy("Not reviewed"),
    "confirmed": gettext_lazy("Confirmed"),
    "dismissed": gettext_lazy("Dismissed"),
    "none": gettext_lazy("Record, not an alert"),
}
SOURCE_LABELS = {
    "client": gettext_lazy("Browser"),
    "server": gettext_lazy("Server"),
    "proctor": gettext_lazy("Proctor"),
}
# A server event's own details.source: what the workers analysed to raise it.
ANALYSED_LABELS = {"frame": gettext_lazy("Camera"), "audio": gettext_lazy("Microphone")}

# Below this many degrees a head is turned "a little": not worth a direction.
POSE_DEAD_ZONE = 5
# Frames darker than this (mean luminance, 0-255) are worth saying so.
DARK_BELOW = 40

# Why the browser gave up a device (the DOMException's name, or the page's own word).
DEVICE_REASONS = {
    "NotAllowedError": gettext_lazy("permission refused"),
    "SecurityError": gettext_lazy("permission refused"),
    "NotFoundError": gettext_lazy("no device found"),
    "NotReadableError": gettext_lazy("device busy or unavailable"),
    "OverconstrainedError": gettext_lazy("the device cannot do what the exam needs"),
    "AbortError": gettext_lazy("the browser stopped it"),
    "ended": gettext_lazy("the device stopped sending"),
    "audio-processing": gettext_lazy("the sound could not be processed"),
}
SCREEN_REFUSALS = {
    "NotAllowedError": gettext_lazy("the screen-share picker was cancelled or refused"),
    "not-entire-screen": gettext_lazy("a window or a tab was chosen, not the entire screen"),
    "unsupported": gettext_lazy("this browser cannot share the screen"),
    "declined": gettext_lazy("the student went on without sharing"),
}
SURFACES = {
    "monitor": gettext_lazy("the entire screen"),
    "window": gettext_lazy("a window"),
    "browser": gettext_lazy("a browser tab"),
}
SCREENSHOT_TRIGGERS = {
    "start": gettext_lazy("when the share started"),
    "interval": gettext_lazy("regular capture"),
}
# What a copy, cut or paste event says, each phrase whole (a translator cannot build them from parts).
CLIPBOARD_PHRASES = {
    "copied": {"text": gettext_lazy("Text copied"), "question": gettext_lazy("Question text copied")},
    "cut": {"text": gettext_lazy("Text cut"), "question": gettext_lazy("Question text cut")},
    "pasted": {"text": gettext_lazy("Text pasted"), "question": gettext_lazy("Question text pasted")},
}


def _characters(verb: str, count: int, *, question: bool) -> str:
    """ "12 characters of text copied": each phrase whole, for translators."""
    phrases = {
        ("copied", False): _("%(count)d characters of text copied"),
        ("copied", True): _("%(count)d characters of question text copied"),
        ("cut", False): _("%(count)d characters of text cut"),
        ("cut", True): _("%(count)d characters of question text cut"),
        ("pasted", False): _("%(count)d characters of text pasted"),
        ("pasted", True): _("%(count)d characters of question text pasted"),
    }
    return phrases[verb, question] % {"count": count}


# --- values ----------------------------------------------------------------------------------------


def seconds_text(seconds: float | None) -> str:
    """12 s, 2 min 05 s, 1 h 02 min."""
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ms_text(value) -> str:
    number = _number(value)
    return "" if number is None else seconds_text(number / 1000)


def _words(key: str) -> str:
    """A detail's key as words: timeGivenBackSeconds -> "time given back seconds"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(key)).replace("_", " ").replace("-", " ")
    return spaced.lower().strip()


def value_text(value: Any) -> str:
    """Any value a browser may send, without braces, brackets, quotes or Python's True."""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    if isinstance(value, Mapping):
        return ", ".join(f"{_words(k)} {value_text(v)}" for k, v in value.items() if not _empty(v))
    if isinstance(value, list | tuple):
        return ", ".join(value_text(v) for v in value if not _empty(v))
    return str(value)[:80]


def _empty(value) -> bool:
    return value is None or value == "" or (isinstance(value, Mapping | list | tuple) and not value)


def head_pose_text(pose: Any) -> str:
    """ "looking 35° left and 10° down", from the student's point of view (yaw positive: their own
    left; pitch positive: up; proctoring.detectors.faces.HeadPose); "facing the camera" when
    both are within a few degrees."""
    if not isinstance(pose, Mapping):
        return ""
    yaw, pitch = _number(pose.get("yaw")), _number(pose.get("pitch"))
    turns = []
    if yaw is not None and abs(yaw) >= POSE_DEAD_ZONE:
        degrees = {"degrees": f"{abs(yaw):.0f}"}
        turns.append(_("%(degrees)s° left") % degrees if yaw > 0 else _("%(degrees)s° right") % degrees)
    if pitch is not None and abs(pitch) >= POSE_DEAD_ZONE:
        degrees = {"degrees": f"{abs(pitch):.0f}"}
        turns.append(_("%(degrees)s° up") % degrees if pitch > 0 else _("%(degrees)s° down") % degrees)
    if len(turns) == 2:
        return _("looking %(turn)s and %(other)s") % {"turn": turns[0], "other": turns[1]}
    if turns:
        return _("looking %(turn)s") % {"turn": turns[0]}
    return _("facing the camera") if yaw is not None or pitch is not None else ""


def _faces(count) -> str:
    count = _number(count)
    if count is None:
        return ""
    count = int(count)
    if count == 0:
        return _("no face on camera")
    return ngettext("%(count)d face on camera", "%(count)d faces on camera", count) % {"count": count}


def _brightness(details: Mapping, *, always: bool = False) -> str:
    level = _number(details.get("brightness"))
    if level is None or not (always or level < DARK_BELOW):
        return ""
    if level < DARK_BELOW:
        return _("dark picture, brightness %(level)s of 255") % {"level": f"{level:.0f}"}
    return _("brightness %(level)s of 255") % {"level": f"{level:.0f}"}


def _level(details: Mapping) -> str:
    level = _number(details.get("levelDbfs"))
    return "" if level is None else _("volume %(level)s dBFS") % {"level": f"{level:.0f}"}


# --- per kind of event -------------------------------------------------------------------------------
# Each reads the keys it knows and names them in words; the keys it used are listed so that any
# others a browser sent are still shown (as words), never dropped.

Reader = Callable[[Mapping], list[str]]


def _frame(details: Mapping) -> list[str]:
    return [_faces(details.get("faceCount")), head_pose_text(details.get("headPose")), _brightness(details)]


def _face_not_visible(details: Mapping) -> list[str]:
    return [_faces(details.get("faceCount", 0) or 0), _brightness(details)]


def _off_screen(details: Mapping) -> list[str]:
    return [
        head_pose_text(details.get("headPose")) or _("looking away from the screen"),
        _brightness(details),
    ]


def _camera_blocked(details: Mapping) -> list[str]:
    return [_("camera covered or too dark to see"), _brightness(details, always=True)]


def _identity_mismatch(details: Mapping) -> list[str]:
    return [
        _("the face on camera does not match the verified photo"),
        head_pose_text(details.get("headPose")),
    ]


def _speech(details: Mapping) -> list[str]:
    ratio = _number(details.get("speechRatio"))
    pitch = _number(details.get("pitchHz"))
    return [
        ""
        if ratio is None
        else _("speech in %(percent)s%% of the second") % {"percent": f"{ratio * 100:.0f}"},
        _level(details),
        "" if not pitch else _("voice pitch %(hertz)s Hz") % {"hertz": f"{pitch:.0f}"},
    ]


def _voices(details: Mapping) -> list[str]:
    voices = _number(details.get("voices"))
    heard = (
        ""
        if voices is None
        else ngettext(
            "%(count)d different voice heard so far", "%(count)d different voices heard so far", int(voices)
        )
        % {"count": int(voices)}
    )
    return [heard, *_speech(details)]


def _mic_activity(details: Mapping) -> list[str]:
    return [_("a steady tone or music, not speech"), _level(details)]


def _background_noise(details: Mapping) -> list[str]:
    return [_("noise without speech"), _level(details)]


def _away(verb: str, *keys: str) -> Reader:
    """`verb`: a phrase with %(length)s, marked with gettext_noop (translated when read). `keys`:
    where pages put how long, in milliseconds (older pages called it differently)."""

    def read(details: Mapping) -> list[str]:
        length = next((_ms_text(details[key]) for key in keys if _number(details.get(key)) is not None), "")
        return [_(verb) % {"length": length} if length else ""]

    return read


def _page_reload(details: Mapping) -> list[str]:
    length = _ms_text(details.get("awayMs"))
    return [_("reloaded, back after %(length)s") % {"length": length} if length else _("reloaded")]


def _clipboard(verb: str) -> Reader:
    """`verb`: "copied", "cut" or "pasted" (the phrases below name each whole, for translators)."""

    def read(details: Mapping) -> list[str]:
        length = _number(details.get("length"))
        question, outside = details.get("from") == "question", details.get("from") == "outside"
        if length is None:
            text = str(CLIPBOARD_PHRASES[verb]["question" if question else "text"])
        else:
            text = _characters(verb, int(length), question=question)
        if outside:
            text = _("%(what)s from outside the exam") % {"what": text}
        return [text, _("blocked") if details.get("blocked") is True else ""]

    return read


def _right_click(details: Mapping) -> list[str]:
    return [_("context menu blocked") if details.get("blocked") is True else _("context menu opened")]


def _second_screen(details: Mapping) -> list[str]:
    return [_("a second screen is connected") if details.get("screens") == "extended" else ""]


def _fullscreen_exit(details: Mapping) -> list[str]:
    reason = details.get("reason")
    return [_("this browser cannot show the exam fullscreen") if reason == "fullscreen not available" else ""]


def _device_lost(details: Mapping) -> list[str]:
    reason = details.get("reason")
    device = details.get("device")
    message = details.get("message")
    return [
        str(DEVICE_REASONS.get(reason, _("reason: %(reason)s") % {"reason": value_text(reason)}))
        if reason
        else "",
        _("device “%(device)s”") % {"device": value_text(device)} if device else "",
        _("the browser said “%(message)s”") % {"message": value_text(message)} if message else "",
    ]


def _screen_refused(details: Mapping) -> list[str]:
    reason = details.get("reason")
    surface = details.get("surface")
    message = details.get("message")
    return [
        str(SCREEN_REFUSALS.get(reason, _("reason: %(reason)s") % {"reason": value_text(reason)}))
        if reason
        else "",
        _("chose %(surface)s") % {"surface": SURFACES.get(surface, value_text(surface))}
        if surface and surface != "monitor"
        else "",
        _("the browser said “%(message)s”") % {"message": value_text(message)}
        if message and reason != "not-entire-screen"
        else "",
    ]


def _size(details: Mapping) -> str:
    width, height = _number(details.get("width")), _number(details.get("height"))
    return f"{width:.0f} x {height:.0f} px" if width and height else ""


def _screen_started(details: Mapping) -> list[str]:
    surface = details.get("surface")
    given = _number(details.get("timeGivenBackSeconds"))
    return [
        _("sharing %(surface)s") % {"surface": SURFACES.get(surface, value_text(surface))} if surface else "",
        _size(details),
        _("%(length)s given back for the lapse") % {"length": seconds_text(given)} if given else "",
    ]


def _screenshot(details: Mapping) -> list[str]:
    trigger = details.get("trigger")
    if trigger == "alert":
        alert = details.get("alertType")
        number = value_text(details.get("alertId"))
        if alert:
            when = _("at alert #%(number)s (%(alert)s)") % {"number": number, "alert": label_of(alert)}
        else:
            when = _("at alert #%(number)s") % {"number": number}
    else:
        when = str(SCREENSHOT_TRIGGERS.get(trigger, value_text(trigger) if trigger else ""))
    return [when, _size(details)]


def _stream_lost(details: Mapping) -> list[str]:
    quiet = _number(details.get("quietSeconds"))
    return [
        _("nothing from the camera or microphone for %(length)s") % {"length": seconds_text(quiet)}
        if quiet
        else ""
    ]


def _ending(details: Mapping) -> list[str]:
    reason = details.get("reason")
    if reason:
        return [_typed(reason)]  # automatic endings say risk, limit and trigger in it already
    risk, limit, trigger = details.get("riskScore"), details.get("threshold"), details.get("trigger")
    return [
        _("risk %(risk)s of a limit of %(limit)s") % {"risk": value_text(risk), "limit": value_text(limit)}
        if risk is not None
        else "",
        _("after %(alert)s") % {"alert": label_of(trigger).lower()} if trigger else "",
    ]


READERS: dict[str, tuple[Reader, frozenset[str]]] = {
    "face-not-visible": (_face_not_visible, frozenset({"faceCount", "headPose", "brightness"})),
    "multiple-faces": (_frame, frozenset({"faceCount", "headPose", "brightness"})),
    "off-screen": (_off_screen, frozenset({"faceCount", "headPose", "brightness"})),
    "camera-blocked": (_camera_blocked, frozenset({"faceCount", "headPose", "brightness"})),
    "identity-mismatch": (_identity_mismatch, frozenset({"faceCount", "headPose", "brightness"})),
    "speech-detected": (_speech, frozenset({"levelDbfs", "speechRatio", "pitchHz", "voices"})),
    "multiple-voices": (_voices, frozenset({"levelDbfs", "speechRatio", "pitchHz", "voices"})),
    "mic-activity": (_mic_activity, frozenset({"levelDbfs", "speechRatio", "pitchHz", "voices"})),
    "background-noise": (_background_noise, frozenset({"levelDbfs", "speechRatio", "pitchHz", "voices"})),
    "tab-switch": (
        _away(gettext_noop("away from the exam page for %(length)s"), "durationMs", "hiddenMs"),
        frozenset({"durationMs", "hiddenMs"}),
    ),
    "window-blur": (
        _away(gettext_noop("another window had the focus for %(length)s"), "durationMs"),
        frozenset({"durationMs"}),
    ),
    "page-leave": (_away(gettext_noop("hidden for %(length)s"), "hiddenMs"), frozenset({"hiddenMs"})),
    "page-reload": (_page_reload, frozenset({"awayMs", "hiddenMs"})),
    "copy": (_clipboard("copied"), frozenset({"length", "from", "blocked"})),
    "cut": (_clipboard("cut"), frozenset({"length", "from", "blocked"})),
    "paste": (_clipboard("pasted"), frozenset({"length", "from", "blocked"})),
    "right-click": (_right_click, frozenset({"blocked"})),
    "second-screen": (_second_screen, frozenset({"screens"})),
    "fullscreen-exit": (_fullscreen_exit, frozenset({"reason"})),
    "camera-lost": (_device_lost, frozenset({"reason", "device", "message"})),
    "microphone-lost": (_device_lost, frozenset({"reason", "device", "message"})),
    "screen-share-refused": (_screen_refused, frozenset({"reason", "surface", "message"})),
    "screen-share-started": (
        _screen_started,
        frozenset({"surface", "width", "height", "timeGivenBackSeconds"}),
    ),
    "screenshot-captured": (_screenshot, frozenset({"trigger", "alertId", "alertType", "width", "height"})),
    "stream-lost": (_stream_lost, frozenset({"quietSeconds"})),
    "cheating-detected": (_ending, frozenset({"reason", "riskScore", "threshold", "trigger"})),
}


def _other(key: str, value: Any) -> str:
    """A detail no reader knows (an older page's, a new browser's), as words: "hiddenMs": 4200
    reads "hidden 4 s"."""
    key = str(key)
    for suffix, scale in (("Ms", 1000), ("Seconds", 1)):
        number = _number(value)
        if key.endswith(suffix) and number is not None:
            return f"{_words(key[: -len(suffix)])} {seconds_text(number / scale)}"
    return f"{_words(key)} {value_text(value)}"


def event_summary(type: str, details: Any) -> str:
    """One line on what happened, for the event list and the PDF's log: the details a reviewer
    reads, in words, at most SUMMARY_MAX characters; "" when there is nothing to add."""
    if not isinstance(details, Mapping):
        details = {} if _empty(details) else {"value": details}
    reader, known = READERS.get(type, (lambda _: [], frozenset()))
    parts = [part for part in reader(details) if part]
    parts += [
        _other(key, value)
        for key, value in details.items()
        if key not in known and key not in HIDDEN_KEYS and not _empty(value)
    ]
    text = SEPARATOR.join(parts)
    if len(text) > SUMMARY_MAX:
        text = text[: SUMMARY_MAX - 1] + "…"
    return text[:1].upper() + text[1:]


def severity_text(severity: str) -> str:
    return str(SEVERITY_LABELS.get(severity, _words(severity).capitalize()))


def review_label(status: str) -> str:
    return str(REVIEW_LABELS.get(status, _words(status).capitalize()))


def source_text(source: str, details: Any = None) -> str:
    """Who or what raised it: the student's browser, the camera or microphone analysis, the server
    itself (a silent stream, an automatic ending) or a proctor."""
    if source == "server" and isinstance(details, Mapping):
        analysed = ANALYSED_LABELS.get(details.get("source"))
        if analysed:
            return str(analysed)
    return str(SOURCE_LABELS.get(source, _words(source).capitalize()))


# --- proctor actions ----------------------------------------------------------------------------------


def _typed(value) -> str:
    """What a proctor typed, whole (value_text shortens what browsers send)."""
    return "" if value is None else str(value)


def action_text(kind: str, details: Any, *, fallback: str = "") -> tuple[str, str]:
    """(title, text) of a proctor action for the audit trail: "Dismissed alert #12" and the
    reason given. `fallback`: the title of a kind this module does not know."""
    details = details if isinstance(details, Mapping) else {}
    if kind == "review-alert":
        number = {"number": value_text(details.get("event"))}
        title = (
            _("Confirmed alert #%(number)s") % number
            if details.get("status") == "confirmed"
            else _("Dismissed alert #%(number)s") % number
        )
        return title, _typed(details.get("reason"))
    if kind == "warn":
        return _("Sent a message"), _typed(details.get("message"))
    if kind == "terminate":
        return _("Ended the session"), _typed(details.get("reason"))
    if kind == "note":
        return _("Added a note"), _typed(details.get("text"))
    if kind == "extend-time":
        return _("Extended the time by %(minutes)s min") % {"minutes": value_text(details.get("minutes"))}, ""
    if kind == "export":
        return _("Exported the record as %(format)s") % {"format": str(details.get("format", "")).upper()}, ""
    return fallback or _words(kind).capitalize(), ""
