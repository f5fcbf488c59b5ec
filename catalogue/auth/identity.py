"""Who is making the current request: the owner of its Bearer token, or nobody."""

from __future__ import annotations

from flask import request

from catalogue.db import session
from catalogue.services import registry
from catalogue.services.registry import ANONYMOUS, Actor, Unauthenticated


def request_actor(required: bool = False) -> Actor:
    """The actor of the current request: the owner of its Bearer token, or anonymous.

    A malformed or unknown token is refused (401) even where reading is allowed, so a client never
    silently reads less than it thinks it may.
    """
    header = request.headers.get("Authorization", "")
    if not header:
        if required:
            raise Unauthenticated("this needs an API token: send Authorization: Bearer <token>")
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return registry.authenticate_token(session(), token.strip())
