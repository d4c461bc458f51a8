"""Demo data for Blitar: three groups, their members, products, stock, orders, a made-to-order job
(demo_commissions), and a login for each kind of user."""

from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

import demo_calendar
import demo_catalog
import demo_commissions
import demo_harvests
import demo_history
from accounts.models import User
from accounts.services import register_user
from core.extensions import db
from core.phone import normalize_phone
from core.types import clock_at, utcnow
from groups.models import Group, GroupKind, Member, Role
from inventory.models import Product, Variant
from marketplace import services as market
from marketplace.models import Order, PaymentMethod
from payments.services import recorded, refunds
from revenue.services import payouts

DEMO_PASSWORD = "pasar-demo"

ADMIN = ("admin@pasar.test", "Admin Kabupaten Blitar")
BUYER = ("pembeli@pasar.test", "Bu Ratna (pembeli)", "0813-3000-1111")

GROUPS = [
    {
        "group": dict(
            name="KUB Jahit Sumberejo",
            kind=GroupKind.business,
            village="Sumberejo",
            district="Sanankulon",
            description="Ibu-ibu rumah tangga yang dilatih menjahit; membuat seragam sekolah dan daster batik.",
            pickup_point="Balai Desa Sumberejo, Sanankulon",
            pickup_hours="Senin–Sabtu 08.00–15.00",
            open_days="1111110",  # as demo_calendar.OPEN_DAYS sells
            bank_name="BRI Unit Sanankulon",
            bank_account_number="0123-01-004567-50-1",
            bank_account_holder="KUB Jahit Sumberejo",
        ),
        "coordinator": ("kub.sumberejo@pasar.test", "Sri Wahyuni", "0812-3300-0101"),
        "members": [
            ("Siti Aminah", "0812-3300-0102"),
            ("Nur Hidayah", "0812-3300-0103"),
            ("Endang Lestari", None),
            ("Tutik Handayani", "0812-3300-0105"),
            ("Sumiati", "0812-3300-0102"),
        ],
        "treasurer": "Nur Hidayah",
    },
    {
        "group": dict(
            name="Kelompok Tani Cabai Makmur",
            kind=GroupKind.farmer,
            village="Gembongan",
            district="Ponggok",
            description="Petani cabai rawit yang memasarkan panen bersama.",
            pickup_point="Gudang kelompok, Dusun Gembongan",
            pickup_hours="Setiap hari 06.00–10.00",
            open_days="1111111",  # as demo_calendar.OPEN_DAYS sells
            bank_name="Bank Jatim Cabang Blitar",
            bank_account_number="0061234567",
            bank_account_holder="Poktan Cabai Makmur",
        ),
        "coordinator": ("cabai.ponggok@pasar.test", "Pak Suyono", "0812-3300-0201"),
        "members": [
            ("Pak Darmaji", "0812-3300-0202"),
            ("Bu Katini", "0812-3300-0203"),
            ("Pak Slamet", "0812-3300-0204"),
            ("Pak Mujiono", None),
            ("Bu Suparmi", "0812-3300-0206"),
            ("Pak Wagiman", "0812-3300-0207"),
            ("Pak Sutrisno", "0812-3300-0208"),
        ],
        "treasurer": "Bu Katini",
    },
    {
        "group": dict(
            name="Kelompok Tani Belimbing Sari",
            kind=GroupKind.farmer,
            village="Karangbendo",
            district="Ponggok",
            description="Petani belimbing; grade A dan B dipanen bersama dan dijual ke pasar lokal.",
            pickup_point="Rumah Pak Harjo, Karangbendo",
            pickup_hours="Selasa, Kamis, Sabtu 07.00–11.00",
            open_days="0101010",  # as demo_calendar.OPEN_DAYS sells
        ),
        "coordinator": ("belimbing.ponggok@pasar.test", "Pak Harjo", "0812-3300-0301"),
        "members": [
            ("Bu Sulastri", "0812-3300-0302"),
            ("Pak Paiman", "0812-3300-0303"),
            ("Pak Kusnadi", "0812-3300-0304"),
            ("Bu Warsini", None),
            ("Pak Jumadi", "0812-3300-0306"),
            ("Bu Rukmini", "0812-3300-0307"),
            ("Pak Gito", "0812-3300-0308"),
        ],
        "treasurer": "Bu Sulastri",
    },
]

# A member who logs in by phone number (no e-mail), as invited members do.
PHONE_MEMBER = ("KUB Jahit Sumberejo", "Siti Aminah")
# Her sister, on the same phone: the phone is Siti's login, so Sumiati logs in with her login name.
SHARED_PHONE_MEMBER = ("KUB Jahit Sumberejo", "Sumiati", "sumiati")


def _user(email: str, name: str, phone: str | None = None) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = register_user(email=email, password=DEMO_PASSWORD, name=name, phone=phone)
    return user


def seed() -> list[str]:
    """Create what is missing of the demo; running it twice changes nothing.

    The groups began months ago and listed their products before the two months of history (demo_history);
    then come the stock members handed over in the last days and the demo buyer's orders of today.
    """
    today = market.today_wib()
    with clock_at(demo_calendar.founded(today)):
        lines = _seed_groups()
    listed = demo_catalog.list_products(demo_calendar.listed(today))
    lines.append(f"products     {len(listed)} new, each with its photo")
    buyer = db.session.scalar(select(User).where(User.email == BUYER[0]))
    lines.append(f"history      {demo_history.load(buyer, today, DEMO_PASSWORD)}")
    lines.append(f"stock        {demo_catalog.receive_todays_stock(listed)} new lots, handed over in the last days")
    lines.append(f"orders       {_seed_orders()} new checkouts (orders in every status, from {BUYER[0]})")
    lines.append(f"payouts      {_seed_payouts()} new")
    lines.append(demo_commissions.seed(DEMO_PASSWORD))
    lines.append(f"harvests     {demo_harvests.seed()}")
    return lines


def _seed_groups() -> list[str]:
    """The logins, the groups and their members."""
    admin = _user(*ADMIN)
    admin.is_admin = True
    _user(*BUYER)
    lines = [f"admin        {ADMIN[0]} / {DEMO_PASSWORD}", f"buyer        {BUYER[0]} / {DEMO_PASSWORD}"]
    for spec in GROUPS:
        coordinator = _user(*spec["coordinator"])
        fields = spec["group"]
        group = db.session.scalar(select(Group).where(Group.name == fields["name"], Group.village == fields["village"]))
        if group is None:
            group = Group(created_by_id=coordinator.id, verified=True, **fields)
            db.session.add(group)
            db.session.add(
                Member(
                    group=group,
                    user_id=coordinator.id,
                    name=coordinator.name,
                    phone=coordinator.phone,
                    email=coordinator.email,
                    role=Role.coordinator,
                )
            )
            for name, phone in spec["members"]:
                role = Role.treasurer if name == spec["treasurer"] else Role.member
                db.session.add(
                    Member(group=group, name=name, phone=normalize_phone(phone) if phone else None, role=role)
                )
            db.session.flush()
        lines.append(f"coordinator  {coordinator.email} / {DEMO_PASSWORD}  ({group.name})")
    group_name, member_name = PHONE_MEMBER
    member = db.session.scalar(select(Member).join(Group).where(Group.name == group_name, Member.name == member_name))
    if member.user_id is None:
        user = db.session.scalar(select(User).where(User.phone == member.phone))
        if user is None:
            user = User(name=member.name, phone=member.phone)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
        member.user_id = user.id
    lines.append(f"member       {member.phone} (phone) / {DEMO_PASSWORD}  ({group_name})")
    group_name, member_name, username = SHARED_PHONE_MEMBER
    member = db.session.scalar(select(Member).join(Group).where(Group.name == group_name, Member.name == member_name))
    if member.user_id is None:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(name=member.name, username=username)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
        member.user_id = user.id
    lines.append(f"member       {username} (login name, shares {member.phone}) / {DEMO_PASSWORD}  ({group_name})")
    db.session.flush()
    return lines


# The demo buyer's checkouts, each under its own Idempotency-Key so that a rerun finds it instead of buying again:
# the lines (group, product, variant, quantity), how it is paid and fulfilled, and what each group's coordinator
# then does with that group's order. Together they leave orders in every status.
ORDERS = [
    {
        "key": "demo-order-1",
        "payment_method": "cash",
        "fulfilment": {"method": "pickup"},
        "lines": [
            ("Kelompok Tani Cabai Makmur", "Cabai rawit merah", "Grade A", "2"),
            ("Kelompok Tani Belimbing Sari", "Belimbing", "Grade A", "3"),
        ],
        "steps": {
            "Kelompok Tani Cabai Makmur": ("confirm", "ready", "handover"),
            "Kelompok Tani Belimbing Sari": ("confirm",),
        },
    },
    {
        "key": "demo-order-2",
        "payment_method": "transfer",
        "fulfilment": {
            "method": "delivery",
            "address": "SDN Sumberejo 1, Jl. Raya Sanankulon, Blitar",
            "note": "Untuk seragam kelas 1",
        },
        "lines": [
            ("KUB Jahit Sumberejo", "Seragam sekolah SD", "M", "4"),
            ("KUB Jahit Sumberejo", "Daster batik", "Biru", "1"),
        ],
        "steps": {"KUB Jahit Sumberejo": ("confirm", "transfer_half", "ready")},
    },
    {
        "key": "demo-order-3",
        "payment_method": "cash",
        "fulfilment": {"method": "pickup"},
        "lines": [("Kelompok Tani Cabai Makmur", "Gula kelapa", "standard", "1.5")],
        "steps": {},
    },
    {
        "key": "demo-order-4",
        "payment_method": "transfer",
        "fulfilment": {"method": "pickup"},
        "lines": [("KUB Jahit Sumberejo", "Daster batik", "Cokelat", "1")],
        "steps": {"KUB Jahit Sumberejo": ("transfer_all", "cancel", "refund")},
    },
    {
        "key": "demo-order-5",
        "payment_method": "card",
        "fulfilment": {"method": "pickup"},
        "lines": [("Kelompok Tani Belimbing Sari", "Belimbing", "Grade B", "2")],
        "steps": {"Kelompok Tani Belimbing Sari": ("expire",)},
    },
    {
        "key": "demo-order-6",
        "payment_method": "cash",
        "fulfilment": {"method": "pickup"},
        "lines": [("KUB Jahit Sumberejo", "Seragam sekolah SD", "S", "3")],  # sewn by Siti Aminah
        "steps": {"KUB Jahit Sumberejo": ("confirm", "ready", "handover")},
    },
]

# Money paid out to members from what their sales earned them (group, member, amount, method, reference, key),
# so each one's page shows what they earned, were paid and are still owed.
PAYOUTS = [
    ("KUB Jahit Sumberejo", "Siti Aminah", 100000, "cash", "Kas KUB no. 001", "demo-payout-1"),
    ("Kelompok Tani Cabai Makmur", "Pak Darmaji", 50000, "transfer", "BRI 0202", "demo-payout-2"),
]


def _variant_id(group_name: str, product_name: str, label: str) -> int:
    return db.session.scalar(
        select(Variant.id)
        .join(Product, Product.id == Variant.product_id)
        .join(Group, Group.id == Product.group_id)
        .where(Group.name == group_name, Product.name == product_name, Variant.label == label)
    )


def _coordinator(group: Group) -> User:
    return db.session.scalar(
        select(User)
        .join(Member, Member.user_id == User.id)
        .where(Member.group_id == group.id, Member.role == Role.coordinator)
    )


def _seed_orders() -> int:
    """Place the demo buyer's checkouts through the marketplace services and move each order along."""
    buyer = db.session.scalar(select(User).where(User.email == BUYER[0]))
    created = 0
    for spec in ORDERS:
        lines = [{"variant_id": _variant_id(*line[:3]), "quantity": line[3]} for line in spec["lines"]]
        with _card_payments_shown(spec["payment_method"] == "card"):
            checkout, new = market.place_checkout(buyer, lines, spec["fulfilment"], spec["payment_method"], spec["key"])
        if not new:
            continue  # placed by an earlier run, and moved along then
        created += 1
        for order in checkout.orders:
            group = db.session.get(Group, order.group_id)
            coordinator = _coordinator(group)
            for step in spec["steps"].get(group.name, ()):
                _step(coordinator, order, step)
        db.session.flush()
    return created


def _seed_payouts() -> int:
    """Pay members part of what they earned, as a coordinator would; each payout once (its Idempotency-Key)."""
    created = 0
    for group_name, member_name, amount, method, reference, key in PAYOUTS:
        group = db.session.scalar(select(Group).where(Group.name == group_name))
        member = db.session.scalar(select(Member).where(Member.group_id == group.id, Member.name == member_name))
        _payout, new = payouts.pay_out(
            _coordinator(group),
            group,
            member_id=member.id,
            amount=amount,
            method=method,
            reference=reference,
            idempotency_key=key,
        )
        created += new
        db.session.flush()
    return created


@contextmanager
def _card_payments_shown(needed: bool):
    """The demo's unpaid card order is placed as if card payments were set up (it only expires; nothing is charged)."""
    config = current_app.config
    keys = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY")
    saved = {key: config.get(key) for key in keys}
    if needed and not all(saved.values()):
        config.update({"STRIPE_SECRET_KEY": "sk_demo_placeholder", "STRIPE_PUBLISHABLE_KEY": "pk_demo_placeholder"})
    try:
        yield
    finally:
        config.update(saved)


def _step(coordinator: User, order: Order, step: str) -> None:
    if step == "confirm":
        market.confirm(coordinator, order)
    elif step == "ready":
        market.mark_ready(coordinator, order)
    elif step == "handover":  # cash at pickup, completed in the same step
        recorded.complete_at_handover(coordinator, order, order.total - order.paid)
    elif step in ("transfer_half", "transfer_all"):
        amount = order.total // 2 if step == "transfer_half" else order.total
        recorded.record_payment(
            coordinator, order, recorded.OfflinePayment(PaymentMethod.transfer, amount, reference=f"BRI {order.id:04d}")
        )
    elif step == "refund":
        refunds.refund_order(
            coordinator,
            order,
            refunds.RequestedRefund(
                order.paid - order.refunded, "Pesanan dibatalkan, uang dikembalikan", PaymentMethod.transfer
            ),
        )
    elif step == "cancel":
        market.cancel(coordinator, order, "Pembeli minta dibatalkan lewat WhatsApp")
    elif step == "expire":  # as if the payment window had passed without a card payment
        order.expires_at = utcnow() - timedelta(minutes=1)
        db.session.flush()
        market.expire_orders()
