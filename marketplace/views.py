"""Marketplace pages: catalog, storefronts, cart, checkout, orders."""
from flask import Blueprint

from marketplace import services  # noqa: F401  (registers the models)

bp = Blueprint("marketplace", __name__)
