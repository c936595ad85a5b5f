"""DRF authentication by API token, for the management API. What a token may do
is ``access.api.TokenPermissions``: its owner's permissions within its scope."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from access.permissions import permissions_load
from kit.digests import secret_digest

from .models import ApiToken
from .services import token_touch

# "OAuth" is what Statuspage's clients send; "Bearer" is what everyone else does.
KEYWORDS = (b"oauth", b"bearer")
MALFORMED = (
    "Malformed Authorization header: expected 'Bearer <token>' or 'OAuth <token>'."
)


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() not in KEYWORDS:
            return None
        if len(words) != 2:
            raise AuthenticationFailed(MALFORMED)
        try:
            plaintext = words[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise AuthenticationFailed(MALFORMED) from error
        user, token = self.authenticate_token(plaintext)
        # The audit log records what the request writes under the token.
        request._request.api_token = token
        return user, token

    def authenticate_token(self, plaintext: str) -> tuple[Any, ApiToken]:
        token = (
            ApiToken.objects.select_related("user")
            .filter(hash=secret_digest(plaintext))
            .first()
        )
        if token is None:
            raise AuthenticationFailed("Unknown API token.")
        if token.is_revoked:
            raise AuthenticationFailed("This API token has been revoked.")
        if not token.user.is_active:
            raise AuthenticationFailed("This API token's user is inactive.")
        if not token.user.is_staff:
            raise AuthenticationFailed("This API token's user is no longer staff.")
        token_touch(token=token)
        permissions_load(token.user)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 rather than 403 when credentials are missing or bad.
        return 'Bearer realm="api"'
