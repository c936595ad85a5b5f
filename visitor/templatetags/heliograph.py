"""Template tags of the public page: safe Markdown, labelled times, the policy, the
status page an error page is for, and that page's brand."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as etree

import markdown as markdown_lib
import nh3
from django import template
from django.db import DatabaseError, InterfaceError
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from incidents.models import Page
from kit.policy import meta_policy
from visitor.models import Brand

register = template.Library()


@register.simple_tag
def csp_meta() -> SafeString:
    """The Content-Security-Policy in the page itself: a static host serving the
    export (``publish --to``) may send no header (frame-ancestors needs one)."""
    return format_html(
        '<meta http-equiv="Content-Security-Policy" content="{}">', meta_policy()
    )


@register.simple_tag(takes_context=True)
def status_page(context: template.Context) -> Page | None:
    """The status page of the request (``request.page`` where one was chosen), for
    a page rendered without a view (the 404); None while the database is out, so
    that page still answers, without the name."""
    request = context.get("request")
    try:
        return getattr(request, "page", None) or Page.get()
    except (DatabaseError, InterfaceError):
        return None


@register.filter
def brand(page: object) -> Brand | None:
    """The page's brand without its files' bytes (None for a page without one, or
    while the database is out), read once per page object."""
    if not isinstance(page, Page) or page.pk is None:
        return None
    if not hasattr(page, "_brand_shown"):
        try:
            shown = Brand.objects.defer("logo", "favicon").filter(page=page).first()
        except (DatabaseError, InterfaceError):
            shown = None
        page._brand_shown = shown  # type: ignore[attr-defined]
    return page._brand_shown  # type: ignore[attr-defined]


# Text formatting only. No <img>: a picture from another host would tell that host who
# reads the status page, and staff who need one can link to it.
ALLOWED_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}
URL_SCHEMES = {"http", "https", "mailto"}
# The update or postmortem sits under the page's own h1 and h2 headings.
HEADING_OFFSET = 2
TIME_FORMAT = "M j, Y, H:i T"


class _ShiftHeadings(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if re.fullmatch("h[1-6]", element.tag):
                level = min(int(element.tag[1]) + HEADING_OFFSET, 6)
                element.tag = f"h{level}"


class _ShiftHeadingsExtension(Extension):
    def extendMarkdown(self, md: markdown_lib.Markdown) -> None:  # Markdown's API name
        md.treeprocessors.register(_ShiftHeadings(md), "shift_headings", 5)


@register.filter(is_safe=True)
def markdown(text: str | None) -> SafeString:
    """Markdown to HTML that staff may write freely and visitors may read safely.

    Markdown passes raw HTML through, so nh3 then keeps only formatting tags, drops
    event-handler attributes and any link that is not http(s) or mailto.
    """
    if not text:
        return mark_safe("")
    html = markdown_lib.markdown(
        text, extensions=["sane_lists", "tables", _ShiftHeadingsExtension()]
    )
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        link_rel="nofollow noopener",
        url_schemes=URL_SCHEMES,
    )
    return mark_safe(clean)  # sanitised by nh3 just above


@register.filter
def when(value: dt.datetime | None) -> str:
    """A ``<time>`` in the active time zone, labelled with the zone's abbreviation."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}</time>',
        local.isoformat(timespec="seconds"),
        dateformat.format(local, TIME_FORMAT),
    )
