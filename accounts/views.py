"""Account pages: log in, register, log out (here or everywhere), change the password, language."""

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from accounts import throttle
from accounts.forms import LoginForm, LoginNameForm, LogoutForm, PasswordForm, RegisterForm
from accounts.services import (
    end_session,
    register_user,
    renew_session,
    require_login,
    signed_in_user,
    start_session,
    update_profile,
)
from core.errors import AppError, Conflict, ValidationFailed
from core.extensions import db, limiter
from core.pages import apply_errors, safe_next

bp = Blueprint("accounts", __name__)


def _register_limit():
    return current_app.config["REGISTER_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(url_for("groups.my_groups")))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = throttle.authenticate(form.login.data, form.password.data)  # 429 page while it must wait
        except AppError as exc:
            flash(str(exc.message), "error")
        else:
            start_session(user, remember=form.remember.data)
            db.session.commit()
            return redirect(safe_next(url_for("groups.my_groups")))
    return render_template("accounts/login.html", form=form, next=safe_next(""))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("groups.my_groups"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = register_user(form.email.data or None, form.password.data, form.name.data, form.phone.data or None)
        except AppError as exc:
            apply_errors(form, exc)
        else:
            user.locale = session.get("lang")
            db.session.commit()
            start_session(user)
            flash(_("Welcome, %(name)s! Your account is ready.", name=user.name), "success")
            return redirect(safe_next(url_for("groups.my_groups")))
    return render_template("accounts/register.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        end_session(signed_in_user())
        db.session.commit()
        flash(_("You have logged out."), "success")
    return redirect(safe_next(url_for("groups.home")))  # the join page sends back to itself: another person joins


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """The signed-in user's account: change the password, log out everywhere."""
    user = require_login()
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            throttle.change_password(user, form.current_password.data, form.new_password.data)
        except ValidationFailed as exc:  # a wait (429) is the error page, as for logging in too often
            apply_errors(form, exc)
        else:
            renew_session(user)
            db.session.commit()
            flash(_("Your password is changed. Every other phone and computer is logged out."), "success")
            return redirect(url_for("accounts.account"))
    return _account_page(user, form=form)


def _account_page(user, form=None, name_form=None):
    return render_template(
        "accounts/account.html",
        user=user,
        form=form or PasswordForm(formdata=None),
        name_form=name_form or LoginNameForm(formdata=None, username=user.username),
        logout_form=LogoutForm(),
    )


@bp.route("/account/login-name", methods=["POST"])
@login_required
def change_login_name():
    """Set or change one's login name."""
    user = require_login()
    form = LoginNameForm()
    if form.validate_on_submit():
        try:
            update_profile(user, username=form.username.data)
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Your login name is now %(name)s.", name=user.username), "success")
            return redirect(url_for("accounts.account"))
    return _account_page(user, name_form=form), 422


@bp.route("/account/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """Log out on every phone and computer, this one too, and revoke every API token."""
    if LogoutForm().validate_on_submit():
        end_session(require_login(), everywhere=True)
        db.session.commit()
        flash(_("You have logged out on every phone and computer."), "success")
        return redirect(url_for("groups.home"))
    return redirect(url_for("accounts.account"))


@bp.route("/lang/<code>")
def set_language(code: str):
    """Switch the interface language, for this browser and, when logged in, for the account."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        user = signed_in_user()
        if user is not None:
            update_profile(user, locale=code)
            db.session.commit()
    return redirect(safe_next(url_for("groups.home")))
