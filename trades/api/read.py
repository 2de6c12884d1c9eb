"""read API: lists and details of SPEC 4.2"""

from rest_framework.views import APIView


class EventList(APIView):
    """TODO (read API): not built yet."""


class FillList(APIView):
    """TODO (read API): not built yet."""


class FillDetail(APIView):
    """TODO (read API): not built yet."""


class OrderList(APIView):
    """TODO (read API): not built yet."""


class OrderDetail(APIView):
    """TODO (read API): not built yet."""


class OrderFills(APIView):
    """TODO (read API): not built yet."""


class TradeList(APIView):
    """TODO (read API): not built yet."""


class TradeDetail(APIView):
    """TODO (read API): not built yet."""


class TradeFills(APIView):
    """TODO (read API): not built yet."""


class SignalList(APIView):
    """TODO (read API): not built yet."""


class CashFlowList(APIView):
    """TODO (read API): not built yet."""


class PositionSnapshotList(APIView):
    """TODO (read API): not built yet."""


class PositionLatest(APIView):
    """TODO (read API): not built yet."""


class WalletSnapshotList(APIView):
    """TODO (read API): not built yet."""


class WalletLatest(APIView):
    """TODO (read API): not built yet."""


class EquitySnapshotList(APIView):
    """TODO (read API): not built yet."""


class MarkList(APIView):
    """TODO (read API): not built yet."""
