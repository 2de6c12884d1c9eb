"""One client of the fault tests: a separate process, plain http.client, the standard library only.

    python tests/faults/loadgen.py SPEC.json RESULT.json

Two modes (SPEC["mode"]):

- "crash": until SPEC["deadline"] (epoch seconds), make fills and post them, one fill
  or a batch at a time, each request sent again — the very same bytes — until it
  is answered 2xx (what a bot with a spool does). After the deadline the request
  in hand is still retried, until SPEC["give_up_at"]. Every fill ever sent is
  reported, with the ids acknowledged.
- "list": post SPEC["requests"] (prepared bodies) once each, in order, from
  SPEC["start_at"] on; report each answer (status, the ids created, error bodies).

A client never retries on a 4xx other than 429: the same bytes answered 2xx once
cannot become invalid, so such an answer is reported as unexpected.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BASE_PRICES = {"BTCUSDT": Decimal("60000"), "ETHUSDT": Decimal("3000"), "SOLUSDT": Decimal("150"),
               "XRPUSDT": Decimal("0.6")}


class Client:
    def __init__(self, spec: dict) -> None:
        self.host, self.port = "127.0.0.1", spec["port"]
        self.path = spec.get("path", "/api/v1/fills/")
        self.headers = {"Content-Type": "application/json", "Accept": "application/json",
                        "Authorization": f"Bearer {spec['token']}"}
        self.timeout = spec.get("timeout", 30)
        self.conn: http.client.HTTPConnection | None = None
        self.statuses: Counter = Counter()
        self.conn_errors: Counter = Counter()
        self.retry_after: Counter = Counter()  # 503 answers with / without a Retry-After header
        self.not_json_503 = 0
        self.sampled_503 = 0
        self.server_errors: list[dict] = []  # every 5xx other than 503, and a sample of 503s
        self.unexpected: list[dict] = []
        self.retries = 0
        self.attempts = 0

    def post(self, body: bytes) -> tuple[int, dict, bytes]:
        """One attempt; a broken keep-alive connection is dropped and the error raised."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request("POST", self.path, body=body, headers=self.headers)
            response = self.conn.getresponse()
            data = response.read()
        except BaseException:
            self.conn.close()
            self.conn = None
            raise
        headers = {k.lower(): v for k, v in response.getheaders()}
        if headers.get("connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return response.status, headers, data

    def note_answer(self, status: int, headers: dict, data: bytes, *, kind: str, at: float) -> None:
        """`at`: when the request was sent; the answer came now."""
        answered = time.time()
        self.statuses[status] += 1
        if status == 503:
            self.retry_after["with Retry-After" if "retry-after" in headers else "without Retry-After"] += 1
            try:
                if "errors" not in json.loads(data):
                    self.not_json_503 += 1
            except ValueError:
                self.not_json_503 += 1
            if self.sampled_503 < 3:
                self.sampled_503 += 1
                self.server_errors.append({"at": at, "answered": answered, "status": status, "kind": kind,
                                           "retry_after": headers.get("retry-after"),
                                           "body": data[:300].decode("utf-8", "replace")})
        elif status >= 500:
            self.server_errors.append({"at": at, "answered": answered, "status": status, "kind": kind,
                                       "body": data[:400].decode("utf-8", "replace")})

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def backoff(attempt: int, rng: random.Random, retry_after: str | None) -> float:
    if retry_after:
        try:
            # A bot would wait the whole Retry-After; the test caps it so a run stays short.
            return min(max(float(retry_after), 0.05), 1.0)
        except ValueError:
            pass
    return min(0.05 * 2 ** min(attempt, 4), 0.8) * (0.5 + rng.random())


# --- crash mode ---------------------------------------------------------------------------------


class FillMaker:
    """Fills with unique ids and unique executed_at (microseconds ≡ client number mod clients), so the
    order of the books is the same for the server and for an independent recomputation."""

    def __init__(self, client: int, clients: int, symbols: list[str], rng: random.Random) -> None:
        self.client, self.clients, self.symbols, self.rng = client, clients, symbols, rng
        self.seq = 0
        self.last_us = 0

    def _executed_at(self) -> str:
        now_us = time.time_ns() // 1000
        at = now_us - now_us % self.clients + self.client
        if at <= self.last_us:
            at = self.last_us + self.clients
        self.last_us = at
        return (EPOCH + timedelta(microseconds=at)).isoformat()

    def fill(self) -> dict:
        self.seq += 1
        symbol = self.rng.choice(self.symbols)
        base = BASE_PRICES.get(symbol, Decimal("100"))
        price = (base * Decimal(1 + (self.rng.random() - 0.5) / 10)).quantize(Decimal("0.0001"))
        quantity = Decimal(self.rng.randint(1, 5000)) / Decimal(1000)
        fee = (price * quantity * Decimal("0.001")).quantize(Decimal("0.00000001"), rounding=ROUND_HALF_EVEN)
        return {"id": f"c{self.client}-{self.seq}", "symbol": symbol, "side": self.rng.choice(("buy", "sell")),
                "price": str(price), "quantity": str(quantity), "fee": str(fee), "fee_currency": "USDT",
                "executed_at": self._executed_at()}


def run_crash(spec: dict) -> dict:
    rng = random.Random(spec["seed"])
    client = Client(spec)
    maker = FillMaker(spec["client"], spec["clients"], spec["symbols"], rng)
    sent: dict[str, dict] = {}
    acked: list[str] = []
    unacked: list[str] = []
    requests = Counter()
    first_try = Counter()
    started = time.time()
    while time.time() < spec["deadline"]:
        single = rng.random() < spec.get("single_share", 0.5)
        fills = [maker.fill() for _ in range(1 if single else rng.randint(2, spec.get("max_batch", 40)))]
        for f in fills:
            sent[f["id"]] = f
        kind = "single" if single else "batch"
        requests[kind] += 1
        body = json.dumps(fills[0] if single else fills).encode()
        attempt = 0
        done = False
        while True:
            attempt += 1
            client.attempts += 1
            at = time.time()
            try:
                status, headers, data = client.post(body)
            except (OSError, http.client.HTTPException) as exc:
                client.conn_errors[type(exc).__name__] += 1
                status, headers, data = None, {}, b""
            if status is not None:
                client.note_answer(status, headers, data, kind=f"{kind} of {len(fills)}", at=at)
                if 200 <= status < 300:
                    done = True
                    if attempt == 1:
                        first_try[kind] += 1
                    break
                if status < 500 and status != 429:
                    client.unexpected.append({"at": at, "status": status, "kind": kind,
                                              "body": data[:500].decode("utf-8", "replace")})
                    break
            if time.time() > spec["give_up_at"]:
                break
            client.retries += 1
            time.sleep(backoff(attempt, rng, headers.get("retry-after")))
        (acked if done else unacked).extend(f["id"] for f in fills)
    client.close()
    return {"client": spec["client"], "sent": sent, "acked": acked, "unacked": unacked,
            "requests": dict(requests), "first_try_ok": dict(first_try), "statuses": dict(client.statuses),
            "conn_errors": dict(client.conn_errors), "retry_after": dict(client.retry_after),
            "not_json_503": client.not_json_503, "server_errors": client.server_errors,
            "unexpected": client.unexpected, "retries": client.retries, "attempts": client.attempts,
            "seconds": time.time() - started}


# --- list mode -----------------------------------------------------------------------------------


def run_list(spec: dict) -> dict:
    client = Client(spec)
    wait = spec.get("start_at", 0) - time.time()
    if wait > 0:
        time.sleep(wait)
    answers = []
    started = time.time()
    for request in spec["requests"]:
        body = json.dumps(request["body"]).encode()
        at = time.time()
        answer = {"tag": request.get("tag"), "items": request.get("items")}
        try:
            status, headers, data = client.post(body)
        except (OSError, http.client.HTTPException) as exc:
            client.conn_errors[type(exc).__name__] += 1
            answer.update(status=None, error=f"{type(exc).__name__}: {exc}")
            answers.append(answer)
            continue
        client.note_answer(status, headers, data, kind=request.get("tag") or "request", at=at)
        answer["status"] = status
        answer["seconds"] = round(time.time() - at, 4)
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        if 200 <= status < 300 and isinstance(parsed, dict):
            answer["created"] = [r["id"] for r in parsed.get("results", []) if r.get("status") == "created"]
            answer["counts"] = parsed.get("counts")
        else:
            answer["body"] = parsed if parsed is not None else data[:2000].decode("utf-8", "replace")
        answers.append(answer)
    client.close()
    return {"client": spec.get("client"), "answers": answers, "statuses": dict(client.statuses),
            "conn_errors": dict(client.conn_errors), "server_errors": client.server_errors,
            "seconds": time.time() - started}


def main(argv: list[str]) -> int:
    with open(argv[1]) as f:
        spec = json.load(f)
    result = run_crash(spec) if spec["mode"] == "crash" else run_list(spec)
    with open(argv[2] + ".part", "w") as f:
        json.dump(result, f)
    # Renamed when complete: the parent never reads half a result.
    os.replace(argv[2] + ".part", argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
