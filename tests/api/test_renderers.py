"""The renderer: every answer written, whatever integer it holds (orjson stops at 64 bits)."""

from decimal import Decimal

import orjson

from trades.api.renderers import ExactJSONRenderer


def render(data):
    return ExactJSONRenderer().render(data)


def test_integers_past_64_bits_are_written_with_all_their_digits():
    data = {"id": 10**30, "meta": {"note": 10**23, "list": [-(2**64), 1, Decimal("1.50"), None, True, "t"]}}
    text = render(data)
    assert text == (b'{"id":1000000000000000000000000000000,"meta":{"note":100000000000000000000000,'
                    b'"list":[-18446744073709551616,1,"1.5",null,true,"t"]}}')
    assert orjson.loads(text.replace(b"1000000000000000000000000000000", b"1"))["meta"]["list"][2] == "1.5"


def test_decimals_are_strings_and_extreme_ones_keep_their_exponent():
    assert render({"a": Decimal("0.000000000000000001"), "b": Decimal("1E+100"), "c": Decimal("-1E-90")}) == (
        b'{"a":"0.000000000000000001","b":"1E+100","c":"-1E-90"}')
