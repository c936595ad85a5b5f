"""Heliograph's settings without the access and audit checks, for one figure only:
what they cost (bench/api_integrations.py serves the same data with both and
compares). Never for running an install: any token may then do anything."""

from __future__ import annotations

from statuspage.settings import *  # noqa: F403
from statuspage.settings import INSTALLED_APPS, MIDDLEWARE, REST_FRAMEWORK

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_PERMISSION_CLASSES": ["unchecked.TokenScopeOnly"],
}
INSTALLED_APPS = [
    "unchecked.SilentAuditConfig" if app == "audit" else app for app in INSTALLED_APPS
]
MIDDLEWARE = [m for m in MIDDLEWARE if m != "audit.middleware.AuditActorMiddleware"]
