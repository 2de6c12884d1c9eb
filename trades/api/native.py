"""native formats: Bybit V5 and CCXT payloads posted as they are (SPEC 4.3)."""

from rest_framework.views import APIView


class BybitIngest(APIView):
    """TODO (native formats): not built yet."""


class CcxtIngest(APIView):
    """TODO (native formats): not built yet."""
