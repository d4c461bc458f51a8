"""The demo's catalog: what each group sells (variants, prices in rupiah), a photo drawn for each product, and the
goods members handed over in the last days; listed and received through the same services as the site.

demo_history reads the catalog too: who makes what, how long it keeps, what a household buys.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from accounts.models import User
from core.extensions import db
from core.types import clock_at, utcnow
from demo_photos import product_photo
from groups.models import Group, Member, Role
from inventory import services as stock
from inventory.models import Product

KUB = "KUB Jahit Sumberejo"
CABAI = "Kelompok Tani Cabai Makmur"
BELIMBING = "Kelompok Tani Belimbing Sari"

# Units a group counts in besides the built-in ones (code, name), defined as its coordinator would.
GROUP_UNITS = {BELIMBING: [("sisir", "sisir (pisang)")]}


@dataclass(frozen=True)
class Item:
    """A product of the demo and the life it has in the demo."""

    name: str
    kind: str  # produce, garment or processed
    unit: str
    description: str
    variants: tuple  # (label, price, low-stock threshold or None); label "standard" alone for a product without
    look: tuple[str, str, str]  # its photo: background, shape (demo_photos.SHAPES) and colour
    makers: tuple[str, ...]  # the members who grow, make or sew it
    keeps: int | None  # days it keeps (its lots' best-before); None for goods that keep
    order: tuple[str, str]  # what one household buys, the least and the most, in its unit
    today: tuple = ()  # handed over in the last days: (member, variant, quantity, days ago[, days it keeps])

    def product_fields(self) -> dict:
        """What create_product takes, as the new-product page sends it."""
        fields = dict(name=self.name, kind=self.kind, unit=self.unit, description=self.description)
        if len(self.variants) == 1 and self.variants[0][0] == stock.DEFAULT_LABEL:
            _label, price, threshold = self.variants[0]
            return {**fields, "unit_price": price, "low_stock_threshold": threshold}
        variants = [
            {"label": label, "unit_price": price, "low_stock_threshold": t} for label, price, t in self.variants
        ]
        return {**fields, "variants": variants}


def one(price: int, threshold: str | None = None) -> tuple:
    """The variants of a product sold one way only."""
    return ((stock.DEFAULT_LABEL, price, threshold),)


def sizes(prices: dict[str, int], threshold: str | None = None) -> tuple:
    return tuple((label, price, threshold) for label, price in prices.items())


PINK, GREEN, CREAM, BLUE, LILAC = "#fdecea", "#eaf4ea", "#fff6d6", "#e8eef9", "#f3e8f7"

CATALOG: dict[str, list[Item]] = {
    CABAI: [
        Item(
            "Cabai rawit merah", "produce", "kg", "Cabai rawit segar, dipetik pagi hari.",
            sizes({"Grade A": 45000, "Grade B": 38000}, "5"), (PINK, "chili", "#d7263d"),
            ("Pak Darmaji", "Bu Katini", "Pak Slamet", "Pak Mujiono", "Bu Suparmi"),
            5, ("0.5", "3"),
            today=(
                ("Pak Darmaji", "Grade A", "12.5", 2, 4),
                ("Bu Katini", "Grade A", "8", 1, 5),
                ("Pak Slamet", "Grade B", "6.25", 1, 5),
                ("Pak Mujiono", "Grade A", "4", 0, 6),
                ("Bu Suparmi", "Grade B", "3.5", 3, 1),
            ),
        ),
        Item(
            "Gula kelapa", "processed", "kg", "Gula kelapa cetak dari nira kelapa kebun anggota.",
            one(22000), (CREAM, "jar", "#8c5a2b"), ("Pak Wagiman", "Pak Sutrisno"),
            120, ("1", "3"),
            today=(("Pak Wagiman", "standard", "15", 6, 120), ("Pak Sutrisno", "standard", "10", 3, 120)),
        ),
        Item(
            "Cabai merah besar", "produce", "kg", "Cabai merah besar untuk sambal dan masakan, segar dari kebun.",
            sizes({"Grade A": 38000, "Grade B": 30000}, "3"), (PINK, "chili", "#b3202f"),
            ("Pak Slamet", "Pak Wagiman"), 6, ("0.5", "3"),
            today=(("Pak Slamet", "Grade A", "6", 1), ("Pak Wagiman", "Grade B", "3", 2)),
        ),
        Item(
            "Cabai keriting", "produce", "kg", "Cabai merah keriting, pedasnya sedang.",
            one(34000, "3"), (CREAM, "chili", "#c8102e"), ("Pak Darmaji", "Pak Sutrisno"),
            6, ("0.5", "2"),
            today=(("Pak Sutrisno", "standard", "5.5", 1),),
        ),
        Item(
            "Cabai rawit hijau", "produce", "kg", "Cabai rawit hijau untuk lalapan dan tahu isi.",
            one(28000, "2"), (GREEN, "chili", "#3a8d3f"), ("Bu Katini", "Pak Mujiono"),
            5, ("0.5", "2"),
            today=(("Pak Mujiono", "standard", "4", 1),),
        ),
        Item(
            "Tomat", "produce", "kg", "Tomat merah dari lereng Kelud; grade B cocok untuk sambal.",
            sizes({"Grade A": 12000, "Grade B": 8000}, "5"), (GREEN, "round", "#e94f37"),
            ("Bu Suparmi", "Pak Slamet"), 6, ("1", "4"),
            today=(("Bu Suparmi", "Grade A", "12", 1), ("Pak Slamet", "Grade B", "6", 2)),
        ),
        Item(
            "Bawang merah", "produce", "kg", "Bawang merah kering simpan, aromanya kuat.",
            sizes({"Super": 36000, "Sedang": 30000}, "3"), (LILAC, "onions", "#9b2f4f"),
            ("Pak Mujiono", "Pak Sutrisno"), 60, ("0.5", "3"),
            today=(("Pak Mujiono", "Super", "10", 3), ("Pak Sutrisno", "Sedang", "8", 3)),
        ),
        Item(
            "Beras", "produce", "kg", "Beras giling dari sawah anggota di Ponggok, tanpa pemutih.",
            sizes({"Premium": 14500, "Medium": 12500}, "20"), (CREAM, "sack", "#f2efe6"),
            ("Pak Darmaji", "Pak Wagiman"), 180, ("5", "20"),
            today=(("Pak Darmaji", "Premium", "50", 4), ("Pak Wagiman", "Medium", "50", 4)),
        ),
        Item(
            "Telur ayam kampung", "produce", "pcs", "Telur ayam kampung dari kandang anggota, per butir.",
            one(2500, "30"), (CREAM, "eggs", "#d9b48f"), ("Bu Katini", "Bu Suparmi"),
            14, ("10", "30"),
            today=(("Bu Katini", "standard", "90", 2), ("Bu Suparmi", "standard", "60", 1)),
        ),
        Item(
            "Jagung manis", "produce", "kg", "Jagung manis, dipanen muda; enak direbus atau dibakar.",
            one(9000, "5"), (CREAM, "cob", "#f6c945"), ("Pak Wagiman", "Pak Slamet"),
            4, ("1", "4"),
            today=(("Pak Wagiman", "standard", "12", 1),),
        ),
        Item(
            "Kacang panjang", "produce", "ikat", "Kacang panjang segar, satu ikat sekitar 250 gram.",
            one(5000, "5"), (GREEN, "bunch", "#4f9a3a"), ("Bu Suparmi", "Bu Katini"),
            3, ("2", "5"),
            today=(("Bu Suparmi", "standard", "20", 0),),
        ),
        Item(
            "Sambal pecel", "processed", "pcs", "Sambal pecel khas Blitar, kemasan 250 gram, dari kacang tanah sangrai.",
            sizes({"Pedas": 18000, "Sedang": 17000}, "5"), (PINK, "jar", "#8c3b1f"),
            ("Bu Katini", "Bu Suparmi"), 90, ("1", "4"),
            today=(("Bu Katini", "Pedas", "12", 5), ("Bu Suparmi", "Sedang", "10", 5)),
        ),
    ],
    BELIMBING: [
        Item(
            "Belimbing", "produce", "kg", "Belimbing manis khas Blitar.",
            sizes({"Grade A": 18000, "Grade B": 12000}, "10"), (CREAM, "star", "#f4c430"),
            ("Bu Sulastri", "Pak Paiman", "Pak Kusnadi", "Pak Jumadi", "Bu Rukmini"),
            7, ("1", "5"),
            today=(
                ("Bu Sulastri", "Grade A", "25", 2, 6),
                ("Pak Paiman", "Grade A", "18.5", 1, 7),
                ("Pak Kusnadi", "Grade B", "20", 2, 5),
                ("Pak Jumadi", "Grade B", "7", 4, 2),
                ("Bu Rukmini", "Grade A", "3", 6, -1),
            ),
        ),
        Item(
            "Belimbing Karangsari jumbo", "produce", "kg",
            "Belimbing Karangsari pilihan, 3 sampai 4 buah sekilo, manis dan berair.",
            one(25000, "5"), (BLUE, "star", "#f2b705"), ("Pak Gito", "Pak Paiman"),
            7, ("1", "3"),
            today=(("Pak Gito", "standard", "12", 1),),
        ),
        Item(
            "Parsel belimbing 3 kg", "produce", "pcs", "Kotak hadiah berisi 3 kg belimbing Karangsari pilihan.",
            one(85000, "2"), (PINK, "box", "#e9c46a"), ("Bu Sulastri", "Bu Warsini"),
            5, ("1", "2"),
            today=(("Bu Warsini", "standard", "5", 1),),
        ),
        Item(
            "Sari belimbing", "processed", "pcs", "Minuman sari buah belimbing tanpa pengawet, dalam botol.",
            sizes({"250 ml": 7000, "1 liter": 24000}, "10"), (GREEN, "bottle", "#f2b705"),
            ("Bu Warsini", "Bu Rukmini"), 60, ("2", "12"),
            today=(("Bu Warsini", "250 ml", "36", 4), ("Bu Rukmini", "1 liter", "12", 4)),
        ),
        Item(
            "Manisan belimbing", "processed", "pcs", "Manisan belimbing kering, kemasan 200 gram.",
            one(15000, "5"), (CREAM, "jar", "#d98e04"), ("Bu Warsini",),
            60, ("1", "4"),
            today=(("Bu Warsini", "standard", "10", 6),),
        ),
        Item(
            "Dodol belimbing", "processed", "pcs", "Dodol legit dari belimbing dan gula kelapa, kemasan 250 gram.",
            one(20000, "5"), (LILAC, "jar", "#7a4a2a"), ("Bu Rukmini",),
            90, ("1", "3"),
            today=(("Bu Rukmini", "standard", "8", 5),),
        ),
        Item(
            "Jambu kristal", "produce", "kg", "Jambu kristal renyah, hampir tanpa biji.",
            one(16000, "3"), (GREEN, "round", "#9bc53d"), ("Pak Kusnadi", "Pak Jumadi"),
            7, ("1", "3"),
            today=(("Pak Kusnadi", "standard", "9", 2),),
        ),
        Item(
            "Pepaya california", "produce", "kg", "Pepaya california matang pohon, daging oranye dan manis.",
            one(8000, "5"), (CREAM, "oval", "#f28c28"), ("Pak Jumadi", "Pak Gito"),
            5, ("1", "4"),
            today=(("Pak Jumadi", "standard", "15", 1),),
        ),
        Item(
            "Pisang raja", "produce", "sisir", "Pisang raja matang, satu sisir 12 sampai 16 buah.",
            one(25000, "2"), (BLUE, "bananas", "#f5d000"), ("Pak Paiman", "Pak Gito"),
            6, ("1", "2"),
            today=(("Pak Paiman", "standard", "8", 2),),
        ),
        Item(
            "Alpukat mentega", "produce", "kg", "Alpukat mentega, daging kuning dan pulen.",
            one(22000, "3"), (GREEN, "round", "#4a7c2a"), ("Bu Sulastri", "Pak Kusnadi"),
            6, ("1", "2"),
            today=(("Bu Sulastri", "standard", "6", 2),),
        ),
        Item(
            "Bibit belimbing", "produce", "pcs", "Bibit belimbing Karangsari hasil okulasi, tinggi 60 sampai 80 cm.",
            one(35000), (GREEN, "seedling", "#4f9a3a"), ("Pak Kusnadi",),
            None, ("1", "2"),
            today=(("Pak Kusnadi", "standard", "10", 7),),
        ),
    ],
    KUB: [
        Item(
            "Seragam sekolah SD", "garment", "pcs", "Kemeja putih dan celana/rok merah, jahitan rapi.",
            sizes({"S": 85000, "M": 90000, "L": 95000, "XL": 100000}, "5"), (BLUE, "shirt", "#f7f7f7"),
            ("Siti Aminah", "Nur Hidayah", "Endang Lestari", "Tutik Handayani", "Sumiati"),
            None, ("1", "3"),
            today=(
                ("Siti Aminah", "S", "12", 5, None),
                ("Nur Hidayah", "M", "15", 4, None),
                ("Endang Lestari", "L", "10", 3, None),
                ("Tutik Handayani", "M", "2", 1, None),
                ("Sumiati", "XL", "3", 2, None),
            ),
        ),
        Item(
            "Daster batik", "garment", "pcs", "Daster katun motif batik Blitar, ukuran all size.",
            sizes({"Biru": 65000, "Cokelat": 65000}), (LILAC, "dress", "#2b59a8"),
            ("Siti Aminah", "Nur Hidayah", "Endang Lestari"), None, ("1", "2"),
            today=(
                ("Siti Aminah", "Biru", "8", 6, None),
                ("Nur Hidayah", "Cokelat", "6", 4, None),
                ("Endang Lestari", "Biru", "1", 2, None),
            ),
        ),
        Item(
            "Seragam SMP", "garment", "pcs", "Kemeja putih dan celana/rok biru tua untuk SMP.",
            sizes({"S": 95000, "M": 100000, "L": 105000, "XL": 110000}, "3"), (BLUE, "shirt", "#1f3a93"),
            ("Endang Lestari", "Tutik Handayani"), None, ("1", "2"),
            today=(("Endang Lestari", "M", "6", 3), ("Tutik Handayani", "L", "5", 2)),
        ),
        Item(
            "Seragam pramuka", "garment", "pcs", "Seragam pramuka siaga dan penggalang, kain tebal tidak luntur.",
            sizes({"S": 90000, "M": 95000, "L": 100000}, "3"), (CREAM, "shirt", "#8a6d3b"),
            ("Nur Hidayah", "Sumiati"), None, ("1", "2"),
            today=(("Nur Hidayah", "M", "5", 4), ("Sumiati", "S", "4", 2)),
        ),
        Item(
            "Kemeja batik pria", "garment", "pcs", "Kemeja batik cap motif kendi Blitar, lengan pendek.",
            sizes({"M": 125000, "L": 130000, "XL": 135000}, "2"), (PINK, "shirt", "#8c3b1f"),
            ("Siti Aminah", "Tutik Handayani"), None, ("1", "2"),
            today=(("Tutik Handayani", "L", "4", 3), ("Siti Aminah", "M", "3", 1)),
        ),
        Item(
            "Blus batik wanita", "garment", "pcs", "Blus batik katun, potongan longgar, kancing depan.",
            sizes({"M": 110000, "L": 115000}, "2"), (LILAC, "shirt", "#a23b72"),
            ("Endang Lestari", "Nur Hidayah"), None, ("1", "2"),
            today=(("Endang Lestari", "M", "3", 2), ("Nur Hidayah", "L", "3", 5)),
        ),
        Item(
            "Mukena", "garment", "pcs", "Mukena katun rayon dengan bordir tepi dan tas kecil.",
            sizes({"Dewasa": 150000, "Anak": 85000}, "2"), (GREEN, "dress", "#d9c7a7"),
            ("Sumiati", "Siti Aminah"), None, ("1", "2"),
            today=(("Sumiati", "Dewasa", "4", 3), ("Siti Aminah", "Anak", "3", 6)),
        ),
        Item(
            "Jilbab segi empat", "garment", "pcs", "Jilbab voal segi empat, 115 x 115 cm, tepi dijahit tangan.",
            one(35000, "5"), (LILAC, "scarf", "#7a4ea3"), ("Tutik Handayani", "Sumiati"),
            None, ("1", "3"),
            today=(("Tutik Handayani", "standard", "10", 2),),
        ),
        Item(
            "Tas belanja kain", "garment", "pcs", "Tas belanja dari kain perca batik, kuat untuk 5 kg.",
            one(25000, "5"), (CREAM, "bag", "#c4633f"), ("Nur Hidayah", "Endang Lestari"),
            None, ("1", "4"),
            today=(("Nur Hidayah", "standard", "12", 3),),
        ),
        Item(
            "Celemek batik", "garment", "pcs", "Celemek masak dari kain batik dengan saku depan.",
            one(40000, "2"), (GREEN, "apron", "#1f7a6d"), ("Sumiati",),
            None, ("1", "2"),
            today=(("Sumiati", "standard", "5", 4),),
        ),
        Item(
            "Tas sekolah anak", "garment", "pcs", "Tas ransel anak SD dari kanvas, dua kantong.",
            one(85000, "2"), (BLUE, "bag", "#2a6f97"), ("Tutik Handayani", "Siti Aminah"),
            None, ("1", "1"),
            today=(("Siti Aminah", "standard", "4", 2),),
        ),
    ],
}  # fmt: skip


def group_named(name: str) -> Group:
    return db.session.scalar(select(Group).where(Group.name == name))


def coordinator_of(group: Group) -> User:
    """The user who coordinates `group`."""
    return db.session.scalar(
        select(User)
        .join(Member, Member.user_id == User.id)
        .where(Member.group_id == group.id, Member.role == Role.coordinator)
    )


def members_by_name(group: Group) -> dict[str, Member]:
    return {m.name: m for m in db.session.scalars(select(Member).where(Member.group_id == group.id))}


def list_products(listed_at: datetime) -> list[Product]:
    """List what is missing of each group's products, as its coordinator would on `listed_at`, each with its photo;
    returns the products listed now. A product listed earlier without a photo gets one."""
    created = []
    with clock_at(listed_at):
        for group_name, items in CATALOG.items():
            group = group_named(group_name)
            coordinator = coordinator_of(group)
            known = stock.group_units(group)
            for code, name in GROUP_UNITS.get(group_name, ()):
                if code not in known:
                    stock.define_unit(coordinator, group, code, name)
            for item in items:
                product = db.session.scalar(
                    select(Product).where(Product.group_id == group.id, Product.name == item.name)
                )
                if product is None:
                    product = stock.create_product(coordinator, group, **item.product_fields())
                    created.append(product)
                if product.photo is None:
                    stock.set_product_photo(coordinator, product, product_photo(item.name, *item.look))
        db.session.flush()
    return created


def receive_todays_stock(products: list[Product]) -> int:
    """What members handed over in the last days of the products just listed, as the coordinator recorded it;
    returns the number of lots."""
    received = 0
    items = {(group_named(g).id, item.name): item for g, group_items in CATALOG.items() for item in group_items}
    for product in products:
        item = items[product.group_id, product.name]
        group = db.session.get(Group, product.group_id)
        coordinator, members = coordinator_of(group), members_by_name(group)
        variants = {v.label: v for v in product.variants}
        for member, label, quantity, days_ago, *keeps in item.today:
            keeps_days = keeps[0] if keeps else item.keeps
            moment = utcnow() - timedelta(days=days_ago, hours=3)
            stock.receive_contribution(
                coordinator,
                group,
                variant_id=variants[label].id,
                member_id=members[member].id,
                quantity=quantity,
                received_at=moment,
                best_before=(moment + timedelta(days=keeps_days)).date() if keeps_days is not None else None,
                grade=label if label.startswith("Grade") else None,
            )
            received += 1
    db.session.flush()
    return received
