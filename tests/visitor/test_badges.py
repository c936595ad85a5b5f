"""SVG status badges for the page and each component."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest
from django.test import Client
from django.urls import reverse

from incidents import services
from incidents.models import Component, StatusSource
from tests.conftest import make_component, make_group, make_incident, make_page
from visitor.badges import badge_svg, text_width

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def set_status(component: Component, status: str) -> None:
    services.component_set_status(
        component=component, status=status, source=StatusSource.STAFF
    )


def get_badge(client: Client, path: str) -> ElementTree.Element:
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    return ElementTree.fromstring(response.content)


def texts(svg: ElementTree.Element) -> list[str]:
    """The visible texts: each is drawn twice, once as its shadow (aria-hidden)."""
    return [
        text.text or ""
        for text in svg.iter(f"{SVG}text")
        if text.get("aria-hidden") != "true"
    ]


def fills(svg: ElementTree.Element) -> list[str]:
    return [rect.get("fill", "") for rect in svg.iter(f"{SVG}rect")]


def contrast_with_white(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return 1.05 / (luminance + 0.05)


@pytest.mark.parametrize(
    ("status", "description", "colour"),
    [
        ("operational", "All Systems Operational", "#137333"),
        ("degraded_performance", "Partially Degraded Service", "#786100"),
        ("partial_outage", "Partial System Outage", "#c2410c"),
        ("major_outage", "Major Service Outage", "#9b1c1c"),
        ("under_maintenance", "Service Under Maintenance", "#1d4ed8"),
    ],
)
def test_it_shows_the_page_indicator_in_its_colour(
    client: Client, status: str, description: str, colour: str
) -> None:
    make_page(name="Acme")
    set_status(make_component(name="API"), status)

    svg = get_badge(client, reverse("public:badge"))

    assert texts(svg) == ["Acme", description]
    assert colour in fills(svg)
    assert contrast_with_white(colour) >= 4.5
    assert svg.get("role") == "img"
    assert svg.get("aria-label") == f"Acme: {description}"
    assert svg.findtext(f"{SVG}title") == f"Acme: {description}"


def test_it_counts_an_open_incident_in_the_page_badge(client: Client) -> None:
    make_page(name="Acme")
    make_component(name="API")
    make_incident(name="Slow logins", impact_override="critical")

    svg = get_badge(client, reverse("public:badge"))

    assert texts(svg) == ["Acme", "Major Service Outage"]
    assert "#9b1c1c" in fills(svg)


def test_it_labels_a_badge_status_when_the_name_is_blank() -> None:
    svg = ElementTree.fromstring(
        badge_svg(label="  ", message="All Systems Operational", colour="#137333")
    )

    assert texts(svg) == ["status", "All Systems Operational"]


@pytest.mark.parametrize(
    ("status", "label", "colour"),
    [
        ("operational", "Operational", "#137333"),
        ("degraded_performance", "Degraded performance", "#786100"),
        ("partial_outage", "Partial outage", "#c2410c"),
        ("major_outage", "Major outage", "#9b1c1c"),
        ("under_maintenance", "Under maintenance", "#1d4ed8"),
    ],
)
def test_it_shows_a_component_status_in_its_colour(
    client: Client, status: str, label: str, colour: str
) -> None:
    api = make_component(name="Public API")
    set_status(api, status)

    svg = get_badge(client, reverse("public:component-badge", args=[api.public_id]))

    assert texts(svg) == ["Public API", label]
    assert colour in fills(svg)
    assert svg.get("aria-label") == f"Public API: {label}"


def test_it_shows_a_group_with_its_derived_status(client: Client) -> None:
    group = make_group(name="Acme product")
    set_status(make_component(name="Login", group=group), "major_outage")
    group.refresh_from_db()

    svg = get_badge(client, reverse("public:component-badge", args=[group.public_id]))

    assert texts(svg) == ["Acme product", "Major outage"]


def test_it_escapes_a_nasty_component_name(client: Client) -> None:
    name = '<script>alert(1)</script> & "Tom\'s" ]]> <!-- API'
    api = make_component(name=name)

    response = client.get(reverse("public:component-badge", args=[api.public_id]))

    assert b"<script>" not in response.content
    assert b"<!--" not in response.content
    svg = ElementTree.fromstring(response.content)
    assert texts(svg) == [name, "Operational"]
    assert svg.get("aria-label") == f"{name}: Operational"
    assert svg.findtext(f"{SVG}title") == f"{name}: Operational"


def test_it_drops_characters_xml_forbids(client: Client) -> None:
    api = make_component(name="API v2")
    # Stored before names had to be one line (the services refuse it now).
    Component.objects.filter(pk=api.pk).update(name="API\x1b\x08 v2\n  (beta)")

    svg = get_badge(client, reverse("public:component-badge", args=[api.public_id]))

    assert texts(svg)[0] == "API v2 (beta)"


def test_it_answers_404_for_an_unknown_component(client: Client) -> None:
    response = client.get(reverse("public:component-badge", args=["nosuchid0000"]))

    assert response.status_code == 404


def test_it_answers_404_for_a_deleted_component(client: Client) -> None:
    api = make_component(name="Legacy API")
    path = reverse("public:component-badge", args=[api.public_id])
    assert client.get(path).status_code == 200

    services.component_delete(component=api)

    assert client.get(path).status_code == 404


def test_it_sends_short_public_caching(client: Client) -> None:
    response = client.get(reverse("public:badge"))

    assert "public" in response["Cache-Control"]
    assert "max-age=5" in response["Cache-Control"]


def test_it_makes_room_for_long_names() -> None:
    short = ElementTree.fromstring(
        badge_svg(label="API", message="Operational", colour="#137333")
    )
    long_name = "Customer-facing payments and invoicing API (EU region)"
    long = ElementTree.fromstring(
        badge_svg(label=long_name, message="Operational", colour="#137333")
    )

    label_rect = next(long.iter(f"{SVG}rect"))
    assert float(label_rect.get("width", 0)) >= text_width(long_name) + 10
    assert float(long.get("width", 0)) > float(short.get("width", 0)) + 250


def test_it_estimates_wide_characters_wider() -> None:
    assert text_width("状态页") > text_width("abc")
    assert text_width("é") >= text_width("e")
    assert text_width("e\u0301") == text_width("e")
