"""The API docs in a real browser: Swagger UI, served from the app itself, works under its Content-Security-Policy
and loads nothing from elsewhere."""

from urllib.parse import urlsplit


def test_swagger_ui_renders_and_tries_a_call_under_its_policy(live_server, phone_page):
    page = phone_page
    origins = set()
    page.on("request", lambda request: origins.add(urlsplit(request.url).netloc))

    response = page.goto(f"{live_server}/api/v1/docs")
    assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() > 10
    # Its script runs: an operation opens and a call is made from the page.
    products = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/api/v1/products"])')
    products.locator(".opblock-summary").click()
    products.locator(".try-out__btn").click()
    products.locator(".execute").click()
    status = products.locator(".live-responses-table tbody .response-col_status")
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert origins == {urlsplit(live_server).netloc}
