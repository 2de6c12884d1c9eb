"""Everything stored reads back: the nastiest values each write endpoint accepts, in known and
unknown fields, posted once and read through every list and detail endpoint.

Once, a fill whose `id` was the JSON integer 10^30 was stored with its journal row and answered
500 (the renderer stopped at 64-bit integers), and every resend added a journal row and another
500; a fill with `"note": 10^23` in an unknown field was a 201, and from then on every page of
fills holding it, its detail and the journal answered 500.

The rule the answers keep: an integer is a JSON number with all its digits, as posted (the
renderer's exact writer); a decimal — an amount, or a number kept in meta — is a string.
"""

import json
from decimal import Decimal

import pytest

from tests.api.write_helpers import post
from trades.models import Event, Fill

pytestmark = pytest.mark.django_db

BIG_ID = 10**30  # 31 digits: past orjson's 64 bits
MAX = "99999999999999999999.999999999999999999"  # numeric(38,18) at its widest
TINY = "0.000000000000000001"
SYMBOL = "ÄÖÜ/☃-\u2028" + "X" * 56  # 64 characters, none ASCII-only
AT = "2026-01-01T00:00:00.999999Z"
DEEP: dict = {}
_level = DEEP
for _ in range(60):  # objects 62 levels deep with the item itself: within the journal's 64
    _level["d"] = {}
    _level = _level["d"]

# Unknown fields (kept in meta) and an explicit meta, with what a 64-bit reader or a float cannot hold.
EXTRAS_TEXT = ('"note": 100000000000000000000000, "neg": -' + "9" * 99 + ', "tiny": 1e-100, "huge": 1e100, '
               '"digits": 0.123456789012345678901234567890, "text": "\\u2028 \\u2603 \\ud83d\\ude00 \\"q\\"", '
               '"deep": ' + json.dumps(DEEP) + ', "meta": {"kept": 18446744073709551616}')
EXTRAS = json.loads("{" + EXTRAS_TEXT + "}", parse_float=Decimal)


def item(fields: str) -> str:
    return "{" + fields + ", " + EXTRAS_TEXT + "}"


FILL = item(f'"id": {BIG_ID}, "symbol": {json.dumps(SYMBOL)}, "side": "sell", "price": "{MAX}", '
            f'"quantity": "{TINY}", "fee": "-{TINY}", "fee_currency": "USDT", "order_id": {BIG_ID + 1}, '
            f'"trade_id": {BIG_ID + 2}, "executed_at": "{AT}", "reported_pnl": "-{MAX}", "is_maker": true')
ORDER = item(f'"id": {BIG_ID + 1}, "client_order_id": {BIG_ID + 3}, "symbol": {json.dumps(SYMBOL)}, '
             f'"side": "sell", "status": "filled", "price": "{MAX}", "quantity": "{TINY}", '
             f'"filled_quantity": "{TINY}", "average_price": "{MAX}", "updated_at": 1767225600.999999')
TRADE = item(f'"id": {BIG_ID + 2}, "symbol": {json.dumps(SYMBOL)}, "side": "short", "quantity": "{TINY}", '
             f'"entry_price": "{MAX}", "entry_time": "{AT}", "leverage": "{TINY}", "confidence": "-{MAX}", '
             f'"metadata": {{"m": 10000000000000000000000000000}}')
SIGNAL = item(f'"id": {BIG_ID}, "symbol": {json.dumps(SYMBOL)}, "value": -1, "generated_at": "{AT}", '
              f'"strength": "{MAX}", "metadata": {{"x": 1e-100}}')
CASHFLOW = item(f'"id": {BIG_ID}, "kind": "rebate", "amount": "{TINY}", "currency": "USDT", "ts": "{AT}"')
POSITION = item(f'"symbol": {json.dumps(SYMBOL)}, "side": "long", "size": "{MAX}", "mark_price": "{TINY}", '
                f'"unrealized_pnl": "-{MAX}", "exchange_ts": "{AT}"')
WALLET = item(f'"coin": "ÄÖÜ", "wallet_balance": "-{MAX}", "exchange_ts": "{AT}"')
EQUITY = item(f'"equity": "{MAX}", "positions_count": 2147483647, "total_trades": -2147483648, '
              f'"exchange_ts": "{AT}"')
MARK = item(f'"symbol": {json.dumps(SYMBOL)}, "price": "{TINY}", "ts": "{AT}"')
WRITES = [("/api/v1/fills/", FILL), ("/api/v1/orders/", ORDER), ("/api/v1/trades/", TRADE),
          ("/api/v1/signals/", SIGNAL), ("/api/v1/cashflows/", CASHFLOW), ("/api/v1/positions/", POSITION),
          ("/api/v1/wallets/", WALLET), ("/api/v1/equity/", EQUITY), ("/api/v1/marks/", MARK)]
LISTS = ["/api/v1/fills/", "/api/v1/orders/", "/api/v1/trades/", "/api/v1/signals/", "/api/v1/events/",
         "/api/v1/cashflows/", "/api/v1/positions/", "/api/v1/positions/latest/", "/api/v1/wallets/",
         "/api/v1/wallets/latest/", "/api/v1/equity/", "/api/v1/marks/"]
DETAILS = [f"/api/v1/fills/{BIG_ID}/", f"/api/v1/orders/{BIG_ID + 1}/", f"/api/v1/orders/{BIG_ID + 1}/fills/",
           f"/api/v1/trades/{BIG_ID + 2}/", f"/api/v1/trades/{BIG_ID + 2}/fills/"]
BOOKS = ["/api/v1/accounts/", "/api/v1/accounts/alpha/", "/api/v1/accounts/alpha/positions/",
         "/api/v1/accounts/alpha/summary/", "/api/v1/accounts/alpha/pnl/?period=day",
         "/api/v1/accounts/alpha/performance/?by=symbol"]


def read(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:500])
    return json.loads(response.content)  # Python's json keeps every integer's digits


def expected_meta() -> dict:
    """The meta as read back: integers as posted, decimals as their strings, the explicit meta merged."""
    def shown(value):
        if isinstance(value, dict):
            return {k: shown(v) for k, v in value.items()}
        return str(value) if isinstance(value, Decimal) else value
    out = {k: shown(v) for k, v in EXTRAS.items() if k != "meta"}
    return {**out, "kept": 18446744073709551616}


def same_numbers(a, b) -> bool:
    """Equal, where numbers written as strings compare as decimals (PostgreSQL's jsonb writes 1e100
    out in full, SQLite keeps '1E+100'; both are the number posted)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_numbers(a[k], b[k]) for k in a)
    if isinstance(a, str) and isinstance(b, str | int) or isinstance(b, str) and isinstance(a, int):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except ArithmeticError:
            return a == b
    return a == b


def test_the_nastiest_accepted_values_read_back_through_every_endpoint(api):
    for url, body in WRITES:
        response = post(api, url, body)
        assert response.status_code == 201, (url, response.content)
    again = post(api, "/api/v1/fills/", FILL)  # a resend: a duplicate, journaled as one, and answered
    assert again.status_code == 200 and json.loads(again.content)["results"][0] == {
        "index": 0, "status": "duplicate", "id": BIG_ID}
    assert sorted(Event.objects.filter(type="fill").values_list("outcome", flat=True)) == ["created", "duplicate"]

    for url in LISTS + DETAILS + BOOKS:
        read(api, url)
    fill = read(api, f"/api/v1/fills/{BIG_ID}/")
    assert (fill["id"], fill["symbol"], fill["price"], fill["quantity"], fill["fee"], fill["reported_pnl"]) == (
        str(BIG_ID), SYMBOL, MAX, TINY, "-" + TINY, "-" + MAX)
    assert (fill["order_id"], fill["trade_id"], fill["executed_at"]) == (
        str(BIG_ID + 1), str(BIG_ID + 2), "2026-01-01T00:00:00.999999Z")
    assert same_numbers(fill["meta"], expected_meta())
    assert read(api, "/api/v1/fills/")["results"][0]["meta"]["note"] == 10**23
    trade = read(api, f"/api/v1/trades/{BIG_ID + 2}/")
    assert trade["metadata"] == {"m": 10**28} and trade["confidence"] == "-" + MAX
    event = read(api, "/api/v1/events/?type=fill")["results"][0]
    assert event["raw"]["id"] == BIG_ID and event["raw"]["note"] == 10**23
    assert same_numbers(event["raw"]["huge"], "1E+100") and event["raw"]["deep"] == DEEP
    stored = Fill.objects.get()
    assert (stored.external_id, stored.price, stored.quantity) == (str(BIG_ID), Decimal(MAX), Decimal(TINY))
