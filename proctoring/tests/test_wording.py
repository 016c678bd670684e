"""Events in words (proctoring.wording): one wording per kind of event, the same on the review page
and in the PDF, with no dict, key name or slug showing through."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader

from exams.tests.factories import ExamFactory
from proctoring.conditions import CONDITIONS
from proctoring.models import ProctoringEvent
from proctoring.tests.reports.reporting import proctored_session
from proctoring.wording import action_text, event_summary, head_pose_text, source_text

FRAME = {"faceCount": 1, "headPose": {"yaw": 35.2, "pitch": -8.4, "roll": 2.4}, "brightness": 112.3}
ENDED = "Ended automatically: the risk score reached 92 (the limit is 90) after multiple faces."
AUDIO = {"levelDbfs": -23.4, "speechRatio": 0.82, "pitchHz": 180.0, "voices": 1}

# Each kind of event with the details its source really sends (the pipeline, the exam page's
# scripts, the server's own records), and what a reviewer reads.
EXAMPLES: dict[str, tuple[dict, str]] = {
    "face-not-visible": (FRAME | {"faceCount": 0, "brightness": 21.0, "frameSeq": 40, "source": "frame"},
                         "No face on camera · dark picture, brightness 21 of 255"),
    "multiple-faces": (FRAME | {"faceCount": 2, "headPose": None, "frameSeq": 41, "source": "frame"},
                       "2 faces on camera"),
    "off-screen": (FRAME | {"frameSeq": 42, "source": "frame"}, "Looking 35° left and 8° down"),
    "camera-blocked": (FRAME | {"faceCount": 0, "headPose": None, "brightness": 3.6, "source": "frame"},
                       "Camera covered or too dark to see · dark picture, brightness 4 of 255"),
    "identity-mismatch": (FRAME | {"headPose": {"yaw": 1.0, "pitch": 2.0, "roll": 0.0}, "source": "frame"},
                          "The face on camera does not match the verified photo · facing the camera"),
    "speech-detected": (AUDIO | {"audioSeq": 7, "source": "audio"},
                        "Speech in 82% of the second · volume -23 dBFS · voice pitch 180 Hz"),
    "multiple-voices": (AUDIO | {"voices": 2, "source": "audio"},
                        "2 different voices heard so far · speech in 82% of the second · volume -23 dBFS · "
                        "voice pitch 180 Hz"),
    "mic-activity": (AUDIO | {"speechRatio": 0.0, "pitchHz": None, "source": "audio"},
                     "A steady tone or music, not speech · volume -23 dBFS"),
    "background-noise": (AUDIO | {"speechRatio": 0.1, "levelDbfs": -41.0, "source": "audio"},
                         "Noise without speech · volume -41 dBFS"),
    "tab-switch": ({"durationMs": 12400}, "Away from the exam page for 12 s"),
    "window-blur": ({"durationMs": 75400}, "Another window had the focus for 1 min 15 s"),
    "page-leave": ({"hiddenMs": 3100}, "Hidden for 3 s"),
    "page-reload": ({"awayMs": 5200, "leaveSeq": 12}, "Reloaded, back after 5 s"),
    "copy": ({"length": 48, "questionId": "17", "from": "question", "blocked": True},
             "48 characters of question text copied · blocked"),
    "cut": ({"length": 9, "questionId": "17", "from": "question", "blocked": False},
            "9 characters of question text cut"),
    "paste": ({"length": 120, "questionId": "17", "from": "outside", "blocked": False},
              "120 characters of text pasted from outside the exam"),
    "right-click": ({"questionId": "17", "blocked": True}, "Context menu blocked"),
    "print-screen": ({}, ""),
    "devtools-open": ({}, ""),
    "second-screen": ({"screens": "extended"}, "A second screen is connected"),
    "fullscreen-exit": ({"reason": "fullscreen not available"},
                        "This browser cannot show the exam fullscreen"),
    "camera-lost": ({"reason": "ended", "device": "FaceTime HD Camera"},
                    "The device stopped sending · device “FaceTime HD Camera”"),
    "microphone-lost": ({"reason": "NotAllowedError", "message": "Permission denied"},
                        "Permission refused · the browser said “Permission denied”"),
    "screen-share-refused": ({"reason": "not-entire-screen", "surface": "window"},
                             "A window or a tab was chosen, not the entire screen · chose a window"),
    "screen-share-stopped": ({}, ""),
    "screen-share-started": ({"surface": "monitor", "width": 1920, "height": 1080,
                              "timeGivenBackSeconds": 45},
                             "Sharing the entire screen · 1920 x 1080 px · 45 s given back for the lapse"),
    "screenshot-captured": ({"trigger": "alert", "alertId": 12, "alertType": "multiple-faces", "width": 1280,
                             "height": 720, "bytes": 81234, "format": "webp"},
                            "At alert #12 (Multiple faces) · 1280 x 720 px"),
    "stream-lost": ({"quietSeconds": 32.4}, "Nothing from the camera or microphone for 32 s"),
    "cheating-detected": ({"reason": ENDED, "riskScore": 92.0, "threshold": 90, "trigger": "multiple-faces"},
                          ENDED),
}  # fmt: skip

# What must never reach a reader: a dict or list, Python's literals, a detail's key, a type's slug.
KEYS = {key for details, _ in EXAMPLES.values() for key in details if not key.islower()} | {"yaw", "roll"}
RAW = re.compile(r"[{}\[\]']|\bTrue\b|\bFalse\b|\bNone\b|\b(" + "|".join(KEYS) + r")\b")
SLUGS = [type_ for type_ in CONDITIONS if "-" in type_]


def test_every_kind_of_event_has_an_example_here():
    assert set(EXAMPLES) == set(CONDITIONS)


@pytest.mark.parametrize(("type_", "example"), EXAMPLES.items(), ids=list(EXAMPLES))
def test_each_kind_of_event_reads_in_words(type_, example):
    details, expected = example
    text = event_summary(type_, details)
    assert text == expected
    assert not RAW.search(text), text
    assert not any(slug in text for slug in SLUGS), text  # "Multiple faces", never "multiple-faces"


@pytest.mark.parametrize(
    ("pose", "expected"),
    [
        ({"yaw": 35.2, "pitch": 0.4, "roll": 2.4}, "looking 35° left"),
        ({"yaw": -20.0, "pitch": -12.6, "roll": 0.0}, "looking 20° right and 13° down"),
        ({"yaw": 2.0, "pitch": 31.0, "roll": 0.0}, "looking 31° up"),
        ({"yaw": 4.9, "pitch": -4.9, "roll": 30.0}, "facing the camera"),
        (None, ""),
    ],
)
def test_a_head_pose_says_where_the_student_looks_from_their_point_of_view(pose, expected):
    assert head_pose_text(pose) == expected


def test_details_no_reader_knows_still_read_as_words():
    text = event_summary("tab-switch", {"hidden": True, "awayMs": 4000, "extra": {"aB": [1, 2.25]}})
    assert text == "Hidden yes · away 4 s · extra a b 1, 2.2"
    assert event_summary("a-new-type", "just a string") == "Value just a string"
    long = event_summary("paste", {f"note{i}": "x" * 60 for i in range(5)})
    assert len(long) == 200 and long.endswith("…")


def test_the_source_says_what_raised_it():
    assert source_text("client") == "Browser"
    assert source_text("server", {"source": "frame"}) == "Camera"
    assert source_text("server", {"source": "audio"}) == "Microphone"
    assert (source_text("server", {}), source_text("proctor")) == ("Server", "Proctor")


def test_actions_read_as_the_audit_trail_says_them():
    assert action_text("review-alert", {"event": 12, "status": "dismissed", "reason": "A pen"}) == (
        "Dismissed alert #12",
        "A pen",
    )
    assert action_text("extend-time", {"minutes": 5}) == ("Extended the time by 5 min", "")
    assert action_text("note", {"text": "n" * 900})[1] == "n" * 900  # what a proctor typed, whole


@pytest.mark.django_db
def test_the_pdf_and_the_review_page_say_the_same_words_and_no_raw_details(
    client, teacher, student, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    exam = ExamFactory(created_by=teacher, title="Physics midterm")
    session = proctored_session(exam=exam, student=student, reviewer=teacher).session
    for minute, (type_, (details, _)) in enumerate(EXAMPLES.items()):
        ProctoringEvent.objects.create(
            session=session,
            type=type_,
            severity=CONDITIONS[type_].severity,
            source="server" if details.get("source") else "client",
            details=details,
            occurred_at=session.started_at + timedelta(seconds=30 * minute),
        )
    client.force_login(teacher)
    pdf = PdfReader(io.BytesIO(client.get(f"/proctoring/sessions/{session.pk}/report.pdf").content))
    pdf_text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    page = client.get(f"/proctoring/sessions/{session.pk}/").content.decode()
    shown = re.findall(r'<span class="ev-details">([^<]*)</span>', page)
    for type_, (_, expected) in EXAMPLES.items():
        if expected:
            assert expected.replace("“", "&ldquo;") in page or expected in shown, type_
            assert expected in pdf_text, type_
    # The log: no dict, no key names, no slugs (types, sources, review statuses) anywhere.
    log = pdf_text[pdf_text.index("Event log") : pdf_text.index("Proctor actions")]
    assert not re.search(r"[{}\[\]]|headPose|faceCount|durationMs|levelDbfs|'yaw'", log)
    slug = re.search(r"\b(client|server)\b|tab-switch|multiple-faces|off-screen", log)
    assert not slug, log[slug.start() - 80 : slug.end() + 40]
    assert "Looking 35° left and 8° down" in log and "Camera" in log and "Browser" in log
    assert "Not reviewed" in log and "Dismissed: " in log
