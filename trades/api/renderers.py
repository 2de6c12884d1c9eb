"""JSON out, fast (orjson), with every Decimal as its exact string."""

from decimal import Decimal

import orjson
from rest_framework import renderers

from core.amounts import decimal_str


def _default(value):
    if isinstance(value, Decimal):
        return decimal_str(value)
    if hasattr(value, "__str__"):  # lazy translation strings, ErrorDetail and the like
        return str(value)
    raise TypeError


class ExactJSONRenderer(renderers.BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
