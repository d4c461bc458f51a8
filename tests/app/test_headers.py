"""The security headers: a Content-Security-Policy and no framing on every response (pages, API answers, the API
docs, error pages), Stripe only where a card is entered, nothing inline in any template."""

import base64
import hashlib
import re
from pathlib import Path

import pytest

from core.headers import docs_policy
from payments.providers import StripeProvider
from tests.app.test_pages import boom_app  # noqa: F401 (fixture)
from tests.factories import bearer, make_group, make_token, make_user

PAGE_POLICY = "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def policy(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy, by directive."""
    text = response.headers["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in text.split(";"))}


def assert_guarded(response) -> dict[str, list[str]]:
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    found = policy(response)
    assert found["frame-ancestors"] == ["'none'"] and found["object-src"] == ["'none'"]
    assert found["default-src"] == ["'self'"]
    assert not any("'unsafe-inline'" in sources or "'unsafe-eval'" in sources for sources in found.values())
    return found


def test_a_page_allows_only_the_site_itself(app, client):
    response = client.get("/catalog")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == PAGE_POLICY
    assert_guarded(response)


def test_api_answers_carry_the_headers(app, client):
    user = make_user(app, email="ketua@blitar.test")
    group = make_group(app, user)
    headers = bearer(make_token(app, user))
    answer = client.get(f"/api/v1/groups/{group.id}", headers=headers)
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.headers["Content-Security-Policy"] == PAGE_POLICY
    assert_guarded(answer)
    assert_guarded(client.post("/api/v1/groups", json={}, headers=headers))  # a refused write too


@pytest.mark.parametrize("path", ["/tidak-ada", "/api/v1/tidak-ada", "/api/v1/openapi.json"])
def test_error_pages_and_the_openapi_document_carry_the_headers(app, client, path):
    assert_guarded(client.get(path))


def test_an_unexpected_error_carries_the_headers(app, db, boom_app):
    for path in ("/boom", "/api/v1/boom"):
        response = boom_app.test_client().get(path)
        assert response.status_code == 500
        assert response.headers["Content-Security-Policy"] == PAGE_POLICY
        assert_guarded(response)


def test_the_api_docs_may_not_be_framed_and_run_only_their_own_start_up_script(app, client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    found = assert_guarded(response)
    (script,) = re.findall(r"<script>(.*?)</script>", response.get_data(as_text=True), re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert found["script-src"] == ["'self'", f"'sha256-{digest}'"]
    assert found["img-src"] == ["'self'", "data:"]  # Swagger UI's icons
    assert "validatorUrl" in script  # its badge would come from validator.swagger.io
    # Its files come from the app itself.
    for asset in re.findall(r'(?:src|href)="([^"]+)"', response.get_data(as_text=True)):
        assert asset.startswith("/api/v1/docs/assets/"), asset
        assert_guarded(client.get(asset))


def test_the_docs_policy_hashes_each_inline_script_and_no_loaded_one():
    body = b'<script src="/a.js"></script><script>\n  var a = 1;\n</script><SCRIPT type="text/javascript">b()</SCRIPT>'
    text = docs_policy(body)
    # sha256 of "\n  var a = 1;\n" and of "b()", in base64
    assert "'sha256-wYD6gJuOAPxlJHFvhr2Zk0r9F+gmt8nwaf1uW8o5LTY='" in text
    assert "'sha256-cf242PFc/kb7xD0Qzhsmd9vvRkc+cWFmbi+k+YvtdKc='" in text
    assert text.count("'sha256-") == 2


def test_stripe_is_allowed_on_the_card_page_only_from_stripe(app):
    """Without STRIPE_API_BASE: Stripe's script, its card frames and its API (Stripe's published policy)."""
    with app.test_request_context():
        app.config["STRIPE_API_BASE"], saved = None, app.config["STRIPE_API_BASE"]
        try:
            sources = StripeProvider().page_sources()
        finally:
            app.config["STRIPE_API_BASE"] = saved
    assert sources == {
        "script_src": ("https://js.stripe.com",),
        "frame_src": ("https://js.stripe.com", "https://hooks.stripe.com"),
        "connect_src": ("https://api.stripe.com",),
    }


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> block"),
    (re.compile(r"\sstyle=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_anything_inline_the_policy_would_refuse(template):
    source = template.read_text()
    for pattern, what in INLINE:
        assert not pattern.search(source), f"{template.name} has {what}: move it to static/ (core/assets.py)"


def test_the_sites_own_files_are_named_by_content_and_kept_a_year(app, client):
    body = client.get("/catalog").get_data(as_text=True)
    (css,) = re.findall(r'<link rel="stylesheet" href="([^"]+)">', body)
    assert re.fullmatch(r"/static/site\.css\?v=[0-9a-f]{12}", css)
    response = client.get(css)
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/static/site.css").headers.get("Cache-Control") == "no-cache"  # unnamed: asked again
