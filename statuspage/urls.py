"""Every address of the site, and the management API's (``/api/v1/``)."""

from __future__ import annotations

from typing import Any

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView

from incidents.api.v1.views import PageViewSet
from kit.api import schema  # noqa: F401  (registers the token scheme with the schema)
from metrics import views as metrics

page_list = PageViewSet.as_view({"get": "list"})
page_detail = PageViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "put": "update"}
)
public: dict[str, Any] = {"authentication_classes": [], "permission_classes": []}

api_v1 = [
    path(
        "openapi.json",
        SpectacularJSONAPIView.as_view(**public),
        name="api-v1-schema",
    ),
    path(
        "docs/",
        # Redoc's search runs in a worker it makes from a blob: address.
        csp_update({"worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(
                url_name="api-v1-schema", template_name="api/redoc.html", **public
            )
        ),
        name="api-v1-docs",
    ),
    path("pages", page_list, name="api-v1-pages"),
    path("pages/<str:page_id>", page_detail, name="api-v1-page"),
    path("pages/<str:page_id>/", include("incidents.api.v1.urls")),
    path("pages/<str:page_id>/", include("notifications.api.urls")),
    path("pages/<str:page_id>/", include("probes.api.urls")),
    path("pages/<str:page_id>/", include("audit.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v2/", include("visitor.api.urls")),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/v1/integrations/", include("integrations.urls")),
    path("api/v1/", include(api_v1)),
    path("", include("audience.urls")),
    path("", include("probes.urls")),
    path("", include("notifications.urls")),
    path("", include("visitor.urls")),
]

# 503 while PostgreSQL or Redis is out, 500 for anything else (kit.errors).
handler500 = "kit.errors.server_error"
# JSON under /api/, the usual page elsewhere.
handler404 = "kit.errors.page_not_found"
