"""The OpenAPI schema says every answer the API can give (a drf-spectacular
postprocessing hook, settings.SPECTACULAR_SETTINGS).

drf-spectacular documents what each view declares: its successful answers. The errors
come from layers every operation shares, so they are added here, once, by what an
operation has, in the API's error shape (helpdesk/api_errors.py: `{"detail": "..."}`, or
`{"field": ["message"]}` for bad input):

- 400, bad input (a field, a query parameter, or text nothing here can store:
  helpdesk/input_guard.py): every operation;
- 401, an `Authorization` header without a valid token, or no credentials where they
  are needed: every operation;
- 403, a member whose role may not do this, or a person with no access to this desk:
  operations that need a member;
- 404, the object the path names does not exist or is not the caller's: operations
  with a path parameter;
- 406, an `Accept` header that excludes JSON: operations answering JSON;
- 413, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, and 415, a body that is not JSON:
  operations that take a body;
- 429, past the rate limit, with `Retry-After`: every operation.

Response components also say that they list every field (`additionalProperties: false`),
so a client, or tests/api/test_schema_conformance.py, learns of any field the schema does
not name; and a customer's shape of a ticket or a message can be told from an agent's.
"""

from __future__ import annotations

ERROR = "Error"
VALIDATION_ERROR = "ValidationError"

ERROR_SCHEMAS = {
    ERROR: {
        "type": "object",
        "description": "An error the request as a whole caused.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    VALIDATION_ERROR: {
        "type": "object",
        "description": (
            "Bad input: each field (or `non_field_errors`) with its messages; a list "
            "field's messages by the index of the item."
        ),
        "additionalProperties": {
            "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]
        },
        "minProperties": 1,
    },
}

DESCRIPTIONS = {
    "400": "Bad input: a field, a query parameter, or text that cannot be stored "
    "(a NUL character or a lone surrogate), or JSON nested too deep.",
    "401": "No valid credentials: an unknown or revoked token, or none where one is needed.",
    "403": "Signed in, but not allowed: no access to this help desk, or a role that may not "
    "do this.",
    "404": "Nothing here by that name, or not yours to see.",
    "406": "The `Accept` header excludes JSON.",
    "413": "The request body is larger than the limit (5 MB).",
    "415": "The request body is not JSON.",
    "429": "Past the rate limit: try again after `Retry-After` seconds.",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _error(code: str, schema: dict | None = None) -> dict:
    response = {"description": DESCRIPTIONS[code], "content": _json(schema or _ref(ERROR))}
    if code == "429":
        response["headers"] = {
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before the next request.",
            }
        }
    return response


def _answers_json(operation: dict) -> bool:
    successes = [r for code, r in operation["responses"].items() if code.startswith("2")]
    return all("application/json" in r.get("content", {"application/json": {}}) for r in successes)


def document_errors(result, generator, request, public):
    """Add the errors every operation can answer, and close the response components."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    request_components = set()
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            body = operation.get("requestBody", {}).get("content", {})
            for media in body.values():
                request_components.add(media["schema"].get("$ref", "").rsplit("/", 1)[-1])
            _document_operation(operation)
    for name, component in components.items():
        if (
            component.get("type") == "object"
            and "properties" in component
            and name not in request_components
            and not name.endswith("Request")
        ):
            component.setdefault("additionalProperties", False)
    components.update(ERROR_SCHEMAS)
    return result


def _document_operation(operation: dict) -> None:
    responses = operation["responses"]
    errors = {"400": None, "401": None, "429": None}
    if {} not in operation.get("security", []):  # not open to anonymous callers
        errors["403"] = None
    if any(p["in"] == "path" for p in operation.get("parameters", [])):
        errors["404"] = None
    if _answers_json(operation):
        errors["406"] = None
    if "requestBody" in operation:
        errors["413"] = errors["415"] = None
    for code in errors:
        documented = responses.get(code, {}).get("content", {}).get("application/json")
        if code == "400":
            # The operation's own 400 shape (a batch's list of errors), or any error.
            own = [documented["schema"]] if documented else []
            schema = {"anyOf": [*own, _ref(VALIDATION_ERROR), _ref(ERROR)]}
            responses[code] = _error(code, schema)
        else:
            responses[code] = _error(code)
