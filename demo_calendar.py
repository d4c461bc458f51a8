"""The demo history's calendar: its two months, moments in Blitar, the days each group opens and takes in its
members' goods, and the timeline that runs every step on the clock at its own moment (core.types.clock_at)."""

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from babel.dates import format_date

from core.extensions import db
from core.formatting import WIB
from core.types import clock_at
from demo_catalog import BELIMBING, CABAI, KUB

# The days each group hands goods to buyers (as its pickup hours say; Monday is 0) and receives its members' goods.
OPEN_DAYS = {KUB: {0, 1, 2, 3, 4, 5}, CABAI: {0, 1, 2, 3, 4, 5, 6}, BELIMBING: {1, 3, 5}}
INTAKE = {KUB: ((5,), time(7)), CABAI: ((0, 3), time(6, 30)), BELIMBING: ((1, 4), time(6, 30))}


def months(today: date) -> tuple[date, date]:
    """The first days of the two months before `today`'s: the settled one and the open one."""
    later = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return (later - timedelta(days=1)).replace(day=1), later


def founded(today: date) -> datetime:
    """When the groups began, months before the history."""
    return at(months(today)[0] - timedelta(days=150), 9)


def listed(today: date) -> datetime:
    """When the groups listed their products, days before the history."""
    return at(months(today)[0] - timedelta(days=12), 10)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment on `day` in Blitar."""
    return datetime.combine(day, time(hour, minute), tzinfo=WIB)


def month_name(day: date) -> str:
    """The month of `day` as the demo's people name it: Oktober 2026."""
    return format_date(day, "MMMM y", locale="id")


@dataclass(order=True)
class Step:
    """Something that happens at `moment`; steps of one moment happen in the order they were planned."""

    moment: datetime
    number: int
    action: Callable[[], None] = field(compare=False)


class Timeline:
    """Steps run in the order of their moments, each on the clock at its moment; a step may plan later ones."""

    def __init__(self):
        self.steps: list[Step] = []
        self.numbers = itertools.count()

    def add(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.steps, Step(moment, next(self.numbers), action))

    def run(self) -> None:
        while self.steps:
            step = heapq.heappop(self.steps)
            with clock_at(step.moment):
                step.action()
                db.session.flush()  # column defaults are stamped now, on this step's clock


def next_open(day: date, groups: list[str]) -> date:
    """The first day from `day` on that every one of `groups` is open."""
    while not all(day.weekday() in OPEN_DAYS[g] for g in groups):
        day += timedelta(days=1)
    return day
