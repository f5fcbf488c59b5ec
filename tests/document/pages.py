"""Reading the document's pages in tests: ids, links, hidden sections (stdlib HTML parser, no guessing by regex)."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import ClassVar


@dataclass
class Element:
    """An element as parsed: tag, attributes, and the text inside it."""

    tag: str
    attrs: dict[str, str]
    within: tuple[str, ...] = ()  # ids of the elements enclosing this one
    text: str = ""

    @property
    def classes(self) -> set[str]:
        """The element's classes."""
        return set(self.attrs.get("class", "").split())


class Page(HTMLParser):
    """Every element of a page, in order, with its text (nested text counts for each enclosing element)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    _VOID: ClassVar[set[str]] = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        within = tuple(e.attrs["id"] for e in self._open if "id" in e.attrs)
        element = Element(tag, {name: value or "" for name, value in attrs}, within)
        self.elements.append(element)
        if tag not in self._VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                return

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def ids(self) -> set[str]:
        """Every id on the page."""
        return {e.attrs["id"] for e in self.elements if "id" in e.attrs}

    def by_id(self, ident: str) -> Element:
        """The element with this id (AssertionError if absent)."""
        found = [e for e in self.elements if e.attrs.get("id") == ident]
        assert len(found) == 1, f"{len(found)} elements with id {ident!r}"
        return found[0]

    def find(self, tag: str, cls: str | None = None) -> list[Element]:
        """Elements with this tag (and class, if given)."""
        return [e for e in self.elements if e.tag == tag and (cls is None or cls in e.classes)]


def parse(html: bytes | str) -> Page:
    """A parsed page."""
    page = Page()
    page.feed(html.decode("utf-8") if isinstance(html, bytes) else html)
    page.close()
    return page
