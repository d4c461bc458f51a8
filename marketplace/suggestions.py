"""The catalog's nearest names, offered when a search finds nothing ("cabe" offers "Cabai rawit").

Each word of the search is compared (difflib's ratio) with each word of the names the catalog lists, all
folded as search folds them (core.text.fold); a name scores the mean of its words' best ratios. Cheap: one
query of at most CANDIDATES distinct names, asked only for a search with no results, and kept with the
catalog page it belongs to (marketplace.catalog).
"""

from difflib import SequenceMatcher

from sqlalchemy import func, select

from core.extensions import db
from core.text import fold
from groups.models import Group
from inventory.models import Product, ProductStatus, Variant

CANDIDATES = 1000  # distinct names read at most
SHOWN = 5
CUTOFF = 0.6  # as difflib.get_close_matches


def _names() -> list[str]:
    """The distinct names the catalog lists (active products with an active variant, of verified groups)."""
    listed = select(Variant.id).where(Variant.product_id == Product.id, Variant.active.is_(True)).exists()
    query = (
        select(Product.name)
        .join(Group, Group.id == Product.group_id)
        .where(Product.status == ProductStatus.active, Group.verified.is_(True), listed)
        .group_by(Product.name)
        .order_by(func.count().desc(), Product.name)
        .limit(CANDIDATES)
    )
    return list(db.session.scalars(query))


def _word_score(word: str, candidates: list[str]) -> float:
    best = 0.0
    for other in candidates:
        matcher = SequenceMatcher(None, word, other)
        if matcher.real_quick_ratio() > best and matcher.quick_ratio() > best:
            best = max(best, matcher.ratio())
    return best


def nearest_names(q: str | None) -> list[str]:
    """Up to SHOWN names the catalog lists that read nearest to the search `q`, nearest first."""
    words = (fold(q) or "").split()[:5]
    if not words:
        return []
    scored = []
    for name in _names():
        parts = fold(name).split()
        score = sum(_word_score(word[:40], parts) for word in words) / len(words)
        if score >= CUTOFF:
            scored.append((-score, name.lower(), name))
    return [name for _score, _key, name in sorted(scored)[:SHOWN]]
