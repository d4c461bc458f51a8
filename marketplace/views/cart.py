"""The cart, kept in the visitor's session: adding (from the catalog, with or without a session yet), changing
and removing lines."""

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.errors import AppError
from core.extensions import csrf
from core.formatting import format_qty
from core.pages import safe_next
from core.quantity import typed_quantity
from marketplace import cart as carts
from marketplace.forms import CartAddForm, CartLineForm
from marketplace.views.common import bp

# --- the cart -------------------------------------------------------------------------


def _variant_arg(value) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


@bp.route("/cart")
def cart():
    current = carts.load()
    if current.removed:
        flash(
            _("No longer for sale, so taken out of your cart: %(names)s", names=", ".join(current.removed)), "warning"
        )
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
    on_sale = carts.available(variant)
    if total > on_sale:  # told now, not only when the checkout is refused
        flash(
            _(
                "In your cart: %(quantity)s %(unit)s %(product)s, but only %(available)s %(unit)s available. "
                "Change the quantity in your cart before you order.",
                quantity=format_qty(total),
                unit=product.unit,
                product=product.name,
                available=format_qty(on_sale),
            ),
            "warning",
        )
    else:
        flash(
            _(
                "In your cart: %(quantity)s %(unit)s %(product)s.",
                quantity=format_qty(total),
                unit=product.unit,
                product=product.name,
            ),
            "success",
        )
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
