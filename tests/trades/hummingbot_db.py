"""A hummingbot trades database, built with SQLAlchemy from the tables hummingbot's models declare
(`hummingbot/model/order.py`, `order_status.py`, `trade_fill.py`, `funding_payment.py`), and written
the way its MarketsRecorder writes them: an order and its `…OrderCreated` event; a fill, its
`OrderFilled` event and the order's new `last_status`; a completion or cancellation.

Amounts are hummingbot's SqliteDecimal(6): a BIGINT of micro-units.
"""

import json
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    Text,
    TypeDecorator,
    create_engine,
)
from sqlalchemy.orm import Session, declarative_base

Base = declarative_base()


class MicroUnits(TypeDecorator):
    """An amount stored as an integer count of 10^-6 (hummingbot's SqliteDecimal(6))."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else int(Decimal(value) * 10**6)

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value) / 10**6


class Order(Base):
    __tablename__ = "Order"
    __table_args__ = (Index("o_config_timestamp_index", "config_file_path", "creation_timestamp"),
                      Index("o_market_trading_pair_timestamp_index", "market", "symbol", "creation_timestamp"))
    id = Column(Text, primary_key=True, nullable=False)
    config_file_path = Column(Text, nullable=False)
    strategy = Column(Text, nullable=False)
    market = Column(Text, nullable=False)
    symbol = Column(Text, nullable=False)
    base_asset = Column(Text, nullable=False)
    quote_asset = Column(Text, nullable=False)
    creation_timestamp = Column(BigInteger, nullable=False)
    order_type = Column(Text, nullable=False)
    amount = Column(MicroUnits, nullable=False)
    leverage = Column(Integer, nullable=False, default=1)
    price = Column(MicroUnits, nullable=False)
    last_status = Column(Text, nullable=False)
    last_update_timestamp = Column(BigInteger, nullable=False)
    exchange_order_id = Column(Text, nullable=True)
    position = Column(Text, nullable=True)


class OrderStatus(Base):
    __tablename__ = "OrderStatus"
    __table_args__ = (Index("os_order_id_timestamp_index", "order_id", "timestamp"),)
    id = Column(Integer, primary_key=True, nullable=False)
    order_id = Column(Text, ForeignKey("Order.id"), nullable=False)
    timestamp = Column(BigInteger, nullable=False)
    status = Column(Text, nullable=False)


class TradeFill(Base):
    __tablename__ = "TradeFill"
    __table_args__ = (Index("tf_config_timestamp_index", "config_file_path", "timestamp"),
                      Index("tf_market_trading_pair_timestamp_index", "market", "symbol", "timestamp"))
    config_file_path = Column(Text, nullable=False)
    strategy = Column(Text, nullable=False)
    market = Column(Text, primary_key=True, nullable=False)
    symbol = Column(Text, nullable=False)
    base_asset = Column(Text, nullable=False)
    quote_asset = Column(Text, nullable=False)
    timestamp = Column(BigInteger, nullable=False)
    order_id = Column(Text, ForeignKey("Order.id"), primary_key=True, nullable=False)
    trade_type = Column(Text, nullable=False)
    order_type = Column(Text, nullable=False)
    price = Column(MicroUnits, nullable=False)
    amount = Column(MicroUnits, nullable=False)
    leverage = Column(Integer, nullable=False, default=1)
    trade_fee = Column(JSON, nullable=False)
    trade_fee_in_quote = Column(MicroUnits)
    exchange_trade_id = Column(Text, primary_key=True, nullable=False)
    position = Column(Text, nullable=True, default="NIL")


class FundingPayment(Base):
    __tablename__ = "FundingPayment"
    timestamp = Column(BigInteger, primary_key=True, nullable=False)
    config_file_path = Column(Text, nullable=False)
    market = Column(Text, nullable=False)
    rate = Column(Float, nullable=False)
    symbol = Column(Text, nullable=False)
    amount = Column(Float, nullable=False)


CONFIG, STRATEGY, MARKET = "conf_pmm_btc.yml", "pure_market_making", "binance_paper_trade"


class Recorder:
    """Writes as hummingbot's MarketsRecorder does, one transaction per event."""

    def __init__(self, url: str):
        self.engine = create_engine(url)
        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def create(self, order_id: str, side: str, *, pair="BTC-USDT", amount="0.01", price="30000", at=1735689600000,
               order_type="LIMIT", exchange_order_id=None):
        base, quote = pair.split("-")
        event = f"{'Buy' if side == 'buy' else 'Sell'}OrderCreated"
        with Session(self.engine) as s, s.begin():
            s.add(Order(id=order_id, config_file_path=CONFIG, strategy=STRATEGY, market=MARKET, symbol=pair,
                        base_asset=base, quote_asset=quote, creation_timestamp=at, order_type=order_type,
                        amount=Decimal(amount), leverage=1, price=Decimal(price), last_status=event,
                        last_update_timestamp=at, exchange_order_id=exchange_order_id, position="NIL"))
            s.add(OrderStatus(order_id=order_id, timestamp=at, status=event))

    def fill(self, order_id: str, trade_id: str, side: str, *, pair="BTC-USDT", amount="0.01", price="30000",
             at=1735689601000, fee=None):
        base, quote = pair.split("-")
        fee = fee or {"fee_type": "AddedToCost", "percent": "0.001", "percent_token": None, "flat_fees": []}
        with Session(self.engine) as s, s.begin():
            order = s.get(Order, order_id)
            if order is not None:
                order.last_status, order.last_update_timestamp = "OrderFilled", at
            s.add(OrderStatus(order_id=order_id, timestamp=at, status="OrderFilled"))
            s.add(TradeFill(config_file_path=CONFIG, strategy=STRATEGY, market=MARKET, symbol=pair, base_asset=base,
                            quote_asset=quote, timestamp=at, order_id=order_id, trade_type=side.upper(),
                            order_type="LIMIT", price=Decimal(price), amount=Decimal(amount), leverage=1,
                            trade_fee=fee, trade_fee_in_quote=Decimal("0"), exchange_trade_id=trade_id,
                            position="NIL"))

    def status(self, order_id: str, event: str, *, at=1735689602000):
        with Session(self.engine) as s, s.begin():
            order = s.get(Order, order_id)
            order.last_status, order.last_update_timestamp = event, at
            s.add(OrderStatus(order_id=order_id, timestamp=at, status=event))

    def funding(self, at: int, amount: float, *, pair="BTC-USDT", rate=0.0001):
        with Session(self.engine) as s, s.begin():
            s.add(FundingPayment(timestamp=at, config_file_path=CONFIG, market=MARKET, rate=rate, symbol=pair,
                                 amount=amount))


def fee(percent="0", *, token=None, flat=(), kind="AddedToCost") -> dict:
    return json.loads(json.dumps({"fee_type": kind, "percent": percent, "percent_token": token,
                                  "flat_fees": [{"token": t, "amount": a} for t, a in flat]}))
