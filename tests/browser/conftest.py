"""The browser suite: the admin as a person sees it, in headless Chromium driven by Playwright.

    .venv/bin/python -m pytest tests/browser -m browser -p no:cacheprovider

Every test here carries the `browser` mark and is deselected unless the `-m` expression names
`browser`: the normal suite (`bin/test`) must not install a browser or start servers. The tests
run a real server (gunicorn, as in production) on its own SQLite database in a temporary folder
(or the PostgreSQL database BROWSER_DATABASE_URL names, created if missing), loaded with
`seed_demo`, an account with fills and nothing else, and an account whose history (a deposit and
BROWSER_FILLS fills, default 30,000) is imported from a JSONL file with `import_events`.

The browser is Debian's chromium (/usr/bin/chromium): Playwright's own browser download cannot
work here. When it is missing the suite installs it with apt-get (root, as CI runs). Screenshots
of every page are kept under bench/out/screenshots/ (git-ignored) for CI to keep as artifacts.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCREENSHOTS = ROOT / "bench" / "out" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "browser-tests-only-9f3"
FILLS_ONLY = "fills-only"
IMPORTED = "imported-history"
WIDTH = 1400


def ensure_chromium() -> str:
    """Debian's chromium, installed with apt-get on a fresh machine."""
    if not Path(CHROMIUM).exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) as root")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "fonts-dejavu-core"], check=True, env=env)
    return CHROMIUM


# -- the data ------------------------------------------------------------------------------------

def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def fills_only_lines(now: datetime) -> list[dict]:
    """Round trips in two symbols over 40 days: fills and nothing else (no bot, trade, mark or flow)."""
    out, start = [], now - timedelta(days=40)
    price = {"BTCUSDT": Decimal("60000"), "ETHUSDT": Decimal("3000")}
    for i in range(240):
        symbol = "BTCUSDT" if i % 3 else "ETHUSDT"
        step = Decimal((i * 37) % 21 - 10) / 1000  # a deterministic walk of ±1 %
        price[symbol] = (price[symbol] * (1 + step)).quantize(Decimal("0.1"))
        quantity = Decimal("0.01") if symbol == "BTCUSDT" else Decimal("0.2")
        at = start + timedelta(hours=4 * i)
        out.append({"type": "fill", "id": f"fo-{i}", "symbol": symbol, "side": "buy" if (i // 3) % 2 == 0 else "sell",
                    "price": str(price[symbol]), "quantity": str(quantity),
                    "fee": str((price[symbol] * quantity * Decimal("0.0004")).quantize(Decimal("0.00000001"))),
                    "fee_currency": "USDT", "executed_at": _iso(at)})
    return out


def imported_lines(now: datetime, n_fills: int) -> list[dict]:
    """A bot's history as its events.jsonl would hold it: a deposit, then `n_fills` fills over 120
    days with trades (a stop set on each), marks, and a withdrawal."""
    start = now - timedelta(days=120)
    out = [{"type": "cashflow", "id": "dep-1", "kind": "deposit", "amount": "25000", "currency": "USDT",
            "ts": _iso(start + timedelta(days=30))},
           {"type": "cashflow", "id": "wd-1", "kind": "withdrawal", "amount": "-5000", "currency": "USDT",
            "ts": _iso(start + timedelta(days=90))}]
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    base = {"BTCUSDT": Decimal("50000"), "ETHUSDT": Decimal("2500"), "SOLUSDT": Decimal("120"), "XRPUSDT": Decimal("0.5")}
    step = timedelta(days=120) / n_fills
    price = dict(base)
    for i in range(0, n_fills - 1, 2):
        symbol = symbols[(i // 2) % len(symbols)]
        drift = Decimal(((i * 7919) % 41) - 20) / 2000
        entry = price[symbol]
        exit_ = (entry * (1 + drift)).quantize(Decimal("0.0001"))
        price[symbol] = exit_ if Decimal("0.2") < exit_ / base[symbol] < Decimal("5") else base[symbol]
        quantity = (Decimal("1000") / entry).quantize(Decimal("0.0001"))
        opened, closed = start + step * i, start + step * (i + 1)
        trade = f"t-{i // 2}"
        side = "long" if (i // 2) % 3 else "short"
        buy, sell = ("buy", "sell") if side == "long" else ("sell", "buy")
        stop = (entry * (Decimal("0.98") if side == "long" else Decimal("1.02"))).quantize(Decimal("0.0001"))
        bot = "imported:alpha" if (i // 2) % 2 else "imported:beta"
        out += [
            {"type": "trade.open", "id": trade, "symbol": symbol, "side": side, "quantity": str(quantity),
             "entry_price": str(entry), "entry_time": _iso(opened), "sl_price": str(stop),
             "strategy": "trend" if (i // 2) % 2 else "revert", "bot": bot},
            {"type": "fill", "id": f"{trade}-in", "symbol": symbol, "side": buy, "price": str(entry),
             "quantity": str(quantity), "fee": "0.04", "fee_currency": "USDT", "trade_id": trade,
             "executed_at": _iso(opened), "bot": bot},
            {"type": "fill", "id": f"{trade}-out", "symbol": symbol, "side": sell, "price": str(exit_),
             "quantity": str(quantity), "fee": "0.04", "fee_currency": "USDT", "trade_id": trade,
             "executed_at": _iso(closed), "bot": bot},
            {"type": "trade.close", "id": trade, "exit_price": str(exit_), "exit_time": _iso(closed),
             "close_reason": "take_profit" if drift > 0 else "stop_loss", "bot": bot},
        ]
    for day in range(121):
        for symbol in symbols:
            out.append({"type": "mark", "symbol": symbol, "price": str(price[symbol]),
                        "ts": _iso(start + timedelta(days=day, hours=23))})
    return out


# -- the server ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Site:
    url: str
    env: dict
    accounts: dict[str, int]  # slug -> id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict, *args: str, stdin: str | None = None) -> str:
    run = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin,
                         capture_output=True, text=True, timeout=1800)
    if run.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}")
    return run.stdout


def _ensure_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Site:
    data = tmp_path_factory.mktemp("browser-site")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SECRET_KEY="browser-tests-only", TRADEBOOK_DATA_DIR=str(data), DEBUG="false",
               CELERY_BROKER_URL="memory://", PYTHONPATH=str(ROOT))
    if os.environ.get("BROWSER_DATABASE_URL"):
        _ensure_postgres_database(os.environ["BROWSER_DATABASE_URL"])
        env["DATABASE_URL"] = os.environ["BROWSER_DATABASE_URL"]
    now = datetime.now(UTC).replace(microsecond=0)
    _manage(env, "migrate", "--no-input", "-v0")
    _manage(env, "seed_demo")
    for slug, name, lines in (
        (FILLS_ONLY, "Fills only", fills_only_lines(now)),
        (IMPORTED, "Imported history", imported_lines(now, int(os.environ.get("BROWSER_FILLS", "30000")))),
    ):
        _manage(env, "create_account", "--slug", slug, "--name", name, "--exchange", "binance", "--kind", "live",
                "--initial-capital", "10000")
        path = data / f"{slug}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        _manage(env, "import_events", str(path), "--account", slug)
    # A superuser, and a staff member who may see one account (granted as an operator would).
    _manage(env, "shell", "-c", (
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        f"U.objects.create_superuser('root', password='{PASSWORD}'); "
        f"U.objects.create_user('ann', password='{PASSWORD}')"))
    _manage(env, "grant_access", "--account", "demo-paper", "--user", "ann")
    ids = json.loads(_manage(env, "shell", "-c", (
        "import json; from accounts.models import Account; "
        "print(json.dumps(dict(Account.objects.values_list('slug', 'id'))))")).strip().splitlines()[-1])
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "tradebook.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--timeout", "120"], cwd=ROOT, env=env, stdout=open(data / "web.log", "wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn stopped: {(data / 'web.log').read_text()[-3000:]}")
            try:
                urllib.request.urlopen(url + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield Site(url=url, env=env, accounts=ids)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def browser():
    executable = ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def logged_in(browser, site: Site, username: str):
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    page.goto(site.url + "/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(site.url + "/admin/")
    return page


@pytest.fixture
def root_page(browser, site):
    page = logged_in(browser, site, "root")
    yield page
    page.context.close()


@pytest.fixture
def ann_page(browser, site):
    page = logged_in(browser, site, "ann")
    yield page
    page.context.close()
