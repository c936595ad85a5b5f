"""The demo's sign-in journey: each step feeds the component a user would blame."""

from __future__ import annotations

from typing import Any

from incidents.models import Component


def journey_config(
    target_url: str, *, webapp: Component, api: Component
) -> dict[str, Any]:
    """Sign in with a CSRF token, open the signed-in page, get an API token, sign out.

    Steps without a component feed the probe's own (the Login/logout path).
    """
    return {
        "secrets": {"username": "DEMO_USER", "password": "DEMO_PASSWORD"},
        "steps": [
            {
                "name": "Open the sign-in form",
                "url": f"{target_url}/login",
                "extract": [
                    {
                        "var": "csrf",
                        "from": "html",
                        "pattern": 'name="csrf" value="([^"]+)"',
                    }
                ],
            },
            {
                "name": "Sign in",
                "method": "POST",
                "url": f"{target_url}/login",
                "form": {
                    "csrf": "{{csrf}}",
                    "username": "{{username}}",
                    "password": "{{password}}",
                },
                "expected_status": [302],
            },
            {
                "name": "Open the signed-in page",
                "url": f"{target_url}/app",
                "body_contains": "Welcome back",
                "component": webapp.public_id,
            },
            {
                "name": "Get an API token",
                "method": "POST",
                "url": f"{target_url}/api/token",
                "extract": [{"var": "token", "from": "json", "path": "token"}],
                "component": api.public_id,
            },
            {
                "name": "Sign out",
                "method": "POST",
                "url": f"{target_url}/logout",
                "cleanup": True,
            },
        ],
    }
