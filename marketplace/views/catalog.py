"""The catalog, a product's page and a group's storefront: what anyone may browse without an account."""

import secrets
from typing import NamedTuple

from flask import current_app, make_response, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from core.extensions import db
from core.formatting import rendering_gettext
from core.pages import page_arg
from groups import services as groups
from groups.models import Group
from inventory import services as stock
from inventory.models import ProductKind
from marketplace import cart as carts
from marketplace.catalog import (
    SORTS,
    CacheFreshness,
    cached_rendering,
    catalog_page,
    catalog_villages,
    product_card,
)
from marketplace.catalog_cache import LruCache
from marketplace.views.cards import CardWriter, harvest_products
from marketplace.views.common import PER_PAGE, bp, text_arg

SORT_LABELS = {
    "newest": _l("Newest"),
    "price_asc": _l("Price: low to high"),
    "price_desc": _l("Price: high to low"),
    "name": _l("Name"),
    "relevance": _l("Best match"),
}


# --- catalog, product page, storefront ------------------------------------------------


def _catalog_args() -> dict:
    kind = request.args.get("kind")
    sort = request.args.get("sort")
    return {
        "q": text_arg("q") or None,
        "kind": kind if kind in {k.value for k in ProductKind} else None,
        "village": text_arg("village") or None,
        "in_stock": request.args.get("in_stock") == "1",
        "sort": sort if sort in SORTS else "newest",
    }


# The catalog's listing (filters, count, cards, pager) is the same for every viewer of one query in one
# language, so it is rendered once per kept catalog page (marketplace.catalog) with placeholders for what is
# the viewer's own: how the add forms open (with the viewer's CSRF token, or for a visitor without a session
# none: see cart_add), the address to come back to, and the cards of products with something in the viewer's
# cart, rendered again for them. For a viewer whose header is everyone's (not logged in, an empty cart, no
# messages waiting) the whole page is kept too, by address, language, session or none, and listing, with only
# the CSRF token to put in, and for a visitor without a session nothing: such a visit makes no session, no
# token and no cookie. The listing's frame and each card are also kept by everything they show, so a page kept
# again (every few seconds) renders only what changed. The placeholders are unguessable, so no product text
# fakes one. Every kind of kept rendering is bounded in number.
_SLOT = secrets.token_hex(12)
_CSRF_SLOT, _HERE_SLOT, _CARD_MARK = f"csrf{_SLOT}", f"here{_SLOT}", f"card{_SLOT}"
_FORM_SLOT, _LISTING_SLOT, _BACK_SLOT = f"form{_SLOT}", f"listing{_SLOT}", f"back{_SLOT}"
_CSRF_SLOT_BYTES = _CSRF_SLOT.encode()
RENDERING_CACHE_SIZE = 4096  # kept frames and cards (a few KB each)
PAGE_CACHE_SIZE = 256  # kept whole pages (some 40 KB each)


class _Listing(NamedTuple):
    """The catalog listing as rendered for no one, cut around its cards, and what it was rendered from."""

    head: str
    cards: tuple[str, ...]
    tail: str
    variant_ids: tuple[frozenset, ...]  # of each card
    page: dict
    args: dict
    villages: tuple


def _render_frame(page: dict, args: dict, villages: tuple) -> list[str]:
    """The listing but for its cards (filters, count, pager), cut where each card goes."""
    html = render_template(
        "marketplace/_catalog_listing.html",
        result=page,
        args=args,
        villages=villages,
        sort_labels=SORT_LABELS,
        card_mark=_CARD_MARK,
        gettext=rendering_gettext(),
    )
    return html.split(_CARD_MARK)


def _render_cards(items: list[dict], in_cart: dict, harvests: frozenset) -> list[str]:
    """The listing's cards, with placeholders for the viewer's add forms and address (marketplace.views.cards)."""
    writer = CardWriter(add_form=_FORM_SLOT, harvests=harvests)
    return [f"\n{writer.card(item, in_cart, _HERE_SLOT)}\n" for item in items]


def _frozen(value):
    """Plain data (dicts, lists, values) as a hashable key."""
    if isinstance(value, dict):
        return tuple((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _card_key(card: dict) -> tuple:
    """A card's data as a hashable key, as `_frozen` but in half its time (a page keys 20 cards): its values
    in order (every card is built by one function, so its keys come in one order), its group's and each of its
    variants' values. A value that is neither plain nor one level deeper makes the key unhashable, so a card of
    another shape fails loudly rather than keys wrongly."""
    return tuple(
        tuple(value.values())
        if type(value) is dict
        else tuple(tuple(v.values()) for v in value)
        if type(value) is list
        else value
        for value in card.values()
    )


_rendering_cache = LruCache(RENDERING_CACHE_SIZE)


def _catalog_listing(page: dict, locale: str, args: tuple, villages: tuple) -> _Listing:
    """The listing for a catalog page; `locale` keys the kept rendering (the template speaks the request's).

    The frame is kept by the page's numbers, the query and the villages; a card by its product's data and
    whether it has a harvest open for pre-orders.
    """
    items = page["items"]
    where = (locale, request.script_root)
    frame_key = ("frame", *where, args, villages, _frozen({k: v for k, v in page.items() if k != "items"}), len(items))
    harvests = harvest_products()  # a card's "pre-order" badge: a kept card is kept by it too
    keys = [frame_key, *(("card", *where, item["id"] in harvests, _card_key(item)) for item in items)]
    frame, *cards = _rendering_cache.get(keys)
    args = dict(args)
    made = {}
    if frame is None:
        frame = made[frame_key] = _render_frame(page, args, villages)
    missing = [i for i, card in enumerate(cards) if card is None]
    if missing:
        fresh = _render_cards([items[i] for i in missing], {}, harvests)
        for i, card in zip(missing, fresh, strict=True):
            cards[i] = made[keys[i + 1]] = card
    if made:
        _rendering_cache.put(made)
    head, tail = frame[0], frame[-1]
    return _Listing(
        head, tuple(cards), tail, tuple(frozenset(v["id"] for v in p["variants"]) for p in items), page, args, villages
    )


def _add_form(tokenless: bool) -> str:
    """How each add form opens: with the CSRF token's placeholder, or for a visitor without a session without."""
    token = "" if tokenless else f'<input type="hidden" name="csrf_token" value="{_CSRF_SLOT}">'
    return f'<form method="post" action="{escape(url_for("marketplace.cart_add"))}" class="var">{token}'


def _viewer_listing(listing: _Listing, in_cart: dict, here: str, tokenless: bool = False) -> Markup:
    """The kept listing with the viewer's address, add forms and cart marks put in (the CSRF token is put in last)."""
    cards = listing.cards
    mine = [i for i, ids in enumerate(listing.variant_ids) if not ids.isdisjoint(in_cart)] if in_cart else []
    if mine:
        fresh = _render_cards([listing.page["items"][i] for i in mine], in_cart, harvest_products())
        cards = list(cards)
        for i, card in zip(mine, fresh, strict=True):
            cards[i] = card
    html = "".join((listing.head, *cards, listing.tail))
    return Markup(html.replace(_HERE_SLOT, escape(here)).replace(_FORM_SLOT, _add_form(tokenless)))


def _plain_viewer() -> bool:
    """Whether the viewer's page header is everyone's: not logged in, nothing in the cart, no message waiting."""
    return not current_user.is_authenticated and not carts.count() and "_flashes" not in session


_page_cache = LruCache(PAGE_CACHE_SIZE)  # (listing, the whole page) by address, language and session or none


def _catalog_html(listing: _Listing, locale: str) -> tuple[bytes, bool]:
    """The catalog page for this viewer but for the CSRF token, and whether it has the token's placeholder.

    Kept whole when the viewer's header is everyone's. A visitor without a session (one who has
    not yet added, logged in, or picked a language) gets add forms without a token.
    """
    here = request.full_path.rstrip("?")
    if not _plain_viewer():
        return render_template(
            "marketplace/catalog.html",
            listing=_viewer_listing(listing, carts.quantities(), here),
            gettext=rendering_gettext(),
        ).encode(), True
    tokenless = not session  # asked after _plain_viewer(), which may have logged in from a remember-me cookie
    key = (request.full_path, locale, tokenless)
    [kept] = _page_cache.get([key])
    if kept is not None and kept[0] is listing:
        return kept[1], not tokenless
    html = _everyones_page(_viewer_listing(listing, {}, here, tokenless), locale).encode()
    _page_cache.put({key: (listing, html)})
    return html, not tokenless


_around_cache = LruCache(8)  # the page around the listing for a viewer whose header is everyone's, by language


def _everyones_page(listing: Markup, locale: str) -> str:
    """The catalog page around `listing` for a viewer whose header is everyone's (see _catalog_html).

    What is around the listing is the same for every such viewer but for the language link's way back to
    this address, so it is rendered once a language (and script root) with placeholders for the two, and
    each page fills them in: a new search renders no header.
    """
    back = request.full_path if request.query_string else request.path
    other = "en" if locale == "id" else "id"
    where = (locale, request.script_root)
    [around] = _around_cache.get([where])
    if around is None:
        around = render_template(
            "marketplace/catalog.html",
            listing=Markup(_LISTING_SLOT),
            language_back=_BACK_SLOT,
            csrf_token=lambda: _CSRF_SLOT,
            gettext=rendering_gettext(),
        ).split(_LISTING_SLOT)
        _around_cache.put({where: around})
    before, after = around
    link = escape(url_for("accounts.set_language", code=other, next=_BACK_SLOT))
    before = before.replace(link, escape(url_for("accounts.set_language", code=other, next=back)))
    return f"{before}{listing}{after}"


# The catalog page as a visitor without cookies gets it (anonymous, no session: no token, no cart, no messages,
# the language everyone starts with), by address, with what says it is still current (marketplace.catalog).
_visitor_page_cache = LruCache(PAGE_CACHE_SIZE)


def _without_cookies() -> bool:
    """Whether the request brings neither a session nor a remember-me cookie: a visitor's first look."""
    config = current_app.config
    return not request.cookies.get(config["SESSION_COOKIE_NAME"]) and not request.cookies.get(
        config.get("REMEMBER_COOKIE_NAME", "remember_token")
    )


@bp.route("/catalog")
def catalog():
    visitor = _without_cookies()
    key = (request.script_root, request.query_string)
    if visitor:
        [kept] = _visitor_page_cache.get([key])
        if kept is not None and kept[0]:
            response = make_response(kept[1])
            response.vary.add("Cookie")
            return response
    args = _catalog_args()
    locale = str(get_locale())
    current = CacheFreshness()
    listing = cached_rendering(
        _catalog_listing,
        locale,
        tuple(args.items()),
        catalog_villages(current),
        **args,
        page=page_arg(),
        per_page=PER_PAGE,
        current=current,
    )
    html, with_token = _catalog_html(listing, locale)
    if with_token:
        html = html.replace(_CSRF_SLOT_BYTES, escape(generate_csrf()).encode())
    elif visitor and current:
        _visitor_page_cache.put({key: (current, html)})
    return make_response(html)


@bp.route("/products/<int:product_id>")
def product(product_id: int):
    item, manager = stock.get_visible_product(current_user, product_id)
    group = db.session.get(Group, item.group_id)
    return render_template(
        "marketplace/product.html",
        p=product_card(item, group),
        group=group,
        for_sale=item.status == "active" and group.verified,
        manager=manager,
        in_cart=carts.quantities(),
        here=request.path,
    )


@bp.route("/groups/<int:group_id>/shop")
def shop(group_id: int):
    group = groups.get_group_or_404(group_id)
    sort = request.args.get("sort")
    sort = sort if sort in SORTS else "newest"
    result = catalog_page(group_id=group.id, sort=sort, page=page_arg(), per_page=PER_PAGE)
    return render_template(
        "marketplace/shop.html",
        group=group,
        result=result,
        sort=sort,
        sort_labels=SORT_LABELS,
        in_cart=carts.quantities(),
        here=request.full_path.rstrip("?"),
    )
