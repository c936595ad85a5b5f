"""The management API's permission check: the token's scope and its owner's role."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from tokens.models import ApiToken

from .permissions import READ_ONLY, READ_SCOPE, missing, refusal


class TokenPermissions(BasePermission):
    """A token is required, and every permission the view names for the request
    (``permissions_needed``) must be its owner's, within its scope."""

    message = "This API token may not do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return False
        if token.scope == READ_SCOPE and request.method not in SAFE_METHODS:
            # Before the body is read: a read token is refused whatever it sends.
            self.message = READ_ONLY
            return False
        needed = view.permissions_needed(request)
        lacking = missing(token.user, needed, token)
        if lacking:
            self.message = refusal(lacking[0], token)
            return False
        return True
