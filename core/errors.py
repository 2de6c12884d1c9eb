"""The one domain error, and the error of one value.

Services raise `TradebookError`; the API's exception handler and the commands turn it
into the documented error body or a clear message. `BadValue` is what the parsers of
amounts and times raise; the caller knows which field it was and says so."""


class BadValue(ValueError):
    """A value that cannot be taken as it is; the message says why."""


class TradebookError(Exception):
    """Carries errors as [{"index", "field", "message"}] and the HTTP status they mean."""

    def __init__(self, errors: list[dict] | str, *, status: int = 400, field: str | None = None):
        if isinstance(errors, str):
            errors = [{"index": None, "field": field, "message": errors}]
        self.errors = errors
        self.status = status
        super().__init__("; ".join(self.describe(e) for e in errors))

    @staticmethod
    def describe(error: dict) -> str:
        where = []
        if error.get("index") is not None:
            where.append(f"item {error['index']}")
        if error.get("field"):
            where.append(error["field"])
        return (": ".join([", ".join(where), error["message"]])) if where else error["message"]
