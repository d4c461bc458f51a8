"""Demo data for Blitar: three groups, their members, and a login for each kind of user."""
from sqlalchemy import select

from core.auth import User, register_user
from core.extensions import db
from core.phone import normalize_phone
from groups.models import Group, GroupKind, Member, Role

DEMO_PASSWORD = "pasar-demo"

ADMIN = ("admin@pasar.test", "Admin Kabupaten Blitar")
BUYER = ("pembeli@pasar.test", "Bu Ratna (pembeli)", "0813-3000-1111")

GROUPS = [
    {
        "group": dict(name="KUB Jahit Sumberejo", kind=GroupKind.business, village="Sumberejo",
                      district="Sanankulon",
                      description="Ibu-ibu rumah tangga yang dilatih menjahit; membuat seragam sekolah dan daster batik.",
                      pickup_point="Balai Desa Sumberejo, Sanankulon", pickup_hours="Senin–Sabtu 08.00–15.00"),
        "coordinator": ("kub.sumberejo@pasar.test", "Sri Wahyuni", "0812-3300-0101"),
        "members": [("Siti Aminah", "0812-3300-0102"), ("Nur Hidayah", "0812-3300-0103"),
                    ("Endang Lestari", None), ("Tutik Handayani", "0812-3300-0105"),
                    ("Sumiati", "0812-3300-0102")],
        "treasurer": "Nur Hidayah",
    },
    {
        "group": dict(name="Kelompok Tani Cabai Makmur", kind=GroupKind.farmer, village="Gembongan",
                      district="Ponggok",
                      description="Petani cabai rawit yang memasarkan panen bersama.",
                      pickup_point="Gudang kelompok, Dusun Gembongan", pickup_hours="Setiap hari 06.00–10.00"),
        "coordinator": ("cabai.ponggok@pasar.test", "Pak Suyono", "0812-3300-0201"),
        "members": [("Pak Darmaji", "0812-3300-0202"), ("Bu Katini", "0812-3300-0203"),
                    ("Pak Slamet", "0812-3300-0204"), ("Pak Mujiono", None),
                    ("Bu Suparmi", "0812-3300-0206"), ("Pak Wagiman", "0812-3300-0207"),
                    ("Pak Sutrisno", "0812-3300-0208")],
        "treasurer": "Bu Katini",
    },
    {
        "group": dict(name="Kelompok Tani Belimbing Sari", kind=GroupKind.farmer, village="Karangbendo",
                      district="Ponggok",
                      description="Petani belimbing; grade A dan B dipanen bersama dan dijual ke pasar lokal.",
                      pickup_point="Rumah Pak Harjo, Karangbendo", pickup_hours="Selasa, Kamis, Sabtu 07.00–11.00"),
        "coordinator": ("belimbing.ponggok@pasar.test", "Pak Harjo", "0812-3300-0301"),
        "members": [("Bu Sulastri", "0812-3300-0302"), ("Pak Paiman", "0812-3300-0303"),
                    ("Pak Kusnadi", "0812-3300-0304"), ("Bu Warsini", None),
                    ("Pak Jumadi", "0812-3300-0306"), ("Bu Rukmini", "0812-3300-0307"),
                    ("Pak Gito", "0812-3300-0308")],
        "treasurer": "Bu Sulastri",
    },
]

# A member who logs in by phone number (no e-mail), as invited members do.
PHONE_MEMBER = ("KUB Jahit Sumberejo", "Siti Aminah")


def _user(email: str, name: str, phone: str | None = None) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = register_user(email=email, password=DEMO_PASSWORD, name=name, phone=phone)
    return user


def seed() -> list[str]:
    """Create what is missing of the demo; running it twice changes nothing."""
    admin = _user(*ADMIN)
    admin.is_admin = True
    _user(*BUYER)
    lines = [f"admin        {ADMIN[0]} / {DEMO_PASSWORD}", f"buyer        {BUYER[0]} / {DEMO_PASSWORD}"]
    for spec in GROUPS:
        coordinator = _user(*spec["coordinator"])
        fields = spec["group"]
        group = db.session.scalar(select(Group).where(Group.name == fields["name"], Group.village == fields["village"]))
        if group is None:
            group = Group(created_by_id=coordinator.id, verified=True, **fields)
            db.session.add(group)
            db.session.add(Member(group=group, user_id=coordinator.id, name=coordinator.name,
                                  phone=coordinator.phone, email=coordinator.email, role=Role.coordinator))
            for name, phone in spec["members"]:
                role = Role.treasurer if name == spec["treasurer"] else Role.member
                db.session.add(Member(group=group, name=name, phone=normalize_phone(phone) if phone else None,
                                      role=role))
            db.session.flush()
        lines.append(f"coordinator  {coordinator.email} / {DEMO_PASSWORD}  ({group.name})")
    group_name, member_name = PHONE_MEMBER
    member = db.session.scalar(select(Member).join(Group).where(Group.name == group_name, Member.name == member_name))
    if member.user_id is None:
        user = db.session.scalar(select(User).where(User.phone == member.phone))
        if user is None:
            user = User(name=member.name, phone=member.phone)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
            db.session.flush()
        member.user_id = user.id
    lines.append(f"member       {member.phone} (phone) / {DEMO_PASSWORD}  ({group_name})")
    db.session.flush()
    return lines
