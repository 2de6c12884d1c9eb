from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Bot
from snapshots.models import EquitySnapshot, Mark, PositionSnapshot, WalletSnapshot
from tests.factories import T0, make_account

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def rejects(make):
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_mark_key_and_price():
    account = make_account()
    Mark.objects.create(account=account, symbol="BTC", price=1, ts=T0, received_at=NOW)
    rejects(lambda: Mark.objects.create(account=account, symbol="BTC", price=2, ts=T0, received_at=NOW))
    rejects(lambda: Mark.objects.create(account=account, symbol="ETH", price=0, ts=T0, received_at=NOW))


def test_position_snapshot_keys():
    account = make_account()

    def snap(**kw):
        fields = dict(account=account, symbol="BTC", side="long", size=Decimal("1"), exchange_ts=T0, received_at=NOW)
        fields.update(kw)
        return PositionSnapshot.objects.create(**fields)

    snap()
    rejects(lambda: snap())
    rejects(lambda: snap(symbol="ETH", side="up"))
    rejects(lambda: snap(symbol="ETH", size=Decimal("-1")))
    rejects(lambda: snap(symbol="ETH", source="computed"))  # computed needs its interval
    snap(source="computed", bucket=T0)  # computed beside reported at the same time
    rejects(lambda: snap(source="computed", bucket=T0, exchange_ts=NOW))


def test_wallet_snapshot_key():
    account = make_account()
    WalletSnapshot.objects.create(account=account, coin="USDT", wallet_balance=1, exchange_ts=T0, received_at=NOW)
    WalletSnapshot.objects.create(account=account, coin="BTC", wallet_balance=1, exchange_ts=T0, received_at=NOW)
    rejects(lambda: WalletSnapshot.objects.create(account=account, coin="USDT", wallet_balance=2, exchange_ts=T0,
                                                  received_at=NOW))


def test_equity_snapshot_keys_and_one_computed_per_interval():
    account = make_account()
    bot = Bot.objects.create(account=account, key="paper:BTC")

    def snap(**kw):
        fields = dict(account=account, equity=Decimal("1"), exchange_ts=T0, received_at=NOW)
        fields.update(kw)
        return EquitySnapshot.objects.create(**fields)

    snap(bot=bot)
    rejects(lambda: snap(bot=bot))
    snap()  # no bot
    rejects(lambda: snap())
    snap(source="computed", bucket=T0)
    rejects(lambda: snap(source="computed", bucket=T0, exchange_ts=NOW))
    snap(account=make_account(), source="computed", bucket=T0)
