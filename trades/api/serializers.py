"""Read serializers: rows as the API shows them (SPEC 4.2).

Output only — writes go through `trades.ingest`, never through these. Every amount
is its exact canonical string (`decimal_str`: '0.1', not '0.100000000000000000'),
every time ISO 8601 UTC, `id` is the key as posted (`external_id`), `account` the
slug and `bot` the bot's key.
"""

from decimal import Decimal

from django.db import models
from rest_framework import serializers

from accounts.models import Account
from core.amounts import decimal_str
from core.exact_json import loads_stored
from core.fields import AmountField
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from trades.models import CashFlow, Event, Fill, Order, Signal, Trade


class ExactDecimalField(serializers.DecimalField):
    """A numeric(38,18) amount out as its exact shortest string (the schema says string/decimal)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 38)
        kwargs.setdefault("decimal_places", 18)
        kwargs["coerce_to_string"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        return decimal_str(value if isinstance(value, Decimal) else Decimal(str(value)))


class ExactJSONField(serializers.JSONField):
    """A JSON column as stored, every digit kept.

    Django decodes JSON numbers to float, which loses digits past ~17 (and reads 1e400 as
    infinity); the views annotate the column's text (`<name>_text`, trades.api.read.scoped) and
    it is decoded here with Decimals and exact integers.
    """

    def get_attribute(self, instance):
        raw_text = getattr(instance, f"{self.source}_text", None)
        if isinstance(raw_text, str):
            return loads_stored(raw_text)
        return super().get_attribute(instance)

    def to_representation(self, value):
        return value


class ReadSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping, AmountField: ExactDecimalField,
                                models.JSONField: ExactJSONField}


class LedgerSerializer(ReadSerializer):
    """Rows with a key, an account and a bot."""

    id = serializers.CharField(source="external_id", read_only=True, help_text="The key as posted.")
    account = serializers.CharField(source="account.slug", read_only=True)
    bot = serializers.CharField(source="bot.key", read_only=True, allow_null=True, default=None)


class FillSerializer(LedgerSerializer):
    fees = serializers.JSONField(source="other_fees", read_only=True,
                                 help_text="Further fees beyond `fee`: [{amount, currency}].")

    class Meta:
        model = Fill
        fields = ["id", "account", "bot", "symbol", "side", "price", "quantity", "fee", "fee_currency", "fees",
                  "order_id", "trade_id", "is_maker", "executed_at", "reported_pnl", "reason", "source", "meta",
                  "received_at", "voided_at", "void_reason"]
        read_only_fields = fields


class OrderSerializer(LedgerSerializer):
    class Meta:
        model = Order
        fields = ["id", "account", "bot", "client_order_id", "symbol", "side", "order_type", "status", "price",
                  "quantity", "filled_quantity", "average_price", "reduce_only", "updated_at", "created_at",
                  "received_at", "meta"]
        read_only_fields = fields


class TradeSerializer(LedgerSerializer):
    """A trade with its whole plan: what a bot needs to resume it after a restart."""

    class Meta:
        model = Trade
        fields = ["id", "account", "bot", "symbol", "side", "status", "quantity", "entry_price", "entry_time",
                  "entry_fee", "leverage", "margin", "sl_price", "tp_price", "trail_percent", "model", "confidence",
                  "strategy", "regime", "order_id", "metadata", "exit_price", "exit_time", "exit_fee",
                  "close_reason", "reported_pnl", "pnl", "meta", "opened_at", "updated_at", "closed_at"]
        read_only_fields = fields


class SignalSerializer(LedgerSerializer):
    id = serializers.CharField(source="external_id", read_only=True, allow_null=True,
                               help_text="The key as posted, if one was.")

    class Meta:
        model = Signal
        fields = ["id", "account", "bot", "symbol", "value", "generated_at", "strength", "strategy", "metadata",
                  "meta", "received_at"]
        read_only_fields = fields


class CashFlowSerializer(LedgerSerializer):
    class Meta:
        model = CashFlow
        fields = ["id", "account", "bot", "kind", "amount", "currency", "symbol", "ts", "meta", "received_at"]
        read_only_fields = fields


class EventSerializer(ReadSerializer):
    id = serializers.CharField(source="item_key", read_only=True, help_text="The item's key as posted.")
    account = serializers.CharField(source="account.slug", read_only=True)
    bot = serializers.CharField(source="bot.key", read_only=True, allow_null=True, default=None)
    token = serializers.CharField(source="token.name", read_only=True, allow_null=True, default=None,
                                  help_text="The name of the token that posted it.")
    raw = ExactJSONField(read_only=True, help_text="The item exactly as posted.")

    class Meta:
        model = Event
        fields = ["id", "account", "bot", "token", "type", "outcome", "channel", "raw", "received_at"]
        read_only_fields = fields


class SnapshotSerializer(ReadSerializer):
    account = serializers.CharField(source="account.slug", read_only=True)
    bot = serializers.CharField(source="bot.key", read_only=True, allow_null=True, default=None)


class PositionSnapshotSerializer(SnapshotSerializer):
    class Meta:
        model = PositionSnapshot
        fields = ["account", "bot", "source", "symbol", "side", "size", "entry_price", "mark_price", "liq_price",
                  "unrealized_pnl", "realized_pnl", "leverage", "exchange_ts", "bucket", "meta", "received_at"]
        read_only_fields = fields


class WalletSnapshotSerializer(SnapshotSerializer):
    class Meta:
        model = WalletSnapshot
        fields = ["account", "bot", "coin", "wallet_balance", "available_balance", "equity", "exchange_ts", "meta",
                  "received_at"]
        read_only_fields = fields


class EquitySnapshotSerializer(SnapshotSerializer):
    class Meta:
        model = EquitySnapshot
        fields = ["account", "bot", "source", "equity", "cash", "positions_value", "positions_count",
                  "total_trades", "initial_capital", "returns_pct", "realized_pnl", "unrealized_pnl", "fees",
                  "funding", "exchange_ts", "bucket", "meta", "received_at"]
        read_only_fields = fields


class MarkSerializer(SnapshotSerializer):
    class Meta:
        model = Mark
        fields = ["account", "bot", "symbol", "price", "ts", "received_at"]
        read_only_fields = fields


class AccountSerializer(ReadSerializer):
    bots = serializers.SerializerMethodField(help_text="Keys of the bots that posted to this account.")

    class Meta:
        model = Account
        fields = ["slug", "name", "exchange", "kind", "base_currency", "initial_capital", "cost_basis", "is_active",
                  "created_at", "bots"]
        read_only_fields = fields

    def get_bots(self, account: Account) -> list[str]:
        return [bot.key for bot in account.bots.all()]
