"""Rupiah: formatting, strict parsing and exact splitting (core/money.py)."""

from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.money import (
    MAX_AMOUNT,
    MAX_UNIT_PRICE,
    AmountTooLarge,
    MoneyError,
    format_rupiah,
    parse_rupiah,
    split_among_members,
    split_largest_remainder,
)

amounts = st.integers(min_value=0, max_value=MAX_AMOUNT)
weights_lists = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30).filter(any)


@pytest.mark.parametrize(
    "amount,shown",
    [
        (0, "Rp0"),
        (7, "Rp7"),
        (999, "Rp999"),
        (1000, "Rp1.000"),
        (12500, "Rp12.500"),
        (1234567, "Rp1.234.567"),
        (-5000, "-Rp5.000"),
        (-1, "-Rp1"),
        (MAX_AMOUNT, "Rp1.000.000.000.000"),
        (10**15, "Rp1.000.000.000.000.000"),
    ],
)
def test_format_rupiah_groups_thousands_with_dots(amount, shown):
    assert format_rupiah(amount) == shown


@pytest.mark.parametrize("value", [12500.0, 0.5, True, False, "12500", None, Fraction(1, 2)])
def test_format_rupiah_refuses_anything_but_an_int(value):
    with pytest.raises(MoneyError):
        format_rupiah(value)


@pytest.mark.parametrize(
    "value,amount",
    [
        (12500, 12500),
        (0, 0),
        ("12500", 12500),
        ("12.500", 12500),
        ("Rp12.500", 12500),
        ("Rp 12.500", 12500),
        ("rp12.500", 12500),
        ("Rp\u00a012.500", 12500),
        ("  1.234.567 ", 1234567),
        ("Rp0", 0),
        ("1.000", 1000),
        ("0" * 40 + "12500", 12500),
        (MAX_AMOUNT, MAX_AMOUNT),
        (str(MAX_AMOUNT), MAX_AMOUNT),
    ],
)
def test_parse_rupiah_accepts_what_people_type(value, amount):
    assert parse_rupiah(value) == amount
    assert type(parse_rupiah(value)) is int


@pytest.mark.parametrize(
    "value",
    [
        "12,50",
        "12.5",
        "1.23",
        "12.50",
        "1.2345",
        "12.500,00",
        "1,000",
        ".500",
        "500.",
        "1..000",
        -1,
        "-1",
        "-Rp5.000",
        "abc",
        "",
        "   ",
        "Rp",
        "12 500",
        "1e3",
        "١٢٣",
        "１２.５００",
        "\u00b2",
        True,
        False,
        1.5,
        12500.0,
        None,
        [12500],
        Fraction(12500),
        MAX_AMOUNT + 1,
        str(MAX_AMOUNT + 1),
        "Rp1.000.000.000.001",
        10**15,
        "9" * 5000,
        "1" + ".000" * 2000,
    ],
)
def test_parse_rupiah_refuses_anything_but_a_whole_non_negative_amount(value):
    with pytest.raises(MoneyError):
        parse_rupiah(value)


def test_money_error_is_a_value_error():
    assert issubclass(MoneyError, ValueError)


def test_the_ceilings_are_one_trillion_an_amount_and_one_billion_a_unit():
    assert MAX_AMOUNT == 1_000_000_000_000
    assert MAX_UNIT_PRICE == 1_000_000_000
    assert MAX_AMOUNT < 2**63 // 10**6  # a million amounts at the ceiling still sum inside BIGINT


@pytest.mark.parametrize("value", [MAX_AMOUNT + 1, str(MAX_AMOUNT + 1), "Rp1.000.000.000.001", "9" * 5000])
def test_an_amount_above_the_ceiling_is_refused_as_too_large(value):
    with pytest.raises(AmountTooLarge) as refused:
        parse_rupiah(value)
    assert refused.value.ceiling == MAX_AMOUNT


def test_a_ceiling_of_its_own_caps_a_price():
    assert parse_rupiah(MAX_UNIT_PRICE, MAX_UNIT_PRICE) == MAX_UNIT_PRICE
    assert parse_rupiah("Rp1.000.000.000", MAX_UNIT_PRICE) == MAX_UNIT_PRICE
    for value in (MAX_UNIT_PRICE + 1, "1.000.000.001", "0" * 30 + "1000000001"):
        with pytest.raises(AmountTooLarge):
            parse_rupiah(value, MAX_UNIT_PRICE)


@given(amounts)
@example(0)
@example(MAX_AMOUNT)
def test_format_then_parse_gives_the_amount_back(amount):
    assert parse_rupiah(format_rupiah(amount)) == amount


# --- splitting --------------------------------------------------------------------


@given(total=amounts, weights=weights_lists)
def test_largest_remainder_sums_to_the_total_and_each_part_is_floor_or_ceil(total, weights):
    parts = split_largest_remainder(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total * weight, whole)
        assert type(part) is int
        assert exact - 1 < part < exact + 1
        if weight == 0:
            assert part == 0


@given(total=amounts, weights=weights_lists)
def test_largest_remainder_gives_extra_units_to_the_largest_remainders_ties_to_the_earlier(total, weights):
    parts = split_largest_remainder(total, weights)
    whole = sum(weights)
    remainders = [Fraction(total * w, whole) - Fraction(total * w // whole) for w in weights]
    bumped = [p > total * w // whole for p, w in zip(parts, weights, strict=True)]
    for i in range(len(weights)):
        for j in range(len(weights)):
            if bumped[j] and not bumped[i]:
                # j got a unit i did not: j's remainder is larger, or equal and j comes first.
                assert remainders[j] > remainders[i] or (remainders[j] == remainders[i] and j < i)


@pytest.mark.parametrize(
    "total,weights,parts",
    [
        (100, [1, 1, 1], [34, 33, 33]),
        (2, [1, 1, 1], [1, 1, 0]),
        (10, [1, 2, 3, 4], [1, 2, 3, 4]),
        (7, [1, 1], [4, 3]),
        (5, [0, 1, 0, 1], [0, 3, 0, 2]),
        (0, [3, 5], [0, 0]),
        (1, [1, 3], [0, 1]),
    ],
)
def test_largest_remainder_examples(total, weights, parts):
    assert split_largest_remainder(total, weights) == parts


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1], [-2]])
def test_largest_remainder_refuses_weights_with_nothing_to_split_over(weights):
    with pytest.raises(ValueError):
        split_largest_remainder(100, weights)


percents = st.one_of(
    st.integers(min_value=0, max_value=100), st.fractions(min_value=0, max_value=100, max_denominator=1000)
)


@given(net=amounts, percent=percents, weights=weights_lists)
@example(net=100, percent=10, weights=[1, 1, 1])
@example(net=1, percent=0, weights=[1, 1])
@example(net=10**9, percent=100, weights=[5, 7])
def test_split_among_members_gives_members_the_floor_and_the_fund_the_rest(net, percent, weights):
    fund, members = split_among_members(net, percent, weights)
    assert fund + sum(members) == net
    assert len(members) == len(weights)
    rest = Fraction(net) * (1 - Fraction(percent) / 100)
    whole = sum(weights)
    for part, weight in zip(members, weights, strict=True):
        exact = rest * weight / whole
        assert type(part) is int
        assert part <= exact < part + 1
    assert type(fund) is int
    # The fund gets its own exact share plus what flooring left over: less than one rupiah per member.
    fund_exact = Fraction(net) * Fraction(percent) / 100
    assert fund_exact <= fund < fund_exact + len(weights)


def test_split_among_members_example():
    # 100 with 10% to the fund: 90 over three equal members is 30 each, fund 10.
    assert split_among_members(100, 10, [1, 1, 1]) == (10, [30, 30, 30])
    # 100 with 0%: 33 each, the fund keeps the 1 left over.
    assert split_among_members(100, 0, [1, 1, 1]) == (1, [33, 33, 33])
    assert split_among_members(12500, Fraction(25, 2), [2, 1]) == (12500 - 7291 - 3645, [7291, 3645])


def test_split_among_members_with_no_weight_leaves_everything_in_the_fund():
    assert split_among_members(5000, 10, [0, 0]) == (5000, [0, 0])
    assert split_among_members(5000, 10, []) == (5000, [])


@pytest.mark.parametrize("percent", [-1, 101, Fraction(-1, 2), Fraction(201, 2)])
def test_split_among_members_refuses_a_percent_outside_0_to_100(percent):
    with pytest.raises(ValueError):
        split_among_members(1000, percent, [1])


def test_split_among_members_refuses_negative_weights():
    with pytest.raises(ValueError):
        split_among_members(1000, 10, [1, -1])
