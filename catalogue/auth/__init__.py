"""Accounts and who is asking: organisations, users, roles, API tokens, sign-in and Bearer tokens.

models.py holds the records, accounts.py the use-cases on them, actors.py who acts, identity.py who is
behind the current request, views.py the pages. The rules about services (who may see, edit or review
them) live in catalogue/services/permissions.py.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

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
            csrf.protect()

    @app.context_processor
    def _current_user() -> dict[str, object]:
        from flask_login import current_user

        return {"current_user": current_user if current_user.is_authenticated else None}
