"""Helpers shared by the write API tests: post exact JSON text, make valid items."""

import json
from datetime import timedelta

from tests.factories import T0


def post(client, url: str, body, *, content_type: str = "application/json", method: str = "post"):
    """Post `body` as it is when it is text (exact numbers), else as JSON."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type=content_type)


def fill(n: int = 1, **fields) -> dict:
    item = {"id": f"f{n}", "symbol": "BTCUSDT", "side": "buy", "price": "100.5", "quantity": "0.01",
            "fee": "0.001", "fee_currency": "USDT", "executed_at": (T0 + timedelta(seconds=n)).isoformat(),
            "bot": "paper:BTCUSD-ETHUSD"}
    item.update(fields)
    return item
