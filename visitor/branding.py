"""The page's brand files: its logo, its icon and its stylesheet, under the page.

Plain GETs whose bytes depend only on the database, so the snapshot publishes them
with the rest of the page (``artifacts.PUBLIC`` and ``artifacts.brand_paths``) and
they keep answering through an outage. Their links carry the brand's version
(``?v=``), so the views let browsers keep them for a year; the ETag answers a
revalidation.
"""

from __future__ import annotations

import hashlib

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from visitor.models import Brand, ImageType
from visitor.pages import page_of

YEAR_SECONDS = 365 * 24 * 3600
# An SVG opened on its own is a document: nothing in it may run or load.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
EXTENSIONS = {"svg": ImageType.SVG, "png": ImageType.PNG}


def _brand(request: HttpRequest, *fields: str) -> Brand | None:
    return Brand.objects.only("pk", *fields).filter(page=page_of(request)).first()


def _cached(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    etag = '"' + hashlib.blake2b(response.content, digest_size=16).hexdigest() + '"'
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=YEAR_SECONDS)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def brand_file(request: HttpRequest, field: str, extension: str) -> HttpResponse:
    """``/brand/logo.svg``, ``/brand/favicon.png``...: the file, if it is of that
    type."""
    brand = _brand(request, field, f"{field}_type")
    kind = EXTENSIONS[extension]
    if brand is None or getattr(brand, f"{field}_type") != kind:
        raise Http404(f"This page has no {field} of that type.")
    response = HttpResponse(bytes(getattr(brand, field)), content_type=kind.value)
    if kind == ImageType.SVG:
        response["Content-Security-Policy"] = SVG_POLICY
    return _cached(request, response)


def stylesheet(brand: Brand | None) -> str:
    """The page's own stylesheet: its colour as ``--brand`` (public.css uses it),
    then the staff's CSS, checked when stored."""
    if brand is None:
        return "/* This page has no brand. */\n"
    parts = ["/* The page's brand (the console's Brand settings). */"]
    if brand.colour:
        parts.append(f":root {{ --brand: {brand.colour}; }}")
    if brand.custom_css:
        parts.append(brand.custom_css)
    return "\n".join(parts) + "\n"


@require_safe
def brand_css(request: HttpRequest) -> HttpResponse:
    """``/brand/custom.css``: always answers, empty for a page without a brand."""
    css = stylesheet(_brand(request, "colour", "custom_css"))
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    return _cached(request, response)
