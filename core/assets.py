"""The site's own static files (static/: the style sheets, the card form's and the print button's scripts).

Pages link them with `static_url(name)`, which adds a digest of the file's content, so a phone keeps each
one for a year and fetches it again only when it changed. There is nothing inline: the Content-Security-Policy
(core/headers.py) allows scripts and styles from the site itself only.
"""

import hashlib
from pathlib import Path

from flask import Flask, request, url_for

KEEP_SECONDS = 365 * 24 * 60 * 60


def init_app(app: Flask) -> None:
    """Offer `static_url` to templates and let browsers keep what it links."""
    digests: dict[str, str] = {}

    def static_url(filename: str) -> str:
        """The address of a static file, named by its content."""
        if filename not in digests or app.debug:
            content = (Path(app.static_folder) / filename).read_bytes()
            digests[filename] = hashlib.sha256(content).hexdigest()[:12]
        return url_for("static", filename=filename, v=digests[filename])

    app.add_template_global(static_url)

    @app.after_request
    def _keep_named_assets(response):
        if request.endpoint == "static" and response.status_code == 200 and "v" in request.args:
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = KEEP_SECONDS
            response.cache_control.immutable = True
        return response
