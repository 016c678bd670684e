"""The exam page's socket: webcam frames, microphone audio and browser events (docs/PROTOCOL.md)."""

from __future__ import annotations

import json
import logging
import time
from collections import deque

from asgiref.sync import sync_to_async
from django.utils.dateparse import parse_datetime

from accounts.permissions import Can, user_can
from accounts.ws_auth import CLOSE_FORBIDDEN, AuthenticatedConsumer
from exams.selectors import exams_visible_to
from procto import strict_json
from procto.db_threads import off_thread
from procto.errors import ApplicationError
from proctoring import cadence, media, services
from proctoring.models import ProctoringEvent
from proctoring.realtime import event_message
from proctoring.stream import AUDIO, FRAME, BadMessage, MediaMessage, is_bundle, parse_bundle, parse_media
from proctoring.stream_state import stream_stats
from sessions.models import ExamSession
from sessions.readiness import FRAME_INTERVAL_MS
from sessions.realtime import ALL_MONITORS_GROUP, exam_monitor_group, monitor_user_group, session_group

logger = logging.getLogger(__name__)

CLOSE_NOT_IN_PROGRESS = 4409
MAX_TEXT_BYTES = 8 * 1024
MAX_MONITOR_TEXT = 4096
# Per socket, per 10 s: well above the fastest cadence (a frame every 2 s, audio every 1 s),
# well below what a runaway or hostile client would send.
RATE_WINDOW_SECONDS = 10
RATE_LIMITS = {"frame": 20, "audio": 25, "event": 100}
SLOW_DOWN_EVERY_SECONDS = 30

# Ids and sequence numbers are 64-bit in the database; anything larger is not one.
MAX_ID = 2**63


@off_thread
def _session_for(user, session_id) -> ExamSession | None:
    return ExamSession.objects.select_related("exam").filter(pk=session_id, student=user).first()


def _ack(parts: list[MediaMessage], *, bundled: bool) -> dict:
    """One acknowledgement per message: a bundle's names its frame and its audio chunks."""
    if not bundled:
        return {"type": "ack", "kind": parts[0].kind_name, "seq": parts[0].seq}
    frames = [part.seq for part in parts if part.kind == FRAME]
    return {
        "type": "ack",
        "kind": "bundle",
        "frame": frames[0] if frames else None,
        "audio": [part.seq for part in parts if part.kind == AUDIO],
    }


def _event_seq(message) -> int | None:
    """The number of an event message, if it carries a valid one."""
    if not isinstance(message, dict) or message.get("type") != "event":
        return None
    seq = message.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < MAX_ID else None


class ExamStreamConsumer(AuthenticatedConsumer):
    async def on_authenticated(self) -> None:
        self.session = await _session_for(self.user, self.scope["url_route"]["kwargs"]["session_id"])
        if self.session is None:
            await self.refuse("not your exam session")
            return
        if not self.session.is_in_progress:
            await self.accept()
            await self.close(code=CLOSE_NOT_IN_PROGRESS, reason=f"session is {self.session.status}")
            return
        self.group = session_group(self.session.pk)
        self.recent: dict[str, deque] = {kind: deque() for kind in RATE_LIMITS}
        self.slowed_at = float("-inf")
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    def groups_joined(self) -> list[str]:
        return [*super().groups_joined(), self.group]

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        await super().disconnect(code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            if bytes_data is not None:
                await self._media(bytes_data)
            else:
                await self._text(text_data or "")
        except BadMessage as exc:
            logger.info("stream %s: rejected message: %s", self.session.pk, exc.message)
            await self._send({"type": "error", "code": exc.code, "message": exc.message, "seq": exc.seq})

    def _allow(self, kind: str) -> bool:
        now, window = time.monotonic(), self.recent[kind]
        while window and now - window[0] > RATE_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= RATE_LIMITS[kind]:
            return False
        window.append(now)
        return True

    async def _media(self, data: bytes) -> None:
        bundled = is_bundle(data)
        if bundled:
            bundle = parse_bundle(data)
            parts, refused = bundle.parts, bundle.refused
        else:
            parts, refused = [parse_media(data)], []
        allowed = []
        for part in parts:
            if self._allow(part.kind_name):
                allowed.append(part)
            else:
                refused.append(BadMessage("RATE_LIMITED", f"too many {part.kind_name} messages", part.seq))
        slow_down = False
        if allowed:
            # On the loop, one Redis round trip for the whole message (media.parts_received_async):
            # at 300 students a thread hop and a blocking publish per message were most of
            # daphne's work.
            slow_down = await media.parts_received_async(session_id=self.session.pk, parts=allowed)
            await self._send(_ack(allowed, bundled=bundled))
        for exc in refused:
            logger.info("stream %s: rejected part: %s", self.session.pk, exc.message)
            await self._send({"type": "error", "code": exc.code, "message": exc.message, "seq": exc.seq})
        if slow_down and time.monotonic() - self.slowed_at > SLOW_DOWN_EVERY_SECONDS:
            self.slowed_at = time.monotonic()
            interval = 2 * FRAME_INTERVAL_MS[self.session.exam.security_level]
            await self._send({"type": "slow-down", "frameIntervalMs": interval})

    async def _text(self, text: str) -> None:
        if len(text) > MAX_TEXT_BYTES:
            raise BadMessage("BAD_MESSAGE", f"text messages are at most {MAX_TEXT_BYTES} bytes")
        try:
            message = strict_json.loads(text)
        except strict_json.UnstorableValue as exc:
            # The seq tells the page to drop that event instead of sending it again forever.
            raise BadMessage("BAD_MESSAGE", exc.message, _event_seq(exc.document)) from exc
        except strict_json.RejectedJSON as exc:
            raise BadMessage("BAD_MESSAGE", exc.message) from exc
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "hello":
            await self._welcome()
        elif kind == "event":
            await self._event(message)
        elif kind == "heartbeat":
            # Every 10 s from the page: the time to make sure a Redis restart left it deaf no longer.
            await self.groups_rejoin()
            # Answered, so a page without media (camera-exempt) can still tell a dead socket.
            await self._send({"type": "heartbeat-ack"})
        else:
            raise BadMessage("BAD_MESSAGE", "expected a hello, event or heartbeat message")

    async def _welcome(self) -> None:
        # Cache reads only: off the process's one sync thread, as media_received.
        stats = await sync_to_async(stream_stats, thread_sensitive=False)(self.session.pk)
        await self._send(
            {
                "type": "welcome",
                # A session the overload governor slowed keeps its slowed cadence (proctoring.cadence).
                "frameIntervalMs": cadence.session_frame_interval_ms(self.session, stats["cadence"]),
                "audioChunkMs": 1000,
                "lastFrameSeq": stats["frame:last_seq"] or 0,
                "lastAudioSeq": stats["audio:last_seq"] or 0,
            }
        )

    async def _event(self, message: dict) -> None:
        seq, event = _event_seq(message), message.get("event")
        if seq is None or not isinstance(event, dict):
            raise BadMessage("BAD_MESSAGE", 'expected {"type": "event", "seq": n, "event": {...}}')
        if not self._allow("event"):
            raise BadMessage("RATE_LIMITED", "too many events", seq)
        timestamp = event.get("timestamp")
        try:
            await off_thread(services.event_record_client)(
                session_id=self.session.pk,
                student=self.user,
                type=str(event.get("type", "")),
                severity=None if event.get("severity") is None else str(event["severity"]),
                details=event.get("details") or {},
                occurred_at=parse_datetime(timestamp) if isinstance(timestamp, str) else None,
                client_seq=seq,
            )
        except ApplicationError as exc:
            raise BadMessage("BAD_MESSAGE", exc.message, seq) from exc
        except ValueError as exc:  # an unparseable timestamp
            raise BadMessage("BAD_MESSAGE", "timestamp must be ISO 8601", seq) from exc
        await self._send({"type": "event-ack", "seq": seq})

    async def session_notify(self, event: dict) -> None:
        message = event["message"]
        await self._send(message)
        if message["type"] in ("terminated", "ended"):
            await self.close(code=CLOSE_NOT_IN_PROGRESS, reason=message["type"])

    async def _send(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))


# --- the proctors' live monitor ------------------------------------------------------------------------

CATCH_UP_LIMIT = 500


@off_thread
def _watched_exam_ids(user, only_exam: str | None, *, reload: bool = False) -> list[int] | None:
    """Exam ids the user may watch (None: all exams, for admins); [] if none.

    `reload`: read the user again first (their role may have changed since the socket opened).
    """
    if reload:
        try:
            user.refresh_from_db(fields=["role", "is_active"])
        except type(user).DoesNotExist:
            return []
    if not user_can(user, Can.MONITOR_SESSIONS):
        return []
    ids = (
        None
        if user_can(user, Can.SEE_ALL_EXAMS)
        else list(exams_visible_to(user).values_list("pk", flat=True))
    )
    if only_exam:
        wanted = int(only_exam) if only_exam.isdigit() and len(only_exam) <= 18 else -1
        return [wanted] if ids is None or wanted in ids else []
    return ids


@off_thread
def _events_since(exam_ids: list[int] | None, last_id: int) -> list[dict]:
    # Only what the socket would have sent live: a record (review "none") in a catch-up would
    # look like a message the socket lost, and the page would replace a healthy socket.
    events = ProctoringEvent.objects.filter(pk__gt=last_id).exclude(review_status="none").order_by("pk")
    if exam_ids is not None:
        events = events.filter(session__exam_id__in=exam_ids)
    return [event_message(e) for e in events[:CATCH_UP_LIMIT]]


def _since_id(text: str | None) -> int:
    """The event id of a `since` message; ValueError (saying why, for the page) for anything else."""
    if text is not None and len(text) > MAX_MONITOR_TEXT:
        # The only message is ~40 bytes; a big one would cost the parse before being refused.
        raise ValueError(f"messages are at most {MAX_MONITOR_TEXT} bytes")
    message = strict_json.loads(text or "")  # its RejectedJSON is a ValueError too
    if not isinstance(message, dict) or message.get("type") != "since":
        raise ValueError('expected {"type": "since", "lastEventId": n}')
    try:
        last_id = int(message.get("lastEventId", 0))
    except (TypeError, ValueError) as exc:
        raise ValueError("lastEventId must be a number") from exc
    if not 0 <= last_id < MAX_ID:
        raise ValueError("lastEventId must be an event id")
    return last_id


class MonitorConsumer(AuthenticatedConsumer):
    """Live alerts for proctors, teachers and admins: the exams they watch, nothing else.

    After a reconnect the page sends {"type": "since", "lastEventId": n} and gets what it
    missed, so a Redis restart or a dropped connection loses no alert. When the user's
    assignments or role change, the socket follows at once (proctoring.signals): it leaves the
    exams they may no longer watch, joins new ones and tells the page ({"type": "scope"}), or
    closes with 4403 when nothing is left.
    """

    async def on_authenticated(self) -> None:
        query = dict(
            part.split("=", 1)
            for part in self.scope.get("query_string", b"").decode().split("&")
            if "=" in part
        )
        self.only_exam = query.get("exam")
        # Listen for scope changes before reading the scope: a change committed in between
        # would otherwise reach a group this socket had not joined yet, and be lost.
        self.monitor_groups = [monitor_user_group(self.user.pk)]
        await self.channel_layer.group_add(self.monitor_groups[0], self.channel_name)
        self.exam_ids = await _watched_exam_ids(self.user, self.only_exam)
        if self.exam_ids == []:
            await self.refuse("no exams to watch")
            return
        await self._join(self._exam_groups())
        await self.accept()

    def _exam_groups(self) -> list[str]:
        if self.exam_ids is None:
            return [ALL_MONITORS_GROUP]
        return [exam_monitor_group(i) for i in self.exam_ids]

    async def _join(self, groups: list[str]) -> None:
        for group in groups:
            if group not in self.monitor_groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.monitor_groups.append(group)

    async def monitor_scope_changed(self, event: dict) -> None:
        before = set(self._exam_groups())
        self.exam_ids = await _watched_exam_ids(self.user, self.only_exam, reload=True)
        after = set(self._exam_groups()) if self.exam_ids != [] else set()
        for group in before - after:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.monitor_groups.remove(group)
        if not after:
            await self.close(code=CLOSE_FORBIDDEN, reason="no exams to watch any more")
            return
        await self._join(sorted(after - before))
        await self._send({"type": "scope"})

    def groups_joined(self) -> list[str]:
        return [*super().groups_joined(), *self.monitor_groups]

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "monitor_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        await super().disconnect(code)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            last_id = _since_id(text_data)
        except ValueError as exc:
            logger.info("monitor of user %s: rejected message: %s", self.user.pk, exc)
            await self._send({"type": "error", "code": "BAD_MESSAGE", "message": str(exc)})
            return
        # The page asks on every open, after a quiet spell and every 30 s (its sweep).
        await self.groups_rejoin()
        events = await _events_since(self.exam_ids, last_id)
        await self._send({"type": "catch-up", "events": events})

    async def proctoring_alert_raised(self, event: dict) -> None:
        await self._send({"type": "alert", "event": event["event"]})

    async def proctoring_alert_updated(self, event: dict) -> None:
        await self._send({"type": "alert-updated", "event": event["event"]})

    async def proctoring_session_updated(self, event: dict) -> None:
        await self._send({"type": "session", "session": event["session"]})

    async def proctoring_session_media(self, event: dict) -> None:
        await self._send({"type": "media", "session": event["session"]})

    async def proctoring_session_cadence(self, event: dict) -> None:
        await self._send({"type": "cadence", "session": event["session"]})

    async def proctoring_admission_updated(self, event: dict) -> None:
        await self._send({"type": "admission", "admission": event["admission"]})

    async def _send(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))
