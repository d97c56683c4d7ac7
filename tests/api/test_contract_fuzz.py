"""Property-based requests against a served instance, for every documented operation.

schemathesis reads `GET /api/openapi.json` from a real `reportbot serve` (gunicorn, two
workers, its own SQLite database) and sends requests that fit the document and requests
that do not. Every answer must be below 500, carry a documented status code, and match the
documented body. Case API requests carry a real token; about half of the web chat messages
go to a real conversation and half of the case look-ups ask for a real case, so the
success paths are fuzzed too, not only the refusals.

The run is bounded: `MAX_EXAMPLES` examples per operation and per generation mode. The
operations come from the served document, so a new one is fuzzed without a change here.
(Cases are drawn with schemathesis' strategies and run by Hypothesis directly: its pytest
fixture loader does not work with pytest 9.2.)
"""

from __future__ import annotations

import os
import subprocess

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.modes import GenerationMode

from tests.conftest import TEST_SECRET, english_only_org
from tests.helpers import VICTIM_REPORT
from tests.served import REPORTBOT, serve

MAX_EXAMPLES = 25


@pytest.fixture(scope="module")
def served_api(tmp_path_factory):
    """A served instance with an API token and one stored case."""
    tmp = tmp_path_factory.mktemp("contract")
    env = {"REPORTBOT_INSTANCE_DIR": str(tmp / "instance"),
           "REPORTBOT_DATABASE_URL": f"sqlite:///{tmp / 'instance' / 'reportbot.sqlite'}",
           "REPORTBOT_SECRET_KEY": TEST_SECRET,
           "REPORTBOT_ORG_FILE": str(english_only_org(tmp)),
           # The fuzzer opens hundreds of sessions from one address in a minute.
           "REPORTBOT_WEBCHAT_SESSIONS_PER_HOUR": "100000"}
    with serve(env, workers=2) as served:
        made = subprocess.run([REPORTBOT, "create-api-token", "--name", "fuzz"],
                              env={**os.environ, **env}, capture_output=True, text=True,
                              check=True)
        token = made.stdout.strip().splitlines()[-1]
        with httpx.Client(base_url=served.url, timeout=10) as client:
            session = client.post("/api/chat/sessions", json={}).json()["session"]
            for message, _question in VICTIM_REPORT:
                body = {"text": message} if isinstance(message, str) else \
                    {"choices": message}
                client.post(f"/api/chat/sessions/{session}/messages", json=body)
            cases = client.get("/api/v1/cases",
                               headers={"Authorization": f"Bearer {token}"}).json()["cases"]
        assert cases, "the seeded report was not stored"
        yield served.url, token, cases[0]["reference"]


@pytest.fixture(scope="module")
def api_schema(served_api):
    url, _token, _reference = served_api
    config = SchemathesisConfig.from_dict({
        "generation": {"max-examples": MAX_EXAMPLES},
        # A request that breaks the document must be refused with a 4xx; the web server's
        # own 414 (URL too long, documented) is such a refusal too.
        "checks": {"negative_data_rejection": {"expected-statuses": [
            400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 428, 429]},
                   # A web chat upload fits the document as any bytes, but its kind is
                   # judged by its content (415) and its size by a setting (413).
                   "positive_data_acceptance": {"expected-statuses": [
                       200, 201, 401, 403, 404, 409, 413, 415, 429]}},
    })
    return schemathesis.openapi.from_url(f"{url}/api/openapi.json", config=config)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_honours_the_document(api_schema, served_api, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.label for op in operations} >= {
        "POST /api/chat/sessions", "POST /api/chat/sessions/{token}/messages",
        "GET /api/v1/cases", "GET /api/v1/cases/{reference}"}
    for operation in operations:
        _fuzz(operation, mode, served_api)


def _cursor(url: str, token: str, order: str) -> str:
    """Return a cursor the API gave out, for the list in `order`."""
    page = httpx.get(f"{url}/api/v1/cases", params={"order": order, "limit": 1,
                                                   "status": "new"},
                     headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    return page["cursor"]


def _fuzz(operation, mode: GenerationMode, served_api) -> None:
    """Send `MAX_EXAMPLES` generated requests to one operation and check every answer."""
    url, token, reference = served_api
    headers = {"Authorization": f"Bearer {token}"} if operation.path.startswith("/api/v1/") \
        else None

    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case, real: bool) -> None:
        if real and "token" in (case.path_parameters or {}):
            # A live conversation, so the fuzzed body reaches the conversation runner.
            opened = httpx.post(f"{url}/api/chat/sessions", json={}, timeout=10)
            case.path_parameters["token"] = opened.json()["session"]
        if real and "reference" in (case.path_parameters or {}):
            case.path_parameters["reference"] = reference
        if mode is GenerationMode.POSITIVE and "cursor" in (case.query or {}):
            # Only a cursor the API gave out is valid; the document cannot say which.
            case.query["cursor"] = _cursor(url, token, case.query.get("order", "queue"))
        sent = headers
        if mode is GenerationMode.NEGATIVE and headers and \
                "authorization" not in {k.lower() for k in (case.headers or {})}:
            # The case leaves out the token on purpose (a missing Authorization header is
            # one of the ways it breaks the document): adding ours would mend it.
            sent = None
        case.call_and_validate(base_url=url, headers=sent)

    check()
