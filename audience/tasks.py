"""Mailing sign-in links (queue "notifications", with the other mail)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from incidents.models import Page


@shared_task(soft_time_limit=50, time_limit=60)
def link_send(*, page_id: int, email: str, url: str) -> None:
    page = Page.objects.filter(pk=page_id).first()
    if page is None:
        return
    minutes = settings.AUDIENCE_LINK_MAX_AGE_SECONDS // 60
    send_mail(
        subject=f"Your sign-in link to {page.name}",
        message=(
            f"Someone (we hope you) asked to see {page.name}.\n\n"
            f"Open this link within {minutes} minutes to sign in:\n\n{url}\n\n"
            "If you did not ask for it, ignore this message: nothing happens "
            "until the link is opened and confirmed."
        ),
        from_email=None,
        recipient_list=[email],
    )
