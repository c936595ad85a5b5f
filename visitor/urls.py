from django.urls import path
from django.views.generic import RedirectView

from visitor import badges, branding, embed, feeds, views

app_name = "public"

urlpatterns = [
    path("", views.index, name="index"),
    path("history/", views.history, name="history"),
    path("incidents/<str:public_id>", views.incident_detail, name="incident"),
    # The address with a slash, as /components/<id> takes one without.
    path(
        "incidents/<str:public_id>/",
        RedirectView.as_view(pattern_name="public:incident", permanent=True),
    ),
    path("favicon.ico", views.favicon, name="favicon"),
    path("components/<str:public_id>/", views.component_detail, name="component"),
    path("feed.atom", feeds.HistoryFeed(), name="feed-atom"),
    path("feed.rss", feeds.HistoryRssFeed(), name="feed-rss"),
    path("badge.svg", badges.page_badge, name="badge"),
    path(
        "components/<str:public_id>/badge.svg",
        badges.component_badge,
        name="component-badge",
    ),
    path("embed.js", embed.embed_js, name="embed-js"),
    path("compact/", embed.compact, name="compact"),
    # The page's brand: a name per file type, so each is a path of its own with
    # the extension a static host serves it by.
    path("brand/custom.css", branding.brand_css, name="brand-css"),
    *(
        path(
            f"brand/{field}.{extension}",
            branding.brand_file,
            {"field": field, "extension": extension},
            name=f"brand-{field}-{extension}",
        )
        for field in ("logo", "favicon")
        for extension in ("svg", "png")
    ),
]
