"""Atom and RSS feeds of the page's history: incidents and maintenance, each with its
updates, for people who follow the page in a feed reader.

The two feeds differ only in format. Every entry is built from the same three
queries (the incidents, their updates, their components), whatever their number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib.syndication.views import Feed
from django.db.models import Prefetch
from django.http import HttpRequest
from django.urls import get_script_prefix, reverse
from django.utils import dateformat
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from incidents.models import Component, Incident, IncidentUpdate, Page
from incidents.selectors import visible_updates
from visitor.pages import page_of
from visitor.templatetags.heliograph import TIME_FORMAT, markdown

FEED_LENGTH = 50


@dataclass(frozen=True)
class History:
    """The page and the address its links start with: its public URL when set, else
    the address the feed was requested at."""

    page: Page
    base_url: str

    def url(self, path: str) -> str:
        """An absolute URL for ``path`` (as ``reverse`` gives it) on this page."""
        return f"{self.base_url}/{path.removeprefix(get_script_prefix())}"

    def local(self, moment: dt.datetime) -> str:
        return dateformat.format(moment.astimezone(self.page.tzinfo), TIME_FORMAT)


@dataclass(frozen=True)
class Entry:
    incident: Incident
    history: History


def _incidents(page: Page) -> list[Incident]:
    """The newest incidents ``page`` shows, with the updates and components it
    shows."""
    updates = Prefetch(
        "updates",
        queryset=IncidentUpdate.objects.filter(visible_updates(page)).order_by(
            "-display_at", "-id"
        ),
    )
    components = Prefetch(
        "components",
        queryset=Component.objects.live().filter(pages=page).select_related("group"),
    )
    shown = Incident.objects.filter(pages=page)
    newest = shown.order_by("-created_at", "-id")[:FEED_LENGTH]
    return list(newest.prefetch_related(updates, components))


def _updates(entry: Entry) -> SafeString:
    return format_html_join(
        "",
        "<p><strong>{}</strong> · <small>{}</small></p>{}",
        (
            (
                update.get_status_display(),
                entry.history.local(update.display_at),
                markdown(update.body),
            )
            for update in entry.incident.updates.all()
        ),
    )


def _facts(entry: Entry) -> SafeString:
    incident, history = entry.incident, entry.history
    facts: list[tuple[str, str]] = []
    if incident.is_maintenance and incident.scheduled_for and incident.scheduled_until:
        window = (incident.scheduled_for, incident.scheduled_until)
        facts.append(("Scheduled", " to ".join(history.local(when) for when in window)))
    components = sorted(incident.components.all(), key=lambda c: (c.position, c.pk))
    if components:
        facts.append(("Affected", ", ".join(c.display_name for c in components)))
    return format_html_join("", "<p>{}: {}</p>", facts)


def _postmortem(entry: Entry) -> SafeString:
    incident = entry.incident
    if incident.postmortem_published_at is None:
        return SafeString("")
    return format_html(
        "<h3>Postmortem</h3>{}<p><small>Published {}</small></p>",
        markdown(incident.postmortem_body),
        entry.history.local(incident.postmortem_published_at),
    )


class HistoryFeed(Feed):
    """The history as Atom (this class) or RSS (``HistoryRssFeed``)."""

    feed_type: type[Any] = Atom1Feed
    url_name = "public:feed-atom"

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> History:
        page = page_of(request)
        base_url = page.url or request.build_absolute_uri(get_script_prefix())
        return History(page=page, base_url=base_url.rstrip("/"))

    def title(self, history: History) -> str:
        return f"{history.page.name} status"

    def description(self, history: History) -> str:
        return (
            history.page.description
            or f"Incidents and scheduled maintenance of {history.page.name}"
        )

    subtitle = description

    def link(self, history: History) -> str:
        return history.url(reverse("public:index"))

    # Atom requires an author for the feed when its entries name none.
    def author_name(self, history: History) -> str:
        return history.page.name

    author_link = link

    def feed_url(self, history: History) -> str:
        return history.url(reverse(self.url_name))

    def items(self, history: History) -> list[Entry]:
        return [Entry(incident, history) for incident in _incidents(history.page)]

    def item_title(self, entry: Entry) -> str:
        return entry.incident.name

    def item_link(self, entry: Entry) -> str:
        path = reverse("public:incident", args=[entry.incident.public_id])
        return entry.history.url(path)

    def item_guid(self, entry: Entry) -> str:
        """A tag URI (RFC 4151) on the page's host and the incident's own id: it
        stays the same whatever becomes of the incident's URL, as Statuspage's."""
        incident = entry.incident
        host = urlsplit(entry.history.base_url).hostname or "localhost"
        return (
            f"tag:{host},{incident.created_at:%Y-%m-%d}:incident/{incident.public_id}"
        )

    def item_guid_is_permalink(self, entry: Entry) -> bool:
        return False

    def item_pubdate(self, entry: Entry) -> dt.datetime:
        return entry.incident.created_at

    def item_updateddate(self, entry: Entry) -> dt.datetime:
        incident = entry.incident
        return max(
            [incident.updated_at, *(u.updated_at for u in incident.updates.all())]
        )

    def item_categories(self, entry: Entry) -> list[str]:
        return [entry.incident.get_kind_display()]

    def item_description(self, entry: Entry) -> SafeString:
        """What happened, newest update first, as on the incident's page."""
        return format_html("{}{}{}", _facts(entry), _postmortem(entry), _updates(entry))


class HistoryRssFeed(HistoryFeed):
    feed_type = Rss201rev2Feed
    url_name = "public:feed-rss"
