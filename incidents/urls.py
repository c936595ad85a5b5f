from django.urls import path

from . import feeds, views

app_name = "public"

urlpatterns = [
    path("", views.index, name="index"),
    path("history/", views.history, name="history"),
    path("incidents/<str:public_id>", views.incident_detail, name="incident"),
    path("feed.atom", feeds.HistoryFeed(), name="feed-atom"),
    path("feed.rss", feeds.HistoryRssFeed(), name="feed-rss"),
]
