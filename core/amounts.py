"""Amounts: money and quantities as exact decimals (SPEC 3).

One place for the rules of an amount, used by the API, the importers, the books and
the model field alike: what a posted amount may be, its canonical text, and the one
rounding rule of the books (18 places, half-even: what numeric(38,18) stores).
"""

import re
from decimal import Context, Decimal, InvalidOperation

from core.errors import BadValue

AMOUNT_PLACES = 18
AMOUNT_INTEGER_DIGITS = 20  # numeric(38,18): 20 digits before the point
AMOUNT_QUANTUM = Decimal(1).scaleb(-AMOUNT_PLACES)
AMOUNT_LIMIT = Decimal(10) ** AMOUNT_INTEGER_DIGITS
# Python's default context keeps 28 digits; numeric(38,18) and the products the books
# form (price × quantity) need more. Use this context for any amount arithmetic.
AMOUNT_CONTEXT = Context(prec=80)

# SPEC 3: ASCII digits, an optional leading '-', one '.', an optional exponent. Nothing else:
# no spaces, '_', '+', other scripts' digits (Python's Decimal takes them all), NaN or Infinity.
NUMBER_TEXT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
# Far more than numeric(38,18) can hold, written in any style (zeros, an exponent): a longer text
# is refused before it is read, so no posted number costs more than a bounded amount of work.
MAX_NUMBER_TEXT = 100
NUMBER_RULE = ("write it in ASCII digits with an optional leading '-', one '.' and an optional exponent "
               "(e.g. \"-0.5\" or \"1e-8\"): no spaces, '_', '+', NaN or Infinity")


def parse_amount(value) -> Decimal:
    """A JSON string or number (already a Decimal when parsed exactly) -> Decimal.

    Rejects floats' and strings' non-numbers (spaces, '_', '+', other digits, NaN/Infinity: SPEC 3),
    more than 18 decimal places and more than 20 integer digits: numeric(38,18) must hold it exactly.
    """
    kind = type(value)
    if kind is str:
        # The common case, three times per posted fill: a plain decimal string.
        if not value:
            raise BadValue("must be a decimal number, not an empty string")
        if len(value) > MAX_NUMBER_TEXT:
            raise BadValue(f"is {len(value)} characters long: a decimal number here has at most {MAX_NUMBER_TEXT}")
        if NUMBER_TEXT.fullmatch(value) is None:
            raise BadValue(f"{value!r} is not a decimal number: {NUMBER_RULE}")
        try:
            number = Decimal(value)
        except InvalidOperation:  # an exponent past what Decimal holds at all
            raise BadValue(f"{value!r} has an exponent out of any range numeric(38,18) holds")
        # Without an exponent the places are the digits after the point: no digit tuple needed.
        plain = "e" not in value and "E" not in value
        places = len(value) - value.index(".") - 1 if plain and "." in value else (0 if plain else None)
        return _checked_amount(number, places)
    if kind is bool or value is None:
        raise BadValue("must be a decimal number")
    if isinstance(value, float):
        # A float here means the body was not parsed exactly; read its shortest text, never guess.
        return parse_amount(repr(value))
    if isinstance(value, int):
        if value.bit_length() > 80:  # past 10^24: far beyond numeric(38,18), refused before any work
            raise BadValue(f"is too large: at most {AMOUNT_INTEGER_DIGITS} digits before the decimal point")
        return _checked_amount(Decimal(value), 0)
    if isinstance(value, Decimal):
        return _checked_amount(value, None)
    raise BadValue("must be a decimal number (a JSON string or number)")


def _checked_amount(number: Decimal, places: int | None) -> Decimal:
    """`number` if numeric(38,18) holds it exactly; `places` is its count of decimal places
    when known from its text (None: read it from the number)."""
    if not number.is_finite():
        raise BadValue("must be a finite number")
    if number and number.adjusted() >= AMOUNT_INTEGER_DIGITS:  # checked first: cheap at any exponent
        raise BadValue(f"is too large: at most {AMOUNT_INTEGER_DIGITS} digits before the decimal point")
    if places is None:
        places = -number.as_tuple().exponent
    if places > AMOUNT_PLACES and number != number.quantize(AMOUNT_QUANTUM, rounding="ROUND_DOWN",
                                                            context=AMOUNT_CONTEXT):
        raise BadValue(f"has more than {AMOUNT_PLACES} decimal places")
    if number.copy_abs() >= AMOUNT_LIMIT:
        raise BadValue(f"is too large: at most {AMOUNT_INTEGER_DIGITS} digits before the decimal point")
    return Decimal(0) if not number else number  # folds -0 to 0


def decimal_str(value: Decimal) -> str:
    """Canonical text of a decimal: no exponent, no trailing zeros ('1.5', '100', '0')."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def q18(value: Decimal) -> Decimal:
    """The one rounding rule: 18 places, half-even (what numeric(38,18) stores)."""
    return value.quantize(AMOUNT_QUANTUM, context=AMOUNT_CONTEXT)
