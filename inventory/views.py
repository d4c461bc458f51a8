"""Inventory pages: products, intake, stock, ledger, my contributions."""
import re

from flask import Blueprint, abort, send_from_directory

from inventory.photos import photo_dir

bp = Blueprint("inventory", __name__)

_PHOTO_NAME = re.compile(r"^\d+-[0-9a-f]{16}(-thumb)?\.webp$")


@bp.route("/media/products/<name>")
def product_photo(name: str):
    """A product photo; names are random, so they can be cached for long."""
    if not _PHOTO_NAME.match(name):
        abort(404)
    response = send_from_directory(photo_dir(), name, max_age=60 * 60 * 24 * 30)
    return response
