"""What the four journeys of record share: a phone in Indonesian, and the check every page they visit passes,
that it fits the phone's width and speaks no English."""

import re
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from babel.messages.pofile import read_po

from core.extensions import db
from core.phone import normalize_phone
from groups.models import Group
from inventory import services as inv
from marketplace import catalog
from tests.e2e.conftest import PHONE, csp_refusals
from tests.e2e.test_members_in_browser import indonesian
from tests.factories import PASSWORD, make_group, make_member, make_user
from tests.stock_helpers import acting, contribute

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "translations" / "id" / "LC_MESSAGES" / "messages.po"

# English a page could show without any msgid holding it: common words of web forms and shops. Matched as whole
# words in their own case; one an Indonesian translation uses, or BORROWED, is Indonesian too and is let be.
COMMON_ENGLISH = (
    "the",
    "and",
    "Order",
    "Save",
    "Cancel",
    "Login",
    "Sign in",
    "Password",
    "Search",
    "Cart",
    "Checkout",
    "Total",
    "Quantity",
    "Price",
    "Back",
    "Next",
)
BORROWED = ("Total",)  # Indonesian as it is (KBBI): the catalog's msgstr "Total" for msgid "Total"
# Names that read the same in every language: the site's, the brands it names, and the data of the journeys.
NAMES = ("Pasar Kelompok", "WhatsApp", "Stripe", "Visa", "Mastercard", "Bank Jatim", "BRI", "WIB")
PLACEHOLDER = re.compile(r"%\(\w+\)[#0 +\-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[sd]")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")

SHOWN_TEXT = """() => {
    const texts = [document.title, document.body.innerText];
    for (const e of document.querySelectorAll('input[placeholder], textarea[placeholder]')) texts.push(e.placeholder);
    for (const e of document.querySelectorAll('input[type=submit], input[type=button]')) texts.push(e.value);
    return texts.join('\\n');
}"""

TOO_WIDE = """(width) => {
    const wide = [];
    for (const e of document.body.querySelectorAll('*')) {
        const box = e.getBoundingClientRect();
        if (box.width === 0 || box.height === 0 || box.right <= width + 1) continue;
        const style = getComputedStyle(e);
        if (style.visibility === 'hidden' || style.display === 'none') continue;
        wide.push({tag: e.tagName.toLowerCase(), class: e.className, right: Math.round(box.right),
                   text: (e.innerText || e.value || '').trim().slice(0, 60)});
    }
    return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, wide: wide.slice(0, 5)};
}"""


def _fragments(message: str) -> list[str]:
    """The parts of a msgid between its placeholders and markup, with their white space made single."""
    parts = PLACEHOLDER.split(re.sub(r"<[^>]+>", " ", message))
    return [" ".join(p.split()) for p in parts if p.strip()]


def _english(fragment: str) -> str | None:
    """The part of `fragment` a page showing it would show in English: its words from first to last, if it has two
    of them or one of four letters or more; else None."""
    words = WORD.findall(fragment)
    if len(words) >= 2:
        first, last = fragment.index(words[0]), fragment.rindex(words[-1]) + len(words[-1])
        return fragment[first:last]
    if len(words) == 1 and len(words[0]) >= 4:
        return words[0]
    return None


@cache
def english_catalog() -> tuple[tuple[str, re.Pattern], ...]:
    """Each English text of the interface whose Indonesian differs, with the pattern that finds it as whole words in
    any case, and the common English words of COMMON_ENGLISH in their own case. Skipped: what an Indonesian
    translation itself says (borrowed words such as "Total", "login") and the names of NAMES."""
    with open(CATALOG, "rb") as f:
        catalog = read_po(f, locale="id")
    pairs = []
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        if ids[0] and any(strings) and strings[0] != ids[0]:
            pairs.append((ids, strings))
    ours = " ".join(" ".join(_fragments(s)) for _, strings in pairs for s in strings if s)
    indonesian_words = {w.lower() for w in WORD.findall(ours)}
    said = f" {ours.lower()} "
    found = {}
    for ids, _strings in pairs:
        for fragment in (f for message in ids for f in _fragments(message)):
            text = _english(fragment)
            if text is None or any(name in text for name in NAMES):
                continue
            words = {w.lower() for w in WORD.findall(text)}
            if words <= indonesian_words and (len(words) == 1 or f" {text.lower()} " in said):
                continue
            found[text.lower()] = re.compile(rf"(?<![\w-]){_spaced(text)}(?![\w-])", re.IGNORECASE)
    for word in COMMON_ENGLISH:
        pattern = re.compile(rf"(?<![\w-]){_spaced(word)}(?![\w-])")
        if word not in BORROWED and not pattern.search(ours):  # an Indonesian translation says it: Indonesian too
            found[word] = pattern
    return tuple(found.items())


def _spaced(text: str) -> str:
    return r"\s+".join(re.escape(part) for part in text.split())


def english_in(text: str, names: tuple[str, ...] = ()) -> list[str]:
    """The English texts of the interface found in `text`, once the names (NAMES and `names`) are taken out."""
    for name in sorted(NAMES + tuple(names), key=len, reverse=True):
        text = text.replace(name, " ")
    found = []
    for _key, pattern in english_catalog():
        match = pattern.search(text)
        if match:
            start = max(0, match.start() - 40)
            found.append(f"{match.group(0)!r} in …{text[start : match.end() + 40]!r}…")
    return found


def assert_fits_and_speaks_indonesian(page, names: tuple[str, ...] = ()) -> None:
    """The page is as wide as the phone at most, nothing on it sticks out, and it shows no English; `names` are the
    journey's own names (people, groups, products), which read the same in every language."""
    page.wait_for_load_state()
    # Against the phone's width: a mobile browser widens innerWidth to a page too wide for it, and zooms out.
    measured = page.evaluate(TOO_WIDE, PHONE["width"])
    assert max(measured["scroll"], measured["inner"]) <= PHONE["width"], (
        f"{page.url} is wider than the phone: {measured}"
    )
    assert measured["wide"] == [], f"{page.url} has elements wider than the phone: {measured['wide']}"
    english = english_in(page.evaluate(SHOWN_TEXT), names)
    assert english == [], f"{page.url} shows English: {english}"


@contextmanager
def phone(browser, javascript: bool = True):
    """A page on a fresh phone (390x844) set to Indonesian, with or without JavaScript; the journey fails if the
    Content-Security-Policy refused anything."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="id-ID",
        java_script_enabled=javascript,
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        refused = csp_refusals(page)
        yield page
        assert refused == [], refused
    finally:
        context.close()


def log_in(page, server: str, login: str, password: str = PASSWORD) -> None:
    """Log in on the login page with a phone number, e-mail or login name."""
    page.goto(f"{server}/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", password)
    page.click(f"main button:has-text('{indonesian('Log in')}')")
    page.wait_for_url(lambda url: "/login" not in url)


def seller(app, name, village, phone, bank=None, member=None, **extra) -> SimpleNamespace:
    """A verified group of `village` with its coordinator (who has `phone`), a pickup point and one member who hands
    over its goods (`member`, or one named for the village); `bank` is (bank, account number, holder)."""
    coordinator = make_user(app, name=f"Ketua {name}", phone=normalize_phone(phone))
    if bank is not None:
        extra.update(bank_name=bank[0], bank_account_number=bank[1], bank_account_holder=bank[2])
    group = make_group(
        app,
        coordinator,
        name=name,
        kind="farmer",
        village=village,
        district="Ponggok",
        pickup_point=f"Gudang {name}",
        pickup_hours="Setiap hari 06.00-10.00",
        **extra,
    )
    person = make_member(app, group, name=member or f"Anggota {village}")
    return SimpleNamespace(user=coordinator, group=group, member=person, members=[person], name=name)


def stocked(app, shop, name, price, quantity, unit="kg", member=None, **variant) -> int:
    """A product of `shop` with one variant at `price` (and `variant`'s other fields), `quantity` of it handed over
    by `member`; its variant id."""
    with acting(app, shop.user) as coordinator:
        product = inv.create_product(
            coordinator,
            db.session.get(Group, shop.group.id),
            name=name,
            kind="produce",
            unit=unit,
            variants=[{"label": "standard", "unit_price": price, **variant}],
        )
        variant_id = product.variants[0].id
        db.session.commit()
    contribute(app, shop, variant_id, quantity, member=member or shop.member)
    catalog.clear_cache()
    return variant_id


__all__ = ["assert_fits_and_speaks_indonesian", "indonesian", "log_in", "phone"]
