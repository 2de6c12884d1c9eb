"""Chart specifications for the admin, drawn in the browser by Plotly (served from our own static
files, see trades.admin.staticfiles): values on hover, a time axis, zoom by dragging.

Each function returns a dict `{"data": [...], "layout": {...}}` that static/tradebook/charts.js
hands to `Plotly.newPlot`. Amounts become floats here only to place points; every figure a person
reads — hover labels included — is written by trades.admin.display from the Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from trades.admin import display

GAIN, LOSS, LINE, REPORTED, FLOW = "#1a7f37", "#cf222e", "#0969da", "#bf8700", "#8250df"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _t(moment: datetime | date) -> str:
    """Plotly reads 'YYYY-MM-DD HH:MM:SS' as a time on a date axis (times are UTC)."""
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    return moment.isoformat()


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def day_end(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _layout(title: str = "", *, height: int = 300, y_title: str = "", percent: bool = False, **extra) -> dict:
    layout = {
        "title": {"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}},
        "height": height,
        "margin": {"l": 70, "r": 20, "t": 36 if title else 10, "b": 40},
        "xaxis": {"type": "date", "showgrid": True, "gridcolor": "#eee", "hoverformat": "%Y-%m-%d %H:%M UTC"},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#eee", "zerolinecolor": "#999", "tickformat": ",.2f",
                  **({"ticksuffix": "%"} if percent else {})},
        "hovermode": "x unified",
        "showlegend": True,
        "legend": {"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        "font": {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12},
    }
    layout.update(extra)
    return layout


def equity_chart(*, days: Sequence, now_equity: Decimal | None, now: datetime, currency: str,
                 reported: dict[str, list[tuple[datetime, Decimal]]], flows: list[tuple[datetime, str, Decimal]],
                 equity_at: dict[date, Decimal]) -> dict:
    """The books' equity at the end of each day (today: now), the equity bots reported beside it,
    and the deposits, withdrawals and transfers marked on the curve."""
    xs, ys, texts = [], [], []
    for row in days:
        if row.equity_end is None:
            continue
        moment = now if row.live else day_end(row.day)
        xs.append(_t(moment))
        ys.append(_f(row.equity_end))
        texts.append(display.money(row.equity_end, currency))
    if now_equity is not None and days and not days[-1].live:
        xs.append(_t(now))
        ys.append(_f(now_equity))
        texts.append(display.money(now_equity, currency))
    data = [{
        "type": "scatter", "mode": "lines+markers" if len(xs) < 60 else "lines", "name": "equity (books)",
        "x": xs, "y": ys, "text": texts, "line": {"color": LINE, "width": 2}, "marker": {"size": 4},
        "hovertemplate": "books: %{text}<extra></extra>",
    }]
    for bot, points in sorted(reported.items()):
        data.append({
            "type": "scatter", "mode": "lines", "name": f"reported by {bot}" if bot else "reported",
            "x": [_t(t) for t, _ in points], "y": [_f(v) for _, v in points],
            "text": [display.money(v, currency) for _, v in points],
            "line": {"color": REPORTED, "width": 1.5, "dash": "dot"},
            "hovertemplate": "reported: %{text}<extra></extra>",
        })
    if flows:
        data.append({
            "type": "scatter", "mode": "markers", "name": "deposits / withdrawals",
            "x": [_t(t) for t, _, _ in flows],
            "y": [_f(equity_at.get(t.astimezone(UTC).date())) for t, _, _ in flows],
            "text": [f"{kind.replace('_', ' ')} {display.money(amount, currency, signed=True)}"
                     for _, kind, amount in flows],
            "marker": {"color": FLOW, "size": 12, "symbol": ["triangle-up" if a > 0 else "triangle-down"
                                                             for _, _, a in flows],
                       "line": {"color": "#fff", "width": 1}},
            "hovertemplate": "%{text}<extra></extra>",
        })
    return {"data": data, "layout": _layout(f"Equity ({currency})", height=340, y_title=currency)}


def drawdown_chart(points: list[tuple[date, Decimal]]) -> dict:
    """Drawdown of the time-weighted return index, in percent below its running peak (≤ 0)."""
    return {
        "data": [{
            "type": "scatter", "mode": "lines", "name": "drawdown", "fill": "tozeroy",
            "x": [_t(day_end(d)) for d, _ in points], "y": [_f(v) for _, v in points],
            "text": [display.percent(v) for _, v in points],
            "line": {"color": LOSS, "width": 1.5}, "fillcolor": "rgba(207,34,46,0.15)",
            "hovertemplate": "drawdown %{text}<extra></extra>",
        }],
        "layout": _layout("Drawdown (time-weighted, % below peak)", height=220, percent=True, showlegend=False),
    }


def pnl_bars(rows: list[tuple[date, Decimal, str]], *, currency: str, title: str) -> dict:
    """Net PnL bars (gains green, losses red); rows are (period start, net PnL, label)."""
    return {
        "data": [{
            "type": "bar", "name": "net PnL",
            "x": [d.isoformat() for d, _, _ in rows], "y": [_f(v) for _, v, _ in rows],
            "text": [f"{label}: {display.money(v, currency, signed=True)}" for _, v, label in rows],
            "textposition": "none",
            "marker": {"color": [GAIN if v >= 0 else LOSS for _, v, _ in rows]},
            "hovertemplate": "%{text}<extra></extra>",
        }],
        "layout": _layout(title, height=260, y_title=currency, showlegend=False, bargap=0.15,
                          hovermode="closest"),
    }


def calendar_heatmap(days: list[tuple[date, Decimal]], *, currency: str) -> dict:
    """Daily net PnL as a calendar: a column per week (Monday first), a row per weekday."""
    if not days:
        return {"data": [], "layout": _layout("Daily net PnL calendar", height=220)}
    first = days[0][0] - timedelta(days=days[0][0].weekday())
    weeks = (days[-1][0] - first).days // 7 + 1
    z = [[None] * weeks for _ in range(7)]
    text = [[""] * weeks for _ in range(7)]
    biggest = 0.0
    for day, value in days:
        column = (day - first).days // 7
        z[day.weekday()][column] = _f(value)
        text[day.weekday()][column] = f"{day.isoformat()} ({WEEKDAYS[day.weekday()]}): " \
                                      f"{display.money(value, currency, signed=True)}"
        biggest = max(biggest, abs(float(value)))
    x = [(first + timedelta(weeks=w)).isoformat() for w in range(weeks)]
    return {
        "data": [{
            "type": "heatmap", "x": x, "y": list(WEEKDAYS), "z": z, "text": text, "xgap": 2, "ygap": 2,
            "zmid": 0, "zmin": -biggest or -1, "zmax": biggest or 1,
            "colorscale": [[0, LOSS], [0.5, "#f6f8fa"], [1, GAIN]], "showscale": False,
            "hovertemplate": "%{text}<extra></extra>", "hoverongaps": False,
        }],
        "layout": _layout("Daily net PnL calendar", height=60 + 7 * 24, showlegend=False, hovermode="closest",
                          yaxis={"autorange": "reversed", "fixedrange": True},
                          xaxis={"type": "date", "tickformat": "%b %d", "showgrid": False}),
    }


def sparkline(points: list[tuple[datetime, Decimal]], *, currency: str, gain: bool) -> dict:
    """A small equity curve for the home page: no axes, the value on hover; green or red by the
    net PnL of its days (`gain`), not by equity's change, which deposits and withdrawals move."""
    color = GAIN if gain else LOSS
    return {
        "data": [{
            "type": "scatter", "mode": "lines", "x": [_t(t) for t, _ in points], "y": [_f(v) for _, v in points],
            "text": [f"{display.when(t, seconds=False)}: {display.money(v, currency)}" for t, v in points],
            "line": {"color": color, "width": 1.5}, "fill": "tozeroy", "hovertemplate": "%{text}<extra></extra>",
        }],
        "layout": {"height": 44, "width": 180, "margin": {"l": 0, "r": 0, "t": 2, "b": 2}, "showlegend": False,
                   "xaxis": {"visible": False, "type": "date"},
                   "yaxis": {"visible": False, "range": _range([v for _, v in points])},
                   "hovermode": "closest", "plot_bgcolor": "rgba(0,0,0,0)", "paper_bgcolor": "rgba(0,0,0,0)"},
    }


def _range(values: list[Decimal]) -> list[float] | None:
    if not values:
        return None
    low, high = float(min(values)), float(max(values))
    pad = (high - low) * 0.1 or abs(high) * 0.01 or 1.0
    return [low - pad, high + pad]


def downsample(points: Sequence, limit: int = 1500) -> list:
    """At most `limit` points, evenly picked, the first and the last kept."""
    if len(points) <= limit:
        return list(points)
    step = len(points) / limit
    picked = [points[int(i * step)] for i in range(limit)]
    picked[-1] = points[-1]
    return picked
