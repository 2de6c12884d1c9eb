"""What the storm tests share: deterministic fills, request bodies of mixed sizes, a pass of
concurrent client processes, and the books read back and recomputed."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.faults.harness import Clients, http_request
from tests.faults.recompute import average_cost

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
BASE_PRICES = {"BTCUSDT": Decimal("60000"), "ETHUSDT": Decimal("3000"), "SOLUSDT": Decimal("150"),
               "XRPUSDT": Decimal("0.6")}


def make_fills(count: int, prefix: str, seed: int) -> list[dict]:
    """`count` fills with unique ids and unique executed_at (10 ms apart, ending an hour ago)."""
    rng = random.Random(seed)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1) - timedelta(milliseconds=10 * count)
    fills = []
    for i in range(count):
        symbol = SYMBOLS[i % len(SYMBOLS)]
        price = (BASE_PRICES[symbol] * Decimal(1 + (rng.random() - 0.5) / 10)).quantize(Decimal("0.0001"))
        quantity = Decimal(rng.randint(1, 5000)) / Decimal(1000)
        fee = (price * quantity * Decimal("0.001")).quantize(Decimal("0.00000001"))
        fills.append({"id": f"{prefix}-{i:06d}", "symbol": symbol, "side": rng.choice(("buy", "sell")),
                      "price": str(price), "quantity": str(quantity), "fee": str(fee), "fee_currency": "USDT",
                      "executed_at": (start + timedelta(milliseconds=10 * i)).isoformat()})
    return fills


def chunked(fills: list[dict], sizes: list[int], rng: random.Random, tag: str) -> list[dict]:
    """The fills cut into requests whose sizes are drawn from `sizes`; a request of one fill posts the
    object itself, not a list of one."""
    requests, i = [], 0
    while i < len(fills):
        size = rng.choice(sizes)
        part = fills[i:i + size]
        i += size
        requests.append({"tag": f"{tag}, {'single' if len(part) == 1 else f'batch of {len(part)}'}",
                         "body": part[0] if len(part) == 1 else part, "items": [f["id"] for f in part]})
    return requests


def run_lists(port: int, token: str, per_client: list[list[dict]], workdir: Path, timeout: float) -> dict:
    """Each client posts its list of requests once, all starting together; the answers, flattened."""
    workdir.mkdir(parents=True, exist_ok=True)
    start_at = time.time() + 1.5  # every process imported and connected before the first request
    specs = [{"mode": "list", "port": port, "token": token, "client": i, "requests": requests,
              "start_at": start_at, "timeout": 120} for i, requests in enumerate(per_client)]
    results = Clients(specs, workdir).wait(timeout)
    answers = [a for r in results for a in r["answers"]]
    statuses: Counter = Counter()
    conn_errors: Counter = Counter()
    for r in results:
        statuses.update({int(k): v for k, v in r["statuses"].items()})
        conn_errors.update(r["conn_errors"])
    return {"answers": answers, "statuses": statuses, "conn_errors": conn_errors,
            "seconds": time.time() - start_at, "requests": len(answers),
            "slowest_request_s": max((a.get("seconds", 0) for a in answers), default=0)}


def stored_fills(cluster, database: str, account: str) -> list[tuple]:
    return cluster.query(database, """
        SELECT f.symbol, f.external_id, f.side, f.price, f.quantity, f.fee, f.fee_currency, f.executed_at
        FROM trades_fill f JOIN accounts_account a ON a.id = f.account_id WHERE a.slug = %s""", (account,))


def content_differences(rows: list[tuple], sent: dict[str, dict]) -> list[str]:
    """Ids whose stored booked content is not what was sent (the stored row is never changed)."""
    out = []
    for symbol, external_id, side, price, quantity, fee, fee_currency, executed_at in rows:
        f = sent.get(external_id)
        if f is None or (symbol, side, price, quantity, fee, fee_currency, executed_at) != (
                f["symbol"], f["side"], Decimal(f["price"]), Decimal(f["quantity"]), Decimal(f["fee"]),
                f["fee_currency"], datetime.fromisoformat(f["executed_at"])):
            out.append(external_id)
    return out


def position_differences(port: int, token: str, account: str, fills: list[dict]) -> list[str]:
    """GET …/positions/ against SPEC 5's average cost recomputed from `fills`: quantity, average_price,
    realized_pnl and fees per symbol, as exact decimals."""
    expected = average_cost(fills)
    status, _h, body = http_request(port, "GET", f"/api/v1/accounts/{account}/positions/", token=token)
    if status != 200:
        return [f"GET positions answered {status}: {body[:300]!r}"]
    answered = {p["symbol"]: p for p in json.loads(body)["results"]}
    differences = []
    for symbol in sorted(set(expected) | set(answered)):
        want, got = expected.get(symbol), answered.get(symbol)
        if want is None or got is None:
            differences.append(f"{symbol}: recomputed {want}, API {got}")
            continue
        for name in ("quantity", "average_price", "realized_pnl", "fees"):
            mine, theirs = getattr(want, name), got.get(name)
            theirs = None if theirs is None else Decimal(str(theirs))
            if name == "average_price" and want.quantity == 0 and theirs in (None, Decimal(0)):
                continue  # a flat position has no average price (SPEC 5: q == 0 clears p)
            if mine != theirs:
                differences.append(f"{symbol} {name}: recomputed {mine}, API {theirs}")
    return differences
