"""What other sites embed: the status script (``/embed.js``) and a framable page.

Both are plain GETs whose bytes depend only on the database (the script not even on
that), so the snapshot publishes them with the rest of the public site.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from csp.decorators import csp_replace
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from incidents.selectors import PublicState
from visitor.badges import MAX_AGE_SECONDS
from visitor.pages import page_of
from visitor.views import visible_tree

EMBED_SCRIPT = Path(__file__).parent / "static" / "heliograph" / "embed.js"


@cache
def _script() -> bytes:
    return EMBED_SCRIPT.read_bytes()


@require_safe
def embed_js(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        _script(), content_type="application/javascript; charset=utf-8"
    )
    patch_cache_control(response, public=True, max_age=MAX_AGE_SECONDS)
    # Lets sites load it with Subresource Integrity (crossorigin="anonymous") or from
    # a page that isolates itself (Cross-Origin-Embedder-Policy).
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_safe
@xframe_options_exempt
# Any site may frame this view, and only this one (the rest sends DENY and
# frame-ancestors 'none').
@csp_replace({"frame-ancestors": ["*"]})
def compact(request: HttpRequest) -> HttpResponse:
    """The page in brief for an iframe: banner, open incidents, components."""
    state = PublicState.load(page_of(request))
    response = render(
        request,
        "public/compact.html",
        {
            "page": state.page,
            "status": state.status,
            "components": visible_tree(state.components),
            "sections": [
                ("unresolved", "Ongoing incidents", state.unresolved),
                ("active", "Maintenance in progress", state.active),
            ],
        },
    )
    patch_cache_control(response, public=True, max_age=MAX_AGE_SECONDS)
    return response
