"""Who is making the current request: the owner of its Bearer token, the signed-in user, or nobody."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from catalogue.auth import accounts
from catalogue.auth.actors import ANONYMOUS, Actor
from catalogue.db import session
from catalogue.exceptions import Unauthenticated

_REQUEST_ACTOR = "catalogue.request_actor"


def request_actor(required: bool = False) -> Actor:
    """The actor of an API request: the owner of its Bearer token, or anonymous.

    A malformed or unknown token is refused (401) even where reading is allowed, so a client never
    silently reads less than it thinks it may. The API ignores the session cookie: a page of another
    site could make a browser send it, but never a token.
    """
    header = request.headers.get("Authorization", "")
    if not header:
        if required:
            raise Unauthenticated("this needs an API token: send Authorization: Bearer <token>")
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    # Once per request (kept on the request itself: g outlives it where an app context was already pushed):
    # catalogue.conditional checks the token before a 304, then the view asks again.
    if _REQUEST_ACTOR not in request.environ:
        request.environ[_REQUEST_ACTOR] = accounts.authenticate_token(session(), token.strip())
    return request.environ[_REQUEST_ACTOR]  # type: ignore[no-any-return]


def current_actor() -> Actor:
    """The actor of a web page request: the signed-in user, else a Bearer token's owner, else anonymous."""
    if current_user.is_authenticated:
        return Actor(user=current_user._get_current_object())
    return request_actor()
