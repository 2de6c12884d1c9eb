"""The admin: staff see only their accounts; ledger rows are read-only; CSV export; the account page."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.services import grant_access
from tests.factories import make_account, make_fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts():
    return make_account("alpha"), make_account("charlie")


@pytest.fixture
def staff(client, accounts):
    user = get_user_model().objects.create_user("ann", password="pw", is_staff=True)
    # Staff need model view permissions; membership then narrows the rows.
    from django.contrib.auth.models import Permission

    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    grant_access(slug="alpha", username="ann")
    client.force_login(user)
    return client


@pytest.fixture
def superuser(client):
    user = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(user)
    return client


def test_staff_see_only_accounts_they_are_members_of(staff, accounts):
    alpha, charlie = accounts
    make_fill(alpha, external_id="alpha-fill")
    make_fill(charlie, external_id="charlie-fill")
    page = staff.get(reverse("admin:trades_fill_changelist")).content.decode()
    assert "alpha" in page and "charlie-fill" not in page
    accounts_page = staff.get(reverse("admin:accounts_account_changelist")).content.decode()
    assert "charlie" not in accounts_page
    charlie_fill = charlie.fills.get()
    assert staff.get(reverse("admin:trades_fill_change", args=[charlie_fill.pk])).status_code in (302, 404)
    assert staff.get(reverse("admin:accounts_account_page", args=[charlie.pk])).status_code == 404


def test_superusers_see_all(superuser, accounts):
    alpha, charlie = accounts
    make_fill(alpha, external_id="alpha-fill")
    make_fill(charlie, external_id="charlie-fill")
    response = superuser.get(reverse("admin:trades_fill_changelist"))
    assert response.context["cl"].result_count == 2


def test_ledger_rows_are_read_only(superuser, accounts):
    fill = make_fill(accounts[0], price=Decimal("100"))
    url = reverse("admin:trades_fill_change", args=[fill.pk])
    assert superuser.get(url).status_code == 200  # viewable
    superuser.post(url, {"price": "1"})
    fill.refresh_from_db()
    assert fill.price == Decimal("100")
    assert superuser.post(reverse("admin:trades_fill_delete", args=[fill.pk]), {"post": "yes"}).status_code == 403
    assert superuser.get(reverse("admin:trades_fill_add")).status_code == 403


def test_every_model_has_a_browsable_changelist(superuser, accounts):
    from django.contrib import admin

    for model in admin.site._registry:
        if model._meta.app_label in {"accounts", "trades", "snapshots"}:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            assert superuser.get(url).status_code == 200, url


def test_csv_export_of_the_filtered_list(superuser, accounts):
    alpha, _ = accounts
    fill = make_fill(alpha, price=Decimal("123.000000000000000001"))
    response = superuser.post(reverse("admin:trades_fill_changelist"),
                              {"action": "export_csv", "_selected_action": [fill.pk]})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"] == "text/csv"
    assert "123.000000000000000001" in body and "external_id" in body.splitlines()[0]


def test_the_account_page_shows_charts_and_tables(superuser, accounts):
    alpha, _ = accounts
    make_fill(alpha, symbol="BTCUSDT", side="buy", quantity=Decimal("2"), price=Decimal("100"))
    response = superuser.get(reverse("admin:accounts_account_page", args=[alpha.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for part in ("Equity", "Daily net PnL", "Drawdown", "Open positions", "Newest balances", "Recent fills"):
        assert part in page
    change = superuser.get(reverse("admin:accounts_account_change", args=[alpha.pk])).content.decode()
    assert reverse("admin:accounts_account_page", args=[alpha.pk]) in change


def test_the_journal_shows_raw_numbers_with_every_digit(superuser, accounts):
    from tests.conftest import client_for
    from trades.models import Event

    body = ('{"id": "f1", "symbol": "BTCUSDT", "side": "buy", "price": 0.10000000000000001, "quantity": "1",'
            ' "executed_at": "2026-01-01T00:00:00"}')
    response = client_for(accounts[0]).post("/api/v1/fills/", data=body, content_type="application/json")
    assert response.status_code == 201
    event = Event.objects.get(account=accounts[0])
    page = superuser.get(reverse("admin:trades_event_change", args=[event.pk])).content.decode()
    assert "0.10000000000000001" in page
