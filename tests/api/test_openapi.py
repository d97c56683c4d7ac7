"""The OpenAPI document: valid 3.1, generated from the code, covering every JSON route."""

from __future__ import annotations

from openapi_spec_validator import validate

from bot.api_schema import CaseDetail, CasePage
from channels.webchat.schema import Replies, SendMessage, SessionOpened


def _document(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json


def test_document_is_valid_openapi_3_1(client):
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_json_api_route_is_documented(app, client):
    paths = _document(client)["paths"]
    documented = {(path, method.upper()) for path, ops in paths.items() for method in ops}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.endpoint != "openapi_document":
            path = rule.rule.replace("<", "{").replace(">", "}")
            routes |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes and routes == documented


def test_every_error_answer_is_documented_with_its_body(client):
    document = _document(client)
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            codes = {int(code) for code in op["responses"]}
            assert 503 in codes, f"{method} {path}: database outage not documented"
            assert any(code < 300 for code in codes)
            for code, answer in op["responses"].items():
                if code == "414":  # from the web server, before the application: no body
                    assert "content" not in answer
                    continue
                schema = answer["content"]["application/json"]["schema"]
                if int(code) >= 400:
                    assert schema == {"$ref": "#/components/schemas/ApiError"}, (method, path)
            if op.get("security"):
                assert 401 in codes, f"{method} {path}: secured without a 401"
            if "requestBody" in op:
                assert {400, 413} <= codes, f"{method} {path}: body errors not documented"


def test_schemas_are_the_code_models(client):
    schemas = _document(client)["components"]["schemas"]
    for model in (SendMessage, SessionOpened, Replies, CasePage, CaseDetail):
        generated = model.model_json_schema(
            ref_template="#/components/schemas/{model}",
            mode="validation" if model is SendMessage else "serialization")
        generated.pop("$defs", None)
        assert schemas[model.__name__] == generated, model.__name__


def test_documented_error_codes_are_what_the_api_answers(client):
    """The error bodies the API really sends carry the documented fields."""
    answers = [
        client.post("/api/chat/sessions", data="{", content_type="application/json"),
        client.post("/api/chat/sessions/short/messages", json={"text": "hi"}),
        client.get("/api/v1/cases"),
        client.post("/api/chat/sessions", data=b"x" * (300 * 1024),
                    content_type="application/json"),
    ]
    assert [a.status_code for a in answers] == [400, 404, 401, 413]
    for answer in answers:
        assert set(answer.json) == {"error", "message"}
