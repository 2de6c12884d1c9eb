"""The database itself enforces the ledger's invariants (both SQLite and PostgreSQL)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Account, Bot
from tests.factories import T0, make_account, make_cash_flow, make_fill
from trades.models import CashFlow, Event, Fill, Order, Signal, Trade

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def rejects(make, error=IntegrityError):
    with pytest.raises(error), transaction.atomic():
        make()


def test_fill_key_is_unique_per_account_and_symbol():
    a, b = make_account(), make_account()
    make_fill(a, external_id="x", symbol="BTCUSDT")
    rejects(lambda: make_fill(a, external_id="x", symbol="BTCUSDT"))
    make_fill(a, external_id="x", symbol="ETHUSDT")  # some exchanges number trades per symbol
    make_fill(b, external_id="x", symbol="BTCUSDT")  # another account
    assert Fill.objects.count() == 3


@pytest.mark.parametrize(
    "fields",
    [{"price": Decimal("0")}, {"price": Decimal("-1")}, {"quantity": Decimal("0")}, {"quantity": Decimal("-2")},
     {"side": "long"}, {"source": "magic"}, {"external_id": ""}, {"symbol": ""}],
)
def test_fill_checks(fields):
    account = make_account()
    rejects(lambda: make_fill(account, **fields))


def test_order_constraints():
    account = make_account()

    def order(**kw):
        fields = dict(account=account, external_id="o1", symbol="BTCUSDT", side="buy", status="new",
                      updated_at=NOW, created_at=NOW, received_at=NOW)
        fields.update(kw)
        return Order.objects.create(**fields)

    order()
    rejects(lambda: order())
    rejects(lambda: order(external_id="o2", status="done"))
    rejects(lambda: order(external_id="o3", side="hold"))
    rejects(lambda: order(external_id="o4", quantity=Decimal("0")))
    rejects(lambda: order(external_id="o5", price=Decimal("-1")))
    rejects(lambda: order(external_id="o6", filled_quantity=Decimal("-1")))


def test_trade_constraints():
    account = make_account()

    def trade(**kw):
        fields = dict(account=account, external_id="t1", symbol="BTCUSDT", side="long", quantity=Decimal("1"),
                      entry_price=Decimal("100"), entry_time=T0, opened_at=NOW, updated_at=NOW)
        fields.update(kw)
        return Trade.objects.create(**fields)

    trade()
    rejects(lambda: trade())
    rejects(lambda: trade(external_id="t2", side="buy"))
    rejects(lambda: trade(external_id="t3", quantity=Decimal("0")))
    rejects(lambda: trade(external_id="t4", entry_price=Decimal("0")))
    rejects(lambda: trade(external_id="t5", status="closed"))  # closed needs an exit
    trade(external_id="t6", status="closed", exit_price=Decimal("101"), exit_time=T0)


def test_signal_value_and_optional_key():
    account = make_account()

    def signal(**kw):
        fields = dict(account=account, symbol="BTCUSDT", value=1, generated_at=T0, received_at=NOW)
        fields.update(kw)
        return Signal.objects.create(**fields)

    signal(), signal()  # no key: any number
    signal(external_id="s1")
    rejects(lambda: signal(external_id="s1"))
    rejects(lambda: signal(value=2))


def test_cash_flow_constraints():
    account = make_account()
    make_cash_flow(account, external_id="c1")
    rejects(lambda: make_cash_flow(account, external_id="c1"))
    rejects(lambda: make_cash_flow(account, external_id="c2", kind="gift"))
    rejects(lambda: make_cash_flow(account, external_id="c3", currency=""))


def test_account_and_bot_constraints():
    make_account("dup")
    rejects(lambda: make_account("dup"))
    rejects(lambda: make_account(kind="demo"))
    rejects(lambda: make_account(cost_basis="lifo"))
    account = make_account()
    Bot.objects.create(account=account, key="paper:BTCUSD")
    rejects(lambda: Bot.objects.create(account=account, key="paper:BTCUSD"))
    Bot.objects.create(account=make_account(), key="paper:BTCUSD")
    assert Account.objects.count() == 3


def test_amounts_keep_every_digit():
    account = make_account()
    values = [Decimal("12345678901234567890.123456789012345678"), Decimal("0.000000000000000001"),
              Decimal("-99999999999999999999.999999999999999999"), Decimal("1.10000000000000001")]
    for i, value in enumerate(values):
        make_cash_flow(account, external_id=f"v{i}", amount=value)
    stored = [CashFlow.objects.get(account=account, external_id=f"v{i}").amount for i in range(len(values))]
    assert stored == values


def test_amount_equality_lookup_is_exact():
    account = make_account()
    make_fill(account, price=Decimal("1.10000000000000001"))
    assert Fill.objects.filter(price=Decimal("1.10000000000000001")).count() == 1
    assert Fill.objects.filter(price=Decimal("1.1")).count() == 0


def test_the_journal_is_append_only():
    account = make_account()
    event = Event.objects.create(account=account, type="log", raw={"message": "hi"}, received_at=NOW)
    rejects(lambda: Event.objects.filter(pk=event.pk).update(type="fill"), DatabaseError)
    assert Event.objects.get(pk=event.pk).type == "log"


def test_a_journal_line_must_name_an_account_that_exists():
    a, b = make_account(), make_account()
    nowhere = Account.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    rejects(lambda: Event.objects.create(account_id=nowhere, type="log", raw={}, received_at=NOW))
    line = {"type": "log", "raw": {}, "received_at": NOW}
    # One statement of lines for several accounts (as a request journals them): one missing is refused.
    rejects(lambda: Event.objects.bulk_create([Event(account=a, **line), Event(account_id=nowhere, **line),
                                               Event(account=b, **line)]))
    Event.objects.bulk_create([Event(account=a, **line), Event(account=b, **line), Event(account=a, **line)])
    assert Event.objects.count() == 3


def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite leaves deleting an account to Django's PROTECT (see trades migration 0006)")


def test_the_database_refuses_to_delete_an_account_the_journal_names():
    _postgresql_only()
    named, unnamed = make_account(), make_account()
    Event.objects.create(account=named, type="log", raw={}, received_at=NOW)

    def delete(account):
        with connection.cursor() as cursor:  # past Django's PROTECT, as raw SQL would go
            cursor.execute("DELETE FROM accounts_account WHERE id = %s", [account.pk])

    rejects(lambda: delete(named))
    delete(unnamed)
    assert list(Account.objects.values_list("pk", flat=True)) == [named.pk]


@pytest.mark.django_db(transaction=True)
def test_an_account_cannot_be_deleted_under_a_request_journaling_to_it():
    """The check locks the accounts it finds (FOR KEY SHARE, as a foreign key's does): a delete
    from another connection waits for the writer instead of leaving its lines orphaned."""
    import psycopg

    _postgresql_only()
    account = make_account()
    with transaction.atomic():
        Event.objects.create(account=account, type="log", raw={}, received_at=NOW)
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("DELETE FROM accounts_account WHERE id = %s", [account.pk])
    assert Event.objects.filter(account=account).count() == 1


def test_a_bot_or_token_named_by_the_journal_cannot_be_deleted():
    from django.db.models import RestrictedError

    from accounts.tokens import issue_token

    account = make_account()
    bot = Bot.objects.create(account=account, key="paper:BTCUSD")
    token, _secret = issue_token(name="journaled", account_slugs=[account.slug])
    Event.objects.create(account=account, bot=bot, token=token, type="log", raw={}, received_at=NOW)
    rejects(bot.delete, RestrictedError)
    rejects(token.delete, RestrictedError)
    assert Event.objects.filter(bot=bot, token=token).count() == 1


def test_booked_content_of_a_fill_cannot_be_edited_but_it_can_be_voided():
    account = make_account()
    fill = make_fill(account)
    rejects(lambda: Fill.objects.filter(pk=fill.pk).update(price=Decimal("1")), DatabaseError)
    rejects(lambda: Fill.objects.filter(pk=fill.pk).update(executed_at=T0 - timedelta(days=1)), DatabaseError)
    Fill.objects.filter(pk=fill.pk).update(voided_at=NOW, void_reason="duplicate from a replay")
    fill.refresh_from_db()
    assert fill.is_void and fill.price == Decimal("100")


def test_cash_flows_and_closed_trades_cannot_be_edited():
    account = make_account()
    flow = make_cash_flow(account)
    rejects(lambda: CashFlow.objects.filter(pk=flow.pk).update(amount=Decimal("1")), DatabaseError)
    trade = Trade.objects.create(account=account, external_id="t", symbol="X", side="long", quantity=1,
                                 entry_price=1, entry_time=T0, opened_at=NOW, updated_at=NOW)
    Trade.objects.filter(pk=trade.pk).update(sl_price=Decimal("0.5"))  # open: its plan may change
    Trade.objects.filter(pk=trade.pk).update(status="closed", exit_price=2, exit_time=T0)
    rejects(lambda: Trade.objects.filter(pk=trade.pk).update(exit_price=3), DatabaseError)
