"""Marketplace pages: catalog, storefronts, cart, checkout, orders, the coordinator's queue and packing list.

Each view parses the form, calls the cart or a service in marketplace.services
(which holds every rule and checks the caller's role), commits once, and
redirects. A page's buttons follow the order's status, but the services check
again on every action.
"""
import secrets
import uuid
from datetime import date
from typing import NamedTuple
from urllib.parse import quote

from flask import (Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request,
                   send_from_directory, session, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from accounts.models import User
from core.errors import AppError, Conflict, ValidationFailed
from core.extensions import csrf, db
from core.money import format_rupiah
from core.pagination import paginate
from core.phone import whatsapp_number
from core.quantity import format_quantity, typed_quantity
from core.pages import apply_errors
from core.pages import safe_next
from groups import services as groups
from groups.models import Group, Role
from inventory import services as stock
from inventory.models import ProductKind
from inventory.services import InsufficientStock
from inventory.views import day_filter
from marketplace import cart as carts
from payments import services as payments, slips
from marketplace import services
from payments.providers import provider_for
from marketplace.catalog import SORTS, Current, Pieces, catalog_page, catalog_rendered, catalog_villages, product_card
from marketplace.forms import (PAYMENT_CHOICES, CartAddForm, CartLineForm, CheckoutForm, HandoverForm, OrderActionForm, PaymentForm,
                               RefundForm, ReversalForm)
from marketplace.models import OPEN_STATUSES, Checkout, FulfilmentMethod, Order, OrderStatus, PaymentMethod

bp = Blueprint("marketplace", __name__)

PER_PAGE = 20
QUEUE_PER_PAGE = 50
SORT_LABELS = {"newest": _l("Newest"), "price_asc": _l("Price: low to high"),
               "price_desc": _l("Price: high to low"), "name": _l("Name")}
FULFILMENT_LABELS = {FulfilmentMethod.pickup: _l("pickup"), FulfilmentMethod.delivery: _l("delivery")}
PAYMENT_LABELS = {PaymentMethod.card: _l("card"), PaymentMethod.cash: _l("cash"),
                  PaymentMethod.transfer: _l("bank transfer")}
# What a coordinator can do next from each status (the services decide whether it is allowed).
NEXT_STEPS = {OrderStatus.placed: ("confirm", "cancel"), OrderStatus.confirmed: ("ready", "cancel"),
              OrderStatus.ready: ("complete",)}
ACTION_LABELS = {"confirm": _l("Confirm"), "ready": _l("Packed: ready"), "complete": _l("Handed over: complete"),
                 "cancel": _l("Cancel order")}
ACTIONS = {"confirm": services.confirm, "ready": services.mark_ready, "complete": services.complete}
BUYER_CANCELS = (OrderStatus.placed, OrderStatus.confirmed)
PAYMENT_STATUS_LABELS = {"unpaid": _l("not paid yet"), "partial": _l("partly paid"), "paid": _l("paid in full"),
                         "partially_refunded": _l("partly refunded"), "refunded": _l("refunded")}


# --- helpers for templates ------------------------------------------------------------

@bp.app_template_global()
def label_text(label: str) -> str:
    """A variant label as shown; the default one reads as "standard" in the user's language."""
    return _("standard") if label == stock.DEFAULT_LABEL else label


@bp.app_context_processor
def _marketplace_globals():
    return {"cart_count": carts.count(), "status_label": services.status_label,
            "fulfilment_labels": FULFILMENT_LABELS, "payment_labels": PAYMENT_LABELS,
            "action_labels": ACTION_LABELS, "payment_status": services.payment_status,
            "payment_status_labels": PAYMENT_STATUS_LABELS}


# --- helpers for views ----------------------------------------------------------------

def _page_arg() -> int:
    page = request.args.get("page", "1")
    return int(page) if page.isascii() and page.isdigit() and 0 < int(page) <= 100_000 else 1


def _text_arg(name: str, limit: int = 120) -> str:
    return (request.args.get(name) or "").strip()[:limit]


def _day_arg(name: str = "date") -> tuple[date | None, bool]:
    """A YYYY-MM-DD query argument: (the day or None, whether it was given but unreadable)."""
    text = _text_arg(name, 40)
    if not text:
        return None, False
    try:
        return date.fromisoformat(text), False
    except ValueError:
        return None, True


def _users(user_ids) -> dict[int, User]:
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _groups_by_id(group_ids) -> dict[int, Group]:
    ids = set(group_ids)
    if not ids:
        return {}
    return {g.id: g for g in db.session.scalars(select(Group).where(Group.id.in_(ids)))}


def _whatsapp_link(order: Order, group: Group) -> str | None:
    """wa.me link to the group's coordinator with a message that names the order; None without a phone."""
    contact = services.coordinator_contact(order.group_id)
    if contact is None:
        return None
    if order.fulfilment_method == FulfilmentMethod.pickup:
        how = _("pickup on %(day)s", day=day_filter(order.fulfilment_date))
    else:
        how = _("delivery on %(day)s", day=day_filter(order.fulfilment_date))
    text = _("Hello, I placed order #%(id)d at %(group)s (%(total)s, %(how)s). My name is %(name)s.",
             id=order.id, group=group.name, total=format_rupiah(order.total), how=how, name=current_user.name)
    return f"https://wa.me/{whatsapp_number(contact.phone)}?text={quote(text, safe='')}"


# --- catalog, product page, storefront ------------------------------------------------

def _catalog_args() -> dict:
    kind = request.args.get("kind")
    sort = request.args.get("sort")
    return {"q": _text_arg("q") or None,
            "kind": kind if kind in {k.value for k in ProductKind} else None,
            "village": _text_arg("village") or None,
            "in_stock": request.args.get("in_stock") == "1",
            "sort": sort if sort in SORTS else "newest"}


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
_FORM_SLOT = f"form{_SLOT}"
_CSRF_SLOT_BYTES = _CSRF_SLOT.encode()
KEPT_PIECES = 4096  # kept frames and cards (a few KB each)
KEPT_PLAIN_PAGES = 256  # kept whole pages (some 40 KB each)


class _Listing(NamedTuple):
    """The catalog listing as rendered for no one, cut around its cards, and what it was rendered from."""

    head: str
    cards: tuple[str, ...]
    tail: str
    variant_ids: tuple[frozenset, ...]  # of each card
    page: dict
    args: dict
    villages: tuple


def _render_listing(part: str, page: dict, args: dict, villages: tuple, in_cart: dict, items=None) -> list[str]:
    """The listing template's `part` ("frame", or "cards" of `items`) cut at each card."""
    result = page if items is None else {**page, "items": items}
    html = render_template("marketplace/_catalog_listing.html", part=part, result=result, args=args,
                           villages=villages, sort_labels=SORT_LABELS, in_cart=in_cart, here=_HERE_SLOT,
                           add_form=_FORM_SLOT, card_mark=_CARD_MARK)
    return html.split(_CARD_MARK)


def _frozen(value):
    """Plain data (dicts, lists, values) as a hashable key."""
    if isinstance(value, dict):
        return tuple((k, _frozen(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


_pieces = Pieces(KEPT_PIECES)


def _catalog_listing(page: dict, locale: str, args: tuple, villages: tuple) -> _Listing:
    """The listing for a catalog page; `locale` keys the kept rendering (the template speaks the request's).

    The frame is kept by the page's numbers, the query and the villages; a card by its product's data only.
    """
    items = page["items"]
    where = (locale, request.script_root)
    frame_key = ("frame", *where, args, villages, _frozen({k: v for k, v in page.items() if k != "items"}),
                 len(items))
    keys = [frame_key, *(("card", *where, _frozen(item)) for item in items)]
    frame, *cards = _pieces.get(keys)
    args = dict(args)
    made = {}
    if frame is None:
        frame = made[frame_key] = _render_listing("frame", page, args, villages, {})
    missing = [i for i, card in enumerate(cards) if card is None]
    if missing:
        _head, *fresh, _tail = _render_listing("cards", page, args, villages, {}, items=[items[i] for i in missing])
        for i, card in zip(missing, fresh, strict=True):
            cards[i] = made[keys[i + 1]] = card
    if made:
        _pieces.put(made)
    head, tail = frame[0], frame[-1]
    return _Listing(head, tuple(cards), tail, tuple(frozenset(v["id"] for v in p["variants"]) for p in items), page,
                    args, villages)


def _add_form(tokenless: bool) -> str:
    """How each add form opens: with the CSRF token's placeholder, or for a visitor without a session without."""
    token = "" if tokenless else f'<input type="hidden" name="csrf_token" value="{_CSRF_SLOT}">'
    return f'<form method="post" action="{escape(url_for("marketplace.cart_add"))}" class="var">{token}'


def _viewer_listing(listing: _Listing, in_cart: dict, here: str, tokenless: bool = False) -> Markup:
    """The kept listing with the viewer's address, add forms and cart marks put in (the CSRF token is put in last)."""
    cards = listing.cards
    mine = [i for i, ids in enumerate(listing.variant_ids) if not ids.isdisjoint(in_cart)] if in_cart else []
    if mine:
        _head, *fresh, _tail = _render_listing("cards", listing.page, listing.args, listing.villages, in_cart,
                                               items=[listing.page["items"][i] for i in mine])
        cards = list(cards)
        for i, card in zip(mine, fresh, strict=True):
            cards[i] = card
    html = "".join((listing.head, *cards, listing.tail))
    return Markup(html.replace(_HERE_SLOT, escape(here)).replace(_FORM_SLOT, _add_form(tokenless)))


def _plain_viewer() -> bool:
    """Whether the viewer's page header is everyone's: not logged in, nothing in the cart, no message waiting."""
    return not current_user.is_authenticated and not carts.count() and "_flashes" not in session


_plain_pages = Pieces(KEPT_PLAIN_PAGES)  # (listing, the whole page) by address, language and session or none


def _catalog_html(listing: _Listing, locale: str) -> tuple[bytes, bool]:
    """The catalog page for this viewer but for the CSRF token, and whether it has the token's placeholder.

    Kept whole when the viewer's header is everyone's. A visitor without a session (one who has
    not yet added, logged in, or picked a language) gets add forms without a token.
    """
    here = request.full_path.rstrip("?")
    if not _plain_viewer():
        return render_template("marketplace/catalog.html",
                               listing=_viewer_listing(listing, carts.quantities(), here)).encode(), True
    tokenless = not session  # asked after _plain_viewer(), which may have logged in from a remember-me cookie
    key = (request.full_path, locale, tokenless)
    [kept] = _plain_pages.get([key])
    if kept is not None and kept[0] is listing:
        return kept[1], not tokenless
    html = render_template("marketplace/catalog.html", listing=_viewer_listing(listing, {}, here, tokenless),
                           csrf_token=lambda: _CSRF_SLOT).encode()
    _plain_pages.put({key: (listing, html)})
    return html, not tokenless


# The catalog page as a visitor without cookies gets it (anonymous, no session: no token, no cart, no messages,
# the language everyone starts with), by address, with what says it is still current (marketplace.catalog).
_visitor_pages = Pieces(KEPT_PLAIN_PAGES)


def _without_cookies() -> bool:
    """Whether the request brings neither a session nor a remember-me cookie: a visitor's first look."""
    config = current_app.config
    return (not request.cookies.get(config["SESSION_COOKIE_NAME"])
            and not request.cookies.get(config.get("REMEMBER_COOKIE_NAME", "remember_token")))


@bp.route("/catalog")
def catalog():
    visitor = _without_cookies()
    key = (request.script_root, request.query_string)
    if visitor:
        [kept] = _visitor_pages.get([key])
        if kept is not None and kept[0]:
            response = make_response(kept[1])
            response.vary.add("Cookie")
            return response
    args = _catalog_args()
    locale = str(get_locale())
    current = Current()
    listing = catalog_rendered(_catalog_listing, locale, tuple(args.items()), catalog_villages(current), **args,
                               page=_page_arg(), per_page=PER_PAGE, current=current)
    html, with_token = _catalog_html(listing, locale)
    if with_token:
        html = html.replace(_CSRF_SLOT_BYTES, escape(generate_csrf()).encode())
    elif visitor and current:
        _visitor_pages.put({key: (current, html)})
    return make_response(html)


@bp.route("/products/<int:product_id>")
def product(product_id: int):
    item, manager = stock.get_visible_product(product_id)
    group = db.session.get(Group, item.group_id)
    return render_template("marketplace/product.html", p=product_card(item, group), group=group,
                           for_sale=item.status == "active", manager=manager, in_cart=carts.quantities(),
                           here=request.path)


@bp.route("/groups/<int:group_id>/shop")
def shop(group_id: int):
    group = groups.get_group_or_404(group_id)
    sort = request.args.get("sort")
    sort = sort if sort in SORTS else "newest"
    result = catalog_page(group_id=group.id, sort=sort, page=_page_arg(), per_page=PER_PAGE)
    return render_template("marketplace/shop.html", group=group, result=result, sort=sort, sort_labels=SORT_LABELS,
                           in_cart=carts.quantities(), here=request.full_path.rstrip("?"))


# --- the cart -------------------------------------------------------------------------

def _variant_arg(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


@bp.route("/cart")
def cart():
    current = carts.load()
    if current.removed:
        flash(_("No longer for sale, so taken out of your cart: %(names)s", names=", ".join(current.removed)),
              "warning")
    return render_template("marketplace/cart.html", cart=current, form=CartLineForm())


def _sent_from_this_site() -> bool:
    """Whether the browser says this request comes from a page of this site (Fetch Metadata, else Origin).

    A browser sets both headers itself; a page on another site cannot make it say same-origin.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    return origin is not None and origin == request.host_url.rstrip("/")


def _add_passes_csrf() -> bool:
    """Whether an add to the cart may go ahead; False: show the add to confirm instead. A wrong token is a 400.

    The catalog page gives a visitor without a session add forms without a CSRF token, so that
    looking at it makes no session (bench/catalog.py). An add without a token is taken only when
    the browser says it was sent from this site's own page; from anywhere else, or from a browser
    that says neither, nothing is added and the add is shown to confirm, on a form with a token.
    An add with a token is checked as every other form is.
    """
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    if "csrf_token" not in request.form:
        return _sent_from_this_site()
    csrf.protect()
    return True


@bp.route("/cart/add", methods=["POST"])
@csrf.exempt  # checked in the view, by _add_passes_csrf
def cart_add():
    back = safe_next(url_for("marketplace.catalog"))
    if not _add_passes_csrf():
        return _confirm_add(back)
    form = CartAddForm(meta={"csrf": False})  # checked just above
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return redirect(back)
    try:
        variant, total = carts.add(_variant_arg(form.variant_id.data), typed_quantity(form.quantity.data))
    except AppError as exc:
        flash(str(exc.message), "error")
        return redirect(back)
    product = variant.product
    flash(_("In your cart: %(quantity)s %(unit)s %(product)s.", quantity=format_quantity(total), unit=product.unit,
            product=product.name), "success")
    return redirect(back if "#" in back else f"{back}#p{product.id}")


def _confirm_add(back: str):
    """The add asked for, on a page with a form to confirm it (with this visitor's CSRF token); nothing is added."""
    try:
        variant = carts.for_sale(_variant_arg(request.form.get("variant_id")))
    except AppError as exc:
        flash(str(exc.message), "error")
        return redirect(back)
    quantity = (request.form.get("quantity") or "1").strip()[:40]
    return render_template("marketplace/cart_add.html", v=variant, p=variant.product, quantity=quantity, back=back)


@bp.route("/cart/update", methods=["POST"])
def cart_update():
    form = CartLineForm()
    if form.validate_on_submit():
        try:
            carts.update(_variant_arg(form.variant_id.data), typed_quantity(form.quantity.data))
        except AppError as exc:
            flash(str(exc.message), "error")
        else:
            flash(_("Cart updated."), "success")
    else:
        flash(_("Please try again."), "error")
    return redirect(url_for("marketplace.cart"))


@bp.route("/cart/remove", methods=["POST"])
def cart_remove():
    form = CartLineForm()
    if form.validate_on_submit():
        carts.remove(_variant_arg(form.variant_id.data))
        flash(_("Removed from your cart."), "success")
    else:
        flash(_("Please try again."), "error")
    return redirect(url_for("marketplace.cart"))


# --- checkout -------------------------------------------------------------------------

def _checkout_data(form: CheckoutForm, current) -> dict:
    return {"lines": carts.checkout_lines(current),
            "fulfilment": {"method": form.fulfilment_method.data, "date": form.date.data or None,
                           "address": form.address.data or None, "note": form.note.data or None},
            "payment_method": form.payment_method.data}


CHECKOUT_FIELDS = {"fulfilment.method": "fulfilment_method", "fulfilment.date": "date",
                   "fulfilment.address": "address", "fulfilment.note": "note", "payment_method": "payment_method",
                   "fulfilment": "fulfilment_method"}


def _line_errors(error: AppError, lines: list[dict]) -> dict[int, list[str]]:
    """A service's "lines.3.quantity" errors, keyed by the variant id of line 3."""
    found: dict[int, list[str]] = {}
    for key, messages in error.errors.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(lines):
            variant_id = lines[int(parts[1])]["variant_id"]
            found.setdefault(variant_id, []).extend(str(m) for m in messages)
    return found


@bp.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout():
    form = CheckoutForm()
    form.payment_method.choices = [c for c in PAYMENT_CHOICES if provider_for(c.value).available()]
    posted = request.method == "POST" and form.validate_on_submit()
    if posted:
        key = (form.idempotency_key.data or "").strip()
        if key and len(key) <= services.KEY_MAX_LENGTH:
            done = services.find_checkout(current_user, key)
            if done is not None:  # the same form sent again (a double tap, a retry on a slow line)
                return redirect(url_for("marketplace.confirmation", checkout_id=done.id))
    current = carts.load()
    if request.method == "GET":
        if not current:
            flash(_("Your cart is empty. Add something from the catalog first."), "warning")
            return redirect(url_for("marketplace.cart"))
        form.idempotency_key.data = str(uuid.uuid4())
        form.date.data = services.today_wib().isoformat()
    shortfalls: dict[int, dict] = {}
    line_errors: dict[int, list[str]] = {}
    status = 200 if request.method == "GET" or posted else 400
    if status == 400 and "csrf_token" in form.errors:
        flash(_("Please try again."), "error")
    if posted:
        data = _checkout_data(form, current)
        try:
            if not current:
                raise ValidationFailed(_l("Your cart is empty. Add something from the catalog first."))
            placed, _created = services.place_checkout(current_user, **data,
                                                        idempotency_key=form.idempotency_key.data or None)
        except InsufficientStock as exc:
            db.session.rollback()
            shortfalls = {int(s["variant_id"]): s for s in exc.shortfalls}
            flash(_("Not enough stock for some lines. Change them in your cart, then order again."), "error")
            status = 409
        except AppError as exc:
            db.session.rollback()
            status = exc.code
            if "Idempotency-Key" in exc.errors:  # a twin of this form won with another cart: start afresh
                flash(_("This form was already sent. Check your orders before ordering again."), "error")
                form.idempotency_key.data = str(uuid.uuid4())
            else:
                line_errors = _line_errors(exc, data["lines"])
                renamed = {CHECKOUT_FIELDS.get(k, k): v for k, v in exc.errors.items()}
                shown = AppError(exc.message, renamed)
                shown.code = exc.code
                apply_errors(form, shown)
        else:
            db.session.commit()
            carts.clear()
            flash(_("Thank you! Your order is placed."), "success")
            return redirect(url_for("marketplace.confirmation", checkout_id=placed.id))
    return render_template("marketplace/checkout.html", form=form, cart=current, shortfalls=shortfalls,
                           line_errors=line_errors), status


@bp.route("/checkouts/<int:checkout_id>")
@login_required
def confirmation(checkout_id: int):
    placed: Checkout = services.get_checkout_or_404(checkout_id)
    found = _groups_by_id(order.group_id for order in placed.orders)
    links = {order.id: _whatsapp_link(order, found[order.group_id]) for order in placed.orders}
    return render_template("marketplace/confirmation.html", checkout=placed, groups=found, links=links,
                           card_owed=_card_owed(placed))


def _card_owed(placed: Checkout) -> int:
    """What a card checkout's open orders still owe (0 for cash and transfer checkouts)."""
    if placed.payment_method != PaymentMethod.card:
        return 0
    return sum(order.total - order.paid for order in placed.orders if order.status in OPEN_STATUSES)


# Errors a money form shows beside its fields (or on top); others (401, 403, 404) get the error page.
SHOWN_ERRORS = (Conflict, ValidationFailed, payments.GatewayUnavailable, payments.PaymentsNotConfigured)


@bp.route("/checkouts/<int:checkout_id>/pay")
@login_required
def pay_by_card(checkout_id: int):
    """The card form for a checkout's open orders: Stripe.js collects the card and confirms the payment.

    Opening it starts (or resumes) the checkout's card payment, so a reload
    never makes a second charge. The orders show as paid when the gateway's
    webhook arrives, not when the buyer's browser says so.
    """
    g.write_transaction = True  # SQLite: this page may start a payment, so it writes like a POST
    if db.session().in_transaction():
        db.session.commit()  # ends the read that found who is asking; the next statement takes the write lock
    placed: Checkout = services.get_checkout_or_404(checkout_id)
    card, problem, status = None, None, 200
    try:
        card = payments.start_card_payment(placed)
    except SHOWN_ERRORS as exc:
        db.session.rollback()
        problem, status = exc, exc.code
    else:
        db.session.commit()
    found = _groups_by_id(order.group_id for order in placed.orders)
    links = {order.id: _whatsapp_link(order, found[order.group_id]) for order in placed.orders}
    response = make_response(render_template(
        "marketplace/pay.html", checkout=placed, card=card, problem=problem, groups=found, links=links,
        unconfigured=isinstance(problem, payments.PaymentsNotConfigured), owed=_card_owed(placed)), status)
    response.headers["Cache-Control"] = "no-store"  # the page holds the payment's client secret
    return response


# --- the buyer's orders, and an order's page -------------------------------------------

@bp.route("/orders")
@login_required
def my_orders():
    result = paginate(services.buyer_orders_query(current_user).options(selectinload(Order.lines)), _page_arg(),
                      PER_PAGE)
    return render_template("marketplace/my_orders.html", result=result,
                           groups=_groups_by_id(o.group_id for o in result["items"]))


@bp.route("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    return _order_page(services.get_order_or_404(order_id))


def _new_key() -> str:
    return str(uuid.uuid4())


def _order_page(found: Order, status: int = 200, **bound):
    """An order as the viewer may see it, with the buttons and money forms their role allows.

    `bound` holds a money form sent back with its errors (payment=..., refund=...);
    the others are rendered fresh, each with a new idempotency key.
    """
    group = db.session.get(Group, found.group_id)
    manages = services.manages(found, current_user)
    insider = found.group_id in services.groups_seeing_allocations(current_user, [found.group_id])
    money = payments.payment_details([found], {found.group_id} if insider else set())[found.id]
    owed, is_open, paid_up = money["owed"], found.status in OPEN_STATUSES, services.can_complete(found)
    steps = NEXT_STEPS.get(found.status, ()) if manages else ()
    if found.status == OrderStatus.ready and not paid_up:
        steps = tuple(step for step in steps if step != "complete")  # paid first: the handover button does both
    buyer_cancels = found.buyer_id == current_user.id and found.status in BUYER_CANCELS and "cancel" not in steps
    card_paid = sum(p["amount"] for p in money["payments"] if p["method"] == "card") - \
        sum(r["amount"] for r in money["refunds"] if r["method"] == "card")
    forms = {"payment": None, "refund": None, "handover": None}
    if insider and owed > 0 and is_open:
        forms["payment"] = bound.get("payment") or PaymentForm(
            formdata=None, amount=str(owed), received_at=services.today_wib().isoformat(), idempotency_key=_new_key(),
            method=found.payment_method.value if found.payment_method == PaymentMethod.transfer else "cash")
    if insider and found.paid > found.refunded:
        forms["refund"] = bound.get("refund") or RefundForm(
            formdata=None, method="card" if card_paid > 0 else "cash", idempotency_key=_new_key())
    if manages and found.status == OrderStatus.ready and owed > 0:
        forms["handover"] = HandoverForm(formdata=None, amount=str(owed), idempotency_key=_new_key())
    # One small form per payment the group may still reverse (cash or a transfer recorded by mistake).
    sent = bound.get("reversal")
    forms["reversals"] = [(p, sent if sent is not None and sent.payment_id == p.id else _reversal_form(p.id))
                          for p in payments.reversible_payments(found)] if insider else []
    people = _users([found.buyer_id] + [e.actor_id for e in found.events])
    own = found.buyer_id == current_user.id
    return render_template(
        "marketplace/order.html", order=found, group=group, manages=manages, steps=steps,
        buyer_cancels=buyer_cancels, people=people, form=OrderActionForm(), sees_buyer=not own,
        whatsapp=_whatsapp_link(found, group) if own else None, money=money, insider=insider,
        forms=forms, card_paid=card_paid,
        pay_by_card=own and is_open and owed > 0 and found.payment_method == PaymentMethod.card), status


def _reversal_form(payment_id: int, formdata=None) -> ReversalForm:
    """The reversal form of one payment: its fields prefixed by the payment, so each on the page is its own."""
    form = ReversalForm(formdata=formdata, prefix=f"reversal-{payment_id}")
    form.payment_id = payment_id
    return form


def _form_failed(found: Order, name: str, form, error: AppError):
    """Show the order again with the money form's errors; nothing was recorded."""
    db.session.rollback()
    if "Idempotency-Key" in error.errors:  # the page's key was used for other values: check, then try again
        flash(_("This form was already sent with other values. Check the payments below, then try again."),
              "error")
        form.idempotency_key.data = _new_key()
    else:
        apply_errors(form, error)
    return _order_page(found, error.code, **{name: form})


def _invalid_form(found: Order, name: str, form):
    if "csrf_token" in form.errors:
        flash(_("Please try again."), "error")
        return _order_page(found, 400, **{name: form})
    return _order_page(found, 422, **{name: form})


def _received_day(text: str | None) -> str | None:
    """The form's day: None (now) for today, else the day as typed."""
    text = (text or "").strip()
    return None if not text or text == services.today_wib().isoformat() else text


@bp.route("/orders/<int:order_id>/payment", methods=["POST"])
@login_required
def record_payment(order_id: int):
    found = services.get_order_or_404(order_id)
    groups.require_role(db.session.get(Group, found.group_id), Role.coordinator, Role.treasurer)
    form = PaymentForm()
    if not form.validate_on_submit():
        return _invalid_form(found, "payment", form)
    data = {"method": form.method.data, "amount": form.amount.data, "reference": form.reference.data or None,
            "received_at": _received_day(form.received_at.data)}
    upload = form.slip.data.read() if form.slip.data else None
    try:
        payment, created, written = slips.record_payment_with_slip(found, data, form.idempotency_key.data or None,
                                                                    upload)
    except SHOWN_ERRORS as exc:
        return _form_failed(found, "payment", form, exc)
    slips.commit_with_slip(written)
    if created:
        flash(_("Recorded: %(amount)s by %(method)s for order #%(id)d.", amount=format_rupiah(payment.amount),
                method=PAYMENT_LABELS[payment.method], id=found.id), "success")
    else:
        flash(_("This payment was already recorded."), "success")
    return redirect(url_for("marketplace.order", order_id=found.id))


@bp.route("/orders/<int:order_id>/refund", methods=["POST"])
@login_required
def refund(order_id: int):
    found = services.get_order_or_404(order_id)
    groups.require_role(db.session.get(Group, found.group_id), Role.coordinator, Role.treasurer)
    form = RefundForm()
    if not form.validate_on_submit():
        return _invalid_form(found, "refund", form)
    data = {"amount": form.amount.data, "reason": form.reason.data, "method": form.method.data or None}
    try:
        given, created = payments.refund_order(found, data, form.idempotency_key.data or None)
    except SHOWN_ERRORS as exc:
        return _form_failed(found, "refund", form, exc)
    db.session.commit()
    if created:
        flash(_("Refund recorded: %(amount)s by %(method)s for order #%(id)d.", amount=format_rupiah(given.amount),
                method=PAYMENT_LABELS[given.method], id=found.id), "success")
    else:
        flash(_("This refund was already recorded."), "success")
    return redirect(url_for("marketplace.order", order_id=found.id))


@bp.route("/orders/<int:order_id>/payments/<int:payment_id>/reversal", methods=["POST"])
@login_required
def reverse_payment(order_id: int, payment_id: int):
    """Correct cash or a transfer recorded by mistake (payments.services.reverse_payment)."""
    found = services.get_order_or_404(order_id)
    groups.require_role(db.session.get(Group, found.group_id), Role.coordinator, Role.treasurer)
    form = _reversal_form(payment_id, request.form)
    if not form.validate_on_submit():
        return _invalid_form(found, "reversal", form)
    try:
        correction = payments.reverse_payment(found, payment_id, form.reason.data)
    except SHOWN_ERRORS as exc:
        return _form_failed(found, "reversal", form, exc)
    db.session.commit()
    flash(_("Payment corrected: %(amount)s by %(method)s taken off order #%(id)d.",
            amount=format_rupiah(-correction.amount), method=PAYMENT_LABELS[correction.method], id=found.id),
          "success")
    return redirect(url_for("marketplace.order", order_id=found.id))


@bp.route("/orders/<int:order_id>/handover", methods=["POST"])
@login_required
def handover(order_id: int):
    """At pickup: the cash the page showed as owed is recorded and the order completed, in one step."""
    found = services.get_order_or_404(order_id)
    groups.require_role(db.session.get(Group, found.group_id), Role.coordinator)
    form = HandoverForm()
    back = safe_next(url_for("marketplace.order", order_id=found.id))
    if not form.validate_on_submit():
        flash(_("Please try again."), "error")
        return redirect(back)
    try:
        done = payments.complete_at_handover(found, {"amount": form.amount.data}, form.idempotency_key.data or None)
    except SHOWN_ERRORS as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Cash received; order #%(id)d is %(status)s.", id=done.id, status=services.status_label(done.status)),
          "success")
    return redirect(back)


@bp.route("/orders/<int:order_id>/payments/<int:payment_id>/slip")
@login_required
def payment_slip(order_id: int, payment_id: int):
    """A transfer slip photo, for the group's coordinator and treasurer only; never cached."""
    folder, name = slips.slip_file(services.get_order_or_404(order_id), payment_id)
    response = send_from_directory(folder, name, mimetype="image/webp", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/orders/<int:order_id>/<action>", methods=["POST"])
@login_required
def order_action(order_id: int, action: str):
    if action not in (*ACTIONS, "cancel"):
        abort(404)
    found = services.get_order_or_404(order_id)  # unknown, or not theirs to see: 404
    form = OrderActionForm()
    back = safe_next(url_for("marketplace.order", order_id=found.id))
    if not form.validate_on_submit():
        abort(400)
    try:
        if action == "cancel":
            services.cancel(found, form.note.data or None)
        else:
            ACTIONS[action](found)  # a buyer or a treasurer is refused here (403)
    except (Conflict, ValidationFailed) as exc:
        db.session.rollback()
        flash(str(exc.message), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Order #%(id)d is now %(status)s.", id=found.id, status=services.status_label(found.status)), "success")
    return redirect(back)


# --- the coordinator's queue and packing list ------------------------------------------

QUEUE_FILTERS = ("open", "all", *(s.value for s in OrderStatus))


@bp.route("/groups/<int:group_id>/orders")
@login_required
def queue(group_id: int):
    group = groups.get_group_or_404(group_id)
    status = request.args.get("status") if request.args.get("status") in QUEUE_FILTERS else "open"
    day, bad_day = _day_arg()
    query = services.group_orders_query(group, None if status in ("open", "all") else status, day)
    if status == "open":
        query = query.where(Order.status.in_(OPEN_STATUSES))
    result = paginate(query.options(selectinload(Order.lines)), _page_arg(), QUEUE_PER_PAGE)
    return render_template("marketplace/queue.html", group=group, result=result, status=status, day=day,
                           bad_day=bad_day, counts=services.order_counts(group),
                           people=_users(o.buyer_id for o in result["items"]),
                           manages=groups.can_manage(group, current_user), steps=NEXT_STEPS,
                           form=OrderActionForm(), here=request.full_path, today=services.today_wib(),
                           can_complete=services.can_complete,
                           handover_keys={o.id: _new_key() for o in result["items"]
                                          if o.status == OrderStatus.ready and o.total > o.paid})


@bp.route("/groups/<int:group_id>/packing")
@login_required
def packing(group_id: int):
    group = groups.get_group_or_404(group_id)
    day, bad_day = _day_arg()
    if bad_day:
        flash(_("Use a date such as 2026-11-28."), "error")
    packed = services.packing_list(group, day or services.today_wib())
    waiting = db.session.scalar(select(func.count()).select_from(
        services.group_orders_query(group, OrderStatus.placed.value, packed["day"]).subquery()))
    return render_template("marketplace/packing.html", group=group, packing=packed, waiting=waiting)

