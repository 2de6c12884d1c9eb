"""books API: computed positions, summary, period PnL, performance (SPEC 4.2, 5).

Thin: each view resolves the account within the token's scope (a slug outside it is
a 404, exactly like one that does not exist) and calls trades.books. Amounts are
Decimals, rendered as exact JSON strings.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers as s
from rest_framework.response import Response
from rest_framework.views import APIView

from trades import books
from trades.api.auth import account_named

AMOUNT = s.DecimalField(max_digits=38, decimal_places=18, allow_null=True)

POSITION_FIELDS = {
    "symbol": s.CharField(),
    "quantity": AMOUNT,
    "average_price": AMOUNT,
    "realized_pnl": AMOUNT,
    "fees": AMOUNT,
    "unconverted_fees": s.DictField(child=s.CharField(), help_text="Fees in currencies without a mark."),
    "mark_price": AMOUNT,
    "mark_source": s.CharField(allow_null=True, help_text="mark, position or fill"),
    "unrealized_pnl": AMOUNT,
    "fills": s.IntegerField(),
    "last_fill_at": s.DateTimeField(allow_null=True),
}

PERIOD_FIELDS = {
    "period": s.DateField(help_text="First day of the period."),
    "end": s.DateField(help_text="Last day with data in the period."),
    "realized_pnl": AMOUNT, "fees": AMOUNT, "funding": AMOUNT, "net_pnl": AMOUNT,
    "cash_flows": AMOUNT, "equity": AMOUNT,
    "return_pct": s.DecimalField(max_digits=38, decimal_places=8, allow_null=True,
                                 help_text="Time-weighted, split at deposits/withdrawals/transfers."),
    "fills": s.IntegerField(),
    "complete": s.BooleanField(help_text="False for the period holding today."),
}

PERFORMANCE_FIELDS = {
    "key": s.CharField(allow_null=True, help_text="Symbol, bot id or strategy (null: none)."),
    "realized_pnl": AMOUNT, "fees": AMOUNT, "net_pnl": AMOUNT,
    "fills": s.IntegerField(),
}


RATIO = s.DecimalField(max_digits=38, decimal_places=8, allow_null=True)
MARK_FIELDS = {"price": AMOUNT, "source": s.CharField(help_text="mark, position or fill"),
               "at": s.DateTimeField(allow_null=True)}
DIFFERENCE_FIELDS = {
    "field": s.CharField(help_text="pnl, equity, wallet_balance or quantity"),
    "symbol": s.CharField(required=False), "coin": s.CharField(required=False),
    "computed": AMOUNT, "reported": AMOUNT, "difference": AMOUNT,
}
SUMMARY_FIELDS = {
    "account": s.CharField(), "base_currency": s.CharField(), "as_of": s.DateTimeField(),
    "equity": AMOUNT, "cash": AMOUNT, "realized_pnl": AMOUNT, "unrealized_pnl": AMOUNT, "fees": AMOUNT,
    "funding": AMOUNT, "net_pnl": AMOUNT,
    "return_pct": RATIO, "open_positions": s.IntegerField(), "fills": s.IntegerField(),
    "closed_trades": s.IntegerField(),
    "closed_trades_source": s.ChoiceField(choices=["trades", "fills"],
                                          help_text="The bot's closed trades, or the round trips of the fills."),
    "win_rate": RATIO, "profit_factor": RATIO, "avg_win": RATIO, "avg_loss": RATIO, "expectancy": RATIO,
    "max_drawdown": RATIO, "sharpe": RATIO, "sortino": RATIO,
    "marks": s.DictField(child=inline_serializer("SummaryMark", MARK_FIELDS), help_text="symbol → mark"),
    "fee_conversions": s.DictField(child=s.DictField(), help_text="fee currency → the mark that converted it"),
    "unconverted_fees": s.DictField(child=AMOUNT, help_text="Fees in currencies without a mark: not in fees."),
    "flags": s.ListField(child=s.CharField()),
    "reported": inline_serializer("SummaryReported", {
        "pnl": AMOUNT,
        "equity": s.DictField(allow_null=True),
        "wallets": s.DictField(child=s.DictField()),
        "positions": s.DictField(child=s.DictField()),
        "tolerance": AMOUNT,
        "differences": inline_serializer("ReconciliationDifference", DIFFERENCE_FIELDS, many=True),
    }),
}
ERRORS = inline_serializer("BooksErrors", {"errors": s.ListField(child=s.DictField())})


class AccountPositions(APIView):
    """Positions computed from the fills, valued at the newest mark (mark, position snapshot or fill)."""

    @extend_schema(responses=inline_serializer("BookPositions", {"account": s.CharField(),
                                                                 "results": inline_serializer("BookPosition", POSITION_FIELDS, many=True)}))
    def get(self, request, slug: str):
        account = account_named(request, slug)
        return Response({
            "account": account.slug,
            "results": [p.as_dict() for p in books.positions(account=account)],
        })


class AccountSummary(APIView):
    """SPEC 5's figures: equity, cash, PnL, fees, funding, returns, trade statistics, marks, and the
    bot-reported figures with their differences past RECONCILE_TOLERANCE. Percents: return_pct,
    win_rate, max_drawdown; sharpe and sortino annualized from daily returns."""

    @extend_schema(responses=inline_serializer("Summary", SUMMARY_FIELDS))
    def get(self, request, slug: str):
        account = account_named(request, slug)
        return Response(books.summary(account=account))


class AccountPnl(APIView):
    """PnL per day, week (ISO, from Monday) or month, oldest first; today is computed live."""

    @extend_schema(
        parameters=[OpenApiParameter("period", OpenApiTypes.STR, enum=["day", "week", "month"],
                                     description="Default: day.")],
        responses={200: inline_serializer("PnlPeriods", {
            "account": s.CharField(), "period": s.CharField(),
            "results": inline_serializer("PnlPeriod", PERIOD_FIELDS, many=True)}), 400: ERRORS},
    )
    def get(self, request, slug: str):
        account = account_named(request, slug)
        period = request.query_params.get("period", "day")
        return Response({
            "account": account.slug,
            "period": period,
            "results": books.period_pnl(account=account, period=period),
        })


class AccountPerformance(APIView):
    """PnL broken down by symbol, bot or strategy (a fill's PnL and fees go to its own bot/strategy)."""

    @extend_schema(
        parameters=[OpenApiParameter("by", OpenApiTypes.STR, enum=["symbol", "bot", "strategy"],
                                     description="Default: symbol.")],
        responses={200: inline_serializer("Performance", {
            "account": s.CharField(), "by": s.CharField(),
            "results": inline_serializer("PerformanceRow", PERFORMANCE_FIELDS, many=True)}), 400: ERRORS},
    )
    def get(self, request, slug: str):
        account = account_named(request, slug)
        by = request.query_params.get("by", "symbol")
        return Response({
            "account": account.slug,
            "by": by,
            "results": books.performance(account=account, by=by),
        })
