from __future__ import annotations

from rest_framework.routers import SimpleRouter

from . import views

# As the other page resources: no trailing slash, though one is accepted.
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("probes", views.ProbeViewSet, basename="v1-probes")

urlpatterns = router.urls
