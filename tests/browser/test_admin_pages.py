"""The admin in a real browser at 1400 px: the home page, account pages of every kind, the fills
list, a fill, a trade and an event — drawn, readable, within the screen — and a staff member who
sees only their account."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import FILLS_ONLY, IMPORTED, SCREENSHOTS, WIDTH

REPRS = ("Decimal(", "{'")
# The first test starts the site (migrate, seed_demo, 30,000 imported fills): minutes on a busy machine.
pytestmark = pytest.mark.timeout(1800)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def open_page(page, url: str, name: str):
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    page.wait_for_load_state("networkidle")
    charts = page.locator("[data-chart]")
    for i in range(charts.count()):
        charts.nth(i).locator(".main-svg").first.wait_for(timeout=15000)
    if page.locator("#perf-symbol").count():
        page.locator("#perf-symbol table").wait_for(timeout=15000)  # loaded when the page opens
    shot(page, name)
    return response


def assert_readable(page) -> None:
    """No Python repr anywhere, nothing wider than the screen, every list table within its pane."""
    html, text = page.content(), page.inner_text("body")
    for repr_ in REPRS:
        assert repr_ not in text and repr_ not in html, repr_
    assert not re.search(r"\d\.\d{12,}", text), "an amount padded to 18 places"
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    for table_width, pane_width in page.evaluate(
            "Array.from(document.querySelectorAll('#result_list')).map("
            "t => [t.scrollWidth, t.closest('.results').clientWidth])"):
        assert table_width <= pane_width, (table_width, pane_width)


def assert_charts_drawn(page, minimum: int) -> None:
    """Plotly drew every chart: its figure objects, at least one trace, a time axis with labels."""
    drawn = page.evaluate("""Array.from(document.querySelectorAll('[data-chart]')).map(el => ({
        id: el.dataset.chart, drawn: el.dataset.drawn === '1', traces: (el._fullData || []).length,
        points: (el._fullData || []).reduce((n, t) => n + ((t.x || t.z || []).length), 0),
        axis: el._fullLayout ? el._fullLayout.xaxis.type : null,
        ticks: el.querySelectorAll('.xtick text').length}))""")
    assert len(drawn) >= minimum, drawn
    for chart in drawn:
        assert chart["drawn"] and chart["traces"] >= 1 and chart["points"] >= 1, chart
        assert chart["axis"] == "date", chart
        if not chart["id"].startswith("spark-"):
            assert chart["ticks"] >= 2, chart


def hover_text(page, chart_id: str) -> str:
    """What a person reads when hovering the middle of a chart's first trace."""
    return page.evaluate("""id => {
        const el = document.querySelector(`[data-chart="${id}"]`);
        const n = el._fullData[0].x.length;
        Plotly.Fx.hover(el, [{curveNumber: 0, pointNumber: Math.floor(n / 2)}]);
        return el.querySelector('.hoverlayer').textContent; }""", chart_id)


def test_home_shows_every_account_with_its_figures_and_curve(root_page, site):
    open_page(root_page, site.url + "/admin/", "home-superuser")
    assert_readable(root_page)
    text = root_page.inner_text(".tb-home")
    for slug in ("demo-paper", "demo-bybit-testnet", "demo-binance-testnet", FILLS_ONLY, IMPORTED):
        assert slug in text
    assert "total USDT" in text and "USDT" in text and "%" in text
    assert "paper:SOLUSDT" in text  # the bots, with their last post
    assert_charts_drawn(root_page, minimum=5)
    assert "USDT" in hover_text(root_page, f"spark-{site.accounts['demo-paper']}")
    assert root_page.locator("details.tb-apps").count() == 1  # Django's app list stays reachable


@pytest.mark.parametrize("slug", ["demo-paper", FILLS_ONLY, IMPORTED])
def test_the_account_page_of_each_kind_has_all_its_charts(root_page, site, slug):
    url = f"{site.url}/admin/accounts/account/{site.accounts[slug]}/page/"
    open_page(root_page, url + "?period=all", f"account-{slug}")
    assert_readable(root_page)
    assert_charts_drawn(root_page, minimum=4)  # equity, drawdown, net PnL, calendar
    assert "USDT" in hover_text(root_page, "chart-equity")
    assert "%" in hover_text(root_page, "chart-drawdown")
    text = root_page.inner_text("#content").lower()  # tile labels are upper-cased by CSS
    for part in ("Equity", "Net PnL", "Max drawdown", "Performance", "Open positions", "Closed trades",
                 "Newest balances", "Reconciliation", "Recent fills"):
        assert part.lower() in text, part
    # The PnL toggle fetches and draws the weeks; the tabs fetch performance by bot and strategy.
    root_page.click("button[data-spec='chart-pnl-week']")
    root_page.wait_for_function("document.getElementById('chart-pnl').dataset.chart === 'chart-pnl-week'")
    assert_charts_drawn(root_page, minimum=4)
    for by in ("bot", "strategy"):
        root_page.click(f"button[data-tab='perf-{by}']")
        root_page.locator(f"#perf-{by} table").wait_for(timeout=15000)
        assert root_page.locator(f"#perf-{by} tbody tr").count() >= 1
    shot(root_page, f"account-{slug}-week-by-strategy")
    assert_readable(root_page)
    for period in ("7d", "30d", "90d", "1y"):
        assert root_page.goto(f"{url}?period={period}").status == 200
    if slug == IMPORTED:
        root_page.goto(url + "?period=all")
        flows = root_page.evaluate("""() => { const el = document.querySelector('[data-chart="chart-equity"]');
            return el._fullData.filter(t => t.name === 'deposits / withdrawals').map(t => t.text); }""")
        assert flows and any("deposit" in t for t in flows[0]) and any("withdrawal" in t for t in flows[0])
        assert "R" in root_page.inner_text("#content")


def test_lists_and_rows_read_well(root_page, site):
    open_page(root_page, site.url + "/admin/trades/fill/", "fills-changelist")
    assert_readable(root_page)
    open_page(root_page, f"{site.url}/admin/trades/fill/?account__id__exact={site.accounts[IMPORTED]}&p=50",
              "fills-changelist-deep")
    assert_readable(root_page)
    root_page.goto(f"{site.url}/admin/trades/fill/?account__id__exact={site.accounts['demo-paper']}")
    root_page.locator("#result_list tbody tr th a").first.click()
    root_page.wait_for_load_state("networkidle")
    shot(root_page, "fill")
    assert_readable(root_page)
    assert "UTC" in root_page.inner_text("#content")

    # A trade, and its fills: exactly its own (trade 3 is not trade 30 or 31).
    trade_id = "t-3"
    root_page.goto(f"{site.url}/admin/trades/trade/key/{site.accounts[IMPORTED]}/{trade_id}/")
    shot(root_page, "trade")
    assert_readable(root_page)
    root_page.locator(".field-fills_link a").click()
    root_page.wait_for_load_state("networkidle")
    shot(root_page, "trade-fills")
    titles = root_page.eval_on_selector_all("#result_list td.field-trade_link a", "els => els.map(e => e.title)")
    assert titles == [trade_id, trade_id], titles

    # An event: its raw JSON pretty and wrapped.
    root_page.goto(f"{site.url}/admin/trades/event/?account__id__exact={site.accounts[IMPORTED]}&type__exact=fill")
    root_page.locator("#result_list tbody tr th a").first.click()
    root_page.wait_for_load_state("networkidle")
    shot(root_page, "event")
    assert_readable(root_page)
    raw = root_page.inner_text(".tb-json")
    assert raw.count("\n") >= 5 and '"symbol"' in raw
    assert root_page.evaluate("getComputedStyle(document.querySelector('.tb-json')).whiteSpace") == "pre-wrap"

    # Every other list fits too.
    for model in ("accounts/account", "accounts/bot", "trades/order", "trades/trade", "trades/signal",
                  "trades/cashflow", "trades/event", "trades/positionstate", "trades/dailypnl",
                  "snapshots/mark", "snapshots/positionsnapshot", "snapshots/walletsnapshot",
                  "snapshots/equitysnapshot"):
        assert root_page.goto(f"{site.url}/admin/{model}/").status == 200, model
        assert_readable(root_page)


def test_a_staff_member_sees_only_their_account(ann_page, site):
    open_page(ann_page, site.url + "/admin/", "home-staff")
    assert_readable(ann_page)
    text = ann_page.inner_text("#content")
    assert "demo-paper" in text
    for other in ("demo-bybit-testnet", "demo-binance-testnet", FILLS_ONLY, IMPORTED):
        assert other not in text, other
    assert "permission" not in text

    open_page(ann_page, site.url + "/admin/trades/fill/", "fills-changelist-staff")
    assert_readable(ann_page)
    accounts = set(ann_page.eval_on_selector_all("#changelist-filter a", "els => els.map(e => e.textContent.trim())"))
    assert "demo-paper" in accounts and not accounts & {"demo-bybit-testnet", FILLS_ONLY, IMPORTED}
    assert ann_page.locator("#result_list tbody tr").count() == 50

    mine = ann_page.goto(f"{site.url}/admin/accounts/account/{site.accounts['demo-paper']}/page/")
    assert mine.status == 200
    theirs = ann_page.goto(f"{site.url}/admin/accounts/account/{site.accounts[IMPORTED]}/page/")
    assert theirs.status == 404
    export = ann_page.request.get(f"{site.url}/admin/trades/fill/export/")
    assert export.status == 200
    rows = export.text().splitlines()
    assert rows[0].startswith("id,account,bot,")
    assert len(rows) > 200 and all(",demo-paper," in row for row in rows[1:])
