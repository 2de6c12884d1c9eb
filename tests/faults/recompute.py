"""SPEC 5's average cost, recomputed from the fills the clients sent, independently of trades.books.

Positions are rebuilt per symbol in executed_at order (the clients make every
executed_at unique, so the order is not a matter of tie-breaking). An average price
(a division) and a realized PnL (a product with up to 36 places) are rounded to 18
places, half-even, after each fill: what numeric(38,18) can hold, and where the
server's books round too (trades/books/cost.py). Quantities and fees are exact sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

Q18 = Decimal("1e-18")
ZERO = Decimal(0)


@dataclass
class Position:
    quantity: Decimal = ZERO
    average_price: Decimal | None = None
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    fills: int = 0


def average_cost(fills: list[dict]) -> dict[str, Position]:
    """{symbol: Position} from fills given as the API's items (amounts as strings)."""
    by_symbol: dict[str, list[dict]] = {}
    for fill in fills:
        by_symbol.setdefault(fill["symbol"], []).append(fill)
    positions = {}
    with localcontext() as ctx:
        ctx.prec = 80
        ctx.rounding = ROUND_HALF_EVEN
        for symbol, rows in by_symbol.items():
            rows.sort(key=lambda f: datetime.fromisoformat(f["executed_at"]))
            pos = Position()
            for fill in rows:
                s = 1 if fill["side"] == "buy" else -1
                x, price = Decimal(fill["quantity"]), Decimal(fill["price"])
                q = pos.quantity
                if q == 0 or (q > 0) == (s > 0):
                    pos.average_price = ((abs(q) * (pos.average_price or ZERO) + x * price) / (abs(q) + x)).quantize(Q18)
                    pos.quantity = q + s * x
                else:
                    closed = min(x, abs(q))
                    sign_q = 1 if q > 0 else -1
                    pos.realized_pnl += (closed * (price - pos.average_price) * sign_q).quantize(Q18)
                    pos.quantity = q + s * x
                    if x > closed:
                        pos.average_price = price
                    if pos.quantity == 0:
                        pos.average_price = None
                pos.fees += Decimal(fill.get("fee") or 0)
                pos.fills += 1
            positions[symbol] = pos
    return positions
