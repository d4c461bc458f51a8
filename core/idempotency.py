"""The Idempotency-Key header: a retried request gets the first answer, never a second effect.

Checkouts, payments, refunds, payouts and savings take one. The key is read the
same way everywhere, the body is fingerprinted, and a key sent again with another
body is refused (422); each caller keeps its rows' unique index on the key.
"""

import hashlib
import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import ValidationFailed

KEY_MAX_LENGTH = 100


def read_key(key) -> str | None:
    """The Idempotency-Key header, trimmed; None when not sent."""
    if key is None or key == "":
        return None
    if not isinstance(key, str) or len(key) > KEY_MAX_LENGTH or not key.isprintable() or not key.strip():
        raise ValidationFailed(
            errors={"Idempotency-Key": [_("Use a key of at most %(n)d printable characters.", n=KEY_MAX_LENGTH)]}
        )
    return key.strip()


def request_fingerprint(data: dict) -> str:
    """The same body, in any key order, gives the same fingerprint."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replayed(existing, fingerprint: str, hint=None):
    """The first result for a retry; the same key with another body is refused (422)."""
    if existing.request_hash != fingerprint:
        raise ValidationFailed(
            _l("This Idempotency-Key was used with a different request."),
            {"Idempotency-Key": [str(hint or _("Use a new key for a new request."))]},
        )
    return existing
