"""A product's card and its variants' rows, as the catalog, a group's shop and a product's page show them.

Written here rather than as a Jinja macro: a catalog page that is not kept renders up to 20 cards, and
the macro's calls (its arguments, each message's and filter's lookup in the template's context) cost
about 0.14 ms a card, seven times what this does (bench/README.md, "Cards written in Python"). Templates
call `product_card` and `variant_row` (template globals); every text is escaped here, every message is
translated as Jinja's new-style gettext does (the translation taken as markup, its values escaped).
`tests/marketplace/test_cards.py` holds the output equal to the templates' former macro.
"""

from flask import current_app, url_for
from flask_babel import get_translations
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from core.formatting import format_qty
from core.money import format_rupiah
from inventory import services as stock
from inventory.views.common import KIND_LABELS
from marketplace.views.common import bp


class CardWriter:
    """Writes cards in the request's language; one writer for many cards looks the translations up once.

    `add_form`, when given, opens each add form in place of the form tag and CSRF token (the catalog page
    puts each viewer's in: marketplace.views.catalog); `harvests` are the products with a harvest open for
    pre-orders, whose cards carry the "Pre-order" badge.
    """

    def __init__(self, add_form: str | None = None, harvests: frozenset = frozenset()):
        translations = get_translations()
        self._ = translations.gettext
        self.add_form = add_form
        self.harvests = harvests
        self.verified = Markup(
            f' <span class="badge verified" title="{self._("Verified by the district admin")}">&#10003; '
            f"{self._('Verified')}</span>"
        )
        self.pre_order = Markup(f' <span class="badge harvest">{self._("Pre-order")}</span>')
        self.standard = self._("standard")
        self.add = Markup(self._("Add"))
        self.sold_out = Markup(self._("sold out"))

    def _message(self, string: str, **values) -> Markup:
        return Markup(self._(string)) % values

    def card(self, p: dict, in_cart: dict, here: str, show_group: bool = True, for_sale: bool = True) -> Markup:
        """One product's card: its photo, name (and badge), group or kind, and a row for each variant."""
        photo = f'<img class="thumb" src="{escape(p["thumb_url"])}" alt="" width="56" height="56" loading="lazy">'
        name = escape(p["name"])
        link = escape(url_for("marketplace.product", product_id=p["id"]))
        badge = self.pre_order if p["id"] in self.harvests else ""
        if show_group:
            group = p["group"]
            shop = escape(url_for("marketplace.shop", group_id=group["id"]))
            verified = self.verified if group["verified"] else ""
            under = (
                f'<span class="muted"><a href="{shop}">{escape(group["name"])}</a>{verified}'
                f" · {escape(group['village'])}</span>"
            )
        else:
            under = f'<span class="muted">{escape(KIND_LABELS[p["kind"]])}</span>'
        rows = "".join(self.variant_row(p, v, in_cart, here, for_sale) for v in p["variants"])
        return Markup(
            f'<article class="card prod" id="p{p["id"]}">\n  <div class="ph">\n'
            f"    {photo if p['thumb_url'] else ''}\n"
            f'    <div><h2><a href="{link}">{name}</a>{badge}</h2>\n'
            f"    {under}</div>\n  </div>\n  {rows}\n</article>"
        )

    def variant_row(self, p: dict, v: dict, in_cart: dict, here: str, for_sale: bool = True) -> Markup:
        """A variant's price, label and what is available, in the form that adds it to the cart."""
        unit = escape(p["unit"])
        if self.add_form is not None:
            opening = self.add_form
        else:
            opening = (
                f'<form method="post" action="{escape(url_for("marketplace.cart_add"))}" class="var">'
                f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">'
            )
        label = ""
        if v["label"] != stock.DEFAULT_LABEL or len(p["variants"]) > 1:
            shown = self.standard if v["label"] == stock.DEFAULT_LABEL else v["label"]
            label = f"<strong>{escape(shown)}</strong> · "
        available = v["available"] > 0
        if available:
            state = self._message("%(quantity)s %(unit)s available", quantity=format_qty(v["available"]), unit=unit)
        else:
            state = self.sold_out
        carted = in_cart.get(v["id"])
        if carted:
            state += Markup(' · <span class="badge">{}</span>').format(
                self._message("%(quantity)s in cart", quantity=format_qty(carted))
            )
        buy = ""
        if for_sale and available:
            buy = (
                '<input class="qty" name="quantity" value="1" inputmode="decimal" autocomplete="off" '
                f'aria-label="{self._message("Quantity (%(unit)s)", unit=unit)}"><button type="submit">{self.add}'
                "</button>"
            )
        return Markup(
            f'{opening}<input type="hidden" name="variant_id" value="{v["id"]}">'
            f'<input type="hidden" name="next" value="{escape(here)}">\n'
            f"<span><strong>{format_rupiah(v['unit_price'])}</strong>/{unit}<br>\n"
            f'<span class="muted">{label}{state}</span></span>\n{buy}\n</form>'
        )


def product_card(p: dict, in_cart: dict, here: str, show_group: bool = True, for_sale: bool = True) -> Markup:
    """One card, for a template: `{{ product_card(p, in_cart, here) }}`."""
    return CardWriter(harvests=harvest_products()).card(p, in_cart, here, show_group, for_sale)


def variant_row(p: dict, v: dict, in_cart: dict, here: str, for_sale: bool = True) -> Markup:
    """One variant's row, for a template (a product's page)."""
    return CardWriter().variant_row(p, v, in_cart, here, for_sale)


def harvest_products() -> frozenset:
    """The products with a harvest open for pre-orders: the template global that the harvests package gives,
    when it is there."""
    asked = current_app.jinja_env.globals.get("harvest_products")
    return asked() if asked else frozenset()


bp.add_app_template_global(product_card)
bp.add_app_template_global(variant_row)
