"""Inline SVG charts for the HTML report: histograms, bar charts, a heatmap and a score gauge.

Margins, label cuts and axis ticks are laid out from estimated text widths (layout.py), so no
label is clipped at a chart's edge and no two tick labels overlap; text elements carry a class
(tick, label, legend, axis, value) and each chart a data-chart name, so a browser test can
measure them.

Every label, value and title that ends up in the markup passes through `esc` (text and attribute
context alike), so names and values from the data cannot inject markup or script.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from pyspark_synth.validation.svg_text import (
    fit_text,
    nice_ticks,
    spread_ticks,
    text_width,
    tick_label,
    ticks_fit,
)

__all__ = [
    "HOLDOUT",
    "REAL",
    "SYNTH",
    "esc",
    "fmt",
    "gauge_svg",
    "hbars_svg",
    "heatmap_svg",
    "hist_svg",
    "vbars_svg",
]

REAL = "#3867d6"
SYNTH = "#f0932b"
HOLDOUT = "#8e44ad"
_AXIS = "#9aa5b1"
_TEXT = "#3e4c59"
_SIZE = 11.0
_FONT = "font-family=\"system-ui,-apple-system,'Segoe UI',Roboto,sans-serif\""


def esc(value: object) -> str:
    """HTML-escape any value for text and quoted attributes (&, <, >, \", ')."""
    return html.escape("" if value is None else str(value), quote=True)


def short(label: object, n: int = 22) -> str:
    """The label cut to `n` characters with an ellipsis (not escaped)."""
    s = "(null)" if label is None else str(label)
    return s if len(s) <= n else s[: n - 1] + "…"


def fmt(v: float | None, kind: str = "numerical") -> str:
    """A compact readable number (or a date for datetime columns)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if kind == "datetime":
        try:
            dt = datetime.fromtimestamp(v, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return f"{v:.4g}"
        return dt.strftime("%Y-%m-%d") if dt.hour == dt.minute == 0 else dt.strftime("%Y-%m-%d %H:%M")
    a = abs(v)
    if a != 0 and (a >= 1e6 or a < 1e-3):
        return f"{v:.3g}"
    if a >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def pct(v: float | None) -> str:
    """A share as a percentage."""
    if v is None or not math.isfinite(v):
        return "–"
    return f"{100 * v:.1f}%" if v >= 0.001 or v == 0 else f"{100 * v:.2g}%"


def _svg(width: float, height: float, body: str, label: str, chart: str = "") -> str:
    attr = f' data-chart="{esc(chart)}"' if chart else ""
    return (  # at most its natural size, so the text is never drawn larger than laid out
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="100%" '
        f'style="max-width:{width:.0f}px;display:block;margin:0 auto" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{esc(label)}"{attr} {_FONT} '
        f'font-size="{_SIZE:g}"><title>{esc(label)}</title>{body}</svg>'
    )


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * mag:
            return m * mag
    return 10 * mag


def _legend(items: Sequence[tuple[str, str]], right: float, y: float) -> tuple[str, float]:
    """Legend entries (label, colour) right-aligned at `right`; returns (markup, left edge)."""
    widths = [14 + text_width(label) for label, _ in items]
    x = right - sum(widths) - 12 * (len(items) - 1)
    left = x
    out = []
    for (label, color), w in zip(items, widths, strict=True):
        out.append(
            f'<rect x="{x:.1f}" y="{y - 8}" width="10" height="10" rx="2" fill="{color}"/>'
            f'<text class="legend" x="{x + 14:.1f}" y="{y + 1}" fill="{_TEXT}">{esc(label)}</text>'
        )
        x += w + 12
    return "".join(out), left


def _x_ticks(lo: float, hi: float, X: Callable[[float], float], *, kind: str, y: float, width: float) -> str:
    """Axis tick labels under a plot from lo to hi: round values, thinned until they do not collide,
    each kept inside the chart (a label at an edge is shifted in)."""
    best: list[tuple[float, str]] = []
    for target in (6, 5, 4, 3, 2):
        if kind == "datetime":
            values = spread_ticks(lo, hi, target - 1 if target > 2 else 2)
            step = (hi - lo) / max(len(values) - 1, 1)
        else:
            values, step = nice_ticks(lo, hi, target)
        labels = [tick_label(v, step, kind) for v in values]
        xs = [_clamp_x(X(v), lab, width) for v, lab in zip(values, labels, strict=True)]
        best = list(zip(xs, labels, strict=True))
        if ticks_fit(xs, labels):
            break
    else:
        best = best[:1]
    return "".join(
        f'<text class="tick" x="{x:.1f}" y="{y}" text-anchor="middle" fill="{_TEXT}">{esc(lab)}</text>'
        for x, lab in best
    )


def _clamp_x(x: float, label: str, width: float, pad: float = 2.0) -> float:
    half = text_width(label) / 2
    return min(max(x, half + pad), width - half - pad)


def hist_svg(
    edges: Sequence[float],
    real: Sequence[float],
    synthetic: Sequence[float] | None,
    *,
    kind: str = "numerical",
    label: str = "histogram",
    second: str = "synthetic",
    color: str = SYNTH,
    first: str = "real",
    first_color: str = REAL,
    width: int = 360,
    height: int = 190,
) -> str:
    """The first side as filled bars, the second (when given) as a step outline; bar area is the share.

    The legend shows each side in the colour it is drawn in.
    """
    if len(edges) < 2:
        return _svg(width, height, f'<text x="12" y="24" fill="{_TEXT}">no values</text>', label, "hist")
    left, right, top, bottom = 14, 14, 24, 30
    pw, ph = width - left - right, height - top - bottom
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0
    widths = [max(edges[k + 1] - edges[k], span * 1e-9) for k in range(len(edges) - 1)]
    dr = [r / w for r, w in zip(real, widths, strict=False)]
    ds = [s / w for s, w in zip(synthetic, widths, strict=False)] if synthetic is not None else []
    ymax = _nice_max(max(dr + ds + [1e-300]))

    def X(v: float) -> float:
        return left + (v - lo) / span * pw

    def Y(d: float) -> float:
        return top + ph - d / ymax * ph

    body = [f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="{_AXIS}"/>']
    for k in range(len(widths)):
        x0, x1 = X(edges[k]), X(edges[k + 1])
        tip = f"{fmt(edges[k], kind)} – {fmt(edges[k + 1], kind)}: {first} {pct(real[k])}"
        if synthetic is not None:
            tip += f", {second} {pct(synthetic[k])}"
        body.append(
            f'<rect x="{x0:.2f}" y="{Y(dr[k]):.2f}" width="{max(x1 - x0 - 0.4, 0.3):.2f}" '
            f'height="{top + ph - Y(dr[k]):.2f}" fill="{first_color}" fill-opacity="0.55">'
            f"<title>{esc(tip)}</title></rect>"
        )
    if synthetic is not None:
        path = [f"M{X(edges[0]):.2f},{top + ph:.2f}"]
        for k in range(len(widths)):
            path.append(f"L{X(edges[k]):.2f},{Y(ds[k]):.2f}L{X(edges[k + 1]):.2f},{Y(ds[k]):.2f}")
        path.append(f"L{X(edges[-1]):.2f},{top + ph:.2f}")
        body.append(
            f'<path d="{"".join(path)}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"/>'
        )
    body.append(_x_ticks(lo, hi, X, kind=kind, y=height - 12, width=width))
    items = [(first, first_color)] + ([(second, color)] if synthetic is not None else [])
    legend, _ = _legend(items, width - right, 12)
    body.append(f'<text class="axis" x="{left}" y="12" fill="{_AXIS}">density</text>')
    body.append(legend)
    return _svg(width, height, "".join(body), label, "hist")


def vbars_svg(
    labels: Sequence[object],
    real: Sequence[float],
    synthetic: Sequence[float],
    *,
    kind: str = "numerical",
    label: str = "bar chart",
    second: str = "synthetic",
    color: str = SYNTH,
    width: int = 360,
    height: int = 190,
) -> str:
    """Grouped vertical bars (shares) for a few numeric values or counts; value labels thinned to fit."""
    ymax = _nice_max(max(list(real) + list(synthetic) + [1e-300]))
    ylab = pct(ymax)
    left, right, top, bottom = max(30.0, text_width(ylab) + 10), 10, 24, 30
    pw, ph = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    slot = pw / n
    bw = max(slot * 0.38, 0.6)
    body = [f'<line x1="{left:.1f}" y1="{top + ph}" x2="{left + pw:.1f}" y2="{top + ph}" stroke="{_AXIS}"/>']
    shown = [fmt(lab, kind) if isinstance(lab, (int, float)) else fit_text(str(lab), 80) for lab in labels]
    widest = max((text_width(s) for s in shown), default=0.0)
    step = max(1, math.ceil((widest + 8) / max(slot, 1e-9)))
    for k, text in enumerate(shown):
        x = left + k * slot + slot * 0.1
        tip = f"{text}: real {pct(real[k])}, {second} {pct(synthetic[k])}"
        for j, (v, c) in enumerate(((real[k], REAL), (synthetic[k], color))):
            h = v / ymax * ph
            body.append(
                f'<rect x="{x + j * bw:.2f}" y="{top + ph - h:.2f}" width="{bw:.2f}" height="{h:.2f}" rx="1" '
                f'fill="{c}"><title>{esc(tip)}</title></rect>'
            )
        if k % step == 0:
            cx = _clamp_x(left + (k + 0.5) * slot, text, width)
            body.append(
                f'<text class="tick" x="{cx:.1f}" y="{height - 12}" text-anchor="middle" '
                f'fill="{_TEXT}">{esc(text)}</text>'
            )
    body.append(f'<text class="axis" x="{left - 6:.1f}" y="{top + 4}" text-anchor="end" fill="{_AXIS}">'
                f"{esc(ylab)}</text>")
    legend, _ = _legend([("real", REAL), (second, color)], width - right, 12)
    body.append(legend)
    return _svg(width, height, "".join(body), label, "vbars")


def hbars_svg(
    labels: Sequence[object],
    real: Sequence[float],
    synthetic: Sequence[float],
    *,
    label: str = "category frequencies",
    width: int = 360,
) -> str:
    """Grouped horizontal bars (shares) for categories; the label margin fits the longest label up to
    45% of the width, longer labels are cut with an ellipsis (full text in the tooltip)."""
    texts = ["(null)" if lab is None else str(lab) for lab in labels]
    max_label = width * 0.45
    shown = [fit_text(t, max_label) for t in texts]
    right, top, row = 8 + text_width("100.0%", 10), 24, 20
    left = 8 + max([text_width(s) for s in shown] + [text_width("(other)")])
    height = top + row * max(len(labels), 1) + 8
    pw = width - left - right
    xmax = max(list(real) + list(synthetic) + [1e-300])
    body = []
    for k, text in enumerate(texts):
        y = top + k * row
        tip = f"{short(text, 80)}: real {pct(real[k])}, synthetic {pct(synthetic[k])}"
        body.append(
            f'<text class="label" x="{left - 6:.1f}" y="{y + 12}" text-anchor="end" fill="{_TEXT}">'
            f"{esc(shown[k])}<title>{esc(short(text, 200))}</title></text>"
        )
        for j, (v, c) in enumerate(((real[k], REAL), (synthetic[k], SYNTH))):
            w = v / xmax * pw
            body.append(
                f'<rect x="{left:.1f}" y="{y + 2 + j * 8:.1f}" width="{max(w, 0.0):.2f}" height="7" rx="1.5" '
                f'fill="{c}"><title>{esc(tip)}</title></rect>'
            )
        body.append(
            f'<text class="value" x="{left + max(real[k], synthetic[k]) / xmax * pw + 4:.1f}" y="{y + 12}" '
            f'fill="{_AXIS}" font-size="10">{esc(pct(real[k]))}</text>'
        )
    legend, _ = _legend([("real", REAL), ("synthetic", SYNTH)], width - 8, 12)
    body.append(legend)
    return _svg(width, height, "".join(body), label, "hbars")


def _diverging(v: float | None, vmax: float = 0.5) -> str:
    if v is None or not math.isfinite(v):
        return "#eef1f4"
    t = max(-1.0, min(1.0, v / vmax))
    base = (255, 255, 255)
    end = (214, 69, 69) if t > 0 else (56, 103, 214)
    a = abs(t)
    r, g, b = (round(base[i] + (end[i] - base[i]) * a) for i in range(3))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap_svg(
    names: Sequence[str],
    real: Sequence[Sequence[float | None]],
    synthetic: Sequence[Sequence[float | None]],
    method: Sequence[Sequence[str]],
    *,
    label: str = "correlation difference",
) -> str:
    """Lower-triangle heatmap of synthetic − real association (Pearson or Cramér's V), red above, blue below.

    The row labels' margin and the rotated column labels' band are sized from the labels' widths
    (names longer than 200 pixels are cut with an ellipsis; the full name is in the tooltip).
    """
    n = len(names)
    cell = max(18, min(46, 520 // max(n, 1)))
    rows = [fit_text(str(nm), 200) for nm in names]
    cols = [fit_text(str(nm), 150) for nm in names]
    left = 12 + max([text_width(r) for r in rows] + [0.0])
    top = 16
    cos, sin = math.cos(math.radians(40)), math.sin(math.radians(40))
    col_w = [text_width(c) for c in cols]
    band = max([w * sin for w in col_w] + [0.0]) + 6 + _SIZE * cos + 8
    label_right = max([left + k * cell + cell / 2 + w * cos + _SIZE * sin for k, w in enumerate(col_w)] + [0.0])
    sx, sy = left + cell * n + 24, top + 14  # the colour scale, right of the grid
    if top + n * cell < sy + 21 * 8:  # beside the rotated column labels too, where they reach down to it
        sx = max(sx, label_right + 16)
    scale_right = sx + max(text_width("synthetic − real"), 20 + text_width("+0.5"))
    width = max(scale_right, label_right) + 8
    height = max(top + cell * n + band, sy + 21 * 8 + 12)
    body = []
    for a in range(n):
        for b in range(n):
            if b >= a:
                continue
            r, s = real[a][b], synthetic[a][b]
            d = (s - r) if r is not None and s is not None else None
            x, y = left + b * cell, top + a * cell
            m = "Pearson" if method[a][b] == "pearson" else "Cramér's V"
            tip = f"{names[a]} × {names[b]} ({m}): real {fmt(r)}, synthetic {fmt(s)}, difference {fmt(d)}"
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{cell - 1}" height="{cell - 1}" rx="2" fill="{_diverging(d)}">'
                f"<title>{esc(tip)}</title></rect>"
            )
            if cell >= 30 and d is not None:
                body.append(
                    f'<text x="{x + cell / 2 - 0.5:.1f}" y="{y + cell / 2 + 3.5}" text-anchor="middle" '
                    f'font-size="10" fill="{"#ffffff" if abs(d) > 0.3 else _TEXT}">{esc(f"{d:+.2f}")}</text>'
                )
    for k, name in enumerate(names):
        body.append(
            f'<text class="label" x="{left - 6:.1f}" y="{top + k * cell + cell / 2 + 4}" text-anchor="end" '
            f'fill="{_TEXT}">{esc(rows[k])}<title>{esc(name)}</title></text>'
        )
        x = left + k * cell + cell / 2
        y = top + n * cell + 6
        body.append(
            f'<text class="label" transform="translate({x:.1f},{y:.1f}) rotate(40)" text-anchor="start" '
            f'fill="{_TEXT}">{esc(cols[k])}<title>{esc(name)}</title></text>'
        )
    # colour scale
    for k in range(21):
        v = 0.5 - k * 0.05
        body.append(f'<rect class="scale" x="{sx:.1f}" y="{sy + k * 8}" width="14" height="8" fill="{_diverging(v)}"/>')
    for v, k in ((0.5, 0), (0.0, 10), (-0.5, 20)):
        body.append(f'<text class="axis" x="{sx + 20:.1f}" y="{sy + k * 8 + 7}" fill="{_TEXT}">{v:+.1f}</text>')
    body.append(f'<text class="axis" x="{sx:.1f}" y="{sy - 8}" fill="{_AXIS}">synthetic − real</text>')
    return _svg(width, height, "".join(body), label, "heatmap")


def gauge_svg(score: float, *, size: int = 148, passed: bool | None = None) -> str:
    """A ring gauge of a score in [0, 1] with the percentage in the middle."""
    s = max(0.0, min(1.0, score if math.isfinite(score) else 0.0))
    r = size / 2 - 10
    c = 2 * math.pi * r
    color = "#20bf6b" if s >= 0.9 else "#f7b731" if s >= 0.75 else "#eb3b5a"
    mid = size / 2
    body = (
        f'<circle cx="{mid}" cy="{mid}" r="{r}" fill="none" stroke="#e6eaef" stroke-width="12"/>'
        f'<circle cx="{mid}" cy="{mid}" r="{r}" fill="none" stroke="{color}" stroke-width="12" stroke-linecap="round" '
        f'stroke-dasharray="{c * s:.2f} {c:.2f}" transform="rotate(-90 {mid} {mid})"/>'
        f'<text x="{mid}" y="{mid + 9}" text-anchor="middle" font-size="30" font-weight="700" fill="#1f2933">'
        f"{100 * s:.1f}</text>"
        f'<text x="{mid}" y="{mid + 28}" text-anchor="middle" font-size="11" fill="{_AXIS}">score / 100</text>'
    )
    return _svg(size, size, body, f"overall score {100 * s:.1f} of 100")
