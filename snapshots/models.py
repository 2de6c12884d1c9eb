"""Prices and photographs of an account at a time: marks, positions, wallets, equity.

Snapshots come from two places: bots report them (`source=reported`), and the
periodic Celery round computes them from the books (`source=computed`). A
computed snapshot carries the start of its interval (`bucket`); the unique key
on (account, bucket) is what makes "one snapshot per account per interval" true
whatever the number of beats, workers or redeliveries.
"""

from django.db import models
from django.db.models import Q

from accounts.models import Account, Bot
from core.fields import AmountField


class SnapshotSource(models.TextChoices):
    REPORTED = "reported"
    COMPUTED = "computed"


class Mark(models.Model):
    """A price for a symbol at a time, used to value open positions."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="marks", db_index=False)
    bot = models.ForeignKey(Bot, on_delete=models.SET_NULL, null=True, blank=True, related_name="marks")
    symbol = models.CharField(max_length=64)
    price = AmountField()
    ts = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-ts", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol", "ts"], name="mark_unique_key"),
            models.CheckConstraint(condition=Q(price__gt=0), name="mark_price_positive"),
        ]
        indexes = [
            # The newest mark of each symbol (books: valuing open positions).
            models.Index(fields=["account", "symbol", "-ts"], name="mark_account_symbol_time"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.price} @ {self.ts:%Y-%m-%d %H:%M:%S}"


class PositionSide(models.TextChoices):
    LONG = "long"
    SHORT = "short"
    FLAT = "flat"


class PositionSnapshot(models.Model):
    Side = PositionSide

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="position_snapshots", db_index=False)
    bot = models.ForeignKey(Bot, on_delete=models.SET_NULL, null=True, blank=True, related_name="position_snapshots")
    source = models.CharField(max_length=8, choices=SnapshotSource.choices, default=SnapshotSource.REPORTED)
    symbol = models.CharField(max_length=64)
    side = models.CharField(max_length=5, choices=Side.choices)
    size = AmountField(help_text="Unsigned; the side says the direction.")
    entry_price = AmountField(null=True, blank=True)
    mark_price = AmountField(null=True, blank=True)
    liq_price = AmountField(null=True, blank=True)
    unrealized_pnl = AmountField(null=True, blank=True)
    realized_pnl = AmountField(null=True, blank=True)
    leverage = AmountField(null=True, blank=True)
    exchange_ts = models.DateTimeField()
    bucket = models.DateTimeField(null=True, blank=True, help_text="Computed snapshots: the interval's start.")
    meta = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-exchange_ts", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol", "exchange_ts"], name="positionsnapshot_unique_key",
                condition=Q(source=SnapshotSource.REPORTED),
            ),
            models.UniqueConstraint(
                fields=["account", "symbol", "bucket"], name="positionsnapshot_unique_bucket",
                condition=Q(source=SnapshotSource.COMPUTED),
            ),
            models.CheckConstraint(condition=Q(side__in=PositionSide.values), name="positionsnapshot_side_valid"),
            models.CheckConstraint(condition=Q(size__gte=0), name="positionsnapshot_size_not_negative"),
            models.CheckConstraint(condition=Q(source__in=SnapshotSource.values), name="positionsnapshot_source_valid"),
            models.CheckConstraint(
                condition=Q(source=SnapshotSource.REPORTED) | Q(bucket__isnull=False), name="positionsnapshot_computed_has_bucket"
            ),
        ]
        indexes = [
            # GET /positions/latest/ and the books' mark from a position snapshot.
            models.Index(fields=["account", "symbol", "-exchange_ts"], name="possnap_account_symbol_time"),
            # Retention: snapshots older than the raw window, by time.
            models.Index(fields=["exchange_ts"], name="possnap_time"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.side} {self.size} @ {self.exchange_ts:%Y-%m-%d %H:%M:%S}"


class WalletSnapshot(models.Model):
    """One coin's balance at a time (one row per coin)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="wallet_snapshots", db_index=False)
    bot = models.ForeignKey(Bot, on_delete=models.SET_NULL, null=True, blank=True, related_name="wallet_snapshots")
    coin = models.CharField(max_length=16)
    wallet_balance = AmountField()
    available_balance = AmountField(null=True, blank=True)
    equity = AmountField(null=True, blank=True)
    exchange_ts = models.DateTimeField()
    meta = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-exchange_ts", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "coin", "exchange_ts"], name="walletsnapshot_unique_key"),
        ]
        indexes = [
            # GET /wallets/latest/: the newest row per coin.
            models.Index(fields=["account", "coin", "-exchange_ts"], name="walsnap_account_coin_time"),
            # Retention.
            models.Index(fields=["exchange_ts"], name="walsnap_time"),
        ]

    def __str__(self) -> str:
        return f"{self.coin} {self.wallet_balance} @ {self.exchange_ts:%Y-%m-%d %H:%M:%S}"


class EquitySnapshot(models.Model):
    """Equity, cash, positions value, counts and return at a time (the bots' "metric" event)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="equity_snapshots", db_index=False)
    bot = models.ForeignKey(Bot, on_delete=models.SET_NULL, null=True, blank=True, related_name="equity_snapshots")
    source = models.CharField(max_length=8, choices=SnapshotSource.choices, default=SnapshotSource.REPORTED)
    equity = AmountField()
    cash = AmountField(null=True, blank=True)
    positions_value = AmountField(null=True, blank=True)
    positions_count = models.IntegerField(null=True, blank=True)
    total_trades = models.IntegerField(null=True, blank=True)
    initial_capital = AmountField(null=True, blank=True)
    returns_pct = AmountField(null=True, blank=True)
    realized_pnl = AmountField(null=True, blank=True)
    unrealized_pnl = AmountField(null=True, blank=True)
    fees = AmountField(null=True, blank=True)
    funding = AmountField(null=True, blank=True)
    exchange_ts = models.DateTimeField()
    bucket = models.DateTimeField(null=True, blank=True, help_text="Computed snapshots: the interval's start.")
    meta = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-exchange_ts", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "bot", "exchange_ts"], name="equitysnapshot_unique_key",
                condition=Q(source=SnapshotSource.REPORTED, bot__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["account", "exchange_ts"], name="equitysnapshot_unique_key_no_bot",
                condition=Q(source=SnapshotSource.REPORTED, bot__isnull=True),
            ),
            # One computed snapshot per account per interval, whatever the number of beats or workers.
            models.UniqueConstraint(
                fields=["account", "bucket"], name="equitysnapshot_unique_bucket", condition=Q(source=SnapshotSource.COMPUTED),
            ),
            models.CheckConstraint(condition=Q(source__in=SnapshotSource.values), name="equitysnapshot_source_valid"),
            models.CheckConstraint(
                condition=Q(source=SnapshotSource.REPORTED) | Q(bucket__isnull=False), name="equitysnapshot_computed_has_bucket"
            ),
        ]
        indexes = [
            # Equity curve and drawdown of an account, by time; newest reported equity (reconciliation).
            models.Index(fields=["account", "source", "exchange_ts"], name="eqsnap_account_source_time"),
            # Retention.
            models.Index(fields=["exchange_ts"], name="eqsnap_time"),
        ]

    def __str__(self) -> str:
        return f"{self.account} equity {self.equity} @ {self.exchange_ts:%Y-%m-%d %H:%M:%S}"
