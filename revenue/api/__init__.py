"""The revenue split's JSON API."""

from flask import request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType


def require_json_body() -> None:
    """Refuse a body that is not JSON as reading it as JSON does: 415 for another media type, 400 for none at all.

    webargs loads such a body as an empty object. The endpoints that call this read the
    JSON body themselves before, and answered so, before the caller's login was checked.
    """
    if not request.is_json:
        raise UnsupportedMediaType()
    if not request.get_data(cache=True):
        raise BadRequest()
