"""HTML pages of the CSPA 2.0 document: contents, chapters, glossary, the GSBPM figure and GSIM objects.

Every page works without JavaScript; static/document.js only enhances (switching the reading level in
place, highlighting the table of contents, term definitions on hover or tap, expanding the figure).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from catalogue import reference
from catalogue.auth.identity import current_actor
from catalogue.db import session
from catalogue.document import content, live, template
from catalogue.document.content import Chapter
from catalogue.search import searching

bp = Blueprint("document", __name__, url_prefix=content.DOCUMENT_PATH)

LEVELS: tuple[str, ...] = (*content.AUDIENCES, "all")
LEVEL_LABELS = {"overview": "Overview", "architect": "Architect", "builder": "Builder", "all": "Everything"}
LEVEL_HINTS = {
    "overview": "for managers: what and why",
    "architect": "for architects: how the parts fit",
    "builder": "for builders: what to write and run",
    "all": "every section",
}
LEVEL_COOKIE = "cspa_document_level"
_YEAR = 365 * 24 * 3600


def reading_level() -> str:
    """The reader's level: ``?level=`` when valid, else the remembered cookie, else everything."""
    asked = request.args.get("level", "")
    if asked in LEVELS:
        return asked
    remembered = request.cookies.get(LEVEL_COOKIE, "")
    return remembered if remembered in LEVELS else "all"


@bp.after_request
def _remember_level(response: Response) -> Response:
    # Only an explicit choice in the URL is remembered; a page merely read at a level changes nothing.
    asked = request.args.get("level", "")
    if asked in LEVELS and request.cookies.get(LEVEL_COOKIE) != asked:
        response.set_cookie(
            LEVEL_COOKIE,
            asked,
            max_age=_YEAR,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
            path=content.DOCUMENT_PATH,
        )
    return response


def _href(kind: str, key: str) -> str:
    if kind == "gsbpm":
        anchor = f"sp-{key}" if "." in key else f"phase-{key}"
        return url_for("document.gsbpm", _anchor=anchor)
    if kind == "gsim":
        return url_for("document.gsim_object", name=key)
    return url_for("document.glossary_page", _anchor=f"term-{key}")


def resolver() -> content.LinkResolver:
    """The link resolver of the web document: GSBPM to the figure, GSIM to its page, terms to the glossary."""
    return content.reference_resolver(_href)


def chapter_url(chapter: Chapter, level: str | None = None) -> str:
    """The page of a chapter (the glossary has its own page), keeping a chosen reading level in the URL."""
    extra: dict[str, Any] = {"level": level} if level and level != "all" else {}
    if chapter.slug == content.GLOSSARY_SLUG:
        return url_for("document.glossary_page", **extra)
    return url_for("document.chapter_page", slug=chapter.slug, **extra)


def level_url(level: str) -> str:
    """The current page at another reading level."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "level"}
    return url_for(str(request.endpoint), **(request.view_args or {}), **args, level=level)


@bp.app_context_processor
def _document_helpers() -> dict[str, Any]:
    return {"document_chapter_url": chapter_url}


def _page(name: str, status: int = 200, **values: Any) -> Response:
    level = reading_level()
    body = render_template(
        f"document/{name}",
        level=level,
        levels=LEVELS,
        level_labels=LEVEL_LABELS,
        level_hints=LEVEL_HINTS,
        level_url=level_url,
        chapters=content.chapters(),
        **values,
    )
    return make_response(body, status)


def _not_found(what: str) -> Response:
    return _page("not_found.html", 404, what=what)


@bp.get("/")
def contents() -> Response:
    """The contents: every chapter with its summary and how many sections suit the reader's level."""
    return _page("contents.html")


def _toc(chapter: Chapter) -> list[tuple[str, str, tuple[str, ...]]]:
    if "descriptor-template" in chapter.directives:
        return [(s.anchor, s.title, chapter.audiences) for s in template.template_sections(template.load_schema())]
    return [(s.anchor, s.title, s.audiences) for s in chapter.sections]


@bp.get("/<slug>")
def chapter_page(slug: str) -> Response:
    """One chapter, its sections filtered to the reader's level, with contents, previous and next."""
    chapter = content.chapter(slug)
    if chapter is None:
        return _not_found(f"There is no chapter called “{slug}”.")
    level = reading_level()
    audience = None if level == "all" else level
    directives = {
        "descriptor-template": lambda: template.render_template(template.load_schema(), chapter.audiences, audience),
    }
    body = content.render_chapter(chapter, resolver(), directives, audience)
    toc = _toc(chapter)
    ordered = content.chapters()
    position = ordered.index(chapter)
    return _page(
        "chapter.html",
        chapter=chapter,
        body=body,
        toc=toc,
        visible={anchor for anchor, _, audiences in toc if audience is None or audience in audiences},
        previous=ordered[position - 1] if position > 0 else None,
        following=ordered[position + 1] if position + 1 < len(ordered) else None,
    )


@bp.get("/glossary")
def glossary_page() -> Response:
    """Every glossary term with its definition, each at ``#term-<slug>``."""
    resolve = resolver()
    terms = [(term, content.render_markdown(term.definition, resolve)) for term in content.glossary().values()]
    glossary = content.chapter(content.GLOSSARY_SLUG)
    ordered = content.chapters()
    return _page("glossary.html", terms=terms, chapter=glossary, previous=ordered[-2] if len(ordered) > 1 else None)


@bp.get("/gsbpm")
def gsbpm() -> Response:
    """The GSBPM figure: phases, sub-processes, approved services per sub-process; ``?sp=`` lists them."""
    selected = request.args.get("sp") or None
    try:
        figure = live.gsbpm_figure(searching(), session(), current_actor(), selected)
    except KeyError:
        return _not_found(f"GSBPM 5.1 has no sub-process “{selected}”.")
    return _page("gsbpm.html", figure=figure, shown_status=live.SHOWN_STATUS)


@bp.get("/gsim/")
def gsim_index() -> Response:
    """The GSIM 1.2 objects by group, each with the number of approved services using it."""
    return _page(
        "gsim_index.html", groups=live.gsim_groups(searching(), current_actor()), shown_status=live.SHOWN_STATUS
    )


@bp.get("/gsim/<name>")
def gsim_object(name: str) -> Response:
    """One GSIM object: its definition and the approved services consuming and producing it."""
    official = reference.gsim().lookup(name)
    if official is None:
        return _not_found(f"GSIM 1.2 has no information object called “{name}”.")
    if official != name:  # "unit data set" and "UnitDataSet" find the object; the official name is its address
        return redirect(url_for("document.gsim_object", name=official), 301)  # type: ignore[return-value]
    found = live.gsim_object(searching(), session(), current_actor(), official)
    assert found is not None  # lookup returned an official name
    return _page("gsim_object.html", item=found, shown_status=live.SHOWN_STATUS)
