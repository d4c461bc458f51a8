"""Marketplace API: checkouts and orders."""
from flask_smorest import Blueprint

blp = Blueprint("marketplace_api", __name__, url_prefix="/api/v1", description="Checkout and orders")
