"""The security headers every response carries: its Content-Security-Policy, and no framing by any site.

Pages load scripts, styles, images and fonts from the site itself only, with nothing inline (core/assets.py).
A page that needs another origin names it for its own response with `allow_sources` (the card form, for
Stripe.js and its frames). The API docs (Swagger UI, served from the swagger-ui-bundle package) get their
own policy: Swagger UI's inline start-up script is allowed by its hash, and its `data:` icons.
"""

import base64
import hashlib
import re

from flask import Flask, g, request

# Every response: only the site itself, nothing inline, no plugins, no <base>, forms post here, no framing.
POLICY = {
    "default-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
DOCS_ENDPOINT = "api-docs.openapi_swagger_ui"
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def render(policy: dict[str, tuple[str, ...]]) -> str:
    """A policy as the header's text."""
    return "; ".join(f"{directive} {' '.join(sources)}" for directive, sources in policy.items())


PAGE_POLICY = render(POLICY)


def allow_sources(**sources: tuple[str, ...] | list[str]) -> None:
    """Let this response's page load from more origins: `allow_sources(script_src=("https://js.stripe.com",))`.

    A directive not in the policy starts from the site itself ('self').
    """
    wanted = g.setdefault("csp_sources", {})
    for name, origins in sources.items():
        wanted.setdefault(name.replace("_", "-"), []).extend(origins)


def policy_for(extra: dict[str, list[str]]) -> str:
    """The page policy with `extra` origins added to its directives."""
    policy = dict(POLICY)
    for directive, origins in extra.items():
        here = list(policy.get(directive, ("'self'",)))
        policy[directive] = tuple(dict.fromkeys(here + list(origins)))
    return render(policy)


def docs_policy(body: bytes) -> str:
    """Swagger UI's policy: its own files, its inline start-up script by hash, and its data: icons."""
    digests = (base64.b64encode(hashlib.sha256(script).digest()).decode() for script in INLINE_SCRIPT.findall(body))
    hashes = [f"'sha256-{digest}'" for digest in digests]
    return policy_for({"script-src": hashes, "img-src": ["data:"]})


def init_app(app: Flask) -> None:
    """Add the headers to every response, error pages and the API docs included."""

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint == DOCS_ENDPOINT:
            headers["Content-Security-Policy"] = docs_policy(response.get_data())
        elif "csp_sources" in g:
            headers["Content-Security-Policy"] = policy_for(g.csp_sources)
        else:
            headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        return response
