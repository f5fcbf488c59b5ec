"""The page where a signed-in user chooses which notifications they receive by e-mail."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from catalogue.auth.identity import current_actor
from catalogue.db import committed, session
from catalogue.notify import settings
from catalogue.notify.models import KINDS

bp = Blueprint("notify", __name__, url_prefix="/account")


@bp.route("/notifications", methods=["GET", "POST"])
@login_required
def notifications() -> str | Response:
    """Switch each kind of notification on or off."""
    actor = current_actor()
    if request.method == "POST":
        with committed() as db_session:
            settings.choose_kinds(db_session, actor, request.form.getlist("kinds"))
        flash("Your notification settings are saved.", "success")
        return redirect(url_for("notify.notifications"))
    assert actor.user is not None
    return render_template(
        "notify/settings.html", kinds=KINDS, chosen=settings.chosen_kinds(session(), actor), email=actor.user.email
    )
