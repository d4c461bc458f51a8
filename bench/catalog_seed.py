"""A district's catalog written in bulk, and what buyers ask of it, for bench/catalog.py and bench/catalog_profile.py.

`seed(app, products)` writes `products` products of products / 250 groups (at least 4) in the
villages below: half produce, then processed food and garments; 1-3 variants each, 40 % of
variants without stock, 5 % of variants inactive, 2 % of products hidden. Names are built from
word lists (a product, often a qualifier, then "produk <n>": "Cabai rawit segar produk 4711"),
so a search for "produk <n>" finds a handful of products and one for a word ("cabai", "kaos")
a share of the catalog. The stock books are kept as the app keeps them: a lot and an intake
movement behind every unit on hand (`stock_check()` must pass).

Rows go in by COPY on PostgreSQL (psycopg's cursor.copy) and by SQLAlchemy Core's executemany
on SQLite, in the session's transaction. The ORM's events do not run, so anything
the app keeps beside its rows by those events is built afterwards (bench/catalog.py's
`after_seed`).
"""

import json
import random
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

from sqlalchemy import func, insert, select

from accounts.models import User
from core.extensions import db
from core.text import fold
from core.types import utcnow
from groups.models import Group, GroupKind, Member, Role
from inventory import services as inv
from inventory.models import Lot, Movement, MovementKind, Product, ProductKind, ProductStatus, Stock, Variant
from marketplace import listing

PRODUCTS_PER_GROUP = 250  # 40 groups for 10,000 products
VILLAGES = [
    "Sumberejo",
    "Gembongan",
    "Karangbendo",
    "Kalipucung",
    "Sanankulon",
    "Ponggok",
    "Bacem",
    "Kademangan",
    "Wlingi",
    "Talun",
]
# What groups of a Blitar district sell, with how they qualify it.
WORDS = {
    ProductKind.produce: [
        "Cabai rawit",
        "Cabai merah keriting",
        "Cabé hijau",
        "Tomat",
        "Terong ungu",
        "Belimbing",
        "Jagung manis",
        "Kacang panjang",
        "Bayam",
        "Kangkung",
        "Pepaya",
        "Nanas",
        "Salak pondoh",
        "Bawang merah",
        "Bawang putih",
        "Kentang",
        "Wortel",
        "Kubis",
        "Sawi hijau",
        "Buncis",
        "Timun",
        "Labu siam",
        "Pisang raja",
        "Pisang kepok",
        "Mangga arumanis",
        "Jeruk nipis",
        "Jeruk pamelo",
        "Semangka",
        "Melon",
        "Durian",
        "Rambutan",
        "Alpukat",
        "Jahe merah",
        "Kunyit",
        "Serai",
        "Beras pandan wangi",
        "Beras merah",
        "Singkong",
        "Ubi jalar",
        "Kacang tanah",
        "Kedelai",
        "Petai",
        "Kelengkeng",
        "Jambu kristal",
        "Buah naga",
    ],
    ProductKind.garment: [
        "Daster batik",
        "Seragam SD",
        "Kemeja batik",
        "Mukena",
        "Jilbab",
        "Tas anyaman",
        "Kaos polos",
        "Kaos sablon",
        "Sarung tenun",
        "Kain batik tulis",
        "Kain jumputan",
        "Celana kulot",
        "Rok plisket",
        "Gamis",
        "Kebaya",
        "Peci",
        "Selendang",
        "Dompet rajut",
        "Topi caping",
    ],
    ProductKind.processed: [
        "Gula kelapa",
        "Gula aren",
        "Keripik tempe",
        "Keripik singkong",
        "Keripik pisang",
        "Sambal pecel",
        "Sambal bawang",
        "Kopi bubuk",
        "Kopi robusta",
        "Emping melinjo",
        "Madu hutan",
        "Rengginang",
        "Kerupuk udang",
        "Abon sapi",
        "Dodol",
        "Wingko",
        "Jenang",
        "Kecap manis",
        "Rempeyek kacang",
        "Minyak kelapa",
        "Teh tubruk",
        "Jamu kunyit asam",
    ],
}
QUALIFIERS = {
    ProductKind.produce: ["segar", "organik", "lokal", "pilihan", "super", "muda", "besar", "kecil", "panen pagi"],
    ProductKind.garment: ["merah", "hitam", "putih", "biru", "hijau", "motif parang", "motif kawung", "ukuran L"],
    ProductKind.processed: ["original", "pedas", "manis", "balado", "250 g", "500 g", "1 kg", "kemasan"],
}
# What buyers type that the names do not hold as such: spellings and other words for the same things.
SPELLINGS = ["cabe", "lombok", "blimbing", "tomato", "sereh", "ketela", "kates", "brambang", "kaos oblong", "batik"]
API_PER_PAGE, PAGE_PER_PAGE = 50, 20  # the API's per_page asked, the page's own
MIN_NUMBERED = 2048
LABELS = ["Grade A", "Grade B", "Grade C"]
KINDS = [ProductKind.produce] * 5 + [ProductKind.garment] * 2 + [ProductKind.processed] * 3


def product_name(rng: random.Random, kind: ProductKind) -> str:
    """A product's name without its number: "Cabai rawit segar"."""
    base = rng.choice(WORDS[kind])
    return f"{base} {rng.choice(QUALIFIERS[kind])}" if rng.random() < 0.7 else base


def word_queries(names: set[str]) -> list[str]:
    """Searches in words, as buyers type them, folded, in a fixed order: every spelling of SPELLINGS (some
    find nothing), and those of a product's first word or whole name, alone or with a qualifier, that find
    one of `names` (the folded names, without their number, of the products listed in stock)."""
    found = dict.fromkeys(fold(w) for w in SPELLINGS)
    for kind, bases in WORDS.items():
        for base in bases:
            first = fold(base).split()[0]
            for query in (first, fold(base), *(f"{first} {fold(qualifier)}" for qualifier in QUALIFIERS[kind])):
                if any(all(word in name for word in query.split()) for name in names):
                    found[query] = None
    return list(found)


def group_count(products: int) -> int:
    return max(4, products // PRODUCTS_PER_GROUP)


def seed(app, products: int, seed_value: int = 11) -> dict:
    """`products` products written in bulk; every unit on hand has its lot and intake movement."""
    rng = random.Random(seed_value)
    now = utcnow()
    with app.app_context():
        user = User(email="bench@pasar.test", name="Bench")
        user.set_password("bench-password")
        db.session.add(user)
        db.session.flush()
        with listing.bulk_load():  # the triggers lifted, the listing rebuilt set-based at the end
            groups = [
                Group(
                    name=f"Kelompok {i + 1}",
                    kind=GroupKind.business if i % 3 == 0 else GroupKind.farmer,
                    village=VILLAGES[i % len(VILLAGES)],
                    district="Ponggok",
                    verified=True,
                    created_by_id=user.id,
                )
                for i in range(group_count(products))
            ]
            db.session.add_all(groups)
            db.session.flush()
            members = [Member(group_id=group.id, name="Anggota", role=Role.member) for group in groups]
            db.session.add_all(members)
            db.session.flush()
            member_of = {member.group_id: member.id for member in members}

            rows = []
            for i in range(products):
                kind = rng.choice(KINDS)
                name = f"{product_name(rng, kind)} produk {i + 1}"
                created = now - timedelta(days=rng.uniform(0, 365))
                rows.append(
                    {
                        "group_id": groups[i % len(groups)].id,
                        "name": name,
                        "search_name": fold(name),
                        "kind": kind,
                        "unit": "pcs" if kind == ProductKind.garment else "kg",
                        "description": f"{name} dari anggota kelompok.",
                        "status": ProductStatus.hidden if rng.random() < 0.02 else ProductStatus.active,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            _insert(Product, rows)
            listed = [row["status"] == ProductStatus.active for row in rows]  # by product number - 1
            rows_names = [row["name"].rsplit(" produk ", 1)[0] for row in rows]
            rows, owners = [], []  # each variant's product number - 1, in the order of their ids
            product_rows = db.session.execute(select(Product.id, Product.group_id).order_by(Product.id))
            for i, (product_id, group_id) in enumerate(product_rows):
                for label in LABELS[: rng.choice((1, 1, 2, 3))]:
                    owners.append(i)
                    rows.append(
                        {
                            "product_id": product_id,
                            "group_id": group_id,
                            "label": label,
                            "unit_price": rng.randrange(5_000, 150_000, 500),
                            "active": rng.random() > 0.05,
                            "created_at": now,
                        }
                    )
            _insert(Variant, rows)
            stock, lots, in_stock = [], [], set()
            variant_rows = db.session.execute(select(Variant.id, Variant.group_id, Variant.active).order_by(Variant.id))
            for owner, (variant_id, group_id, active) in zip(owners, variant_rows, strict=True):
                quantity = Decimal(rng.randrange(1, 200)) if rng.random() < 0.6 else Decimal(0)
                if quantity and active and listed[owner]:
                    in_stock.add(owner + 1)
                stock.append({"variant_id": variant_id, "on_hand": quantity, "reserved": Decimal(0)})
                if quantity:
                    lots.append(
                        {
                            "group_id": group_id,
                            "variant_id": variant_id,
                            "member_id": member_of[group_id],
                            "quantity": quantity,
                            "remaining": quantity,
                            "received_at": now,
                            "created_at": now,
                        }
                    )
            _insert(Stock, stock)
            _insert(Lot, lots)
            _insert(
                Movement,
                [
                    {
                        "group_id": g,
                        "variant_id": v,
                        "kind": MovementKind.intake,
                        "lot_id": lot_id,
                        "on_hand_delta": q,
                        "reserved_delta": Decimal(0),
                        "created_at": now,
                    }
                    for lot_id, g, v, q in db.session.execute(
                        select(Lot.id, Lot.group_id, Lot.variant_id, Lot.quantity)
                    )
                ],
            )
        db.session.commit()
        return {
            "products": db.session.scalar(select(func.count(Product.id))),
            "variants": len(stock),
            "groups": len(groups),
            # what the catalog lists in stock: the products' numbers, their names without the number
            "in_stock": sorted(in_stock),
            "names": {fold(rows_names[n - 1]) for n in in_stock},
        }


def _insert(model, rows: list[dict], chunk: int = 20_000) -> None:
    """`rows` into `model`'s table in the session's transaction: on PostgreSQL by COPY, elsewhere by Core
    executemany (multi-row INSERTs) in chunks that bound the memory."""
    table = model.__table__
    if rows and db.engine.dialect.name == "postgresql":
        _copy(table, rows)
        return
    for start in range(0, len(rows), chunk):
        db.session.execute(insert(table), rows[start : start + chunk])


def _copy(table, rows: list[dict]) -> None:
    """COPY ... FROM STDIN through psycopg's cursor.copy, each value bound as its column's type binds it."""
    dialect = db.engine.dialect
    columns = list(rows[0])
    binds = [table.c[name].type.bind_processor(dialect) or (lambda value: value) for name in columns]
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    with db.session.connection().connection.driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {dialect.identifier_preparer.quote(table.name)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([bind(row[name]) for name, bind in zip(columns, binds)])


def check_books(app) -> None:
    """The seeded stock books agree (each counter equals its movements, each lot its intake), or stop."""
    with app.app_context():
        problems = inv.stock_check()
        if problems:
            raise SystemExit(f"the seeded books disagree: {problems[:3]}")
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does to tables after a bulk insert, before the figures: the planner's statistics,
            # and the visibility map, without which an index-only scan (every page of the listing) reads each
            # row's table page too. Done here rather than by autovacuum during the measuring.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")


# --- what buyers ask of it ----------------------------------------------------------


def search_queries(listed: dict, rng: random.Random) -> list[str]:
    """Searches in a random order, three of four `produk <n>` (each once) and one of four in words.

    `listed` is what seed() says the catalog lists in stock: each `produk <n>` is of one of
    its numbers, so that it finds something (a search that finds nothing costs more: it looks
    for the nearest names); the searches in words find one of its names, but for a few
    spellings that find nothing ("lombok", "blimbing", "tomato"). With fewer than
    MIN_NUMBERED numbers, `<n> produk` (the same words, another search) is added. The
    searches in words go round: one comes again after some thousands of other searches, when
    no process keeps it any more (at most 512 pages a process).
    """
    numbered = [f"produk {n}" for n in listed["in_stock"]]
    if len(numbered) < MIN_NUMBERED:
        numbered += [f"{n} produk" for n in listed["in_stock"]]
    words = word_queries(listed["names"])
    rng.shuffle(numbered)
    rng.shuffle(words)
    queries = []
    for i, query in enumerate(numbered):
        queries.append(query)
        if i % 3 == 2:
            queries.append(words[(i // 3) % len(words)])
    return queries


def search_addresses(listed: dict, endpoint: str, seed_value: int) -> list[str]:
    queries = search_queries(listed, random.Random(seed_value))
    if endpoint == "api":
        return [f"/api/v1/products?q={quote(q)}&in_stock=true&per_page={API_PER_PAGE}" for q in queries]
    return [f"/catalog?q={quote(q)}&in_stock=1" for q in queries]


def listing_addresses(get, endpoint: str, seed_value: int) -> list[str]:
    """Every page of kind x in stock x price sort, in a random order; `get(path) -> (status, body)` asks the API
    for the totals."""
    per_page = API_PER_PAGE if endpoint == "api" else PAGE_PER_PAGE
    addresses = []
    for kind in ("produce", "processed", "garment"):
        status, body = get(f"/api/v1/products?kind={kind}&in_stock=true&per_page=1")
        if status != 200:
            raise SystemExit(f"the listing's count answered {status}: {body[:300]!r}")
        pages = max(1, -(-json.loads(body)["total"] // per_page))
        for sort in ("price_asc", "price_desc"):
            for page in range(1, pages + 1):
                if endpoint == "api":
                    addresses.append(f"/api/v1/products?kind={kind}&in_stock=true&sort={sort}&page={page}")
                else:
                    addresses.append(f"/catalog?kind={kind}&in_stock=1&sort={sort}&page={page}")
    random.Random(seed_value).shuffle(addresses)
    return addresses
