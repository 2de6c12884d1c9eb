"""The item types bots post (SPEC 4.1), declared once.

This table is the single source of truth for the write API: `trades.ingest.validate`
checks items against it and `trades.api.openapi` derives the OpenAPI components
from it, so the documented bodies are the accepted bodies.
"""

from dataclasses import dataclass
from functools import cached_property

from snapshots.models import PositionSnapshot
from trades.models import CashFlow, FillSource, Order, Side, Signal, Trade

# Field kinds: how a posted value is checked and what it becomes.
TEXT = "text"  # a JSON string (an id field also takes a JSON integer, as its digits: exchange ids often are)
CODE = "code"  # TEXT compared exactly (an id, a symbol, a currency): no spaces at either end
CHOICE = "choice"  # one of `choices`
AMOUNT = "amount"  # exact decimal: JSON string or number, fits numeric(38,18)
TIME = "time"  # ISO 8601 (naive = UTC) or epoch seconds (below 10^11) / milliseconds, 2000 to tomorrow
INT = "int"  # a whole number
BOOL = "bool"
OBJECT = "object"  # a JSON object, kept as posted
FEES = "fees"  # a list of {"amount", "currency"}

# Amount constraints.
POSITIVE = "positive"
NOT_NEGATIVE = "not_negative"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = False
    column: str | None = None  # the model attribute it is stored in (default: the name)
    choices: tuple = ()
    max_length: int | None = None
    minimum: str | None = None  # POSITIVE / NOT_NEGATIVE for amounts
    nullable: bool = False  # an explicit null is a value (it clears the stored one)
    integer_ok: bool = False  # TEXT/CODE that also takes a JSON integer (an exchange's id), as its digits
    help: str = ""

    @property
    def attname(self) -> str:
        return self.column or self.name


@dataclass(frozen=True)
class ItemType:
    name: str  # the event `type`
    component: str  # the OpenAPI component name
    help: str
    fields: tuple[Field, ...]
    key_help: str = ""

    def field(self, name: str) -> Field:
        return self.by_name[name]

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}


# The currency of one entry of a fill's `fees` list (checked and described like a field).
FEE_CURRENCY = Field("currency", CODE, max_length=16)

# Choice sets are the models' own (one list each, which the database's constraints check too).
SIDES = tuple(Side.values)
ORDER_STATUSES = tuple(Order.Status.values)
FILL_SOURCES = tuple(FillSource.values)
CASHFLOW_KINDS = tuple(CashFlow.Kind.values)
TRADE_SIDES = tuple(Trade.Direction.values)
POSITION_SIDES = tuple(PositionSnapshot.Side.values)
SIGNAL_VALUES = tuple(sorted(Signal.Value.values, reverse=True))
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")  # a log line is journaled only: no model


def _id(help_text: str, *, required: bool = True) -> Field:
    return Field("id", CODE, required=required, column="external_id", max_length=128, integer_ok=True,
                 help=help_text)


def _ref(name: str, help_text: str = "") -> Field:
    """Another item's id (an order's, a trade's): an exchange's id, so a JSON integer too."""
    return Field(name, CODE, max_length=128, integer_ok=True, help=help_text)


def _symbol(required: bool = True) -> Field:
    return Field("symbol", CODE, required=required, max_length=64, help="The exchange's symbol, e.g. BTCUSDT.")


# Fields every item may carry. `account` picks one of the token's accounts; `bot`
# (or its older spelling `bot_id`) registers the bot on first sight; `meta` is kept as it is
# (the native translators put what they keep beside the booked fields there).
META_FIELD_NAME = "meta"
COMMON_FIELDS: tuple[Field, ...] = (
    Field("account", TEXT, max_length=64,
          help="The account's slug; may be left out when the token has one account."),
    Field("bot", TEXT, max_length=200, help="The posting bot's id, e.g. paper:BTCUSD-ETHUSD."),
    Field("bot_id", TEXT, max_length=200, help="Older spelling of `bot`."),
    Field(META_FIELD_NAME, OBJECT,
          help="Anything to keep beside the item, not booked: stored in the row's `meta` as posted. A field "
               "the type does not know is kept there too, and named in the answer's `warnings`."),
)

TYPE_FIELD_NAME = "type"

FILL = ItemType(
    "fill", "FillItem",
    "One execution (what CCXT calls a trade). Key: (account, symbol, id).",
    (
        _id("The exchange's trade/execution id."),
        _symbol(),
        Field("side", CHOICE, required=True, choices=SIDES),
        Field("price", AMOUNT, required=True, minimum=POSITIVE),
        Field("quantity", AMOUNT, required=True, minimum=POSITIVE),
        Field("fee", AMOUNT, help="The fee, in fee_currency (a rebate is negative)."),
        Field("fee_currency", CODE, max_length=16),
        Field("fees", FEES, help="Instead of fee/fee_currency, where a fill pays several fees."),
        _ref("order_id"),
        _ref("trade_id", "The bot's trade this fill belongs to."),
        Field("is_maker", BOOL),
        Field("executed_at", TIME, required=True),
        Field("reported_pnl", AMOUNT, help="The PnL the bot or exchange reports for this fill."),
        Field("reason", TEXT, max_length=200),
        Field("source", CHOICE, choices=FILL_SOURCES,
              help="Who reports it; the same execution from several sources is one fill."),
    ),
    key_help="id (per account and symbol)",
)

ORDER = ItemType(
    "order", "OrderItem",
    "An order's state. A newer updated_at updates the order (status moves forward only); "
    "an older one is journaled and changes nothing.",
    (
        _id("The exchange's order id."),
        _ref("client_order_id"),
        _symbol(),
        Field("side", CHOICE, required=True, choices=SIDES),
        Field("order_type", TEXT, max_length=32, help="market, limit, stop, …"),
        Field("status", CHOICE, required=True, choices=ORDER_STATUSES),
        Field("price", AMOUNT, minimum=POSITIVE),
        Field("quantity", AMOUNT, minimum=POSITIVE),
        Field("filled_quantity", AMOUNT, minimum=NOT_NEGATIVE),
        Field("average_price", AMOUNT, minimum=NOT_NEGATIVE),
        Field("reduce_only", BOOL),
        Field("updated_at", TIME, required=True, help="The exchange's time of this state."),
    ),
    key_help="id",
)

TRADE_OPEN = ItemType(
    "trade.open", "TradeOpenItem",
    "Open a trade (a round trip with its plan). Opened once: the same open again is a duplicate.",
    (
        _id("The bot's trade id."),
        _symbol(),
        Field("side", CHOICE, required=True, choices=TRADE_SIDES),
        Field("quantity", AMOUNT, required=True, minimum=POSITIVE),
        Field("entry_price", AMOUNT, required=True, minimum=POSITIVE),
        Field("entry_time", TIME, required=True),
        Field("leverage", AMOUNT, minimum=POSITIVE),
        Field("margin", AMOUNT, minimum=NOT_NEGATIVE),
        Field("sl_price", AMOUNT, minimum=POSITIVE),
        Field("tp_price", AMOUNT, minimum=POSITIVE),
        Field("trail_percent", AMOUNT, minimum=NOT_NEGATIVE),
        Field("model", TEXT, max_length=200),
        Field("confidence", AMOUNT),
        Field("strategy", TEXT, max_length=200),
        Field("regime", TEXT, max_length=200),
        Field("entry_fee", AMOUNT),
        _ref("order_id"),
        Field("metadata", OBJECT),
    ),
    key_help="id",
)

TRADE_UPDATE = ItemType(
    "trade.update", "TradeUpdateItem",
    "Change the plan of an open trade. A null clears SL/TP/trail; metadata replaces the stored object.",
    (
        _id("The bot's trade id."),
        Field("sl_price", AMOUNT, minimum=POSITIVE, nullable=True),
        Field("tp_price", AMOUNT, minimum=POSITIVE, nullable=True),
        Field("trail_percent", AMOUNT, minimum=NOT_NEGATIVE, nullable=True),
        Field("leverage", AMOUNT, minimum=POSITIVE),
        Field("margin", AMOUNT, minimum=NOT_NEGATIVE),
        Field("confidence", AMOUNT, nullable=True),
        Field("regime", TEXT, max_length=200),
        Field("metadata", OBJECT),
    ),
    key_help="the trade",
)

TRADE_CLOSE = ItemType(
    "trade.close", "TradeCloseItem",
    "Close a trade, once. Closing again with the same exit is a duplicate; a different exit is a 409.",
    (
        _id("The bot's trade id."),
        Field("exit_price", AMOUNT, required=True, minimum=POSITIVE),
        Field("exit_time", TIME, required=True),
        Field("close_reason", TEXT, max_length=200),
        Field("exit_fee", AMOUNT),
        Field("reported_pnl", AMOUNT),
    ),
    key_help="the trade",
)

SIGNAL = ItemType(
    "signal", "SignalItem",
    "A strategy's call: buy (1), neutral (0) or sell (-1), with its indicator values.",
    (
        _id("The bot's signal id (optional; without it every post is a new signal).", required=False),
        _symbol(),
        Field("value", INT, required=True, choices=SIGNAL_VALUES),
        Field("generated_at", TIME, required=True),
        Field("strength", AMOUNT),
        Field("strategy", TEXT, max_length=200),
        Field("metadata", OBJECT, help="Indicator values and the like."),
    ),
    key_help="id if given",
)

POSITION = ItemType(
    "position", "PositionItem",
    "The account's position in a symbol as reported at a time. Key: (symbol, exchange_ts).",
    (
        _symbol(),
        Field("side", CHOICE, required=True, choices=POSITION_SIDES),
        Field("size", AMOUNT, required=True, minimum=NOT_NEGATIVE, help="Unsigned; side says the direction."),
        Field("entry_price", AMOUNT, minimum=NOT_NEGATIVE),
        Field("mark_price", AMOUNT, minimum=NOT_NEGATIVE),
        Field("liq_price", AMOUNT, minimum=NOT_NEGATIVE),
        Field("unrealized_pnl", AMOUNT),
        Field("realized_pnl", AMOUNT),
        Field("leverage", AMOUNT, minimum=NOT_NEGATIVE),
        Field("exchange_ts", TIME, required=True),
    ),
    key_help="(symbol, exchange_ts)",
)

WALLET = ItemType(
    "wallet", "WalletItem",
    "One coin's balance at a time. Key: (coin, exchange_ts).",
    (
        Field("coin", CODE, required=True, max_length=16),
        Field("wallet_balance", AMOUNT, required=True),
        Field("available_balance", AMOUNT),
        Field("equity", AMOUNT),
        Field("exchange_ts", TIME, required=True),
    ),
    key_help="(coin, exchange_ts)",
)

EQUITY = ItemType(
    "equity", "EquityItem",
    "Equity, cash, positions value, counts and return at a time (the bots' metric). Key: (bot, exchange_ts).",
    (
        Field("equity", AMOUNT, required=True),
        Field("cash", AMOUNT),
        Field("positions_value", AMOUNT),
        Field("positions_count", INT),
        Field("total_trades", INT),
        Field("initial_capital", AMOUNT),
        Field("returns_pct", AMOUNT),
        Field("realized_pnl", AMOUNT),
        Field("unrealized_pnl", AMOUNT),
        Field("fees", AMOUNT),
        Field("funding", AMOUNT),
        Field("exchange_ts", TIME, required=True),
    ),
    key_help="(bot, exchange_ts)",
)

CASHFLOW = ItemType(
    "cashflow", "CashFlowItem",
    "Money in or out that is not trading PnL, signed as it moves equity.",
    (
        _id("The cash flow's id (exchange transaction id or the bot's)."),
        Field("kind", CHOICE, required=True, choices=CASHFLOW_KINDS),
        Field("amount", AMOUNT, required=True, help="Signed as it moves equity: a withdrawal is negative."),
        Field("currency", CODE, required=True, max_length=16),
        _symbol(required=False),
        Field("ts", TIME, required=True),
    ),
    key_help="id",
)

MARK = ItemType(
    "mark", "MarkItem",
    "A price for a symbol at a time, used to value open positions. Key: (symbol, ts).",
    (
        _symbol(),
        Field("price", AMOUNT, required=True, minimum=POSITIVE),
        Field("ts", TIME, required=True),
    ),
    key_help="(symbol, ts)",
)

FILL_VOID = ItemType(
    "fill.void", "FillVoidItem",
    "Mark a fill void: it is kept and journaled, and excluded from the books.",
    (
        _id("The fill's id as posted."),
        _symbol(),
        Field("reason", TEXT, max_length=500, column="void_reason"),
    ),
    key_help="the fill",
)

LOG = ItemType(
    "log", "LogItem",
    "Free text for the audit trail; kept in the journal only.",
    (
        _id("The line's id (optional: a line posted again with its id is a duplicate).", required=False),
        Field("message", TEXT, required=True),
        Field("level", CHOICE, choices=LOG_LEVELS),
        Field("ts", TIME, help="When the bot logged it."),
    ),
)

ITEM_TYPES: dict[str, ItemType] = {
    t.name: t for t in (FILL, ORDER, TRADE_OPEN, TRADE_UPDATE, TRADE_CLOSE, SIGNAL, POSITION, WALLET, EQUITY,
                        CASHFLOW, MARK, FILL_VOID, LOG)
}
COMMON_NAMES = frozenset(f.name for f in COMMON_FIELDS) | {TYPE_FIELD_NAME}
