"""Small helpers that create test data and return plain records (no live ORM objects)."""

import itertools
from types import SimpleNamespace

from accounts.models import User
from accounts.services import issue_token
from core.extensions import db
from core.types import utcnow
from groups.models import Group, GroupKind, Member, Role
from groups.opening import EVERY_DAY

PASSWORD = "rahasia-123"
_seq = itertools.count(1)


def make_user(app, email=None, password=PASSWORD, name="Sri Wahyuni", phone=None, admin=False):
    n = next(_seq)
    with app.app_context():
        user = User(
            email=email if email is not None else f"user{n}@example.test", name=name, phone=phone, is_admin=admin
        )
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return SimpleNamespace(id=user.id, email=user.email, phone=user.phone, name=user.name, password=password)


def make_group(
    app, coordinator, name=None, kind="business", village="Sumberejo", district="Sanankulon", verified=True, **extra
):
    """A group with `coordinator` as its coordinator; verified by default, as a group that sells is
    (`verified=False` for one waiting for the district admin)."""
    n = next(_seq)
    extra.setdefault("open_days", EVERY_DAY)  # open every day, so that a test's "today" is always a pickup day
    with app.app_context():
        user = db.session.get(User, coordinator.id)
        group = Group(
            verified=verified,
            verified_at=utcnow() if verified else None,
            name=name or f"KUB Jahit {n}",
            kind=GroupKind(kind),
            village=village,
            district=district,
            created_by_id=user.id,
            **extra,
        )
        db.session.add(group)
        lead = Member(
            group=group, user_id=user.id, name=user.name, phone=user.phone, email=user.email, role=Role.coordinator
        )
        db.session.add(lead)
        db.session.commit()
        return SimpleNamespace(id=group.id, name=group.name, coordinator_member_id=lead.id)


def make_member(app, group, name="Siti Aminah", phone=None, email=None, role="member", user=None, active=True):
    with app.app_context():
        member = Member(
            group_id=group.id,
            name=name,
            phone=phone,
            email=email,
            role=Role(role),
            user_id=user.id if user else None,
            active=active,
        )
        db.session.add(member)
        db.session.commit()
        return SimpleNamespace(id=member.id, name=member.name, group_id=group.id)


def make_token(app, user) -> str:
    with app.app_context():
        _, token = issue_token(db.session.get(User, user.id))
        db.session.commit()
        return token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def login(client, user, password=PASSWORD):
    """Log `client` in through the API (sets the session cookie)."""
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": password})
    assert response.status_code == 200, response.json
    return response


def count(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()


def assert_error(response, code: int, *fields: str) -> dict:
    """Check that `response` is the one JSON error shape with `code`, naming `fields` in `errors`."""
    assert response.status_code == code, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.is_json, response.content_type
    body = response.json
    assert set(body) == {"code", "status", "message", "errors"}, body
    assert body["code"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    for field in fields:
        assert field in body["errors"], body["errors"]
    return body


def rows(app, model) -> list[dict]:
    """Every row of `model`'s table as plain dicts, in id order (to compare before and after)."""
    with app.app_context():
        table = model.__table__
        result = db.session.execute(table.select().order_by(table.c.id))
        return [dict(r._mapping) for r in result]


def fetch(app, model, id_) -> SimpleNamespace | None:
    """One row of `model` as a plain record, or None."""
    with app.app_context():
        obj = db.session.get(model, id_)
        if obj is None:
            return None
        return SimpleNamespace(**{c.key: getattr(obj, c.key) for c in model.__table__.columns})
