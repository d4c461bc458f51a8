"""The API blueprint: flask-smorest's, with a JSON reader that answers every unreadable body with 400."""
import json

import flask_smorest
from webargs.flaskparser import FlaskParser


class SafeJSONParser(FlaskParser):
    """webargs catches only JSONDecodeError; a body nested thousands deep (RecursionError) or an
    integer of thousands of digits (ValueError) would otherwise end in a 500."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as exc:
            raise json.JSONDecodeError("unreadable JSON body", "?", 0) from exc


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = SafeJSONParser()
