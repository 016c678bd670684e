"""The colours text is drawn in read at 4.5:1 or more against what they are drawn on (WCAG 2 AA),
checked from the stylesheets and the PDF's palette themselves; the Chromium tests measure whole
pages (procto.tests.contrast)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from proctoring.reports import pdf

STATIC = Path(__file__).resolve().parents[2] / "static"
AA = 4.5


def luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(value[i : i + 2], 16) / 255) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def variables(css: str, selector: str) -> dict[str, str]:
    """The custom properties (--name: #hex) of the first rule for `selector`."""
    block = re.search(re.escape(selector) + r"\s*\{([^}]*)\}", css).group(1)
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})", block))


def stylesheet(name: str) -> str:
    return (STATIC / "css" / name).read_text()


def test_the_measure_is_wcag_s():
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_the_site_s_text_colours_read_on_its_backgrounds():
    site = variables(stylesheet("procto.css"), ":root")
    for ink in ("ink", "muted", "brand", "danger", "ok"):
        for ground in ("card", "bg"):
            assert contrast(site[ink], site[ground]) >= AA, (ink, ground)
    assert contrast(site["brand-ink"], site["brand"]) >= AA


def test_the_review_page_s_severity_badges_read_white_on_their_colour():
    colours = variables(stylesheet("review.css"), ".review")
    for severity in ("info", "low", "medium", "high", "critical"):
        assert contrast("#ffffff", colours[severity]) >= AA, severity  # medium was #d97706: 3.2
    # The timeline chart draws them too (static/js/review/format.js): the same colours.
    script = (STATIC / "js" / "review" / "format.js").read_text()
    chart = dict(
        re.findall(r'(\w+): "(#[0-9a-fA-F]{6})"', script.split("SEVERITY_COLOURS", 1)[1].split("}")[0])
    )
    assert chart == colours


def test_the_monitor_s_severity_labels_read_on_their_tint():
    colours = variables(stylesheet("monitor.css"), ".monitor")
    for severity in ("low", "medium", "high", "critical"):
        ink, ground = colours[f"sev-{severity}-ink"], colours[f"sev-{severity}-bg"]
        assert contrast(ink, ground) >= AA, severity


def test_the_pdf_s_text_colours_read_on_white():
    for name, colour in [*pdf.SEVERITY_COLOURS.items(), ("ink", pdf.INK), ("muted", pdf.MUTED)]:
        assert contrast(colour.hexval().replace("0x", "#"), "#ffffff") >= AA, name


@pytest.mark.parametrize("sheet", sorted(p.name for p in (STATIC / "css").glob("*.css")))
def test_no_stylesheet_fades_text_with_opacity(sheet):
    """Opacity fades text and its background alike: muted text at .6 read at 2.9:1 (the monitor's
    reviewed alerts). Only disabled controls (exempt in WCAG) and animations may fade."""
    css = re.sub(r"/\*.*?\*/", "", stylesheet(sheet), flags=re.S)
    css = re.sub(r"@keyframes[^{]*\{(?:[^{}]*\{[^}]*\})*[^}]*\}", "", css)
    for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
        faded = re.search(r"(?<![\w-])opacity:\s*(0?\.\d+|0)\b", body)
        if faded and ":disabled" not in selector:
            pytest.fail(f"{sheet}: {selector.strip()} fades its text to opacity {faded.group(1)}")
