"""The rules of shared stock: products, contributions as lots, and the one way stock changes.

Stock counters (`stock.on_hand`, `stock.reserved`) change only in
inventory.services.reservations, by guarded SQL expressions in the same
transaction as the append-only movement rows that explain them. Rows are locked
in variant id order. Units leave lots first in, first out (received time, then
id), and every draw names its lot, so every unit sold traces to the member who
gave it.

The modules, each a part of it: records (what services pass between them, small
checks), products (units, products, variants), contributions (intake and
adjustments), reservations (the stock ledger: holding, releasing and consuming
stock), reading (counters, movements, lots, alerts) and reconciliation
(`flask stock check`). What other packages use is named here.
"""

from inventory.services.contributions import adjust, get_lot_in_group, get_member_in_group, receive_contribution
from inventory.services.products import (
    add_variant,
    create_product,
    define_unit,
    get_product_or_404,
    get_variant_in_group,
    get_variant_or_404,
    get_visible_product,
    group_units,
    manages_stock,
    products_query,
    read_kind,
    resolve_unit,
    set_product_photo,
    update_product,
    update_variant,
)
from inventory.services.reading import (
    alerts,
    lot_history,
    lot_units,
    lots_query,
    movements_query,
    my_lots,
    my_lots_query,
    stock_query,
    stock_rows,
)
from inventory.services.reconciliation import stock_check
from inventory.services.records import (
    DEFAULT_LABEL,
    MAX_LINES,
    UNCHANGED,
    InsufficientStock,
    LotDraw,
    StockLine,
    check_id,
    field_error,
    quantity_in,
    quantity_message,
)
from inventory.services.reservations import (
    Reservation,
    StockBusy,
    available,
    consume,
    lock_without_waiting,
    release,
    reserve,
)

__all__ = [
    "DEFAULT_LABEL",
    "MAX_LINES",
    "UNCHANGED",
    "InsufficientStock",
    "LotDraw",
    "Reservation",
    "StockBusy",
    "StockLine",
    "add_variant",
    "adjust",
    "alerts",
    "available",
    "check_id",
    "consume",
    "create_product",
    "define_unit",
    "field_error",
    "get_lot_in_group",
    "get_member_in_group",
    "get_product_or_404",
    "get_variant_in_group",
    "get_variant_or_404",
    "get_visible_product",
    "group_units",
    "lock_without_waiting",
    "lot_history",
    "lot_units",
    "lots_query",
    "manages_stock",
    "movements_query",
    "my_lots",
    "my_lots_query",
    "products_query",
    "quantity_in",
    "quantity_message",
    "read_kind",
    "receive_contribution",
    "release",
    "reserve",
    "resolve_unit",
    "set_product_photo",
    "stock_check",
    "stock_query",
    "stock_rows",
    "update_product",
    "update_variant",
]
