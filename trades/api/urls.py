"""The bot API's routes (SPEC 4). One URL may be read and written: its view class
combines a read view (read.py / books.py) with a write view (write.py), read first,
so GET attributes (queryset, pagination, filters) come from the read side."""

from django.urls import path, register_converter

from trades.api import accounts as account_api
from trades.api import books, native, read, write


def endpoint(*views):
    """One view class answering each view's methods (GET from read, POST/PATCH from write)."""
    if len(views) == 1:
        return views[0].as_view()
    name = "".join(v.__name__ for v in views)
    doc = views[0].__doc__ or views[-1].__doc__
    return type(name, tuple(views), {"__doc__": doc}).as_view()


class KeyConverter:
    """An item's key in a URL: any text without a slash or a NUL (no stored key holds one, and
    the database could not even be asked: such a URL matches no route, a 404)."""

    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(KeyConverter, "key")
key = "<key:key>"

urlpatterns = [
    path("events/", endpoint(read.EventList, write.EventWrite), name="events"),
    path("fills/", endpoint(read.FillList, write.FillWrite), name="fills"),
    path("fills/void/", endpoint(write.FillVoid), name="fills-void"),
    path(f"fills/{key}/", endpoint(read.FillDetail), name="fill-detail"),
    path("orders/", endpoint(read.OrderList, write.OrderWrite), name="orders"),
    path(f"orders/{key}/", endpoint(read.OrderDetail), name="order-detail"),
    path(f"orders/{key}/fills/", endpoint(read.OrderFills), name="order-fills"),
    path("trades/", endpoint(read.TradeList, write.TradeOpen), name="trades"),
    path(f"trades/{key}/", endpoint(read.TradeDetail, write.TradeUpdate), name="trade-detail"),
    path(f"trades/{key}/close/", endpoint(write.TradeClose), name="trade-close"),
    path(f"trades/{key}/fills/", endpoint(read.TradeFills), name="trade-fills"),
    path("signals/", endpoint(read.SignalList, write.SignalWrite), name="signals"),
    path("cashflows/", endpoint(read.CashFlowList, write.CashFlowWrite), name="cashflows"),
    path("positions/", endpoint(read.PositionSnapshotList, write.PositionWrite), name="positions"),
    path("positions/latest/", endpoint(read.PositionLatest), name="positions-latest"),
    path("wallets/", endpoint(read.WalletSnapshotList, write.WalletWrite), name="wallets"),
    path("wallets/latest/", endpoint(read.WalletLatest), name="wallets-latest"),
    path("equity/", endpoint(read.EquitySnapshotList, write.EquityWrite), name="equity"),
    path("marks/", endpoint(read.MarkList, write.MarkWrite), name="marks"),
    path("ingest/bybit/", endpoint(native.BybitIngest), name="ingest-bybit"),
    path("ingest/ccxt/", endpoint(native.CcxtIngest), name="ingest-ccxt"),
    path("accounts/", endpoint(account_api.AccountList), name="accounts"),
    path("accounts/<slug:slug>/", endpoint(account_api.AccountDetail), name="account-detail"),
    path("accounts/<slug:slug>/positions/", endpoint(books.AccountPositions), name="account-positions"),
    path("accounts/<slug:slug>/summary/", endpoint(books.AccountSummary), name="account-summary"),
    path("accounts/<slug:slug>/pnl/", endpoint(books.AccountPnl), name="account-pnl"),
    path("accounts/<slug:slug>/performance/", endpoint(books.AccountPerformance), name="account-performance"),
]
