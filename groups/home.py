"""The signed-in user's home (/me/groups, where logging in and joining land): what packages above groups add.

Groups lists the user's memberships. What waits for a coordinator (orders, stock, money) and the district
admin's overview are read by a package above groups (core <- ... <- groups <- ... <- dashboards), so that
package registers a section in its init_app (`register_section`), and the home page shows what each section
renders for the user, above the memberships.
"""

from collections.abc import Callable

from flask import Flask, current_app
from markupsafe import Markup

EXTENSION = "groups.home"

# Given the signed-in user, the HTML of a section of their home ("" when it has nothing for them).
Section = Callable[[object], Markup | str]


def register_section(app: Flask, section: Section) -> None:
    """Show `section` on the home page (called by the package that reads what it shows)."""
    app.extensions.setdefault(EXTENSION, []).append(section)


def sections(user) -> list[Markup]:
    """What the registered sections show `user`, in the order they were registered; empty ones left out."""
    shown = (section(user) for section in current_app.extensions.get(EXTENSION, []))
    return [Markup(html) for html in shown if html]
