from django.urls import path

from visitor.api import views

app_name = "api_v2"

urlpatterns = [
    path("summary.json", views.summary, name="summary"),
    path("status.json", views.status, name="status"),
    path("components.json", views.components, name="components"),
    path("incidents.json", views.incidents, name="incidents"),
    path(
        "incidents/unresolved.json",
        views.incidents_unresolved,
        name="incidents-unresolved",
    ),
    path(
        "scheduled-maintenances.json",
        views.maintenances,
        name="scheduled-maintenances",
    ),
    path(
        "scheduled-maintenances/upcoming.json",
        views.maintenances_upcoming,
        name="scheduled-maintenances-upcoming",
    ),
    path(
        "scheduled-maintenances/active.json",
        views.maintenances_active,
        name="scheduled-maintenances-active",
    ),
]
