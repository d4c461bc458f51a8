"""The groups services and invitations take their actor and typed values: they work with no request at all,
and check the actor's role themselves. Test data is made first: the app context below holds SQLite's write lock."""

import pytest

from accounts.models import User
from core.errors import Forbidden, Unauthorized, ValidationFailed
from core.extensions import db as _db
from groups import invitations, services
from groups.models import Group, GroupKind, Member, Role
from tests.factories import make_group, make_member, make_user


def _get(model, id_):
    return _db.session.get(model, id_)


def test_a_group_is_founded_and_its_members_kept_without_a_request(app, db):
    founder_id = make_user(app, name="Bu Sri").id
    with app.app_context():
        founder = _get(User, founder_id)

        group = services.create_group(
            founder,
            name="  KUB  Mawar ",
            kind=GroupKind.business,
            village="Sumberejo",
            district="Sanankulon",
            pickup_point="Balai desa",
        )
        member = services.add_member(founder, group, name="Siti", phone="0812-3300-0102", role=Role.treasurer)
        services.update_member(founder, group, member, active=False)
        newcomer = services.add_member(founder, group, name="Tini")
        invitation, code = invitations.create_invitation(founder, group, newcomer)

        assert (group.name, group.kind, group.pickup_point) == ("KUB Mawar", GroupKind.business, "Balai desa")
        assert (member.phone, member.role, member.active) == ("+6281233000102", Role.treasurer, False)
        assert invitation.created_by_id == founder.id and len(code) == invitations.INVITATION_LENGTH


def test_an_invitation_without_an_actor_makes_an_account_and_with_one_links_it(app, db):
    founder_id, joiner_id = make_user(app).id, make_user(app).id
    with app.app_context():
        founder, joiner = _get(User, founder_id), _get(User, joiner_id)
        group = services.create_group(
            founder, name="Poktan Makmur", kind=GroupKind.farmer, village="Gembongan", district="Ponggok"
        )
        first, second = (services.add_member(founder, group, name=name) for name in ("Siti", "Tini"))
        _, first_code = invitations.create_invitation(founder, group, first)
        _, second_code = invitations.create_invitation(founder, group, second)

        made = invitations.accept_invitation(None, first_code, "rahasia-123", "0812 3300 0199")
        linked = invitations.accept_invitation(joiner, second_code)

        assert made.phone == "+6281233000199" and first.user_id == made.id
        assert linked is joiner and second.user_id == joiner.id


def test_the_services_check_the_actors_role(app, db):
    coordinator, stranger = make_user(app), make_user(app)
    made = make_group(app, coordinator)
    member_id = make_member(app, made).id
    with app.app_context():
        group, member, outsider = _get(Group, made.id), _get(Member, member_id), _get(User, stranger.id)

        with pytest.raises(Unauthorized):
            services.add_member(None, group, name="Tini")
        with pytest.raises(Forbidden):
            services.add_member(outsider, group, name="Tini")
        with pytest.raises(Forbidden):
            services.update_group(outsider, group, name="Diambil alih")
        with pytest.raises(Forbidden):
            services.update_member(outsider, group, member, role=Role.coordinator)
        with pytest.raises(Forbidden):
            invitations.create_invitation(outsider, group, member)
        with pytest.raises(Forbidden):
            services.visible_members(outsider, group)
        with pytest.raises(Forbidden):
            services.set_group_verified(_get(User, coordinator.id), group, True)


def test_the_district_admin_verifies_and_sees_members_but_does_not_coordinate(app, db):
    coordinator, admin_id = make_user(app), make_user(app, admin=True).id
    group_id = make_group(app, coordinator).id
    with app.app_context():
        group, admin = _get(Group, group_id), _get(User, admin_id)

        services.set_group_verified(admin, group, True)
        visible = _db.session.scalars(services.visible_members(admin, group)).all()

        assert group.verified and group.verified_by_id == admin.id
        assert [m.user_id for m in visible] == [coordinator.id]
        assert services.authorize(admin, group, Role.coordinator, allow_admin=True) is None
        with pytest.raises(Forbidden):
            services.authorize(admin, group, Role.coordinator)


def test_the_services_clean_what_they_are_given(app, db):
    founder_id = make_user(app).id
    with app.app_context():
        founder = _get(User, founder_id)
        group = services.create_group(
            founder, name="KUB Melati", kind=GroupKind.business, village="Bacem", district="Sutojayan"
        )

        with pytest.raises(ValidationFailed) as raised:
            services.update_group(founder, group, bank_account_number="rekening", village=" ")
        assert set(raised.value.errors) == {"bank_account_number", "village"}
        with pytest.raises(ValidationFailed) as raised:
            services.add_member(founder, group, name="Siti", phone="12", email="bukan-email")
        assert set(raised.value.errors) == {"phone", "email"}


def test_adding_and_inviting_links_no_account_and_works_without_a_request(app, db):
    founder_id = make_user(app).id
    siti_id = make_user(app, email="siti@example.test", phone="+6281233000102").id
    with app.app_context():
        founder, siti = _get(User, founder_id), _get(User, siti_id)
        group = services.create_group(
            founder, name="KUB Melati", kind=GroupKind.business, village="Bacem", district="Sutojayan"
        )

        by_email = invitations.add_and_invite(founder, group, name="Bu Siti", email="SITI@example.test")
        by_phone = invitations.add_and_invite(founder, group, name="Siti A.", phone="0812-3300-0102")
        no_contact = invitations.add_and_invite(founder, group, name="Mbah Karto")

        assert [a.member.user_id for a in (by_email, by_phone, no_contact)] == [None, None, None]
        assert by_email.invitation.member_id == by_email.member.id and len(by_email.code) == 8
        assert by_phone.invitation is not None and (no_contact.invitation, no_contact.code) == (None, None)
        assert services.memberships_of(siti) == []
        invitations.accept_invitation(siti, by_email.code)
        assert [m.id for m in services.memberships_of(siti)] == [by_email.member.id]
