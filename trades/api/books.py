"""books API: computed positions, summary, period PnL, performance"""

from rest_framework.views import APIView


class AccountPositions(APIView):
    """TODO (books API): not built yet."""


class AccountSummary(APIView):
    """TODO (books API): not built yet."""


class AccountPnl(APIView):
    """TODO (books API): not built yet."""


class AccountPerformance(APIView):
    """TODO (books API): not built yet."""
