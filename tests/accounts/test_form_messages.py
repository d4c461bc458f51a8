"""The register, login and join pages show their form errors in Indonesian, never in WTForms' English."""

import pytest

from tests.core.test_forms import ENGLISH
from tests.pages import html, t

LONG = "x" * 3000

PAGES = {
    "/register": [
        {},
        {"name": "Sri", "phone": "0812-3456-7890", "password": "short"},
        {"name": LONG, "email": LONG, "phone": LONG, "password": LONG},
    ],
    "/login": [{}, {"login": LONG, "password": LONG}],
    "/join": [{}, {"code": LONG, "phone": LONG, "password": LONG}],
}


def _no_english(page: str) -> None:
    texts = [line.split("</p>")[0] for line in page.split('<p class="field-error">')[1:]]
    assert texts, "the page shows no field error"
    for text in texts:
        assert not any(pattern.fullmatch(text) for pattern in ENGLISH), text


@pytest.mark.parametrize("path", sorted(PAGES))
def test_form_errors_are_indonesian(client, path):
    for data in PAGES[path]:
        response = client.post(path, data=data)
        assert response.status_code == 200
        _no_english(html(response))


def test_register_says_required_and_length_in_indonesian(app, client):
    page = html(client.post("/register", data={"name": "Sri", "phone": "0812-3456-7890", "password": "short"}))
    assert "This field is required." not in page
    assert "Field must be between" not in page
    assert t(app, "Field must be between %(min)d and %(max)d characters long.", min=8, max=256) in page
    assert "Kolom ini wajib diisi." in html(client.post("/login", data={}))
