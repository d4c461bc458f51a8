"""Group and member schemas for the API."""

from marshmallow import Schema, fields, post_load, validate

from accounts.schemas import USERNAME_DOC, USERNAME_FIELD_MAX
from core.pagination import PageQuery
from core.schemas import StrictBoolean
from core.validation import NAME_MAX_LENGTH
from groups.models import GroupKind, Role, VerificationWithdrawal
from groups.services import ACCOUNT_NUMBER_MAX_LENGTH, BANK_NAME_MAX_LENGTH, LINE_MAX_LENGTH, TEXT_MAX_LENGTH

_name = validate.Length(min=1, max=NAME_MAX_LENGTH)


def _open_days(left_out: str) -> fields.List:
    return fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=7)),
        validate=validate.Length(min=1, max=7),
        metadata={
            "description": "ISO weekdays the group is open for pickup and delivery, 1 Monday ... 7 Sunday; " + left_out,
            "example": [1, 2, 3, 4, 5, 6],
        },
    )


class GroupIn(Schema):
    name = fields.String(required=True, validate=_name)
    kind = fields.Enum(GroupKind, by_value=fields.String, required=True)
    village = fields.String(required=True, validate=_name)
    district = fields.String(required=True, validate=_name)
    description = fields.String(allow_none=True, validate=validate.Length(max=TEXT_MAX_LENGTH))
    pickup_point = fields.String(allow_none=True, validate=validate.Length(max=LINE_MAX_LENGTH))
    pickup_hours = fields.String(allow_none=True, validate=validate.Length(max=LINE_MAX_LENGTH))
    open_days = _open_days("Monday to Saturday when left out")
    bank_name = fields.String(
        allow_none=True,
        validate=validate.Length(max=BANK_NAME_MAX_LENGTH),
        metadata={"description": "Where buyers send bank transfers, e.g. BRI"},
    )
    bank_account_number = fields.String(
        allow_none=True,
        validate=validate.Length(max=ACCOUNT_NUMBER_MAX_LENGTH),
        metadata={"description": "Digits, spaces, dashes and dots only", "example": "0123-01-000456-50-1"},
    )
    bank_account_holder = fields.String(allow_none=True, validate=validate.Length(max=NAME_MAX_LENGTH))


class GroupPatch(Schema):
    name = fields.String(validate=_name)
    kind = fields.Enum(GroupKind, by_value=fields.String)
    village = fields.String(validate=_name)
    district = fields.String(validate=_name)
    description = fields.String(allow_none=True, validate=validate.Length(max=TEXT_MAX_LENGTH))
    pickup_point = fields.String(allow_none=True, validate=validate.Length(max=LINE_MAX_LENGTH))
    pickup_hours = fields.String(allow_none=True, validate=validate.Length(max=LINE_MAX_LENGTH))
    open_days = _open_days("unchanged when left out")
    bank_name = fields.String(
        allow_none=True,
        validate=validate.Length(max=BANK_NAME_MAX_LENGTH),
        metadata={"description": "Where buyers send bank transfers, e.g. BRI"},
    )
    bank_account_number = fields.String(
        allow_none=True,
        validate=validate.Length(max=ACCOUNT_NUMBER_MAX_LENGTH),
        metadata={"description": "Digits, spaces, dashes and dots only", "example": "0123-01-000456-50-1"},
    )
    bank_account_holder = fields.String(allow_none=True, validate=validate.Length(max=NAME_MAX_LENGTH))


class GroupVerifyIn(Schema):
    verified = StrictBoolean(required=True)
    bank_name = fields.String(
        allow_none=True,
        validate=validate.Length(max=BANK_NAME_MAX_LENGTH),
        metadata={"description": "The bank account the admin checked (any of these three): changed since, a 409"},
    )
    bank_account_number = fields.String(allow_none=True, validate=validate.Length(max=ACCOUNT_NUMBER_MAX_LENGTH))
    bank_account_holder = fields.String(allow_none=True, validate=validate.Length(max=NAME_MAX_LENGTH))


class GroupOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    village = fields.String()
    district = fields.String()
    description = fields.String(allow_none=True)
    pickup_point = fields.String(allow_none=True)
    pickup_hours = fields.String(allow_none=True)
    open_days = fields.List(
        fields.Integer(),
        metadata={"description": "The days buyers may pick up or get delivery (1 Monday ... 7 Sunday)"},
    )
    bank_name = fields.String(
        allow_none=True, metadata={"description": "For bank transfers; public, as buyers need it to pay"}
    )
    bank_account_number = fields.String(allow_none=True)
    bank_account_holder = fields.String(allow_none=True)
    verified = fields.Boolean(metadata={"description": "Verified by the district admin: only then it sells"})
    verified_at = fields.DateTime(allow_none=True)
    verification_withdrawn_at = fields.DateTime(
        allow_none=True, metadata={"description": "When verification was last withdrawn, if ever"}
    )
    verification_withdrawn_reason = fields.String(
        allow_none=True,
        metadata={
            "enum": [reason.value for reason in VerificationWithdrawal],
            "description": "bank_account: the group changed its bank account; admin: the district admin withdrew it",
        },
    )
    created_at = fields.DateTime()
    member_count = fields.Integer()


class CoordinatorContactOut(Schema):
    name = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class WaitingGroupOut(GroupOut):
    """A group waiting for verification, as the district admin sees it: with its coordinators' contacts."""

    waiting_since = fields.DateTime(metadata={"description": "Its founding, or when verification was withdrawn"})
    coordinators = fields.List(fields.Nested(CoordinatorContactOut))


class WaitingGroupsQuery(PageQuery):
    district = fields.String(validate=validate.Length(max=NAME_MAX_LENGTH))


class GroupListQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=NAME_MAX_LENGTH))
    kind = fields.Enum(GroupKind, by_value=fields.String)
    village = fields.String(validate=validate.Length(max=NAME_MAX_LENGTH))
    district = fields.String(validate=validate.Length(max=NAME_MAX_LENGTH))
    verified = fields.Boolean()


class MemberIn(Schema):
    name = fields.String(required=True, validate=_name)
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    email = fields.String(allow_none=True, validate=validate.Length(max=254))
    role = fields.String(load_default=Role.member.value, validate=validate.OneOf([r.value for r in Role]))
    username = fields.String(
        allow_none=True,
        validate=validate.Length(max=USERNAME_FIELD_MAX),
        metadata={"description": "A login name for the person (a phone shared in a household): given with the code"},
    )

    @post_load
    def _typed_role(self, data, **_kwargs):
        """The role as a Role. A String here: an Enum field with a default reorders the served OpenAPI document."""
        return {**data, "role": Role(data["role"])}


class MemberPatch(Schema):
    name = fields.String(validate=_name)
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    email = fields.String(allow_none=True, validate=validate.Length(max=254))
    role = fields.Enum(Role, by_value=fields.String)
    active = StrictBoolean()


class MemberOut(Schema):
    """A member as coordinators and treasurers see them; others get no contact fields."""

    id = fields.Integer()
    group_id = fields.Integer()
    name = fields.String()
    role = fields.String()
    active = fields.Boolean()
    has_account = fields.Boolean(
        metadata={"description": "Whether the person accepted an invitation, linking their own account"}
    )
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    joined_at = fields.DateTime()


class MembershipOut(Schema):
    group_id = fields.Integer()
    group_name = fields.String()
    member_id = fields.Integer()
    role = fields.String()


class MeOut(Schema):
    id = fields.Integer()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    username = fields.String(allow_none=True)
    name = fields.String()
    is_admin = fields.Boolean()
    locale = fields.String(allow_none=True)
    created_at = fields.DateTime()
    memberships = fields.List(fields.Nested(MembershipOut))


class InvitationOut(Schema):
    code = fields.String(metadata={"description": "Shown once; the member types it on the join page"})
    username = fields.String(allow_none=True, metadata={"description": "The login name given with the code"})
    expires_at = fields.DateTime()
    join_url = fields.String()
    whatsapp_url = fields.String()


class MemberAddedOut(Schema):
    """A member just added. It is never linked to an account yet, whoever has its e-mail or phone: the person
    links theirs by accepting the invitation, so the answer is the same whether or not such an account exists."""

    id = fields.Integer()
    group_id = fields.Integer()
    name = fields.String()
    role = fields.String()
    active = fields.Boolean()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    joined_at = fields.DateTime()
    invitation = fields.Nested(
        InvitationOut,
        allow_none=True,
        metadata={"description": "Issued when an e-mail or phone is given (null otherwise); pass the code on"},
    )


class InvitationIn(Schema):
    username = fields.String(
        allow_none=True,
        validate=validate.Length(max=USERNAME_FIELD_MAX),
        metadata={"description": "A login name for the person (a phone shared in a household): given with the code"},
    )


class InvitationAcceptIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    password = fields.String(validate=validate.Length(min=8, max=256))
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    username = fields.String(allow_none=True, validate=validate.Length(max=USERNAME_FIELD_MAX), metadata=USERNAME_DOC)
