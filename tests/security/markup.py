"""Reads a page as a browser does and lists what would run or style it from outside static/ files.

Escaped text (&lt;script&gt;, or a quoted href="javascript:" inside a paragraph) is text to a
browser, and to this reader too, so it is never mistaken for markup.
"""

from __future__ import annotations

from html.parser import HTMLParser

URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "poster", "srcset")
LIVE_SCHEMES = ("javascript:", "vbscript:", "data:text")


class _Reader(HTMLParser):
    def __init__(self, tags: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.tags = tags
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.found.append(f"an inline or foreign <script {attrs}>")
        if tag == "style":
            self.found.append("a <style> element")
        if tag in self.tags:
            self.found.append(f"a <{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            elif name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            elif name in URL_ATTRIBUTES and (value or "").strip().lower().startswith(LIVE_SCHEMES):
                self.found.append(f"<{tag} {name}={value!r}>")


def live_markup(page: str, tags: tuple[str, ...] = ("iframe", "object", "embed", "base")) -> list[str]:
    """What in page a Content-Security-Policy without 'unsafe-inline' would block, or that runs script."""
    reader = _Reader(tags)
    reader.feed(page)
    reader.close()
    return reader.found
