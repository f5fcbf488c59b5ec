"""The CSPA 2.0 document as Markdown chapters: loading, sections by audience, cross-links and safe rendering.

Chapters live in ``content/*.md`` with YAML front matter. A level-two heading opens a section and carries
its anchor and audiences, ``## Title {#anchor .overview .architect}``. Cross-links are written
``[[gsbpm:5.1]]``, ``[[gsim:Unit Data Set]]`` or ``[[term:statistical service|statistical services]]``;
the caller supplies the resolver that turns them into URLs, so this module never imports Flask.

A chapter's front matter may name the compliance criteria its sections explain,
``criteria: {gsbpm-aligned: why-subprocesses}``, so that a service's compliance report can link each
criterion back to the principle behind it (criterion_link).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import nh3
import yaml
from markdown_it import MarkdownIt

from catalogue import reference, resources

log = logging.getLogger(__name__)

CONTENT_DIR = resources.DOCUMENT_CONTENT_DIR
DOCUMENT_PATH = "/document"
"""Where the document is served; the blueprint mounts at this prefix, so paths built here are real."""
GLOSSARY_SLUG = "glossary"
AUDIENCES: tuple[str, ...] = ("overview", "architect", "builder")
LINK_KINDS: tuple[str, ...] = ("gsbpm", "gsim", "term")

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<meta>.*?)\n---[ \t]*\n?(?P<body>.*)\Z", re.DOTALL)
_HEADING = re.compile(r"^##[ \t]+(?P<title>.+?)[ \t]*(?:\{(?P<attrs>[^{}]*)\})?[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})")
_DIRECTIVE = re.compile(r"^:::[ \t]*(?P<name>[a-z][a-z0-9-]*)[ \t]*$")
_LINK = re.compile(r"\[\[(?P<kind>[a-z]+):(?P<target>[^\]|]+?)(?:\|(?P<label>[^\]]+?))?\]\]")
# A code span is matched first so that a link shown as an example inside backticks stays literal.
_CODE_OR_LINK = re.compile(r"(?P<code>(?P<ticks>`+).+?(?P=ticks))|" + _LINK.pattern)
_ANCHOR = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Private-use characters mark where links and directives go; authors never type them (and we strip them).
_OPEN, _CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_OPEN}(?P<kind>[LD])(?P<index>[0-9]+){_CLOSE}")
_DIRECTIVE_PARAGRAPH = re.compile(f"<p>{_OPEN}D(?P<index>[0-9]+){_CLOSE}</p>")


class ContentError(ValueError):
    """A chapter file is malformed (front matter, heading attributes, duplicate anchors...)."""


class UnresolvedLinks(ContentError):
    """Some ``[[kind:target]]`` links have no target; ``links`` lists them all."""

    def __init__(self, links: list[Link]) -> None:
        self.links = links
        super().__init__("unresolved links: " + ", ".join(link.source for link in links))


@dataclass(frozen=True)
class Link:
    """One ``[[kind:target|label]]`` cross-link as written in a chapter."""

    kind: str
    target: str
    label: str | None = None

    @property
    def source(self) -> str:
        """The link as it appears in Markdown."""
        label = f"|{self.label}" if self.label else ""
        return f"[[{self.kind}:{self.target}{label}]]"


@dataclass(frozen=True)
class Resolved:
    """Where a link points and the text to show for it."""

    href: str
    text: str
    title: str = ""


LinkResolver = Callable[[Link], Resolved | None]
Directives = Mapping[str, Callable[[], str]]


@dataclass(frozen=True)
class Section:
    """A level-two section: heading, stable anchor, intended audiences and Markdown body."""

    anchor: str
    title: str
    audiences: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class Chapter:
    """One chapter file: front matter, the text before the first section, and its sections."""

    slug: str
    title: str
    order: int
    summary: str
    audiences: tuple[str, ...]
    intro: str
    sections: tuple[Section, ...]
    directives: tuple[str, ...]
    markdown: str
    criteria: tuple[tuple[str, str], ...] = ()  # (compliance criterion id, section anchor) from front matter

    def section(self, anchor: str) -> Section | None:
        """The section with this anchor, or None."""
        return next((s for s in self.sections if s.anchor == anchor), None)

    def for_audience(self, audience: str) -> tuple[Section, ...]:
        """The sections written for one audience (overview, architect or builder)."""
        return tuple(s for s in self.sections if audience in s.audiences)

    @property
    def words(self) -> int:
        """Words in the Markdown body (a rough measure of substance)."""
        return len(re.findall(r"[A-Za-z0-9][\w'-]*", self.markdown))


@dataclass(frozen=True)
class Term:
    """A glossary entry: the term as headed, its anchor, audiences and Markdown definition."""

    term: str
    anchor: str
    audiences: tuple[str, ...]
    definition: str


def normalise_term(term: str) -> str:
    """Fold case and runs of spaces, so "Statistical  Service" finds "statistical service"."""
    return re.sub(r"\s+", " ", term).strip().casefold()


def slugify(text: str) -> str:
    """A lower-case, hyphenated anchor for text."""
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")


def _outside_fences(lines: Iterable[str]) -> Iterable[tuple[str, bool]]:
    """Each line with whether it is outside a fenced code block (headings in code are not headings)."""
    fence: str | None = None
    for line in lines:
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match["fence"]
            yield line, False
        elif fence is not None:
            if match and match["fence"][0] == fence[0] and len(match["fence"]) >= len(fence):
                fence = None
            yield line, False
        else:
            yield line, True


def _heading_attributes(
    attrs: str | None, title: str, default: tuple[str, ...], where: str
) -> tuple[str, tuple[str, ...]]:
    anchor = ""
    audiences: list[str] = []
    for token in (attrs or "").split():
        if token.startswith("#"):
            anchor = token[1:]
        elif token.startswith(".") and token[1:] in AUDIENCES:
            audiences.append(token[1:])
        else:
            raise ContentError(f"{where}: unknown heading attribute {token!r} in {title!r}")
    anchor = anchor or slugify(title)
    if not _ANCHOR.match(anchor):
        raise ContentError(f"{where}: anchor {anchor!r} must be lower-case letters, digits and hyphens")
    chosen = tuple(a for a in AUDIENCES if a in audiences) or default
    if not chosen:
        raise ContentError(f"{where}: section {title!r} has no audience and the chapter sets no default")
    return anchor, chosen


def split_sections(
    markdown: str, default_audiences: tuple[str, ...] = (), where: str = "<string>"
) -> tuple[str, tuple[Section, ...]]:
    """Split Markdown into the text before the first ``##`` heading and the sections that follow."""
    intro: list[str] = []
    sections: list[tuple[str, str, tuple[str, ...], list[str]]] = []
    for line, live in _outside_fences(markdown.splitlines()):
        heading = _HEADING.match(line) if live else None
        if heading:
            title = heading["title"].strip()
            anchor, audiences = _heading_attributes(heading["attrs"], title, default_audiences, where)
            sections.append((anchor, title, audiences, []))
        elif sections:
            sections[-1][3].append(line)
        else:
            intro.append(line)
    seen: set[str] = set()
    for anchor, title, _, _ in sections:
        if anchor in seen:
            raise ContentError(f"{where}: duplicate anchor {anchor!r} (section {title!r})")
        seen.add(anchor)
    built = tuple(Section(a, t, aud, "\n".join(body).strip("\n")) for a, t, aud, body in sections)
    return "\n".join(intro).strip("\n"), built


def _front_matter(text: str, where: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        raise ContentError(f"{where}: missing YAML front matter between '---' lines")
    meta = yaml.safe_load(match["meta"]) or {}
    if not isinstance(meta, dict):
        raise ContentError(f"{where}: front matter must be a mapping")
    missing = [key for key in ("title", "slug", "order", "summary") if key not in meta]
    if missing:
        raise ContentError(f"{where}: front matter lacks {', '.join(missing)}")
    if not isinstance(meta["order"], int):
        raise ContentError(f"{where}: 'order' must be an integer")
    if not _ANCHOR.match(str(meta["slug"])):
        raise ContentError(f"{where}: slug {meta['slug']!r} must be lower-case letters, digits and hyphens")
    audiences = meta.get("audiences") or []
    if not isinstance(audiences, list) or any(a not in AUDIENCES for a in audiences):
        raise ContentError(f"{where}: 'audiences' must be a list drawn from {', '.join(AUDIENCES)}")
    criteria = meta.get("criteria") or {}
    if not isinstance(criteria, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in criteria.items()
    ):
        raise ContentError(f"{where}: 'criteria' must map compliance criterion ids to section anchors")
    return meta, match["body"]


def parse_chapter(text: str, where: str = "<string>") -> Chapter:
    """Parse one chapter file's text (front matter, then Markdown)."""
    meta, body = _front_matter(text.replace("\r\n", "\n"), where)
    audiences = tuple(a for a in AUDIENCES if a in (meta.get("audiences") or []))
    intro, sections = split_sections(body, audiences, where)
    anchors = {s.anchor for s in sections}
    criteria = tuple((str(k), str(v)) for k, v in (meta.get("criteria") or {}).items())
    stray = [f"{k} -> {v}" for k, v in criteria if v not in anchors]
    if stray:
        raise ContentError(f"{where}: criteria point at no section: {', '.join(stray)}")
    directives = tuple(
        m["name"] for line, live in _outside_fences(body.splitlines()) if live and (m := _DIRECTIVE.match(line))
    )
    return Chapter(
        slug=str(meta["slug"]),
        title=str(meta["title"]),
        order=meta["order"],
        summary=str(meta["summary"]).strip(),
        audiences=audiences,
        intro=intro,
        sections=sections,
        directives=directives,
        markdown=body.strip("\n"),
        criteria=criteria,
    )


@cache
def chapters() -> list[Chapter]:
    """Every chapter in content/, ordered by front-matter ``order`` (loaded once)."""
    loaded = [parse_chapter(path.read_text("utf-8"), path.name) for path in sorted(CONTENT_DIR.glob("*.md"))]
    slugs = [c.slug for c in loaded]
    duplicates = sorted({s for s in slugs if slugs.count(s) > 1})
    if duplicates:
        raise ContentError(f"duplicate chapter slugs: {', '.join(duplicates)}")
    return sorted(loaded, key=lambda c: (c.order, c.slug))


def readable_chapters() -> list[Chapter] | None:
    """chapters(), or None when the content cannot be read (the error is logged): what only draws on the
    document, such as its sections in search, goes on without it rather than failing."""
    try:
        return chapters()
    except (OSError, ContentError) as exc:
        log.error("the CSPA document cannot be loaded (%s); its sections are not searchable", exc)
        return None


def chapter(slug: str) -> Chapter | None:
    """The chapter with this slug, or None."""
    return next((c for c in chapters() if c.slug == slug), None)


@cache
def criterion_links() -> dict[str, str]:
    """Compliance criterion id → the document path (``/document/<chapter>#<anchor>``) that explains it."""
    found: dict[str, str] = {}
    for each in chapters():
        for criterion, anchor in each.criteria:
            if criterion in found:
                raise ContentError(f"criterion {criterion!r} is explained by two sections")
            found[criterion] = f"{DOCUMENT_PATH}/{each.slug}#{anchor}"
    return found


def criterion_link(criterion_id: str) -> str | None:
    """The path of the section explaining a compliance criterion (see compliance.yaml), or None."""
    return criterion_links().get(criterion_id)


@cache
def glossary() -> dict[str, Term]:
    """Glossary terms keyed by normalised term, in the order the glossary chapter lists them."""
    source = chapter(GLOSSARY_SLUG)
    if source is None:
        raise ContentError(f"no chapter with slug {GLOSSARY_SLUG!r}")
    terms = {normalise_term(s.title): Term(s.title, s.anchor, s.audiences, s.body) for s in source.sections}
    if len(terms) != len(source.sections):
        raise ContentError("glossary repeats a term")
    return terms


def _link(match: re.Match[str]) -> Link:
    return Link(match["kind"], match["target"].strip(), match["label"])


def find_links(markdown: str) -> list[Link]:
    """Every ``[[kind:target|label]]`` in Markdown outside code, in order of appearance."""
    return [
        _link(match)
        for line, live in _outside_fences(markdown.splitlines())
        if live
        for match in _CODE_OR_LINK.finditer(line)
        if not match["code"]
    ]


def links(chapter: Chapter) -> list[Link]:
    """Every cross-link in a chapter, in order of appearance."""
    return find_links(chapter.markdown)


def canonical(link: Link) -> str | None:
    """The reference key a link points at (GSBPM code, official GSIM name, glossary term), or None if unknown."""
    if link.kind == "gsbpm":
        model = reference.gsbpm()
        return link.target if link.target in model.subprocesses or link.target in model.phases else None
    if link.kind == "gsim":
        return reference.gsim().lookup(link.target)
    if link.kind == "term":
        key = normalise_term(link.target)
        return key if key in glossary() else None
    return None


def unresolved(chapter: Chapter) -> list[Link]:
    """The chapter's links whose target is not in GSBPM, GSIM or the glossary."""
    return [link for link in links(chapter) if canonical(link) is None]


def _first_sentence(markdown: str) -> str:
    plain = _LINK.sub(lambda m: m["label"] or m["target"], " ".join(markdown.split()))
    return re.split(r"(?<=[.:])\s", plain, maxsplit=1)[0]


def reference_resolver(href: Callable[[str, str], str]) -> LinkResolver:
    """A resolver checking targets against GSBPM, GSIM and the glossary; ``href(kind, key)`` builds the URL.

    ``key`` is the GSBPM code, the official GSIM name or the glossary anchor; URL quoting is href's job.
    """

    def resolve(link: Link) -> Resolved | None:
        key = canonical(link)
        if key is None:
            return None
        if link.kind == "gsbpm":
            model = reference.gsbpm()
            entry = model.subprocesses.get(key) or model.phases[key]
            prefix = "" if key in model.subprocesses else "Phase "
            return Resolved(href(link.kind, key), link.label or f"{prefix}{key} {entry['name']}", "GSBPM 5.1")
        if link.kind == "gsim":
            description = str(reference.gsim().objects[key].get("description", ""))
            return Resolved(href(link.kind, key), link.label or key, description)
        term = glossary()[key]
        return Resolved(href(link.kind, term.anchor), link.label or link.target, _first_sentence(term.definition))

    return resolve


_ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "figcaption",
    "figure", "h2", "h3", "h4", "h5", "h6", "hr", "img", "kbd", "li", "ol", "p", "pre", "s", "section", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "aria-label"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "section": {"id", "hidden"},
    "span": {"title"},
    "td": {"style"},
    "th": {"style"},
    "ol": {"start"},
    **{f"h{n}": {"id"} for n in range(2, 7)},
}
_ALLOWED_CLASSES = {
    "section": {f"audience-{a}" for a in AUDIENCES},
    "a": {"ref", "heading-anchor", *(f"ref-{k}" for k in LINK_KINDS)},
    "span": {"link-unresolved"},
    "div": {"chapter-intro"},
}


def sanitise(fragment: str) -> str:
    """Strip everything but our tag, attribute and class allow-lists from an HTML fragment."""
    return nh3.clean(
        fragment,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        allowed_classes=_ALLOWED_CLASSES,
        filter_style_properties={"text-align"},
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
    )


@cache
def _markdown() -> MarkdownIt:
    # Raw HTML is let through here on purpose: authors may use <abbr> or <details>, and sanitise() is the gate.
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _link_html(link: Link, target: Resolved | None) -> str:
    if target is None:
        text = html.escape(link.label or link.target)
        return f'<span class="link-unresolved" title="unknown {link.kind} target">{text}</span>'
    title = f' title="{html.escape(target.title)}"' if target.title else ""
    href = html.escape(target.href)
    return f'<a class="ref ref-{link.kind}" href="{href}"{title}>{html.escape(target.text)}</a>'


def _directive_marker(name: str) -> str:
    return f'<div class="directive" data-directive="{html.escape(name)}"></div>'


def render_markdown(
    text: str,
    link_resolver: LinkResolver,
    directives: Directives | None = None,
    *,
    default_audiences: tuple[str, ...] = AUDIENCES,
    strict: bool = True,
    audience: str | None = None,
) -> str:
    """Markdown to sanitised HTML, each ``##`` section in ``<section id class="audience-...">``.

    Each section heading ends in a permanent link to its anchor. With ``audience``, sections not
    written for it are rendered ``hidden`` (not dropped), so a reader's script can switch in place.

    Links go through ``link_resolver``; an unknown target raises UnresolvedLinks (``strict``) or is
    logged and shown as a visibly broken span. A ``::: name`` line becomes ``directives[name]()``,
    inserted after sanitising because it is our own trusted HTML; without a callable it stays as a
    ``<div class="directive" data-directive="name">`` marker for the caller to replace.
    """
    text = text.replace(_OPEN, "").replace(_CLOSE, "")
    found: list[Link] = []
    names: list[str] = []

    def link_placeholder(match: re.Match[str]) -> str:
        if match["code"]:
            return match.group(0)
        found.append(_link(match))
        return f"{_OPEN}L{len(found) - 1}{_CLOSE}"

    lines = []
    for line, live in _outside_fences(text.splitlines()):
        directive = _DIRECTIVE.match(line) if live else None
        if directive:
            names.append(directive["name"])
            line = f"\n{_OPEN}D{len(names) - 1}{_CLOSE}\n"
        elif live:
            line = _CODE_OR_LINK.sub(link_placeholder, line)
        lines.append(line)

    intro, sections = split_sections("\n".join(lines), default_audiences)
    md = _markdown()
    parts = [f'<div class="chapter-intro">{md.render(intro)}</div>'] if intro.strip() else []
    for section in sections:
        classes = " ".join(f"audience-{a}" for a in section.audiences)
        hidden = " hidden" if audience is not None and audience not in section.audiences else ""
        parts.append(
            f'<section id="{section.anchor}" class="{classes}"{hidden}>'
            f"<h2>{md.renderInline(section.title)} "
            f'<a class="heading-anchor" href="#{section.anchor}" aria-label="Permanent link to this section">#</a></h2>'
            f"{md.render(section.body)}</section>"
        )

    targets = [link_resolver(link) for link in found]
    missing = [link for link, target in zip(found, targets, strict=True) if target is None]
    if missing and strict:
        raise UnresolvedLinks(missing)
    for link in missing:
        log.warning("unresolved link %s", link.source)

    def fill_link(match: re.Match[str]) -> str:
        if match["kind"] == "D":  # a directive that did not stand alone as a paragraph
            return match.group(0)
        index = int(match["index"])
        return _link_html(found[index], targets[index])

    cleaned = sanitise(_PLACEHOLDER.sub(fill_link, "".join(parts)))

    def fill_directive(match: re.Match[str]) -> str:
        name = names[int(match["index"])]
        produce = (directives or {}).get(name)
        return produce() if produce else _directive_marker(name)

    cleaned = _DIRECTIVE_PARAGRAPH.sub(fill_directive, cleaned)
    return _PLACEHOLDER.sub(lambda m: _directive_marker(names[int(m["index"])]), cleaned)


def render_chapter(
    chapter: Chapter, link_resolver: LinkResolver, directives: Directives | None = None, audience: str | None = None
) -> str:
    """A whole chapter body as sanitised HTML (see render_markdown)."""
    return render_markdown(
        chapter.markdown, link_resolver, directives, default_audiences=chapter.audiences, audience=audience
    )
