from django.conf import settings
from django.db import models
from django.db.models import Q

from core.fields import AmountField


class AccountKind(models.TextChoices):
    PAPER = "paper"
    TESTNET = "testnet"
    LIVE = "live"


class CostBasis(models.TextChoices):
    AVERAGE = "average", "average cost"
    FIFO = "fifo", "first in, first out"


class Account(models.Model):
    """One exchange or paper account: the unit of bookkeeping and of isolation."""

    Kind = AccountKind
    CostBasis = CostBasis

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    exchange = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PAPER)
    base_currency = models.CharField(max_length=16, default="USDT")
    initial_capital = AmountField(default=0)
    cost_basis = models.CharField(max_length=16, choices=CostBasis.choices, default=CostBasis.AVERAGE)
    is_active = models.BooleanField(default=True, help_text="Inactive accounts are not snapshotted.")
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="tradebook_accounts",
        help_text="Staff users who may see this account in the admin.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=AccountKind.values), name="account_kind_valid"),
            models.CheckConstraint(condition=Q(cost_basis__in=CostBasis.values), name="account_cost_basis_valid"),
            models.CheckConstraint(condition=~Q(slug=""), name="account_slug_not_empty"),
            models.CheckConstraint(condition=~Q(base_currency=""), name="account_base_currency_not_empty"),
        ]

    def __str__(self) -> str:
        return self.slug


class Bot(models.Model):
    """A program that posts to an account; registered on its first post."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="bots")
    key = models.CharField(max_length=200, help_text="The bot's id as it posts it, e.g. paper:BTCUSD-ETHUSD.")
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "key"]
        constraints = [
            models.UniqueConstraint(fields=["account", "key"], name="bot_unique_key"),
            models.CheckConstraint(condition=~Q(key=""), name="bot_key_not_empty"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def kind(self) -> str:
        """The part before the colon of `<kind>:<name>` ('' when there is none)."""
        return self.key.split(":", 1)[0] if ":" in self.key else ""


class ApiToken(models.Model):
    """A bot's credential. Only the SHA-256 of the secret is stored (see accounts.tokens)."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a token.")
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token, hex.")
    accounts = models.ManyToManyField(Account, related_name="tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="apitoken_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
