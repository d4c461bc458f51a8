"""A harvest shared out among its pre-orders: exact, never more than the harvest nor than any pre-order asked
for, by the rule chosen (property tests with hypothesis)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from harvests.models import ShortfallRule
from harvests.services.sharing import share_out

KG, PCS = Decimal("0.001"), Decimal(1)


def test_enough_for_everyone_gives_everyone_all():
    asked = [Decimal("3"), Decimal("2.5")]
    assert share_out(ShortfallRule.pro_rata, asked, Decimal("9"), KG) == asked
    assert share_out(ShortfallRule.first_come, asked, Decimal("5.5"), KG) == asked


def test_first_come_gives_the_earliest_all_and_the_latest_nothing():
    given_out = share_out(ShortfallRule.first_come, [Decimal(4), Decimal(3), Decimal(1)], Decimal(5), PCS)
    assert given_out == [Decimal(4), Decimal(1), Decimal(0)]


def test_pro_rata_floors_each_share_and_gives_the_rest_by_largest_remainder_ties_to_the_earlier():
    # 5.5 kg among 3, 3 and 2 kg: exact shares 2.0625, 2.0625, 1.375: one thousandth left, to the first.
    given_out = share_out(ShortfallRule.pro_rata, [Decimal(3), Decimal(3), Decimal(2)], Decimal("5.5"), KG)
    assert given_out == [Decimal("2.063"), Decimal("2.062"), Decimal("1.375")]
    # Whole pieces: 5 among 2, 2, 2 (5/3 each): 1 each, then the two left to the first two.
    assert share_out(ShortfallRule.pro_rata, [Decimal(2)] * 3, Decimal(5), PCS) == [2, 2, 1]


def test_nothing_harvested_gives_nothing():
    assert share_out(ShortfallRule.pro_rata, [Decimal(2), Decimal(1)], Decimal(0), PCS) == [0, 0]
    assert share_out(ShortfallRule.first_come, [Decimal(2), Decimal(1)], Decimal(0), PCS) == [0, 0]


quantities = st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=30)


@given(
    asked=quantities,
    harvest=st.integers(min_value=0, max_value=10**8),
    rule=st.sampled_from(list(ShortfallRule)),
    whole=st.booleans(),
)
def test_a_share_out_is_exact_and_keeps_within_the_harvest_and_what_was_asked(asked, harvest, rule, whole):
    step = PCS if whole else KG
    asked_q = [Decimal(a) * step for a in asked]
    harvest_q = Decimal(harvest) * step
    got = share_out(rule, asked_q, harvest_q, step)
    assert len(got) == len(asked_q)
    assert all(0 <= g <= a for g, a in zip(got, asked_q, strict=True))
    assert all(g % step == 0 for g in got)  # to the unit's precision
    assert sum(got) == min(harvest_q, sum(asked_q))  # everything harvested goes out when short, exactly
    if harvest_q >= sum(asked_q):
        assert got == asked_q
    elif rule == ShortfallRule.first_come:
        # Each gets all until the harvest runs out; at most one gets a part; after it, nothing.
        short = [i for i, (g, a) in enumerate(zip(got, asked_q, strict=True)) if g < a]
        assert all(got[i] == 0 for i in short[1:])
        assert all(got[i] == asked_q[i] for i in range(short[0]))
    else:
        # Each gets its exact share, rounded down or up by one step, never further.
        total = sum(asked)
        steps = [int(g / step) for g in got]
        assert all(s in (a * harvest // total, a * harvest // total + 1) for s, a in zip(steps, asked, strict=True))
        # The steps left over went to the largest remainders, ties to the earlier pre-order.
        remainder = [a * harvest % total for a in asked]
        raised = [i for i, (s, a) in enumerate(zip(steps, asked, strict=True)) if s > a * harvest // total]
        kept = [i for i in range(len(asked)) if i not in raised]
        assert all((remainder[i], -i) > (remainder[j], -j) for i in raised for j in kept)
