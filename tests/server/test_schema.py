"""Schemathesis over the served OpenAPI schema: generated requests never get a 5xx, and answers
match the schema (status codes and bodies). Bounded: a few examples per operation."""

from __future__ import annotations

import pytest
import requests

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)


@pytest.fixture(scope="module")
def api_schema(server):
    # Some real objects, so generated ids sometimes hit something (explicit examples are tried too).
    headers = {"Authorization": f"Bearer {server.token}"}
    ping = requests.get(f"{server.url}/api/home/ping", headers=headers).json()
    project = requests.post(f"{server.url}/api/organization/{ping['default_organization']}/projects",
                            json={"name": "fuzzed"}, headers=headers).json()
    requests.post(f"{server.url}/api/project/{project['id']}/experiments", json={"name": "fuzzed"}, headers=headers)
    # The REST API's operations (the dashboard's pages under /ui are tested with the dashboard).
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json").include(path_regex="^/api/")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors_and_answers_match_the_schema(case, server):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {server.token}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
