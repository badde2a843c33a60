"""The OpenAPI spec says what the app really answers (issue 8, found by schemathesis).

FastAPI documents 422 only as its own validation error (`detail` a list), but handlers also answer 422, 404 and 409
with a sentence as `detail`; and it cannot know the role table. So the spec gains: `detail` may be a string, and each
operation's 401/403 answers from dashboard/roles.py, and the media types of the routes that do not answer JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from dashboard.roles import rule

ERROR = {"$ref": "#/components/schemas/HTTPError"}
MESSAGE = {"title": "Message", "type": "string", "description": "the error in the reader's language (error_texts.py)"}
HTTP_ERROR = {
    "title": "HTTPError",
    "type": "object",
    "properties": {"detail": {"title": "Detail", "type": "string"}, "message": MESSAGE},
    "required": ["detail"],
}
MEDIA = {  # routes answering other than JSON: (method, path) -> media types of their 200
    ("GET", "/cap/alerts.xml"): ["application/atom+xml"],
    ("GET", "/cap/alerts/{identifier}.xml"): ["application/cap+xml"],
    ("GET", "/api/export"): [
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.apache.parquet",
    ],
    ("GET", "/api/command/reports/{event_id}/rollup.{fmt}"): [
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ],
    ("GET", "/fhir/Observation"): ["application/fhir+json"],
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


def _document(spec: dict[str, Any]) -> dict[str, Any]:
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["HTTPError"] = HTTP_ERROR
    if "HTTPValidationError" in schemas:
        detail = schemas["HTTPValidationError"]["properties"]["detail"]
        schemas["HTTPValidationError"]["properties"]["detail"] = {"anyOf": [detail, {"type": "string"}]}
        schemas["HTTPValidationError"]["properties"]["message"] = MESSAGE
    for path, operations in spec.get("paths", {}).items():
        for method, op in operations.items():
            found = rule(method.upper(), path)
            if found is not None and found.roles is not None:
                op["responses"].setdefault("401", _error("No session"))
                op["responses"].setdefault("403", _error(f"Needs role {sorted(found.roles)} (and the CSRF header)"))
            media = MEDIA.get((method.upper(), path))
            if media:
                op["responses"]["200"]["content"] = {m: {"schema": {"type": "string"}} for m in media}
    return spec


def document(app: FastAPI) -> None:
    """Wrap the app's OpenAPI generator so its spec carries the additions above."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema
