"""Text folding: for search (case and accents do not matter) and for names that must not look alike."""

import unicodedata

KEY_MAX_LENGTH = 240  # a name key is cut to this (a few characters, such as ligatures, unfold into several)

# Cyrillic and Greek letters drawn like Latin ones ("КUB" with a Cyrillic К), in both cases, as case folding
# turns an upper-case one into its lower case (Cyrillic В and в both read as b).
_HOMOGLYPHS = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеіјоѕрсухһԁԛԝвкмнт"  # Cyrillic
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοινκρτυχβεημ",  # Greek
    "ABESIJKMHOPCTXYaeijospcyxhdqwbkmhtABEZHIKMNOPTYXaoivkptuxbenu",
)
# After case folding: what a reader cannot tell apart on a small screen. 0/o, 1/l/i/ı/|, 5/s.
_LOOKALIKES = str.maketrans({"0": "o", "1": "l", "i": "l", "ı": "l", "|": "l", "ǀ": "l", "5": "s"})
# Kept in a name key: letters, digits, spacing marks of scripts such as Javanese, and symbols such as emoji.
_KEPT = ("L", "N", "Mc", "S")


def fold(text: str | None) -> str:
    """'Cabé Rawit  MERAH' -> 'cabe rawit merah': no accents, one case, single spaces."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def name_key(text: str | None) -> str:
    """A name as it reads to the eye, to tell whether two names would be taken for each other.

    'KUB Jahit Sumberejo', 'kub jahit sumberej0', 'KUB  Jahit Sumbérejo' and 'K.U.B. Jahit
    Sumber-ejo' have one key: no case, no accents or other combining marks, no spaces,
    punctuation or invisible characters, Cyrillic and Greek letters drawn like Latin ones
    read as those, and 0 as o, 1 and i (so I) as l, 5 as s. Two different names can share a
    key (`Sil` and `S1l`): that is the point. A name of only such characters keeps its
    case-folded text. At most KEY_MAX_LENGTH characters.
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text).translate(_HOMOGLYPHS).casefold()
    decomposed = unicodedata.normalize("NFKD", folded).translate(_HOMOGLYPHS)  # case folding makes some anew
    kept = "".join(c for c in decomposed if unicodedata.category(c).startswith(_KEPT))
    key = kept.translate(_LOOKALIKES) or "".join(decomposed.split())
    return key[:KEY_MAX_LENGTH]
