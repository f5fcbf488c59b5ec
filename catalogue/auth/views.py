"""Web pages of accounts: sign in and out, one's API tokens and password, and administration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from catalogue import exceptions
from catalogue.auth import (
    accounts,
    actors,
    failed_sign_in,
    limiter,
    links,
    reset_address_limit,
    reset_limit,
    sign_in_account_key,
    sign_in_address_key,
    sign_in_address_limit,
    sign_in_limit,
)
from catalogue.auth.forms import (
    ForgotPasswordForm,
    InviteForm,
    NewPasswordForm,
    OrganisationForm,
    PasswordForm,
    SignInForm,
    TokenForm,
    UserForm,
    UserUpdateForm,
)
from catalogue.auth.identity import current_actor
from catalogue.auth.models import ROLE_SCOPES, ROLES
from catalogue.db import committed, session
from catalogue.exceptions import RegistryError, Unauthenticated

bp = Blueprint("auth", __name__, url_prefix="/auth")
admin = Blueprint("admin", __name__, url_prefix="/admin")


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only, never another host."""
    if not target:
        return url_for("services.home")
    # A CR or LF cannot go into the Location header (werkzeug refuses it: a 500), and browsers drop tabs and
    # read a backslash as a slash, so "/\\evil.example" or "/\t/evil.example" would lead to another host.
    if any(ord(c) < 0x20 or c in "\x7f\\" for c in target):
        return url_for("services.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("services.home")
    return target


def _form_errors(form: Any, error: RegistryError) -> None:
    """Show a registry refusal next to the form field it names, or above the form."""
    for problem in error.problems:
        field = getattr(form, problem.pointer.strip("/").split("/")[0], None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, problem.message]
            break
    else:
        flash(error.detail, "error")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(sign_in_address_limit, key_func=sign_in_address_key, methods=["POST"], deduct_when=failed_sign_in)
@limiter.limit(sign_in_limit, key_func=sign_in_account_key, methods=["POST"], deduct_when=failed_sign_in)
def sign_in() -> str | Response | tuple[str, int]:
    """Sign in with e-mail and password."""
    form = SignInForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate_password(session(), form.email.data or "", form.password.data or "")
        except Unauthenticated as refusal:
            form.password.errors = [refusal.detail]
            status = 401
        else:
            login_user(user)
            flash(f"Signed in as {user.display_name}.", "success")
            return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/sign_in.html", form=form, next=request.args.get("next", "")), status


RESET_SENT = (
    "If an account uses this address, we have sent it a link to choose a new password. "
    "The link works once, for a limited time. No mail? Check the address and your spam folder, or ask an "
    "administrator of the catalogue."
)
"""The one answer to a reset request, whether or not an account uses the address (nobody learns who has one)."""


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(reset_address_limit, key_func=sign_in_address_key, methods=["POST"])
@limiter.limit(reset_limit, key_func=sign_in_account_key, methods=["POST"])
def forgot_password() -> str | Response | tuple[str, int]:
    """Ask for a link to choose a new password; the answer is the same whether the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        config = current_app.config["CATALOGUE"]
        with committed() as db_session:
            links.request_reset(db_session, current_app.config["SECRET_KEY"], form.email.data or "", config.reset_hours)
        flash(RESET_SENT, "success")
        return redirect(url_for("auth.sign_in"))
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot_password.html", form=form), status


def _link_page(token: str, form: Any, status: int = 200) -> tuple[str, int, dict[str, str]]:
    """The page that sets a password through a link (never cached: its address holds the token; the site's
    Referrer-Policy sends other sites the origin only, never the path)."""
    try:
        link = links.open_link(session(), token)
    except links.LinkSpent as spent:
        return render_template("auth/link_spent.html", detail=spent.detail), spent.status, _NOT_CACHED
    except exceptions.NotFound as unknown:
        return render_template("auth/link_spent.html", detail=unknown.detail), unknown.status, _NOT_CACHED
    return render_template("auth/account_link.html", form=form, link=link), status, _NOT_CACHED


_NOT_CACHED = {"Cache-Control": "no-store"}


@bp.route("/account/<token>", methods=["GET", "POST"])
@limiter.limit(sign_in_address_limit, key_func=sign_in_address_key, methods=["POST"], deduct_when=failed_sign_in)
def account_link(token: str) -> Response | tuple[str, int, dict[str, str]]:
    """Choose a password through an invitation or reset link (once, before it expires)."""
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return _link_page(token, form, 400 if request.method == "POST" else 200)
    try:
        with committed() as db_session:
            user = links.redeem(db_session, token, form.new.data or "")
    except exceptions.NotFound:
        return _link_page(token, form)
    except RegistryError as error:
        _form_errors(form, error)
        return _link_page(token, form, error.status)
    flash(f"Password set. Sign in as {user.email} with your new password.", "success")
    return redirect(url_for("auth.sign_in"))


@bp.post("/sign-out")
def sign_out() -> Response:
    """Sign out (a POST with the CSRF token, so no other site can sign you out).

    Every session of the user ends, not just this browser's cookie: a copy of the cookie taken before
    (another tab, a stolen copy) gets no access after.
    """
    if current_user.is_authenticated:
        with committed() as db_session:
            accounts.end_sessions(db_session, db_session.merge(current_user._get_current_object()))
    logout_user()
    flash("Signed out.", "success")
    return redirect(url_for("services.home"))


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> str | tuple[str, int]:
    """Your API tokens; a new one is shown once, right after it is created."""
    actor = current_actor()
    assert actor.user is not None
    form = TokenForm()
    if request.method == "GET":
        form.scopes.data = list(ROLE_SCOPES[actor.user.role])
    created = None
    status = 200
    if form.validate_on_submit():
        try:
            with committed() as db_session:
                created = accounts.create_token(
                    db_session, actor, form.days.data, form.name.data or "", form.scopes.data or []
                )
            status = 201
        except RegistryError as error:
            _form_errors(form, error)
            status = error.status
    elif request.method == "POST":
        status = 400
    rows = accounts.list_tokens(session(), actor)
    return render_template(
        "auth/tokens.html",
        form=form,
        tokens=rows,
        created=created,
        grantable=ROLE_SCOPES[actor.user.role],
        most=accounts.MAX_ACTIVE_TOKENS,
    ), status


@bp.post("/tokens/<int(max=2147483647):token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    """Revoke one of your tokens."""
    with committed() as db_session:
        row = accounts.revoke_token(db_session, current_actor(), token_id)
    flash(f"Token {row.prefix}… revoked.", "success")
    return redirect(url_for("auth.tokens"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> str | Response | tuple[str, int]:
    """Change your password; your other sessions end."""
    form = PasswordForm()
    actor = current_actor()
    assert actor.user is not None
    if form.validate_on_submit():
        if not check_password_hash(actor.user.password_hash or "", form.current.data or ""):
            form.current.errors = ["This is not your current password."]
            return render_template("auth/password.html", form=form), 400
        try:
            with committed() as db_session:
                user = db_session.merge(actor.user)
                accounts.set_password(db_session, actor, user, form.new.data or "")
        except RegistryError as error:
            _form_errors(form, error)
            return render_template("auth/password.html", form=form), error.status
        login_user(user)  # this session stays signed in with the new session version
        flash("Password changed.", "success")
        return redirect(url_for("auth.tokens"))
    return render_template("auth/password.html", form=form), (400 if request.method == "POST" else 200)


def _create_with_form(form: Any, create: Callable[[Any], str], done: str, verb: str = "created") -> Response | int:
    """Run create (which returns what to announce) for a valid posted form: a redirect to done, or the
    status to render the form again with (its errors shown beside its fields). Refusals propagate."""
    if not form.validate_on_submit():
        return 400 if request.method == "POST" else 200
    try:
        with committed() as db_session:
            created = create(db_session)
    except RegistryError as error:
        if isinstance(error, exceptions.PermissionDenied | Unauthenticated):
            raise
        _form_errors(form, error)
        return error.status
    flash(f"{created} {verb}.", "success")
    return redirect(url_for(done))


@admin.route("/users", methods=["GET", "POST"])
@login_required
def users() -> str | Response | tuple[str, int]:
    """Every user, and a form to add one (admins)."""
    actor = current_actor()
    rows = accounts.list_users(session(), actor)  # refuses non-admins before anything else
    form = UserForm()

    def create(db_session: Any) -> str:
        user, _token = accounts.create_user(
            db_session,
            form.email.data or "",
            (form.organisation.data or "").strip().upper(),
            form.role.data or "submitter",
            form.display_name.data or None,
            password=form.password.data,
            token_days=None,
            actor=actor,
        )
        return f"User {user.email}"

    outcome = _create_with_form(form, create, "admin.users")
    if isinstance(outcome, Response):
        return outcome
    return render_template("admin/users.html", form=form, users=rows, roles=ROLES), outcome


@admin.route("/invitations", methods=["GET", "POST"])
@login_required
def invite() -> str | Response | tuple[str, int]:
    """Invite a person by e-mail (admins): the mail's link lets them choose their password."""
    actor = current_actor()
    actors.check_admin(actor, "invite_user")
    form = InviteForm()
    config = current_app.config["CATALOGUE"]

    def create(db_session: Any) -> str:
        link = links.invite_user(
            db_session,
            actor,
            current_app.config["SECRET_KEY"],
            form.email.data or "",
            (form.organisation.data or "").strip().upper(),
            form.role.data or "submitter",
            form.display_name.data or None,
            hours=config.invitation_hours,
        )
        return f"An invitation to {link.user.email}"

    outcome = _create_with_form(form, create, "admin.invite", "is on its way by e-mail")
    if isinstance(outcome, Response):
        return outcome
    return render_template("admin/invite.html", form=form, hours=config.invitation_hours), outcome


@admin.post("/users/<int(max=2147483647):user_id>")
@login_required
def update_user(user_id: int) -> Response | tuple[str, int]:
    """Change a user's role or active flag (admins)."""
    actor = current_actor()
    actors.check_admin(actor, "update_user")
    form = UserUpdateForm()
    if not form.validate_on_submit():
        flash("Choose a role.", "error")
        return redirect(url_for("admin.users"))
    with committed() as db_session:
        user = accounts.update_user(db_session, actor, user_id, role=form.role.data, active=form.active.data)
    flash(f"User {user.email} updated.", "success")
    return redirect(url_for("admin.users"))


@admin.route("/organisations", methods=["GET", "POST"])
@login_required
def organisations() -> str | Response | tuple[str, int]:
    """Every organisation, and a form to add one (admins)."""
    actor = current_actor()
    actors.check_admin(actor, "list_organisations")
    form = OrganisationForm()

    def create(db_session: Any) -> str:
        organisation = accounts.create_organisation(
            db_session, actor, form.code.data or "", form.name.data or "", (form.country.data or "").upper() or None
        )
        return f"Organisation {organisation.code}"

    outcome = _create_with_form(form, create, "admin.organisations")
    if isinstance(outcome, Response):
        return outcome
    return render_template(
        "admin/organisations.html", form=form, organisations=accounts.list_organisations(session())
    ), outcome
