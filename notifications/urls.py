from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscriptions/confirm/<str:token>", views.confirm, name="confirm"),
    path("subscriptions/manage/<str:token>", views.manage, name="manage"),
    path(
        "subscriptions/unsubscribe/<str:token>", views.unsubscribe, name="unsubscribe"
    ),
    path("subscriptions/test/<str:token>", views.send_test, name="send_test"),
]
