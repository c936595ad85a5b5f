"""What drf-spectacular cannot read from the code: how a token is presented."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tokens.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "An API token from the console (Account → API tokens), sent as "
                "`Authorization: Bearer <token>` or, as Statuspage's clients do, "
                "`Authorization: OAuth <token>`. Read-scoped tokens may only read."
            ),
        }


def statuspage_paths(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Publish Statuspage's paths (``/components``), which the routes take with or
    without a trailing slash (the router's optional slash would show as one), and
    say that every id in a path is a string: public ids, never database keys."""
    result["paths"] = {
        (path.rstrip("/") or "/"): item for path, item in result["paths"].items()
    }
    for item in result["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path":
                    parameter["schema"] = {"type": "string"}
    return result


ERROR_SCHEMA = {
    "type": "object",
    "description": "What was wrong: a sentence, and the fields at fault.",
    "properties": {
        "error": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["error"],
}
ERRORS = {
    "400": "The request is invalid: `errors` names each field and the reason.",
    "401": "No token, or an unknown, revoked or malformed one.",
    "403": "The token's scope does not allow this (read scope cannot write).",
    "404": "No such page or object.",
    "409": "The request conflicts with the current state (a group still has "
    "components, a subscriber is already confirmed...).",
    "429": "Too many requests for this token: wait `Retry-After` seconds.",
}


def error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Document the error answers every operation may give, in their one shape."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = (
        ERROR_SCHEMA
    )
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result["paths"].values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(
                    code, {"description": description, "content": reference}
                )
    return result


# The documentation page's introduction. The curl example is the README's, word for
# word (tests/statuspage/test_readme_api_example.py holds them together and runs it).
GUIDE = """
Drive the status page from your own tools. Paths and fields follow Statuspage's
manage API v1, so its clients work with the base URL and key changed.

**Authentication**: an API token from the console (API tokens → Add), sent as
`Authorization: OAuth <token>` (as Statuspage's clients do) or
`Authorization: Bearer <token>`. Read-scoped tokens may only read.

**Bodies** may be wrapped as Statuspage's are (`{"incident": {...}}`) or flat. PATCH
and PUT change only the fields given. JSON types are strict: `0` is not `false`.

**Errors** answer `{"error": "<field>: <reason>", "errors": {"<field>": ["<reason>"]}}`
with 400, 401, 403, 404, 409 or 429 (wait `Retry-After` seconds).

**Lists** are bare arrays paged with `page` and `per_page`; the total is in
`X-Total-Count`, the neighbouring pages in `Link`.

## A whole incident, with curl

```sh
BASE=$HELIOGRAPH_URL/api/v1/pages/$PAGE_ID  # HELIOGRAPH_URL=https://status.example.com
AUTH="Authorization: OAuth $HELIOGRAPH_TOKEN"
JSON="Content-Type: application/json"

# Open it: the login path is down.
INCIDENT=$(curl -sf -X POST "$BASE/incidents" -H "$AUTH" -H "$JSON" -d '{"incident": {
  "name": "Sign-in failing", "status": "investigating",
  "body": "We are looking into failed sign-ins.",
  "components": {"'$LOGIN_ID'": "major_outage"}}}' | jq -r .id)

# Post an update.
curl -sf -X PATCH "$BASE/incidents/$INCIDENT" -H "$AUTH" -H "$JSON" -d '{"incident": {
  "status": "identified", "body": "A bad deploy; rolling back."}}'

# Resolve it, with the component back to operational.
curl -sf -X PATCH "$BASE/incidents/$INCIDENT" -H "$AUTH" -H "$JSON" -d '{"incident": {
  "status": "resolved", "body": "Sign-in works again.",
  "components": {"'$LOGIN_ID'": "operational"}}}'
```
"""


def introduction(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    result["info"]["description"] = GUIDE.strip()
    return result
