from __future__ import annotations

from rest_framework.routers import SimpleRouter

from . import views

# Statuspage's paths have no trailing slash; one is accepted too.
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("audit-log", views.AuditEntryViewSet, basename="v1-audit-log")

urlpatterns = router.urls
