"""A catalog search turned into conditions on the listing (marketplace.listing), and how its results rank.

A search is folded (core.text.fold) and read as terms: a word, or a few words that the
spelling file names together ("bawang merah"). A listed name matches a term when it holds
- the term's words, each anywhere in the name (the literal match, as the catalog always did);
- or another spelling of it from the spelling file (marketplace/spelling.txt: "cabe" finds
  "cabai", "brambang" finds "bawang merah");
- or, for a word of letters of TYPO_MIN_LENGTH or more that is in no word of a listed name, a
  word of listed names within a small edit distance (one edit up to six letters, two beyond;
  a swap of two neighbours is one): "tomta" finds "tomat".
A name is found when it matches every term. Words of listed names come from the vocabulary
that the database keeps (catalog_words), so which words a mistake is near is decided the
same way on either database, and the cost is that of the vocabulary, not of the catalog.

The relevance order ranks each name by the sum over the terms of how it matched them: the
term's words as whole words (0), inside words (1), another spelling (2), a near word (3);
ties go by name.

Finding: SQLite asks its FTS5 trigram table, PostgreSQL its pg_trgm index, for each term
whose pieces have three characters or more (a trigram index cannot look up fewer); a term
with a shorter piece is tested on the listing's own text (`instr`), which is as exact. So is
a common word (in more than COMMON_SHARE of listed names, by the vocabulary's counts) beside
a term the index can look up: the index would list most of the catalog for it.
"""

import threading
from dataclasses import dataclass, replace
from pathlib import Path

from flask import current_app, g, has_app_context
from sqlalchemy import and_, case, func, literal, or_, select, text

from core.extensions import db
from core.text import fold
from marketplace.catalog_cache import LruCache
from marketplace.listing import CatalogCount, CatalogListing, CatalogWord

SPELLING_FILE = Path(__file__).with_name("spelling.txt")
TYPO_MIN_LENGTH = 4
TYPO_WORDS = 5  # words of one search looked up for mistakes, at most
TRIGRAM = 3
KEPT_SEARCHES = 1024  # searches whose terms a process keeps
COMMON_SHARE = 0.25  # of listed names: a word in more of them narrows a search with other words little


@dataclass(frozen=True)
class Term:
    """What one term of a search matches: its words (all of them), other spellings, near words."""

    words: tuple[str, ...]
    spellings: tuple[str, ...] = ()
    near: tuple[str, ...] = ()
    common: bool = False  # a word in more than COMMON_SHARE of listed names: tested, not looked up (search_terms)

    def alternatives(self) -> list[tuple[str, ...]]:
        """Each way to match the term, as the pieces a name must all hold."""
        return [self.words, *((s,) for s in self.spellings), *((w,) for w in self.near)]

    def rank(self, name: str) -> int | None:
        """How `name` (folded) matches the term: 0 best to 3, None when it does not."""
        if all(f" {w} " in f" {name} " for w in self.words):
            return 0
        if all(w in name for w in self.words):
            return 1
        if any(s in name for s in self.spellings):
            return 2
        if any(w in name for w in self.near):
            return 3
        return None


# --- the spelling file --------------------------------------------------------------------------------------


def read_spellings(path: Path) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Each spelling in the file (as its folded words) and the other spellings of its groups, in file order."""
    others: dict[tuple[str, ...], list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#"):
            continue
        group = [spelling for spelling in (fold(part) for part in line.split(",")) if spelling]
        for spelling in group:
            known = others.setdefault(tuple(spelling.split()), [])
            known += [other for other in group if other != spelling and other not in known]
    return {words: tuple(found) for words, found in others.items()}


_spellings: tuple[Path, float, dict] | None = None
_spellings_lock = threading.Lock()


def spellings() -> dict[tuple[str, ...], tuple[str, ...]]:
    """The spelling file's groups (read again when the file changes); SEARCH_SPELLING_FILE names another file."""
    global _spellings
    path = Path(current_app.config.get("SEARCH_SPELLING_FILE") or SPELLING_FILE) if has_app_context() else None
    path = path or SPELLING_FILE
    changed = path.stat().st_mtime
    with _spellings_lock:
        if _spellings is None or _spellings[:2] != (path, changed):
            _spellings = (path, changed, read_spellings(path))
        return _spellings[2]


# --- mistakes -----------------------------------------------------------------------------------------------


def allowed_edits(word: str) -> int:
    """How many edits a word may be from the one meant: one up to six letters, two beyond."""
    return 1 if len(word) <= 6 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, replace, swap of neighbours) from `a` to `b`; limit + 1 when more than `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, row = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + cost)
            if before is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, row = row, current
    return min(row[-1], limit + 1)


def may_be_mistyped(word: str) -> bool:
    """Whether a search word is looked up for mistakes: letters only, long enough."""
    return len(word) >= TYPO_MIN_LENGTH and not any("0" <= c <= "9" for c in word)


def near_words(word: str, vocabulary) -> tuple[str, ...]:
    """The words of `vocabulary` within allowed_edits of `word`, nearest first, then in order; none when `word`
    is inside one of them (it is found as it is)."""
    vocabulary = list(vocabulary)
    if not may_be_mistyped(word) or any(word in known for known in vocabulary):
        return ()
    limit = allowed_edits(word)
    found = sorted((edit_distance(word, known, limit), known) for known in vocabulary if known != word)
    return tuple(known for distance, known in found if distance <= limit)


def _vocabulary_near(word: str) -> tuple[str, ...]:
    """near_words against the database's vocabulary: words of close length, and whether any holds `word`."""
    if not may_be_mistyped(word):
        return ()
    holds = func.strpos if _dialect() == "postgresql" else func.instr
    if db.session.scalar(select(literal(1)).where(holds(CatalogWord.word, word) > 0).limit(1)):
        return ()
    limit = allowed_edits(word)
    close = select(CatalogWord.word).where(CatalogWord.length.between(len(word) - limit, len(word) + limit))
    return near_words(word, db.session.scalars(close))


# --- terms --------------------------------------------------------------------------------------------------


def terms_of(q: str | None, near=None) -> list[Term]:
    """The terms of a search (see the module docstring); `near(word)` finds near words (the vocabulary's)."""
    words = fold(q).split()
    known = spellings()
    longest = max((len(k) for k in known), default=1)
    near = near or _vocabulary_near
    terms, i, looked_up = [], 0, 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            phrase = tuple(words[i : i + size])
            if phrase in known or size == 1:
                break
        found = ()
        if size == 1 and looked_up < TYPO_WORDS and may_be_mistyped(phrase[0]):
            looked_up += 1
            found = near(phrase[0])
        terms.append(Term(phrase, known.get(phrase, ()), found))
        i += size
    return terms


def search_terms(q: str | None, version: tuple | None = None) -> list[Term]:
    """terms_of(q) against the database's vocabulary, found once per request and, given the catalog's
    `version` (the database and its version: every change to a listed name moves it on), kept for the next searches of the same words under
    it and the same spelling file (most searches share their words: "cabai", "kaos")."""
    if not has_app_context():
        return terms_of(q)
    asked = g.setdefault("_catalog_search_terms", {})
    if q in asked:
        return asked[q]
    key = None if version is None else (version, _spelling_stamp(), q)
    [found] = _kept_terms.get([key]) if key else [None]
    if found is None:
        found = terms_of(q, near=None if version is None else lambda word: _kept_near(word, version))
        if version is not None and len(found) > 1:
            found = [_marked_common(term, version) for term in found]
        if key:
            _kept_terms.put({key: found})
    asked[q] = found
    return found


def _spelling_stamp() -> tuple:
    """Which spelling file, as of when: what kept terms were found under."""
    spellings()
    return _spellings[:2]


def _kept_near(word: str, version: tuple) -> tuple[str, ...]:
    """_vocabulary_near(word), kept under the catalog's `version` (the vocabulary changes only with it): a new
    search of known words ("produk 5157" after "produk 212") asks the database nothing about them."""
    [found] = _kept_words.get([(version, word)])
    if found is None:
        found = _vocabulary_near(word)
        _kept_words.put({(version, word): found})
    return found


def _marked_common(term: Term, version: tuple) -> Term:
    """`term`, marked common when it is one word, with no other spelling or near word, that the vocabulary counts
    in more than COMMON_SHARE of the listed names."""
    word = term.words[0]
    if len(term.words) != 1 or term.spellings or term.near or len(word) < TRIGRAM or not word.isalpha():
        return term  # the vocabulary holds words of three letters or more
    [share] = _kept_shares.get([(version, word)])
    if share is None:
        listed = select(func.sum(CatalogCount.listings)).scalar_subquery()
        found = db.session.execute(select(CatalogWord.listings, listed).where(CatalogWord.word == word)).first()
        share = found[0] / found[1] if found and found[1] else 0.0
        _kept_shares.put({(version, word): share})
    return replace(term, common=share > COMMON_SHARE)


def forget_terms() -> None:
    """Forget the kept terms of searches and near words (with the catalog's other kept pieces)."""
    global _kept_terms, _kept_words, _kept_shares
    _kept_terms, _kept_words, _kept_shares = LruCache(KEPT_SEARCHES), LruCache(KEPT_SEARCHES), LruCache(KEPT_SEARCHES)


_kept_terms = LruCache(KEPT_SEARCHES)
_kept_words = LruCache(KEPT_SEARCHES)  # near words of one search word, by (database and version, word)
_kept_shares = LruCache(KEPT_SEARCHES)  # the share of listed names holding a word, by (database and version, word)


# --- conditions and ranking ---------------------------------------------------------------------------------


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _holds(piece: str, column=CatalogListing.search_text, dialect: str | None = None):
    if (dialect or _dialect()) == "postgresql":
        return func.strpos(column, piece) > 0
    return func.instr(column, piece) > 0


def _like(piece: str):
    escaped = piece.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return CatalogListing.search_text.like(f"%{escaped}%")  # PostgreSQL's LIKE escapes with \ by default


def _fts_phrase(piece: str) -> str:
    return '"' + piece.replace('"', '""') + '"'


def search_conditions(terms: list[Term]) -> list:
    """WHERE conditions on CatalogListing that hold for the names matching every term.

    A common term is tested on the rows the other terms find through the index, when one of them can be looked up
    in it: a word in most names narrows little, and its index entries are as many as those names ("produk" of
    "produk 10435"). The same rows either way: the index finds exactly the names holding a piece.
    """
    indexed = [term for term in terms if not term.common and _indexable(term)]
    tested = [term for term in terms if term.common] if indexed else []
    looked_up = [term for term in terms if term not in tested]
    dialect = _dialect() if tested else None
    return _conditions([term.alternatives() for term in looked_up]) + [
        _holds(term.words[0], dialect=dialect) for term in tested
    ]


def _indexable(term: Term) -> bool:
    return all(len(piece) >= TRIGRAM for alternative in term.alternatives() for piece in alternative)


def holding_any(pieces) -> list:
    """WHERE conditions on CatalogListing that hold for the names holding any of `pieces`."""
    return _conditions([[(piece,) for piece in pieces]]) if pieces else [literal(False)]


def _conditions(terms: list[list[tuple[str, ...]]]) -> list:
    # Each term: its alternatives, each the pieces a name must all hold.
    postgresql = _dialect() == "postgresql"
    conditions, matched = [], []
    for alternatives in map(_fewest, terms):
        if postgresql:
            conditions.append(or_(*(and_(*(_like(p) for p in alt)) for alt in alternatives)))
        elif all(len(p) >= TRIGRAM for alt in alternatives for p in alt):
            matched.append(" OR ".join("(" + " AND ".join(_fts_phrase(p) for p in alt) + ")" for alt in alternatives))
        else:
            conditions.append(or_(*(and_(*(_holds(p, dialect="sqlite") for p in alt)) for alt in alternatives)))
    if matched:
        found = text("SELECT rowid FROM catalog_search WHERE catalog_search MATCH :match").bindparams(
            match=" AND ".join(f"({m})" for m in matched)
        )
        conditions.insert(0, CatalogListing.product_id.in_(found))
    return conditions


def _fewest(alternatives: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The alternatives without those another one implies ("tomato" holds "tomat"): the same rows, less to look up."""
    singles = [alt[0] for alt in alternatives if len(alt) == 1]
    kept = []
    for alt in alternatives:
        implied = len(alt) == 1 and any(other != alt[0] and other in alt[0] for other in singles)
        if not implied and alt not in kept:
            kept.append(alt)
    return kept


def relevance(terms: list[Term]):
    """The rank of a listing row for these terms (see the module docstring): lower is closer."""
    padded = " " + CatalogListing.search_text + " "
    dialect, ranks = _dialect(), []
    for term in terms:
        whens = [(and_(*(_holds(f" {w} ", padded, dialect) for w in term.words)), 0)]
        whens.append((and_(*(_holds(w, dialect=dialect) for w in term.words)), 1))
        if term.spellings:
            whens.append((or_(*(_holds(s, dialect=dialect) for s in term.spellings)), 2))
        ranks.append(case(*whens, else_=3))
    return sum(ranks[1:], ranks[0]) if ranks else literal(0)
