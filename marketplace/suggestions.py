"""The catalog's nearest names, offered when a search finds nothing ("kabaii" offers "Cabai rawit").

Each word of the search is compared (difflib's ratio) with each word of the names the catalog lists, all
folded as search folds them (core.text.fold); a name scores the mean of its words' best ratios. The names
scored (at most CANDIDATES) are those holding, for each word of the search, a word of the catalog's
vocabulary (marketplace.listing's catalog_words) that reads near it or the word itself, and when there are
none, those holding any such word, found through the search index: the cost grows with the vocabulary and
CANDIDATES, not with the catalog. Asked only for a search with no results; given the catalog's version, the
answer is kept for the same search under it (names change only with a new version), so that a search that
finds nothing, asked again with the cache off, is not scored again.
"""

from difflib import SequenceMatcher

from sqlalchemy import select

from core.extensions import db
from core.text import fold
from inventory.models import Product
from marketplace import search
from marketplace.catalog_cache import LruCache
from marketplace.listing import CatalogListing, CatalogWord

CANDIDATES = 100  # distinct names scored at most
SHOWN = 5
CUTOFF = 0.6  # as difflib.get_close_matches
WORDS = 5  # words of the search compared
LONGEST = 40  # characters of a search word compared
KEPT = 256  # searches whose nearest names a process keeps


def _ratio(word: str, other: str) -> float:
    return SequenceMatcher(None, word, other).ratio()


def _near(word: str, vocabulary: list[str]) -> list[str]:
    """The vocabulary's words that read at least CUTOFF near `word`."""
    found = []
    for known in vocabulary:
        matcher = SequenceMatcher(None, word, known)
        if matcher.real_quick_ratio() >= CUTOFF and matcher.quick_ratio() >= CUTOFF and matcher.ratio() >= CUTOFF:
            found.append(known)
    return found


def _names(words: list[str]) -> list[str]:
    """Up to CANDIDATES distinct listed names holding, for every word of the search, a vocabulary word near it
    (or the word itself); when none does, those holding any of them."""
    vocabulary = list(db.session.scalars(select(CatalogWord.word)))
    pieces = [_near(word, vocabulary) + ([word] if len(word) >= search.TRIGRAM else []) for word in words]
    pieces = [sorted(set(found)) for found in pieces if found]
    if not pieces:
        return []
    # Not DISTINCT in SQL: that would read every match before the first name; names repeat rarely.
    names = select(Product.name).join(CatalogListing, CatalogListing.product_id == Product.id)
    every = [condition for found in pieces for condition in search.holding_any(found)]
    found = list(dict.fromkeys(db.session.scalars(names.where(*every).limit(CANDIDATES))))
    if found:
        return found
    anyone = search.holding_any(sorted({piece for found in pieces for piece in found}))
    return list(dict.fromkeys(db.session.scalars(names.where(*anyone).limit(CANDIDATES))))


def nearest_names(q: str | None, version: tuple | None = None) -> list[str]:
    """Up to SHOWN names the catalog lists that read nearest to the search `q`, nearest first.

    `version`, when given (the database and the catalog's version), keeps the answer for the same `q` under it.
    """
    words = [word[:LONGEST] for word in (fold(q) or "").split()[:WORDS]]
    if not words:
        return []
    key = (version, tuple(words)) if version is not None else None
    [found] = _kept.get([key]) if key else [None]
    if found is None:
        found = _nearest(words)
        if key:
            _kept.put({key: found})
    return list(found)


def _nearest(words: list[str]) -> tuple[str, ...]:
    """A name scores the mean over the search's words of its best ratio; each pair of words is compared once, as
    names share most of their words."""
    ratios: dict[tuple[str, str], float] = {}
    scored = []
    for name in _names(words):
        parts = set(fold(name).split())
        total = 0.0
        for word in words:
            best = 0.0
            for part in parts:
                ratio = ratios.get((word, part))
                if ratio is None:
                    ratio = ratios[word, part] = _ratio(word, part)
                best = max(best, ratio)
            total += best
        score = total / len(words)
        if score >= CUTOFF:
            scored.append((-score, name.lower(), name))
    return tuple(name for _score, _key, name in sorted(scored)[:SHOWN])


def forget() -> None:
    """Forget the kept nearest names (with the catalog's other kept pieces)."""
    _kept.clear()


_kept = LruCache(KEPT)
