"""The list shape every endpoint shares: {items, page, per_page, total}."""

from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from core.extensions import db

MAX_PER_PAGE = 100


class PageQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_PER_PAGE))


def paginate(query, page: int = 1, per_page: int = 50, scalars: bool = True) -> dict:
    """Run `query` for one page and count the whole list."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page))
    items = list(rows.scalars() if scalars else rows)
    return {"items": items, "page": page, "per_page": per_page, "total": total}


_page_schemas: dict = {}


def page_of(item_schema: type[Schema]) -> type[Schema]:
    """A response schema for one page of `item_schema` items."""
    if item_schema not in _page_schemas:
        name = item_schema.__name__.removesuffix("Schema").removesuffix("Out") + "Page"
        _page_schemas[item_schema] = type(
            name,
            (Schema,),
            {
                "items": fields.List(fields.Nested(item_schema)),
                "page": fields.Integer(),
                "per_page": fields.Integer(),
                "total": fields.Integer(),
            },
        )
    return _page_schemas[item_schema]
