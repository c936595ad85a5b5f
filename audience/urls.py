from django.urls import path

from . import views

app_name = "audience"

urlpatterns = [
    path("access/", views.gate, name="gate"),
    path("access/link", views.link, name="link"),
    path("access/enter", views.enter, name="enter"),
]
