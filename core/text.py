"""Text folding for search: case and accents do not matter."""

import unicodedata


def fold(text: str | None) -> str:
    """'Cabé Rawit  MERAH' -> 'cabe rawit merah': no accents, one case, single spaces."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())
