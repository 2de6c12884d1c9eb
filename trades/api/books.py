"""books API: computed positions, summary, period PnL, performance (SPEC 4.2, 5).

Thin: each view names the account within the token's scope (outside it, a 404 exactly
like an account that does not exist), calls trades.books, and renders the answer through
the serializer that documents it in /api/schema/ — so the schema cannot drift from the
body. Amounts are exact strings; percents and ratios are rounded to 8 places.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as s
from rest_framework.response import Response
from rest_framework.views import APIView

from trades import books
from trades.api.auth import account_named
from trades.api.openapi import ErrorBody
from trades.api.serializers import ExactDecimalField
from trades.books.report import PERFORMANCE_BY, PERIODS


def amount(**kwargs) -> ExactDecimalField:
    return ExactDecimalField(allow_null=kwargs.pop("allow_null", True), **kwargs)


def ratio(help_text: str = "") -> ExactDecimalField:
    return ExactDecimalField(decimal_places=8, allow_null=True, help_text=help_text)


class AmountMapField(s.DictField):
    """{currency: amount}"""

    child = amount(allow_null=False)


class BookPositionSerializer(s.Serializer):
    symbol = s.CharField()
    quantity = amount(allow_null=False, help_text="Signed: long > 0.")
    average_price = amount(help_text="Empty when flat.")
    realized_pnl = amount(allow_null=False)
    fees = amount(allow_null=False, help_text="Trading fees in the base currency.")
    unconverted_fees = AmountMapField(help_text="Fees in currencies without a mark, per currency.")
    mark_price = amount()
    mark_source = s.CharField(allow_null=True, help_text="mark, position or fill")
    unrealized_pnl = amount(allow_null=False)
    fills = s.IntegerField()
    last_fill_at = s.DateTimeField(allow_null=True)


class BookPositionsSerializer(s.Serializer):
    account = s.CharField()
    results = BookPositionSerializer(many=True)


class SummaryMarkSerializer(s.Serializer):
    price = amount(allow_null=False)
    source = s.CharField(help_text="mark, position or fill")
    at = s.DateTimeField(allow_null=True)


class FeeConversionSerializer(s.Serializer):
    symbol = s.CharField(help_text="The mark that converted it, e.g. BNBUSDT.")
    price = amount(allow_null=False)
    source = s.CharField()


class ReportedEquitySerializer(s.Serializer):
    equity = amount(allow_null=False)
    cash = amount()
    positions_value = amount()
    at = s.DateTimeField()
    bot = s.CharField(allow_null=True)


class ReportedWalletSerializer(s.Serializer):
    wallet_balance = amount(allow_null=False)
    available_balance = amount()
    equity = amount()
    at = s.DateTimeField()


class ReportedPositionSerializer(s.Serializer):
    quantity = amount(allow_null=False, help_text="Signed, as the bot reported it.")
    at = s.DateTimeField()


class CheckSerializer(s.Serializer):
    field = s.CharField(help_text="pnl, equity, cash, positions_value, wallet_balance or quantity")
    symbol = s.CharField(allow_null=True)
    coin = s.CharField(allow_null=True)
    computed = amount(allow_null=False)
    reported = amount(allow_null=False)
    difference = amount(allow_null=False, help_text="computed − reported")
    flagged = s.BooleanField(help_text="Past RECONCILE_TOLERANCE.")


class DifferenceSerializer(s.Serializer):
    field = s.CharField(help_text="pnl, equity, cash, positions_value, wallet_balance or quantity")
    symbol = s.CharField(required=False)
    coin = s.CharField(required=False)
    computed = amount(allow_null=False)
    reported = amount(allow_null=False)
    difference = amount(allow_null=False)


class ReportedSerializer(s.Serializer):
    pnl = amount(help_text="Σ the bot's reported PnL of closed trades (or of fills).")
    equity = ReportedEquitySerializer(allow_null=True, help_text="The newest reported equity snapshot.")
    wallets = s.DictField(child=ReportedWalletSerializer(), help_text="coin → its newest wallet snapshot")
    positions = s.DictField(child=ReportedPositionSerializer(), help_text="symbol → its newest reported size")
    tolerance = amount(allow_null=False)
    checks = CheckSerializer(many=True, help_text="Every comparison made.")
    differences = DifferenceSerializer(many=True, help_text="The comparisons past the tolerance.")


class SummarySerializer(s.Serializer):
    account = s.CharField()
    base_currency = s.CharField()
    as_of = s.DateTimeField()
    equity = amount(allow_null=False)
    cash = amount(allow_null=False)
    realized_pnl = amount(allow_null=False, help_text="Gross: price differences only.")
    unrealized_pnl = amount(allow_null=False)
    fees = amount(allow_null=False)
    funding = amount(allow_null=False)
    net_pnl = amount(allow_null=False, help_text="realized_pnl − fees + funding")
    return_pct = ratio("Time-weighted, split at deposits, withdrawals and transfers (percent).")
    open_positions = s.IntegerField()
    fills = s.IntegerField()
    closed_trades = s.IntegerField()
    closed_trades_source = s.ChoiceField(choices=["trades", "fills"],
                                         help_text="The bot's closed trades, or the round trips of the fills.")
    win_rate = ratio("percent")
    profit_factor = ratio()
    avg_win = ratio()
    avg_loss = ratio()
    expectancy = ratio()
    max_drawdown = ratio("On the time-weighted return index, percent (positive).")
    sharpe = ratio("Annualized from daily returns.")
    sortino = ratio("Annualized from daily returns.")
    marks = s.DictField(child=SummaryMarkSerializer(), help_text="symbol → its mark")
    fee_conversions = s.DictField(child=FeeConversionSerializer(), help_text="fee currency → the mark used")
    unconverted_fees = AmountMapField(help_text="Fees in currencies without a mark: not in fees.")
    flags = s.ListField(child=s.CharField())
    reported = ReportedSerializer()


class PeriodSerializer(s.Serializer):
    period = s.DateField(help_text="First day of the period.")
    end = s.DateField(help_text="Last day with data in the period.")
    realized_pnl = amount(allow_null=False)
    fees = amount(allow_null=False)
    funding = amount(allow_null=False)
    net_pnl = amount(allow_null=False)
    cash_flows = amount(allow_null=False, help_text="Deposits, withdrawals and transfers.")
    equity = amount(help_text="At the period's end.")
    return_pct = ratio("Time-weighted, split at deposits, withdrawals and transfers (percent).")
    fills = s.IntegerField()
    complete = s.BooleanField(help_text="False for the period holding today.")


class PeriodsSerializer(s.Serializer):
    account = s.CharField()
    period = s.ChoiceField(choices=PERIODS)
    results = PeriodSerializer(many=True)


class PerformanceRowSerializer(s.Serializer):
    key = s.CharField(allow_null=True, help_text="Symbol, bot id or strategy (null: none).")
    realized_pnl = amount(allow_null=False)
    fees = amount(allow_null=False, help_text="In the base currency (other currencies converted at their mark).")
    net_pnl = amount(allow_null=False, help_text="realized_pnl − fees")
    fills = s.IntegerField()
    unconverted_fees = AmountMapField(help_text="Fees in currencies without a mark.")
    closed_trades = s.IntegerField(allow_null=True, help_text="By bot or strategy: the bot's closed trades.")
    trade_pnl = amount(help_text="By bot or strategy: Σ those trades' PnL.")
    win_rate = ratio("Of those trades, percent.")
    unrealized_pnl = amount(help_text="By symbol only.")
    quantity = amount(help_text="By symbol only: the open position, signed.")


class PerformanceSerializer(s.Serializer):
    account = s.CharField()
    by = s.ChoiceField(choices=PERFORMANCE_BY)
    results = PerformanceRowSerializer(many=True)


ERRORS = {400: ErrorBody}


class AccountPositions(APIView):
    """Positions computed from the fills, valued at the newest mark (mark, position snapshot or fill)."""

    @extend_schema(responses=BookPositionsSerializer)
    def get(self, request, slug: str):
        account = account_named(request, slug)
        positions = [p.as_dict() for p in books.positions(account=account)]
        return Response(BookPositionsSerializer({"account": account.slug, "results": positions}).data)


class AccountSummary(APIView):
    """SPEC 5's figures: equity, cash, PnL, fees, funding, returns, trade statistics, marks, and the
    bot-reported figures with their differences past RECONCILE_TOLERANCE. Percents: return_pct,
    win_rate, max_drawdown; sharpe and sortino annualized from daily returns."""

    @extend_schema(responses=SummarySerializer)
    def get(self, request, slug: str):
        account = account_named(request, slug)
        return Response(SummarySerializer(books.summary(account=account)).data)


class AccountPnl(APIView):
    """PnL per day, week (ISO, from Monday) or month, oldest first; today is computed live."""

    @extend_schema(
        parameters=[OpenApiParameter("period", OpenApiTypes.STR, enum=list(PERIODS), description="Default: day.")],
        responses={200: PeriodsSerializer, **ERRORS},
    )
    def get(self, request, slug: str):
        account = account_named(request, slug)
        period = request.query_params.get("period", "day")
        results = books.period_pnl(account=account, period=period)
        return Response(PeriodsSerializer({"account": account.slug, "period": period, "results": results}).data)


class AccountPerformance(APIView):
    """PnL broken down by symbol, bot or strategy (a fill's PnL and fees go to its own bot/strategy)."""

    @extend_schema(
        parameters=[OpenApiParameter("by", OpenApiTypes.STR, enum=list(PERFORMANCE_BY),
                                     description="Default: symbol.")],
        responses={200: PerformanceSerializer, **ERRORS},
    )
    def get(self, request, slug: str):
        account = account_named(request, slug)
        by = request.query_params.get("by", "symbol")
        results = books.performance(account=account, by=by)
        return Response(PerformanceSerializer({"account": account.slug, "by": by, "results": results}).data)
