"""What a stock movement's reference names, as the ledger page shows it: "Order #9", linked to the order.

A movement keeps a reference such as "order_line:15", written by the package that moved the stock.
Inventory knows no orders (core <- ... <- inventory <- ... <- marketplace): the package that writes a kind
of reference registers in its init_app how to show references of that kind (`register_kind`), and the ledger
page asks `describe`. A reference of a kind no package registered is shown as it is.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import NamedTuple

from flask import Flask, current_app

EXTENSION = "inventory.references"


class ReferenceLink(NamedTuple):
    """A reference as people read it, and the page it opens (None: no page)."""

    text: str
    url: str | None


# Given the ids of one kind's references (15 of "order_line:15"), each id's link; an id it does not know is left out.
Describer = Callable[[list[int]], dict[int, ReferenceLink]]


def register_kind(app: Flask, kind: str, describer: Describer) -> None:
    """Show the references "`kind`:<id>" through `describer` (called by the package that writes them)."""
    app.extensions.setdefault(EXTENSION, {})[kind] = describer


def describe(references: Iterable[str | None]) -> dict[str, ReferenceLink]:
    """Each reference of a registered kind, as its link; one call of each kind's describer."""
    describers: dict[str, Describer] = current_app.extensions.get(EXTENSION, {})
    ids: defaultdict[str, set[int]] = defaultdict(set)
    for reference in references:
        kind, colon, number = (reference or "").partition(":")
        if colon and kind in describers and number.isascii() and number.isdigit() and len(number) <= 18:
            ids[kind].add(int(number))
    links = {}
    for kind, numbers in ids.items():
        for number, link in describers[kind](sorted(numbers)).items():
            links[f"{kind}:{number}"] = link
    return links
