"""Accounts and who is asking: organisations, users, roles, API tokens, sign-in and Bearer tokens.

models.py holds the records, accounts.py the use-cases on them, actors.py who acts, identity.py who is
behind the current request, views.py the pages. The rules about services (who may see, edit or review
them) live in catalogue/services/permissions.py.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask import session as cookie_session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from catalogue.auth.models import User
from catalogue.db import session

login_manager = LoginManager()
csrf = CSRFProtect()
# Failed sign-in attempts are limited twice: per client address (one address trying many accounts) and per
# account (one account tried from many addresses). The counts live in CATALOGUE_RATELIMIT_STORAGE_URI: memory
# of one process in development, Redis shared by every worker and host in production.
limiter = Limiter(key_func=get_remote_address)


def sign_in_address_key() -> str:
    """The per-address rate-limit key of a sign-in attempt: the client address."""
    return f"address:{get_remote_address()}"


def sign_in_account_key() -> str:
    """The per-account rate-limit key of a sign-in attempt: the e-mail tried, whatever the address."""
    return f"account:{request.form.get('email', '').strip().lower()}"


def sign_in_limit() -> str:
    """The configured per-account sign-in limit (e.g. '5 per minute')."""
    return str(current_app.config["CATALOGUE"].sign_in_rate_limit)


def sign_in_address_limit() -> str:
    """The configured per-address sign-in limit (e.g. '10 per minute')."""
    return str(current_app.config["CATALOGUE"].sign_in_address_rate_limit)


def reset_limit() -> str:
    """The configured limit of reset requests per address asked for (e.g. '3 per hour')."""
    return str(current_app.config["CATALOGUE"].reset_rate_limit)


def reset_address_limit() -> str:
    """The configured limit of reset requests per client address (e.g. '10 per hour')."""
    return str(current_app.config["CATALOGUE"].reset_address_rate_limit)


def failed_sign_in(response: Response) -> bool:
    """Whether a sign-in answer counts against the limits: every answer but a successful sign-in (a redirect)."""
    return response.status_code != 302


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = session().get(User, int(user_id))
    # A password change or deactivation bumps session_version, ending sessions signed in before.
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


_VISITOR_SALT = "catalogue-visitor-form"
_VISITOR_TOKEN = "catalogue_visitor_form_token"  # the name of a form field, not a secret  # nosec B105


def _visitor() -> bool:
    """Whether the request comes from a visitor without a session: nobody signed in, no session token kept."""
    return current_app.config["WTF_CSRF_FIELD_NAME"] not in cookie_session and not current_user.is_authenticated


def _visitor_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.secret_key), salt=_VISITOR_SALT)


def form_token() -> str:
    """The CSRF token of the forms of this request.

    A signed-in user's forms carry Flask-WTF's token, bound to the session. A visitor without a session (the
    sign-in, forgotten-password and account-link forms) gets a signed, timed token in the form only, so
    opening a form sets no cookie; protect() accepts it from a visitor only, and only from a page of this
    site (Origin, else Sec-Fetch-Site, when the browser sends them).
    """
    if not _visitor():
        return str(generate_csrf())
    if _VISITOR_TOKEN not in g:
        setattr(g, _VISITOR_TOKEN, _visitor_serializer().dumps(os.urandom(16).hex()))
    return str(g.get(_VISITOR_TOKEN))


def _same_site() -> bool:
    """Whether the browser says the request comes from a page of this site (a client that says nothing passes:
    only browsers carry a visitor's forms across sites, and every current browser sends Origin with a POST)."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        parts = urlsplit(origin)
        return f"{parts.scheme}://{parts.netloc}" == request.host_url.rstrip("/")
    if origin == "null":
        return False
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


def protect() -> None:
    """Check the CSRF token of a form post (CSRFError, a 400, when it is missing, forged, expired or foreign)."""
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    token = request.form.get(field) or ""
    if token and not current_user.is_authenticated:
        try:
            _visitor_serializer().loads(token, max_age=current_app.config["WTF_CSRF_TIME_LIMIT"])
        except SignatureExpired:
            raise CSRFError("The form has expired: load the page again.") from None
        except BadData:
            pass  # not a visitor token: Flask-WTF's session-bound check below decides
        else:
            if not _same_site():
                raise CSRFError("The form was sent from another site.")
            g.csrf_valid = True  # the form's own check (FlaskForm) is then skipped, as after csrf.protect()
            return
    csrf.protect()


def init_app(app: Flask) -> None:
    """Bind sessions, CSRF protection and rate limiting to app (the app factory registers the pages)."""
    config = app.config["CATALOGUE"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        SESSION_COOKIE_NAME="cspa_session",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        # Every HTML form is checked in _protect_forms; the API authenticates with Bearer tokens,
        # which a foreign site cannot send, so it needs no CSRF token.
        WTF_CSRF_CHECK_DEFAULT=False,
        RATELIMIT_STORAGE_URI=config.ratelimit_storage_uri,
        RATELIMIT_HEADERS_ENABLED=True,
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.login_message = "Sign in to see this page."
    csrf.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def _protect_forms() -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS") and not request.path.startswith("/api/"):
            protect()

    app.jinja_env.globals["csrf_token"] = form_token

    @app.context_processor
    def _form_token() -> dict[str, object]:
        return {"csrf_token": form_token}

    @app.context_processor
    def _current_user() -> dict[str, object]:
        return {"current_user": current_user if current_user.is_authenticated else None}
