"""On a 390 px phone, in Indonesian: the header of every role stays within two rows of 44 px tap targets."""

import pytest

from tests.e2e.conftest import PHONE
from tests.e2e.test_members_in_browser import indonesian
from tests.factories import PASSWORD, make_group, make_member, make_user

TAP = 44
TWO_ROWS = 2 * TAP + 8  # two rows of links, and a little room


def measure(page) -> dict:
    return page.evaluate(
        """() => ({
            header: document.querySelector('header').getBoundingClientRect().height,
            targets: [...document.querySelectorAll('header a, header button')].map(e => {
                const r = e.getBoundingClientRect();
                return {text: e.innerText, width: r.width, height: r.height};
            }),
            scroll: document.documentElement.scrollWidth,
        })"""
    )


@pytest.mark.parametrize("role", ["visitor", "buyer", "member", "coordinator", "admin"])
def test_each_roles_header_fits_two_rows_of_large_tap_targets(app, live_server, phone_page, role):
    lead = make_user(app, email="ketua@kub.test", name="Sri Wahyuni")
    group = make_group(app, lead, name="KUB Jahit Sumberejo")
    member = make_user(app, email="siti@kub.test", name="Siti Aminah")
    make_member(app, group, name="Siti Aminah", user=member)
    buyer = make_user(app, email="pembeli@warung.test", name="Bu Ratna")
    admin = make_user(app, email="admin@kabupaten.test", name="Admin", admin=True)
    who = {"buyer": buyer, "member": member, "coordinator": lead, "admin": admin}.get(role)
    page = phone_page
    if who is not None:
        page.goto(f"{live_server}/login")
        page.fill("input[name=login]", who.email)
        page.fill("input[name=password]", PASSWORD)
        page.click(f"button:has-text('{indonesian('Log in')}')")
        page.wait_for_load_state()
    page.goto(f"{live_server}/catalog")
    found = measure(page)
    assert found["header"] <= TWO_ROWS, found
    assert found["scroll"] <= PHONE["width"]
    for target in found["targets"]:
        assert target["height"] >= TAP and target["width"] >= TAP, target
