"""Frames accepted by this web process go to the workers a batch at a time, not one task each.

Celery's cost per task (~0.64 ms to publish here, ~2 ms on the worker) was a large share of a
frame's cost at 300 students. So each web process holds the frames its sockets accepted for at
most `settings.FRAME_BATCH_SECONDS` (50 ms by default) and sends them as one
`proctoring.tasks.frames_analyse` task; the worker analyses each frame on its own
(pipeline.frames_analyse), with the done marks, stale dropping and pending count of one.

A flusher thread sends a batch once its oldest frame has waited the window, whether or not
another frame comes, and never on the event loop; a batch that reaches FRAME_BATCH_MAX_FRAMES
goes at once. Frames belong to the process, not to a socket: a socket that closes leaves its
frames in the next batch. A process that exits normally (SIGTERM, SIGINT: atexit) sends what it
holds first; one killed outright (SIGKILL, a crash) loses the frames of its last window, which
were acknowledged to their pages, as a daphne killed loses what its sockets had not read yet.
Embedded mode (eager Celery) has no batches: each frame is analysed in the web process at once.

Audio chunks travel the same way, in batches of their own (`proctoring.tasks.audio_chunks_analyse`
on the audio queue): a class sends a second of audio per student per second, twice as many
messages as frames, and a task each cost the workers as much per chunk as the analysis of a
quiet one. A chunk is never dropped by the workers; one held when the process is killed outright
is lost as a held frame is.
"""

from __future__ import annotations

import atexit
import base64
import logging
import os
import threading
import time
from collections.abc import Callable

import structlog
from django.conf import settings

from proctoring import tasks

logger = logging.getLogger(__name__)

# A full batch goes at once, whatever the window: one worker analyses a batch frame after frame
# (~7-16 ms each), so a bigger one would keep the last frame's alert waiting and the other
# workers idle, for a per-task cost already shared 16 ways.
FRAME_BATCH_MAX_FRAMES = 16

# One frame of a batch, as the task carries it (JSON): [session_id, seq, captured_ms, jpeg in
# base64, the request_id of the socket that sent it (its log lines in the worker carry it)].
BatchedFrame = list


class FrameBatcher:
    """Collects frames from any thread and hands them to `send` in batches (see the module)."""

    def __init__(
        self,
        *,
        window_seconds: float,
        send: Callable[[list[BatchedFrame]], None],
        max_frames: int = FRAME_BATCH_MAX_FRAMES,
        name: str = "frame",
    ) -> None:
        self.name = name
        self.window_seconds = window_seconds
        self.max_frames = max_frames
        self._send_batch = send
        self._frames: list[BatchedFrame] = []
        self._arrived: list[float] = []  # time.monotonic() of each frame held, oldest first
        self._condition = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, frame: BatchedFrame) -> None:
        """Queue a frame for the next batch. Never sends from the calling thread (the socket's
        event loop) while the process runs: a full batch wakes the flusher, which sends it."""
        with self._condition:
            # Without a window (FRAME_BATCH_SECONDS=0: a task per frame) the flusher still sends:
            # a publish blocks on the broker, and this thread is the socket's event loop.
            if self._closed:
                direct = True
            else:
                direct = False
                self._frames.append(frame)
                self._arrived.append(time.monotonic())
                if len(self._frames) == 1 or len(self._frames) == self._batch_size:
                    self._condition.notify()
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._flush_when_due, name=f"{self.name}-batches", daemon=True
                    )
                    self._thread.start()
        if direct:
            self._send([frame])

    def close(self, timeout: float = 5.0) -> None:
        """Send what is held now; frames added later are sent one at a time, at once."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        while True:
            with self._condition:
                rest = self._take()
            if not rest:
                return
            self._send(rest)

    def _flush_when_due(self) -> None:
        while True:
            with self._condition:
                while not self._frames and not self._closed:
                    self._condition.wait()
                if not self._frames:
                    return  # closed with nothing left
                wait = self._arrived[0] + self.window_seconds - time.monotonic()
                if wait > 0 and not self._closed and len(self._frames) < self._batch_size:
                    self._condition.wait(wait)
                    continue
                batch = self._take()
            self._send(batch)

    @property
    def _batch_size(self) -> int:
        return self.max_frames if self.window_seconds > 0 else 1

    def _take(self) -> list[BatchedFrame]:
        """The oldest frames, at most a full batch (the rest wait for their own window)."""
        size = self._batch_size
        batch, self._frames = self._frames[:size], self._frames[size:]
        del self._arrived[: len(batch)]
        return batch

    def _send(self, batch: list[BatchedFrame]) -> None:
        try:
            self._send_batch(batch)
        except Exception:
            # The broker refused it even after Celery's publish retries: these frames are lost,
            # as they were when a single frame's publish failed (Redis down loses the queue too).
            logger.exception("a batch of %d frames could not be queued for analysis", len(batch))


def frame_queue(*, session_id, seq: int, captured_ms: int, jpeg: bytes) -> None:
    """Queue an accepted frame for analysis: in this process's next batch, or analysed at once in
    embedded mode (eager Celery). Never blocks on the broker unless the batch is full."""
    _queue(session_id, seq, captured_ms, jpeg, publish=_publish, batcher=_process_batcher)


def audio_queue(*, session_id, seq: int, captured_ms: int, pcm: bytes) -> None:
    """Queue an accepted audio chunk for analysis, as `frame_queue` does a frame."""
    _queue(session_id, seq, captured_ms, pcm, publish=_publish_audio, batcher=_process_audio_batcher)


def _queue(
    session_id, seq: int, captured_ms: int, payload: bytes, *, publish: Callable, batcher: Callable
) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    queued = [str(session_id), seq, captured_ms, base64.b64encode(payload).decode(), request_id]
    if tasks.frames_analyse.app.conf.task_always_eager:
        publish([queued])
        return
    batcher().add(queued)


def _publish(batch: list[BatchedFrame]) -> None:
    _send(tasks.frames_analyse, batch, "frames")


def _publish_audio(batch: list[BatchedFrame]) -> None:
    _send(tasks.audio_chunks_analyse, batch, "audio chunks")


def _send(task, batch: list[BatchedFrame], what: str) -> None:
    if task.app.conf.task_always_eager:
        # In this process, as an eager task runs, but without Celery's "succeeded" log line: an
        # eager task drops argsrepr and that line would hold every picture whole, in base64.
        task(batch)
        return
    task.apply_async((batch,), argsrepr=_argsrepr(batch, what))


def _argsrepr(batch: list[BatchedFrame], what: str) -> str:
    """What the workers' "Task ... received" log line shows of a batch: its size and whose media,
    never the media (Celery's default is a repr of the arguments: the start of each student's
    picture, in base64, in every log line), and no repr of a 16-frame batch on every publish."""
    sessions = sorted({item[0] for item in batch})
    return f"({len(batch)} {what} of sessions {', '.join(sessions)})"


_batcher: FrameBatcher | None = None
_audio_batcher: FrameBatcher | None = None
_batcher_lock = threading.Lock()


def _process_batcher() -> FrameBatcher:
    global _batcher
    with _batcher_lock:
        if _batcher is None:
            _batcher = FrameBatcher(window_seconds=settings.FRAME_BATCH_SECONDS, send=_publish)
        return _batcher


def _process_audio_batcher() -> FrameBatcher:
    global _audio_batcher
    with _batcher_lock:
        if _audio_batcher is None:
            _audio_batcher = FrameBatcher(
                window_seconds=settings.FRAME_BATCH_SECONDS, send=_publish_audio, name="audio"
            )
        return _audio_batcher


@atexit.register
def _close_process_batcher() -> None:
    for batcher in (_batcher, _audio_batcher):
        if batcher is not None:
            batcher.close()


def _forget_in_child() -> None:
    # A forked child has no flusher thread and must not send its parent's frames a second time.
    global _batcher, _audio_batcher, _batcher_lock
    _batcher, _audio_batcher, _batcher_lock = None, None, threading.Lock()


os.register_at_fork(after_in_child=_forget_in_child)
