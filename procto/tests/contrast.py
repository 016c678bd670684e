"""Text contrast as a reader meets it, measured in the browser: WCAG 2's ratio between each visible
piece of text and what is behind it, with the opacity of every ancestor applied (a faded block
fades its text). AA asks 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold).

What it does not see: text over pictures or gradients, placeholders and canvas text. Disabled
controls are exempt, as WCAG exempts them.
"""

from __future__ import annotations

# Returns [{text, ratio, needed, where}] for every element whose own text reads below AA.
LOW_CONTRAST_JS = """() => {
  const parse = (colour) => {
    const m = colour.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + under[i] * (1 - a)).concat(1);
  };
  const luminance = (c) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const behind = (el) => {
    const chain = [];
    for (let node = el; node; node = node.parentElement) chain.unshift(node);
    let colour = [255, 255, 255, 1];
    for (const node of chain) {
      const bg = parse(getComputedStyle(node).backgroundColor);
      if (bg && bg[3] > 0) colour = over(bg, colour);
    }
    return colour;
  };
  const opacity = (el) => {
    let value = 1;
    for (let node = el; node; node = node.parentElement) value *= Number(getComputedStyle(node).opacity);
    return value;
  };
  const found = [];
  const checked = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || !el || checked.has(el)) continue;
    checked.add(el);
    if (el.closest(":disabled, script, style, noscript, option, .visually-hidden")) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || style.visibility === "hidden") continue;
    const ground = behind(el);
    const ink = parse(style.color);
    const seen = over([ink[0], ink[1], ink[2], ink[3] * opacity(el)], ground);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    const needed = large ? 3 : 4.5;
    const value = ratio(seen, ground);
    if (value < needed - 0.005) {
      found.push({
        text: el.textContent.trim().slice(0, 50),
        ratio: Math.round(value * 100) / 100,
        needed,
        where: [el.tagName.toLowerCase(), ...el.classList].join("."),
      });
    }
  }
  return found;
}"""


def low_contrast_text(page) -> list[dict]:
    """Every piece of visible text on `page` (Playwright) that reads below WCAG AA."""
    return page.evaluate(LOW_CONTRAST_JS)
