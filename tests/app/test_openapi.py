"""The served OpenAPI document equals the committed copy, so a change to the API contract is deliberate.

After changing the API on purpose: `.venv/bin/python -m tests.app.test_openapi` writes the copy anew.
"""

import json
from pathlib import Path

from app import create_app
from config import TestConfig

SNAPSHOT = Path(__file__).with_name("openapi.json")


def served_document(app) -> dict:
    with app.test_client() as client:
        response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_served_openapi_document_equals_the_committed_snapshot(app):
    served = served_document(app)
    committed = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert served == committed, (
        "The served OpenAPI document differs from tests/app/openapi.json. If the change is deliberate, run "
        "`.venv/bin/python -m tests.app.test_openapi` and say what changed in the commit."
    )


def write_snapshot() -> None:
    document = served_document(create_app(TestConfig))
    SNAPSHOT.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {SNAPSHOT}")


if __name__ == "__main__":
    write_snapshot()
