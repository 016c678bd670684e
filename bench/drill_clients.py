"""The simulated pages of bench/drill.py: students and a proctor's live monitor on real HTTPS and
WebSockets through nginx, each behaving after a failure as its page does.

- Autosave (static/js/exam/autosave.js): every change gets the next number of the student's
  counter and waits in a queue holding the newest change of each question; the queue goes out
  one request at a time. A save without an answer (no response, a 5xx, 429) stays queued and is
  sent again with the same numbers: after 2 s, doubling to 30 s, or at once when the student
  types again. What a 200 acknowledged is recorded, to be found in the database later.
- The stream socket (static/js/exam/stream.js): a fresh single-use ticket for every connection,
  then `hello`; media only after `welcome`, sequence numbers continuing across reconnects; a
  dropped socket is reopened after 0.25 s + full jitter of 1 s doubling to 30 s; a heartbeat
  every 10 s, and a socket silent for 20 s while media is sent is given up. Audio chunks wait
  for the next frame (at most 2.5 s) and go with it in one bundle (kind 3).
- Browser events (static/js/exam/events.js): numbered, kept in an outbox until `event-ack`, sent
  again on every new socket and 10 s after an unacknowledged send; after 5 s without a socket
  they go to POST log-event with their number instead.
- The monitor (static/js/monitor/socket.js): `since` with the highest event id seen on every
  open; reopened after 1, 2, 4, 8, then every 15 s; after 20 s of silence it asks `since`
  itself, and a probe answered with events it never got live (a deaf socket) or not answered
  within 10 s replaces the socket; every 30 s it sweeps: `since` from the highest id it had seen
  at the sweep before, for live messages lost on the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import ssl
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import websockets

from proctoring.stream import AUDIO, AUDIO_HOLD_MS, FRAME, HEADER, acked_parts, encode_bundle

# The pages' timings, in seconds (the files named in the module docstring).
STREAM_BACKOFF_FLOOR = 0.25
STREAM_BACKOFF_BASE = 1.0
STREAM_BACKOFF_CAP = 30.0
HEARTBEAT_EVERY = 10.0
SILENCE_LIMIT = 20.0
EVENT_SOCKET_GRACE = 5.0
EVENT_RESEND_AFTER = 10.0
EVENT_HTTP_RETRY = 10.0
RATE_LIMIT_RETRY = 3.0
SAVE_RETRY_MIN = 2.0
SAVE_RETRY_MAX = 30.0
SAVE_BATCH = 100
MONITOR_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)
QUIET_PROBE = 20.0
PROBE_ANSWER = 10.0
SWEEP_EVERY = 30.0
CATCH_UP_LIMIT = 500  # proctoring.consumers.CATCH_UP_LIMIT: a full answer means there is more
REQUEST_TIMEOUT = 30.0
OPEN_TIMEOUT = 30.0  # browsers set none; daphne gives a handshake 30 s (docker-compose.yml)
AUDIO_EVERY = 1.0
AUDIO_HOLD = AUDIO_HOLD_MS / 1000  # audio waits at most this for a frame, as on the page
CLOSE_GOING_AWAY = 4000
CLOSE_FORBIDDEN, CLOSE_NOT_IN_PROGRESS = 4403, 4409
SAVE_CLOSED_CODES = {"DEADLINE_PASSED", "SESSION_CLOSED"}

WORDS = (
    "light", "scatters", "off", "molecules", "in", "the", "air", "and", "shorter", "wavelengths",
    "scatter", "more", "strongly", "so", "blue", "reaches", "our", "eyes", "from", "every",
)  # fmt: skip


def tls_without_verification() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the drill's certificate is self-signed
    return context


@dataclass
class Media:
    one_face: bytes  # 320x240 JPEG of one real face, as the exam page sends
    two_faces: bytes  # two real people sharing the camera
    quiet: tuple[bytes, ...]  # 1 s chunks of a quiet room's microphone (16 kHz PCM)


@dataclass
class PhaseStats:
    """What the clients saw during one phase of the drill."""

    name: str
    reconnect_ms: dict[str, list[float]] = field(default_factory=lambda: {"stream": [], "monitor": []})
    drops: Counter = field(default_factory=Counter)  # socket kind -> times it went down
    close_codes: Counter = field(default_factory=Counter)  # "stream:1006" -> count
    http_5xx: int = 0
    ws_5xx: int = 0  # socket handshakes answered with a 5xx
    http_status: Counter = field(default_factory=Counter)  # every answer that was not a 2xx
    request_errors: Counter = field(default_factory=Counter)  # no answer at all
    saves_acked: int = 0
    saves_failed: int = 0
    events_acked: int = 0
    events_refused: int = 0
    frames_acked: int = 0
    audio_acked: int = 0
    media_errors: Counter = field(default_factory=Counter)
    slow_downs: int = 0
    warnings: int = 0
    sessions_ended: int = 0
    deaf_monitor_sockets: int = 0


@dataclass(frozen=True)
class AnswerAck:
    phase: int
    session_id: str
    question_id: str
    seq: int
    value: object


@dataclass(frozen=True)
class EventAck:
    phase: int
    session_id: str
    seq: int


@dataclass
class Student:
    index: int
    session_id: str
    user_id: int
    token: str
    questions: list[tuple[str, str, list[str]]]  # (id, type, options)
    alerting: bool
    rng: random.Random
    frame_interval: float
    frame_seq: int = 0
    audio_seq: int = 0
    answer_seq: int = 0
    event_seq: int = 0
    queue: dict[str, dict] = field(default_factory=dict)  # question id -> newest unacknowledged change
    typed: dict[str, str] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    outbox: dict[int, dict] = field(default_factory=dict)  # event seq -> {"event", "sent_at"}
    events_poster: asyncio.Task | None = None  # POSTs events while the socket is down
    socket: websockets.ClientConnection | None = None
    live: bool = False
    down_since: float | None = None  # monotonic time the live socket went away
    last_heard: float = 0.0
    last_media_sent: float = 0.0
    held_audio: list[tuple[int, bytes]] = field(default_factory=list)  # (seq, message) for the next bundle
    held_since: float | None = None
    sent: dict[tuple[int, int], float] = field(default_factory=dict)
    last_save_ok: float = 0.0
    ended: bool = False


@dataclass
class Monitor:
    user_id: int
    token: str
    exam_id: int
    seen: set[int] = field(default_factory=set)
    last_id: int = 0
    socket: websockets.ClientConnection | None = None
    live: bool = False
    down_since: float | None = None
    last_heard: float = 0.0
    probe_sent_at: float = 0.0
    sweep_from: int | None = None  # the highest id seen at the last sweep (or the first open)
    waiter: asyncio.Future | None = None
    full_catch_ups: int = 0
    stopped: bool = False

    def apply(self, events: list[dict]) -> list[dict]:
        """Apply events by id, as the page does; returns those not seen before."""
        new = [event for event in events if event["id"] not in self.seen]
        for event in new:
            self.seen.add(event["id"])
        self.last_id = max([self.last_id, *(event["id"] for event in events)])
        return new


class Drill:
    """The clients' shared state: where the server is, the phase being measured, what was acked."""

    def __init__(
        self,
        *,
        base_url: str,
        media: Media,
        token_renew: Callable[[int], str],
        event_every: tuple[float, float],
        save_every: tuple[float, float],
    ) -> None:
        self.base_url = base_url
        self.ws_url = base_url.replace("https://", "wss://", 1)
        self.media = media
        self.token_renew = token_renew
        self.event_every = event_every
        self.save_every = save_every
        self.tls = tls_without_verification()
        self.phase = PhaseStats("start")
        self.phase_index = 0
        self.stopping = False
        self.answer_acks: list[AnswerAck] = []
        self.event_acks: list[EventAck] = []
        self.http: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, ssl=self.tls, keepalive_timeout=30)
        self.http = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        )

    async def close(self) -> None:
        if self.http:
            await self.http.close()

    async def api(
        self, holder: Student | Monitor, method: str, path: str, body=None
    ) -> tuple[int, dict | None]:
        """One API call as the pages' api.js makes it; status 0 when no answer came."""
        headers = {"Authorization": f"Bearer {holder.token}"}
        try:
            async with self.http.request(
                method, self.base_url + path, json=body, headers=headers
            ) as response:
                status, text = response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.phase.request_errors[type(exc).__name__] += 1
            return 0, None
        if status >= 300:
            self.phase.http_status[status] += 1
        if status >= 500:
            self.phase.http_5xx += 1
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if status == 401:
            # An access token lasts 15 minutes; the pages' session cookie lasts the exam. The
            # caller retries with the fresh token.
            with contextlib.suppress(Exception):
                holder.token = await asyncio.to_thread(self.token_renew, holder.user_id)
        return status, data

    async def ticket(self, holder: Student | Monitor) -> str | None:
        status, data = await self.api(holder, "POST", "/api/auth/ws-ticket")
        if status in (200, 201) and data and data.get("success"):
            return data["data"]["ticket"]
        return None

    async def connect(self, path: str, ticket: str) -> websockets.ClientConnection | None:
        try:
            return await websockets.connect(
                f"{self.ws_url}{path}{'&' if '?' in path else '?'}ticket={ticket}",
                ssl=self.tls,
                origin=self.base_url,
                open_timeout=OPEN_TIMEOUT,
                ping_interval=None,
                compression=None,
                max_size=2**22,
                proxy=None,
            )
        except websockets.InvalidStatus as exc:
            status = exc.response.status_code
            self.phase.http_status[status] += 1
            self.phase.ws_5xx += status >= 500
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            self.phase.request_errors[f"ws {type(exc).__name__}"] += 1
        return None

    def reconnected(self, kind: str, down_since: float | None) -> None:
        if down_since is not None:
            self.phase.reconnect_ms[kind].append(1000 * (time.monotonic() - down_since))


# --- a student ------------------------------------------------------------------------------------


def answer_change(student: Student) -> None:
    """The student changes an answer: the next number of their counter, newest change queued."""
    qid, qtype, options = student.rng.choice(student.questions)
    student.answer_seq += 1
    if qtype == "MCQ":
        value = student.rng.choice(options)
    elif qtype == "MCQ-multiple":
        value = student.rng.sample(options, student.rng.randint(1, len(options)))
    else:
        text = student.typed.get(qid, "")
        text = "" if len(text) > 1500 else text
        words = " ".join(student.rng.choice(WORDS) for _ in range(student.rng.randint(5, 15)))
        # The number makes every version of the text different, so a stale one cannot pass.
        value = student.typed[qid] = f"{text} {words} ({student.answer_seq})".strip()
    student.queue.pop(qid, None)  # only the newest change of a question is sent
    student.queue[qid] = {
        "questionId": qid,
        "studentAnswer": value,
        "timeSpent": student.answer_seq * 5,
        "sequence": student.answer_seq,
    }
    student.changed.set()


async def typing_run(drill: Drill, student: Student) -> None:
    low, high = drill.save_every
    await asyncio.sleep(student.rng.uniform(0, high))
    while not (drill.stopping or student.ended):
        for _ in range(student.rng.randint(1, 2)):
            answer_change(student)
        await asyncio.sleep(student.rng.uniform(low, high))


async def save_once(drill: Drill, student: Student) -> bool:
    """Send the oldest queued changes; True when the queue moved on (acknowledged or refused)."""
    batch = list(student.queue.values())[:SAVE_BATCH]
    body = {"answers": batch, "sequence": max(item["sequence"] for item in batch)}
    status, data = await drill.api(
        student, "PUT", f"/api/exam-sessions/{student.session_id}/save-answers", body
    )
    if status == 200 and data and data.get("success"):
        for item in batch:
            if student.queue.get(item["questionId"]) is item:  # a newer change made meanwhile stays
                del student.queue[item["questionId"]]
            drill.answer_acks.append(
                AnswerAck(
                    drill.phase_index,
                    student.session_id,
                    item["questionId"],
                    item["sequence"],
                    item["studentAnswer"],
                )
            )
        drill.phase.saves_acked += 1
        student.last_save_ok = time.monotonic()
        return True
    drill.phase.saves_failed += 1
    error = (data or {}).get("error") or {}
    if status == 409 and error.get("code") in SAVE_CLOSED_CODES:
        student.ended = True
        drill.phase.sessions_ended += 1
        return True
    if status == 400 and (error.get("details") or {}).get("questionId"):
        student.queue.pop(str(error["details"]["questionId"]), None)
        return True
    return False


async def saving_run(drill: Drill, student: Student) -> None:
    delay = SAVE_RETRY_MIN
    while not (drill.stopping or student.ended):
        if not student.queue:
            student.changed.clear()
            await student.changed.wait()
            continue
        student.changed.clear()
        if await save_once(drill, student):
            delay = SAVE_RETRY_MIN
            continue
        # Not saved: again after the retry delay, or at once when the student types (the page's
        # record() flushes), with the same numbers.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(student.changed.wait(), delay + student.rng.random())
        delay = min(SAVE_RETRY_MAX, delay * 2)


async def stream_run(drill: Drill, student: Student) -> None:
    """Open the stream socket, keep it open, reopen it as the page does when it drops."""
    attempt = 0
    path = f"/ws/exam-sessions/{student.session_id}/stream/"
    while not (drill.stopping or student.ended):
        if attempt or student.down_since is not None:  # the page opens its first socket at once
            ceiling = min(STREAM_BACKOFF_CAP, STREAM_BACKOFF_BASE * 2**attempt)
            await asyncio.sleep(STREAM_BACKOFF_FLOOR + student.rng.random() * ceiling)
        attempt += 1
        ticket = await drill.ticket(student)
        socket = await drill.connect(path, ticket) if ticket else None
        if socket is None:
            continue
        try:
            await socket.send(
                json.dumps(
                    {"type": "hello", "lastFrameSeq": student.frame_seq, "lastAudioSeq": student.audio_seq}
                )
            )
            welcome = json.loads(await asyncio.wait_for(socket.recv(), OPEN_TIMEOUT))
            if welcome.get("type") != "welcome":
                raise websockets.ConnectionClosedError(None, None)
        except (websockets.ConnectionClosed, TimeoutError, ValueError):
            drill.phase.close_codes[f"stream:{socket.close_code}"] += 1
            if socket.close_code in (CLOSE_FORBIDDEN, CLOSE_NOT_IN_PROGRESS):
                student.ended = True
                drill.phase.sessions_ended += 1
            await socket.close()
            continue
        attempt = 0
        student.frame_seq = max(student.frame_seq, welcome.get("lastFrameSeq") or 0)
        student.audio_seq = max(student.audio_seq, welcome.get("lastAudioSeq") or 0)
        student.frame_interval = welcome["frameIntervalMs"] / 1000
        student.socket, student.live, student.last_heard = socket, True, time.monotonic()
        drill.reconnected("stream", student.down_since)
        student.down_since = None
        for seq in list(student.outbox):
            await event_send(student, seq)
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in socket:
                stream_message(drill, student, raw)
        student.live, student.socket = False, None
        student.down_since = time.monotonic()
        student.sent.clear()  # unacknowledged media on a dead socket is gone, as on the page
        drill.phase.drops["stream"] += 1
        drill.phase.close_codes[f"stream:{socket.close_code}"] += 1
        if socket.close_code in (CLOSE_FORBIDDEN, CLOSE_NOT_IN_PROGRESS):
            student.ended = True
            drill.phase.sessions_ended += 1


def stream_message(drill: Drill, student: Student, raw) -> None:
    student.last_heard = time.monotonic()
    message = json.loads(raw)
    kind = message.get("type")
    if kind == "ack":
        for code, seq in acked_parts(message):
            if student.sent.pop((code, seq), None) is not None:
                if code == FRAME:
                    drill.phase.frames_acked += 1
                else:
                    drill.phase.audio_acked += 1
    elif kind == "event-ack":
        if student.outbox.pop(message["seq"], None) is not None:
            drill.event_acks.append(EventAck(drill.phase_index, student.session_id, message["seq"]))
            drill.phase.events_acked += 1
    elif kind == "error":
        seq, entry = message.get("seq"), student.outbox.get(message.get("seq"))
        if entry is None:
            drill.phase.media_errors[message.get("code")] += 1
        elif message.get("code") == "RATE_LIMITED":
            entry["sent_at"] = time.monotonic() - EVENT_RESEND_AFTER + RATE_LIMIT_RETRY
        else:
            student.outbox.pop(seq, None)
            drill.phase.events_refused += 1
    elif kind == "slow-down":
        drill.phase.slow_downs += 1
        student.frame_interval = message["frameIntervalMs"] / 1000
    elif kind == "warning":
        drill.phase.warnings += 1


async def event_send(student: Student, seq: int) -> None:
    entry = student.outbox.get(seq)
    if entry is None or not student.live:
        return
    with contextlib.suppress(websockets.ConnectionClosed):
        await student.socket.send(json.dumps({"type": "event", "seq": seq, "event": entry["event"]}))
        entry["sent_at"] = time.monotonic()


async def events_post(drill: Drill, student: Student) -> None:
    """The socket has been down a while: events go over HTTP, with their numbers."""
    try:
        while student.outbox and not student.live and not drill.stopping:
            seq = next(iter(student.outbox))
            entry = student.outbox[seq]
            body = {**entry["event"], "seq": seq}
            status, _ = await drill.api(
                student, "POST", f"/api/exam-sessions/{student.session_id}/log-event", body
            )
            if status == 0 or status == 429 or status >= 500 or status == 401:
                await asyncio.sleep(EVENT_HTTP_RETRY)
                continue
            if student.outbox.pop(seq, None) is not None:
                if status == 201:
                    drill.event_acks.append(EventAck(drill.phase_index, student.session_id, seq))
                    drill.phase.events_acked += 1
                else:
                    drill.phase.events_refused += 1
    finally:
        student.events_poster = None


async def media_run(drill: Drill, student: Student, cycle: tuple[str, ...]) -> None:
    """Frames at the exam's cadence, 1 s audio chunks, an occasional browser event, heartbeats."""
    rng, start = student.rng, time.time()
    next_frame = start + rng.uniform(0, student.frame_interval)
    next_audio = start + rng.uniform(0, AUDIO_EVERY)
    next_event = start + rng.uniform(*drill.event_every)
    next_tick = start + 1.0
    next_heartbeat = start + HEARTBEAT_EVERY
    slot, offset = 0, rng.randrange(len(cycle))
    while not (drill.stopping or student.ended):
        flush_at = math.inf if student.held_since is None else student.held_since + AUDIO_HOLD
        due = min(next_frame, next_audio, next_event, next_tick, flush_at)
        await asyncio.sleep(max(0.0, due - time.time()))
        now = time.time()
        if now >= next_frame:
            shown = cycle[(slot + offset) % len(cycle)] if student.alerting else "one"
            slot += 1
            next_frame += student.frame_interval
            jpeg = drill.media.one_face if shown == "one" else drill.media.two_faces
            await media_send(student, FRAME, jpeg, now)
        if now >= next_audio:
            next_audio += AUDIO_EVERY
            await media_send(
                student, AUDIO, drill.media.quiet[student.audio_seq % len(drill.media.quiet)], now
            )
        if student.held_since is not None and now >= student.held_since + AUDIO_HOLD:
            await bundle_send(student, None, now)
        if now >= next_event:
            next_event += rng.uniform(*drill.event_every)
            student.event_seq += 1
            event = {
                "type": "window-blur",
                "severity": "low",
                "details": {"drill": True},
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
                + f".{int(now % 1 * 1000):03d}Z",
            }
            student.outbox[student.event_seq] = {"event": event, "sent_at": None}
            await event_send(student, student.event_seq)
        if now >= next_tick:
            next_tick += 1.0
            await student_tick(drill, student, heartbeat=now >= next_heartbeat)
            if now >= next_heartbeat:
                next_heartbeat += HEARTBEAT_EVERY


async def media_send(student: Student, kind: int, payload: bytes, now: float) -> None:
    """As the page: only while the socket is live; a chunk is held for the next frame's bundle."""
    if not student.live:
        student.held_audio, student.held_since = [], None
        return
    if kind == AUDIO:
        student.audio_seq += 1
        message = HEADER.pack(AUDIO, student.audio_seq, int(now * 1000)) + payload
        student.held_audio.append((student.audio_seq, message))
        student.held_since = now if student.held_since is None else student.held_since
        return
    student.frame_seq += 1
    await bundle_send(
        student, (student.frame_seq, HEADER.pack(FRAME, student.frame_seq, int(now * 1000)) + payload), now
    )


async def bundle_send(student: Student, frame: tuple[int, bytes] | None, now: float) -> None:
    audio, student.held_audio, student.held_since = student.held_audio, [], None
    if not student.live or not (audio or frame):
        return
    parts = [message for _, message in audio] + ([frame[1]] if frame else [])
    try:
        await student.socket.send(encode_bundle(parts))
    except websockets.ConnectionClosed:
        return
    for seq, _ in audio:
        student.sent[(AUDIO, seq)] = now
    if frame:
        student.sent[(FRAME, frame[0])] = now
    student.last_media_sent = time.monotonic()


async def student_tick(drill: Drill, student: Student, *, heartbeat: bool) -> None:
    now = time.monotonic()
    if student.live:
        for seq, entry in list(student.outbox.items()):
            if entry["sent_at"] is not None and now - entry["sent_at"] > EVENT_RESEND_AFTER:
                await event_send(student, seq)
        if heartbeat:
            if student.last_media_sent - student.last_heard > SILENCE_LIMIT:
                await student.socket.close(CLOSE_GOING_AWAY, "no answer from the server")
            else:
                with contextlib.suppress(websockets.ConnectionClosed):
                    await student.socket.send(json.dumps({"type": "heartbeat"}))
    elif (
        student.outbox
        and student.events_poster is None
        and student.down_since is not None
        and now - student.down_since > EVENT_SOCKET_GRACE
    ):
        student.events_poster = asyncio.create_task(events_post(drill, student))


# --- the proctor's monitor ------------------------------------------------------------------------


async def monitor_run(drill: Drill, monitor: Monitor) -> None:
    attempt = 0
    path = f"/ws/monitor/?exam={monitor.exam_id}"
    while not (drill.stopping or monitor.stopped):
        if attempt or monitor.down_since is not None:
            await asyncio.sleep(MONITOR_BACKOFF[min(attempt, len(MONITOR_BACKOFF) - 1)])
        attempt += 1
        ticket = await drill.ticket(monitor)
        socket = await drill.connect(path, ticket) if ticket else None
        if socket is None:
            continue
        monitor.socket, monitor.probe_sent_at = socket, 0.0
        if monitor.sweep_from is None:
            monitor.sweep_from = monitor.last_id
        try:
            await socket.send(json.dumps({"type": "since", "lastEventId": monitor.last_id}))
            while True:  # the first catch-up says the socket works
                message = json.loads(await asyncio.wait_for(socket.recv(), OPEN_TIMEOUT))
                monitor_message(drill, monitor, message)
                if message.get("type") == "catch-up":
                    break
        except (websockets.ConnectionClosed, TimeoutError):
            drill.phase.close_codes[f"monitor:{socket.close_code}"] += 1
            if socket.close_code in (4401, CLOSE_FORBIDDEN):
                monitor.stopped = True
            await socket.close()
            continue
        attempt = 0
        monitor.live, monitor.last_heard = True, time.monotonic()
        drill.reconnected("monitor", monitor.down_since)
        monitor.down_since = None
        watchdog = asyncio.create_task(monitor_watch(drill, monitor, socket))
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in socket:
                monitor.last_heard = time.monotonic()
                message = json.loads(raw)
                probed = monitor.probe_sent_at and message.get("type") == "catch-up"
                new = monitor_message(drill, monitor, message)
                if probed:
                    monitor.probe_sent_at = 0.0
                    if new:  # alerts this socket should have had live: it is deaf, replace it
                        drill.phase.deaf_monitor_sockets += 1
                        await socket.close(CLOSE_GOING_AWAY, "not answering")
        watchdog.cancel()
        monitor.live, monitor.socket = False, None
        monitor.down_since = time.monotonic()
        drill.phase.drops["monitor"] += 1
        drill.phase.close_codes[f"monitor:{socket.close_code}"] += 1
        if socket.close_code in (4401, CLOSE_FORBIDDEN):
            monitor.stopped = True


def monitor_message(drill: Drill, monitor: Monitor, message: dict) -> list[dict]:
    kind = message.get("type")
    if kind in ("alert", "alert-updated"):
        return monitor.apply([message["event"]])
    if kind != "catch-up":
        return []
    events = message["events"]
    new = monitor.apply(events)
    if len(events) >= CATCH_UP_LIMIT:
        monitor.full_catch_ups += 1
    if monitor.waiter is not None and not monitor.waiter.done():
        monitor.waiter.set_result(events)
    elif len(events) >= CATCH_UP_LIMIT and monitor.socket is not None:
        # More than one answer's worth was missed: ask for the rest at once.
        asyncio.get_running_loop().create_task(
            monitor.socket.send(json.dumps({"type": "since", "lastEventId": monitor.last_id}))
        )
    return new


async def monitor_watch(drill: Drill, monitor: Monitor, socket) -> None:
    """The page's quiet probe (`since` after 20 s of silence; no answer in 10 s replaces the
    socket) and its sweep (`since` from the last sweep's highest id, every 30 s)."""
    next_sweep = time.monotonic() + SWEEP_EVERY
    while True:
        await asyncio.sleep(2.0)
        now = time.monotonic()
        if now >= next_sweep:
            next_sweep += SWEEP_EVERY
            seen = monitor.last_id
            if not monitor.probe_sent_at:
                with contextlib.suppress(websockets.ConnectionClosed):
                    await socket.send(json.dumps({"type": "since", "lastEventId": monitor.sweep_from}))
            monitor.sweep_from = seen
        if monitor.probe_sent_at and now - monitor.probe_sent_at > PROBE_ANSWER:
            drill.phase.deaf_monitor_sockets += 1
            await socket.close(CLOSE_GOING_AWAY, "not answering")
            return
        if not monitor.probe_sent_at and now - monitor.last_heard > QUIET_PROBE:
            monitor.probe_sent_at = now
            with contextlib.suppress(websockets.ConnectionClosed):
                await socket.send(json.dumps({"type": "since", "lastEventId": monitor.last_id}))


async def monitor_catch_up(monitor: Monitor, *, timeout: float = 60.0) -> bool:
    """What the page's next sweep asks (`since` the last sweep's highest id), then `since` until
    an answer is not full; False if the monitor could not be reached within `timeout`."""
    deadline = time.monotonic() + timeout
    since = monitor.sweep_from if monitor.sweep_from is not None else monitor.last_id
    while time.monotonic() < deadline:
        if not monitor.live or monitor.socket is None:
            await asyncio.sleep(0.2)
            continue
        monitor.waiter = asyncio.get_running_loop().create_future()
        try:
            await monitor.socket.send(json.dumps({"type": "since", "lastEventId": since}))
            events = await asyncio.wait_for(monitor.waiter, 15)
        except (websockets.ConnectionClosed, TimeoutError):
            continue
        finally:
            monitor.waiter = None
        if len(events) < CATCH_UP_LIMIT:
            return True
        since = max(event["id"] for event in events)  # the rest of a full answer
    return False
