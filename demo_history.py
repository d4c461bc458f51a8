"""Two months of the demo groups' life before the current month, through the same services as the site.

Every step runs at its own moment, in the order of those moments (core.types.clock_at): members hand over
harvest and sewing, buyers order from one group or several, coordinators confirm, pack and take the money (cash
at pickup, or a transfer recorded before it), a few orders are cancelled or refunded, spoiled produce is
written off, members are paid and put money in savings. The earlier month is settled, which freezes every
member's statement; the later one is left for the coordinator to close. Choices come from a fixed seed, so
every load tells the same story, set in the two months before the one it is loaded in. Its calendar (the two
months, the days each group opens, the timeline that runs the steps) is demo_calendar.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from sqlalchemy import func, select

from accounts.models import User
from accounts.services import register_user
from core import ledger
from core.extensions import db
from core.types import utcnow
from demo_calendar import INTAKE, Timeline, at, month_name, months, next_open
from demo_catalog import BELIMBING, CABAI, CATALOG, KUB, Item, coordinator_of, group_named, members_by_name
from groups.models import Role
from inventory import services as stock
from inventory.models import Lot, Product, Variant
from marketplace import services as market
from marketplace.models import Order, OrderStatus, PaymentMethod
from payments.services import recorded, refunds
from revenue.models import Settlement
from revenue.services import accrual, payouts, savings
from revenue.services.settlements import settle

FUND_PERCENT = {KUB: "10", CABAI: "5", BELIMBING: "5"}  # the group fund's share of each sale (kas kelompok)
MONTHLY_SAVINGS = {KUB: 20000, CABAI: 10000}  # simpanan wajib, paid at the monthly meeting


@dataclass(frozen=True)
class Buyer:
    """A buyer of the history: what they buy, on which weekdays, how they pay and take it."""

    email: str
    name: str
    phone: str
    items: dict  # group -> the product names they buy there
    days: tuple[int, ...]  # weekdays they order on
    payment: str  # cash, transfer, or either
    scale: int = 1  # how many households' worth they take
    address: str | None = None  # delivered there; None: picked up


BUYERS = [
    Buyer("warung.tin@pasar.test", "Warung Makan Bu Tin", "0813-3000-2201",
          {CABAI: ("Cabai rawit merah", "Cabai keriting", "Tomat", "Bawang merah", "Telur ayam kampung",
                   "Kacang panjang", "Cabai rawit hijau")}, (0, 3), "cash", 3),
    Buyer("agus.pasarlegi@pasar.test", "Pak Agus (Pasar Legi)", "0813-3000-2202",
          {BELIMBING: ("Belimbing", "Jambu kristal", "Pepaya california", "Pisang raja", "Alpukat mentega"),
           CABAI: ("Cabai merah besar", "Jagung manis", "Tomat")}, (1, 5), "cash", 4),
    Buyer("sdn.sumberejo1@pasar.test", "SDN Sumberejo 1", "0813-3000-2203",
          {KUB: ("Seragam sekolah SD", "Seragam pramuka")}, (2,), "transfer", 4,
          "SDN Sumberejo 1, Jl. Raya Sanankulon, Blitar"),
    Buyer("kendilmas@pasar.test", "Toko Oleh-oleh Kendil Mas", "0813-3000-2204",
          {BELIMBING: ("Sari belimbing", "Manisan belimbing", "Dodol belimbing", "Parsel belimbing 3 kg"),
           CABAI: ("Sambal pecel", "Gula kelapa"), KUB: ("Tas belanja kain", "Kemeja batik pria")},
          (3,), "transfer", 3, "Toko Kendil Mas, Jl. Merdeka 88, Kota Blitar"),
    Buyer("yuli.ponggok@pasar.test", "Bu Yuli", "0813-3000-2205",
          {KUB: ("Daster batik", "Mukena", "Jilbab segi empat", "Blus batik wanita", "Celemek batik",
                 "Tas sekolah anak", "Seragam SMP"), CABAI: ("Beras", "Telur ayam kampung")},
          (1, 4, 5), "cash"),
]  # fmt: skip
# The demo's own buyer (demo.BUYER) shops too: a household buying from all three groups, twice a week.
REGULAR_ITEMS = {
    CABAI: ("Cabai rawit merah", "Tomat", "Telur ayam kampung", "Beras", "Bawang merah"),
    BELIMBING: ("Belimbing", "Belimbing Karangsari jumbo", "Sari belimbing"),
    KUB: ("Daster batik", "Seragam sekolah SD", "Kemeja batik pria"),
}
REGULAR_DAYS = (2, 5)
BUYER_CANCELS = ("Salah pilih barang, mau pesan ulang", "Tidak jadi, sudah beli di pasar")
GROUP_CANCELS = ("Stok rusak kena hujan; uang transfer dikembalikan", "Ukuran yang dipesan habis; uang dikembalikan")
DAMAGES = {"produce": "busuk", "processed": "kemasannya bocor", "garment": "jahitannya lepas"}


class History:
    """The two months of one load: the timeline and what its steps share."""

    def __init__(self, today: date, regular: User, password: str):
        self.rng = random.Random(14)
        self.today = today
        self.first, self.second = months(today)
        self.last = today.replace(day=1) - timedelta(days=1)
        self.timeline = Timeline()
        self.groups = {name: group_named(name) for name in CATALOG}
        self.coordinators = {name: coordinator_of(group) for name, group in self.groups.items()}
        self.members = {name: members_by_name(group) for name, group in self.groups.items()}
        self.items = {(g, item.name): item for g, items in CATALOG.items() for item in items}
        self.variants = {
            (g, name, v.label): v
            for g, group in self.groups.items()
            for name, v in db.session.execute(
                select(Product.name, Variant).join(Variant.product).where(Product.group_id == group.id)
            )
        }
        self.group_name = {group.id: name for name, group in self.groups.items()}
        self.shoppers = BUYERS + [
            Buyer(regular.email, regular.name, regular.phone, REGULAR_ITEMS, REGULAR_DAYS, "either")
        ]
        self.password = password
        self.buyers: dict[str, User] = {}  # by e-mail
        self.orders = 0

    def days(self):
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)

    # --- the story --------------------------------------------------------------------------------------------

    def plan(self) -> None:
        """Every step of the two months, on the timeline."""
        self.timeline.add(at(self.first, 6) - timedelta(days=10), self.open_books)
        orders = self.plan_orders()
        self.plan_supply(orders)
        for day in self.days():
            if day.weekday() == 6 or day == self.last:
                self.timeline.add(at(day, 17), lambda d=day: self.write_off(d))
        for month in (self.first, self.second):
            for group, amount in MONTHLY_SAVINGS.items():
                self.timeline.add(
                    at(month + timedelta(days=4), 15), lambda g=group, a=amount, m=month: self.save(g, a, m)
                )
            self.timeline.add(
                at(month + timedelta(days=15), 16), lambda m=month: self.pay(m, share=Decimal("0.5"), few=2)
            )
        self.timeline.add(at(self.second + timedelta(days=1), 10), self.settle_first)
        self.timeline.add(at(self.second + timedelta(days=2), 16), lambda: self.pay(self.second, share=Decimal(1)))

    def open_books(self) -> None:
        """Before the first sale: each group's split policy, and the buyers' accounts."""
        for name, group in self.groups.items():
            if accrual.policy_in_force(group.id) is None:
                accrual.set_policy(self.coordinators[name], group, "contribution", FUND_PERCENT[name])
        for buyer in self.shoppers:
            user = db.session.scalar(select(User).where(User.email == buyer.email))
            if user is None:
                user = register_user(email=buyer.email, password=self.password, name=buyer.name, phone=buyer.phone)
            self.buyers[buyer.email] = user

    def plan_supply(self, orders: list[dict]) -> None:
        """What members hand over: on each intake day, a little more of each variant than buyers will order
        until the next one (fresh produce twice a week, what keeps once a week), from its makers in turn."""
        for group, items in CATALOG.items():
            weekdays, hour = INTAKE[group]
            for item in items:
                fresh = item.keeps is not None and item.keeps <= 7
                days = [d for d in self.days() if d == self.first or d.weekday() in weekdays[: 2 if fresh else 1]]
                for label, *_price in item.variants:
                    for start, until in zip(days, days[1:] + [self.last + timedelta(days=1)]):
                        wanted = sum(
                            quantity
                            for plan in orders
                            if start <= plan["day"] < until
                            for g, name, variant, quantity in plan["lines"]
                            if (g, name, variant) == (group, item.name, label)
                        )
                        if wanted:
                            quantity = _step_up(wanted * Decimal("1.15"), _step(item))
                            self.timeline.add(
                                at(start, hour.hour, hour.minute),
                                lambda g=group, i=item, v=label, q=quantity: self.receive(g, i, v, q),
                            )

    def receive(self, group: str, item: Item, label: str, quantity: Decimal) -> None:
        """A member hands over goods of `item`, as the coordinator records it."""
        maker = item.makers[self.rng.randrange(len(item.makers))]
        moment = utcnow()
        stock.receive_contribution(
            self.coordinators[group],
            self.groups[group],
            variant_id=self.variants[group, item.name, label].id,
            member_id=self.members[group][maker].id,
            quantity=str(quantity),
            received_at=moment,
            best_before=(moment + timedelta(days=item.keeps)).date() if item.keeps else None,
            grade=label if label.startswith("Grade") else None,
        )

    def write_off(self, day: date) -> None:
        """Produce past its best-before is written off; on the last day, all fresh produce left and whatever
        will be past its best-before by today."""
        last = day == self.last
        note = "Sisa akhir bulan, afkir" if last else "Sisa panen tidak terjual, busuk"
        for group, items in CATALOG.items():
            for item in items:
                if item.keeps is None:
                    continue
                for label, *_price in item.variants:
                    variant = self.variants[group, item.name, label]
                    lots = db.session.scalars(
                        select(Lot).where(Lot.variant_id == variant.id, Lot.remaining > 0).order_by(Lot.id)
                    ).all()
                    for lot in lots:
                        spoiled = lot.best_before < day
                        cleared = last and (item.keeps <= 14 or lot.best_before < self.today)
                        if not (spoiled or cleared):
                            continue
                        quantity = min(lot.remaining, stock.available([variant.id])[variant.id])
                        if quantity > 0:
                            stock.adjust(
                                self.coordinators[group],
                                self.groups[group],
                                variant_id=variant.id,
                                reason="spoilage",
                                quantity=str(-quantity),
                                lot_id=lot.id,
                                note=note,
                            )

    # --- orders -----------------------------------------------------------------------------------------------

    def plan_orders(self) -> list[dict]:
        """Each buyer's orders on their days, and which few are cancelled or refunded."""
        plans = []
        for day in self.days():
            for buyer in self.shoppers:
                items = buyer.items
                if day.weekday() not in buyer.days or self.rng.random() < 0.15:
                    continue
                groups = [g for g in items if self.rng.random() < 0.7] or [self.rng.choice(list(items))]
                ready = next_open(day + timedelta(days=1), groups)
                if ready > self.last:
                    continue
                wanted = []
                for group in groups:
                    for name in self.rng.sample(items[group], min(len(items[group]), self.rng.choice((1, 2, 3)))):
                        item = self.items[group, name]
                        label = self.rng.choice(item.variants)[0]
                        least, most = (Decimal(q) for q in item.order)
                        steps = int((most - least) / _step(item))
                        quantity = (least + _step(item) * self.rng.randint(0, steps)) * buyer.scale
                        wanted.append((group, name, label, quantity))
                plans.append(
                    {
                        "day": day,
                        "hour": self.rng.randint(7, 20),
                        "buyer": buyer,
                        "payment": self.payment(buyer.payment, groups),
                        "address": buyer.address,
                        "ready": ready,
                        "lines": wanted,
                        "fate": None,
                    }
                )
        for plan in self.rng.sample(plans, 4):
            plan["fate"] = "buyer_cancels"
        transfers = [p for p in plans if p["payment"] == "transfer" and p["fate"] is None]
        for plan in self.rng.sample(transfers, 2):
            plan["fate"] = "group_cancels"
        cash = [p for p in plans if p["payment"] == "cash" and p["fate"] is None]
        for plan in self.rng.sample(cash, 3):
            plan["fate"] = "damaged"
        for plan in plans:
            self.timeline.add(at(plan["day"], plan["hour"], 10), lambda p=plan: self.place(p))
        return plans

    def payment(self, wanted: str, groups: list[str]) -> str:
        """How an order is paid: by transfer only where every group has a bank account, else in cash."""
        if wanted == "either":
            wanted = self.rng.choice(("cash", "transfer"))
        if wanted == "transfer" and all(self.groups[g].bank_account_number for g in groups):
            return "transfer"
        return "cash"

    def place(self, plan: dict) -> None:
        """The buyer's checkout, as much of each line as is left; then what happens to each order."""
        buyer = self.buyers[plan["buyer"].email]
        lines = []
        for group, name, label, quantity in plan["lines"]:
            variant = self.variants[group, name, label]
            if any(line["variant_id"] == variant.id for line in lines):
                continue
            left = _step_down(stock.available([variant.id])[variant.id], _step(self.items[group, name]))
            if min(quantity, left) > 0:
                lines.append({"variant_id": variant.id, "quantity": str(min(quantity, left))})
        if not lines:
            return
        self.orders += 1
        fulfilment = {"method": "delivery" if plan["address"] else "pickup", "date": plan["ready"].isoformat()}
        if plan["address"]:
            fulfilment["address"] = plan["address"]
        checkout, _created = market.place_checkout(
            buyer, lines, fulfilment, plan["payment"], f"demo-history-{self.orders:03d}"
        )
        placed = at(plan["day"], plan["hour"], 10)
        for order in checkout.orders:
            self.follow(order.id, plan, placed)

    def follow(self, order_id: int, plan: dict, placed: datetime) -> None:
        """An order's days after it was placed, on its group's coordinator's phone."""
        add = self.timeline.add
        if plan["fate"] == "buyer_cancels":
            add(placed + timedelta(minutes=40), lambda: _buyer_cancels(db.session.get(Order, order_id)))
            return
        confirmed = placed + timedelta(minutes=self.rng.randint(45, 150))
        add(confirmed, lambda: self.act(order_id, market.confirm))
        if plan["payment"] == "transfer":
            add(confirmed + timedelta(hours=2), lambda: self.act(order_id, _transfer))
        if plan["fate"] == "group_cancels":
            add(confirmed + timedelta(hours=3), lambda: self.act(order_id, _cancel_and_refund))
            return
        ready = max(at(plan["ready"], 7, 30), confirmed + timedelta(hours=3, minutes=30))
        add(ready, lambda: self.act(order_id, market.mark_ready))
        add(ready + timedelta(hours=2), lambda: self.act(order_id, _hand_over))
        if plan["fate"] == "damaged":
            add(ready + timedelta(days=1, hours=2), lambda: self.act(order_id, self.refund_damaged))

    def act(self, order_id: int, step: Callable[[User, Order], object]) -> None:
        """`step` of an order, taken by its group's coordinator."""
        order = db.session.get(Order, order_id)
        step(self.coordinators[self.group_name[order.group_id]], order)

    def refund_damaged(self, coordinator: User, order: Order) -> None:
        """The buyer came back the next day with one unit of a line spoiled or badly sewn: its price in cash."""
        line = order.lines[0]
        quantity = min(line.quantity, Decimal(1))
        kind = self.items[self.group_name[order.group_id], line.product_name].kind
        reason = f"{_text(quantity)} {line.unit} {line.product_name} {DAMAGES[kind]}; uang dikembalikan"
        amount = min(market.line_total(line.unit_price, quantity), order.paid - order.refunded)
        refunds.refund_order(coordinator, order, refunds.RequestedRefund(amount, reason, PaymentMethod.cash))

    # --- money of the members -----------------------------------------------------------------------------------

    def save(self, group: str, amount: int, month: date) -> None:
        """The monthly meeting: each member puts their simpanan wajib in the group's savings."""
        for member in self.members[group].values():
            if member.role == Role.coordinator:
                continue
            savings.record_saving(
                self.coordinators[group],
                self.groups[group],
                member_id=member.id,
                amount=amount,
                kind="deposit",
                note=f"Simpanan wajib {month_name(month)}",
                idempotency_key=f"demo-saving-{month.isoformat()}-{member.id}",
            )

    def pay(self, month: date, share: Decimal, few: int | None = None) -> None:
        """Members are paid `share` of their balance, in multiples of Rp5.000; `few` of them in each group."""
        for group, members in self.members.items():
            earners = [m for m in members.values() if m.role != Role.coordinator]
            if few is not None:
                earners = self.rng.sample(earners, few)
            for i, member in enumerate(sorted(earners, key=lambda m: m.id)):
                balance = payouts.member_balance(self.groups[group].id, member.id)
                amount = int(Decimal(balance) * share) // 5000 * 5000
                if amount < 20000:
                    continue
                method = ("cash", "transfer", "ewallet")[(member.id + i) % 3] if member.phone else "cash"
                if method == "ewallet" and amount > 1_000_000:
                    method = "transfer"  # e-wallets take small sums
                if method != "cash" and ledger.balance(self.groups[group].id, ledger.BANK) < amount:
                    method = "cash"  # paid from what the bank account holds, else from the cash box
                payouts.pay_out(
                    self.coordinators[group],
                    self.groups[group],
                    member_id=member.id,
                    amount=amount,
                    method=method,
                    reference={"cash": "Kas kelompok", "transfer": f"BRI {member.id:04d}", "ewallet": "DANA"}[method],
                    phone=member.phone if method == "ewallet" else None,
                    idempotency_key=f"demo-payout-{month.isoformat()}-{few or 'all'}-{member.id}",
                )

    def settle_first(self) -> None:
        """The earlier month is closed: every member's statement frozen."""
        end = self.second - timedelta(days=1)
        for name, group in self.groups.items():
            settle(self.coordinators[name], group, self.first, end)


def _step(item: Item) -> Decimal:
    """What a quantity of `item` is counted in: half kilograms, or whole pieces."""
    return Decimal("0.5") if item.unit == "kg" else Decimal(1)


def _step_down(quantity: Decimal, step: Decimal) -> Decimal:
    return (quantity / step).to_integral_value(rounding=ROUND_DOWN) * step


def _step_up(quantity: Decimal, step: Decimal) -> Decimal:
    return (quantity / step).to_integral_value(rounding=ROUND_UP) * step


def _buyer_cancels(order: Order) -> None:
    market.cancel(db.session.get(User, order.buyer_id), order, BUYER_CANCELS[order.id % len(BUYER_CANCELS)])


def _transfer(coordinator: User, order: Order) -> None:
    payment = recorded.OfflinePayment(PaymentMethod.transfer, order.total - order.paid, reference=f"BRI {order.id:05d}")
    recorded.record_payment(coordinator, order, payment)


def _cancel_and_refund(coordinator: User, order: Order) -> None:
    reason = GROUP_CANCELS[order.id % len(GROUP_CANCELS)]
    market.cancel(coordinator, order, reason)
    refunds.refund_order(
        coordinator, order, refunds.RequestedRefund(order.paid - order.refunded, reason, PaymentMethod.transfer)
    )


def _hand_over(coordinator: User, order: Order) -> None:
    if order.paid < order.total:
        recorded.complete_at_handover(coordinator, order, order.total - order.paid)
    else:
        market.complete(coordinator, order)


def _text(quantity: Decimal) -> str:
    """A quantity as people here write it: 1, 0,5."""
    return f"{quantity.normalize():f}".replace(".", ",")


def load(regular: User, today: date, password: str) -> str:
    """Load the two months before `today`'s month into a database with no orders yet, the buyers' accounts with
    `password`; returns what it did. `regular` is a buyer who shops in all three groups."""
    if db.session.scalar(select(Order.id).limit(1)) is not None:
        return "none new (loaded only into a database without orders)"
    history = History(today, regular, password)
    history.plan()
    history.timeline.run()
    orders = db.session.scalar(select(func.count(Order.id)))
    completed = db.session.scalar(select(func.count(Order.id)).where(Order.status == OrderStatus.completed))
    settled = db.session.scalar(select(func.count(Settlement.id)))
    return (
        f"{orders} orders ({completed} completed) in {month_name(history.first)} and {month_name(history.second)}; "
        f"{month_name(history.first)} settled in {settled} groups"
    )
