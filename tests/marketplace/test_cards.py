"""A card as marketplace.views.cards writes it is what the Jinja macro that wrote it before gave: the same
bytes for every product, variant, cart and language, texts that need escaping included (the macro is kept here
as the reference)."""

from decimal import Decimal

from flask import render_template_string, session
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from inventory.views.common import KIND_LABELS
from marketplace.views.cards import CardWriter

REFERENCE = """{% macro product_card(p, in_cart, here, show_group=True, for_sale=True) -%}
<article class="card prod" id="p{{ p.id }}">
  <div class="ph">
    {% if p.thumb_url %}<img class="thumb" src="{{ p.thumb_url }}" alt="" width="56" height="56" loading="lazy">{% endif %}
    <div><h2><a href="{{ url_for('marketplace.product', product_id=p.id) }}">{{ p.name }}</a>{% if harvest_products is defined and p.id in harvest_products() %} <span class="badge harvest">{{ _("Pre-order") }}</span>{% endif %}</h2>
    {% if show_group %}<span class="muted"><a href="{{ url_for('marketplace.shop', group_id=p.group.id) }}">{{ p.group.name }}</a>{% if p.group.verified %} <span class="badge verified" title="{{ _('Verified by the district admin') }}">&#10003; {{ _("Verified") }}</span>{% endif %} · {{ p.group.village }}</span>{% else %}<span class="muted">{{ kind_labels[p.kind] }}</span>{% endif %}</div>
  </div>
  {% for v in p.variants %}{{ variant_row(p, v, in_cart, here, for_sale) }}{% endfor %}
</article>
{%- endmacro %}

{#- `add_form`, where the page gives one, opens each add form in place of the form tag and CSRF token below
    (the catalog page puts each viewer's in; marketplace.views). -#}
{% macro variant_row(p, v, in_cart, here, for_sale=True) -%}
{% if add_form is defined %}{{ add_form }}{% else %}<form method="post" action="{{ url_for('marketplace.cart_add') }}" class="var"><input type="hidden" name="csrf_token" value="{{ csrf_token() }}">{% endif %}<input type="hidden" name="variant_id" value="{{ v.id }}"><input type="hidden" name="next" value="{{ here }}">
<span><strong>{{ v.unit_price|rupiah }}</strong>/{{ p.unit }}<br>
<span class="muted">{% if v.label != 'standard' or p.variants|length > 1 %}<strong>{{ label_text(v.label) }}</strong> · {% endif %}{% if v.available > 0 %}{{ _("%(quantity)s %(unit)s available", quantity=v.available|qty, unit=p.unit) }}{% else %}{{ _("sold out") }}{% endif %}{% if in_cart.get(v.id) %} · <span class="badge">{{ _("%(quantity)s in cart", quantity=in_cart[v.id]|qty) }}</span>{% endif %}</span></span>
{% if for_sale and v.available > 0 %}<input class="qty" name="quantity" value="1" inputmode="decimal" autocomplete="off" aria-label="{{ _('Quantity (%(unit)s)', unit=p.unit) }}"><button type="submit">{{ _("Add") }}</button>{% endif %}
</form>
{%- endmacro %}
{%- if row %}{{ variant_row(p, p.variants[0], in_cart, here, for_sale) }}{% else %}{{ product_card(p, in_cart, here, show_group=show_group, for_sale=for_sale) }}{% endif %}"""

texts = st.text(max_size=12) | st.sampled_from(['<b>"Kain" & co</b>', "standard", "Cabai rawit", "ñ é 😀"])
quantities = st.decimals(min_value=Decimal("-5"), max_value=Decimal("100000"), places=3, allow_nan=False)
variants = st.fixed_dictionaries(
    {
        "id": st.integers(1, 10**9),
        "label": texts,
        "unit_price": st.integers(0, 10**9),
        "available": quantities | st.just(Decimal(0)),
    }
)
photos = st.one_of(st.none(), st.just("/media/products/ab12-thumb.webp"), st.just('/x"<y>.webp'))
cards = st.fixed_dictionaries(
    {
        "id": st.integers(1, 10**9),
        "name": texts,
        "kind": st.sampled_from(["produce", "processed", "garment"]),
        "unit": texts,
        "group": st.fixed_dictionaries(
            {"id": st.integers(1, 10**9), "name": texts, "village": texts, "verified": st.booleans()}
        ),
        "thumb_url": photos,
        "variants": st.lists(variants, min_size=1, max_size=3),
    }
)


@settings(max_examples=300, deadline=None)
@given(
    p=cards,
    in_cart=st.dictionaries(st.integers(1, 10**9), quantities, max_size=2),
    language=st.sampled_from(["id", "en"]),
    show_group=st.booleans(),
    for_sale=st.booleans(),
    add_form=st.one_of(st.none(), st.just('<form method="post" class="var">')),
    pre_order=st.booleans(),
    carted=st.booleans(),
    here=texts,
    row=st.booleans(),
)
def test_a_card_is_what_the_macro_wrote(
    app, p, in_cart, language, show_group, for_sale, add_form, pre_order, carted, here, row
):
    if carted:  # a variant of the card in the cart
        in_cart = {**in_cart, p["variants"][0]["id"]: Decimal("2.5")}
    harvests = frozenset({p["id"]} if pre_order else ())
    with app.test_request_context("/catalog"):
        session["lang"] = language
        context = {"add_form": Markup(add_form)} if add_form is not None else {}
        expected = render_template_string(
            REFERENCE,
            p=p,
            in_cart=in_cart,
            here=here,
            show_group=show_group,
            for_sale=for_sale,
            row=row,
            kind_labels=KIND_LABELS,
            harvest_products=lambda: harvests,
            **context,
        )
        writer = CardWriter(add_form=add_form, harvests=harvests)
        if row:
            written = writer.variant_row(p, p["variants"][0], in_cart, here, for_sale)
        else:
            written = writer.card(p, in_cart, here, show_group, for_sale)
    assert str(written) == expected
