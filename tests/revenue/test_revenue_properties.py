"""Property tests for the revenue split: the exact parts of a completed order, and refunds that take them back.

The split is checked against the rule in DESIGN.md (invariant 5), computed here
with fractions: per line, the group fund's exact share is its percent of the
line's net, each member's exact share is their weight's fraction of the rest;
members get the floor, the fund everything left. A line's card fee and earlier
refunds are its largest-remainder share of the order's, ties to the earlier line.
"""

import itertools
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from accounts.models import User
from core import ledger
from core.extensions import db
from core.money import split_among_members
from groups.models import Group
from inventory import services as inv
from marketplace import services as market
from marketplace.models import Order, PaymentMethod
from payments.services import recorded, refunds
from revenue.models import Earning, SplitMethod
from revenue.services import accrual as revenue
from tests.factories import make_user
from tests.stock_helpers import acting, make_stock_group

basis_points = st.integers(0, 10_000)  # 0 to 100 % with two decimals
methods = st.sampled_from(list(SplitMethod))


def exact_spread(total: int, weights: list[int]) -> list[int]:
    """Largest remainder, ties to the earlier: the rule for spreading a fee or a refund over lines."""
    if total == 0:
        return [0] * len(weights)
    whole = sum(weights)
    exact = [Fraction(total * w, whole) for w in weights]
    parts = [math.floor(share) for share in exact]
    for i in sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))[: total - sum(parts)]:
        parts[i] += 1
    return parts


# --- split_among_members ---------------------------------------------------------------------


@given(net=st.integers(0, 10**9), bp=basis_points, weights=st.lists(st.integers(0, 10**9), min_size=1, max_size=8))
@settings(max_examples=200)
def test_members_get_the_floor_of_their_exact_share_and_the_fund_the_rest(net, bp, weights):
    percent = Fraction(bp, 100)

    fund, members = split_among_members(net, percent, weights)

    assert fund + sum(members) == net
    assert all(isinstance(part, int) for part in [fund, *members])
    fund_exact = net * percent / 100
    whole = sum(weights)
    for part, weight in zip(members, weights):
        exact = (net - fund_exact) * weight / whole if whole else Fraction(0)
        assert math.floor(exact) <= part < math.floor(exact) + 1
    assert fund >= fund_exact
    if whole:
        assert fund - fund_exact < len(weights)  # each member leaves less than a rupiah behind
    else:
        assert members == [0] * len(weights) and fund == net


def test_split_among_members_examples():
    # Rp100.000 at 10 %: fund 10.000 exact; 90.000 over weights 1:2 -> 30.000 and 60.000.
    assert split_among_members(100_000, Fraction(10), [1, 2]) == (10_000, [30_000, 60_000])
    # Rp100 at 0 % over three equal weights: 33 each (33,33...), the fund keeps the 1 left.
    assert split_among_members(100, 0, [1, 1, 1]) == (1, [33, 33, 33])
    # Rp10 at 12,5 %: fund 1,25 exact; 8,75 over 1:1 -> 4,375 each -> 4 and 4, fund 2.
    assert split_among_members(10, Fraction(1250, 100), [1, 1]) == (2, [4, 4])
    assert split_among_members(5000, Fraction(100), [3, 4]) == (5000, [0, 0])


# --- split_sale: a whole order ------------------------------------------------------------------

lot_strategy = st.tuples(st.integers(1, 4), st.integers(0, 10**9))  # (member id, weight)
line_strategy = st.tuples(
    st.integers(0, 10**9), st.lists(lot_strategy, max_size=4).filter(lambda lots: not lots or any(w for _m, w in lots))
)


@st.composite
def sales(draw):
    lines = draw(st.lists(line_strategy, min_size=1, max_size=5))
    total = sum(t for t, _lots in lines)
    fees = draw(st.integers(0, total), label="card fees")
    refunded = draw(st.integers(0, total), label="refunded before completion")  # with the fee, may pass net 0
    sale_lines = [
        revenue.SaleLine(
            line_id=i + 1,
            product_name=f"Produk {i}",
            total=line_total,
            lots=[
                revenue.LotShare(member_id=member_id, lot_id=10 * i + j, quantity=Decimal(1), weight=weight)
                for j, (member_id, weight) in enumerate(lots)
            ],
        )
        for i, (line_total, lots) in enumerate(lines)
    ]
    return sale_lines, fees, refunded


@given(sale=sales(), method=methods, bp=basis_points)
@settings(max_examples=150)
def test_split_sale_parts_follow_the_rule_line_by_line(sale, method, bp):
    lines, fees, refunded = sale
    percent = Fraction(bp, 100)

    parts = revenue.split_sale(lines, fees=fees, refunded=refunded, method=method, fund_percent=percent)

    totals = [line.total for line in lines]
    assert all(isinstance(part.amount, int) for part in parts)
    assert sum(part.amount for part in parts) == sum(totals) - fees - refunded
    fee_shares, refund_shares = exact_spread(fees, totals), exact_spread(refunded, totals)
    for line, fee, back in zip(lines, fee_shares, refund_shares):
        net = line.total - fee - back
        mine = [part for part in parts if part.line is line]
        assert sum(part.amount for part in mine) == net
        fund_exact = net * percent / 100
        rest = net - fund_exact
        [fund] = [part.amount for part in mine if part.account == revenue.GROUP_FUND]
        assert fund >= fund_exact
        if method == SplitMethod.contribution and line.lots:
            weight_of = defaultdict(int)
            for lot in line.lots:
                weight_of[lot.member_id] += lot.weight
            got = defaultdict(int)
            for part in mine:
                if part.account != revenue.GROUP_FUND:
                    assert part.account == revenue.member_account(part.member_id)
                    got[part.member_id] += part.amount
            assert set(got) == set(weight_of)
            for member_id, weight in weight_of.items():
                exact = rest * weight / sum(weight_of.values())
                assert math.floor(exact) <= got[member_id] < math.floor(exact) + 1
            assert fund == net - sum(got.values())
            assert sum(part.gross for part in mine) == line.total
            assert sum(part.fee_share for part in mine) == fee
            assert sum(part.refund_share for part in mine) == back
        else:
            [pool] = [part for part in mine if part.account == revenue.POOL]
            assert math.floor(rest) <= pool.amount < math.floor(rest) + 1
            assert fund == net - pool.amount
            assert (pool.gross, pool.fee_share, pool.refund_share) == (line.total, fee, back)
            assert {part.account for part in mine} == {revenue.POOL, revenue.GROUP_FUND}


def test_split_sale_example_with_a_fee_and_a_refund_over_two_lines():
    # Lines of Rp60.000 and Rp40.000; card fee Rp3.001 -> 1.800,6 and 1.200,4 -> 1.801 and 1.200;
    # refund Rp10.000 -> 6.000 and 4.000. Nets 52.199 and 34.800.
    lines = [
        revenue.SaleLine(
            1, "Cabai", 60_000, [revenue.LotShare(1, 1, Decimal(1), 3), revenue.LotShare(2, 2, Decimal(1), 1)]
        ),
        revenue.SaleLine(2, "Tomat", 40_000, [revenue.LotShare(2, 3, Decimal(1), 1)]),
    ]

    parts = revenue.split_sale(
        lines, fees=3001, refunded=10_000, method=SplitMethod.contribution, fund_percent=Fraction(10)
    )

    # Line 1: fund 5.219,9 exact; rest 46.979,1 -> member 1 (3/4) 35.234,325 -> 35.234,
    # member 2 (1/4) 11.744,775 -> 11.744; fund 52.199 - 46.978 = 5.221.
    # Line 2: fund 3.480 exact; rest 31.320 -> member 2 31.320; fund 3.480.
    assert [(p.line.line_id, p.account, p.amount) for p in parts] == [
        (1, "member:1", 35_234),
        (1, "member:2", 11_744),
        (1, "group_fund", 5_221),
        (2, "member:2", 31_320),
        (2, "group_fund", 3_480),
    ]


# --- accrual and refunds through the revenue services, with card fees ---------------------------

TRANSIT_ACCOUNTS = (ledger.PAYMENTS_CLEARING, ledger.REFUNDS, ledger.CARD_FEES)
DB_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_ids = itertools.count(1)


def earnings_accounts(*snapshots: dict[str, int]) -> set[str]:
    return {
        key
        for snapshot in snapshots
        for key in snapshot
        if key.startswith("member:") or key in (revenue.GROUP_FUND, revenue.POOL)
    }


def credited(order_id: int) -> dict[str, int]:
    """Per account (member, pool, fund), what the order's accrual credited."""
    return {
        account: int(total)
        for account, total in db.session.execute(
            select(Earning.account, func.sum(Earning.amount))
            .where(Earning.order_id == order_id, Earning.kind == "sale")
            .group_by(Earning.account)
        )
    }


def taken_back(order_id: int) -> dict[str, int]:
    """Per account (member, pool, fund), what refunds have taken back from the order so far."""
    return {
        account: -int(total)
        for account, total in db.session.execute(
            select(Earning.account, func.sum(Earning.amount))
            .where(Earning.order_id == order_id, Earning.kind == "refund")
            .group_by(Earning.account)
        )
    }


def refund_plan(data, refundable: int) -> list[int]:
    """Partial refund amounts summing to at most `refundable`, sometimes ending with a refund of the rest."""
    amounts, left = [], refundable
    for _ in range(data.draw(st.integers(0, 4), label="partial refunds")):
        if left < 1:
            break
        amount = data.draw(st.integers(1, left), label="refund")
        amounts.append(amount)
        left -= amount
    if left and data.draw(st.booleans(), label="refund the rest"):
        amounts.append(left)
    return amounts


def check_refund_rule(order_id: int, base: int, cumulative: int, credit: dict[str, int]) -> None:
    """Each member's (and the pool's) cumulative give-back is the floor of the cumulative refund's share
    of what the order credited them, never more than that credit; the fund gave back the rest."""
    back = taken_back(order_id)
    assert sum(back.values()) == cumulative
    for account, amount in credit.items():
        if account != revenue.GROUP_FUND:
            assert back.get(account, 0) == cumulative * amount // base, account
            assert min(0, amount) <= back.get(account, 0) <= max(0, amount), account


def check_whole_refund(
    start: dict[str, int], before: dict[str, int], after: dict[str, int], fees: int, money: str
) -> None:
    """Every earning of the order nets to zero, except that the fund bears the card fee the processor kept;
    the transit accounts hold nothing of the order, and the money account is down by the fee only."""
    for key in earnings_accounts(before, after):
        expected = before.get(key, 0) + (fees if key == revenue.GROUP_FUND else 0)
        assert after.get(key, 0) == expected, key
    for key in TRANSIT_ACCOUNTS:
        assert after.get(key, 0) == start.get(key, 0), key
    assert after.get(money, 0) == start.get(money, 0) - fees


@st.composite
def card_orders(draw):
    lines = draw(
        st.lists(
            st.tuples(
                st.integers(1, 10**7),
                st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10**6)), min_size=1, max_size=3).filter(
                    lambda lots: any(w for _m, w in lots)
                ),
            ),
            min_size=1,
            max_size=3,
        )
    )
    paid = sum(total for total, _lots in lines)
    # As the app allows: the fee is at most the payment, a refund before completion leaves some of it paid;
    # together they may pass what was paid, and the order then completes at a loss.
    fees = draw(st.integers(0, paid), label="card fees")
    refunded = draw(st.integers(0, paid - 1), label="refunded before completion")
    return lines, paid, fees, refunded


def test_refunds_after_completion_take_back_by_the_cumulative_floor_and_a_whole_refund_undoes_the_split(app, db):
    setup = make_stock_group(app, members=4)
    gid = setup.group.id

    @given(order=card_orders(), method=methods, bp=basis_points, data=st.data())
    @DB_SETTINGS
    def run(order, method, bp, data):
        lines, paid, fees, refunded = order
        order_id = 10**6 + next(_ids)
        with acting(app, setup.user) as coordinator:
            start = ledger.balances(gid)
            revenue.set_policy(coordinator, db.session.get(Group, gid), method.value, revenue.percent_text(bp))
            # What payments.services books for a card payment, its fee and a refund before completion.
            ledger.post(
                gid,
                "payment",
                {ledger.CARD: paid, ledger.PAYMENTS_CLEARING: -paid},
                source="payment",
                source_id=next(_ids),
            )
            if fees:
                ledger.post(
                    gid,
                    "card_fee",
                    {ledger.CARD_FEES: fees, ledger.CARD: -fees},
                    source="payment",
                    source_id=next(_ids),
                )
            if refunded:
                ledger.post(
                    gid,
                    "refund",
                    {ledger.REFUNDS: refunded, ledger.CARD: -refunded},
                    source="refund",
                    source_id=next(_ids),
                )
            db.session.flush()
            before = ledger.balances(gid)
            sale_lines = [
                revenue.SaleLine(
                    line_id=i,
                    product_name="Cabai",
                    total=total,
                    lots=[
                        revenue.LotShare(member_id=setup.members[m].id, lot_id=j, quantity=Decimal(1), weight=w)
                        for j, (m, w) in enumerate(lots)
                    ],
                )
                for i, (total, lots) in enumerate(lines)
            ]
            revenue.accrue_sale(gid, order_id, sale_lines, paid=paid, refunded=refunded, fees=fees)
            db.session.commit()
            credit = credited(order_id)
            assert sum(credit.values()) == paid - fees - refunded
            # The accrual empties what the order put in the transit accounts into the earnings.
            assert all(ledger.balances(gid).get(key, 0) == start.get(key, 0) for key in TRANSIT_ACCOUNTS)

        base, cumulative = paid - refunded, 0
        for amount in refund_plan(data, base):
            with acting(app, setup.user):
                refund_id = next(_ids)
                ledger.post(
                    gid, "refund", {ledger.REFUNDS: amount, ledger.CARD: -amount}, source="refund", source_id=refund_id
                )
                revenue.reverse_for_refund(gid, order_id, amount, refund_id)
                db.session.commit()
                cumulative += amount
                check_refund_rule(order_id, base, cumulative, credit)

        with app.app_context():
            assert ledger.check_all() == []
            if cumulative == base:
                check_whole_refund(start, before, ledger.balances(gid), fees, ledger.CARD)

    run()


def test_a_whole_refund_of_an_order_completed_at_a_loss_gives_the_members_their_share_back(app, db):
    setup = make_stock_group(app, members=1)
    gid, siti, order_id = setup.group.id, setup.members[0].id, 10**6 + next(_ids)
    with acting(app, setup.user) as coordinator:
        revenue.set_policy(coordinator, db.session.get(Group, gid), "contribution", "10")
        # Paid Rp50.000 by card, fee Rp3.450 (2,9 % + Rp2.000); Rp48.000 given back before the handover.
        ledger.post(
            gid,
            "payment",
            {ledger.CARD: 50_000, ledger.PAYMENTS_CLEARING: -50_000},
            source="payment",
            source_id=next(_ids),
        )
        ledger.post(
            gid, "card_fee", {ledger.CARD_FEES: 3_450, ledger.CARD: -3_450}, source="payment", source_id=next(_ids)
        )
        ledger.post(
            gid, "refund", {ledger.REFUNDS: 48_000, ledger.CARD: -48_000}, source="refund", source_id=next(_ids)
        )
        line = revenue.SaleLine(1, "Cabai rawit", 50_000, [revenue.LotShare(siti, 1, Decimal("1.111"), 1)])
        revenue.accrue_sale(gid, order_id, [line], paid=50_000, refunded=48_000, fees=3_450)
        db.session.commit()
        # Net 50.000 - 3.450 - 48.000 = -1.450; the fund's exact share -145, Siti's floor(-1.305) = -1.305,
        # the fund the rest: -1.450 + 1.305 = -145.
        assert credited(order_id) == {f"member:{siti}": -1_305, "group_fund": -145}

    def refund(amount):
        with acting(app, setup.user):
            refund_id = next(_ids)
            ledger.post(
                gid, "refund", {ledger.REFUNDS: amount, ledger.CARD: -amount}, source="refund", source_id=refund_id
            )
            revenue.reverse_for_refund(gid, order_id, amount, refund_id)
            db.session.commit()
            return taken_back(order_id), ledger.balances(gid)

    # The Rp2.000 still paid goes back in two halves. First: floor(1.000 x -1.305 / 2.000) = floor(-652,5)
    # = -653 for Siti (her loss shrinks by 653); the fund gives back 1.000 + 653 = 1.653.
    back, now = refund(1_000)
    assert back == {f"member:{siti}": -653, "group_fund": 1_653}
    assert now[f"member:{siti}"] == 1_305 - 653
    # Then cumulative 2.000: -1.305 in all, -652 more for Siti; the fund 1.000 + 652 = 1.652.
    back, now = refund(1_000)
    assert back == {f"member:{siti}": -1_305, "group_fund": 1_653 + 1_652}
    # Siti is back at zero; the fund bears the card fee: -145 - 3.305 = -3.450.
    assert now.get(f"member:{siti}", 0) == 0
    assert now["group_fund"] == 3_450 and now[ledger.CARD] == -3_450
    with app.app_context():
        assert ledger.check_all() == []


# --- the same through the order services: cash, FIFO lots of several members ---------------------


@st.composite
def shops(draw):
    prices = draw(st.lists(st.integers(1_000, 200_000), min_size=1, max_size=2), label="unit prices")
    lots = [
        draw(
            st.lists(st.tuples(st.integers(0, 2), st.integers(1, 5_000)), min_size=1, max_size=3),
            label=f"lots of variant {i}",
        )
        for i in range(len(prices))
    ]
    bought = [
        draw(st.integers(0, sum(q for _m, q in variant_lots)), label=f"grams of variant {i}")
        for i, variant_lots in enumerate(lots)
    ]
    if not any(bought):
        bought[0] = 1
    return prices, lots, bought


def _kg(milli: int) -> str:
    return f"{milli // 1000}.{milli % 1000:03d}"


def test_partial_refunds_of_a_completed_cash_order_never_take_back_more_than_it_credited(app, db):
    setup = make_stock_group(app, members=3)
    buyer = make_user(app, name="Bu Endang")
    gid = setup.group.id

    @given(shop=shops(), method=methods, bp=basis_points, data=st.data())
    @settings(DB_SETTINGS, max_examples=30)
    def run(shop, method, bp, data):
        prices, lots, bought = shop
        with acting(app, setup.user) as coordinator:
            group = db.session.get(Group, gid)
            product = inv.create_product(
                coordinator,
                group,
                name=f"Cabai {next(_ids)}",
                kind="produce",
                unit="kg",
                variants=[{"label": f"Grade {i}", "unit_price": price} for i, price in enumerate(prices)],
            )
            variants = [v.id for v in product.variants]
            revenue.set_policy(coordinator, group, method.value, revenue.percent_text(bp))
            moment = datetime.now(UTC) - timedelta(days=30)
            for variant, variant_lots in zip(variants, lots):
                for n, (member, milli) in enumerate(variant_lots):
                    inv.receive_contribution(
                        coordinator,
                        group,
                        variant_id=variant,
                        member_id=setup.members[member].id,
                        quantity=_kg(milli),
                        received_at=(moment + timedelta(hours=n)).isoformat(),
                    )
            db.session.commit()
        with acting(app, buyer):
            checkout, _ = market.place_checkout(
                db.session.get(User, buyer.id),
                [{"variant_id": v, "quantity": _kg(q)} for v, q in zip(variants, bought) if q],
                {"method": "pickup"},
                "cash",
            )
            order_id, total = checkout.orders[0].id, checkout.orders[0].total
            db.session.commit()
        refunded_before = data.draw(st.integers(0, total - 1), label="refunded before completion")
        with acting(app, setup.user) as lead:
            start = ledger.balances(gid)
            order = market.confirm(lead, db.session.get(Order, order_id))
            recorded.record_payment(lead, order, recorded.OfflinePayment(PaymentMethod.cash, total))
            if refunded_before:
                refunds.refund_order(
                    lead, order, refunds.RequestedRefund(refunded_before, "Sebagian layu", PaymentMethod.cash)
                )
            market.mark_ready(lead, order)
            db.session.flush()
            before = ledger.balances(gid)
            market.complete(lead, order)
            db.session.commit()
            credit = credited(order_id)
            assert sum(credit.values()) == total - refunded_before
            assert all(amount >= 0 for amount in credit.values())

        base, cumulative = total - refunded_before, 0
        for amount in refund_plan(data, base):
            with acting(app, setup.user) as lead:
                refunds.refund_order(
                    lead,
                    db.session.get(Order, order_id),
                    refunds.RequestedRefund(amount, "Barang rusak", PaymentMethod.cash),
                )
                db.session.commit()
                cumulative += amount
                check_refund_rule(order_id, base, cumulative, credit)

        with app.app_context():
            assert ledger.check_all() == []
            if cumulative == base:
                check_whole_refund(start, before, ledger.balances(gid), 0, ledger.CASH)

    run()
