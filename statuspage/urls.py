from django.contrib import admin
from django.urls import include, path

from statuspage import metrics

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("api/v2/", include("incidents.api.urls")),
    path("metrics", metrics.metrics, name="metrics"),
    path("api/v1/integrations/", include("integrations.urls")),
    path("api/v1/", include("statuspage.api.urls")),
    path("", include("probes.urls")),
    path("", include("notifications.urls")),
    path("", include("incidents.urls")),
]

# 503 while PostgreSQL or Redis is out, 500 for anything else (statuspage.errors).
handler500 = "statuspage.errors.server_error"
# JSON under /api/, the usual page elsewhere.
handler404 = "statuspage.errors.page_not_found"
