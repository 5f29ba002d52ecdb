"""Chart layout for the report's SVG: text widths, labels cut to fit, and axis ticks that do not collide.

The report draws its charts as static SVG (no script), so text cannot be measured in the browser
when the chart is laid out. Widths are estimated here from per-character advance widths of DejaVu
Sans (one of the widest common sans-serif faces, and the one headless Chromium falls back to on
Linux), padded by 6%, so a label laid out with these widths also fits in narrower faces (Segoe
UI, Roboto, Helvetica). Wide East Asian characters count one em. Margins are sized from the
estimated widths of the labels they hold, long labels are cut with an ellipsis to a bounded
margin (the full text stays in the SVG <title> tooltip), and axis ticks are thinned until their
labels are at least a gap apart.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timezone

__all__ = ["fit_text", "nice_ticks", "spread_ticks", "text_width", "tick_label", "ticks_fit"]

# Advance widths in em of DejaVu Sans for printable ASCII.
_WIDTHS = dict(
    zip(
        " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
        (
            0.318, 0.401, 0.460, 0.838, 0.636, 0.950, 0.780, 0.275, 0.390, 0.390, 0.500, 0.838, 0.318, 0.361,
            0.318, 0.337, *(0.636,) * 10, 0.337, 0.337, 0.838, 0.838, 0.838, 0.531, 1.000, 0.684, 0.686,
            0.698, 0.770, 0.632, 0.575, 0.775, 0.752, 0.295, 0.295, 0.656, 0.557, 0.863, 0.748, 0.787, 0.603,
            0.787, 0.695, 0.635, 0.611, 0.732, 0.684, 0.989, 0.685, 0.611, 0.685, 0.390, 0.337, 0.390, 0.838,
            0.500, 0.500, 0.613, 0.635, 0.550, 0.635, 0.615, 0.352, 0.635, 0.634, 0.278, 0.278, 0.579, 0.278,
            0.974, 0.634, 0.612, 0.635, 0.635, 0.411, 0.521, 0.392, 0.634, 0.592, 0.818, 0.592, 0.592, 0.525,
            0.636, 0.337, 0.636, 0.838,
        ),
        strict=True,
    )
)
_PAD = 1.06


def _char_width(ch: str) -> float:
    w = _WIDTHS.get(ch)
    if w is not None:
        return w
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if unicodedata.combining(ch):
        return 0.0
    return 0.8  # other letters and symbols (…, ×, −, ≥, accented and Cyrillic letters): a wide guess


def text_width(text: str, size: float = 11.0) -> float:
    """Estimated rendered width in pixels of `text` at font size `size` (an upper estimate)."""
    return _PAD * size * sum(_char_width(ch) for ch in text)


def fit_text(text: str, max_width: float, size: float = 11.0) -> str:
    """`text`, or its longest prefix that fits `max_width` pixels with an ellipsis appended."""
    if text_width(text, size) <= max_width:
        return text
    budget = max_width / (_PAD * size) - _char_width("…")
    used = 0.0
    for k, ch in enumerate(text):
        used += _char_width(ch)
        if used > budget:
            return text[:k].rstrip() + "…"
    return text


def nice_ticks(lo: float, hi: float, target: int) -> tuple[list[float], float]:
    """About `target` round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) inside [lo, hi]."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return [lo], 0.0
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    k = 0
    while first + k * step <= hi + step * 1e-9:
        v = first + k * step
        ticks.append(0.0 if abs(v) < step * 1e-9 else v)
        k += 1
    return ticks, step


def spread_ticks(lo: float, hi: float, count: int) -> list[float]:
    """`count` evenly spread values from lo to hi (for dates, where round numbers mean nothing)."""
    if count <= 1 or not hi > lo:
        return [lo]
    return [lo + (hi - lo) * k / (count - 1) for k in range(count)]


def _decimals(step: float) -> int:
    """Digits after the point needed to tell ticks `step` apart."""
    if step <= 0 or not math.isfinite(step):
        return 2
    d = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step * 10**d, 6) % 1:  # 2.5 x 10^k needs one digit more
        d += 1
    return d


def tick_label(v: float, step: float, kind: str = "numerical") -> str:
    """A short axis label: dates as dates, large numbers with k/M/B/T, small ones with the step's digits."""
    if kind == "datetime":
        try:
            dt = datetime.fromtimestamp(v, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return f"{v:.3g}"
        if step and step < 86400 * 2:
            return dt.strftime("%m-%d %H:%M")
        return dt.strftime("%Y-%m-%d")
    a = max(abs(v), step)
    if a >= 1e4:
        for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if a >= div:
                scaled = v / div
                d = _decimals(step / div) if step else 1
                text = f"{scaled:.{min(d, 3)}f}"
                return ("0" if float(text) == 0 else text) + suffix
    if 0 < a < 1e-3:
        return f"{v:.1e}"
    d = min(_decimals(step), 6) if step else 2
    text = f"{v:.{d}f}"  # below 10,000 (no thousands separator: years read 1990, not 1,990)
    return "0" if float(text) == 0 else text


def ticks_fit(xs: Sequence[float], labels: Sequence[str], *, size: float = 11.0, gap: float = 8.0) -> bool:
    """True when labels centred at `xs` leave at least `gap` pixels between neighbours."""
    prev_right = -math.inf
    for x, lab in sorted(zip(xs, labels, strict=True)):
        w = text_width(lab, size)
        if x - w / 2 < prev_right + gap:
            return False
        prev_right = x + w / 2
    return True
