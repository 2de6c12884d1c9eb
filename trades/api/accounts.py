"""read API: the token's accounts (SPEC 4.2)."""

from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import generics

from accounts.models import Account
from trades.api.auth import account_named, caller_account_rows
from trades.api.pagination import KeysetPagination
from trades.api.serializers import AccountSerializer


class AccountList(generics.ListAPIView):
    """The accounts this token may read and write, newest first."""

    serializer_class = AccountSerializer
    pagination_class = KeysetPagination
    ordering_field = "created_at"

    def get_queryset(self) -> QuerySet[Account]:
        return caller_account_rows(self.request).prefetch_related("bots")


class AccountDetail(generics.RetrieveAPIView):
    """One of the token's accounts by slug; any other slug is a 404, whether it exists or not."""

    serializer_class = AccountSerializer

    def get_queryset(self) -> QuerySet[Account]:
        return caller_account_rows(self.request).prefetch_related("bots")

    def get_object(self) -> Account:
        return self.get_queryset().get(pk=account_named(self.request, self.kwargs["slug"]).pk)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema how bots authenticate (registered by being defined)."""

    target_class = "trades.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {"type": "http", "scheme": "bearer",
                "description": "`Authorization: Bearer <token>` (also `Token <token>`), from `manage.py issue_token`."}
