from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        connect_signals()


def connect_signals() -> None:
    """Record writes to the audited models, sign-ins, and tasks as the system."""
    from celery.signals import task_postrun, task_prerun
    from django.contrib.auth import signals as auth_signals
    from django.core import signals as request_signals
    from django.db.models import signals

    from . import chain, recording, sessions
    from .registry import audited_models

    for model, _ in audited_models():
        uid = f"audit-{model._meta.label_lower}"
        signals.pre_save.connect(recording.before_save, sender=model, dispatch_uid=uid)
        signals.post_save.connect(recording.after_save, sender=model, dispatch_uid=uid)
        signals.post_delete.connect(
            recording.after_delete, sender=model, dispatch_uid=uid
        )
        for field in model._meta.many_to_many:
            through: Any = field.remote_field.through
            signals.m2m_changed.connect(
                recording.m2m_changed,
                sender=through,
                dispatch_uid=f"{uid}-{field.name}",
            )
    auth_signals.user_logged_in.connect(sessions.signed_in, dispatch_uid="audit-in")
    auth_signals.user_logged_out.connect(sessions.signed_out, dispatch_uid="audit-out")
    auth_signals.user_login_failed.connect(
        sessions.sign_in_failed, dispatch_uid="audit-failed"
    )
    request_signals.request_started.connect(
        chain.request_started, dispatch_uid="audit-request-start"
    )
    request_signals.request_finished.connect(
        chain.request_finished, dispatch_uid="audit-request-end"
    )
    task_prerun.connect(sessions.task_started, dispatch_uid="audit-task-start")
    task_postrun.connect(sessions.task_ended, dispatch_uid="audit-task-end")
