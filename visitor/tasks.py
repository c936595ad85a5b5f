from __future__ import annotations

from celery import shared_task

from .snapshot import publish


# A full publish renders every component's pages too (a thousand: about 20 s here).
@shared_task(soft_time_limit=240, time_limit=300)
def snapshot_publish(
    requested_at: float | None = None, full: bool = False, records: bool = False
) -> bool:
    publish.pending_clear()
    published = publish.snapshot_publish(
        requested_at=requested_at, full=full, records=records
    )
    return published is not None


# Its name before the visitor side became an app: a message queued by an older
# process still publishes rather than being dropped as unknown.
@shared_task(
    name="incidents.tasks.snapshot_publish", soft_time_limit=240, time_limit=300
)
def snapshot_publish_by_old_name(
    requested_at: float | None = None, full: bool = False, records: bool = False
) -> bool:
    return snapshot_publish(requested_at=requested_at, full=full, records=records)
