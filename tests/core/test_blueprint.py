"""The API blueprint's JSON reader and dict_dumper, against the library behaviour they stand on."""

from datetime import datetime
from types import SimpleNamespace

import pytest
from flask import Flask
from marshmallow import Schema, fields, pre_dump
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest

from core.blueprint import SafeJSONParser, dict_dumper

DEEP = "[" * 100_000 + "]" * 100_000
LONG_INTEGER = '{"name": ' + "9" * 5000 + "}"


class Named(Schema):
    name = fields.Raw()


def _load(parser, body: str):
    app = Flask(__name__)
    with app.test_request_context("/", method="POST", data=body, content_type="application/json") as ctx:
        return parser.load_json(ctx.request, Named())


@pytest.mark.parametrize(
    ("body", "error"),
    [(DEEP, RecursionError), (LONG_INTEGER, ValueError)],
    ids=["nested-100000-deep", "5000-digit-integer"],
)
def test_webargs_lets_through_what_json_loads_raises_besides_a_decode_error(body, error):
    """webargs 8.7 turns a JSONDecodeError into 400, and nothing else: why SafeJSONParser exists."""
    with pytest.raises(error):
        _load(FlaskParser(), body)


@pytest.mark.parametrize("body", [DEEP, LONG_INTEGER, "{not json"], ids=["deep", "long-integer", "malformed"])
def test_every_unreadable_json_body_is_a_400_with_webargs_message(body):
    with pytest.raises(BadRequest) as raised:
        _load(SafeJSONParser(), body)
    assert raised.value.data["messages"] == {"json": ["Invalid JSON body."]}


def test_a_readable_json_body_is_loaded_as_it_was():
    assert _load(SafeJSONParser(), '{"name": 12}') == {"name": 12}


class Line(Schema):
    id = fields.Integer()
    label = fields.String(allow_none=True)
    price = fields.Integer(data_key="unit_price")
    at = fields.DateTime()


class Basket(Schema):
    id = fields.Integer()
    tags = fields.List(fields.String())
    lines = fields.List(fields.Nested(Line))
    first = fields.Nested(Line, allow_none=True)
    all = fields.Nested(Line, many=True)


def test_dict_dumper_gives_what_dump_gives_for_dicts_and_objects():
    line = {"id": 1, "label": None, "price": 4500, "at": datetime(2026, 1, 2, 3, 4, 5)}
    basket = {"id": "7", "tags": ["a", 3], "lines": [line, {"id": 2}], "first": None, "all": [line]}
    assert dict_dumper(Basket())(basket) == Basket().dump(basket)
    as_object = SimpleNamespace(id=3, label="Cabai", price=True)
    assert dict_dumper(Line())(as_object) == Line().dump(as_object)


def test_dict_dumper_refuses_a_schema_whose_nested_schema_has_a_dump_hook():
    class Hooked(Schema):
        id = fields.Integer()

        @pre_dump
        def _prepare(self, obj, **kwargs):
            return obj

    class Outer(Schema):
        inner = fields.List(fields.Nested(Hooked))

    with pytest.raises(ValueError, match="dump hooks"):
        dict_dumper(Outer())
