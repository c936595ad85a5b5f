"""SVG status badges, shields.io's "flat" look, for READMEs, wikis and dashboards.

A badge is one self-contained SVG (no fonts or images to fetch) whose bytes depend only
on the database, so the snapshot can publish it like any other public page. Text is
white on colours that keep a contrast of at least 4.5:1 with it, the same palette as
the public page, and every badge carries its accessible text in ``aria-label`` and
``<title>``.
"""

from __future__ import annotations

import hashlib
import html
import math
import re
import unicodedata

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from incidents.models import ComponentStatus
from incidents.selectors import PublicState, page_components
from visitor.pages import page_of

# Seconds a browser or proxy may keep a badge: a few, as the public page and API.
MAX_AGE_SECONDS = 5

LABEL_COLOUR = "#555555"
UNKNOWN_COLOUR = "#52606d"
INDICATOR_COLOURS = {
    "none": "#137333",
    "minor": "#786100",
    "major": "#c2410c",
    "critical": "#9b1c1c",
    "maintenance": "#1d4ed8",
}
STATUS_COLOURS: dict[str, str] = {
    ComponentStatus.OPERATIONAL: "#137333",
    ComponentStatus.DEGRADED_PERFORMANCE: "#786100",
    ComponentStatus.PARTIAL_OUTAGE: "#c2410c",
    ComponentStatus.MAJOR_OUTAGE: "#9b1c1c",
    ComponentStatus.UNDER_MAINTENANCE: "#1d4ed8",
}

# Advance widths in pixels of DejaVu Sans at 11px (a Verdana look-alike found on most
# systems) for " " to "~", measured in Chromium. Each text also gets ``textLength``,
# so a viewer with another font still sees it fill exactly the estimated width.
_ASCII_WIDTHS = (
    *(3.5, 4.4, 5.1, 9.2, 7.0, 10.5, 8.6, 3.0, 4.3, 4.3, 5.5, 9.2, 3.5, 4.0, 3.5, 3.7),
    *(7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 3.7, 3.7, 9.2, 9.2, 9.2, 5.8),
    *(11.0, 7.5, 7.5, 7.7, 8.5, 7.0, 6.3, 8.5, 8.3, 3.2, 3.2, 7.2, 6.1, 9.5, 8.2, 8.7),
    *(6.6, 8.7, 7.6, 7.0, 6.7, 8.1, 7.5, 10.9, 7.5, 6.7, 7.5, 4.3, 3.7, 4.3, 9.2, 5.5),
    *(5.5, 6.7, 7.0, 6.0, 7.0, 6.8, 3.9, 7.0, 7.0, 3.1, 3.1, 6.4, 3.1, 10.7, 7.0, 6.7),
    *(7.0, 7.0, 4.5, 5.7, 4.3, 7.0, 6.5, 9.0, 6.5, 6.5, 5.8, 7.0, 3.7, 7.0, 9.2),
)
# Other letters are counted as wide ones, so long names in any script still fit.
_OTHER_WIDTH = 8.0
_WIDE_WIDTH = 11.0
_PADDING = 5
# Characters XML 1.0 forbids (most control characters), and runs of whitespace.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")


def text_width(text: str) -> float:
    """The estimated width in pixels of ``text`` at the badge's 11px."""
    width = 0.0
    for char in text:
        # An accented Latin letter is as wide as its base letter.
        code = ord(unicodedata.normalize("NFKD", char)[:1] or " ")
        if 32 <= code < 127:
            width += _ASCII_WIDTHS[code - 32]
        elif unicodedata.combining(char):
            continue
        elif unicodedata.east_asian_width(char) in ("W", "F"):
            width += _WIDE_WIDTH
        else:
            width += _OTHER_WIDTH
    return width


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _NOT_XML.sub("", text)).strip()


def _text(text: str, centre: float, width: float) -> str:
    """A label or message with its shadow, in the tenth-of-a-pixel units of shields."""
    escaped = html.escape(text)
    x, length = round(centre * 10), round(width * 10)
    return (
        f'<text aria-hidden="true" x="{x}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{length}">{escaped}</text>'
        f'<text x="{x}" y="140" transform="scale(.1)" fill="#fff" '
        f'textLength="{length}">{escaped}</text>'
    )


def badge_svg(*, label: str, message: str, colour: str) -> str:
    """A flat badge: ``label`` on grey, ``message`` on ``colour``."""
    label, message = _clean(label) or "status", _clean(message)
    label_text, message_text = text_width(label), text_width(message)
    label_width = math.ceil(label_text) + 2 * _PADDING
    message_width = math.ceil(message_text) + 2 * _PADDING
    width = label_width + message_width
    name = html.escape(f"{label}: {message}")
    # Unique to the content: badges inlined in one HTML document must not share a clip.
    digest = hashlib.sha256(f"{label}\0{message}\0{colour}".encode()).hexdigest()
    clip = f"heliograph-badge-{digest[:10]}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" '
        f'viewBox="0 0 {width} 20" role="img" aria-label="{name}">'
        f"<title>{name}</title>"
        f'<clipPath id="{clip}"><rect width="{width}" height="20" rx="3" '
        'fill="#fff"/></clipPath>'
        f'<g clip-path="url(#{clip})">'
        f'<rect width="{label_width}" height="20" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{label_width}" width="{message_width}" height="20" '
        f'fill="{colour}"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">'
        f"{_text(label, label_width / 2, label_text)}"
        f"{_text(message, label_width + message_width / 2, message_text)}"
        "</g></svg>"
    )


def _svg_response(svg: str) -> HttpResponse:
    response = HttpResponse(svg.encode(), content_type="image/svg+xml; charset=utf-8")
    patch_cache_control(response, public=True, max_age=MAX_AGE_SECONDS)
    # Lets pages that isolate themselves (Cross-Origin-Embedder-Policy) show it.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_safe
def page_badge(request: HttpRequest) -> HttpResponse:
    state = PublicState.load(page_of(request))
    status = state.status
    return _svg_response(
        badge_svg(
            label=state.page.name,
            message=status.description,
            colour=INDICATOR_COLOURS.get(status.indicator, UNKNOWN_COLOUR),
        )
    )


@require_safe
def component_badge(request: HttpRequest, public_id: str) -> HttpResponse:
    # As the page shows it: a group's status is that of the children it shows.
    shown = {c.public_id: c for c in page_components(page_of(request))}
    component = shown.get(public_id)
    if component is None:
        raise Http404("No such component on this page.")
    return _svg_response(
        badge_svg(
            label=component.name,
            message=component.get_status_display(),
            colour=STATUS_COLOURS.get(component.status, UNKNOWN_COLOUR),
        )
    )
