"""Small server-side SVG charts for the admin account page: no JavaScript, no CDN.

Amounts are converted to float here only to place pixels; figures shown as text
stay Decimal.
"""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, PAD = 760, 220, 36


def _scale(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    return low, high


def _axis(low: float, high: float) -> str:
    labels = []
    for fraction in (0, 0.5, 1):
        value = low + (high - low) * fraction
        y = HEIGHT - PAD - fraction * (HEIGHT - 2 * PAD)
        labels.append(
            f'<line x1="{PAD}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="2" y="{y + 4:.1f}" font-size="10" fill="#666">{value:,.2f}</text>'
        )
    return "".join(labels)


def _frame(body: str, title: str, first: str, last: str) -> SafeString:
    return mark_safe(
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{escape(title)}" '
        f'style="max-width:{WIDTH}px;background:#fff;border:1px solid #eee">'
        f'<text x="{PAD}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>{body}'
        f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="10" fill="#666">{escape(first)}</text>'
        f'<text x="{WIDTH - 8}" y="{HEIGHT - 6}" font-size="10" fill="#666" text-anchor="end">{escape(last)}</text>'
        "</svg>"
    )


def _label(moment: date | datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if isinstance(moment, datetime) else moment.isoformat()


def line_chart(points: Sequence[tuple[datetime, Decimal]], *, title: str, color: str = "#2b6cb0",
               fill: bool = False) -> SafeString:
    if len(points) < 2:
        return mark_safe(f"<p>{escape(title)}: not enough data yet.</p>")
    values = [float(v) for _, v in points]
    low, high = _scale(values)
    start, end = points[0][0].timestamp(), points[-1][0].timestamp()
    span = (end - start) or 1
    coords = [
        (PAD + (t.timestamp() - start) / span * (WIDTH - PAD - 8),
         HEIGHT - PAD - (v - low) / (high - low) * (HEIGHT - 2 * PAD))
        for (t, _), v in zip(points, values, strict=True)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    area = ""
    if fill:
        bottom = HEIGHT - PAD
        area = (f'<polygon points="{coords[0][0]:.1f},{bottom} {path} {coords[-1][0]:.1f},{bottom}" '
                f'fill="{color}" fill-opacity="0.15"/>')
    body = _axis(low, high) + area + f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"/>'
    return _frame(body, title, _label(points[0][0]), _label(points[-1][0]))


def bar_chart(bars: Sequence[tuple[date, Decimal]], *, title: str) -> SafeString:
    if not bars:
        return mark_safe(f"<p>{escape(title)}: no data yet.</p>")
    values = [float(v) for _, v in bars]
    low, high = _scale([*values, 0.0])
    zero = HEIGHT - PAD - (0 - low) / (high - low) * (HEIGHT - 2 * PAD)
    step = (WIDTH - PAD - 8) / len(bars)
    rects = []
    for i, ((day, amount), value) in enumerate(zip(bars, values, strict=True)):
        y = HEIGHT - PAD - (value - low) / (high - low) * (HEIGHT - 2 * PAD)
        top, height = min(y, zero), abs(zero - y)
        color = "#2f855a" if value >= 0 else "#c53030"
        rects.append(
            f'<rect x="{PAD + i * step + 1:.1f}" y="{top:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{max(height, 0.5):.1f}" fill="{color}"><title>{escape(_label(day))}: {amount}</title></rect>'
        )
    return _frame(_axis(low, high) + "".join(rects), title, _label(bars[0][0]), _label(bars[-1][0]))


def drawdown_series(points: Sequence[tuple[datetime, Decimal]]) -> list[tuple[datetime, Decimal]]:
    """Percent below the running peak at each point (≤ 0)."""
    series, peak = [], None
    for moment, equity in points:
        peak = equity if peak is None or equity > peak else peak
        series.append((moment, (equity - peak) / peak * 100 if peak > 0 else Decimal(0)))
    return series


def downsample(points: Sequence, limit: int = 600) -> list:
    if len(points) <= limit:
        return list(points)
    step = len(points) / limit
    picked = [points[int(i * step)] for i in range(limit)]
    picked[-1] = points[-1]
    return picked
