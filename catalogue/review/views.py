"""HTML pages of the review workflow: queue, review page with compliance verdicts, diff and decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from catalogue import exceptions
from catalogue.auth.identity import current_actor
from catalogue.db import committed, session, utcnow
from catalogue.exceptions import InvalidRequest, RegistryError
from catalogue.services import compliance, diff, permissions, reads, workflow
from catalogue.wording import plural

bp = Blueprint("review", __name__, url_prefix="/review")

_DECISION_WORDS = {"approved": "Approve", "changes_requested": "Request changes", "rejected": "Reject"}


@bp.get("/")
@login_required
def queue() -> str:
    """Versions awaiting review, oldest first."""
    actor = current_actor()
    everything = reads.review_queue(session(), actor)
    reviewable = {v.id: permissions.may_review(actor, v) for v in everything}
    chosen = {
        "status": request.args.get("status", ""),
        "organisation": request.args.get("organisation", ""),
        "mine": request.args.get("mine", ""),
    }
    versions = [
        v
        for v in everything
        if (not chosen["status"] or v.status == chosen["status"])
        and (not chosen["organisation"] or v.service.organisation.code == chosen["organisation"])
        and (not chosen["mine"] or reviewable[v.id])
    ]
    return render_template(
        "review/queue.html",
        versions=versions,
        total=len(everything),
        reviewable=reviewable,
        chosen=chosen,
        organisations=sorted({v.service.organisation.code for v in everything}),
        ages={v.id: _age(v.created_at) for v in everything},
    )


def _age(since: datetime) -> str:
    """How long a version has waited, in the largest whole unit: "3 days", "1 hour", "under a minute"."""
    seconds = (utcnow() - since).total_seconds()
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            return plural(int(seconds // size), unit)
    return "under a minute"


def _page(
    slug: str, version_label: str, errors: dict[str, str] | None = None, form: Any = None, status: int = 200
) -> tuple[str, int]:
    db_session = session()
    actor = current_actor()
    version = reads.get_version(db_session, actor, slug, version_label)
    # The same version the API's diff compares with: the last approved one, else the one reviewed before.
    basis = reads.previous_version(version, actor)
    previous, approved_basis = basis.version, basis.approved
    changes = diff.diff_versions(previous.descriptor, version.descriptor) if previous is not None else None
    bundle = version.bundle or {}
    layers_text = [
        (label, yaml.safe_dump(bundle[key], sort_keys=False, allow_unicode=True))
        for key, label in (
            ("definition", "Definition"),
            ("specification", "Specification"),
            ("implementation", "Implementation"),
        )
        if isinstance(bundle.get(key), dict)
    ]
    return render_template(
        "review/version.html",
        layers_text=layers_text,
        conversation=reads.conversation(db_session, version),
        criteria_titles={c["id"]: c["title"] for c in compliance.criteria()},
        version=version,
        service=version.service,
        previous=previous,
        changes=changes,
        approved_basis=approved_basis,
        reviews=reads.reviews_of(db_session, version),
        may_review=permissions.may_review(actor, version),
        allowed=workflow.allowed_transitions(version),
        decisions=_DECISION_WORDS,
        errors=errors or {},
        form=form or {},
        criteria={c["id"]: c for c in compliance.criteria()},
        citations=compliance.citations,
    ), status


@bp.get("/<slug>/<version>")
@login_required
def version_page(slug: str, version: str) -> tuple[str, int]:
    """One version under review: compliance report with verdicts, diff, decision form."""
    return _page(slug, version)


@bp.post("/<slug>/<version>/start")
@login_required
def start(slug: str, version: str) -> Response:
    """Take a submitted version into review."""
    with committed() as db_session:
        workflow.transition(db_session, current_actor(), slug, version, "in_review")
    flash(f"Review of {slug} {version} started.", "success")
    return redirect(url_for("review.version_page", slug=slug, version=version))


@bp.post("/<slug>/<version>/decide")
@login_required
def decide(slug: str, version: str) -> Response | tuple[str, int]:
    """Record a decision with the reviewer's verdict per criterion."""
    decision = request.form.get("decision", "")
    comment = request.form.get("comment", "")
    items = []
    for key, verdict in request.form.items():
        if key.startswith("verdict-") and verdict:
            criterion = key.removeprefix("verdict-")
            items.append(
                {"criterion": criterion, "verdict": verdict, "comment": request.form.get(f"note-{criterion}", "")}
            )
    if decision not in _DECISION_WORDS:
        return _page(
            slug, version, {"decision": "Choose a decision: approve, request changes or reject."}, request.form, 400
        )
    try:
        with committed() as db_session:
            workflow.transition(db_session, current_actor(), slug, version, decision, comment, items)
    except InvalidRequest as error:
        fields = {p.pointer.strip("/").split("/")[0]: p.message for p in error.problems} or {"decision": error.detail}
        return _page(slug, version, fields, request.form, error.status)
    except RegistryError as error:
        if isinstance(error, exceptions.PermissionDenied | exceptions.Unauthenticated):
            raise
        return _page(slug, version, {"decision": error.detail}, request.form, error.status)
    flash(f"{_DECISION_WORDS[decision]}: decision on {slug} {version} recorded.", "success")
    return redirect(url_for("review.queue"))
