"""Sources in the admin: listed with their account, kind, last sync, lag and last error; the cursor
read-only; "sync now"; staff see only their accounts' sources."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.services import grant_access
from tests.factories import make_account
from tests.trades.freqtrade_data import T1, bot_file
from trades.models import Fill, Source

pytestmark = pytest.mark.django_db


@pytest.fixture
def sources(tmp_path):
    alpha, charlie = make_account("alpha", base_currency="USDT"), make_account("charlie")
    mine = Source.objects.create(account=alpha, name="alpha-bot", kind="freqtrade",
                                 location=f"sqlite:///{bot_file(tmp_path, T1)}")
    theirs = Source.objects.create(account=charlie, name="charlie-bot", kind="jsonl",
                                   location=str(tmp_path / "events.jsonl"), last_error="no such file")
    return mine, theirs


@pytest.fixture
def superuser(client):
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    return client


def test_the_list_shows_last_sync_lag_and_last_error(superuser, sources):
    page = superuser.get(reverse("admin:trades_source_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "alpha-bot" in text and "charlie-bot" in text and "no such file" in text


def test_sync_now_books_the_source_and_says_so(superuser, sources):
    mine, _theirs = sources
    answer = superuser.post(reverse("admin:trades_source_changelist"),
                            {"action": "sync_now", "_selected_action": [mine.pk]}, follow=True)
    assert answer.status_code == 200
    # (the admin writes a message with its first letter capitalised)
    assert "Alpha-bot: 8 rows read; 26 created, 0 duplicate, 6 updated; lag 0s." in answer.content.decode()
    assert Fill.objects.filter(account=mine.account).count() == 17


def test_the_cursor_is_read_only_and_a_password_is_not_shown(superuser, sources):
    mine, _theirs = sources
    Source.objects.filter(pk=mine.pk).update(location="postgresql://bot:s3cret@db.local/ft", cursor={"trade_id": 7})
    page = superuser.get(reverse("admin:trades_source_change", args=[mine.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "s3cret" not in text and "bot:***@db.local" in text
    assert 'name="cursor"' not in text and "trade_id" in text


def test_staff_see_only_their_accounts_sources(client, sources):
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("ann", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    grant_access(slug="alpha", username="ann")
    client.force_login(user)
    text = client.get(reverse("admin:trades_source_changelist")).content.decode()
    assert "alpha-bot" in text and "charlie-bot" not in text
