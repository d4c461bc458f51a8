"""Sharing a harvest out among its pre-orders, exactly: no floats, never more than the harvest, never more than
a pre-order asked for.

- Enough for everyone: each gets what it asked for.
- `first_come`: in the order placed, each gets all it asked for while the harvest lasts; the one it runs out on
  gets what is left, the later ones nothing.
- `pro_rata`: each gets its exact share of the harvest (asked x harvest / all asked), down to the unit's
  precision; the units left over go one each to the largest remainders, ties to the earlier pre-order.

Quantities are counted in steps of the unit's precision (1 for piece units, a thousandth otherwise), as integers.
"""

from decimal import Decimal

from harvests.models import ShortfallRule


def share_out(rule: ShortfallRule, asked: list[Decimal], harvest: Decimal, step: Decimal) -> list[Decimal]:
    """What each pre-order gets (in the order placed) of `harvest`, for quantities counted in `step`s."""
    wanted = [_steps(q, step) for q in asked]
    total = _steps(harvest, step)
    if sum(wanted) <= total:
        return list(asked)
    if ShortfallRule(rule) == ShortfallRule.first_come:
        given, left = [], total
        for q in wanted:
            take = min(q, left)
            given.append(take)
            left -= take
    else:
        given = _pro_rata(wanted, total)
    return [Decimal(g) * step for g in given]


def _steps(quantity: Decimal, step: Decimal) -> int:
    count = quantity / step
    if count != count.to_integral_value():
        raise ValueError(f"{quantity} is not counted in steps of {step}")
    return int(count)


def _pro_rata(wanted: list[int], total: int) -> list[int]:
    """Floors of each exact share, then the rest one step each by largest remainder, ties to the earlier."""
    asked = sum(wanted)
    floors = [q * total // asked for q in wanted]
    remainders = [q * total % asked for q in wanted]
    left = total - sum(floors)
    for i in sorted(range(len(wanted)), key=lambda i: (-remainders[i], i))[:left]:
        floors[i] += 1
    return floors
