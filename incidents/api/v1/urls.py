from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import incident_views, views

# Statuspage's paths have no trailing slash; one is accepted too.
router = SimpleRouter()
router.trailing_slash = "/?"
router.register("components", views.ComponentViewSet, basename="v1-components")
router.register("component-groups", views.GroupViewSet, basename="v1-groups")
router.register("incidents", incident_views.IncidentViewSet, basename="v1-incidents")
router.register(
    "incident_templates", views.TemplateViewSet, basename="v1-incident-templates"
)

update_detail = incident_views.IncidentUpdateViewSet.as_view(
    {"get": "retrieve", "patch": "partial_update", "put": "update"}
)

urlpatterns = [
    path(
        "incidents/<str:incident_id>/incident_updates/<str:pk>",
        update_detail,
        name="v1-incident-update-detail",
    ),
    *router.urls,
]
