"""A shields-style compliance badge per service: "CSPA" | "<status> · <score>%", to embed in a README."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from catalogue.exports.catalogue import ExportedService

MEDIA_TYPE = "image/svg+xml"
LABEL = "CSPA"

# The colours shields.io uses, so the badge sits well beside others in a README.
GREEN, YELLOW_GREEN, YELLOW, ORANGE, RED, GREY = "#4c1", "#a4a61d", "#dfb317", "#fe7d37", "#e05d44", "#9f9f9f"
LABEL_COLOUR = "#555"

# Widths of Verdana 11px glyphs (what shields measures with), in pixels; others count as the widest.
_NARROW = {c: 3.9 for c in "iIl.,:;'|!·"}
_WIDTHS = {
    **{c: 7.0 for c in "abcdeghknopqsuvxyz0123456789"},
    **{c: 4.5 for c in "fjrt "},
    **_NARROW,
    **{c: 8.0 for c in "ABCDEFGHJKLNOPQRSTUVXYZ%"},
    "m": 10.7,
    "w": 9.0,
    "M": 9.3,
    "W": 11.0,
}


def colour(status: str, score: int) -> str:
    """Green for approved and fully compliant, through yellow to red as the score falls; grey once deprecated."""
    if status != "approved":
        return GREY
    if score >= 90:
        return GREEN
    if score >= 75:
        return YELLOW_GREEN
    if score >= 60:
        return YELLOW
    if score >= 40:
        return ORANGE
    return RED


def _width(text: str) -> int:
    return round(sum(_WIDTHS.get(c, 11.0) for c in text)) + 10


def badge_text(record: ExportedService) -> str:
    """The right-hand segment's words."""
    return f"{record.status} · {record.compliance_score}%"


def badge_svg(record: ExportedService) -> str:
    """The badge of one service's public version, as SVG text (every text escaped)."""
    message = badge_text(record)
    left, right = _width(LABEL), _width(message)
    total = left + right
    fill = colour(record.status, record.compliance_score)
    title = f"{LABEL}: {message}"
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label={quoteattr(title)}>
  <title>{escape(title)}</title>
  <linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>
  <clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>
  <g clip-path="url(#r)">
    <rect width="{left}" height="20" fill="{LABEL_COLOUR}"/>
    <rect x="{left}" width="{right}" height="20" fill="{fill}"/>
    <rect width="{total}" height="20" fill="url(#s)"/>
  </g>
  <g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">
    <text x="{left / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{escape(LABEL)}</text>
    <text x="{left / 2:.1f}" y="14">{escape(LABEL)}</text>
    <text x="{left + right / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{escape(message)}</text>
    <text x="{left + right / 2:.1f}" y="14">{escape(message)}</text>
  </g>
</svg>
"""
