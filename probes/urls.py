from django.urls import path

from . import views

app_name = "probes"

urlpatterns = [
    path("heartbeat/<str:token>", views.heartbeat, name="heartbeat"),
]
