from django.urls import path

from . import views

app_name = "public"

urlpatterns = [
    path("", views.index, name="index"),
    path("history/", views.history, name="history"),
    path("incidents/<str:public_id>", views.incident_detail, name="incident"),
]
