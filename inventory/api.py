"""Inventory API: products, variants, units, contributions, stock, adjustments, movements."""
from flask_smorest import Blueprint

blp = Blueprint("inventory_api", __name__, url_prefix="/api/v1", description="Products and stock")
