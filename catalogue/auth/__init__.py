"""Accounts and who is asking: organisations, users, roles, API tokens, sign-in and Bearer tokens.

models.py holds the records, accounts.py the use-cases on them, actors.py who acts, identity.py who is
behind the current request, views.py the pages. The rules about services (who may see, edit or review
them) live in catalogue/services/permissions.py.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from catalogue.auth.models import User
from catalogue.db import session

login_manager = LoginManager()
csrf = CSRFProtect()
# Sign-in attempts are limited per client address and account, so one noisy client cannot lock
# another person out. Storage is in memory per process unless CATALOGUE_RATELIMIT_STORAGE_URI points
# at a shared store (e.g. redis://) for several workers.
limiter = Limiter(key_func=get_remote_address)


def sign_in_key() -> str:
    """The rate-limit key of a sign-in attempt: client address and the e-mail tried."""
    return f"{get_remote_address()}|{request.form.get('email', '').strip().lower()}"


def sign_in_limit() -> str:
    """The configured sign-in rate limit (e.g. '10 per minute')."""
    return str(current_app.config["CATALOGUE"].sign_in_rate_limit)


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
