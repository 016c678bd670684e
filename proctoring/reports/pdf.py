"""One session as a PDF a teacher can file and defend: who, what, when, and who decided what.

Sections: the title block, a timeline chart of the events, the full event log with each review,
the webcam snapshots the workers kept and a selection of the screenshots of the student's screen
(decrypted here, never written anywhere else), the proctor actions (audit trail) and the review
decisions. Every page carries who generated it and when.
"""

from __future__ import annotations

import importlib.util
import io
import logging
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from PIL import Image as PILImage
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from accounts.models import User
from accounts.time_zones import zone_of
from procto.crypto import DecryptionError
from procto.encrypted_files import read_encrypted
from procto.local_time import local_clock, local_datetime, zone_label
from proctoring.conditions import label_of
from proctoring.models import ProctorAction, ProctoringEvent
from proctoring.reports.exports import session_actions, session_events
from proctoring.screen import SCREENSHOT
from proctoring.wording import action_text, event_summary, review_label, severity_text, source_text
from sessions.models import ExamSession
from sessions.outcomes import outcome_of
from sessions.selectors import session_questions

logger = logging.getLogger(__name__)

MAX_SNAPSHOTS = 24
SNAPSHOT_COLUMNS = 4
# A session at one screenshot every 30 s has 120 an hour: the PDF shows those taken at alerts and
# fills up to this many with others spread over the session; the review page has them all.
MAX_SCREENSHOTS = 12
SCREENSHOT_COLUMNS = 2
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN

# Also the colour of the severity's word in the event log: each reads at 4.5:1 or more on white
# (WCAG AA for text; procto/tests/test_contrast.py). Amber #d97706 read at 3.2:1.
# The timeline legend's words (the monitor's scripts say them with the same context, djangojs).
SEVERITY_WORDS = {
    "info": pgettext_lazy("severity", "info"),
    "low": pgettext_lazy("severity", "low"),
    "medium": pgettext_lazy("severity", "medium"),
    "high": pgettext_lazy("severity", "high"),
    "critical": pgettext_lazy("severity", "critical"),
}
SEVERITY_COLOURS = {
    "info": colors.HexColor("#0e7490"),
    "low": colors.HexColor("#64748b"),
    "medium": colors.HexColor("#b45309"),
    "high": colors.HexColor("#dc2626"),
    "critical": colors.HexColor("#6b21a8"),
}
GRID = colors.HexColor("#d5dbe2")
INK = colors.HexColor("#1b1f24")
MUTED = colors.HexColor("#4a5561")


# --- fonts ---------------------------------------------------------------------------------------
# The PDF standard fonts cover Latin-1 only: "Łukasz" or "Đorđe" would print as boxes. DejaVu Sans
# ships inside matplotlib (a dependency already); without it the standard fonts are the fallback.


def _dejavu_dir() -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "mpl-data" / "fonts" / "ttf"
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    return None


def _fonts() -> tuple[str, str]:
    if "ProctoSans" in pdfmetrics.getRegisteredFontNames():
        return "ProctoSans", "ProctoSans-Bold"
    folder = _dejavu_dir()
    if folder is None:
        return "Helvetica", "Helvetica-Bold"
    pdfmetrics.registerFont(TTFont("ProctoSans", folder / "DejaVuSans.ttf"))
    pdfmetrics.registerFont(TTFont("ProctoSans-Bold", folder / "DejaVuSans-Bold.ttf"))
    pdfmetrics.registerFontFamily("ProctoSans", normal="ProctoSans", bold="ProctoSans-Bold")
    return "ProctoSans", "ProctoSans-Bold"


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold = _fonts()
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName=bold, fontSize=16, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName=bold, fontSize=12, spaceBefore=10),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontName=regular, fontSize=9, leading=11),
        "small": ParagraphStyle("small", fontName=regular, fontSize=7.5, leading=9, textColor=INK),
        "muted": ParagraphStyle("muted", fontName=regular, fontSize=7.5, leading=9, textColor=MUTED),
        "caption": ParagraphStyle(
            "caption", fontName=regular, fontSize=7, leading=8.5, alignment=TA_CENTER, textColor=MUTED
        ),
        "cell-bold": ParagraphStyle("cell-bold", fontName=bold, fontSize=7.5, leading=9),
        **{
            f"severity-{name}": ParagraphStyle(
                f"severity-{name}", fontName=regular, fontSize=7.5, leading=9, textColor=colour
            )
            for name, colour in SEVERITY_COLOURS.items()
        },
    }


# --- formatting ------------------------------------------------------------------------------------


def _local(moment: datetime | None, *, clock: bool = False) -> str:
    """In the reader's zone (active while the report is drawn), as the pages show it."""
    return local_clock(moment) if clock else local_datetime(moment)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _elapsed(session: ExamSession, moment: datetime) -> str:
    seconds = (moment - session.started_at).total_seconds()
    sign = "-" if seconds < 0 else "+"
    return sign + _duration(abs(seconds))


def _who(user: User | None) -> str:
    if user is None:
        return gettext("(deleted user)")
    name = f"{user.first_name} {user.last_name}".strip()
    return f"{name} <{user.email}>" if name else user.email


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of text people typed: escaped, so "<" in a reason cannot break the markup."""
    return Paragraph(escape(text), style)


def _table(rows: list[list], widths: list[float], *, header: bool = True) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    regular, bold = _fonts()
    commands = [
        ("FONT", (0, 0), (-1, -1), regular, 7.5),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, GRID),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands += [
            ("FONT", (0, 0), (-1, 0), bold, 7.5),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f6")),
            ("LINEBELOW", (0, 0), (-1, 0), 0.75, MUTED),
        ]
    table.setStyle(TableStyle(commands))
    return table


# --- sections --------------------------------------------------------------------------------------


def _title_block(session: ExamSession, events: list[ProctoringEvent], styles) -> list:
    end = session.ended_at or timezone.now()
    score = (
        gettext("not graded yet")
        if session.final_score is None
        else f"{session.final_score} / {session.max_score} ({session.get_grading_display().lower()})"
    )
    student = session.student
    facts = [
        (gettext("Student"), _who(student)),
        (gettext("Exam"), session.exam.title),
        (gettext("Attempt"), str(session.attempt)),
        (gettext("Outcome"), str(outcome_of(session))),
        (gettext("Started"), _local(session.started_at)),
        (gettext("Ended"), _local(session.ended_at) if session.ended_at else gettext("still in progress")),
        (gettext("Duration"), _duration((end - session.started_at).total_seconds())),
        (gettext("Score"), score),
        (gettext("Risk score"), f"{session.risk_score:g} / 100"),
        (gettext("Flagged"), gettext("yes: a proctor should look") if session.flagged else gettext("no")),
        (gettext("Events"), _event_counts(events)),
        (gettext("Session id"), str(session.pk)),
        (
            gettext("Times"),
            gettext("%(zone)s; the browser's clock for client events") % {"zone": zone_label()},
        ),
    ]
    rows = [[_p(label, styles["cell-bold"]), _p(value, styles["small"])] for label, value in facts]
    table = _table(rows, [32 * mm, FRAME_WIDTH - 32 * mm], header=False)
    title = gettext("Session report: %(title)s") % {"title": session.exam.title}
    return [_p(title, styles["title"]), table]


def _event_counts(events: list[ProctoringEvent]) -> str:
    def count(status: str) -> int:
        return sum(e.review_status == status for e in events)

    severe = sum(e.severity in ("high", "critical") for e in events)
    counts = {
        "all": len(events),
        "severe": severe,
        "confirmed": count("confirmed"),
        "dismissed": count("dismissed"),
        "open": count("open"),
    }
    return (
        gettext(
            "%(all)d in all, %(severe)d high or critical; alerts confirmed %(confirmed)d, "
            "dismissed %(dismissed)d, not reviewed %(open)d"
        )
        % counts
    )


def _tick_step(total_minutes: float) -> float:
    for step in (1, 2, 5, 10, 15, 20, 30, 60, 120, 240):
        if total_minutes / step <= 10:
            return step
    return 480


def timeline_drawing(session: ExamSession, events: list[ProctoringEvent]) -> Drawing:
    """x: minutes from the start; one lane per event type; a bar for each event's duration
    (a thin mark for an instant one), coloured by severity; dismissed events drawn hollow."""
    regular, _ = _fonts()
    types = list(dict.fromkeys(e.type for e in events))
    label_width, lane, top_pad, axis_pad, legend_height = 92.0, 13.0, 6.0, 22.0, 16.0
    plot_width = FRAME_WIDTH - label_width - 8
    end = session.ended_at or timezone.now()
    total = max(
        60.0,
        (end - session.started_at).total_seconds(),
        *(((e.ended_at or e.occurred_at) - session.started_at).total_seconds() for e in events),
    )
    height = top_pad + lane * max(len(types), 1) + axis_pad + legend_height
    drawing = Drawing(FRAME_WIDTH, height)
    plot_top = height - top_pad
    plot_bottom = plot_top - lane * max(len(types), 1)

    def x_of(seconds: float) -> float:
        return label_width + plot_width * min(max(seconds, 0.0), total) / total

    # Minute grid and axis labels.
    step = _tick_step(total / 60)
    minute = 0.0
    while minute * 60 <= total + 1e-6:
        x = x_of(minute * 60)
        drawing.add(Line(x, plot_bottom, x, plot_top, strokeColor=GRID, strokeWidth=0.4))
        drawing.add(
            String(x, plot_bottom - 9, f"{minute:g}", fontName=regular, fontSize=6.5, textAnchor="middle")
        )
        minute += step
    drawing.add(
        String(
            label_width + plot_width / 2,
            plot_bottom - 18,
            gettext("minutes from the start of the session"),
            fontName=regular,
            fontSize=6.5,
            fillColor=MUTED,
            textAnchor="middle",
        )
    )
    drawing.add(Line(label_width, plot_bottom, label_width + plot_width, plot_bottom, strokeColor=MUTED))
    ended_x = x_of((end - session.started_at).total_seconds())
    drawing.add(Line(ended_x, plot_bottom, ended_x, plot_top, strokeColor=INK, strokeDashArray=[2, 2]))

    lanes = {name: index for index, name in enumerate(types)}
    for name, index in lanes.items():
        y = plot_top - lane * (index + 1)
        drawing.add(
            String(label_width - 4, y + 3.5, label_of(name), fontName=regular, fontSize=7, textAnchor="end")
        )
        if index % 2 == 0:
            drawing.add(
                Rect(label_width, y, plot_width, lane, fillColor=colors.HexColor("#f5f7fa"), strokeColor=None)
            )
    for event in events:
        y = plot_top - lane * (lanes[event.type] + 1) + 2.5
        start = (event.occurred_at - session.started_at).total_seconds()
        x0 = x_of(start)
        width = max(x_of(start + event.duration_seconds) - x0, 2.0)
        colour = SEVERITY_COLOURS.get(event.severity, MUTED)
        hollow = event.review_status == "dismissed"
        drawing.add(
            Rect(
                x0,
                y,
                width,
                lane - 5,
                fillColor=colors.white if hollow else colour,
                strokeColor=colour,
                strokeWidth=0.8 if hollow else 0.2,
            )
        )
    if not events:
        drawing.add(
            String(
                label_width + 4,
                plot_bottom + 3.5,
                gettext("no events"),
                fontName=regular,
                fontSize=7,
                fillColor=MUTED,
            )
        )

    # Legend.
    x = label_width
    for severity, colour in SEVERITY_COLOURS.items():
        drawing.add(Rect(x, 3, 8, 7, fillColor=colour, strokeColor=colour))
        drawing.add(String(x + 11, 4, str(SEVERITY_WORDS[severity]), fontName=regular, fontSize=7))
        x += 52
    drawing.add(Rect(x, 3, 8, 7, fillColor=colors.white, strokeColor=MUTED, strokeWidth=0.8))
    drawing.add(String(x + 11, 4, gettext("dismissed by a proctor"), fontName=regular, fontSize=7))
    drawing.add(Line(x + 110, 2, x + 110, 11, strokeColor=INK, strokeDashArray=[2, 2]))
    drawing.add(String(x + 114, 4, gettext("session end"), fontName=regular, fontSize=7))
    return drawing


def _details(event: ProctoringEvent, styles) -> list[Paragraph]:
    """What happened, in the words the review page uses (proctoring.wording)."""
    text = event_summary(event.type, event.details)
    return [_p(text, styles["muted"])] if text else []


def _review_text(event: ProctoringEvent) -> str:
    text = review_label(event.review_status)
    if event.review_status in ("open", "none"):
        return text
    if event.review_reason:
        text += f": {event.review_reason}"
    by = {"who": _who(event.reviewed_by), "when": _local(event.reviewed_at, clock=True)}
    return text + " " + gettext("(by %(who)s, %(when)s)") % by


def _event_log(session: ExamSession, events: list[ProctoringEvent], styles) -> list:
    if not events:
        return [_p(gettext("No events were recorded in this session."), styles["body"])]
    header = [
        gettext("Time"),
        gettext("Type"),
        gettext("Severity"),
        gettext("Source"),
        gettext("Conf."),
        gettext("Duration"),
        gettext("Review"),
    ]
    rows: list[list] = [header]
    for event in events:
        rows.append(
            [
                _p(
                    f"{_elapsed(session, event.occurred_at)}  {_local(event.occurred_at, clock=True)}",
                    styles["small"],
                ),
                [_p(label_of(event.type), styles["small"]), *_details(event, styles)],
                _p(severity_text(event.severity), styles.get(f"severity-{event.severity}", styles["small"])),
                _p(source_text(event.source, event.details), styles["small"]),
                "" if event.confidence is None else f"{event.confidence:.2f}",
                _duration(event.duration_seconds) if event.ended_at else gettext("instant"),
                _p(_review_text(event), styles["small"]),
            ]
        )
    widths = [28 * mm, 38 * mm, 14 * mm, 18 * mm, 9 * mm, 15 * mm]
    table = _table(rows, [*widths, FRAME_WIDTH - sum(widths)])
    return [table]


def _questions(session: ExamSession, styles) -> list:
    """The attempt's own questions in the order the student met them; a bank draw's are this
    student's, so two students of one exam may have different ones."""
    items = session_questions(session)
    if not items:
        return [_p(gettext("This attempt has no questions."), styles["body"])]
    rows: list[list] = [[gettext("No."), gettext("Question"), gettext("Points"), gettext("From")]]
    for item in items:
        question = item["question"]
        text = question.text if len(question.text) <= 160 else question.text[:159] + "…"
        rows.append(
            [
                f"Q{item['number']}",
                _p(f"{text} ({question.get_type_display()})", styles["small"]),
                f"{question.points.normalize():f}",
                _p(
                    gettext("bank %(title)s") % {"title": item["bank"].title}
                    if item["bank"]
                    else gettext("the exam"),
                    styles["small"],
                ),
            ]
        )
    widths = [12 * mm, 0, 14 * mm, 36 * mm]
    widths[1] = FRAME_WIDTH - sum(widths)
    return [_table(rows, widths)]


def _snapshot_image(event: ProctoringEvent, width: float, *, box=(480, 360)) -> Image:
    """The event's picture, shrunk for print to fit a box of `box`'s proportions `width` wide;
    raises if it cannot be read or decoded."""
    data = read_encrypted(event.snapshot)
    with PILImage.open(io.BytesIO(data)) as picture:
        picture = picture.convert("RGB")
        picture.thumbnail(box)
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=80)
        size = picture.size
    buffer.seek(0)
    scale = min(width / size[0], width * box[1] / box[0] / size[1])
    return Image(buffer, width=size[0] * scale, height=size[1] * scale)


def _picture_grid(cells: list, columns: int) -> Table:
    rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
    rows[-1] += [""] * (columns - len(rows[-1]))
    grid = Table(rows, colWidths=[FRAME_WIDTH / columns] * columns)
    grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return grid


def screenshots_chosen(
    screenshots: list[ProctoringEvent], limit: int = MAX_SCREENSHOTS
) -> list[ProctoringEvent]:
    """Those taken at alerts first, then others spread evenly over the session, in time order."""
    at_alerts = [e for e in screenshots if e.details.get("trigger") == "alert"][:limit]
    others = [e for e in screenshots if e.details.get("trigger") != "alert"]
    room = limit - len(at_alerts)
    if room > 0 and others:
        step = len(others) / room
        spread = {others[int(i * step)].pk: others[int(i * step)] for i in range(min(room, len(others)))}
        at_alerts += spread.values()
    return sorted(at_alerts, key=lambda e: (e.occurred_at, e.pk))


def _screenshots(session: ExamSession, events: list[ProctoringEvent], styles) -> list:
    taken = [e for e in events if e.type == SCREENSHOT and e.snapshot]
    if not taken:
        return []
    cell_width = FRAME_WIDTH / SCREENSHOT_COLUMNS - 8
    cells, notes = [], []
    for event in screenshots_chosen(taken):
        alert = {"number": event.details.get("alertId")}
        why = gettext("at alert #%(number)s") % alert if event.details.get("trigger") == "alert" else ""
        caption = f"{_elapsed(session, event.occurred_at)} ({_local(event.occurred_at, clock=True)}) {why}"
        try:
            image = _snapshot_image(event, cell_width, box=(960, 540))
        except (DecryptionError, OSError, ValueError) as exc:
            logger.warning("screenshot of event %s unreadable: %s", event.pk, exc)
            notes.append(
                gettext("The screenshot of event %(number)s could not be read.") % {"number": event.pk}
            )
            continue
        cells.append([image, _p(caption.strip(), styles["caption"])])
    flow: list = [_p(gettext("Screenshots"), styles["h2"])]
    if len(taken) > MAX_SCREENSHOTS:
        flow.append(
            _p(
                gettext(
                    "%(shown)d of the %(all)d screenshots of the student's screen: those taken "
                    "at alerts, and others spread over the session; the review page shows them all."
                )
                % {"shown": MAX_SCREENSHOTS, "all": len(taken)},
                styles["muted"],
            )
        )
    if cells:
        flow.append(_picture_grid(cells, SCREENSHOT_COLUMNS))
    flow += [_p(note, styles["muted"]) for note in notes]
    return flow


def _snapshots(session: ExamSession, events: list[ProctoringEvent], styles) -> list:
    with_snapshot = [e for e in events if e.snapshot and e.type != SCREENSHOT]
    if not with_snapshot:
        return [_p(gettext("No snapshots were kept for this session."), styles["body"])]
    cell_width = FRAME_WIDTH / SNAPSHOT_COLUMNS - 6
    cells, notes = [], []
    for event in with_snapshot[:MAX_SNAPSHOTS]:
        caption = (
            f"{label_of(event.type)} · {_elapsed(session, event.occurred_at)} "
            f"({_local(event.occurred_at, clock=True)})"
        )
        try:
            image = _snapshot_image(event, cell_width)
        except (DecryptionError, OSError, ValueError) as exc:
            # A missing or tampered file must not stop the report; the report says so instead.
            logger.warning("snapshot of event %s unreadable: %s", event.pk, exc)
            notes.append(
                gettext("The snapshot of event %(number)s (%(alert)s) could not be read.")
                % {"number": event.pk, "alert": label_of(event.type)}
            )
            continue
        cells.append([image, _p(caption, styles["caption"])])
    flow: list = []
    if len(with_snapshot) > MAX_SNAPSHOTS:
        flow.append(
            _p(
                gettext("The first %(shown)d of %(all)d snapshots; the rest are in the session's record.")
                % {"shown": MAX_SNAPSHOTS, "all": len(with_snapshot)},
                styles["muted"],
            )
        )
    if cells:
        flow.append(_picture_grid(cells, SNAPSHOT_COLUMNS))
    flow += [_p(note, styles["muted"]) for note in notes]
    return flow


def _action_words(action: ProctorAction) -> tuple[str, str]:
    """(what, details) as the review page's audit trail says them (proctoring.wording)."""
    title, text = action_text(action.kind, action.details, fallback=action.get_kind_display())
    return title, text or "—"


def _actions(actions: list[ProctorAction], styles) -> list:
    if not actions:
        return [_p(gettext("No proctor acted on this session."), styles["body"])]
    rows: list[list] = [[gettext("When"), gettext("Who"), gettext("Action"), gettext("Details")]]
    for action in actions:
        title, text = _action_words(action)
        rows.append(
            [
                _local(action.created_at),
                _p(f"{_who(action.actor)} ({action.actor.get_role_display().lower()})", styles["small"]),
                _p(title, styles["small"]),
                _p(text, styles["small"]),
            ]
        )
    widths = [32 * mm, 48 * mm, 26 * mm]
    return [_table(rows, [*widths, FRAME_WIDTH - sum(widths)])]


def _review_decisions(session: ExamSession, events: list[ProctoringEvent], styles) -> list:
    reviewed = [e for e in events if e.review_status not in ("open", "none")]
    if not reviewed:
        return [_p(gettext("No alert has been reviewed yet."), styles["body"])]
    rows: list[list] = [
        [
            gettext("Alert"),
            gettext("Decision"),
            gettext("Reason"),
            gettext("Reviewer"),
            gettext("Reviewed at"),
        ]
    ]
    for event in reviewed:
        rows.append(
            [
                _p(
                    gettext("#%(number)s %(alert)s at %(time)s")
                    % {
                        "number": event.pk,
                        "alert": label_of(event.type),
                        "time": _elapsed(session, event.occurred_at),
                    },
                    styles["small"],
                ),
                _p(review_label(event.review_status), styles["small"]),
                _p(event.review_reason or "—", styles["small"]),
                _p(_who(event.reviewed_by), styles["small"]),
                _local(event.reviewed_at),
            ]
        )
    widths = [36 * mm, 17 * mm, 47 * mm, 40 * mm]
    return [_table(rows, [*widths, FRAME_WIDTH - sum(widths)])]


# --- the document ----------------------------------------------------------------------------------


def _footer_canvas(footer: str):
    """A canvas that knows the page count when it saves, for "page N of M" on every page."""
    regular, _ = _fonts()

    class FooterCanvas(Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                self.setFont(regular, 7)
                self.setFillColor(MUTED)
                self.drawString(MARGIN, 10 * mm, footer)
                page = gettext("Page %(number)d of %(total)d") % {"number": number, "total": total}
                self.drawRightString(PAGE_WIDTH - MARGIN, 10 * mm, page)
                super().showPage()
            super().save()

    return FooterCanvas


def session_report_pdf(*, session: ExamSession, generated_by: User) -> bytes:
    """The session's report as PDF bytes, its times in `generated_by`'s zone. Reads the session's
    events, actions and snapshots; writes nothing. The caller has checked that `generated_by` may
    watch the session."""
    with timezone.override(zone_of(generated_by)):
        return _report_pdf(session, generated_by)


def _report_pdf(session: ExamSession, generated_by: User) -> bytes:
    styles = _styles()
    events = session_events(session)
    actions = session_actions(session)
    who = _who(generated_by)
    generated = gettext("Generated %(when)s by %(who)s · times in %(zone)s · Procto") % {
        "when": _local(timezone.now()),
        "who": who,
        "zone": zone_label(),
    }
    flow: list = _title_block(session, events, styles)
    flow += [
        KeepTogether([_p(gettext("Timeline"), styles["h2"]), timeline_drawing(session, events)]),
        _p(gettext("Questions"), styles["h2"]),
        *_questions(session, styles),
        _p(gettext("Event log"), styles["h2"]),
        *_event_log(session, events, styles),
        _p(gettext("Snapshots"), styles["h2"]),
        *_snapshots(session, events, styles),
        *_screenshots(session, events, styles),
        _p(gettext("Proctor actions (audit trail)"), styles["h2"]),
        *_actions(actions, styles),
        _p(gettext("Review decisions"), styles["h2"]),
        *_review_decisions(session, events, styles),
        Spacer(1, 4 * mm),
    ]
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=gettext("Session report: %(student)s, %(title)s, attempt %(attempt)s")
        % {"student": _who(session.student), "title": session.exam.title, "attempt": session.attempt},
        author="Procto",
        subject=gettext("Exam session %(number)s") % {"number": session.pk},
    )
    document.build(flow, canvasmaker=_footer_canvas(generated))
    return buffer.getvalue()
