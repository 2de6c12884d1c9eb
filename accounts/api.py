"""read API: the token's accounts"""

from rest_framework.views import APIView


class AccountList(APIView):
    """TODO (read API): not built yet."""


class AccountDetail(APIView):
    """TODO (read API): not built yet."""
