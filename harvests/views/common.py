"""What the harvest pages share: their blueprint, the labels of statuses and rules, a service's errors beside
the right inputs, buyers' names, and the template helpers the product and catalog pages use."""

import uuid

from flask import Blueprint, current_app, flash
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from accounts.models import User
from core.errors import AppError
from core.extensions import db
from groups.models import Group
from harvests.models import Harvest, HarvestStatus, PreOrderStatus, ShortfallRule
from inventory.models import Variant
from marketplace.catalog import catalog_version

bp = Blueprint("harvests", __name__)

PER_PAGE = 30

PRE_ORDER_LABELS = {
    PreOrderStatus.placed: _l("waiting for the harvest"),
    PreOrderStatus.filled: _l("filled in full"),
    PreOrderStatus.part_filled: _l("filled in part"),
    PreOrderStatus.unfilled: _l("not filled"),
    PreOrderStatus.cancelled: _l("cancelled"),
}
RULE_LABELS = {
    ShortfallRule.first_come: _l("first come, first served"),
    ShortfallRule.pro_rata: _l("pro rata"),
}


@bp.app_context_processor
def _labels():
    return {"pre_order_labels": PRE_ORDER_LABELS, "rule_labels": RULE_LABELS}


def new_key() -> str:
    """A fresh idempotency key for a form: the same form sent twice (a double tap) is answered once."""
    return str(uuid.uuid4())


def open_harvest_products() -> frozenset[int]:
    """The products with a harvest open for pre-orders (of verified groups): the catalog's cards show a
    "Pre-order" badge on them. Announcing, closing, cancelling and recording a harvest move the catalog's
    version (records.moved_catalog), as a group's verification does, so the set is kept by that version and
    read again only when it moves, and a kept catalog page is never stale about it."""
    global _open_products
    version = (current_app.config["SQLALCHEMY_DATABASE_URI"], catalog_version())
    kept_version, products = _open_products
    if kept_version != version:
        products = frozenset(
            db.session.scalars(
                select(Variant.product_id)
                .join(Harvest, Harvest.variant_id == Variant.id)
                .join(Group, Group.id == Harvest.group_id)
                .where(Harvest.status == HarvestStatus.announced, Group.verified.is_(True))
                .distinct()
            )
        )
        _open_products = (version, products)
    return products


_open_products: tuple = (None, frozenset())  # ((database, catalog version), products)


def show_errors(form, error: AppError, fields: dict | None = None) -> None:
    """A service's field errors beside the right inputs (`fields` renames a service's key to a form field, or to
    a list the template shows beside a row); the message on top when no input shows one or it is not a 422."""
    fields = fields or {}
    placed = False
    for key, messages in error.errors.items():
        messages = [str(m) for m in messages] if isinstance(messages, (list, tuple)) else [str(messages)]
        target = fields.get(key, key)
        if isinstance(target, list):
            target.extend(messages)
            placed = True
        elif isinstance(target, str) and target in form:
            form[target].errors = list(form[target].errors) + messages
            placed = True
        else:
            for message in messages:
                flash(message, "error")
    if not placed or error.code != 422:
        flash(str(error.message), "error")


def user_names(ids) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())
