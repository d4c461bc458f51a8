"""Group pages: the public list and profiles, managing members, invitations, my groups; the header's roles."""

from typing import NamedTuple

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from accounts import throttle
from accounts.models import check_password_rules
from accounts.services import require_login, signed_in_user, start_session
from core.errors import AppError
from core.extensions import db
from core.pages import apply_errors, page_arg, safe_next
from core.pagination import paginate
from groups import home as home_sections
from groups import invitations, opening, services, sign_out, verification
from groups.forms import ActionForm, GroupForm, InviteForm, JoinForm, MemberAddForm, MemberEditForm, VerifyForm
from groups.limits import count_addition, member_additions
from groups.models import GroupKind, Role

bp = Blueprint("groups", __name__)


# What a coordinator of an unverified group is told: its goods wait for the district admin.
UNVERIFIED_NOTE = _l(
    "Buyers cannot see or order the group's products until the district admin verifies the group. "
    "You can already add products and stock."
)
BANK_CHANGED_NOTE = _l(
    "The bank account changed, so the district admin must verify the group again. Until then buyers cannot "
    "order from the group; orders placed before go on as they are."
)


@bp.route("/")
def home():
    q = (request.args.get("q") or "").strip()[:120]
    kind = request.args.get("kind") if request.args.get("kind") in {k.value for k in GroupKind} else None
    result = paginate(services.group_query(q=q or None, kind=kind), page_arg(), 20)
    counts = services.member_counts([g.id for g in result["items"]])
    return render_template(
        "groups/home.html", result=result, counts=counts, q=q, kind=kind, kind_label=services.kind_label
    )


@bp.route("/groups/new", methods=["GET", "POST"])
@login_required
def new_group():
    form = GroupForm()
    status = 200
    if form.validate_on_submit():
        try:
            group = services.create_group(require_login(), **_group_data(form))
        except AppError as exc:
            apply_errors(form, exc)
            status = exc.code
        else:
            db.session.commit()
            flash(_("Group created. You are its coordinator."), "success")
            flash(str(UNVERIFIED_NOTE), "warning")
            return redirect(url_for("groups.members", group_id=group.id))
    return render_template("groups/edit.html", form=form, group=None), status


def _group_data(form) -> services.GroupProfile:
    data = {f: getattr(form, f).data for f in services.GROUP_FIELDS}
    if form.open_days_shown.data != "1":
        del data["open_days"]
    return {**data, "kind": GroupKind(data["kind"])}


@bp.route("/groups/<int:group_id>")
def profile(group_id: int):
    group = services.get_group_or_404(group_id)
    return render_template(
        "groups/profile.html",
        group=group,
        kind_label=services.kind_label,
        member_count=services.member_counts([group.id]).get(group.id, 0),
        manages=services.can_manage(group, current_user),
        is_member=services.membership(group, current_user) is not None,
        verify_form=_verify_form(group),
        unverified_note=UNVERIFIED_NOTE,
    )


def _verify_form(group, next_url: str | None = None) -> VerifyForm:
    """The admin's verify (or withdraw) button, carrying the bank account the admin sees now."""
    return VerifyForm(
        verified="0" if group.verified else "1",
        next=next_url or "",
        **{field: getattr(group, field) or "" for field in verification.BANK_FIELDS},
    )


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@login_required
def edit_group(group_id: int):
    group = services.get_group_or_404(group_id)
    services.require_role(group, Role.coordinator)
    form = GroupForm(obj=group)
    if request.method == "GET":
        form.kind.data = group.kind.value
        form.open_days.data = [str(day) for day in opening.weekdays(group.open_days)]
    status = 200
    if form.validate_on_submit():
        was_verified = group.verified
        try:
            services.update_group(require_login(), group, **_group_data(form))
        except AppError as exc:
            apply_errors(form, exc)
            status = exc.code
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            if was_verified and not group.verified:
                flash(str(BANK_CHANGED_NOTE), "warning")
            return redirect(url_for("groups.profile", group_id=group.id))
    return render_template("groups/edit.html", form=form, group=group), status


@bp.route("/groups/<int:group_id>/verify", methods=["POST"])
@login_required
def verify_group(group_id: int):
    group = services.get_group_or_404(group_id)
    back = safe_next(url_for("groups.profile", group_id=group.id))
    form = VerifyForm()
    if form.validate_on_submit():
        seen = {f: form[f].data for f in verification.BANK_FIELDS if f in request.form}  # what the admin was shown
        try:
            verification.set_group_verified(require_login(), group, form.verified.data == "1", seen)
        except AppError as exc:
            db.session.rollback()
            if exc.code in (401, 403):
                raise
            flash(str(exc.message), "error")
            return redirect(back)
        db.session.commit()
        if group.verified:
            flash(_("%(name)s is verified: its products are for sale.", name=group.name), "success")
        else:
            flash(_("Verification withdrawn."), "success")
    return redirect(back)


@bp.route("/admin/groups/waiting")
@login_required
def waiting_groups():
    """The district admin's queue: groups waiting for verification, the longest waiting first."""
    district = (request.args.get("district") or "").strip()[:120]
    result = paginate(verification.waiting_groups_query(require_login(), district or None), page_arg(), 50)
    ids = [group.id for group in result["items"]]
    here = request.full_path.rstrip("?")
    return render_template(
        "groups/waiting.html",
        result=result,
        district=district,
        coordinators=verification.coordinators_of(ids),
        forms={group.id: _verify_form(group, here) for group in result["items"]},
    )


@bp.route("/groups/<int:group_id>/members", methods=["GET", "POST"])
@member_additions
@login_required
def members(group_id: int):
    """The member list; the coordinator adds a member here, and sees the invitation code of one with a contact."""
    group = services.get_group_or_404(group_id)
    query = services.visible_members(require_login(), group)
    manages = services.can_manage(group, current_user)
    form = MemberAddForm()
    if request.method == "POST":
        services.require_role(group, Role.coordinator)  # a refusal is a 403, not a message on the form
        if form.validate_on_submit():
            try:
                added = invitations.add_and_invite(
                    require_login(),
                    group,
                    name=form.name.data,
                    phone=form.phone.data or None,
                    email=form.email.data or None,
                    role=Role(form.role.data),
                    username=form.username.data or None,
                )
            except AppError as exc:
                apply_errors(form, exc)
            else:
                flash(_("%(name)s was added.", name=added.member.name), "success")
                if added.code is None:
                    page = redirect(url_for("groups.members", group_id=group.id))
                else:  # the code is shown once, here: pass it on to the person, who joins with it
                    page = _invitation_page(group, added.member, added.invitation, added.code)
                db.session.commit()
                count_addition()
                return page
    result = paginate(query, page_arg(), 100)
    return render_template(
        "groups/members.html",
        group=group,
        result=result,
        form=form,
        manages=manages,
        show_contacts=services.can_see_contacts(group, current_user),
        keeps_books=_keeps_books(group),
        role_label=services.role_label,
        action_form=ActionForm(),
    )


def _keeps_books(group) -> bool:
    """Whether the signed-in user coordinates the group or keeps its books (who may open members' statements)."""
    member = services.membership(group, current_user)
    return member is not None and member.role in (Role.coordinator, Role.treasurer)


@bp.route("/groups/<int:group_id>/members/<int:member_id>/edit", methods=["GET", "POST"])
@login_required
def edit_member(group_id: int, member_id: int):
    group = services.get_group_or_404(group_id)
    services.require_role(group, Role.coordinator)
    member = services.get_member_or_404(group, member_id)
    form = MemberEditForm(obj=member)
    if request.method == "GET":
        form.role.data = member.role.value
    if form.validate_on_submit():
        try:
            services.update_member(
                require_login(),
                group,
                member,
                name=form.name.data,
                phone=form.phone.data or None,
                email=form.email.data or None,
                role=Role(form.role.data),
                active=bool(form.active.data),
            )
        except AppError as exc:
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("groups.members", group_id=group.id))
    return render_template(
        "groups/member_edit.html",
        group=group,
        member=member,
        form=form,
        action_form=ActionForm(),
        invite_form=InviteForm(),
    )


@bp.route("/groups/<int:group_id>/members/<int:member_id>/invite", methods=["POST"])
@login_required
def invite_member(group_id: int, member_id: int):
    group = services.get_group_or_404(group_id)
    services.require_role(group, Role.coordinator)
    member = services.get_member_or_404(group, member_id)
    form = InviteForm()  # the members list posts only its CSRF token; the edit page also a login name
    if not form.validate_on_submit():
        abort(400)
    try:
        invitation, code = invitations.create_invitation(require_login(), group, member, form.username.data or None)
    except AppError as exc:
        flash(str(exc.message), "error")
        return redirect(url_for("groups.members", group_id=group.id))
    page = _invitation_page(group, member, invitation, code)
    db.session.commit()
    return page


def _invitation_page(group, member, invitation, code: str) -> str:
    """The code, shown once, with the join link and a WhatsApp message carrying it."""
    return render_template(
        "groups/invitation.html",
        group=group,
        member=member,
        invitation=invitation,
        code=invitations.format_code(code),
        **invitations.invitation_links(member, code, invitation.username),
    )


@bp.route("/groups/<int:group_id>/members/<int:member_id>/sign-out", methods=["GET", "POST"])
@login_required
def sign_out_member(group_id: int, member_id: int):
    """Sign a member out of every phone and computer (coordinator), after a page that asks to be sure."""
    group = services.get_group_or_404(group_id)
    services.require_role(group, Role.coordinator)
    member = services.get_member_or_404(group, member_id)
    back = redirect(url_for("groups.edit_member", group_id=group.id, member_id=member.id))
    form = ActionForm()
    try:
        if form.validate_on_submit():
            sign_out.sign_out_member(require_login(), group, member)
            db.session.commit()
            flash(_("%(name)s is logged out on every phone and computer.", name=member.name), "success")
            return back
        sign_out.check_can_sign_out(member)
    except AppError as exc:
        flash(str(exc.message), "error")
        return back
    return render_template("groups/member_sign_out.html", group=group, member=member, form=form)


@bp.route("/join", methods=["GET", "POST"])
def join():
    """A person accepts their invitation: logged in, the code links their account; otherwise they set a password.

    When the code is for someone else sharing this phone (the account is already a member), the page offers to
    log out so that they can join; when the phone already has an account, it asks for a login name.
    """
    form = JoinForm(code=request.args.get("code", ""))
    for_another = None
    if form.validate_on_submit():
        try:
            actor = signed_in_user()
            if actor is None and not form.password.data:
                check_password_rules(form.password.data)
            attempt = throttle.begin()  # a code is guessed as a password is: 429 page while this address must wait
            user = invitations.accept_invitation(
                actor, form.code.data, form.password.data, form.phone.data or None, form.username.data or None
            )
            throttle.succeeded(attempt)
        except invitations.CodeForAnotherPerson as exc:
            for_another = exc.message
        except AppError as exc:
            apply_errors(form, exc)
        else:
            db.session.commit()
            start_session(user)
            if actor is not None:
                flash(_("You joined the group with your account."), "success")
            elif user.username:
                flash(
                    _(
                        "Welcome, %(name)s! From now on, log in with your login name %(username)s.",
                        name=user.name,
                        username=user.username,
                    ),
                    "success",
                )
            else:
                flash(_("Welcome, %(name)s! From now on, log in with your phone number.", name=user.name), "success")
            return redirect(url_for("groups.my_groups"))
    again = url_for("groups.join", code=form.code.data) if for_another else None
    return render_template("groups/join.html", form=form, for_another=for_another, again=again)


@bp.route("/me/groups")
@login_required
def my_groups():
    """The user's home: what waits for them (sections of the packages above, see groups.home), then their groups."""
    memberships = services.memberships_of(current_user)
    return render_template(
        "groups/my_groups.html",
        memberships=memberships,
        role_label=services.role_label,
        sections=home_sections.sections(current_user),
    )


# --- the header -----------------------------------------------------------------


class HeaderRoles(NamedTuple):
    """What the signed-in user does in groups, for the header's links only (every page checks roles again)."""

    member: bool  # an ordinary member of some group: their contributions and earnings
    keeps_books: tuple[int, ...]  # the groups they coordinate or keep the books of
    coordinates: tuple[int, ...]  # the groups they coordinate

    @property
    def buyer(self) -> bool:
        return not (self.member or self.keeps_books)


@bp.app_context_processor
def _header():
    return {"header_roles": header_roles, "open_days_text": lambda group: opening.describe(group.open_days)}


def header_roles() -> HeaderRoles:
    """The signed-in user's roles in their groups, read once per page (the header asks when it is shown)."""
    if not current_user.is_authenticated:
        return HeaderRoles(False, (), ())
    roles = services.roles_of(current_user)
    return HeaderRoles(
        member=any(role == Role.member for _group_id, role in roles),
        keeps_books=tuple(g for g, role in roles if role in (Role.coordinator, Role.treasurer)),
        coordinates=tuple(g for g, role in roles if role == Role.coordinator),
    )
