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
