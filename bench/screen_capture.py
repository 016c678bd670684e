"""Screen capture's cost per student-hour: bytes on the wire and in storage, and the browser's
time per screenshot (docs/BENCHMARKS.md, "Screen capture").

The screens are real renders of Procto's pages (docs/screenshots/*.png, written by the browser
tests: the exam page, its warning and offline states, the system check, the review page and the
monitor), cut to 16:9 at 1280x720 CSS pixels. That is what a 1920x1080 screen at 150 % scaling
(a common laptop set-up) shows of a maximised browser, and what the exam page's downscale to
1280 px makes of it. Each is encoded in headless Chromium by the exam page's own code path
(canvas drawImage + toBlob, WebP 0.6, and the JPEG 0.7 fallback), and once more from a
2560x1440 screen (the same page at 2x, scaled down to 1280) to show the downscale's effect.

    .venv/bin/python bench/screen_capture.py [--interval 30] [--alerts-per-hour 6]

Prints one JSON line: per screen and format, the picture's bytes and the encode time; then per
student-hour at the interval (plus alert screenshots): upload bytes (the multipart body, as the
page's FormData makes it, plus `--headers` bytes of request line and headers per upload: an
estimate of Chromium's cookie, CSRF, origin and user-agent headers), stored bytes (AES-GCM adds
28 bytes per file) and the average upload rate.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import statistics
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SCREENS = [
    "exam-page",
    "exam-warning",
    "exam-offline",
    "exam-proctor-warning",
    "system-check",
    "session-review",
    "monitor-alert",
]
CHROMIUM = "/usr/bin/chromium"
GCM_OVERHEAD = 12 + 16  # nonce and tag (procto.crypto)
ENCODE = """async ({ png, width, height, scale, type, quality }) => {
  const image = new Image();
  image.src = png;
  await image.decode();
  // The screen at its own size, then the exam page's downscale to at most 1280 px.
  const screen = document.createElement("canvas");
  screen.width = width * scale;
  screen.height = height * scale;
  screen.getContext("2d").drawImage(image, 0, 0, width, height, 0, 0, screen.width, screen.height);
  const factor = Math.min(1, 1280 / Math.max(screen.width, screen.height));
  const out = document.createElement("canvas");
  out.width = Math.round(screen.width * factor);
  out.height = Math.round(screen.height * factor);
  const started = performance.now();
  out.getContext("2d").drawImage(screen, 0, 0, out.width, out.height);
  const blob = await new Promise((resolve) => out.toBlob(resolve, type, quality));
  const ms = performance.now() - started;
  const form = new FormData();
  form.append("image", blob, "screen.webp");
  form.append("trigger", "interval");
  form.append("capturedAt", new Date().toISOString());
  const body = await new Response(form).arrayBuffer();
  return { bytes: blob.size, ms, body: body.byteLength, width: out.width, height: out.height };
}"""


def screen_png(name: str) -> tuple[str, int, int]:
    """The page render cut to 1280x720 (its top: the exam bar and the question), as a data URL."""
    with Image.open(ROOT / "docs" / "screenshots" / f"{name}.png") as image:
        cut = image.convert("RGB").crop((0, 0, 1280, 720))
        out = io.BytesIO()
        cut.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode(), 1280, 720


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=int, default=30, help="seconds between screenshots")
    parser.add_argument("--alerts-per-hour", type=int, default=6, help="high alerts: a screenshot each")
    parser.add_argument("--headers", type=int, default=900, help="request line and headers (estimate)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_content("<!doctype html><title>bench</title>")
        for name in SCREENS:
            png, width, height = screen_png(name)
            for scale in (1, 2):
                for kind, quality in (("image/webp", 0.6), ("image/jpeg", 0.7)):
                    what = {"png": png, "width": width, "height": height, "scale": scale, "type": kind}
                    runs = [page.evaluate(ENCODE, what | {"quality": quality}) for _ in range(3)]
                    rows.append(
                        {
                            "screen": name,
                            "screenSize": f"{width * scale}x{height * scale}",
                            "format": kind.split("/")[1],
                            "bytes": runs[0]["bytes"],
                            "multipartBody": runs[0]["body"],
                            "encodeMs": round(statistics.median(r["ms"] for r in runs), 1),
                            "size": f"{runs[0]['width']}x{runs[0]['height']}",
                        }
                    )
        browser.close()

    per_hour = 3600 // args.interval + args.alerts_per_hour
    summary = {}
    for screen_size in ("1920x1080-at-150%", "2560x1440-at-200%"):
        scale = 1 if screen_size.startswith("1920") else 2
        for fmt in ("webp", "jpeg"):
            size = f"{1280 * scale}x{720 * scale}"
            chosen = [r for r in rows if r["format"] == fmt and r["screenSize"] == size]
            mean = statistics.mean(r["bytes"] for r in chosen)
            body = statistics.mean(r["multipartBody"] for r in chosen)
            summary[f"{screen_size}/{fmt}"] = {
                "pictureBytesMean": round(mean),
                "pictureBytesRange": [min(r["bytes"] for r in chosen), max(r["bytes"] for r in chosen)],
                "screenshotsPerHour": per_hour,
                "uploadMBPerHour": round(per_hour * (body + args.headers) / 1e6, 2),
                "storedMBPerHour": round(per_hour * (mean + GCM_OVERHEAD) / 1e6, 2),
                "averageUploadKbit/s": round(per_hour * (body + args.headers) * 8 / 3600 / 1000, 1),
                "encodeMsMedian": statistics.median(r["encodeMs"] for r in chosen),
            }
    result = {"interval": args.interval, "alertsPerHour": args.alerts_per_hour, "rows": rows}
    print(json.dumps(result | {"perStudentHour": summary}))


if __name__ == "__main__":
    main()
