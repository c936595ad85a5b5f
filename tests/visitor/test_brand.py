"""A page's brand: what staff may upload, what the page serves, and that it keeps
serving it from the snapshot through a database outage."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from incidents import events
from incidents.models import Page
from tests.conftest import make_page
from visitor import brand as rules
from visitor.models import Brand
from visitor.services import brand_update
from visitor.snapshot import publish

pytestmark = pytest.mark.django_db

LOGO = (
    b'<?xml version="1.0"?><!-- made by hand -->'
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<defs><linearGradient id="g"><stop offset="0" stop-color="#1e3a5f"/>'
    b'</linearGradient></defs><rect width="10" height="10" fill="url(#g)"/></svg>'
)
NAVY = "#1e3a5f"
TEAL = "#0f766e"


def png(*, text: bytes = b"", width: int = 2, height: int = 2) -> bytes:
    """A real PNG of grey pixels, with a tEXt chunk when ``text`` is given."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    extra = chunk(b"tEXt", b"Comment\x00" + text) if text else b""
    return (
        rules.PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + extra
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "logo.svg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


@pytest.fixture
def europe() -> Page:
    make_page(name="Acme")
    return Page.objects.create(name="Acme Europe", slug="europe", time_zone="UTC")


def post_brand(client: Client, page: Page, **data: Any) -> Any:
    form = {"page": page.pk, "header_links": "", **data}
    return client.post(reverse("admin:visitor_brand_add"), form)


# Refusals -----------------------------------------------------------------------------

BAD_PNG = png()[:-20] + b"\x00" * 8 + png()[-12:]  # an IDAT whose checksum is wrong
REFUSALS = [
    pytest.param(
        "logo",
        upload(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
        ),
        "<script>",
        id="script-in-svg",
    ),
    pytest.param(
        "logo",
        upload(
            b'<svg xmlns="http://www.w3.org/2000/svg" '
            b'xmlns:xlink="http://www.w3.org/1999/xlink">'
            b'<image xlink:href="https://tracker.example/pixel.png"/></svg>'
        ),
        "tracker.example",
        id="external-href",
    ),
    pytest.param(
        "favicon",
        upload(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        "event handler",
        id="event-handler",
    ),
    pytest.param(
        "logo",
        upload(
            b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject>'
            b"<p>hi</p></foreignObject></svg>"
        ),
        "foreignobject",
        id="foreign-object",
    ),
    pytest.param(
        "logo",
        upload(LOGO[:-6] + b"<!--" + b"x" * rules.MAX_IMAGE_BYTES + b"--></svg>"),
        "at most 256 KB",
        id="oversized",
    ),
    pytest.param("logo", upload(BAD_PNG, "logo.png"), "not a valid PNG", id="bad-png"),
    pytest.param("colour", "#8a9bb0", "contrast of", id="low-contrast-colour"),
    pytest.param("colour", "#1d4fd0", "looks like the colour", id="status-colour"),
    pytest.param(
        "custom_css",
        ".site-header { background: url(https://evil.example/x.png) }",
        "url(https://evil.example/x.png) is refused",
        id="css-url-other-origin",
    ),
    pytest.param("custom_css", '@import "https://evil.example/a.css";', "@import"),
    pytest.param(
        "header_links", "Support | http://help.example.com", "https://", id="http-link"
    ),
]


@pytest.mark.parametrize("field,value,message", REFUSALS)
def test_it_refuses_in_the_console_naming_the_field_and_writes_nothing(
    admin_client: Client, field: str, value: Any, message: str
) -> None:
    page = make_page()
    audited = AuditEntry.objects.count()

    response = post_brand(admin_client, page, **{field: value})

    assert response.status_code == 200  # the form again, with the refusal
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    assert not Brand.objects.exists()
    assert AuditEntry.objects.filter(object_type="visitor.brand").count() == 0
    assert AuditEntry.objects.count() == audited


def test_it_refuses_every_bad_field_at_once_and_keeps_the_brand(
    heard: list[events.Change],
) -> None:
    page = make_page()
    brand_update(page=page, colour=NAVY, logo=LOGO)
    heard.clear()

    with pytest.raises(ValidationError) as refusal:
        brand_update(page=page, colour="#eeeeee", custom_css="a { behavior: url(x) }")

    assert set(refusal.value.error_dict) == {"colour", "custom_css"}
    brand = Brand.objects.get(page=page)
    assert brand.colour == NAVY and bytes(brand.logo).startswith(b"<svg")
    assert heard == []


@pytest.mark.parametrize(
    "css",
    [
        "a { width: expression(alert(1)) }",
        "a { -moz-binding: url(#x) }",
        "a { behavior: url(x.htc) }",
        "a { background: url('/static/x.png') }",
        "a { background: image-set('https://evil.example/x.png' 1x) }",
        "a { color: red } </style><script>alert(1)</script>",
        "@font-face { src: url(https://fonts.example/x.woff) }",
        "a { background: url(javascript:alert(1)) }",
    ],
)
def test_it_refuses_css_that_loads_runs_or_breaks_out(css: str) -> None:
    with pytest.raises(ValidationError):
        rules.css_check(css)


def test_it_keeps_css_that_only_styles_written_again_from_its_parse() -> None:
    css = (
        "/* ours */ .site-name{letter-spacing:.02em}"
        "@media (max-width: 36rem) { .site-logo { max-height: 2rem } }"
        ".banner { background-image: url(data:image/png;base64,iVBORw0KGgo=) }"
    )

    kept = rules.css_check(css)

    assert "ours" not in kept
    assert ".site-name {letter-spacing: .02em;}" in kept
    assert "@media (max-width: 36rem) {" in kept
    assert "url(data:image/png;base64,iVBORw0KGgo=)" in kept


def test_it_refuses_more_than_five_header_links_or_an_oversized_stylesheet() -> None:
    links = [{"label": f"L{n}", "url": "https://example.com/"} for n in range(6)]
    with pytest.raises(ValidationError, match="At most 5"):
        rules.links_check(links)
    with pytest.raises(ValidationError, match="at most 20 KB"):
        rules.css_check("a{color:red}" * 2000)


def test_it_accepts_a_png_and_drops_its_text() -> None:
    stored, kind = rules.image_check(png(text=b"secret author"), what="logo")

    assert kind == "image/png"
    assert b"secret author" not in stored and b"tEXt" not in stored
    assert stored.startswith(rules.PNG_SIGNATURE) and stored.endswith(
        png()[-12:]
    )  # IEND


# Serving ------------------------------------------------------------------------------


def test_it_serves_the_sanitized_svg_with_its_own_policy(client: Client) -> None:
    page = make_page()
    brand_update(page=page, logo=LOGO)

    response = client.get("/brand/logo.svg")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "max-age=31536000" in response["Cache-Control"]
    assert (
        response.content.startswith(b"<svg") and b"made by hand" not in response.content
    )
    assert b'fill="url(#g)"' in response.content
    again = client.get("/brand/logo.svg", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert client.get("/brand/logo.png").status_code == 404


def test_it_serves_the_colour_and_css_as_a_stylesheet_after_public_css(
    client: Client,
) -> None:
    page = make_page()
    brand_update(
        page=page,
        colour=NAVY,
        custom_css=".site-name { letter-spacing: .02em }",
        header_links=[{"label": "Support", "url": "https://help.acme.test/"}],
        footer_text="Acme Inc. <b>not bold</b>",
    )

    css = client.get("/brand/custom.css")
    html = client.get("/").content.decode()

    assert css["Content-Type"] == "text/css; charset=utf-8"
    assert css["X-Content-Type-Options"] == "nosniff"
    assert f":root {{ --brand: {NAVY}; }}" in css.content.decode()
    assert ".site-name {letter-spacing: .02em;}" in css.content.decode()
    public = html.index("heliograph/public.css")
    own = html.index('href="/brand/custom.css?v=')
    assert public < own
    assert "style=" not in html
    assert '<a class="site-nav__own" href="https://help.acme.test/"' in html
    assert "Acme Inc. &lt;b&gt;not bold&lt;/b&gt;" in html


def test_it_serves_an_empty_stylesheet_for_a_page_without_a_brand(
    client: Client,
) -> None:
    make_page()

    response = client.get("/brand/custom.css")

    assert response.status_code == 200
    assert "--brand" not in response.content.decode()
    assert "/brand/custom.css" not in client.get("/").content.decode()


def test_it_shows_each_page_its_own_brand(client: Client, europe: Page) -> None:
    brand_update(page=Page.get(), logo=LOGO, favicon=LOGO, colour=NAVY)
    brand_update(page=europe, logo=png(), colour=TEAL, not_found_text="Try /p/eu/.")

    main = client.get("/").content.decode()
    other = client.get("/p/europe/").content.decode()

    assert 'src="/brand/logo.svg?v=' in main and 'alt="Acme"' in main
    assert 'rel="icon" href="/brand/favicon.svg?v=' in main
    assert 'src="/p/europe/brand/logo.png?v=' in other and 'alt="Acme Europe"' in other
    assert "heliograph/favicon.svg" in other  # no icon of its own
    assert NAVY in client.get("/brand/custom.css").content.decode()
    assert TEAL in client.get("/p/europe/brand/custom.css").content.decode()
    assert client.get("/p/europe/brand/logo.png").content == png()
    assert "Try /p/eu/." in client.get("/p/europe/nowhere/").content.decode()
    assert "Try /p/eu/." not in client.get("/nowhere/").content.decode()


# Publishing ---------------------------------------------------------------------------


def test_it_announces_the_change_as_a_page_update(heard: list[events.Change]) -> None:
    page = make_page()
    heard.clear()

    brand_update(page=page, colour=NAVY)

    assert [change.kind for change in heard] == [events.Kind.PAGE_UPDATED]
    assert not heard[0].notify


def test_it_records_the_files_digest_in_the_audit_log_not_their_bytes() -> None:
    page = make_page()

    brand = brand_update(page=page, logo=LOGO, colour=NAVY)

    entry = AuditEntry.objects.filter(object_type="visitor.brand").latest("pk")
    assert entry.changes["logo_digest"][1] == brand.logo_digest
    assert "logo" not in entry.changes and "favicon" not in entry.changes


def test_it_publishes_each_pages_brand_and_serves_it_with_the_database_out(
    europe: Page, request: pytest.FixtureRequest
) -> None:
    brand_update(page=Page.get(), logo=LOGO, favicon=png(), colour=NAVY)
    brand_update(page=europe, logo=png(), colour=TEAL)
    manifest = publish.snapshot_publish()
    assert manifest is not None
    published = {
        "/brand/logo.svg",
        "/brand/favicon.png",
        "/brand/custom.css",
        "/p/europe/brand/logo.png",
        "/p/europe/brand/custom.css",
    }
    assert published <= set(manifest.artifacts)
    assert "/p/europe/brand/favicon.png" not in manifest.artifacts
    assert manifest.artifacts["/brand/logo.svg"].file == "brand/logo.svg"

    request.getfixturevalue("database_out")
    client = Client()
    logo = client.get("/brand/logo.svg")
    css = client.get("/p/europe/brand/custom.css?v=123")
    index = client.get("/p/europe/")

    assert logo.status_code == 200 and logo.content.startswith(b"<svg")
    assert logo["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'"
    )
    assert logo["Content-Type"] == "image/svg+xml"
    assert TEAL in css.content.decode()
    assert b"/p/europe/brand/logo.png?v=" in index.content


def test_it_links_the_brand_from_the_page_settings(admin_client: Client) -> None:
    page = make_page()

    settings_page = admin_client.get(
        reverse("admin:incidents_page_change", args=[page.pk])
    )
    link = reverse("admin:visitor_brand_of_page", args=[page.pk])
    first = admin_client.get(link)
    brand = brand_update(page=page, colour=NAVY)
    then = admin_client.get(link)

    assert link in settings_page.content.decode()
    assert first["Location"] == reverse("admin:visitor_brand_add") + f"?page={page.pk}"
    assert then["Location"] == reverse("admin:visitor_brand_change", args=[brand.pk])


def test_it_saves_an_upload_from_the_console(admin_client: Client) -> None:
    page = make_page()

    response = post_brand(
        admin_client,
        page,
        logo=upload(LOGO),
        colour=NAVY,
        header_links="Support | https://help.acme.test/\nMain site | https://acme.test/",
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    brand = Brand.objects.get(page=page)
    assert brand.logo_type == "image/svg+xml"
    assert [link["label"] for link in brand.header_links] == ["Support", "Main site"]


def test_it_answers_favicon_ico_with_the_pages_own_icon(
    client: Client, europe: Page
) -> None:
    brand_update(page=europe, favicon=png())
    brand = Brand.objects.get(page=europe)

    own = client.get("/p/europe/favicon.ico")
    plain = client.get("/favicon.ico")

    assert own.status_code == 302
    assert own["Location"] == f"/p/europe/brand/favicon.png?v={brand.favicon_digest}"
    assert client.get(own["Location"])["Content-Type"] == "image/png"
    assert plain.status_code == 302 and "heliograph/favicon" in plain["Location"]
