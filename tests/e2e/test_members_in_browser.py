"""A coordinator on a phone logs in, adds a member, gets the invitation code to send them and sees them listed,
in Indonesian."""

import re
from pathlib import Path

from babel.support import Translations

from tests.factories import make_group, make_user

ROOT = Path(__file__).resolve().parents[2]


def indonesian(text: str) -> str:
    """The Indonesian the interface shows for `text`."""
    translated = Translations.load(str(ROOT / "translations"), ["id"]).gettext(text)
    assert translated != text, f"no Indonesian translation for {text!r}"
    return translated


def test_coordinator_adds_member_on_a_phone_in_indonesian(app, live_server, phone_page):
    coordinator = make_user(app, email="ketua@kub.test", name="Sri Wahyuni")
    group = make_group(app, coordinator, name="KUB Jahit Sumberejo")
    page = phone_page

    page.goto(f"{live_server}/login")
    assert page.locator("html").get_attribute("lang") == "id"
    page.fill("input[name=login]", coordinator.email)
    page.fill("input[name=password]", coordinator.password)
    page.click(f"button:has-text('{indonesian('Log in')}')")
    page.wait_for_url(f"{live_server}/me/groups")
    assert page.get_by_text("KUB Jahit Sumberejo").first.is_visible()

    page.click(f"text={indonesian('Manage members')}")
    page.wait_for_url(f"{live_server}/groups/{group.id}/members")
    assert page.get_by_role("heading", name=indonesian("Add a member")).is_visible()
    page.fill("input[name=name]", "Siti Aminah")
    page.fill("input[name=phone]", "0812-3300-0102")
    page.click(f"button:has-text('{indonesian('Add member')}')")

    page.wait_for_selector("p.code")
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", page.locator("p.code").inner_text().strip())
    assert page.locator(".flash").inner_text().strip() == indonesian("%(name)s was added.") % {"name": "Siti Aminah"}
    assert page.locator("a[href^='https://wa.me/6281233000102?text=']").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.click(f"text={indonesian('Back to members')}")
    page.wait_for_url(f"{live_server}/groups/{group.id}/members")
    assert page.locator("a[href='tel:+6281233000102']").inner_text() == "0812-3300-0102"
    row = page.locator("tr", has_text="Siti Aminah")
    assert row.count() == 1
    assert indonesian("member") in row.inner_text()
    assert indonesian("has account") not in row.inner_text()  # linked only once she enters the code
    # Nothing on the page is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
