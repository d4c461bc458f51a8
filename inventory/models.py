"""Products and variants, a group's units, lots (member contributions), stock counters and the stock ledger."""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.quantity import Quantity
from core.text import fold
from core.types import StrEnumType, UtcDateTime, utcnow
from core.validation import NAME_MAX_LENGTH


class ProductKind(StrEnum):
    produce = "produce"
    garment = "garment"
    processed = "processed"


class ProductStatus(StrEnum):
    active = "active"
    hidden = "hidden"
    archived = "archived"


class MovementKind(StrEnum):
    intake = "intake"
    reservation = "reservation"
    release = "release"
    sale = "sale"
    adjustment = "adjustment"
    return_ = "return"


class AdjustmentReason(StrEnum):
    spoilage = "spoilage"
    damage = "damage"
    count = "count"  # stock opname
    return_ = "return"


class GroupUnit(db.Model):
    """A unit a group defines for itself, such as `keranjang` or `tandan`."""

    __tablename__ = "group_units"
    __table_args__ = (UniqueConstraint("group_id", "code", name="uq_group_units_group_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(60))
    whole: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    # The name folded for search (no case, no accents), kept in step by the listener below.
    search_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH * 2), default="", server_default="", index=True)
    kind: Mapped[ProductKind] = mapped_column(StrEnumType(ProductKind, "product_kind"))
    unit: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ProductStatus] = mapped_column(
        StrEnumType(ProductStatus, "product_status"), default=ProductStatus.active, index=True
    )
    photo: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    variants: Mapped[list["Variant"]] = relationship(back_populates="product", order_by="Variant.id")

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.name!r}>"


class Variant(db.Model):
    """A sellable kind of a product (grade A, size M, colour blue) with its own price and stock."""

    __tablename__ = "variants"
    __table_args__ = (
        UniqueConstraint("product_id", "label", name="uq_variants_product_label"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    label: Mapped[str] = mapped_column(String(60))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    low_stock_threshold: Mapped[Decimal | None] = mapped_column(Quantity)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    product: Mapped[Product] = relationship(back_populates="variants")
    stock: Mapped["Stock"] = relationship(back_populates="variant", uselist=False)


class Stock(db.Model):
    """The one counter row per variant, changed only by guarded SQL beside a movement row."""

    __tablename__ = "stock"
    __table_args__ = (CheckConstraint("reserved >= 0 AND on_hand >= reserved", name="reserved_within_on_hand"),)

    # Keyed by the variant, so locking in id order is locking in variant order.
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), primary_key=True, autoincrement=False)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))

    variant: Mapped[Variant] = relationship(back_populates="stock")

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class Lot(db.Model):
    """Goods one member handed to the group: what they gave and what of it remains."""

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
        Index("ix_lots_fifo", "variant_id", "received_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    remaining: Mapped[Decimal] = mapped_column(Quantity)
    grade: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    best_before: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    variant: Mapped[Variant] = relationship()


class Movement(db.Model):
    """One append-only line of the stock ledger; counters always equal the sum of these."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        CheckConstraint("on_hand_delta <> 0 OR reserved_delta <> 0", name="moves_something"),
        Index("ix_stock_movements_variant", "variant_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"))
    kind: Mapped[MovementKind] = mapped_column(StrEnumType(MovementKind, "movement_kind"))
    on_hand_delta: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    reserved_delta: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0))
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lots.id"), index=True)
    reason: Mapped[AdjustmentReason | None] = mapped_column(StrEnumType(AdjustmentReason, "adjustment_reason"))
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    lot: Mapped[Lot | None] = relationship()


@event.listens_for(Product, "before_insert")
@event.listens_for(Product, "before_update")
def _fold_product_name(_mapper, _connection, product: Product) -> None:
    product.search_name = fold(product.name)


# The ledger is append-only in the database itself, not only by convention.
APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER stock_movements_no_update BEFORE UPDATE ON stock_movements "
    "BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END",
    "CREATE TRIGGER stock_movements_no_delete BEFORE DELETE ON stock_movements "
    "BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END",
]
APPEND_ONLY_POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION stock_movements_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'stock_movements is append-only'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER stock_movements_no_update BEFORE UPDATE OR DELETE ON stock_movements "
    "FOR EACH ROW EXECUTE FUNCTION stock_movements_append_only()",
]

for _statement in APPEND_ONLY_SQLITE:
    event.listen(Movement.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in APPEND_ONLY_POSTGRESQL:
    event.listen(Movement.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
