from __future__ import annotations

from rest_framework.routers import SimpleRouter

from . import views

# Statuspage's paths have no trailing slash; one is accepted too.
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("subscribers", views.SubscriberViewSet, basename="v1-subscribers")
router.register("deliveries", views.DeliveryViewSet, basename="v1-deliveries")

urlpatterns = router.urls
