"""API writes signed in by the browser's cookie: refused from another site, JSON or the CSRF token otherwise;
bearer requests are unaffected."""

import pytest
from flask import session
from flask_wtf.csrf import generate_csrf

from payments.models import Payment
from tests.factories import assert_error, count, login
from tests.market import API, body_of, placed

EVIL = "http://evil.test"
OWN = "http://localhost"  # the test client's host


@pytest.fixture
def order(client, market):
    """A cash order of the farmer group, owing Rp90.000."""
    return placed(client, market.buyer, body_of((market.cabai_a, "2")))["orders"][0]


@pytest.fixture
def lead_browser(make_client, market):
    """The group's coordinator, signed in by cookie through POST /api/v1/auth/login."""
    browser = make_client()
    login(browser, market.lead.user)
    return browser


def payments_of(browser, order, **kwargs):
    return browser.post(f"{API}/orders/{order['id']}/payments", **kwargs)


def cash(amount: int = 1000) -> dict:
    return {"json": {"method": "cash", "amount": amount}}


def cash_form(amount: int = 1000) -> dict:
    return {"data": {"method": "cash", "amount": str(amount)}, "content_type": "multipart/form-data"}


def csrf_header(app, browser) -> dict:
    """The X-CSRFToken header with a token of `browser`'s session, as a page of the site would hold it."""
    with app.test_request_context():
        token = generate_csrf()
        raw = session[app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")]
    with browser.session_transaction() as kept:
        kept[app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")] = raw
    return {"X-CSRFToken": token}


def test_a_cookie_write_as_a_form_from_another_site_is_refused_and_records_nothing(app, lead_browser, order):
    """The reproduction: a multipart payment with Origin: http://evil.test answered 201."""
    response = payments_of(lead_browser, order, headers={"Origin": EVIL}, **cash_form())
    body = assert_error(response, 403)
    assert "API" in body["message"]
    assert count(app, Payment) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Origin": "http://localhost:8000"},
        {"Origin": "https://localhost"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": OWN, "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_cookie_write_in_json_from_another_site_is_refused(app, lead_browser, order, headers):
    assert_error(payments_of(lead_browser, order, headers=headers, **cash()), 403)
    assert_error(lead_browser.post(f"{API}/orders/{order['id']}/confirm", headers=headers), 403)
    assert_error(lead_browser.post(f"{API}/auth/logout", headers=headers), 403)
    assert count(app, Payment) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": OWN},
        {"Origin": OWN, "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin"},
        {},  # curl, an older client: JSON cannot come from another site's page without a preflight
    ],
)
def test_a_cookie_write_in_json_from_the_site_itself_or_no_browser_goes_through(app, lead_browser, order, headers):
    assert payments_of(lead_browser, order, headers=headers, **cash()).status_code == 201
    assert count(app, Payment) == 1


def test_an_origin_of_the_public_address_counts_as_the_site_s_own(app, lead_browser, order, monkeypatch):
    """Behind a proxy that does not forward the host, pages come from PUBLIC_URL."""
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://pasar.example.id/")
    headers = {"Origin": "https://pasar.example.id", "Sec-Fetch-Site": "same-origin"}
    assert payments_of(lead_browser, order, headers=headers, **cash()).status_code == 201


@pytest.mark.parametrize("headers", [{}, {"Origin": OWN}, {"Sec-Fetch-Site": "same-origin"}])
def test_a_cookie_write_that_is_not_json_needs_the_csrf_token(app, lead_browser, order, headers):
    assert_error(payments_of(lead_browser, order, headers=headers, **cash_form()), 403)
    urlencoded = {"data": "method=cash&amount=1000", "content_type": "application/x-www-form-urlencoded"}
    assert_error(payments_of(lead_browser, order, headers=headers, **urlencoded), 403)
    text = {"data": '{"method": "cash", "amount": 1000}', "content_type": "text/plain"}
    assert_error(payments_of(lead_browser, order, headers=headers, **text), 403)
    wrong = {**headers, "X-CSRFToken": "not-a-token"}
    assert_error(payments_of(lead_browser, order, headers=wrong, **cash_form()), 403)
    assert count(app, Payment) == 0

    token = {**headers, **csrf_header(app, lead_browser)}
    assert payments_of(lead_browser, order, headers=token, **cash_form()).status_code == 201
    assert count(app, Payment) == 1


def test_the_csrf_token_does_not_excuse_a_write_from_another_site(app, lead_browser, order):
    headers = {"Origin": EVIL, **csrf_header(app, lead_browser)}
    assert_error(payments_of(lead_browser, order, headers=headers, **cash_form()), 403)
    assert count(app, Payment) == 0


def test_the_remember_me_cookie_alone_is_held_to_the_same_rule(app, make_client, market, order):
    browser = make_client()
    response = browser.post(
        "/login", data={"login": market.lead.user.email, "password": "rahasia-123", "remember": "y"}
    )
    assert response.status_code == 302
    browser.delete_cookie("session")
    assert_error(payments_of(browser, order, headers={"Origin": EVIL}, **cash()), 403)
    assert payments_of(browser, order, headers={"Origin": OWN}, **cash()).status_code == 201


def test_reads_with_the_cookie_from_another_site_are_not_refused(lead_browser, order):
    response = lead_browser.get(f"{API}/orders/{order['id']}", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 200


@pytest.mark.parametrize("headers", [{"Origin": EVIL}, {"Sec-Fetch-Site": "cross-site"}, {}])
def test_bearer_requests_are_unaffected(app, client, market, order, headers):
    both = {**market.lead.headers, **headers}
    assert payments_of(client, order, headers=both, **cash()).status_code == 201
    form = {"method": "transfer", "amount": "1000", "reference": "BRI 1"}
    multipart = {"data": form, "content_type": "multipart/form-data"}
    assert payments_of(client, order, headers=both, **multipart).status_code == 201
    assert count(app, Payment) == 2


def test_a_bearer_request_is_unaffected_even_beside_a_browser_s_cookie(app, lead_browser, market, order):
    headers = {**market.lead.headers, "Origin": EVIL}
    slipless = {"data": {"method": "transfer", "amount": "1000"}, "content_type": "multipart/form-data"}
    assert payments_of(lead_browser, order, headers=headers, **slipless).status_code == 201
    assert count(app, Payment) == 1


def test_writes_without_a_cookie_are_not_this_rule_s_concern(client):
    """Nothing signs them in: logging in from a page of another site needs a CORS preflight for its JSON."""
    response = client.post(
        f"{API}/auth/login", json={"email": "a@contoh.test", "password": "x"}, headers={"Origin": EVIL}
    )
    assert_error(response, 401)
