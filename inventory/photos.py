"""Product photos: checked by content, re-encoded small, stored under the instance folder."""

import io
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ValidationFailed
from core.extensions import db
from inventory.models import Product

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
WEB_SIZE = (800, 800)
THUMB_SIZE = (240, 240)


def photo_dir() -> Path:
    path = Path(current_app.config.get("MEDIA_DIR") or Path(current_app.instance_path) / "media" / "products")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _error(message, field: str = "photo") -> ValidationFailed:
    return ValidationFailed(errors={field: [str(message)]})


def open_photo(data: bytes, field: str = "photo") -> Image.Image:
    """Check by content that `data` is a JPEG, PNG or WebP image; decode it upright, in RGB.

    Anything else (another format, a broken file, too many pixels) is refused
    with a ValidationFailed on `field`; the caller re-encodes what it keeps.
    """
    if not data:
        raise _error(_("Choose a photo."), field)
    if len(data) > MAX_UPLOAD_BYTES:
        raise _error(_("The photo is too large: at most 5 MB."), field)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise _error(_("Use a JPEG, PNG or WebP photo."), field)
            if probe.width * probe.height > MAX_PIXELS:
                raise _error(_("The photo has too many pixels."), field)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            return ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError):
        raise _error(_("That file is not a photo we can read. Use JPEG, PNG or WebP."), field) from None


def save_product_photo(product: Product, data: bytes) -> str:
    """Check that `data` is a JPEG, PNG or WebP image, shrink it to web size as WebP, and attach it."""
    image = open_photo(data)
    try:
        image.thumbnail(WEB_SIZE)
        name = f"{product.id}-{secrets.token_hex(8)}"
        image.save(photo_dir() / f"{name}.webp", "WEBP", quality=78, method=4)
        image.thumbnail(THUMB_SIZE)
        image.save(photo_dir() / f"{name}-thumb.webp", "WEBP", quality=72, method=4)
    except (OSError, ValueError):
        raise _error(_("That file is not a photo we can read. Use JPEG, PNG or WebP.")) from None
    product.photo = name  # the previous files stay: a rolled-back change must not lose the old photo
    db.session.flush()
    return name
