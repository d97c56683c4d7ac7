"""The JSON APIs' contract: an OpenAPI 3.1 document built from the code's own models.

Views that form part of a JSON API are marked with `operation(...)`, naming the pydantic
models they read and answer with (the same models the views use to parse requests and to
build responses), and every error status with its body. spectree collects the marked views
from the application's URL map, wherever their blueprint was built (a channel object's
blueprint included), and `GET /api/openapi.json` serves the document. Nothing is written by
hand, so the document cannot drift from the code; `tests/test_openapi.py` validates it and
fuzzes a served instance against it with schemathesis.

spectree is used for the document only: the views parse their input themselves with the
same models, so a bad request gets this service's kind `ApiError` body (in the resident's
language on the web chat), not a generic validation dump.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Flask, jsonify
from pydantic import BaseModel, Field
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree

__all__ = ["ApiError", "BEARER", "install", "operation", "problem"]

VERSION = "1.0.0"
BEARER = {"bearer": []}


class ApiError(BaseModel):
    """The body of every error answer of the JSON APIs."""

    error: str = Field(description="A stable machine-readable code, e.g. `bad_request`, "
                                   "`unauthorized`, `not_found`, `unknown_session`, "
                                   "`request_entity_too_large`, `unavailable`.")
    message: str = Field(description="A short explanation for a person; on the web chat "
                                     "API it is in the resident's language.")


# Errors any operation can answer, whatever its own checks.
_TOO_LARGE = (ApiError, "The request body is larger than 256 KiB.")
# gunicorn refuses a request line over 4 KiB before the application sees it.
_URL_TOO_LONG = (None, "The URL is longer than the server accepts (about 4 KiB); the web "
                       "server answers this itself, without a JSON body.")
_UNAVAILABLE = (ApiError, "The database is unavailable for a moment; nothing of the request "
                          "was kept. Try again after the `Retry-After` header's seconds.")

_contract = SpecTree(
    "flask",
    mode="strict",
    annotations=False,
    title="reportbot API",
    version=VERSION,
    description=(
        "The web chat API that the chat page uses, and the case API through which the "
        "landlord's other systems (an ASB case management system, a housing CRM) read "
        "cases. Case API requests carry a bearer token made with `reportbot "
        "create-api-token`. Every error answer has the body `Error`. Outbound webhooks "
        "(case.created, case.updated, case.closed) are described in the README."
    ),
    security_schemes=[SecurityScheme(name="bearer", data=SecuritySchemeData(**{
        "type": "http", "scheme": "bearer",
        "description": "A token made with `reportbot create-api-token`."}))],
    validation_error_model=ApiError,
    # Plain model names: integrators' code generators turn them into type names.
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)


def operation(*, tags: Sequence[str], ok: Mapping[int, type[BaseModel]],
              errors: Mapping[int, str], query: type[BaseModel] | None = None,
              json: type[BaseModel] | None = None, form: type[BaseModel] | None = None,
              secured: bool = False,
              path: Mapping[str, str] | None = None) -> Callable:
    """Mark a view as an API operation with its models and every error it can answer.

    `ok` maps success statuses to their body models; `errors` maps each error status the
    view itself can answer to what it means (the body is always `ApiError`). 413 (body
    too large, for requests with a body), 414 (URL too long, from the web server) and 503
    (database unavailable) are added, since they can answer any operation. `path`
    describes the path's parameters.
    """
    responses: dict[str, Any] = {f"HTTP_{code}": model for code, model in ok.items()}
    for code, meaning in errors.items():
        responses[f"HTTP_{code}"] = (ApiError, meaning)
    if json is not None:
        responses["HTTP_413"] = _TOO_LARGE
    if form is not None and 413 not in errors:
        responses["HTTP_413"] = _TOO_LARGE
    responses["HTTP_414"] = _URL_TOO_LONG
    responses["HTTP_503"] = _UNAVAILABLE
    # spectree documents a validation error status for every operation; name one the view
    # really answers, since the views validate their input themselves.
    first_error = min(errors) if errors else 503

    def decorate(view: Callable) -> Callable:
        return _contract.validate(
            query=query, json=json, form=form, resp=Response(**responses), tags=tuple(tags),
            security=BEARER if secured else None, skip_validation=True,
            validation_error_status=first_error, path_parameter_descriptions=path,
            operation_id=view.__name__,
        )(view)
    return decorate


def problem(status: int, code: str, message: str, headers: Mapping[str, str] | None = None):
    """Return a JSON error answer with the `ApiError` body."""
    response = jsonify(ApiError(error=code, message=message).model_dump())
    response.status_code = status
    response.headers.update(headers or {})
    return response


def document(webhooks: Mapping[str, tuple[type[BaseModel], str]] | None = None
             ) -> dict[str, Any]:
    """Return the OpenAPI document of the current application's marked operations.

    `webhooks` maps each outbound event to its body model and meaning; they are listed
    under the document's `webhooks`, as OpenAPI 3.1 allows.
    """
    # spectree builds its part once, from the application's URL map: the routes do not
    # change after start-up, and every application built from this code has the same.
    spec = copy.deepcopy(_contract.spec)
    schemas = spec["components"]["schemas"]
    for name, (model, meaning) in (webhooks or {}).items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}",
                                         mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        spec.setdefault("webhooks", {})[name] = {"post": {
            "summary": meaning,
            "description": "Signed per Standard Webhooks: headers `webhook-id` (the "
                           "idempotency key: the same on every retry), `webhook-timestamp` "
                           "and `webhook-signature`. Answer 2xx once stored; anything "
                           "else, or no answer, is retried with backoff.",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}},
            "responses": {"200": {"description": "Stored (any 2xx)."}},
        }}
    return spec


def install(app: Flask, webhooks: Mapping[str, tuple[type[BaseModel], str]] | None = None
            ) -> None:
    """Serve the OpenAPI document at GET /api/openapi.json, with the outbound `webhooks`."""
    app.add_url_rule("/api/openapi.json", "openapi_document",
                     lambda: jsonify(document(webhooks)), methods=["GET"])
