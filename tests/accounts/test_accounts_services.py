"""Account services take the user they act for: they work with no request at all."""

import pytest

from accounts.models import User
from accounts.services import revoke_own_token, update_profile
from core.errors import NotFound
from core.extensions import db as _db
from tests.factories import make_token, make_user


def test_a_user_changes_their_profile_and_revokes_only_their_own_tokens(app, db):
    owner, other = make_user(app), make_user(app)
    make_token(app, owner)
    make_token(app, other)
    with app.app_context():
        user, someone_else = _db.session.get(User, owner.id), _db.session.get(User, other.id)

        update_profile(user, name="  Bu  Sri ", locale="en")
        revoke_own_token(user, user.tokens[0].id)

        assert (user.name, user.locale) == ("Bu Sri", "en") and user.tokens[0].revoked_at is not None
        with pytest.raises(NotFound):
            revoke_own_token(user, someone_else.tokens[0].id)
