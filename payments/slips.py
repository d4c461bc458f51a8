"""Transfer slip photos: checked and re-encoded like product photos, kept where only the group's books reach.

A slip shows a buyer's bank account, so it is stored under the media folder in
payments/ (which the public photo route never serves) and sent only to the
coordinator and treasurer of the order's group. The photo is checked and
encoded in memory first; the file is written only once the payment that names
it is recorded, so a refused payment leaves nothing behind.
"""

import hashlib
import io
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from accounts.models import User
from core.errors import NotFound
from core.extensions import db
from core.validation import row_by_id
from inventory.photos import open_photo
from marketplace.models import Order
from payments.models import Payment
from payments.services import common, recorded
from payments.services.common import Retry
from payments.services.recorded import OfflinePayment

SLIP_SIZE = (1600, 1600)  # large enough to read the bank's small print
SLIP_NAME = re.compile(r"[0-9]{1,12}-[0-9a-f]{24}\.webp")


@dataclass
class Slip:
    """A checked slip photo, encoded and named, not yet written."""

    name: str
    data: bytes


def slip_dir() -> Path:
    """payments/ under the media folder (MEDIA_DIR, or the instance's media/)."""
    base = current_app.config.get("MEDIA_DIR")
    path = Path(base) / "payments" if base else Path(current_app.instance_path) / "media" / "payments"
    path.mkdir(parents=True, exist_ok=True)
    return path


def prepare_slip(order: Order, data: bytes) -> Slip:
    """Check that `data` is a JPEG, PNG or WebP photo and re-encode it as WebP; nothing is written yet."""
    image = open_photo(data, "slip")
    image.thumbnail(SLIP_SIZE)
    encoded = io.BytesIO()
    image.save(encoded, "WEBP", quality=82, method=4)
    return Slip(name=f"{order.id}-{secrets.token_hex(12)}.webp", data=encoded.getvalue())


def _write(slip: Slip) -> Path:
    path = slip_dir() / slip.name
    partial = path.with_name(f".{slip.name}.part")
    partial.write_bytes(slip.data)
    os.replace(partial, path)
    return path


def record_payment_with_slip(
    actor: User, order: Order, payment: OfflinePayment, retry: Retry | None = None, upload: bytes | None = None
) -> tuple[Payment, bool, Path | None]:
    """Record cash or a transfer (payments.services.recorded.record_payment), keeping the transfer slip photo
    if any; `retry` stands for what was sent with the slip (`with_slip`).

    Returns (payment, created, the slip file written); the caller commits with
    `commit_with_slip`, which removes the file if the commit fails. A retry of a
    recorded payment writes no second file. The callers refuse anyone but the
    group's coordinator and treasurer before a photo is read; record_payment checks again.
    """
    slip = prepare_slip(order, upload) if upload else None
    payment, created = recorded.record_payment(actor, order, payment, retry, slip_name=slip.name if slip else None)
    written = _write(slip) if slip is not None and created and payment.slip_name == slip.name else None
    return payment, created, written


def with_slip(sent: dict, upload: bytes | None) -> dict:
    """What was sent, with the slip photo's digest: the photo is part of the request an Idempotency-Key stands
    for, so the same key with another photo is refused (422)."""
    return {**sent, "slip_sha256": hashlib.sha256(upload).hexdigest()} if upload else sent


def commit_with_slip(written: Path | None) -> None:
    """Commit the payment just recorded; when the commit fails, the slip file written for it goes too."""
    try:
        db.session.commit()
    except Exception:
        if written is not None:
            written.unlink(missing_ok=True)
        raise


def slip_file(actor: User, order: Order, payment_id: int) -> tuple[Path, str]:
    """Where the slip of one of the order's payments is: for the group's coordinator and treasurer only."""
    common.require_bookkeeper(actor, order)
    payment = row_by_id(Payment, payment_id)
    if (
        payment is None
        or payment.order_id != order.id
        or not payment.slip_name
        or not SLIP_NAME.fullmatch(payment.slip_name)
        or not (slip_dir() / payment.slip_name).is_file()
    ):
        raise NotFound(_l("No transfer slip here."))
    return slip_dir(), payment.slip_name
