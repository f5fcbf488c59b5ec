"""Which kinds of notification each user receives (every kind is on until the user switches it off)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalogue.auth.actors import Actor
from catalogue.events import record_event
from catalogue.exceptions import Unauthenticated, check_known
from catalogue.notify.models import KINDS, NotificationSetting


def chosen_kinds(session: Session, actor: Actor) -> set[str]:
    """The kinds of notification the acting user receives."""
    if actor.user is None:
        raise Unauthenticated("sign in to choose your notifications")
    off = set(
        session.scalars(
            select(NotificationSetting.kind).where(
                NotificationSetting.user_id == actor.user.id, NotificationSetting.enabled.is_(False)
            )
        )
    )
    return set(KINDS) - off


def choose_kinds(session: Session, actor: Actor, kinds: Iterable[str]) -> set[str]:
    """Receive exactly these kinds of notification from now on; returns them."""
    if actor.user is None:
        raise Unauthenticated("sign in to choose your notifications")
    wanted = set(kinds)
    check_known(wanted, KINDS, "/kinds", "kind of notification")
    for kind in KINDS:
        row = session.get(NotificationSetting, (actor.user.id, kind))
        if row is None:
            row = NotificationSetting(user_id=actor.user.id, kind=kind)
            session.add(row)
        row.enabled = kind in wanted
    session.flush()
    record_event(
        session, "user.notifications_chosen", actor.user.id, data={"user": actor.user.id, "kinds": sorted(wanted)}
    )
    return wanted
