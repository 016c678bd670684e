"""WebSocket round trip through daphne and the channel layer, many sockets at once.

Each client sends a ping and waits for its pong, which travels consumer -> channel layer ->
consumer: the same path an alert takes from a worker to a proctor's page. Run with REDIS_URL
set to measure the Redis layer, without it for the in-memory layer:

    .venv/bin/python bench/ws_roundtrip.py --clients 200 --pings 20
    export REDIS_URL=redis://127.0.0.1:6379/0
    .venv/bin/python bench/ws_roundtrip.py --clients 200 --pings 20
    .venv/bin/python bench/ws_roundtrip.py --clients 300 --pings 10 --interval 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from procto.tests.live_servers import (
    child_env,
    daphne_cmd,
    free_port,
    running,
    wait_for_http,
)


async def client(url: str, origin: str, pings: int, interval: float, rtts: list[float]) -> None:
    async with websockets.connect(url, origin=origin, open_timeout=30) as socket:
        # Spread the clients' first pings over one interval, as students' cameras would be.
        await asyncio.sleep(random.uniform(0, interval))  # noqa: S311
        for n in range(pings):
            started = time.perf_counter()
            await socket.send(json.dumps({"type": "ping", "id": n}))
            reply = json.loads(await socket.recv())
            assert reply["type"] == "pong" and reply["id"] == n, reply
            rtts.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))


async def measure(port: int, clients: int, pings: int, interval: float) -> dict:
    url, origin = f"ws://127.0.0.1:{port}/ws/check/", f"http://127.0.0.1:{port}"
    rtts: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(client(url, origin, pings, interval, rtts) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(rtts, n=100)
    return {
        "clients": clients,
        "interval_s": interval,
        "pings": len(rtts),
        "p50_ms": round(statistics.median(rtts), 2),
        "p95_ms": round(quantiles[94], 2),
        "p99_ms": round(quantiles[98], 2),
        "max_ms": round(max(rtts), 2),
        "round_trips_per_s": round(len(rtts) / elapsed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--pings", type=int, default=20)
    parser.add_argument(
        "--interval",
        type=float,
        default=0.0,
        help="seconds between one client's pings; 0 = as fast as replies come (saturation)",
    )
    args = parser.parse_args()

    layer = "redis" if os.environ.get("REDIS_URL") else "in-memory"
    tmp = Path(tempfile.mkdtemp(prefix="procto-bench-"))  # kept: daphne.log is worth a look
    port = free_port()
    env = child_env(DATABASE_URL=None, PROCTO_LOCAL_DIR=str(tmp))
    with running(daphne_cmd(port), env=env, log=tmp / "daphne.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=process)
        result = asyncio.run(measure(port, args.clients, args.pings, args.interval))
    print(json.dumps({"layer": layer, **result}))


if __name__ == "__main__":
    main()
