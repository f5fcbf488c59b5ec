"""HTML pages of the catalogue: home (search box, GSBPM map, recent services), service pages with their
downloads, and the submit page with live validation. Every page reads without JavaScript."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import Any

import yaml
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from markdown_it import MarkdownIt
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from catalogue import exceptions, reference, resources
from catalogue.auth import actors
from catalogue.auth.identity import current_actor
from catalogue.db import committed, session, utcnow
from catalogue.document.content import criterion_link, sanitise
from catalogue.exceptions import DescriptorError, Problem, RegistryError
from catalogue.search import searching
from catalogue.search.query import SearchRequest
from catalogue.services import (
    compliance,
    descriptors,
    diff,
    distributions,
    family,
    history,
    interface,
    layers,
    permissions,
    reads,
    starter,
    validation,
    workflow,
)
from catalogue.services.models import Service, ServiceVersion
from catalogue.wording import plural

bp = Blueprint("services", __name__)

TEMPLATE_FILE = resources.DESCRIPTOR_TEMPLATE_FILE


@cache
def _markdown() -> MarkdownIt:
    # Raw HTML in a descriptor is shown as text (html off); sanitise() still gates links and the rest.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(["table", "strikethrough"])


def markdown(text: Any) -> Markup:
    """Descriptor Markdown as sanitised HTML."""
    if not text:
        return Markup("")
    return Markup(sanitise(_markdown().render(str(text))))  # sanitised by nh3 just above  # nosec B704


@bp.app_template_filter("markdown")
def _markdown_filter(text: Any) -> Markup:
    return markdown(text)


# --- home --------------------------------------------------------------------------------------


@bp.get("/")
def home() -> str:
    """Search box, the GSBPM matrix with the number of approved services per sub-process, recent services."""
    # Counts come from the same search (empty query, anonymous reader) as /api/v1/search's facets,
    # so the map and the API never disagree.
    result = searching().search(SearchRequest.build(per_page=1), permissions.visibility(actors.ANONYMOUS))
    counts = {facet.value: facet.count for facet in result.facets.get("subprocess", [])}
    model = reference.gsbpm()
    phases = [
        {**phase, "subprocesses": [{**sub, "count": counts.get(sub["code"], 0)} for sub in phase["subprocesses"]]}
        for phase in model.phases.values()
    ]
    # The newest public versions come from the database: the index orders by name when there is no query.
    recent = reads.recent_public_versions(session())
    return render_template("services/home.html", phases=phases, total=result.total, recent=recent)


# --- service pages -----------------------------------------------------------------------------


@lru_cache(maxsize=64)  # a few popular services' parsed text; descriptors are small (2 MiB at most)
def _as_written(text: str, fmt: str, digest: str) -> dict[str, Any] | None:
    try:
        content = descriptors.parse(text, fmt).content
    except DescriptorError:
        return None
    return content if validation.content_hash(content) == digest else None


def content_of(version: ServiceVersion) -> dict[str, Any]:
    """The descriptor of version in its author's key order (paths, properties), read again from the text as
    submitted: PostgreSQL's JSONB keeps the content but not the order of its keys."""
    if version.descriptor_text and version.descriptor_format in ("yaml", "json"):
        written = _as_written(version.descriptor_text, version.descriptor_format, version.content_hash)
        if written is not None:
            return written
    return version.descriptor


def bundle_of(version: ServiceVersion) -> dict[str, Any]:
    """What version says with every layer inline: its stored bundle, with the layers written inline read in
    their author's key order (content_of) and those referred to as the registry resolved them."""
    written = content_of(version)
    resolved = {
        kind: version.bundle[kind]
        for kind in layers.KINDS
        if isinstance(version.bundle.get(kind), dict) and layers.identity(written, kind) is None
    }
    return layers.bundle(written, resolved)


def _version_for(slug: str, version: str | None) -> tuple[Service, ServiceVersion, list[ServiceVersion], actors.Actor]:
    actor = current_actor()
    service = reads.get_service(session(), actor, slug)
    versions = reads.visible_versions(service, actor)
    if version is None:
        shown = reads.view_service(service, actor).version
    else:
        shown = next((v for v in versions if v.version == version), None)
    if shown is None:
        raise exceptions.NotFound(f"service {slug!r} has no version {version!r} you may see")
    return service, shown, versions, actor


def _conversation_parts(shown: ServiceVersion, actor: actors.Actor) -> dict[str, Any]:
    """What the version page shows of a version's review: its conversation, what changed since the version it
    is compared with, and whether this reader may write in it."""
    basis = reads.previous_version(shown, actor)
    changes = (
        diff.diff_versions(basis.version.descriptor, shown.descriptor)
        if basis.version is not None and shown.status != "draft"
        else None
    )
    return {
        "conversation": reads.conversation(session(), shown),
        "changes": changes,
        "previous": basis.version,
        "approved_basis": basis.approved,
        "may_comment": shown.status != "draft" and permissions.may_comment(actor, shown),
        "may_review": permissions.may_review(actor, shown),
        "may_edit": permissions.may_edit(actor, shown.service),
        "criteria_titles": {c["id"]: c["title"] for c in compliance.criteria()},
    }


@bp.get("/services/<slug>")
@bp.get("/services/<slug>/versions/<version>")
def service_page(slug: str, version: str | None = None) -> str:
    """One service: its three CSPA layers, interface, compliance, versions and history."""
    return _service_page(slug, version)


def _service_page(slug: str, version: str | None, errors: dict[str, str] | None = None, form: Any = None) -> str:
    service, shown, versions, actor = _version_for(slug, version)
    parts = {**_conversation_parts(shown, actor), "errors": errors or {}, "form": form or {}}
    lines = history.history_lines(session(), actor, service.slug)
    if (shown.validation or {}).get("errors"):
        # An unfinished draft: its stored problems and the way back to the editor, not the layers.
        return render_template(
            "services/draft.html", service=service, version=shown, versions=versions, history=lines, **parts
        )
    content = bundle_of(shown)
    bundle = content  # every layer inline, references resolved: what the Annex 1 and Get it parts read
    spec = content.get("specification") or {}
    document = (spec.get("interface") or {}).get("openapi")
    items = [
        {**item, "link": criterion_link(item["id"]), "sources": compliance.citations(item)}
        for item in (shown.compliance or {}).get("items", [])
    ]
    model = reference.gsbpm()
    return render_template(
        "services/service.html",
        service=service,
        version=shown,
        versions=versions,
        content=content,
        operations=interface.operations(document),
        openapi=document,
        others=interface.other_interfaces(spec.get("interface")),
        compliance_items=items,
        bundle=bundle,
        get_it=distributions.instructions(bundle),
        history=lines,
        **parts,
        subprocesses=[
            (code, model.subprocesses.get(code, {}).get("name", ""))
            for code in (content.get("definition") or {}).get("gsbpm", [])
        ],
        gsim_lookup=reference.gsim().lookup,
        family=family.of_version(session(), actor, shown),
        # The newest version this reader may read, never an unpublished one they may not see.
        latest=shown.id == versions[-1].id,
    )


@bp.post("/services/<slug>/versions/<version>/comments")
@login_required
def reply(slug: str, version: str) -> Any:
    """Write in a version's conversation (a submitter's reply, a reviewer's remark); back to the version page."""
    body = request.form.get("body", "")
    try:
        with committed() as db_session:
            workflow.comment_on_version(db_session, current_actor(), slug, version, body)
    except exceptions.InvalidRequest as error:
        return _service_page(slug, version, {"body": error.detail}, request.form), error.status
    flash("Your message was added to the conversation.", "success")
    return redirect(url_for("services.service_page", slug=slug, version=version) + "#conversation", code=303)


@bp.get("/my-work")
@login_required
def my_work() -> str:
    """The signed-in person's work: what waits for them, and their organisation's services by state."""
    actor = current_actor()
    db_session = session()
    user = actor.user
    organisation = user.organisation if user is not None else None
    views = reads.organisation_services(db_session, actor, organisation) if organisation is not None else []
    # Each service is grouped by its latest version here (what its own people work on), not its public one.
    own = [reads.ServiceView(v.service, v.service.latest_version, v.latest) for v in views]
    return render_template(
        "services/my_work.html",
        organisation=organisation,
        tasks=reads.tasks_of(db_session, actor),
        groups=reads.by_state(own),
        now=utcnow(),
    )


@bp.get("/organisations/<code>")
def organisation_page(code: str) -> str:
    """One organisation: its services by state (those the reader may see) and its contacts."""
    actor = current_actor()
    db_session = session()
    organisation = reads.get_organisation(db_session, code)
    views = reads.organisation_services(db_session, actor, organisation)
    return render_template(
        "services/organisation.html",
        organisation=organisation,
        groups=reads.by_state(views),
        total=len(views),
        contacts=reads.contacts_of(views),
    )


@bp.get("/definitions/<owner>/<slug>", defaults={"kind": "definitions"})
@bp.get("/specifications/<owner>/<slug>", defaults={"kind": "specifications"})
def layer_page(kind: str, owner: str, slug: str) -> str:
    """A Definition with its Specifications and their Implementations, or a Specification with its
    Implementations: only what the reader may see."""
    found = family.layer_family(session(), current_actor(), kind.removesuffix("s"), owner, slug)
    return render_template("services/layer.html", family=found)


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/services/<slug>/versions/<version>/descriptor.<any(yaml, json):fmt>")
def download_descriptor(slug: str, version: str, fmt: str) -> Response:
    """The descriptor of one version, as YAML (the text as submitted when it was YAML) or JSON."""
    _service, shown, _versions, _actor = _version_for(slug, version)
    if fmt == "json":
        body = json.dumps(content_of(shown), indent=2, ensure_ascii=False) + "\n"
        return _download(body, "application/json", f"{slug}-{version}.json")
    text = shown.descriptor_text if shown.descriptor_format == "yaml" and shown.descriptor_text else None
    body = text or yaml.safe_dump(content_of(shown), sort_keys=False, allow_unicode=True)
    return _download(body, "application/yaml", f"{slug}-{version}.yaml")


@bp.get("/services/<slug>/versions/<version>/openapi.<any(yaml, json):fmt>")
def download_openapi(slug: str, version: str, fmt: str) -> Response:
    """The OpenAPI document of one version."""
    _service, shown, _versions, _actor = _version_for(slug, version)
    document = ((bundle_of(shown).get("specification") or {}).get("interface") or {}).get("openapi")
    if not isinstance(document, dict):
        abort(404, description=f"version {version} of {slug!r} has no OpenAPI document")
    if fmt == "json":
        return _download(
            json.dumps(document, indent=2, ensure_ascii=False) + "\n",
            "application/json",
            f"{slug}-{version}-openapi.json",
        )
    return _download(
        yaml.safe_dump(document, sort_keys=False, allow_unicode=True),
        "application/yaml",
        f"{slug}-{version}-openapi.yaml",
    )


# --- submit ------------------------------------------------------------------------------------


def _guess_format(text: str, filename: str = "") -> str:
    if filename.lower().endswith(".json"):
        return "json"
    return "json" if text.lstrip().startswith("{") else "yaml"


@bp.get("/api/")
def api_docs() -> str:
    """The registry's own REST API, rendered from its generated OpenAPI document like a service's interface."""
    document = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return render_template(
        "services/api_docs.html", operations=interface.operations(document), version=document.get("openapi", "")
    )


@bp.get("/submit/template.yaml")
def descriptor_template() -> Response:
    """A complete example descriptor to start from."""
    return _download(TEMPLATE_FILE.read_text("utf-8"), "application/yaml", "cspa-descriptor-template.yaml")


@bp.route("/submit/start", methods=["GET", "POST"])
def start_from_form() -> str | BaseResponse | tuple[str, int]:
    """Start a descriptor from a form; the result opens in the editor with its problems, to finish there."""
    actor = current_actor()
    if actor.anonymous:
        return redirect(url_for("auth.sign_in", next=url_for("services.start_from_form")))
    if request.method == "GET":
        owner = actor.user.organisation.code if actor.user is not None and actor.user.organisation else ""
        return render_template(
            "services/start.html",
            choices=starter.choices(),
            owner=owner,
            interface_labels=layers.INTERFACE_LABELS,
            distribution_labels=distributions.LABELS,
        )
    text = starter.descriptor_text(request.form, request.form.getlist)
    descriptor = descriptors.parse(text, "yaml", current_app.config["CATALOGUE"].limits)
    report, _assessment = workflow.check_descriptor(descriptor)
    message = (
        "Built from the form: every field is filled in correctly."
        if report.valid
        else f"Built from the form: {len(report.errors)} {'thing' if len(report.errors) == 1 else 'things'} to finish below."
    )
    return render_template(
        "services/submit.html", text=text, problems=[_problem(p) for p in report.errors], message=message
    )


@bp.route("/submit", methods=["GET", "POST"])
def submit() -> str | BaseResponse | tuple[str, int]:
    """Paste or upload a descriptor, see its problems, save it as a draft or submit it for review."""
    actor = current_actor()
    if actor.anonymous:
        return redirect(url_for("auth.sign_in", next=url_for("services.submit")))
    if request.method == "GET":
        return _editor_page(actor)
    upload = request.files.get("file")
    data: str | bytes = request.form.get("descriptor", "")
    filename = ""
    if upload is not None and upload.filename:
        # Parsed as bytes, so a file that is not UTF-8 is reported with its line rather than silently mended.
        filename, data = upload.filename, upload.read()
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    status = "draft" if request.form.get("action") == "draft" else "submitted"
    problems: list[Any] = []
    code = 422
    try:
        fmt = _guess_format(text, filename)
        descriptor = descriptors.parse(data, fmt, current_app.config["CATALOGUE"].limits)
        with committed() as db_session:
            version, _created = workflow.submit_version(
                db_session, actor, descriptor, fmt, status, current_app.config["CATALOGUE"].semver_breaking
            )
            target = url_for("services.service_page", slug=version.service.slug, version=version.version)
        return redirect(target + ("?saved=draft" if status == "draft" else "?saved=submitted"), code=303)
    except DescriptorError as error:
        message, problems = "The descriptor could not be read.", [error.problem]
    except exceptions.Unauthenticated:
        raise  # the sign-in page
    except RegistryError as error:
        # A refusal (403) is already on the audit trail: committed() records it as it rolls back. The
        # page is shown again with the text, so the submitter can fix the owner and try again.
        message, problems, code = error.detail, list(error.problems), error.status
    return render_template(
        "services/submit.html", text=text, problems=[_problem(p) for p in problems], message=message
    ), code


def _editor_page(actor: actors.Actor) -> str:
    """The editor: empty, with the template, or with a version of one's own service to go on from
    (?service=ID&version=N: an unfinished draft with its stored problems, or a version to answer a review)."""
    slug, number = request.args.get("service"), request.args.get("version")
    if slug and number:
        _service, shown, _versions, _actor = _version_for(slug, number)
        if not permissions.may_edit(actor, shown.service):
            raise exceptions.NotFound(f"service {slug!r} has no version {number!r} you may edit")
        problems = [_problem(p) for p in (shown.validation or {}).get("errors", [])]
        message = (
            f"Version {shown.version} ({shown.status.replace('_', ' ')}): "
            + (f"{plural(len(problems), 'problem')} to fix below." if problems else "no problem found.")
            + ("" if shown.status == "draft" else " Give the new version a higher number before you submit it.")
        )
        return render_template("services/submit.html", text=shown.descriptor_text, problems=problems, message=message)
    text = TEMPLATE_FILE.read_text("utf-8") if request.args.get("start") == "template" else ""
    return render_template("services/submit.html", text=text, problems=[], message=None)


def _problem(problem: Problem | dict[str, Any]) -> dict[str, Any]:
    return problem.to_dict() if isinstance(problem, Problem) else dict(problem)
