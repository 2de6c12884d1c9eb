"""The ledger: what bots did (fills, orders, trades, signals, cash flows) and the journal.

Every row belongs to an account. The `account` foreign keys carry no index of their
own (db_index=False): each table has composite indexes that start with `account`,
and an extra index would only slow the hot insert path. Idempotency keys are unique constraints named
`<model>_unique_key`; the services rely on them (INSERT … ON CONFLICT), never on a
Python look-up alone. Ledger rows (fills, closed trades, cash flows, events) are
never edited: the database refuses UPDATEs of their booked columns (triggers in
migration 0002), a mistake is corrected by a new item (a fill is voided, not deleted).
"""

from django.db import models
from django.db.models import Q

from accounts.models import Account, ApiToken, Bot
from core.fields import AmountField


class Side(models.TextChoices):
    BUY = "buy"
    SELL = "sell"


class FillSource(models.TextChoices):
    """Who reported a fill. (`Source` is the model of a bot's store that tradebook follows.)"""

    BOT = "bot"
    EXCHANGE = "exchange"
    IMPORT = "import"


class Fill(models.Model):
    """One execution. Booked content: symbol, side, price, quantity, fees, executed_at."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="fills", db_index=False)
    bot = models.ForeignKey(Bot, on_delete=models.RESTRICT, null=True, blank=True, related_name="fills")
    external_id = models.CharField(max_length=128, help_text="The exchange's trade/execution id.")
    symbol = models.CharField(max_length=64)
    side = models.CharField(max_length=4, choices=Side.choices)
    price = AmountField()
    quantity = AmountField()
    fee = AmountField(default=0, help_text="The (first) fee, in fee_currency.")
    fee_currency = models.CharField(max_length=16, blank=True)
    other_fees = models.JSONField(
        default=list, blank=True,
        help_text='Further fees of a fill that pays several: [{"amount": "0.1", "currency": "BNB"}].',
    )
    order_id = models.CharField(max_length=128, blank=True)
    trade_id = models.CharField(max_length=128, blank=True)
    is_maker = models.BooleanField(null=True, blank=True)
    executed_at = models.DateTimeField()
    reported_pnl = AmountField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=16, choices=FillSource.choices, default=FillSource.BOT)
    meta = models.JSONField(default=dict, blank=True, help_text="Fields the API did not know, kept as posted.")
    received_at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-executed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol", "external_id"], name="fill_unique_key"),
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_positive"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_positive"),
            models.CheckConstraint(condition=Q(side__in=Side.values), name="fill_side_valid"),
            models.CheckConstraint(condition=Q(source__in=FillSource.values), name="fill_source_valid"),
            models.CheckConstraint(condition=~Q(external_id=""), name="fill_external_id_not_empty"),
            models.CheckConstraint(condition=~Q(symbol=""), name="fill_symbol_not_empty"),
        ]
        indexes = [
            # Fills list, newest first, keyset-paginated (GET /fills/); books replay of an account.
            models.Index(fields=["account", "-executed_at", "-id"], name="fill_account_time"),
            # Books replay of one symbol after an out-of-order fill; fills list filtered by symbol.
            models.Index(fields=["account", "symbol", "executed_at", "id"], name="fill_account_symbol_time"),
            # GET /orders/{id}/fills/ and the admin's order → fills link.
            models.Index(fields=["account", "order_id"], name="fill_account_order"),
            # GET /trades/{id}/fills/.
            models.Index(fields=["account", "trade_id"], name="fill_account_trade"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} @ {self.price} ({self.external_id})"

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None

    @property
    def signed_quantity(self):
        return self.quantity if self.side == Side.BUY else -self.quantity


# What the books use of a fill: a fill posted again with the same key is a duplicate when
# these are equal (compared as decimals), a conflict when they differ; nothing may change them.
FILL_BOOKED_FIELDS = ("symbol", "side", "price", "quantity", "fee", "fee_currency", "other_fees", "executed_at")


class OrderStatus(models.TextChoices):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"


# An order's status moves forward only: new, then partially filled, then one final status.
ORDER_STATUS_RANK = {OrderStatus.NEW: 0, OrderStatus.PARTIALLY_FILLED: 1, OrderStatus.FILLED: 2,
                     OrderStatus.CANCELED: 2, OrderStatus.REJECTED: 2, OrderStatus.EXPIRED: 2}
WORKING_ORDER_STATUSES = [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED]


class Order(models.Model):
    """An order's newest known state. Its history is in the journal; status moves forward only."""

    Status = OrderStatus

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders", db_index=False)
    bot = models.ForeignKey(Bot, on_delete=models.RESTRICT, null=True, blank=True, related_name="orders")
    external_id = models.CharField(max_length=128, help_text="The exchange's order id.")
    client_order_id = models.CharField(max_length=128, blank=True)
    symbol = models.CharField(max_length=64)
    side = models.CharField(max_length=4, choices=Side.choices)
    order_type = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices)
    price = AmountField(null=True, blank=True)
    quantity = AmountField(null=True, blank=True)
    filled_quantity = AmountField(null=True, blank=True)
    average_price = AmountField(null=True, blank=True)
    reduce_only = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField(help_text="The exchange's time of this state.")
    created_at = models.DateTimeField(help_text="When tradebook first received the order.")
    received_at = models.DateTimeField(help_text="When tradebook received this state.")
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="order_unique_key"),
            models.CheckConstraint(condition=Q(side__in=Side.values), name="order_side_valid"),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values),
                name="order_status_valid",
            ),
            models.CheckConstraint(condition=Q(quantity__isnull=True) | Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gt=0), name="order_price_positive"),
            models.CheckConstraint(
                condition=Q(filled_quantity__isnull=True) | Q(filled_quantity__gte=0),
                name="order_filled_quantity_not_negative",
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="order_external_id_not_empty"),
        ]
        indexes = [
            # Orders list, newest first (GET /orders/).
            models.Index(fields=["account", "-updated_at", "-id"], name="order_account_time"),
            # Orders still working (admin filter, bot recovery).
            models.Index(
                fields=["account", "symbol"], name="order_open",
                condition=Q(status__in=WORKING_ORDER_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.side} {self.symbol} {self.status}"


class TradeDirection(models.TextChoices):
    LONG = "long"
    SHORT = "short"


class TradeStatus(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"


class Trade(models.Model):
    """A round trip a bot opens and later closes, with its plan. Closed trades are ledger rows."""

    Direction = TradeDirection

    Status = TradeStatus

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="trades", db_index=False)
    bot = models.ForeignKey(Bot, on_delete=models.RESTRICT, null=True, blank=True, related_name="trades")
    external_id = models.CharField(max_length=128, help_text="The bot's trade id.")
    symbol = models.CharField(max_length=64)
    side = models.CharField(max_length=5, choices=Direction.choices)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    quantity = AmountField()
    entry_price = AmountField()
    entry_time = models.DateTimeField()
    entry_fee = AmountField(default=0)
    leverage = AmountField(null=True, blank=True)
    margin = AmountField(null=True, blank=True)
    sl_price = AmountField(null=True, blank=True)
    tp_price = AmountField(null=True, blank=True)
    trail_percent = AmountField(null=True, blank=True)
    model = models.CharField(max_length=200, blank=True)
    confidence = AmountField(null=True, blank=True)
    strategy = models.CharField(max_length=200, blank=True)
    regime = models.CharField(max_length=200, blank=True)
    order_id = models.CharField(max_length=128, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    exit_price = AmountField(null=True, blank=True)
    exit_time = models.DateTimeField(null=True, blank=True)
    exit_fee = AmountField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)
    reported_pnl = AmountField(null=True, blank=True)
    pnl = AmountField(
        null=True, blank=True,
        help_text="Computed at close: (exit − entry)·quantity·direction − entry fee − exit fee.",
    )
    meta = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField(help_text="When tradebook received the open.")
    updated_at = models.DateTimeField(help_text="When tradebook last received a change.")
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When tradebook received the close.")

    class Meta:
        ordering = ["-entry_time", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="trade_unique_key"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="trade_quantity_positive"),
            models.CheckConstraint(condition=Q(entry_price__gt=0), name="trade_entry_price_positive"),
            models.CheckConstraint(condition=Q(side__in=TradeDirection.values), name="trade_side_valid"),
            models.CheckConstraint(condition=Q(status__in=TradeStatus.values), name="trade_status_valid"),
            models.CheckConstraint(
                condition=Q(status=TradeStatus.OPEN) | (Q(exit_price__gt=0) & Q(exit_time__isnull=False)),
                name="trade_closed_has_exit",
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="trade_external_id_not_empty"),
        ]
        indexes = [
            # Trades list, newest first (GET /trades/).
            models.Index(fields=["account", "-entry_time", "-id"], name="trade_account_time"),
            # GET /trades/?status=open — what a bot reads on restart.
            models.Index(fields=["account", "symbol"], name="trade_open", condition=Q(status=TradeStatus.OPEN)),
            # Closed-trade statistics (summary, performance).
            models.Index(fields=["account", "exit_time"], name="trade_closed", condition=Q(status=TradeStatus.CLOSED)),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.side} {self.symbol} ({self.status})"


class SignalValue(models.IntegerChoices):
    SELL = -1
    NEUTRAL = 0
    BUY = 1


class Signal(models.Model):
    Value = SignalValue

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="signals", db_index=False)
    bot = models.ForeignKey(Bot, on_delete=models.RESTRICT, null=True, blank=True, related_name="signals")
    external_id = models.CharField(max_length=128, null=True, blank=True)
    symbol = models.CharField(max_length=64)
    value = models.SmallIntegerField(choices=Value.choices)
    generated_at = models.DateTimeField()
    strength = AmountField(null=True, blank=True)
    strategy = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-generated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], name="signal_unique_key", condition=Q(external_id__isnull=False)
            ),
            models.CheckConstraint(condition=Q(value__in=SignalValue.values), name="signal_value_valid"),
        ]
        indexes = [
            # Signals list, newest first, by symbol (GET /signals/?symbol=).
            models.Index(fields=["account", "symbol", "-generated_at"], name="signal_account_symbol_time"),
            models.Index(fields=["account", "-generated_at", "-id"], name="signal_account_time"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.value:+d} @ {self.generated_at:%Y-%m-%d %H:%M}"


class CashFlowKind(models.TextChoices):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    FUNDING = "funding"
    TRANSFER_IN = "transfer_in"
    TRANSFER_OUT = "transfer_out"
    REBATE = "rebate"
    FEE = "fee"


class CashFlow(models.Model):
    """Money in or out of the account that is not trading PnL. Signed as it moves equity."""

    Kind = CashFlowKind

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cash_flows", db_index=False)
    bot = models.ForeignKey(Bot, on_delete=models.RESTRICT, null=True, blank=True, related_name="cash_flows")
    external_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = AmountField()
    currency = models.CharField(max_length=16)
    symbol = models.CharField(max_length=64, blank=True)
    ts = models.DateTimeField()
    meta = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-ts", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "external_id"], name="cashflow_unique_key"),
            models.CheckConstraint(
                condition=Q(kind__in=CashFlowKind.values),
                name="cashflow_kind_valid",
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="cashflow_external_id_not_empty"),
            models.CheckConstraint(condition=~Q(currency=""), name="cashflow_currency_not_empty"),
        ]
        indexes = [
            # Cash flows list and the books' time-weighted return split (by time).
            models.Index(fields=["account", "ts", "id"], name="cashflow_account_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class Event(models.Model):
    """The append-only journal: every accepted item, raw, with who posted it and when."""

    # The database checks the account once per INSERT statement, not once per line (a trigger;
    # see migration 0006): a foreign key's check per line cost a 1,000-line batch about 4 ms
    # of waiting at COMMIT (measured).
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="events", db_index=False,
                                db_constraint=False)
    # Who posted: the token that authenticated the request and the bot registered in its own
    # transaction. Django still refuses to delete either while journal rows name it (RESTRICT),
    # but the database does not check each row: a checked key costs every journaled item a
    # look-up at commit (measured: about 2.5 ms per 1,000 items each, a tenth of a batch's commit).
    bot = models.ForeignKey(Bot, on_delete=models.RESTRICT, null=True, blank=True, related_name="events",
                            db_constraint=False)
    token = models.ForeignKey(
        ApiToken, on_delete=models.RESTRICT, null=True, blank=True, related_name="events", db_index=False,
        db_constraint=False,
    )
    type = models.CharField(max_length=32, help_text="fill, order, trade.open, …, log")
    item_key = models.CharField(max_length=200, blank=True, help_text="The item's key as posted, for search.")
    outcome = models.CharField(max_length=16, blank=True, help_text="created, duplicate or updated.")
    channel = models.CharField(max_length=32, default="api", help_text="api, ingest.bybit, import_events, …")
    raw = models.JSONField(help_text="The item exactly as posted.")
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # Events list, newest first (GET /events/).
            models.Index(fields=["account", "-received_at", "-id"], name="event_account_time"),
            # Events list filtered by type (GET /events/?type=).
            models.Index(fields=["account", "type", "-received_at"], name="event_account_type_time"),
            # Admin search by id.
            models.Index(fields=["account", "item_key"], name="event_account_item_key"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.item_key} @ {self.received_at:%Y-%m-%d %H:%M:%S}"


class PositionState(models.Model):
    """The books' running position in one symbol, kept by ingest so reads do not replay history.

    Derived data: `verify_ledger` recomputes it from the fills and reports any difference.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="position_states", db_index=False)
    symbol = models.CharField(max_length=64)
    quantity = AmountField(default=0, help_text="Signed: long > 0.")
    average_price = AmountField(null=True, blank=True, help_text="Empty when flat.")
    realized_pnl = AmountField(default=0, help_text="Gross: price differences only.")
    fees = AmountField(default=0, help_text="Trading fees in the base currency.")
    unconverted_fees = models.JSONField(default=dict, blank=True, help_text="Fees kept per currency (no mark).")
    lots = models.JSONField(
        default=list, blank=True,
        help_text='Running figures without columns of their own: {"lots": FIFO lots [[quantity, price], …], '
                  '"trips": round-trip statistics, "reported_pnl", "reported_count"}.',
    )
    fill_count = models.PositiveIntegerField(default=0)
    last_executed_at = models.DateTimeField(null=True, blank=True)
    last_fill_pk = models.BigIntegerField(null=True, blank=True, help_text="Tie-break of the newest applied fill.")
    last_price = AmountField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "symbol"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="positionstate_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.symbol} {self.quantity}"


class DailyPnl(models.Model):
    """One account's day, rolled up nightly so reports over years do not rescan fills."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="daily_pnl", db_index=False)
    day = models.DateField()
    realized_pnl = AmountField(default=0)
    fees = AmountField(default=0)
    funding = AmountField(default=0)
    net_pnl = AmountField(default=0)
    cash_flows = AmountField(default=0, help_text="Deposits, withdrawals, transfers (not funding).")
    equity_end = AmountField(null=True, blank=True)
    return_pct = AmountField(null=True, blank=True)
    fills = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "-day"]
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="dailypnl_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.day} {self.net_pnl}"


class ClosedTradeTally(models.Model):
    """The trades a bot closed, added up per bot and strategy: what the summary's trade statistics
    and the performance report read, instead of every closed trade.

    Derived data, kept by the books as trades close (in the closing transaction, the row
    locked); `verify_ledger` adds the closed trades up again and reports any difference. A
    trade's PnL is its computed one, else the one its bot reported.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="closed_trade_tallies",
                                db_index=False)
    bot_id = models.BigIntegerField(default=0, help_text="The trades' bot (0: none).")
    strategy = models.CharField(max_length=200, blank=True)
    trades = models.PositiveIntegerField(default=0, help_text="Closed trades.")
    counted = models.PositiveIntegerField(default=0, help_text="Closed trades with a PnL.")
    wins = models.PositiveIntegerField(default=0)
    losses = models.PositiveIntegerField(default=0)
    won = AmountField(default=0, help_text="Σ PnL of the winning trades.")
    lost = AmountField(default=0, help_text="Σ PnL of the losing trades (≤ 0).")
    reported = models.PositiveIntegerField(default=0, help_text="Closed trades with a PnL their bot reported.")
    reported_pnl = AmountField(default=0, help_text="Σ the PnL their bot reported.")

    class Meta:
        ordering = ["account", "bot_id", "strategy"]
        constraints = [
            models.UniqueConstraint(fields=["account", "bot_id", "strategy"], name="closedtradetally_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.account} bot {self.bot_id} {self.strategy or '-'}: {self.trades} closed"


class SourceKind(models.TextChoices):
    FREQTRADE = "freqtrade"
    HUMMINGBOT = "hummingbot"
    JSONL = "jsonl"


class Source(models.Model):
    """A bot's own store that tradebook follows (SPEC 6): read-only, incremental, idempotent.

    `cursor` is what was read so far, in the terms of the store (trade and order ids and
    times for freqtrade, times for hummingbot, a byte offset and the file's identity for
    JSONL); it is written in the same transaction as the items it read, so a sync that
    dies leaves the cursor where its booked items are. `lag` is how far the books are
    behind the store: the time of the newest row in the store minus the time of the newest
    row booked from it, both on the store's clock, as of the last sync that read the store.
    """

    Kind = SourceKind

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sources", db_index=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    location = models.CharField(max_length=1000, help_text="The database URL or the file's path.")
    cursor = models.JSONField(default=dict, blank=True, help_text="What was read so far (the store's own terms).")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sync_at = models.DateTimeField(null=True, blank=True, help_text="When the last sync ended, well or not.")
    last_success_at = models.DateTimeField(null=True, blank=True)
    lag = models.DurationField(
        null=True, blank=True,
        help_text="The store's newest row minus the newest row booked from it, on the store's clock.",
    )
    last_error = models.TextField(blank=True)
    error_count = models.PositiveIntegerField(default=0, help_text="Failed syncs in a row.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=SourceKind.values), name="source_kind_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="source_name_not_empty"),
        ]
        indexes = [
            # The beat's round: every enabled source; the account's sources in the admin.
            models.Index(fields=["account", "name"], name="source_account_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"
