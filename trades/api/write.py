"""write API: POST/PATCH views over trades.ingest"""

from rest_framework.views import APIView


class EventWrite(APIView):
    """TODO (write API): not built yet."""


class FillWrite(APIView):
    """TODO (write API): not built yet."""


class FillVoid(APIView):
    """TODO (write API): not built yet."""


class OrderWrite(APIView):
    """TODO (write API): not built yet."""


class TradeOpen(APIView):
    """TODO (write API): not built yet."""


class TradeUpdate(APIView):
    """TODO (write API): not built yet."""


class TradeClose(APIView):
    """TODO (write API): not built yet."""


class SignalWrite(APIView):
    """TODO (write API): not built yet."""


class CashFlowWrite(APIView):
    """TODO (write API): not built yet."""


class PositionWrite(APIView):
    """TODO (write API): not built yet."""


class WalletWrite(APIView):
    """TODO (write API): not built yet."""


class EquityWrite(APIView):
    """TODO (write API): not built yet."""


class MarkWrite(APIView):
    """TODO (write API): not built yet."""
