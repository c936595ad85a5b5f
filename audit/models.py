"""The audit log: one row per change of state, chained by hashes.

Rows are only ever added. A row is written in the transaction of the change it
records, so both commit or neither does; just after the commit it is sealed: given
the next number of the chain (``seq``), the previous row's hash and its own
(``chain.entry_hash``). The database refuses to change a sealed row or to delete
one outside pruning (triggers, see the first migration), and ``manage.py audit
verify`` recomputes the chain.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .context import ActorKind

# What a row says (hashed into the chain with its ``seq``), and the whole row as it
# is exported and listed.
CONTENT_FIELDS = (
    "at",
    "actor_kind",
    "actor_name",
    "actor_user_id",
    "token_id",
    "token_prefix",
    "actor_detail",
    "address",
    "user_agent",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "changes",
)
EXPORTED_FIELDS = ("seq", *CONTENT_FIELDS, "prev_hash", "hash")


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField(
        null=True, blank=True, unique=True, help_text="Place in the hash chain."
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=12, choices=ActorKind.choices)
    actor_name = models.CharField(max_length=150, blank=True)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    token_id = models.BigIntegerField(null=True, blank=True)
    token_prefix = models.CharField(max_length=8, blank=True)
    actor_detail = models.CharField(max_length=200, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ("-id",)
        # Read only, for everyone: there is no permission to add, change or delete.
        default_permissions = ("view",)
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=("object_type", "object_id")),
            models.Index(fields=("actor_kind", "actor_name")),
            models.Index(fields=("action",)),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label}: {self.action} {self.object_repr}".strip()

    @property
    def actor_label(self) -> str:
        name = self.actor_name or self.get_actor_kind_display()
        if self.actor_kind == ActorKind.TOKEN:
            return f"{name} (token {self.token_prefix}…)"
        if self.actor_kind == ActorKind.USER:
            return name
        if self.actor_kind == ActorKind.COMMAND:
            return f"{name} ({self.actor_detail})" if self.actor_detail else name
        return f"{self.get_actor_kind_display()}: {name}"


class AuditHead(models.Model):
    """The end of the chain (one row), locked by each sealing so seals take turns;
    and where pruning cut its start."""

    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)
    pruned_through = models.PositiveBigIntegerField(default=0)
    pruned_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"audit chain at {self.seq}"


class AuditPruning(models.Model):
    """Present only inside the pruning transaction: the delete trigger lets sealed
    rows go while a row is here (no other transaction ever sees one)."""

    started_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"pruning since {self.started_at}"
