"""The proctor's live monitor under 300 live sessions: messages to the page and its render cost.

    .venv/bin/python bench/monitor.py                       # 300 sessions, two levels, 30 s each
    .venv/bin/python bench/monitor.py --sessions 300 --seconds 60 --alert-every 60,10

One daphne process serves a proctor watching `--sessions` in-progress sessions of one exam, in
headless Debian Chromium (the real page: /proctoring/monitor/) and on a plain WebSocket client
(what the page is sent). A producer thread in this process plays the analysis workers through
the same code they use (proctoring.realtime over the Redis channel layer, events stored in
PostgreSQL): every session's media message every 10 s (face count and thumbnail, whose JPEG
is in the cache as the stream socket leaves it), and per level one new alert per session every
`--alert-every` seconds, each followed by its session's risk update and, 5-20 s later, its
"alert-updated" (the condition ended). Per level it reports the messages per second on the
socket, what the page counted and rendered (window.proctoMonitor.stats), and the page's main
thread time from Chromium's performance timeline (CDP Performance.getMetrics: script, layout,
style recalculation, all tasks) and long tasks (PerformanceObserver "longtask", > 50 ms).
Uses its own database (procto_bench_monitor, recreated) and Redis database (10).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.pipeline import cohort_create, django_configure, redis_reset, ws_connect
from bench.procstat import database_recreate, process_cpu_s
from procto.tests.browser import CHROMIUM, CHROMIUM_ARGS
from procto.tests.live_servers import child_env, daphne_cmd, free_port, running, wait_for_http

PASSWORD = "bench-monitor-password"  # noqa: S105 (a throwaway account in a throwaway database)
MEDIA_EVERY_S = 10  # the workers' media push per session (proctoring.stream_state.MEDIA_PUSH_SECONDS)
ALERT_TYPES = ("off-screen", "face-not-visible", "speech-detected", "multiple-faces", "background-noise")
LONG_TASKS = """() => {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
  }).observe({ entryTypes: ["longtask"] });
}"""


class Producer(threading.Thread):
    """Media for every session every MEDIA_EVERY_S, an alert per session every `alert_every` s."""

    def __init__(self, cohort, *, alert_every: float, seconds: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.cohort, self.alert_every, self.seconds = cohort, alert_every, seconds
        self.rng = random.Random(seed)  # noqa: S311 (timing, not secrets)
        self.sent = {"media": 0, "alert": 0, "alert-updated": 0, "session": 0}
        self.late_ms: list[float] = []

    def run(self) -> None:
        from django.db import connections
        from django.utils import timezone

        from proctoring import realtime
        from proctoring.models import ProctoringEvent
        from sessions.models import ExamSession
        from sessions.realtime import broadcast_session

        exam_id = self.cohort.exam.pk
        start = time.time()
        plan: list[tuple[float, str, object]] = []
        for n, student in enumerate(self.cohort.students):
            phase = self.rng.uniform(0, MEDIA_EVERY_S)
            plan += [
                (start + phase + k * MEDIA_EVERY_S, "media", (student, n))
                for k in range(int(self.seconds / MEDIA_EVERY_S) + 1)
            ]
            t = start + self.rng.expovariate(1 / self.alert_every)
            while t < start + self.seconds:
                plan.append((t, "alert", student))
                t += self.rng.expovariate(1 / self.alert_every)
        plan = sorted((p for p in plan if p[0] < start + self.seconds), key=lambda p: p[0])
        for seq, (at, kind, what) in enumerate(plan):
            time.sleep(max(0.0, at - time.time()))
            self.late_ms.append(1000 * (time.time() - at))
            if kind == "media":
                student, n = what
                realtime.broadcast_media(student.session_id, exam_id=exam_id, face_count=1, frame_seq=seq)
                self.sent["media"] += 1
            elif kind == "alert":
                now = timezone.now()
                condition = self.rng.choice(ALERT_TYPES)
                event = ProctoringEvent.objects.create(
                    session_id=what.session_id,
                    type=condition,
                    severity="high" if condition == "multiple-faces" else "medium",
                    source="server",
                    details={"bench": True},
                    confidence=0.9,
                    occurred_at=now - timedelta(seconds=4),
                    ended_at=now,
                )
                realtime.broadcast_alert(event, exam_id=exam_id)
                session = ExamSession.objects.get(pk=what.session_id)
                session.risk_score = min(100.0, session.risk_score + 3)
                session.save(update_fields=["risk_score"])
                broadcast_session(session)
                self.sent["alert"] += 1
                self.sent["session"] += 1
                plan_end = time.time() + self.rng.uniform(5, 20)
                if plan_end < start + self.seconds:
                    threading.Timer(plan_end - time.time(), self._end, args=(event.pk, exam_id)).start()
        connections.close_all()

    def _end(self, event_id: int, exam_id: int) -> None:
        from django.db import connections
        from django.utils import timezone

        from proctoring import realtime
        from proctoring.models import ProctoringEvent

        event = ProctoringEvent.objects.get(pk=event_id)
        event.ended_at = timezone.now()
        event.save(update_fields=["ended_at"])
        realtime.broadcast_alert(event, exam_id=exam_id, update=True)
        self.sent["alert-updated"] += 1
        connections.close_all()


def socket_listener(port: int, proctor, stop: threading.Event, counts: dict) -> threading.Thread:
    """A plain client on /ws/monitor/: what the page is sent, message by message."""

    async def listen() -> None:
        socket = await ws_connect(port, "/ws/monitor/", proctor)
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(socket.recv(), 0.5)
            except TimeoutError:
                continue
            kind = json.loads(raw).get("type")
            counts[kind] = counts.get(kind, 0) + 1
        await socket.close()

    thread = threading.Thread(target=lambda: asyncio.run(listen()), daemon=True)
    thread.start()
    return thread


def metrics(cdp) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def level_run(
    page, cdp, cohort, *, port: int, daphne_pid: int, alert_every: float, seconds: float, seed: int
) -> dict:
    counts: dict[str, int] = {}
    stop = threading.Event()
    listener = socket_listener(port, cohort.proctor, stop, counts)
    time.sleep(1)
    page.evaluate("window.__longTasks = []")
    stats_before = page.evaluate("({...window.proctoMonitor.stats})")
    before, daphne_before, started = metrics(cdp), process_cpu_s(daphne_pid), time.time()
    producer = Producer(cohort, alert_every=alert_every, seconds=seconds, seed=seed)
    producer.start()
    producer.join()
    time.sleep(1.5)  # the last coalesced render
    elapsed = time.time() - started
    after, daphne_after = metrics(cdp), process_cpu_s(daphne_pid)
    stats = page.evaluate("({...window.proctoMonitor.stats})")
    long_tasks = page.evaluate("window.__longTasks")
    stop.set()
    listener.join(5)
    received = sum(counts.values())
    renders = stats["renders"] - stats_before["renders"]
    busy = {
        name: 1000 * (after[name] - before[name]) / elapsed
        for name in ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
    }
    return {
        "sessions": len(cohort.students),
        "alert_every_s": alert_every,
        "seconds": round(elapsed, 1),
        "sent": producer.sent,
        "socket_messages_per_s": round(received / elapsed, 1),
        "socket_by_type": counts,
        "page_messages_per_s": round((stats["messages"] - stats_before["messages"]) / elapsed, 1),
        "renders_per_s": round(renders / elapsed, 2),
        "card_updates_per_s": round((stats["cardUpdates"] - stats_before["cardUpdates"]) / elapsed, 1),
        "render_max_ms": round(stats["maxRenderMs"], 1),
        "main_thread_busy_pct": round(busy["TaskDuration"] / 10, 1),
        "script_ms_per_s": round(busy["ScriptDuration"], 1),
        "layout_ms_per_s": round(busy["LayoutDuration"], 1),
        "style_ms_per_s": round(busy["RecalcStyleDuration"], 1),
        "long_tasks": len(long_tasks),
        "long_task_max_ms": round(max(long_tasks, default=0), 1),
        "daphne_cpu_pct": round(100 * (daphne_after - daphne_before) / elapsed, 1),
        "producer_late_p95_ms": round(sorted(producer.late_ms)[int(0.95 * len(producer.late_ms))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=30.0, help="per level")
    parser.add_argument(
        "--alert-every", default="60,10", help="seconds between a session's alerts, per level"
    )
    parser.add_argument("--database", default="procto_bench_monitor")
    parser.add_argument("--redis-db", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 1 <= args.redis_db <= 15:
        raise SystemExit("use a Redis database of its own (1-15), never 0")

    tmp = Path(tempfile.mkdtemp(prefix="procto-monitor-"))
    database_url = database_recreate("postgres://postgres@127.0.0.1:5432/postgres", args.database)
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    redis_reset(redis_url)
    django_configure(database_url=database_url, redis_url=redis_url, local_dir=tmp)

    from django.core.cache import cache
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from proctoring.stream_state import STATS_SECONDS, thumbnail_key
    from proctoring.tests.faces import astronaut, jpeg_bytes, webcam_frame

    cohort = cohort_create(label="monitor", students=args.sessions, alerting=0, seed=args.seed)
    cohort.proctor.set_password(PASSWORD)
    cohort.proctor.save()  # with the token version set_password moved on, as a login would see it
    thumbnail = jpeg_bytes(webcam_frame(astronaut(), 320, 240), quality=70)
    cache.set_many({thumbnail_key(s.session_id): thumbnail for s in cohort.students}, STATS_SECONDS)

    # The page is served as deployed (DEBUG off): from collected, hashed static files.
    call_command("collectstatic", "--noinput", verbosity=0)
    port = free_port()
    env = child_env(DATABASE_URL=database_url, REDIS_URL=redis_url, DJANGO_DEBUG="0", LOG_LEVEL="WARNING")
    results = []
    with running(daphne_cmd(port), env=env, log=tmp / "daphne.log") as daphne:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=daphne)
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls between Playwright steps
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            page.goto(f"http://127.0.0.1:{port}/accounts/login/")
            page.fill("input[name=username]", cohort.proctor.email)
            page.fill("input[name=password]", PASSWORD)
            # The login form's button, not the header's language picker.
            page.locator("form:has(input[name=username]) button[type=submit]").click()
            page.wait_for_url(f"http://127.0.0.1:{port}/")
            loaded = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/proctoring/monitor/")
            page.locator("[data-session-id]").nth(args.sessions - 1).wait_for()
            page.locator('body[data-socket-state="open"]').wait_for()
            load_s = time.perf_counter() - loaded
            page.evaluate(LONG_TASKS)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            for n, every in enumerate(float(x) for x in args.alert_every.split(",")):
                row = level_run(
                    page, cdp, cohort, port=port, daphne_pid=daphne.pid, alert_every=every,
                    seconds=args.seconds, seed=args.seed + n,
                )  # fmt: skip
                row["page_load_s"] = round(load_s, 2)
                results.append(row)
                print(json.dumps(row), flush=True)
            page.screenshot(path=str(tmp / "monitor-300.png"))
            browser.close()
    print(f"\nscreenshot and logs in {tmp}")
    columns = {
        "sessions": "sessions",
        "alert_every_s": "alert every s",
        "socket_messages_per_s": "socket msg/s",
        "page_messages_per_s": "page msg/s",
        "renders_per_s": "renders/s",
        "card_updates_per_s": "card updates/s",
        "render_max_ms": "max render ms",
        "main_thread_busy_pct": "main thread busy %",
        "script_ms_per_s": "script ms/s",
        "layout_ms_per_s": "layout ms/s",
        "style_ms_per_s": "style ms/s",
        "long_tasks": "long tasks",
        "daphne_cpu_pct": "daphne CPU %",
    }
    print("\n| " + " | ".join(columns.values()) + " |")
    print("|" + "---|" * len(columns))
    for row in results:
        print("| " + " | ".join(str(row[key]) for key in columns) + " |")


if __name__ == "__main__":
    main()
