"""Sharing a surplus by the parts' percentages: the parts, the group's SHU accounts, and each member's share
of the services and capital parts, exact to the rupiah."""

from dataclasses import dataclass, field
from fractions import Fraction

from core.money import split_among_members

PARTS = ("reserve", "services", "capital", "management", "education", "social")
GROUP_PARTS = ("reserve", "management", "education", "social")  # booked to the group's accounts
WHOLE = 10000  # basis points in 100 %


def shu_account(part: str) -> str:
    """The group's ledger account of an SHU part (reserve, management, education, social)."""
    return f"shu_{part}"


@dataclass
class MemberShare:
    member_id: int
    transactions: int
    savings: int
    services_part: int = 0
    capital_part: int = 0
    name: str | None = None

    @property
    def total(self) -> int:
        return self.services_part + self.capital_part


@dataclass
class Allocation:
    surplus: int
    basis_points: dict[str, int]
    members: list[MemberShare]
    parts: dict[str, int] = field(default_factory=dict)  # every part's rupiah; they sum to the surplus
    reserve_remainder: int = 0  # what the reserve got beyond the floor of its own share
    services_to_reserve: bool = False
    capital_to_reserve: bool = False
    keeps_savings: bool = True


def allocate(
    surplus: int, basis_points: dict[str, int], transactions: dict[int, int], savings: dict[int, int] | None
) -> Allocation:
    """Share `surplus` by `basis_points` (summing to 10000); members by transactions and savings.

    `savings` is None for a group that records no savings: the capital part then
    stays with the reserve, as does a part whose members' weights are all zero.
    """
    exact = {part: Fraction(surplus * basis_points[part], WHOLE) for part in PARTS}
    ids = sorted({m for m, t in transactions.items() if t > 0} | {m for m, s in (savings or {}).items() if s > 0})
    members = [MemberShare(m, transactions.get(m, 0), (savings or {}).get(m, 0)) for m in ids]
    allocation = Allocation(surplus, dict(basis_points), members, keeps_savings=savings is not None)
    services = [m.transactions for m in members]
    if sum(services) > 0:
        _rest, parts = split_among_members(exact["services"], 0, services)
        for member, part in zip(members, parts):
            member.services_part = part
    else:
        allocation.services_to_reserve = basis_points["services"] > 0
    capital = [m.savings for m in members]
    if savings is not None and sum(capital) > 0:
        _rest, parts = split_among_members(exact["capital"], 0, capital)
        for member, part in zip(members, parts):
            member.capital_part = part
    else:
        allocation.capital_to_reserve = basis_points["capital"] > 0
    parts = {part: int(exact[part] // 1) for part in ("management", "education", "social")}
    parts["services"] = sum(m.services_part for m in members)
    parts["capital"] = sum(m.capital_part for m in members)
    parts["reserve"] = surplus - sum(parts.values())
    allocation.parts = {part: parts[part] for part in PARTS}
    allocation.reserve_remainder = parts["reserve"] - int(exact["reserve"] // 1)
    return allocation
