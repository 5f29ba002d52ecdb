"""Inline SVG charts for the HTML report: histograms, bar charts, a heatmap and a score gauge.

Every label, value and title that ends up in the markup passes through `esc` (text and attribute
context alike), so names and values from the data cannot inject markup or script.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime, timezone

__all__ = ["REAL", "SYNTH", "HOLDOUT", "esc", "fmt", "gauge_svg", "heatmap_svg", "hbars_svg", "hist_svg", "vbars_svg"]

REAL = "#3867d6"
SYNTH = "#f0932b"
HOLDOUT = "#8e44ad"
_AXIS = "#9aa5b1"
_TEXT = "#3e4c59"
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


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{esc(label)}" {_FONT} font-size="11">'
        f"<title>{esc(label)}</title>{body}</svg>"
    )


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * mag:
            return m * mag
    return 10 * mag


def _legend(x: float, y: float, second: str = "synthetic", color: str = SYNTH, first: str = "real") -> str:
    gap = 22 + 6 * len(first)
    return (
        f'<rect x="{x}" y="{y - 8}" width="10" height="10" rx="2" fill="{REAL}"/>'
        f'<text x="{x + 14}" y="{y + 1}" fill="{_TEXT}">{esc(first)}</text>'
        f'<rect x="{x + gap}" y="{y - 8}" width="10" height="10" rx="2" fill="{color}"/>'
        f'<text x="{x + gap + 14}" y="{y + 1}" fill="{_TEXT}">{esc(second)}</text>'
    )


def hist_svg(
    edges: Sequence[float],
    real: Sequence[float],
    synthetic: Sequence[float],
    *,
    kind: str = "numerical",
    label: str = "histogram",
    second: str = "synthetic",
    color: str = SYNTH,
    first: str = "real",
    width: int = 360,
    height: int = 190,
) -> str:
    """Real as filled bars, the other side as a step outline; bar area is the share (variable widths)."""
    if len(edges) < 2:
        return _svg(width, height, f'<text x="12" y="24" fill="{_TEXT}">no values</text>', label)
    left, right, top, bottom = 44, 10, 22, 30
    pw, ph = width - left - right, height - top - bottom
    lo, hi = edges[0], edges[-1]
    span = (hi - lo) or 1.0
    widths = [max(edges[k + 1] - edges[k], span * 1e-9) for k in range(len(edges) - 1)]
    dr = [r / w for r, w in zip(real, widths, strict=False)]
    ds = [s / w for s, w in zip(synthetic, widths, strict=False)]
    ymax = _nice_max(max(dr + ds + [1e-300]))

    def X(v: float) -> float:
        return left + (v - lo) / span * pw

    def Y(d: float) -> float:
        return top + ph - d / ymax * ph

    body = [f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="{_AXIS}"/>']
    for k in range(len(widths)):
        x0, x1 = X(edges[k]), X(edges[k + 1])
        tip = f"{fmt(edges[k], kind)} – {fmt(edges[k + 1], kind)}: {first} {pct(real[k])}, {second} {pct(synthetic[k])}"
        body.append(
            f'<rect x="{x0:.2f}" y="{Y(dr[k]):.2f}" width="{max(x1 - x0 - 0.4, 0.3):.2f}" '
            f'height="{top + ph - Y(dr[k]):.2f}" fill="{REAL}" fill-opacity="0.55"><title>{esc(tip)}</title></rect>'
        )
    path = [f"M{X(edges[0]):.2f},{top + ph:.2f}"]
    for k in range(len(widths)):
        path.append(f"L{X(edges[k]):.2f},{Y(ds[k]):.2f}L{X(edges[k + 1]):.2f},{Y(ds[k]):.2f}")
    path.append(f"L{X(edges[-1]):.2f},{top + ph:.2f}")
    body.append(f'<path d="{"".join(path)}" fill="none" stroke="{color}" stroke-width="2" stroke-linejoin="round"/>')
    ticks = (0, 2, 4) if kind == "datetime" else (0, 1, 2, 3, 4)
    for t in ticks:
        v = lo + span * t / 4
        anchor = "start" if t == 0 else "end" if t == 4 else "middle"
        body.append(f'<text x="{X(v):.1f}" y="{height - 12}" text-anchor="{anchor}" fill="{_TEXT}">{esc(fmt(v, kind))}</text>')
    body.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" fill="{_AXIS}">density</text>')
    body.append(_legend(width - 170, 12, second, color, first))
    return _svg(width, height, "".join(body), label)


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
    """Grouped vertical bars (shares) for a few numeric values or counts."""
    left, right, top, bottom = 44, 10, 22, 30
    pw, ph = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    ymax = _nice_max(max(list(real) + list(synthetic) + [1e-300]))
    slot = pw / n
    bw = max(slot * 0.38, 0.6)
    body = [f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="{_AXIS}"/>']
    step = max(1, math.ceil(n / 10))
    for k, lab in enumerate(labels):
        x = left + k * slot + slot * 0.1
        shown = fmt(lab, kind) if isinstance(lab, (int, float)) else short(lab, 10)
        tip = f"{shown}: real {pct(real[k])}, {second} {pct(synthetic[k])}"
        for j, (v, c) in enumerate(((real[k], REAL), (synthetic[k], color))):
            h = v / ymax * ph
            body.append(
                f'<rect x="{x + j * bw:.2f}" y="{top + ph - h:.2f}" width="{bw:.2f}" height="{h:.2f}" rx="1" '
                f'fill="{c}"><title>{esc(tip)}</title></rect>'
            )
        if k % step == 0:
            body.append(
                f'<text x="{left + (k + 0.5) * slot:.1f}" y="{height - 12}" text-anchor="middle" '
                f'fill="{_TEXT}">{esc(shown)}</text>'
            )
    body.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" fill="{_AXIS}">{esc(pct(ymax))}</text>')
    body.append(_legend(width - 150, 12, second, color))
    return _svg(width, height, "".join(body), label)


def hbars_svg(
    labels: Sequence[object],
    real: Sequence[float],
    synthetic: Sequence[float],
    *,
    label: str = "category frequencies",
    width: int = 360,
) -> str:
    """Grouped horizontal bars (shares) for categories, labels on the left."""
    left, right, top = 118, 46, 24
    row = 20
    height = top + row * max(len(labels), 1) + 8
    pw = width - left - right
    xmax = max(list(real) + list(synthetic) + [1e-300])
    body = []
    for k, lab in enumerate(labels):
        y = top + k * row
        tip = f"{short(lab, 80)}: real {pct(real[k])}, synthetic {pct(synthetic[k])}"
        body.append(
            f'<text x="{left - 6}" y="{y + 12}" text-anchor="end" fill="{_TEXT}">{esc(short(lab, 18))}'
            f"<title>{esc(short(lab, 200))}</title></text>"
        )
        for j, (v, c) in enumerate(((real[k], REAL), (synthetic[k], SYNTH))):
            w = v / xmax * pw
            body.append(
                f'<rect x="{left}" y="{y + 2 + j * 8:.1f}" width="{max(w, 0.0):.2f}" height="7" rx="1.5" fill="{c}">'
                f"<title>{esc(tip)}</title></rect>"
            )
        body.append(
            f'<text x="{left + max(real[k], synthetic[k]) / xmax * pw + 4:.1f}" y="{y + 12}" fill="{_AXIS}" '
            f'font-size="10">{esc(pct(real[k]))}</text>'
        )
    body.append(_legend(width - 150, 12))
    return _svg(width, height, "".join(body), label)


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
    """Lower-triangle heatmap of synthetic − real association (Pearson or Cramér's V), red above, blue below."""
    n = len(names)
    cell = max(18, min(46, 520 // max(n, 1)))
    left, top = 130, 16
    width = left + cell * n + 150
    height = top + cell * n + 120
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
                f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" rx="2" fill="{_diverging(d)}">'
                f"<title>{esc(tip)}</title></rect>"
            )
            if cell >= 30 and d is not None:
                body.append(
                    f'<text x="{x + cell / 2 - 0.5}" y="{y + cell / 2 + 3.5}" text-anchor="middle" font-size="10" '
                    f'fill="{"#ffffff" if abs(d) > 0.3 else _TEXT}">{esc(f"{d:+.2f}")}</text>'
                )
    for k, name in enumerate(names):
        body.append(
            f'<text x="{left - 6}" y="{top + k * cell + cell / 2 + 4}" text-anchor="end" fill="{_TEXT}">'
            f"{esc(short(name, 20))}<title>{esc(name)}</title></text>"
        )
        x = left + k * cell + cell / 2
        y = top + n * cell + 6
        body.append(
            f'<text transform="translate({x:.1f},{y:.1f}) rotate(40)" text-anchor="start" fill="{_TEXT}">'
            f"{esc(short(name, 16))}<title>{esc(name)}</title></text>"
        )
    # colour scale
    sx, sy = left + cell * n + 24, top + 10
    for k in range(21):
        v = 0.5 - k * 0.05
        body.append(f'<rect x="{sx}" y="{sy + k * 8}" width="14" height="8" fill="{_diverging(v)}"/>')
    for v, k in ((0.5, 0), (0.0, 10), (-0.5, 20)):
        body.append(f'<text x="{sx + 20}" y="{sy + k * 8 + 7}" fill="{_TEXT}">{v:+.1f}</text>')
    body.append(f'<text x="{sx}" y="{sy - 4}" fill="{_AXIS}">synthetic − real</text>')
    return _svg(width, height, "".join(body), label)


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
