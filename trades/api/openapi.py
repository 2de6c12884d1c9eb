"""OpenAPI components of the write API, derived from the item table (trades.ingest.schema).

The validator and these components read the same `ITEM_TYPES`, so `/api/schema/`
describes exactly what the write endpoints accept. drf-spectacular sees one marker
serializer per request body (`items_body(...)`); the extension below turns it into
"one item or a list of them", registering one component per item type.
"""

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from trades.ingest import schema
from trades.ingest.schema import COMMON_FIELDS, ITEM_TYPES, TYPE_FIELD_NAME, Field, ItemType

AMOUNT_SCHEMA = {
    "oneOf": [
        {"type": "string", "pattern": r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?$", "maxLength": 100,
         "example": "0.123456789012345678"},
        {"type": "number"},
    ],
    "description": "An exact decimal: a JSON string, or a JSON number of up to 17 significant digits, stored and "
                   "returned exactly (as a string). Written in ASCII digits with an optional leading '-', one '.' "
                   "and an optional exponent (1e-8): spaces, '_', '+', other scripts' digits, NaN and Infinity "
                   "are a 400. At most 20 digits before the point and 18 after (numeric(38,18)); more is a 400.",
}
TIME_SCHEMA = {
    "anyOf": [
        {"type": "string", "format": "date-time", "maxLength": 64, "example": "2026-01-01T12:00:00.123Z"},
        {"type": "number", "description": "epoch seconds (below 10^11, a fraction allowed) or milliseconds",
         "example": 1767268800.123},
        {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "description": "an epoch number as text"},
    ],
    "description": "ISO 8601 (a naive time is UTC), or an epoch number: below 10^11 seconds (time.time(), a "
                   "fraction allowed), from 10^11 on milliseconds. A time before 2000-01-01 or more than a day "
                   "ahead of the server's clock is a 400 naming the field and saying how it was read.",
}


CODE_PATTERN = r"^(\S([\s\S]*\S)?)?$"  # empty, or no white space at either end


def field_schema(f: Field, enum_ref=None) -> dict:
    """The JSON schema of one field. Choice sets become components through `enum_ref` with
    their own names (drf-spectacular's enum hook would otherwise merge the `side` of fills,
    trades and positions into colliding names)."""
    if f.kind == schema.AMOUNT:
        out = {**AMOUNT_SCHEMA}
        if f.minimum == schema.POSITIVE:
            out["description"] += " Greater than 0."
        elif f.minimum == schema.NOT_NEGATIVE:
            out["description"] += " Not negative."
    elif f.kind == schema.TIME:
        out = {**TIME_SCHEMA}
    elif f.kind in (schema.TEXT, schema.CODE):
        out = {"type": "string"}
        if f.max_length:
            out["maxLength"] = f.max_length
        if f.required:
            out["minLength"] = 1
        if f.kind == schema.CODE:
            out["pattern"] = CODE_PATTERN
            out["description"] = "Compared exactly: no spaces at either end."
        if f.integer_ok:  # an exchange's id, often a JSON integer: taken as its digits
            out = {"oneOf": [out, {"type": "integer", "description": "taken as its digits"}],
                   "description": out.get("description", "") + " A JSON integer is taken as its digits."}
    elif f.kind == schema.CHOICE:
        out = {"type": "string", "enum": list(f.choices)}
    elif f.kind == schema.INT:
        out = {"type": "integer"}
        if f.choices:
            out["enum"] = list(f.choices)
    elif f.kind == schema.BOOL:
        out = {"type": "boolean"}
    elif f.kind == schema.OBJECT:
        out = {"type": "object", "additionalProperties": {}}
    elif f.kind == schema.FEES:
        out = {"type": "array", "items": {
            "type": "object", "required": ["amount"],
            "properties": {"amount": {**AMOUNT_SCHEMA}, "currency": field_schema(schema.FEE_CURRENCY)},
        }}
    else:  # pragma: no cover - the table only uses the kinds above
        raise ValueError(f.kind)
    if "enum" in out and enum_ref is not None:
        out = {"allOf": [enum_ref(f, out)]}
    if f.nullable:
        out["nullable"] = True
    if f.help:
        out["description"] = (f.help + " " + out.get("description", "")).strip()
    return out


def item_schema(item_type: ItemType, enum_ref=None) -> dict:
    properties = {TYPE_FIELD_NAME: {"type": "string", "enum": [item_type.name],
                                    "description": "The item's type; needed on /events/ only."}}
    for f in (*item_type.fields, *COMMON_FIELDS):
        properties[f.name] = field_schema(f, enum_ref)
    description = item_type.help
    if item_type.key_help:
        description += f" Idempotency key (per account): {item_type.key_help}."
    description += (" A field the type does not know is kept in `meta` (and in the journal) and named in the "
                    "answer's `warnings`, with the known field one typo away.")
    return {
        "type": "object",
        "description": description,
        "properties": properties,
        "required": [f.name for f in item_type.fields if f.required],
        "additionalProperties": True,
    }


def _register(auto_schema, item_type: ItemType) -> dict:
    def enum_ref(f: Field, enum_schema: dict) -> dict:
        name = item_type.component.removesuffix("Item") + f.name.title().replace("_", "") + "Choice"
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA,
                                      object=f"tradebook.choice.{name}", schema=enum_schema)
        auto_schema.registry.register_on_missing(component)
        return component.ref

    component = ResolvedComponent(name=item_type.component, type=ResolvedComponent.SCHEMA,
                                  object=f"tradebook.item.{item_type.name}",
                                  schema=item_schema(item_type, enum_ref))
    auto_schema.registry.register_on_missing(component)
    return component.ref


class ItemsBody(serializers.Serializer):
    """Marker: a request body of one item or a list of items of `item_types`."""

    item_types: tuple[str, ...] = ()
    description = ""
    lines = False  # NDJSON: the schema is the one of each line


def items_body(name: str, *item_types: str, description: str = "", lines: bool = False) -> type[ItemsBody]:
    return type(name, (ItemsBody,), {"item_types": item_types, "description": description, "lines": lines})


class ItemsBodyExtension(OpenApiSerializerExtension):
    target_class = ItemsBody
    match_subclasses = True

    def get_name(self, auto_schema, direction):
        target = self.target if isinstance(self.target, type) else type(self.target)
        return target.__name__

    def map_serializer(self, auto_schema, direction):
        target = self.target if isinstance(self.target, type) else type(self.target)
        refs = [_register(auto_schema, ITEM_TYPES[name]) for name in target.item_types]
        one = refs[0] if len(refs) == 1 else {"anyOf": refs}
        if target.lines:
            return {**one, "description": target.description}
        return {"oneOf": [one, {"type": "array", "items": one, "minItems": 1}],
                "description": target.description or "One item or a JSON list of items."}


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}],
                      "description": "The item's key as posted; the server's id for items without a key."})
class ResultIdField(serializers.Field):
    pass


class WriteResultItem(serializers.Serializer):
    index = serializers.IntegerField(help_text="The item's position in the request (from 0).")
    status = serializers.ChoiceField(choices=["created", "duplicate", "updated"])
    id = ResultIdField()


class WriteCounts(serializers.Serializer):
    created = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    updated = serializers.IntegerField()


class WriteWarning(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="The item's position in the request.")
    field = serializers.CharField(allow_null=True, help_text="The field its type does not know, as posted.")
    message = serializers.CharField(help_text="What became of it (kept in meta) and the known field one typo "
                                              "away, if any: e.g. 'feee' → 'fee'.")


class WriteResult(serializers.Serializer):
    results = WriteResultItem(many=True)
    counts = WriteCounts()
    warnings = WriteWarning(many=True, required=False,
                            help_text="Present when an item carried fields its type does not know: each is kept "
                                      "in the row's meta, not booked (SPEC 4.1 rule 3).")


class ErrorItem(serializers.Serializer):
    index = serializers.IntegerField(allow_null=True, help_text="The item's position; null for the request.")
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ErrorBody(serializers.Serializer):
    errors = ErrorItem(many=True)


def write_responses() -> dict:
    return {
        200: OpenApiResponse(WriteResult, description="Nothing new: every item was a duplicate or an update."),
        201: OpenApiResponse(WriteResult, description="At least one item was created."),
        400: OpenApiResponse(ErrorBody, description="Invalid items: every error, nothing written."),
        401: OpenApiResponse(ErrorBody, description="No or an invalid token."),
        404: OpenApiResponse(ErrorBody, description="An account (or a referenced trade/fill) that this token "
                                                    "cannot see; nothing written."),
        409: OpenApiResponse(ErrorBody, description="A key exists with different booked content (the fields "
                                                    "are named); nothing of the request written."),
        413: OpenApiResponse(ErrorBody, description="Over API_MAX_ITEMS items or API_MAX_BYTES bytes."),
        429: OpenApiResponse(ErrorBody, description="Over the token's rate; see Retry-After."),
    }

